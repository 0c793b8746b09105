-- The MX change planner (issue #7): per domain, the current plan (the safe order of steps
-- when the live MX set changes or the user edits the mx patterns, as moat_domain's
-- MxChangePlan JSON; NULL when there is none) and the live MX set Moat saw last, against
-- which the next look detects a change.
CREATE TABLE mx_plans (
    domain_id    INTEGER PRIMARY KEY REFERENCES domains(id) ON DELETE CASCADE,
    org_id       INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    plan_json    TEXT,
    -- The live MX hosts at the last look, JSON list.
    live_mx_json TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX mx_plans_org ON mx_plans(org_id);
