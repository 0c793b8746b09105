//! MX change plans (issue #7): per domain, the current plan as JSON (none when nothing is
//! being changed) and the live MX hosts Moat saw at its last look. Every query is scoped by
//! organization.

use crate::{Db, Result};
use moat_domain::views::{DomainId, OrgId};
use sqlx::Row;

/// A domain's stored plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    /// Domain.
    pub domain_id: DomainId,
    /// Organization.
    pub org_id: OrgId,
    /// The current plan (moat_domain's `MxChangePlan`, JSON), if any.
    pub plan_json: Option<String>,
    /// The live MX hosts at the last look (JSON list).
    pub live_mx_json: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// The plan row of a domain of `org`, if any.
pub async fn get(db: &Db, org: OrgId, domain: DomainId) -> Result<Option<PlanRow>> {
    let row = sqlx::query(
        "SELECT domain_id, org_id, plan_json, live_mx_json, created_at, updated_at
           FROM mx_plans WHERE domain_id = $1 AND org_id = $2",
    )
    .bind(domain.0)
    .bind(org.0)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        Ok(PlanRow {
            domain_id: DomainId(r.try_get("domain_id")?),
            org_id: OrgId(r.try_get("org_id")?),
            plan_json: r.try_get("plan_json")?,
            live_mx_json: r.try_get("live_mx_json")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    })
    .transpose()
}

/// Stores the plan (or none) and the live MX snapshot of a domain of `org`, creating the
/// row if needed. Nothing is written when the domain does not belong to `org`. Returns
/// whether a row was written.
pub async fn upsert(
    db: &Db,
    org: OrgId,
    domain: DomainId,
    plan_json: Option<&str>,
    live_mx_json: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO mx_plans (domain_id, org_id, plan_json, live_mx_json, created_at, updated_at)
         SELECT id, org_id, CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS BIGINT), CAST($5 AS BIGINT) FROM domains WHERE id = $1 AND org_id = $2
         ON CONFLICT (domain_id) DO UPDATE SET plan_json = excluded.plan_json,
             live_mx_json = excluded.live_mx_json, updated_at = excluded.updated_at
         WHERE mx_plans.org_id = excluded.org_id",
    )
    .bind(domain.0)
    .bind(org.0)
    .bind(plan_json.map(str::to_owned))
    .bind(live_mx_json)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() > 0)
}
