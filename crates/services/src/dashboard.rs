//! Dashboards: what a domain's TLS reports say over a range of days (per day, per result
//! type, per sending organization, per sending MTA and per receiving MX), the overview of an
//! organization's domains (with its client organizations for an MSP), and the failure
//! details behind them as CSV or JSON. Everything reads the daily rollups and the failure
//! details of the reports in range, scoped by organization. Charts are ECharts options built
//! here with `charming`; the browser only renders them.

use crate::{
    Result, Services,
    domains::get as get_domain,
    tenancy::{OrgScope, authorize},
};
use charming::{
    Chart,
    component::{Axis, Grid, Legend},
    element::{AxisType, ItemStyle, Tooltip, Trigger},
    series::Bar,
};
use moat_domain::{
    Action,
    calendar::{DayRange, format_day, format_utc},
    views::{
        DashboardFilter, DayPoint, DomainDashboard, FailureTally, OrgRef, Overview, OverviewRow,
        ResultTypeTally, SenderTally,
    },
};
use moat_store::dashboard::{self as store, Slice};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The result type under which rollups count failures no failure detail accounts for.
pub const UNCLASSIFIED: &str = "unclassified";
/// At most this many sending IPs and receiving MX are listed.
const TOP: i64 = 25;
/// At most this many failure details are exported at once.
pub const EXPORT_LIMIT: i64 = 100_000;

const GREEN: &str = "#2e7d32";
const RED: &str = "#c62828";

/// Title and one-sentence explanation of a result type as the dashboards show it.
pub fn explain(result_type: &str) -> (String, String) {
    if result_type == UNCLASSIFIED {
        return (
            "Unclassified failures".into(),
            "Failed sessions the sender counted without a failure detail saying why (its totals \
             exceed its failure details)."
                .into(),
        );
    }
    let info = moat_tlsrpt::ResultType::from_wire(result_type).describe();
    (
        info.title.to_owned(),
        format!(
            "{} Likely cause: {} Fix: {}",
            info.meaning, info.likely_cause, info.fix
        ),
    )
}

fn slice<'a>(scope: &OrgScope, domain: moat_domain::views::DomainId, f: &'a DashboardFilter) -> Slice<'a> {
    Slice {
        org: scope.org_id(),
        domain,
        from: f.range.from,
        to: f.range.to,
        sending_org: f.sending_org.as_deref().unwrap_or(""),
        result_type: f.result_type.as_deref().unwrap_or(""),
    }
}

/// A domain's dashboard for `filter`.
pub async fn domain_dashboard(
    svc: &Services,
    scope: &OrgScope,
    name: &str,
    filter: DashboardFilter,
) -> Result<DomainDashboard> {
    let domain = get_domain(svc, scope, name).await?;
    let s = slice(scope, domain.id, &filter);
    let rows = store::day_rows(&svc.db, &s).await?;
    // The sender filter lists every sender of the range, whatever is filtered now.
    let all_senders: BTreeSet<String> = if s.sending_org.is_empty() && s.result_type.is_empty() {
        rows.iter().map(|r| r.sending_org.clone()).collect()
    } else {
        store::day_rows(
            &svc.db,
            &Slice {
                sending_org: "",
                result_type: "",
                ..s
            },
        )
        .await?
        .into_iter()
        .map(|r| r.sending_org)
        .collect()
    };

    let mut per_day: BTreeMap<i64, (i64, i64)> = filter.range.each_day().map(|d| (d, (0, 0))).collect();
    let mut per_type: BTreeMap<&str, i64> = BTreeMap::new();
    let mut per_sender: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for r in &rows {
        let ok = r.result_type == "success";
        let day = per_day.entry(r.day).or_default();
        let sender = per_sender.entry(&r.sending_org).or_default();
        if ok {
            day.0 += r.sessions;
            sender.0 += r.sessions;
        } else {
            day.1 += r.sessions;
            sender.1 += r.sessions;
            *per_type.entry(&r.result_type).or_default() += r.sessions;
        }
    }
    let days: Vec<DayPoint> = per_day
        .into_iter()
        .map(|(day, (success, failure))| DayPoint {
            day,
            success,
            failure,
        })
        .collect();
    let (success, failure) = days
        .iter()
        .fold((0, 0), |(s, f), d| (s + d.success, f + d.failure));

    let mut result_types: Vec<ResultTypeTally> = per_type
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(rt, sessions)| {
            let (title, meaning) = explain(rt);
            ResultTypeTally {
                result_type: rt.to_owned(),
                title,
                meaning,
                sessions,
            }
        })
        .collect();
    result_types.sort_by(|a, b| {
        b.sessions
            .cmp(&a.sessions)
            .then(a.result_type.cmp(&b.result_type))
    });
    let mut senders: Vec<SenderTally> = per_sender
        .into_iter()
        .map(|(name, (success, failure))| SenderTally {
            organization_name: name.to_owned(),
            success,
            failure,
        })
        .collect();
    senders.sort_by(|a, b| {
        (b.failure, b.success)
            .cmp(&(a.failure, a.success))
            .then(a.organization_name.cmp(&b.organization_name))
    });

    let sending_ips = store::failures_by_sending_ip(&svc.db, &s, TOP)
        .await?
        .into_iter()
        .map(|(name, sessions)| FailureTally {
            name,
            ip: None,
            sessions,
        })
        .collect();
    let receiving_mx = store::failures_by_mx(&svc.db, &s, TOP)
        .await?
        .into_iter()
        .map(|(name, ip, sessions)| FailureTally { name, ip, sessions })
        .collect();
    let (reports, last_received) = store::report_count(&svc.db, &s).await?;

    let daily_chart = daily_chart(&days);
    let result_chart = (!result_types.is_empty()).then(|| result_chart(&result_types));
    Ok(DomainDashboard {
        domain,
        filter,
        days,
        success,
        failure,
        reports,
        last_received,
        result_types,
        senders,
        sending_ips,
        receiving_mx,
        all_senders: all_senders.into_iter().collect(),
        daily_chart,
        result_chart,
        can_manage: scope.role().can(Action::ManageDomains),
    })
}

