//! Problems found by the detector, and the notification settings around them. The detector
//! hands over the complete set of what fires for a domain ([`reconcile`]); this module turns
//! it into opened, updated and resolved rows, at most one open row per domain, rule and
//! subject (a partial unique index), so two instances running the detector cannot open the
//! same problem twice.

use crate::{Db, Result};
use moat_domain::views::{DomainId, OrgId, UserId};
use sqlx::{Row, any::AnyRow};
use std::collections::HashMap;

/// What the detector found for one rule and subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Rule id, e.g. `mx-certificate`.
    pub rule: String,
    /// What it is about within the domain (an MX host, a sender, a result type) or `""`.
    pub subject: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// One line.
    pub title: String,
    /// What was seen, in words.
    pub detail: String,
    /// What to do.
    pub fix: String,
    /// The evidence (JSON list).
    pub evidence_json: String,
}

/// A stored problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemRow {
    /// Id.
    pub id: i64,
    /// Organization.
    pub org_id: OrgId,
    /// Domain.
    pub domain_id: DomainId,
    /// The domain's name (A-label).
    pub domain: String,
    /// Rule id.
    pub rule: String,
    /// Subject.
    pub subject: String,
    /// Severity.
    pub severity: String,
    /// `open` / `resolved`.
    pub status: String,
    /// Title.
    pub title: String,
    /// Detail.
    pub detail: String,
    /// Fix.
    pub fix: String,
    /// Evidence, JSON list.
    pub evidence_json: String,
    /// Unix seconds.
    pub opened_at: i64,
    /// Unix seconds of the last update.
    pub updated_at: i64,
    /// Unix seconds.
    pub resolved_at: Option<i64>,
    /// Unix seconds.
    pub acknowledged_at: Option<i64>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Last notification while open.
    pub notified_at: Option<i64>,
}

const COLS: &str = "p.id, p.org_id, p.domain_id, d.name AS domain, p.rule, p.subject, p.severity, p.status, \
    p.title, p.detail, p.fix, p.evidence_json, p.opened_at, p.updated_at, p.resolved_at, \
    p.acknowledged_at, p.acknowledged_by, p.notified_at";
const FROM: &str = "FROM problems p JOIN domains d ON d.id = p.domain_id";

/// Severity as a number, for SQL comparisons.
const RANK: &str = "CASE p.severity WHEN 'info' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END";

fn problem(r: &AnyRow) -> Result<ProblemRow> {
    Ok(ProblemRow {
        id: r.try_get("id")?,
        org_id: OrgId(r.try_get("org_id")?),
        domain_id: DomainId(r.try_get("domain_id")?),
        domain: r.try_get("domain")?,
        rule: r.try_get("rule")?,
        subject: r.try_get("subject")?,
        severity: r.try_get("severity")?,
        status: r.try_get("status")?,
        title: r.try_get("title")?,
        detail: r.try_get("detail")?,
        fix: r.try_get("fix")?,
        evidence_json: r.try_get("evidence_json")?,
        opened_at: r.try_get("opened_at")?,
        updated_at: r.try_get("updated_at")?,
        resolved_at: r.try_get("resolved_at")?,
        acknowledged_at: r.try_get("acknowledged_at")?,
        acknowledged_by: r.try_get("acknowledged_by")?,
        notified_at: r.try_get("notified_at")?,
    })
}

/// What [`reconcile`] did to one problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new open problem.
    Opened(i64),
    /// Still open, severity raised (it will be notified again).
    Escalated(i64),
    /// Still open; evidence refreshed.
    Updated(i64),
    /// No longer fires.
    Resolved(i64),
}

/// The `notified_at` of an announced problem whose severity rose: long past, so it is due at
/// once, and set, so its resolution is still announced.
pub const ESCALATED: i64 = 1;

/// Severity as a number (info 0, warning 1, critical 2), as [`RANK`] computes it in SQL.
pub fn rank(severity: &str) -> u8 {
    match severity {
        "info" => 0,
        "warning" => 1,
        _ => 2,
    }
}

