//! Web sessions (the storage behind tower-sessions), kept in the same database so that every
//! instance sees every session.

use crate::{Db, Result};

/// Stores or replaces a session record.
pub async fn save(db: &Db, id: &str, data: &str, expires_at: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO web_sessions (id, data, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
    )
    .bind(id)
    .bind(data)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Creates a session record; false if the id is already taken.
pub async fn create(db: &Db, id: &str, data: &str, expires_at: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO web_sessions (id, data, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(data)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Loads an unexpired session record.
pub async fn load(db: &Db, id: &str, now: i64) -> Result<Option<String>> {
    let data = sqlx::query_scalar("SELECT data FROM web_sessions WHERE id = $1 AND expires_at > $2")
        .bind(id)
        .bind(now)
        .fetch_optional(db.pool())
        .await?;
    Ok(data)
}

/// Deletes a session record.
pub async fn delete(db: &Db, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM web_sessions WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Deletes expired session records; returns how many.
pub async fn delete_expired(db: &Db, now: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}
