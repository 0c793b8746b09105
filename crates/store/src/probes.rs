//! MX TLS probes: what Moat saw when it connected to each address of a domain's MX hosts
//! as a sending MTA would. Every query is scoped by organization; history is kept until
//! [`purge`] removes rows older than the retention.

use crate::{Db, Result};
use moat_domain::views::{DomainId, OrgId};
use sqlx::{Row, any::AnyRow};

/// How long probe history is kept (90 days).
pub const RETENTION_SECS: i64 = 90 * 86_400;

/// A probe to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProbe {
    /// The MX host name probed (lowercase, no trailing dot).
    pub mx_host: String,
    /// The address connected to, as text.
    pub addr: String,
    /// The TCP port.
    pub port: i64,
    /// Unix seconds.
    pub started_at: i64,
    /// Milliseconds.
    pub duration_ms: i64,
    /// `ok`, `unreachable` or an RFC 8460 result type.
    pub verdict: String,
    /// Why.
    pub detail: String,
    /// The phase that failed (kebab-case), if any.
    pub phase_failed: Option<String>,
    /// Whether the plain EHLO advertised STARTTLS.
    pub starttls_offered: bool,
    /// TLS protocol version, when the handshake completed.
    pub tls_version: Option<String>,
    /// Cipher suite, when the handshake completed.
    pub cipher: Option<String>,
    /// The leaf certificate's end of validity.
    pub not_after: Option<i64>,
    /// The leaf certificate's DNS names (JSON list).
    pub cert_names_json: String,
    /// The whole probe (JSON).
    pub probe_json: String,
}

/// A stored probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRow {
    /// Id.
    pub id: i64,
    /// Organization.
    pub org_id: OrgId,
    /// Domain.
    pub domain_id: DomainId,
    /// The probe as stored.
    pub probe: NewProbe,
}

const COLS: &str = "id, org_id, domain_id, mx_host, addr, port, started_at, duration_ms, verdict, detail, \
    phase_failed, starttls_offered, tls_version, cipher, not_after, cert_names_json, probe_json";

fn probe_row(r: &AnyRow) -> Result<ProbeRow> {
    Ok(ProbeRow {
        id: r.try_get("id")?,
        org_id: OrgId(r.try_get("org_id")?),
        domain_id: DomainId(r.try_get("domain_id")?),
        probe: NewProbe {
            mx_host: r.try_get("mx_host")?,
            addr: r.try_get("addr")?,
            port: r.try_get("port")?,
            started_at: r.try_get("started_at")?,
            duration_ms: r.try_get("duration_ms")?,
            verdict: r.try_get("verdict")?,
            detail: r.try_get("detail")?,
            phase_failed: r.try_get("phase_failed")?,
            starttls_offered: r.try_get::<i64, _>("starttls_offered")? != 0,
            tls_version: r.try_get("tls_version")?,
            cipher: r.try_get("cipher")?,
            not_after: r.try_get("not_after")?,
            cert_names_json: r.try_get("cert_names_json")?,
            probe_json: r.try_get("probe_json")?,
        },
    })
}

/// Stores the probes of one domain of `org` in one transaction. Nothing is written when
/// the domain does not belong to `org`. Returns how many rows were stored.
pub async fn insert_many(db: &Db, org: OrgId, domain: DomainId, probes: &[NewProbe]) -> Result<usize> {
    let mut tx = db.begin_write().await?;
    let owned: Option<i64> = sqlx::query("SELECT id FROM domains WHERE id = $1 AND org_id = $2")
        .bind(domain.0)
        .bind(org.0)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?;
    if owned.is_none() {
        return Ok(0);
    }
    for p in probes {
        sqlx::query(
            "INSERT INTO mx_probes (org_id, domain_id, mx_host, addr, port, started_at, duration_ms, verdict,
                                    detail, phase_failed, starttls_offered, tls_version, cipher, not_after,
                                    cert_names_json, probe_json)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(org.0)
        .bind(domain.0)
        .bind(&p.mx_host)
        .bind(&p.addr)
        .bind(p.port)
        .bind(p.started_at)
        .bind(p.duration_ms)
        .bind(&p.verdict)
        .bind(&p.detail)
        .bind(p.phase_failed.clone())
        .bind(i64::from(p.starttls_offered))
        .bind(p.tls_version.clone())
        .bind(p.cipher.clone())
        .bind(p.not_after)
        .bind(&p.cert_names_json)
        .bind(&p.probe_json)
        .execute(&mut **tx)
        .await?;
    }
    tx.commit().await?;
    Ok(probes.len())
}

/// The latest probe of each (MX host, address) of a domain, by MX host and address.
pub async fn latest(db: &Db, org: OrgId, domain: DomainId) -> Result<Vec<ProbeRow>> {
    let q = format!(
        "SELECT {COLS} FROM mx_probes WHERE id IN (
             SELECT MAX(id) FROM mx_probes WHERE org_id = $1 AND domain_id = $2 GROUP BY mx_host, addr)
           AND org_id = $1
         ORDER BY mx_host, addr"
    );
    let rows = sqlx::query(&q)
        .bind(org.0)
        .bind(domain.0)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(probe_row).collect()
}

/// A domain's probes, newest first, at most `limit`.
pub async fn history(db: &Db, org: OrgId, domain: DomainId, limit: i64) -> Result<Vec<ProbeRow>> {
    let q = format!(
        "SELECT {COLS} FROM mx_probes WHERE org_id = $1 AND domain_id = $2
         ORDER BY started_at DESC, id DESC LIMIT $3"
    );
    let rows = sqlx::query(&q)
        .bind(org.0)
        .bind(domain.0)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(probe_row).collect()
}

/// Hosted domains being served (active or degraded) whose newest probe started before
/// `before` (or that were never probed), least recently probed first, at most `limit`:
/// (organization, domain, name).
pub async fn due(db: &Db, before: i64, limit: i64) -> Result<Vec<(OrgId, DomainId, String)>> {
    let rows = sqlx::query(
        "SELECT d.org_id, d.id, d.name, MAX(p.started_at) AS last
         FROM domains d LEFT JOIN mx_probes p ON p.domain_id = d.id
         WHERE d.kind = 'hosted' AND d.state IN ('active', 'degraded')
         GROUP BY d.org_id, d.id, d.name
         HAVING MAX(p.started_at) IS NULL OR MAX(p.started_at) < $1
         ORDER BY COALESCE(MAX(p.started_at), 0), d.id
         LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                OrgId(r.try_get("org_id")?),
                DomainId(r.try_get("id")?),
                r.try_get("name")?,
            ))
        })
        .collect()
}

/// Deletes probes that started before `before`; returns how many.
pub async fn purge(db: &Db, before: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM mx_probes WHERE started_at < $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}
