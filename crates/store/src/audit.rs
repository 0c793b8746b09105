//! The audit log: who did what, when, in which organization.

use crate::{Db, Result};
use moat_domain::views::{AuditEntryView, OrgId};
use sqlx::Row;

/// Appends one entry.
pub async fn record(
    db: &Db,
    org: Option<OrgId>,
    actor: &str,
    action: &str,
    detail: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (org_id, actor, action, detail, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(org.map(|o| o.0))
        .bind(actor)
        .bind(action)
        .bind(detail)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The newest entries of one organization.
pub async fn list(db: &Db, org: OrgId, limit: i64) -> Result<Vec<AuditEntryView>> {
    let rows = sqlx::query(
        "SELECT at, actor, action, detail FROM audit_log WHERE org_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(org.0)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntryView {
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}
