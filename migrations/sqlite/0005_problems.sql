-- Problems the detector finds in a domain's TLS reports and hosting, and who hears of them.
-- A problem is open while its rule still fires; at most one open problem per domain, rule
-- and subject (an MX host, a sender, a result type, or ''), kept up to date with its latest
-- evidence, and resolved when the rule stops firing.
CREATE TABLE problems (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id           INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    domain_id        INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    rule             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    severity         TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    status           TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    title            TEXT NOT NULL,
    detail           TEXT NOT NULL,
    fix              TEXT NOT NULL,
    -- [{"report": id, "sender": ..., "day": ..., "text": ...}, ...]
    evidence_json    TEXT NOT NULL,
    opened_at        INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    resolved_at      INTEGER,
    acknowledged_at  INTEGER,
    acknowledged_by  TEXT,
    -- Last notification about it while open, and the one about its resolution.
    notified_at      INTEGER,
    resolved_notified_at INTEGER
);
CREATE UNIQUE INDEX problems_open ON problems(domain_id, rule, subject) WHERE status = 'open';
CREATE INDEX problems_org ON problems(org_id, status);

-- Per organization: the signed webhook and how often an open problem may be repeated.
CREATE TABLE notification_settings (
    org_id        INTEGER PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    webhook_url   TEXT,
    -- HMAC-SHA256 key of the X-Moat-Signature header. Stored as issued: the organization's
    -- admins see it, to verify signatures on their side.
    webhook_secret TEXT,
    repeat_hours  INTEGER NOT NULL DEFAULT 24,
    min_severity  TEXT NOT NULL DEFAULT 'warning' CHECK (min_severity IN ('info', 'warning', 'critical')),
    updated_at    INTEGER NOT NULL
);

-- Per member: e-mail at once, in a daily digest, or not at all (no row: at once).
CREATE TABLE notification_prefs (
    org_id      INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email       TEXT NOT NULL CHECK (email IN ('immediate', 'digest', 'off')),
    -- UTC midnight of the last digest sent.
    last_digest INTEGER,
    PRIMARY KEY (org_id, user_id)
);

-- The detector looks for domains with reports received since its last run.
CREATE INDEX reports_received ON reports(received_at);

-- The overview totals an organization's reports per domain over a range of days: this index
-- covers that query.
CREATE INDEX reports_org_day ON reports(org_id, day, domain_id, success_count, failure_count, received_at);
