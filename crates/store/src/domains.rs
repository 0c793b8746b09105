//! Customer domains, their policy versions, the hosting generation counter and the local CA.
//!
//! Every tenant-facing lookup takes the organization id; the unscoped functions
//! (`*_any_org`, [`serving`]) are for the operator CLI, the background checker and the
//! listeners, which act for every tenant.

use crate::{Db, Result, StoreError, on_unique};
use moat_domain::{
    mta_sts::{MaxAge, Mode, MxPattern, Policy},
    views::{DomainId, OrgId},
};
use sqlx::{Any, Row, Transaction, any::AnyRow};

/// A `domains` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRow {
    /// Id.
    pub id: DomainId,
    /// Owner organization.
    pub org_id: OrgId,
    /// A-label name.
    pub name: String,
    /// `hosted` / `reporting_only`.
    pub kind: String,
    /// `pending` / `active` / `degraded`.
    pub state: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Last check.
    pub checked_at: Option<i64>,
    /// Last check's verdicts (JSON list of `RecordCheck`).
    pub checks_json: Option<String>,
    /// When removal was requested.
    pub removal_requested_at: Option<i64>,
}

/// A `policy_versions` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    /// The domain.
    pub domain_id: DomainId,
    /// 1, 2, 3…
    pub version: i64,
    /// Published id.
    pub policy_id: String,
    /// `none` / `testing` / `enforce`.
    pub mode: String,
    /// Patterns, one per line.
    pub mx: String,
    /// Seconds.
    pub max_age: i64,
    /// Saved at.
    pub created_at: i64,
    /// Published in DNS from.
    pub publish_at: i64,
    /// Who saved it.
    pub created_by: String,
}

impl PolicyRow {
    /// The mode; an unknown stored value reads as `testing` (it cannot be written: the
    /// column has a CHECK constraint).
    pub fn mode(&self) -> Mode {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == self.mode)
            .unwrap_or(Mode::Testing)
    }

    /// The patterns (stored one per line, each written from a parsed [`MxPattern`]).
    pub fn patterns(&self) -> Vec<MxPattern> {
        self.mx.lines().filter_map(|l| MxPattern::parse(l).ok()).collect()
    }

    /// max_age (stored from a parsed [`MaxAge`]; out-of-range values read as the maximum).
    pub fn max_age(&self) -> MaxAge {
        MaxAge::new(u64::try_from(self.max_age).unwrap_or(0)).unwrap_or(MaxAge::MAX)
    }

    /// The policy this version serves, if it is valid.
    pub fn policy(&self) -> Option<Policy> {
        Policy::new(self.mode(), self.patterns(), self.max_age()).ok()
    }
}

/// A new policy version to insert.
#[derive(Debug, Clone)]
pub struct NewPolicy<'a> {
    /// Published id.
    pub policy_id: &'a str,
    /// Mode.
    pub mode: &'a str,
    /// Patterns, one per line.
    pub mx: &'a str,
    /// Seconds.
    pub max_age: i64,
    /// Saved at.
    pub created_at: i64,
    /// Published in DNS from.
    pub publish_at: i64,
    /// Who saved it.
    pub created_by: &'a str,
}

const DOMAIN_COLS: &str = "d.id, d.org_id, d.name, d.kind, d.state, d.created_at, d.checked_at, d.checks_json, d.removal_requested_at";
const POLICY_COLS: &str =
    "p.domain_id, p.version, p.policy_id, p.mode, p.mx, p.max_age, p.created_at, p.publish_at, p.created_by";

fn domain_row(r: &AnyRow) -> Result<DomainRow> {
    Ok(DomainRow {
        id: DomainId(r.try_get("id")?),
        org_id: OrgId(r.try_get("org_id")?),
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        created_at: r.try_get("created_at")?,
        checked_at: r.try_get("checked_at")?,
        checks_json: r.try_get("checks_json")?,
        removal_requested_at: r.try_get("removal_requested_at")?,
    })
}

fn policy_row(r: &AnyRow) -> Result<PolicyRow> {
    Ok(PolicyRow {
        domain_id: DomainId(r.try_get("domain_id")?),
        version: r.try_get("version")?,
        policy_id: r.try_get("policy_id")?,
        mode: r.try_get("mode")?,
        mx: r.try_get("mx")?,
        max_age: r.try_get("max_age")?,
        created_at: r.try_get("created_at")?,
        publish_at: r.try_get("publish_at")?,
        created_by: r.try_get("created_by")?,
    })
}