/// Makes the domain's open problems exactly `findings`: updates those still firing, opens
/// new ones and resolves the others, in one transaction.
pub async fn reconcile(
    db: &Db,
    org: OrgId,
    domain: DomainId,
    findings: &[Finding],
    now: i64,
) -> Result<Vec<Change>> {
    let mut tx = db.begin_write().await?;
    let open: HashMap<(String, String), (i64, String)> = sqlx::query(
        "SELECT id, rule, subject, severity FROM problems WHERE domain_id = $1 AND status = 'open'",
    )
    .bind(domain.0)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok((
            (r.try_get("rule")?, r.try_get("subject")?),
            (r.try_get("id")?, r.try_get("severity")?),
        ))
    })
    .collect::<Result<_>>()?;
    let mut changes = Vec::new();
    let mut seen = Vec::new();
    for f in findings {
        let key = (f.rule.clone(), f.subject.clone());
        if let Some((id, severity)) = open.get(&key) {
            let escalated = rank(&f.severity) > rank(severity);
            sqlx::query(
                "UPDATE problems SET severity = $1, title = $2, detail = $3, fix = $4, evidence_json = $5,
                        updated_at = $6,
                        notified_at = CASE WHEN $7 = 1 AND notified_at IS NOT NULL THEN $9 ELSE notified_at END,
                        acknowledged_at = CASE WHEN $7 = 1 THEN NULL ELSE acknowledged_at END,
                        acknowledged_by = CASE WHEN $7 = 1 THEN NULL ELSE acknowledged_by END
                 WHERE id = $8",
            )
            .bind(&f.severity)
            .bind(&f.title)
            .bind(&f.detail)
            .bind(&f.fix)
            .bind(&f.evidence_json)
            .bind(now)
            .bind(i64::from(escalated))
            .bind(id)
            .bind(ESCALATED)
            .execute(&mut **tx)
            .await?;
            changes.push(if escalated {
                Change::Escalated(*id)
            } else {
                Change::Updated(*id)
            });
            seen.push(*id);
        } else {
            let id: Option<i64> = sqlx::query(
                "INSERT INTO problems (org_id, domain_id, rule, subject, severity, status, title, detail, fix,
                                       evidence_json, opened_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $10)
                 ON CONFLICT (domain_id, rule, subject) WHERE status = 'open' DO NOTHING
                 RETURNING id",
            )
            .bind(org.0)
            .bind(domain.0)
            .bind(&f.rule)
            .bind(&f.subject)
            .bind(&f.severity)
            .bind(&f.title)
            .bind(&f.detail)
            .bind(&f.fix)
            .bind(&f.evidence_json)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get("id"))
            .transpose()?;
            if let Some(id) = id {
                changes.push(Change::Opened(id));
            }
        }
    }
    for (id, _) in open.values() {
        if !seen.contains(id) {
            sqlx::query(
                "UPDATE problems SET status = 'resolved', resolved_at = $1, updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            changes.push(Change::Resolved(*id));
        }
    }
    tx.commit().await?;
    Ok(changes)
}

/// Problems of the organizations `orgs` (of one domain when given): the open ones, and those
/// resolved since `resolved_since`; most severe and newest first.
pub async fn list(
    db: &Db,
    orgs: &[OrgId],
    domain: Option<DomainId>,
    resolved_since: i64,
) -> Result<Vec<ProblemRow>> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let ids = crate::dashboard::in_list(3, orgs.len());
    let q = format!(
        "SELECT {COLS} {FROM}
         WHERE p.org_id IN ({ids}) AND ($1 = 0 OR p.domain_id = $1)
           AND (p.status = 'open' OR p.resolved_at >= $2)
         ORDER BY CASE p.status WHEN 'open' THEN 0 ELSE 1 END, {RANK} DESC, p.updated_at DESC, p.id DESC"
    );
    let mut query = sqlx::query(&q)
        .bind(domain.map_or(0, |d| d.0))
        .bind(resolved_since);
    for o in orgs {
        query = query.bind(o.0);
    }
    query.fetch_all(db.pool()).await?.iter().map(problem).collect()
}

/// One problem of an organization.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Option<ProblemRow>> {
    let q = format!("SELECT {COLS} {FROM} WHERE p.org_id = $1 AND p.id = $2");
    sqlx::query(&q)
        .bind(org.0)
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(problem)
        .transpose()
}

