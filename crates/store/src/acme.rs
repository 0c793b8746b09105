//! ACME state shared by every instance: CA accounts, HTTP-01 challenge answers, certificates,
//! and the job queue with leases that keeps several instances from doing the same work.

use crate::{Db, Result};
use sqlx::{Row, any::AnyRow};

/// Bumps the hosting generation, so every instance reloads what it serves.
async fn bump_generation(db: &Db) -> Result<()> {
    sqlx::query("UPDATE hosting_generation SET generation = generation + 1 WHERE id = 1")
        .execute(db.pool())
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// accounts

/// The sealed credentials of the account at `directory`, if there is one.
pub async fn account(db: &Db, directory: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT credentials FROM acme_accounts WHERE directory = $1")
            .bind(directory)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Stores an account unless another instance stored one first; returns the one stored.
pub async fn init_account(db: &Db, directory: &str, sealed: &str, now: i64) -> Result<String> {
    sqlx::query(
        "INSERT INTO acme_accounts (directory, credentials, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (directory) DO NOTHING",
    )
    .bind(directory)
    .bind(sealed)
    .bind(now)
    .execute(db.pool())
    .await?;
    account(db, directory)
        .await?
        .ok_or(crate::StoreError::Database(sqlx::Error::RowNotFound))
}

// ---------------------------------------------------------------------------------------------
// HTTP-01 challenges

/// Stores the answer to an HTTP-01 challenge.
pub async fn put_challenge(
    db: &Db,
    token: &str,
    key_authorization: &str,
    host: &str,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO acme_challenges (token, key_authorization, host, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (token) DO UPDATE SET key_authorization = excluded.key_authorization, \
         host = excluded.host, expires_at = excluded.expires_at",
    )
    .bind(token)
    .bind(key_authorization)
    .bind(host)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The key authorization for `token`, unless it expired.
pub async fn challenge(db: &Db, token: &str, now: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT key_authorization FROM acme_challenges WHERE token = $1 AND expires_at > $2",
    )
    .bind(token)
    .bind(now)
    .fetch_optional(db.pool())
    .await?)
}

/// Forgets the challenges of `host` and every expired one.
pub async fn clear_challenges(db: &Db, host: &str, now: i64) -> Result<()> {
    sqlx::query("DELETE FROM acme_challenges WHERE host = $1 OR expires_at <= $2")
        .bind(host)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// certificates

/// A stored certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRow {
    /// The host name it is for.
    pub host: String,
    /// The chain, leaf first, PEM.
    pub chain_pem: String,
    /// The private key, sealed.
    pub key_sealed: String,
    /// The issuer's distinguished name, as text.
    pub issuer: String,
    /// The leaf's serial number, hex.
    pub serial: String,
    /// Validity, unix seconds.
    pub not_before: i64,
    /// Validity, unix seconds.
    pub not_after: i64,
    /// When renewal starts, unix seconds.
    pub renew_at: i64,
    /// When it was obtained, unix seconds.
    pub obtained_at: i64,
}

fn cert_row(r: &AnyRow) -> Result<CertRow> {
    Ok(CertRow {
        host: r.try_get("host")?,
        chain_pem: r.try_get("chain_pem")?,
        key_sealed: r.try_get("key_sealed")?,
        issuer: r.try_get("issuer")?,
        serial: r.try_get("serial")?,
        not_before: r.try_get("not_before")?,
        not_after: r.try_get("not_after")?,
        renew_at: r.try_get("renew_at")?,
        obtained_at: r.try_get("obtained_at")?,
    })
}

const CERT_COLUMNS: &str =
    "host, chain_pem, key_sealed, issuer, serial, not_before, not_after, renew_at, obtained_at";

/// Stores (or replaces) the certificate of `row.host` and bumps the hosting generation, so
/// every instance starts serving it.
pub async fn put_certificate(db: &Db, row: &CertRow) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO certificates ({CERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (host) DO UPDATE SET chain_pem = excluded.chain_pem, key_sealed = excluded.key_sealed, \
         issuer = excluded.issuer, serial = excluded.serial, not_before = excluded.not_before, \
         not_after = excluded.not_after, renew_at = excluded.renew_at, obtained_at = excluded.obtained_at"
    ))
    .bind(&row.host)
    .bind(&row.chain_pem)
    .bind(&row.key_sealed)
    .bind(&row.issuer)
    .bind(&row.serial)
    .bind(row.not_before)
    .bind(row.not_after)
    .bind(row.renew_at)
    .bind(row.obtained_at)
    .execute(db.pool())
    .await?;
    bump_generation(db).await
}

