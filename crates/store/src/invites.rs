//! Invitations: single-use, expiring links whose token is stored only as a hash.

use crate::{Db, Result};
use moat_domain::{
    Role,
    views::{InviteId, InviteView, OrgId, UserId},
};
use sqlx::Row;

/// A pending invitation found by its token.
#[derive(Debug, Clone)]
pub struct InviteRow {
    /// Invitation id.
    pub id: InviteId,
    /// The organization it joins.
    pub org_id: OrgId,
    /// The organization's name.
    pub org_name: String,
    /// The invited address.
    pub email: String,
    /// The role it grants.
    pub role: Role,
}

/// What a new invitation needs.
#[derive(Debug)]
pub struct NewInvite<'a> {
    /// The organization it joins.
    pub org: OrgId,
    /// Normalised invited address.
    pub email: &'a str,
    /// The role it grants.
    pub role: Role,
    /// SHA-256 of the token, hex.
    pub token_hash: &'a str,
    /// Who invited (None for operator commands).
    pub invited_by: Option<UserId>,
    /// Unix seconds now.
    pub now: i64,
    /// Unix seconds when the link stops working.
    pub expires_at: i64,
}

/// Stores an invitation, revoking any earlier pending one for the same address and org.
pub async fn insert(db: &Db, new: &NewInvite<'_>) -> Result<InviteId> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE invites SET revoked_at = $3
         WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(new.org.0)
    .bind(new.email)
    .bind(new.now)
    .execute(&mut **tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO invites (org_id, email, role, token_hash, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.org.0)
    .bind(new.email)
    .bind(new.role.as_str())
    .bind(new.token_hash)
    .bind(new.invited_by.map(|u| u.0))
    .bind(new.now)
    .bind(new.expires_at)
    .fetch_one(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok(InviteId(id))
}

/// A usable (pending, unexpired) invitation by token hash.
pub async fn find_usable(db: &Db, token_hash: &str, now: i64) -> Result<Option<InviteRow>> {
    let row = sqlx::query(
        "SELECT i.id, i.org_id, o.name AS org_name, i.email, i.role FROM invites i
         JOIN orgs o ON o.id = i.org_id
         WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let role: String = r.try_get("role")?;
    Ok(Some(InviteRow {
        id: InviteId(r.try_get("id")?),
        org_id: OrgId(r.try_get("org_id")?),
        org_name: r.try_get("org_name")?,
        email: r.try_get("email")?,
        role: role.parse().unwrap_or(Role::Viewer),
    }))
}

/// Accepts an invitation: marks it used and creates the membership in one transaction.
/// Returns false when the invitation was used, revoked or expired in the meantime.
pub async fn accept(db: &Db, invite: &InviteRow, user: UserId, now: i64) -> Result<bool> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "UPDATE invites SET accepted_at = $2
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(invite.id.0)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    // An existing membership keeps the higher of the two roles.
    let existing: Option<String> =
        sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(invite.org_id.0)
            .bind(user.0)
            .fetch_optional(&mut **tx)
            .await?;
    let role = existing
        .and_then(|r| r.parse::<Role>().ok())
        .map_or(invite.role, |r| r.max(invite.role));
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(invite.org_id.0)
    .bind(user.0)
    .bind(role.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Pending invitations of an organization.
pub async fn pending(db: &Db, org: OrgId, now: i64) -> Result<Vec<InviteView>> {
    let rows = sqlx::query(
        "SELECT i.id, i.email, i.role, i.expires_at, COALESCE(u.email, 'operator') AS invited_by
         FROM invites i LEFT JOIN users u ON u.id = i.invited_by
         WHERE i.org_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2
         ORDER BY i.created_at DESC, i.id DESC",
    )
    .bind(org.0)
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let role: String = r.try_get("role")?;
        out.push(InviteView {
            id: InviteId(r.try_get("id")?),
            email: r.try_get("email")?,
            role: role.parse().unwrap_or(Role::Viewer),
            invited_by: r.try_get("invited_by")?,
            expires_at: r.try_get("expires_at")?,
        });
    }
    Ok(out)
}

/// Revokes a pending invitation of this organization; false if there was none.
pub async fn revoke(db: &Db, org: OrgId, id: InviteId, now: i64) -> Result<Option<String>> {
    let email: Option<String> = sqlx::query_scalar(
        "UPDATE invites SET revoked_at = $3
         WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL
         RETURNING email",
    )
    .bind(id.0)
    .bind(org.0)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    Ok(email)
}
