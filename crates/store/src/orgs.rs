//! Organizations, MSP → client links and memberships.
//!
//! A user's access to an organization is either direct (a membership row) or derived: a
//! member of an MSP acts in each of its client organizations with their MSP role.

use crate::{Db, Result, on_unique};
use moat_domain::{
    Role,
    views::{MemberView, OrgId, OrgRef, OrgView, UserId},
};
use sqlx::Row;

/// Columns and joins that compute a user's effective role in each organization (`$1` is the
/// user id). Shared by the single and list lookups so both agree.
const ACCESS_SELECT: &str = "
    SELECT o.id, o.name, o.is_msp, o.parent_id, p.name AS parent_name, o.created_at,
           m.role AS direct_role, pm.role AS msp_role
    FROM orgs o
    LEFT JOIN orgs p ON p.id = o.parent_id AND p.is_msp = 1
    LEFT JOIN memberships m ON m.org_id = o.id AND m.user_id = $1
    LEFT JOIN memberships pm ON pm.org_id = p.id AND pm.user_id = $1
    WHERE (m.role IS NOT NULL OR pm.role IS NOT NULL)";

fn parse_role(s: Option<String>) -> Option<Role> {
    s.and_then(|s| s.parse().ok())
}

fn row_to_view(row: &sqlx::any::AnyRow) -> Result<Option<OrgView>> {
    let direct = parse_role(row.try_get("direct_role")?);
    let via = parse_role(row.try_get("msp_role")?);
    let (role, via_msp) = match (direct, via) {
        (Some(d), Some(v)) if v > d => (v, true),
        (Some(d), _) => (d, false),
        (None, Some(v)) => (v, true),
        (None, None) => return Ok(None),
    };
    let parent = match row.try_get::<Option<i64>, _>("parent_id")? {
        Some(id) => Some(OrgRef {
            id: OrgId(id),
            name: row
                .try_get::<Option<String>, _>("parent_name")?
                .unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Some(OrgView {
        id: OrgId(row.try_get("id")?),
        name: row.try_get("name")?,
        is_msp: row.try_get::<i64, _>("is_msp")? != 0,
        parent,
        role,
        via_msp,
        created_at: row.try_get("created_at")?,
    }))
}

/// Creates an organization (a client of `parent` when given).
pub async fn insert(db: &Db, name: &str, is_msp: bool, parent: Option<OrgId>, now: i64) -> Result<OrgId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO orgs (name, is_msp, parent_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(i64::from(is_msp))
    .bind(parent.map(|p| p.0))
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    Ok(OrgId(id))
}

/// Adds or changes a membership.
pub async fn upsert_member(db: &Db, org: OrgId, user: UserId, role: Role, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(org.0)
    .bind(user.0)
    .bind(role.as_str())
    .bind(now)
    .execute(db.pool())
    .await
    .map_err(on_unique)?;
    Ok(())
}

/// Removes a membership; returns whether there was one.
pub async fn remove_member(db: &Db, org: OrgId, user: UserId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org.0)
        .bind(user.0)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The user's view of one organization, or `None` when they have no access to it.
pub async fn access(db: &Db, user: UserId, org: OrgId) -> Result<Option<OrgView>> {
    let sql = format!("{ACCESS_SELECT} AND o.id = $2");
    let row = sqlx::query(&sql)
        .bind(user.0)
        .bind(org.0)
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(row) => row_to_view(&row),
        None => Ok(None),
    }
}

/// Every organization the user can open, MSPs first, then by name.
pub async fn list_for_user(db: &Db, user: UserId) -> Result<Vec<OrgView>> {
    let sql = format!("{ACCESS_SELECT} ORDER BY o.is_msp DESC, o.name, o.id");
    let rows = sqlx::query(&sql).bind(user.0).fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.extend(row_to_view(row)?);
    }
    Ok(out)
}

/// An organization row regardless of who asks: for operator commands and internal lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRow {
    /// Organization id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Whether it manages clients.
    pub is_msp: bool,
    /// Its MSP, if it is a client.
    pub parent_id: Option<OrgId>,
    /// Unix seconds.
    pub created_at: i64,
}

fn row_to_org(row: &sqlx::any::AnyRow) -> Result<OrgRow> {
    Ok(OrgRow {
        id: OrgId(row.try_get("id")?),
        name: row.try_get("name")?,
        is_msp: row.try_get::<i64, _>("is_msp")? != 0,
        parent_id: row.try_get::<Option<i64>, _>("parent_id")?.map(OrgId),
        created_at: row.try_get("created_at")?,
    })
}

/// One organization by id.
pub async fn get(db: &Db, id: OrgId) -> Result<Option<OrgRow>> {
    let row = sqlx::query("SELECT id, name, is_msp, parent_id, created_at FROM orgs WHERE id = $1")
        .bind(id.0)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(row_to_org).transpose()
}

/// Organizations with exactly this name (names are not unique across MSPs).
pub async fn find_by_name(db: &Db, name: &str) -> Result<Vec<OrgRow>> {
    let rows =
        sqlx::query("SELECT id, name, is_msp, parent_id, created_at FROM orgs WHERE name = $1 ORDER BY id")
            .bind(name)
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(row_to_org).collect()
}

/// Every organization (operator listing).
pub async fn list_all(db: &Db) -> Result<Vec<OrgRow>> {
    let rows = sqlx::query("SELECT id, name, is_msp, parent_id, created_at FROM orgs ORDER BY id")
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(row_to_org).collect()
}

/// The client organizations of an MSP.
pub async fn clients(db: &Db, msp: OrgId) -> Result<Vec<OrgRef>> {
    let rows = sqlx::query("SELECT id, name FROM orgs WHERE parent_id = $1 ORDER BY name, id")
        .bind(msp.0)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(OrgRef {
                id: OrgId(r.try_get("id")?),
                name: r.try_get("name")?,
            })
        })
        .collect()
}

/// Direct members of an organization, owners first.
pub async fn members(db: &Db, org: OrgId) -> Result<Vec<MemberView>> {
    let rows = sqlx::query(
        "SELECT m.user_id, u.email, m.role, m.created_at FROM memberships m
         JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY u.email",
    )
    .bind(org.0)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let role: String = r.try_get("role")?;
        out.push(MemberView {
            user_id: UserId(r.try_get("user_id")?),
            email: r.try_get("email")?,
            role: role.parse().unwrap_or(Role::Viewer),
            since: r.try_get("created_at")?,
        });
    }
    out.sort_by(|a, b| b.role.cmp(&a.role).then_with(|| a.email.cmp(&b.email)));
    Ok(out)
}

/// A user's direct role in an organization.
pub async fn member_role(db: &Db, org: OrgId, user: UserId) -> Result<Option<Role>> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org.0)
            .bind(user.0)
            .fetch_optional(db.pool())
            .await?;
    Ok(parse_role(role))
}

/// How many owners an organization has (the last one cannot leave or be demoted).
pub async fn owner_count(db: &Db, org: OrgId) -> Result<i64> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'")
        .bind(org.0)
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}
