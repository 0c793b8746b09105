-- TLS reports (RFC 8460). Every message or POST body is kept as received, compressed, before
-- anything parses it; the normalized tables are derived from it and can be rebuilt
-- (`moat reparse`). Daily rollups are maintained at ingest so dashboards never scan reports.
CREATE TABLE raw_reports (
    id           BIGSERIAL PRIMARY KEY,
    received_at  BIGINT NOT NULL,
    channel      TEXT NOT NULL CHECK (channel IN ('smtp', 'https', 'import')),
    peer         TEXT,
    helo         TEXT,
    mail_from    TEXT,
    rcpt_to      TEXT,
    tls          BIGINT NOT NULL DEFAULT 0,
    content_type TEXT,
    file_name    TEXT,
    org_hint     BIGINT REFERENCES orgs(id) ON DELETE SET NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL UNIQUE,
    body_gz      BYTEA NOT NULL,
    deliveries   BIGINT NOT NULL DEFAULT 1,
    status       TEXT NOT NULL
                 CHECK (status IN ('pending', 'parsed', 'duplicate', 'rejected', 'unattributed')),
    error        TEXT,
    org_id       BIGINT REFERENCES orgs(id) ON DELETE SET NULL,
    processed_at BIGINT
);
CREATE INDEX raw_reports_status ON raw_reports(status);
CREATE INDEX raw_reports_org ON raw_reports(org_id, received_at);

CREATE TABLE reports (
    id                BIGSERIAL PRIMARY KEY,
    org_id            BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    domain_id         BIGINT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    raw_id            BIGINT NOT NULL REFERENCES raw_reports(id),
    report_id         TEXT NOT NULL,
    -- report_id, or the payload hash for a report without one: what a retry repeats.
    dedupe_key        TEXT NOT NULL,
    organization_name TEXT NOT NULL,
    contact_info      TEXT,
    policy_domain     TEXT NOT NULL,
    start_at          BIGINT NOT NULL,
    end_at            BIGINT NOT NULL,
    day               BIGINT NOT NULL,
    success_count     BIGINT NOT NULL,
    failure_count     BIGINT NOT NULL,
    detail_count      BIGINT NOT NULL,
    warnings_json     TEXT NOT NULL,
    -- What this report added to daily_rollups ([[result_type, sessions], ...]), so a
    -- re-parse can take exactly that back out.
    tallies_json      TEXT NOT NULL,
    payload_sha256    TEXT NOT NULL,
    received_at       BIGINT NOT NULL,
    duplicates        BIGINT NOT NULL DEFAULT 0,
    UNIQUE (org_id, dedupe_key),
    UNIQUE (org_id, payload_sha256)
);
CREATE INDEX reports_domain_day ON reports(domain_id, day);
CREATE INDEX reports_org_received ON reports(org_id, received_at);
CREATE INDEX reports_raw ON reports(raw_id);

CREATE TABLE report_policies (
    id            BIGSERIAL PRIMARY KEY,
    report_row    BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    policy_type   TEXT NOT NULL,
    policy_domain TEXT,
    policy_string TEXT NOT NULL,
    mx_host       TEXT NOT NULL,
    success_count BIGINT NOT NULL,
    failure_count BIGINT NOT NULL
);
CREATE INDEX report_policies_report ON report_policies(report_row);

CREATE TABLE failure_details (
    id                     BIGSERIAL PRIMARY KEY,
    report_row             BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    policy_position        BIGINT NOT NULL,
    result_type            TEXT NOT NULL,
    sending_mta_ip         TEXT,
    receiving_mx_hostname  TEXT,
    receiving_mx_helo      TEXT,
    receiving_ip           TEXT,
    failed_session_count   BIGINT NOT NULL,
    additional_information TEXT,
    failure_reason_code    TEXT
);
CREATE INDEX failure_details_report ON failure_details(report_row);

-- Sessions per domain x UTC day x sending organization x result type ('success' for the
-- successful sessions, 'unclassified' for failures no failure detail accounts for).
CREATE TABLE daily_rollups (
    org_id      BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    domain_id   BIGINT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    day         BIGINT NOT NULL,
    sending_org TEXT NOT NULL,
    result_type TEXT NOT NULL,
    sessions    BIGINT NOT NULL,
    reports     BIGINT NOT NULL,
    PRIMARY KEY (domain_id, day, sending_org, result_type)
);
CREATE INDEX daily_rollups_org_day ON daily_rollups(org_id, day);
