//! What the dashboards read: daily rollups over a range of days, failure details grouped by
//! sending MTA and receiving MX, the rows behind an export, and per-domain totals for an
//! organization (or an MSP and its clients). Every query is scoped by organization, and
//! only the rollups and the failure details of the reports in range are read — never the
//! raw messages.

use crate::{Db, Result};
use moat_domain::views::{DomainId, OrgId};
use sqlx::Row;

/// Days `from..=to` (UTC midnights, unix seconds) and optional filters. An empty filter
/// string means "any".
#[derive(Debug, Clone, Copy)]
pub struct Slice<'a> {
    /// The organization the domain belongs to.
    pub org: OrgId,
    /// The domain.
    pub domain: DomainId,
    /// First day.
    pub from: i64,
    /// Last day (inclusive).
    pub to: i64,
    /// Only this sending organization (`organization-name`), or `""`.
    pub sending_org: &'a str,
    /// Only this result type, or `""`.
    pub result_type: &'a str,
}

/// One daily rollup row of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRow {
    /// UTC midnight, unix seconds.
    pub day: i64,
    /// Sending organization.
    pub sending_org: String,
    /// `success`, a result type, or `unclassified`.
    pub result_type: String,
    /// Sessions.
    pub sessions: i64,
}

/// The domain's rollups in the slice (the result-type filter keeps `success` rows too, so
/// that a success rate can still be computed).
pub async fn day_rows(db: &Db, s: &Slice<'_>) -> Result<Vec<DayRow>> {
    let rows = sqlx::query(
        "SELECT day, sending_org, result_type, sessions FROM daily_rollups
         WHERE org_id = $1 AND domain_id = $2 AND day >= $3 AND day <= $4
           AND ($5 = '' OR sending_org = $5)
           AND ($6 = '' OR result_type = $6 OR result_type = 'success')
         ORDER BY day",
    )
    .bind(s.org.0)
    .bind(s.domain.0)
    .bind(s.from)
    .bind(s.to)
    .bind(s.sending_org)
    .bind(s.result_type)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DayRow {
                day: r.try_get("day")?,
                sending_org: r.try_get("sending_org")?,
                result_type: r.try_get("result_type")?,
                sessions: r.try_get("sessions")?,
            })
        })
        .collect()
}

/// Reports of the domain in the slice, and when the newest of them was received.
pub async fn report_count(db: &Db, s: &Slice<'_>) -> Result<(i64, Option<i64>)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MAX(received_at) AS last FROM reports
         WHERE org_id = $1 AND domain_id = $2 AND day >= $3 AND day <= $4
           AND ($5 = '' OR organization_name = $5)",
    )
    .bind(s.org.0)
    .bind(s.domain.0)
    .bind(s.from)
    .bind(s.to)
    .bind(s.sending_org)
    .fetch_one(db.pool())
    .await?;
    Ok((row.try_get("n")?, row.try_get("last")?))
}

/// The failure details of the slice's reports grouped by `columns`, most sessions first.
async fn grouped(
    db: &Db,
    s: &Slice<'_>,
    columns: &str,
    limit: i64,
) -> Result<Vec<(Vec<Option<String>>, i64)>> {
    let q = format!(
        "SELECT {columns}, CAST(SUM(f.failed_session_count) AS BIGINT) AS sessions
         FROM reports r JOIN failure_details f ON f.report_row = r.id
         WHERE r.org_id = $1 AND r.domain_id = $2 AND r.day >= $3 AND r.day <= $4
           AND ($5 = '' OR r.organization_name = $5) AND ($6 = '' OR f.result_type = $6)
         GROUP BY {columns} ORDER BY sessions DESC, {columns} LIMIT $7"
    );
    let rows = sqlx::query(&q)
        .bind(s.org.0)
        .bind(s.domain.0)
        .bind(s.from)
        .bind(s.to)
        .bind(s.sending_org)
        .bind(s.result_type)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    let n = columns.split(',').count();
    rows.iter()
        .map(|r| {
            let keys = (0..n)
                .map(|i| r.try_get::<Option<String>, _>(i))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok((keys, r.try_get("sessions")?))
        })
        .collect()
}

/// Failed sessions per sending MTA IP (`None`: the report did not say).
pub async fn failures_by_sending_ip(
    db: &Db,
    s: &Slice<'_>,
    limit: i64,
) -> Result<Vec<(Option<String>, i64)>> {
    Ok(grouped(db, s, "f.sending_mta_ip", limit)
        .await?
        .into_iter()
        .map(|(mut k, n)| (k.remove(0), n))
        .collect())
}

/// Failed sessions per receiving MX hostname and IP.
pub async fn failures_by_mx(
    db: &Db,
    s: &Slice<'_>,
    limit: i64,
) -> Result<Vec<(Option<String>, Option<String>, i64)>> {
    Ok(grouped(db, s, "f.receiving_mx_hostname, f.receiving_ip", limit)
        .await?
        .into_iter()
        .map(|(mut k, n)| {
            let ip = k.pop().flatten();
            (k.pop().flatten(), ip, n)
        })
        .collect())
}