/// Every stored certificate.
pub async fn certificates(db: &Db) -> Result<Vec<CertRow>> {
    sqlx::query(&format!("SELECT {CERT_COLUMNS} FROM certificates ORDER BY host"))
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(cert_row)
        .collect()
}

/// The certificate of `host`.
pub async fn certificate(db: &Db, host: &str) -> Result<Option<CertRow>> {
    sqlx::query(&format!(
        "SELECT {CERT_COLUMNS} FROM certificates WHERE host = $1"
    ))
    .bind(host)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(cert_row)
    .transpose()
}

/// `(host, renew_at, not_after)` of every stored certificate: what scheduling needs, without
/// the chains.
pub async fn renewal_times(db: &Db) -> Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query("SELECT host, renew_at, not_after FROM certificates")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("host")?,
                r.try_get("renew_at")?,
                r.try_get("not_after")?,
            ))
        })
        .collect()
}

/// Deletes the certificates of hosts not in `keep` (names Moat no longer serves).
pub async fn delete_certificates_except(db: &Db, keep: &[String]) -> Result<u64> {
    let stored = renewal_times(db).await?;
    let mut deleted = 0;
    for (host, _, _) in stored.iter().filter(|(h, _, _)| !keep.contains(h)) {
        deleted += sqlx::query("DELETE FROM certificates WHERE host = $1")
            .bind(host)
            .execute(db.pool())
            .await?
            .rows_affected();
    }
    if deleted > 0 {
        bump_generation(db).await?;
    }
    Ok(deleted)
}

// ---------------------------------------------------------------------------------------------
// jobs

/// A job row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// What kind of work, e.g. `acme-order`.
    pub kind: String,
    /// What it is about, e.g. a host name.
    pub subject: String,
    /// When it is due next, unix seconds.
    pub due_at: i64,
    /// Failed attempts in a row.
    pub attempts: i64,
    /// The last failure, in words.
    pub last_error: Option<String>,
    /// When it was last attempted.
    pub last_attempt_at: Option<i64>,
    /// The instance holding the lease.
    pub lease_owner: Option<String>,
    /// Until when the lease holds.
    pub lease_until: Option<i64>,
}

fn job_row(r: &AnyRow) -> Result<JobRow> {
    Ok(JobRow {
        kind: r.try_get("kind")?,
        subject: r.try_get("subject")?,
        due_at: r.try_get("due_at")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        last_attempt_at: r.try_get("last_attempt_at")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_until: r.try_get("lease_until")?,
    })
}

const JOB_COLUMNS: &str =
    "kind, subject, due_at, attempts, last_error, last_attempt_at, lease_owner, lease_until";

/// Adds a job due at `due_at` unless one for the same kind and subject exists (which keeps
/// its schedule, back-off included). Returns whether it was added.
pub async fn ensure_job(db: &Db, kind: &str, subject: &str, due_at: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO jobs (kind, subject, due_at, attempts) VALUES ($1, $2, $3, 0) \
         ON CONFLICT (kind, subject) DO NOTHING",
    )
    .bind(kind)
    .bind(subject)
    .bind(due_at)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims the most overdue job of `kind` that nobody holds a live lease on, for `owner`