async fn bump_generation(tx: &mut Transaction<'static, Any>) -> Result<()> {
    sqlx::query("UPDATE hosting_generation SET generation = generation + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_policy_tx(
    tx: &mut Transaction<'static, Any>,
    domain: DomainId,
    p: &NewPolicy<'_>,
) -> Result<i64> {
    let version: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(version), 0) + 1 AS BIGINT) FROM policy_versions WHERE domain_id = $1",
    )
    .bind(domain.0)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO policy_versions
           (domain_id, version, policy_id, mode, mx, max_age, created_at, publish_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(domain.0)
    .bind(version)
    .bind(p.policy_id)
    .bind(p.mode)
    .bind(p.mx)
    .bind(p.max_age)
    .bind(p.created_at)
    .bind(p.publish_at)
    .bind(p.created_by)
    .execute(&mut **tx)
    .await
    .map_err(on_unique)?;
    Ok(version)
}

/// Adds a domain (with its first policy version for a hosted domain). A name held by any
/// organization is a [`crate::StoreError::Conflict`].
pub async fn insert(
    db: &Db,
    org: OrgId,
    name: &str,
    kind: &str,
    now: i64,
    first_policy: Option<NewPolicy<'_>>,
) -> Result<DomainId> {
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO domains (org_id, name, kind, state, created_at) VALUES ($1, $2, $3, 'pending', $4) RETURNING id",
    )
    .bind(org.0)
    .bind(name)
    .bind(kind)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(on_unique)?;
    if let Some(p) = first_policy {
        insert_policy_tx(&mut tx, DomainId(id), &p).await?;
    }
    bump_generation(&mut tx).await?;
    tx.commit().await?;
    Ok(DomainId(id))
}

/// Saves a new policy version; returns its version number.
pub async fn insert_policy(db: &Db, domain: DomainId, p: &NewPolicy<'_>) -> Result<i64> {
    let mut tx = db.begin_write().await?;
    let v = insert_policy_tx(&mut tx, domain, p).await?;
    bump_generation(&mut tx).await?;
    tx.commit().await?;
    Ok(v)
}

/// One domain of one organization, by name.
pub async fn get(db: &Db, org: OrgId, name: &str) -> Result<Option<DomainRow>> {
    let q = format!("SELECT {DOMAIN_COLS} FROM domains d WHERE d.org_id = $1 AND d.name = $2");
    let row = sqlx::query(&q)
        .bind(org.0)
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(domain_row).transpose()
}

/// One domain by id, whichever organization holds it (background jobs).
pub async fn get_by_id(db: &Db, id: DomainId) -> Result<Option<DomainRow>> {
    let q = format!("SELECT {DOMAIN_COLS} FROM domains d WHERE d.id = $1");
    let row = sqlx::query(&q).bind(id.0).fetch_optional(db.pool()).await?;
    row.as_ref().map(domain_row).transpose()
}

/// One domain by name, whichever organization holds it (operator and listeners).
pub async fn get_any_org(db: &Db, name: &str) -> Result<Option<DomainRow>> {
    let q = format!("SELECT {DOMAIN_COLS} FROM domains d WHERE d.name = $1");
    let row = sqlx::query(&q).bind(name).fetch_optional(db.pool()).await?;
    row.as_ref().map(domain_row).transpose()
}

/// The domains of one organization, by name.
pub async fn list(db: &Db, org: OrgId) -> Result<Vec<DomainRow>> {
    let q = format!("SELECT {DOMAIN_COLS} FROM domains d WHERE d.org_id = $1 ORDER BY d.name");
    let rows = sqlx::query(&q).bind(org.0).fetch_all(db.pool()).await?;
    rows.iter().map(domain_row).collect()
}

/// Every domain, least recently checked first (for the background checker).
pub async fn list_for_check(db: &Db, limit: i64) -> Result<Vec<DomainRow>> {
    let q = format!("SELECT {DOMAIN_COLS} FROM domains d ORDER BY COALESCE(d.checked_at, 0), d.id LIMIT $1");
    let rows = sqlx::query(&q).bind(limit).fetch_all(db.pool()).await?;
    rows.iter().map(domain_row).collect()
}