fn to_json(chart: &Chart) -> String {
    // A Chart without JS functions always serializes.
    serde_json::to_string(chart).unwrap_or_else(|_| "{}".into())
}

/// Stacked bars of successful and failed sessions per day.
fn daily_chart(days: &[DayPoint]) -> String {
    let labels: Vec<String> = days.iter().map(|d| format_day(d.day)).collect();
    let chart = Chart::new()
        .color(vec![GREEN, RED])
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .legend(Legend::new().data(vec!["Successful sessions", "Failed sessions"]))
        .grid(Grid::new().left(56).right(16).top(36).bottom(28))
        .x_axis(Axis::new().type_(AxisType::Category).data(labels))
        .y_axis(Axis::new().type_(AxisType::Value))
        .series(
            Bar::new()
                .name("Successful sessions")
                .stack("sessions")
                .item_style(ItemStyle::new().color(GREEN))
                .data(days.iter().map(|d| d.success).collect()),
        )
        .series(
            Bar::new()
                .name("Failed sessions")
                .stack("sessions")
                .item_style(ItemStyle::new().color(RED))
                .data(days.iter().map(|d| d.failure).collect()),
        );
    to_json(&chart)
}

/// Horizontal bars of failed sessions per result type, the largest on top.
fn result_chart(types: &[ResultTypeTally]) -> String {
    let ordered: Vec<&ResultTypeTally> = types.iter().rev().collect();
    let chart = Chart::new()
        .color(vec![RED])
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .grid(Grid::new().left(220).right(24).top(8).bottom(24))
        .x_axis(Axis::new().type_(AxisType::Value))
        .y_axis(
            Axis::new()
                .type_(AxisType::Category)
                .data(ordered.iter().map(|t| t.title.clone()).collect()),
        )
        .series(
            Bar::new()
                .name("Failed sessions")
                .data(ordered.iter().map(|t| t.sessions).collect()),
        );
    to_json(&chart)
}

/// The overview of the organization's domains over `range`; for an MSP, those of its client
/// organizations too (each one the actor may read).
pub async fn overview(svc: &Services, scope: &OrgScope, range: DayRange) -> Result<Overview> {
    let mut scopes: Vec<OrgScope> = vec![scope.clone()];
    if scope.org().is_msp {
        for client in moat_store::orgs::clients(&svc.db, scope.org_id()).await? {
            if let Ok(s) = authorize(svc, scope.actor(), client.id, Action::Read).await {
                scopes.push(s);
            }
        }
    }
    let ids: Vec<_> = scopes.iter().map(OrgScope::org_id).collect();
    let totals: BTreeMap<_, _> = store::org_totals(&svc.db, &ids, range.from, range.to)
        .await?
        .into_iter()
        .collect();
    let open: BTreeMap<_, _> = moat_store::problems::open_counts(&svc.db, &ids)
        .await?
        .into_iter()
        .map(|(d, n, worst)| (d, (n, worst)))
        .collect();
    let mut rows = Vec::new();
    for s in &scopes {
        let org = OrgRef {
            id: s.org_id(),
            name: s.org().name.clone(),
        };
        for domain in crate::domains::list(svc, s).await? {
            let t = totals.get(&domain.id).copied().unwrap_or_default();
            let (open_problems, worst_problem) = open.get(&domain.id).cloned().unwrap_or_default();
            rows.push(OverviewRow {
                open_problems,
                worst_problem,
                org: org.clone(),
                domain,
                success: t.success,
                failure: t.failure,
                reports: t.reports,
                last_received: t.last_received,
            });
        }
    }
    Ok(Overview {
        org: scope.org().clone(),
        range,
        rows,
    })
}

/// One exported failure detail (the JSON export's objects and the CSV's columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureExport {
    /// The domain.
    pub domain: String,
    /// Sender's `report-id`.
    pub report_id: String,
    /// Sending organization.
    pub organization_name: String,
    /// Report period start (`YYYY-MM-DD HH:MM UTC`).
    pub start: String,
    /// Report period end.
    pub end: String,
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
    /// Additional information.
    pub additional_information: Option<String>,
    /// Failure reason code.
    pub failure_reason_code: Option<String>,
}

