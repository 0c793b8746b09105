-- MX TLS probes: Moat connecting to each address of a domain's MX hosts as a sending MTA
-- would (EHLO, STARTTLS, WebPKI) and recording the RFC 8460 result type it would report.
-- History is kept (housekeeping purges rows older than 90 days); the latest probe of each
-- (MX host, address) feeds the enforce-readiness checklist and the policy linter.
CREATE TABLE mx_probes (
    id               BIGSERIAL PRIMARY KEY,
    org_id           BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    domain_id        BIGINT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    mx_host          TEXT NOT NULL,
    addr             TEXT NOT NULL,
    port             BIGINT NOT NULL,
    started_at       BIGINT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    -- ok, unreachable, or an RFC 8460 result type such as certificate-host-mismatch.
    verdict          TEXT NOT NULL,
    detail           TEXT NOT NULL,
    phase_failed     TEXT,
    starttls_offered BIGINT NOT NULL,
    tls_version      TEXT,
    cipher           TEXT,
    -- The leaf certificate's end of validity, unix seconds.
    not_after        BIGINT,
    -- The leaf certificate's DNS names, JSON list.
    cert_names_json  TEXT NOT NULL,
    -- The whole moat_probe::Probe, JSON.
    probe_json       TEXT NOT NULL
);
CREATE INDEX mx_probes_domain ON mx_probes(domain_id, started_at);
CREATE INDEX mx_probes_started ON mx_probes(started_at);