/// Records a check result and the resulting state; bumps the generation when the state
/// changed (the listeners start or stop serving).
pub async fn record_check(db: &Db, id: DomainId, state: &str, checks_json: &str, now: i64) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let old: Option<String> = sqlx::query_scalar("SELECT state FROM domains WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?;
    sqlx::query("UPDATE domains SET state = $1, checks_json = $2, checked_at = $3 WHERE id = $4")
        .bind(state)
        .bind(checks_json)
        .bind(now)
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    if old.as_deref() != Some(state) {
        bump_generation(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Marks the start of "Remove MTA-STS" (or clears it with `None`).
pub async fn set_removal(db: &Db, id: DomainId, at: Option<i64>) -> Result<()> {
    sqlx::query("UPDATE domains SET removal_requested_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id.0)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Deletes a domain and its history.
pub async fn delete(db: &Db, id: DomainId) -> Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM policy_versions WHERE domain_id = $1")
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM domains WHERE id = $1")
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    bump_generation(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Every policy version of every domain of one organization, newest first per domain.
pub async fn policies_of_org(db: &Db, org: OrgId) -> Result<Vec<PolicyRow>> {
    let q = format!(
        "SELECT {POLICY_COLS} FROM policy_versions p JOIN domains d ON d.id = p.domain_id
         WHERE d.org_id = $1 ORDER BY p.domain_id, p.version DESC"
    );
    let rows = sqlx::query(&q).bind(org.0).fetch_all(db.pool()).await?;
    rows.iter().map(policy_row).collect()
}

/// Every policy version of a domain, newest first.
pub async fn policies(db: &Db, domain: DomainId) -> Result<Vec<PolicyRow>> {
    let q =
        format!("SELECT {POLICY_COLS} FROM policy_versions p WHERE p.domain_id = $1 ORDER BY p.version DESC");
    let rows = sqlx::query(&q).bind(domain.0).fetch_all(db.pool()).await?;
    rows.iter().map(policy_row).collect()
}

/// The hosting generation: changes whenever what the listeners serve may have changed.
pub async fn generation(db: &Db) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT generation FROM hosting_generation WHERE id = 1")
            .fetch_one(db.pool())
            .await?,
    )
}

/// What the listeners serve for one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingRow {
    /// A-label name.
    pub name: String,
    /// `hosted` / `reporting_only`.
    pub kind: String,
    /// `pending` / `active` / `degraded`.
    pub state: String,
    /// The newest version (served over HTTPS).
    pub latest: Option<PolicyRow>,
    /// The newest version whose id is published in DNS.
    pub published: Option<PolicyRow>,
}

/// Everything the DNS and policy servers need, for every domain, as of `now`; plus the
/// earliest future `publish_at` (when the view must be rebuilt even without a change).
pub async fn serving(db: &Db, now: i64) -> Result<(Vec<ServingRow>, Option<i64>)> {
    let domains = sqlx::query("SELECT d.id, d.name, d.kind, d.state FROM domains d ORDER BY d.id")
        .fetch_all(db.pool())
        .await?;
    let q = format!(
        "SELECT {POLICY_COLS} FROM policy_versions p
         WHERE p.version = (SELECT MAX(version) FROM policy_versions WHERE domain_id = p.domain_id)
            OR p.version = (SELECT MAX(version) FROM policy_versions WHERE domain_id = p.domain_id AND publish_at <= $1)"
    );
    let policies = sqlx::query(&q).bind(now).fetch_all(db.pool()).await?;
    let mut by_domain: std::collections::HashMap<i64, Vec<PolicyRow>> = std::collections::HashMap::new();
    for r in &policies {
        let p = policy_row(r)?;
        by_domain.entry(p.domain_id.0).or_default().push(p);
    }
    let mut out = Vec::with_capacity(domains.len());
    for r in &domains {
        let id: i64 = r.try_get("id")?;
        let mut ps = by_domain.remove(&id).unwrap_or_default();
        ps.sort_by_key(|p| std::cmp::Reverse(p.version));
        out.push(ServingRow {
            name: r.try_get("name")?,
            kind: r.try_get("kind")?,
            state: r.try_get("state")?,
            latest: ps.first().cloned(),
            published: ps.iter().find(|p| p.publish_at <= now).cloned(),
        });
    }
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(MIN(publish_at) AS BIGINT) FROM policy_versions WHERE publish_at > $1",
    )
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    Ok((out, next))
}

/// The local CA (certificate PEM, key PEM), if one was created.
pub async fn local_ca(db: &Db) -> Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT cert_pem, key_pem FROM local_ca WHERE id = 1")
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| Ok((r.try_get("cert_pem")?, r.try_get("key_pem")?)))
        .transpose()
}

/// Stores the local CA unless another instance stored one first; returns the one stored.
pub async fn init_local_ca(db: &Db, cert_pem: &str, key_pem: &str, now: i64) -> Result<(String, String)> {
    sqlx::query(
        "INSERT INTO local_ca (id, cert_pem, key_pem, created_at) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(cert_pem)
    .bind(key_pem)
    .bind(now)
    .execute(db.pool())
    .await?;
    local_ca(db)
        .await?
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
}