/// The failure details a domain dashboard with `filter` counts (at most [`EXPORT_LIMIT`]).
pub async fn export_failures(
    svc: &Services,
    scope: &OrgScope,
    name: &str,
    filter: &DashboardFilter,
) -> Result<Vec<FailureExport>> {
    let domain = get_domain(svc, scope, name).await?;
    let rows = store::failure_rows(&svc.db, &slice(scope, domain.id, filter), EXPORT_LIMIT).await?;
    Ok(rows
        .into_iter()
        .map(|r| FailureExport {
            domain: domain.name.clone(),
            report_id: r.report_id,
            organization_name: r.organization_name,
            start: format_utc(r.start_at),
            end: format_utc(r.end_at),
            policy_type: r.policy_type,
            result_type: r.result_type,
            sending_mta_ip: r.sending_mta_ip,
            receiving_mx_hostname: r.receiving_mx_hostname,
            receiving_mx_helo: r.receiving_mx_helo,
            receiving_ip: r.receiving_ip,
            failed_session_count: r.failed_session_count,
            additional_information: r.additional_information,
            failure_reason_code: r.failure_reason_code,
        })
        .collect())
}

/// The CSV header of [`to_csv`].
pub const CSV_HEADER: &str = "domain,report_id,organization_name,start,end,policy_type,result_type,\
sending_mta_ip,receiving_mx_hostname,receiving_mx_helo,receiving_ip,failed_session_count,\
additional_information,failure_reason_code";

/// One CSV field (RFC 4180 quoting). Text a spreadsheet would run as a formula (starting with
/// `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`: report fields come from strangers.
fn csv_field(out: &mut String, value: &str) {
    let guarded = matches!(
        value.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    if guarded || value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        if guarded {
            out.push('\'');
        }
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// The exported rows as CSV (header line first, CRLF line ends).
pub fn to_csv(rows: &[FailureExport]) -> String {
    let mut out = String::with_capacity(64 + rows.len() * 160);
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for r in rows {
        let count = r.failed_session_count.to_string();
        let fields: [&str; 14] = [
            &r.domain,
            &r.report_id,
            &r.organization_name,
            &r.start,
            &r.end,
            r.policy_type.as_deref().unwrap_or(""),
            &r.result_type,
            r.sending_mta_ip.as_deref().unwrap_or(""),
            r.receiving_mx_hostname.as_deref().unwrap_or(""),
            r.receiving_mx_helo.as_deref().unwrap_or(""),
            r.receiving_ip.as_deref().unwrap_or(""),
            &count,
            r.additional_information.as_deref().unwrap_or(""),
            r.failure_reason_code.as_deref().unwrap_or(""),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, f);
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(info: &str) -> FailureExport {
        FailureExport {
            domain: "example.com".into(),
            report_id: "r,1".into(),
            organization_name: "Say \"hi\"".into(),
            start: "2026-11-01 00:00 UTC".into(),
            end: "2026-11-02 00:00 UTC".into(),
            policy_type: Some("sts".into()),
            result_type: "certificate-expired".into(),
            sending_mta_ip: Some("2001:db8::1".into()),
            receiving_mx_hostname: None,
            receiving_mx_helo: None,
            receiving_ip: None,
            failed_session_count: 7,
            additional_information: Some(info.into()),
            failure_reason_code: None,
        }
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let csv = to_csv(&[row("=HYPERLINK(\"x\")"), row("plain\nline")]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(
            lines[1],
            "example.com,\"r,1\",\"Say \"\"hi\"\"\",2026-11-01 00:00 UTC,2026-11-02 00:00 UTC,sts,\
             certificate-expired,2001:db8::1,,,,7,\"'=HYPERLINK(\"\"x\"\")\","
        );
        assert!(lines[2].ends_with(",7,\"plain\nline\","), "{}", lines[2]);
        assert_eq!(lines.len(), 4);
        assert_eq!(CSV_HEADER.split(',').count(), 14);
    }

    #[test]
    fn unclassified_and_known_types_are_explained() {
        assert_eq!(explain(UNCLASSIFIED).0, "Unclassified failures");
        let (title, meaning) = explain("certificate-expired");
        assert_eq!(title, "Certificate expired");
        assert!(meaning.contains("Fix: Renew the certificate"));
        assert_eq!(explain("x-vendor-thing").0, "Unrecognised result type");
    }

    #[test]
    fn charts_are_echarts_options() {
        let days = [
            DayPoint {
                day: 0,
                success: 5,
                failure: 1,
            },
            DayPoint {
                day: 86_400,
                success: 0,
                failure: 0,
            },
        ];
        let v: serde_json::Value = serde_json::from_str(&daily_chart(&days)).unwrap();
        assert_eq!(
            v["xAxis"]["data"],
            serde_json::json!(["1970-01-01", "1970-01-02"])
        );
        assert_eq!(v["series"][0]["data"], serde_json::json!([5, 0]));
        assert_eq!(v["series"][1]["data"], serde_json::json!([1, 0]));
        assert_eq!(v["series"][1]["stack"], "sessions");
    }
}
