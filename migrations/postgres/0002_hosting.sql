-- Hosted domains, their policy versions, the local CA, and the generation counter every
-- instance polls to refresh its in-memory DNS zone and policy/certificate store.
CREATE TABLE domains (
    id                   BIGSERIAL PRIMARY KEY,
    org_id               BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL UNIQUE,
    kind                 TEXT NOT NULL CHECK (kind IN ('hosted', 'reporting_only')),
    state                TEXT NOT NULL CHECK (state IN ('pending', 'active', 'degraded')),
    created_at           BIGINT NOT NULL,
    checked_at           BIGINT,
    checks_json          TEXT,
    removal_requested_at BIGINT
);
CREATE INDEX domains_org ON domains(org_id);

CREATE TABLE policy_versions (
    id          BIGSERIAL PRIMARY KEY,
    domain_id   BIGINT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    policy_id   TEXT NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('none', 'testing', 'enforce')),
    mx          TEXT NOT NULL,
    max_age     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    publish_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    UNIQUE (domain_id, version)
);

-- Bumped by every change that alters what the DNS or policy servers answer.
CREATE TABLE hosting_generation (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO hosting_generation (id, generation) VALUES (1, 0);

-- The built-in certificate authority (used when no ACME directory is configured).
CREATE TABLE local_ca (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    cert_pem   TEXT NOT NULL,
    key_pem    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