/// Failed sessions per result type and receiving MX hostname (for the enforce-readiness
/// checklist), most sessions first.
pub async fn failures_by_type_and_mx(
    db: &Db,
    s: &Slice<'_>,
    limit: i64,
) -> Result<Vec<(Option<String>, Option<String>, i64)>> {
    Ok(grouped(db, s, "f.result_type, f.receiving_mx_hostname", limit)
        .await?
        .into_iter()
        .map(|(mut k, n)| {
            let mx = k.pop().flatten();
            (k.pop().flatten(), mx, n)
        })
        .collect())
}

/// One failure detail with the report it came in, for exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureExportRow {
    /// The report's row id.
    pub report_row: i64,
    /// `report-id`.
    pub report_id: String,
    /// Sending organization.
    pub organization_name: String,
    /// Report period start, unix seconds.
    pub start_at: i64,
    /// Report period end, unix seconds.
    pub end_at: i64,
    /// Policy type of the policy the detail belongs to.
    pub policy_type: Option<String>,
    /// Result type.
    pub result_type: String,
    /// Sending MTA IP.
    pub sending_mta_ip: Option<String>,
    /// Receiving MX hostname.
    pub receiving_mx_hostname: Option<String>,
    /// Receiving MX HELO.
    pub receiving_mx_helo: Option<String>,
    /// Receiving IP.
    pub receiving_ip: Option<String>,
    /// Failed sessions.
    pub failed_session_count: i64,
    /// Additional information (URI).
    pub additional_information: Option<String>,
    /// Failure reason code.
    pub failure_reason_code: Option<String>,
}

/// The failure details of the slice, newest report first, at most `limit`.
pub async fn failure_rows(db: &Db, s: &Slice<'_>, limit: i64) -> Result<Vec<FailureExportRow>> {
    let rows = sqlx::query(
        "SELECT r.id AS report_row, r.report_id, r.organization_name, r.start_at, r.end_at,
                p.policy_type, f.result_type, f.sending_mta_ip, f.receiving_mx_hostname,
                f.receiving_mx_helo, f.receiving_ip, f.failed_session_count,
                f.additional_information, f.failure_reason_code
         FROM reports r
         JOIN failure_details f ON f.report_row = r.id
         LEFT JOIN report_policies p ON p.report_row = r.id AND p.position = f.policy_position
         WHERE r.org_id = $1 AND r.domain_id = $2 AND r.day >= $3 AND r.day <= $4
           AND ($5 = '' OR r.organization_name = $5) AND ($6 = '' OR f.result_type = $6)
         ORDER BY r.start_at DESC, r.id DESC, f.id LIMIT $7",
    )
    .bind(s.org.0)
    .bind(s.domain.0)
    .bind(s.from)
    .bind(s.to)
    .bind(s.sending_org)
    .bind(s.result_type)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(FailureExportRow {
                report_row: r.try_get("report_row")?,
                report_id: r.try_get("report_id")?,
                organization_name: r.try_get("organization_name")?,
                start_at: r.try_get("start_at")?,
                end_at: r.try_get("end_at")?,
                policy_type: r.try_get("policy_type")?,
                result_type: r.try_get("result_type")?,
                sending_mta_ip: r.try_get("sending_mta_ip")?,
                receiving_mx_hostname: r.try_get("receiving_mx_hostname")?,
                receiving_mx_helo: r.try_get("receiving_mx_helo")?,
                receiving_ip: r.try_get("receiving_ip")?,
                failed_session_count: r.try_get("failed_session_count")?,
                additional_information: r.try_get("additional_information")?,
                failure_reason_code: r.try_get("failure_reason_code")?,
            })
        })
        .collect()
}

/// Sessions of one domain over a range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DomainTotals {
    /// Successful sessions.
    pub success: i64,
    /// Failed sessions.
    pub failure: i64,
    /// Reports.
    pub reports: i64,
    /// When the newest report was received (unix seconds).
    pub last_received: Option<i64>,
}

/// `$first, $first+1, …`: `n` placeholders for an `IN (…)` list.
pub(crate) fn in_list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per domain of the organizations `orgs`: sessions (counted as the rollups count them) and
/// reports in days `from..=to`. Reads the reports through an index that covers the query,
/// so an MSP's overview of a thousand domains over 90 days stays fast.
pub async fn org_totals(
    db: &Db,
    orgs: &[OrgId],
    from: i64,
    to: i64,
) -> Result<Vec<(DomainId, DomainTotals)>> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let list = in_list(3, orgs.len());
    let q = format!(
        "SELECT domain_id, CAST(SUM(success_count) AS BIGINT) AS success,
                CAST(SUM(failure_count) AS BIGINT) AS failure, COUNT(*) AS n, MAX(received_at) AS last
         FROM reports WHERE org_id IN ({list}) AND day >= $1 AND day <= $2
         GROUP BY domain_id ORDER BY domain_id"
    );
    let mut query = sqlx::query(&q).bind(from).bind(to);
    for o in orgs {
        query = query.bind(o.0);
    }
    query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok((
                DomainId(r.try_get("domain_id")?),
                DomainTotals {
                    success: r.try_get("success")?,
                    failure: r.try_get("failure")?,
                    reports: r.try_get("n")?,
                    last_received: r.try_get("last")?,
                },
            ))
        })
        .collect()
}