/// Acknowledges an open problem of the organization: it is no longer repeated (until it
/// escalates). `false` when there is no such open problem.
pub async fn acknowledge(db: &Db, org: OrgId, id: i64, by: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE problems SET acknowledged_at = $1, acknowledged_by = $2
         WHERE org_id = $3 AND id = $4 AND status = 'open'",
    )
    .bind(now)
    .bind(by)
    .bind(org.0)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Open problems due for a notification (never notified, or last notified before the
/// organization's repeat interval; not acknowledged; at least its minimum severity), and
/// resolved problems whose opening was notified but whose resolution was not yet.
pub async fn due(db: &Db, now: i64, limit: i64) -> Result<Vec<ProblemRow>> {
    let q = format!(
        "SELECT {COLS} {FROM}
         LEFT JOIN notification_settings s ON s.org_id = p.org_id
         WHERE (p.status = 'open' AND p.acknowledged_at IS NULL
                AND {RANK} >= CASE COALESCE(s.min_severity, 'warning') WHEN 'info' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END
                AND (p.notified_at IS NULL OR p.notified_at <= $1 - 3600 * COALESCE(s.repeat_hours, 24)))
            OR (p.status = 'resolved' AND p.notified_at IS NOT NULL AND p.resolved_notified_at IS NULL)
         ORDER BY p.id LIMIT $2"
    );
    sqlx::query(&q)
        .bind(now)
        .bind(limit)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(problem)
        .collect()
}

/// Claims the notification of `p` (as read by [`due`]) for this instance: records it as
/// notified now, unless another instance did so since `p` was read. `false`: leave it.
pub async fn claim_notification(db: &Db, p: &ProblemRow, now: i64) -> Result<bool> {
    let done = if p.status == "resolved" {
        sqlx::query(
            "UPDATE problems SET resolved_notified_at = $1
             WHERE id = $2 AND status = 'resolved' AND resolved_notified_at IS NULL",
        )
        .bind(now)
        .bind(p.id)
        .execute(db.pool())
        .await?
    } else {
        sqlx::query(
            "UPDATE problems SET notified_at = $1
             WHERE id = $2 AND status = 'open' AND acknowledged_at IS NULL
               AND ((notified_at IS NULL AND $3 = 0) OR notified_at = $3)",
        )
        .bind(now)
        .bind(p.id)
        .bind(p.notified_at.unwrap_or(0))
        .execute(db.pool())
        .await?
    };
    Ok(done.rows_affected() == 1)
}

/// An organization's notification settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Webhook URL.
    pub webhook_url: Option<String>,
    /// Webhook HMAC key.
    pub webhook_secret: Option<String>,
    /// Hours before an open, unacknowledged problem is notified again.
    pub repeat_hours: i64,
    /// Least severity notified.
    pub min_severity: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            webhook_url: None,
            webhook_secret: None,
            repeat_hours: 24,
            min_severity: "warning".into(),
        }
    }
}

/// The organization's settings (defaults when never saved).
pub async fn settings(db: &Db, org: OrgId) -> Result<Settings> {
    let row = sqlx::query(
        "SELECT webhook_url, webhook_secret, repeat_hours, min_severity FROM notification_settings WHERE org_id = $1",
    )
    .bind(org.0)
    .fetch_optional(db.pool())
    .await?;
    Ok(match row {
        Some(r) => Settings {
            webhook_url: r.try_get("webhook_url")?,
            webhook_secret: r.try_get("webhook_secret")?,
            repeat_hours: r.try_get("repeat_hours")?,
            min_severity: r.try_get("min_severity")?,
        },
        None => Settings::default(),
    })
}

/// Saves the organization's settings.
pub async fn save_settings(db: &Db, org: OrgId, s: &Settings, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO notification_settings (org_id, webhook_url, webhook_secret, repeat_hours, min_severity, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (org_id) DO UPDATE SET webhook_url = excluded.webhook_url,
             webhook_secret = excluded.webhook_secret, repeat_hours = excluded.repeat_hours,
             min_severity = excluded.min_severity, updated_at = excluded.updated_at",
    )
    .bind(org.0)
    .bind(s.webhook_url.as_deref())
    .bind(s.webhook_secret.as_deref())
    .bind(s.repeat_hours)
    .bind(&s.min_severity)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A member to notify: id, e-mail, `immediate`/`digest`/`off`, last digest day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// User.
    pub user_id: UserId,
    /// E-mail address.
    pub email: String,
    /// `immediate`, `digest` or `off`.
    pub mode: String,
    /// UTC midnight of the last digest.
    pub last_digest: Option<i64>,
}

