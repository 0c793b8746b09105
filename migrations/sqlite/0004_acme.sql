-- Certificates from an ACME CA for the hosts Moat serves, and what it takes to get them:
-- the CA account, the HTTP-01 challenge answers (in the database, so whichever instance the CA
-- reaches can answer), and a job queue whose leases keep instances from ordering twice.

CREATE TABLE acme_accounts (
    directory   TEXT PRIMARY KEY,
    -- instant-acme's AccountCredentials (JSON, holding the account key), sealed with the
    -- master key.
    credentials TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE acme_challenges (
    token             TEXT PRIMARY KEY,
    key_authorization TEXT NOT NULL,
    host              TEXT NOT NULL,
    expires_at        INTEGER NOT NULL
);
CREATE INDEX acme_challenges_host ON acme_challenges(host);

CREATE TABLE certificates (
    host        TEXT PRIMARY KEY,
    chain_pem   TEXT NOT NULL,
    -- The PKCS#8 private key, sealed with the master key (AES-256-GCM, the host as associated
    -- data).
    key_sealed  TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    serial      TEXT NOT NULL,
    not_before  INTEGER NOT NULL,
    not_after   INTEGER NOT NULL,
    renew_at    INTEGER NOT NULL,
    obtained_at INTEGER NOT NULL
);

-- Background work with leases: one row per (kind, subject). A worker claims a due row by
-- setting lease_owner/lease_until; an expired lease can be claimed again.
CREATE TABLE jobs (
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    due_at          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_attempt_at INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    PRIMARY KEY (kind, subject)
);
CREATE INDEX jobs_due ON jobs(kind, due_at);
