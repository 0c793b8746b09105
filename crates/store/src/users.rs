//! User accounts and password resets.

use crate::{Db, Result, on_unique};
use moat_domain::views::UserId;
use sqlx::Row;

/// A stored account, with its password hash (never leaves the services layer).
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Account id.
    pub id: UserId,
    /// Normalised e-mail address.
    pub email: String,
    /// Argon2 PHC string.
    pub password_hash: String,
}

fn row_to_user(row: &sqlx::any::AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        id: UserId(row.try_get("id")?),
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
    })
}

/// Creates an account; [`crate::StoreError::Conflict`] when the address is taken.
pub async fn insert(db: &Db, email: &str, password_hash: &str, now: i64) -> Result<UserId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .fetch_one(db.pool())
    .await
    .map_err(on_unique)?;
    Ok(UserId(id))
}

/// Looks an account up by its normalised address.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserRow>> {
    let row = sqlx::query("SELECT id, email, password_hash FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(row_to_user).transpose()
}

/// Looks an account up by id.
pub async fn find(db: &Db, id: UserId) -> Result<Option<UserRow>> {
    let row = sqlx::query("SELECT id, email, password_hash FROM users WHERE id = $1")
        .bind(id.0)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(row_to_user).transpose()
}

/// Replaces an account's password hash.
pub async fn set_password_hash(db: &Db, id: UserId, hash: &str) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id.0)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Stores a password-reset token (by hash).
pub async fn insert_reset(db: &Db, token_hash: &str, user: UserId, now: i64, expires_at: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(now)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Marks an unexpired, unused reset token used and returns its account. A token works once:
/// the conditional update makes two concurrent uses impossible.
pub async fn consume_reset(db: &Db, token_hash: &str, now: i64) -> Result<Option<UserId>> {
    let user: Option<i64> = sqlx::query_scalar(
        "UPDATE password_resets SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING user_id",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    Ok(user.map(UserId))
}