/// The organization's members with their e-mail preference.
pub async fn recipients(db: &Db, org: OrgId) -> Result<Vec<Recipient>> {
    sqlx::query(
        "SELECT u.id, u.email, COALESCE(n.email, 'immediate') AS mode, n.last_digest
         FROM memberships m JOIN users u ON u.id = m.user_id
         LEFT JOIN notification_prefs n ON n.org_id = m.org_id AND n.user_id = m.user_id
         WHERE m.org_id = $1 ORDER BY u.id",
    )
    .bind(org.0)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(Recipient {
            user_id: UserId(r.try_get("id")?),
            email: r.try_get("email")?,
            mode: r.try_get("mode")?,
            last_digest: r.try_get("last_digest")?,
        })
    })
    .collect()
}

/// Sets a member's e-mail preference.
pub async fn set_pref(db: &Db, org: OrgId, user: UserId, mode: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO notification_prefs (org_id, user_id, email) VALUES ($1, $2, $3)
         ON CONFLICT (org_id, user_id) DO UPDATE SET email = excluded.email",
    )
    .bind(org.0)
    .bind(user.0)
    .bind(mode)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records the day of a member's last digest.
pub async fn set_last_digest(db: &Db, org: OrgId, user: UserId, day: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO notification_prefs (org_id, user_id, email, last_digest) VALUES ($1, $2, 'digest', $3)
         ON CONFLICT (org_id, user_id) DO UPDATE SET last_digest = excluded.last_digest",
    )
    .bind(org.0)
    .bind(user.0)
    .bind(day)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Organizations that have members wanting a digest.
pub async fn digest_orgs(db: &Db) -> Result<Vec<OrgId>> {
    sqlx::query("SELECT DISTINCT org_id FROM notification_prefs WHERE email = 'digest' ORDER BY org_id")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok(OrgId(r.try_get("org_id")?)))
        .collect()
}

/// Domains (with their organization) that received reports at or after `since`.
pub async fn domains_with_reports_since(db: &Db, since: i64) -> Result<Vec<(OrgId, DomainId)>> {
    sqlx::query("SELECT DISTINCT org_id, domain_id FROM reports WHERE received_at >= $1 ORDER BY domain_id")
        .bind(since)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((OrgId(r.try_get("org_id")?), DomainId(r.try_get("domain_id")?))))
        .collect()
}

/// Every domain with its organization.
pub async fn all_domains(db: &Db) -> Result<Vec<(OrgId, DomainId)>> {
    sqlx::query("SELECT org_id, id FROM domains ORDER BY id")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((OrgId(r.try_get("org_id")?), DomainId(r.try_get("id")?))))
        .collect()
}

/// The policies of the domain's reports in days `from..=to`: (report row, sender, start,
/// policy type, policy-string JSON, failed sessions).
pub async fn report_policies(
    db: &Db,
    org: OrgId,
    domain: DomainId,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, String, i64, String, String, i64)>> {
    sqlx::query(
        "SELECT r.id, r.organization_name, r.start_at, p.policy_type, p.policy_string, p.failure_count
         FROM reports r JOIN report_policies p ON p.report_row = r.id
         WHERE r.org_id = $1 AND r.domain_id = $2 AND r.day >= $3 AND r.day <= $4
         ORDER BY r.start_at, r.id, p.position",
    )
    .bind(org.0)
    .bind(domain.0)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("organization_name")?,
            r.try_get("start_at")?,
            r.try_get("policy_type")?,
            r.try_get("policy_string")?,
            r.try_get("failure_count")?,
        ))
    })
    .collect()
}

/// Per domain of the organizations `orgs`: open problems and the worst severity among them.
pub async fn open_counts(db: &Db, orgs: &[OrgId]) -> Result<Vec<(DomainId, i64, Option<String>)>> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let ids = crate::dashboard::in_list(1, orgs.len());
    let q = format!(
        "SELECT p.domain_id, COUNT(*) AS n, CAST(MAX({RANK}) AS BIGINT) AS worst FROM problems p
         WHERE p.status = 'open' AND p.org_id IN ({ids}) GROUP BY p.domain_id"
    );
    let mut query = sqlx::query(&q);
    for o in orgs {
        query = query.bind(o.0);
    }
    query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            let worst: Option<i64> = r.try_get("worst")?;
            let worst = worst.map(|w| match w {
                0 => "info",
                1 => "warning",
                _ => "critical",
            });
            Ok((
                DomainId(r.try_get("domain_id")?),
                r.try_get("n")?,
                worst.map(str::to_owned),
            ))
        })
        .collect()
}