/// until `lease_until`. Of several instances racing for one job exactly one gets it.
pub async fn claim_job(
    db: &Db,
    kind: &str,
    owner: &str,
    now: i64,
    lease_until: i64,
) -> Result<Option<JobRow>> {
    let candidate: Option<String> = sqlx::query_scalar(
        "SELECT subject FROM jobs WHERE kind = $1 AND due_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
         ORDER BY due_at LIMIT 1",
    )
    .bind(kind)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    let Some(subject) = candidate else {
        return Ok(None);
    };
    // The lease condition again: the update only happens if nobody claimed it in between.
    let row = sqlx::query(&format!(
        "UPDATE jobs SET lease_owner = $1, lease_until = $2, last_attempt_at = $3 \
         WHERE kind = $4 AND subject = $5 AND due_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .bind(kind)
    .bind(&subject)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(job_row).transpose()
}

/// The job is done: removes it (only if `owner` still holds it).
pub async fn finish_job(db: &Db, kind: &str, subject: &str, owner: &str) -> Result<()> {
    sqlx::query("DELETE FROM jobs WHERE kind = $1 AND subject = $2 AND lease_owner = $3")
        .bind(kind)
        .bind(subject)
        .bind(owner)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The job failed: records the error, counts the attempt, reschedules it at `retry_at` and
/// releases the lease.
pub async fn fail_job(
    db: &Db,
    kind: &str,
    subject: &str,
    owner: &str,
    error: &str,
    retry_at: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET attempts = attempts + 1, last_error = $1, due_at = $2, lease_owner = NULL, \
         lease_until = NULL WHERE kind = $3 AND subject = $4 AND lease_owner = $5",
    )
    .bind(error)
    .bind(retry_at)
    .bind(kind)
    .bind(subject)
    .bind(owner)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Gives a lease back without counting an attempt (e.g. at shutdown).
pub async fn release_job(db: &Db, kind: &str, subject: &str, owner: &str) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE kind = $1 AND subject = $2 AND lease_owner = $3",
    )
    .bind(kind)
    .bind(subject)
    .bind(owner)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Every job of `kind`.
pub async fn jobs(db: &Db, kind: &str) -> Result<Vec<JobRow>> {
    sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 ORDER BY subject"
    ))
    .bind(kind)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(job_row)
    .collect()
}

/// The job of `kind` about `subject`.
pub async fn job(db: &Db, kind: &str, subject: &str) -> Result<Option<JobRow>> {
    sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 AND subject = $2"
    ))
    .bind(kind)
    .bind(subject)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(job_row)
    .transpose()
}

/// Deletes the jobs of `kind` whose subject is not in `keep`.
pub async fn delete_jobs_except(db: &Db, kind: &str, keep: &[String]) -> Result<()> {
    for job in jobs(db, kind).await? {
        if !keep.contains(&job.subject) {
            sqlx::query("DELETE FROM jobs WHERE kind = $1 AND subject = $2")
                .bind(kind)
                .bind(&job.subject)
                .execute(db.pool())
                .await?;
        }
    }
    Ok(())
}

/// The job kind of certificate orders (`moat_hosting::acme::ORDER_JOB` is this).
pub const ORDER_JOB: &str = "acme-order";

/// What is known about one host's certificate: the stored ACME certificate (if any) and its
/// order job (if one is scheduled or failing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertStatus {
    /// The host name.
    pub host: String,
    /// The stored certificate, without its key.
    pub certificate: Option<CertRow>,
    /// The order job.
    pub job: Option<JobRow>,
}

/// The status of each of `hosts`, in that order.
pub async fn statuses(db: &Db, kind: &str, hosts: &[String]) -> Result<Vec<CertStatus>> {
    let mut certs = certificates(db).await?;
    let mut jobs = jobs(db, kind).await?;
    Ok(hosts
        .iter()
        .map(|h| CertStatus {
            host: h.clone(),
            certificate: certs.iter().position(|c| &c.host == h).map(|i| {
                let mut c = certs.swap_remove(i);
                c.key_sealed.clear();
                c
            }),
            job: jobs
                .iter()
                .position(|j| &j.subject == h)
                .map(|i| jobs.swap_remove(i)),
        })
        .collect())
}
