//! Failed sign-in attempts, counted per account and per client address. Kept in the database
//! so the limit holds across instances and restarts.

use crate::{Db, Result};

/// Records one failed attempt.
pub async fn record_failure(db: &Db, email: &str, ip: &str, now: i64) -> Result<()> {
    sqlx::query("INSERT INTO login_failures (email, ip, at) VALUES ($1, $2, $3)")
        .bind(email)
        .bind(ip)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Failures since `since` for the account and for the address.
pub async fn failures_since(db: &Db, email: &str, ip: &str, since: i64) -> Result<(i64, i64)> {
    let by_email: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE email = $1 AND at > $2")
            .bind(email)
            .bind(since)
            .fetch_one(db.pool())
            .await?;
    let by_ip: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE ip = $1 AND at > $2")
        .bind(ip)
        .bind(since)
        .fetch_one(db.pool())
        .await?;
    Ok((by_email, by_ip))
}

/// Forgets an account's failures after a successful sign-in.
pub async fn clear(db: &Db, email: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE email = $1")
        .bind(email)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Drops records older than `before`.
pub async fn purge(db: &Db, before: i64) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(())
}
