//! Dashboards end to end: a generated month of reports from several senders goes in through
//! the real intake; the domain dashboard, its filters, the MSP overview and the CSV/JSON
//! export give exactly the numbers computed here from what was sent, and only to the tenant.

use crate::{both_backends, helpers::spawn_app};
use moat_domain::{
    Action,
    calendar::{DayRange, format_day},
    hosting::DomainKind,
    views::{DashboardFilter, OrgId},
};
use moat_services::{
    Services, dashboard, domains,
    intake::{Channel, Incoming, Outcome},
    tenancy::{self, Actor, OrgScope},
};
use moat_store::Backend;
use std::collections::BTreeMap;

/// One generated report's failure detail: (result type, sending IP, MX, sessions).
type Detail = (&'static str, String, &'static str, i64);

/// A report as sent, and what it is expected to count.
struct Sent {
    day: i64,
    sender: &'static str,
    success: i64,
    failure: i64,
    details: Vec<Detail>,
}

fn report(domain: &str, id: &str, s: &Sent) -> Vec<u8> {
    let start = format!("{}T00:00:00Z", format_day(s.day));
    let end = format!("{}T23:59:59Z", format_day(s.day));
    serde_json::json!({
        "organization-name": s.sender,
        "date-range": {"start-datetime": start, "end-datetime": end},
        "contact-info": "tlsrpt@sender.test",
        "report-id": id,
        "policies": [{
            "policy": {"policy-type": "sts", "policy-domain": domain,
                       "policy-string": ["version: STSv1", "mode: testing", "mx: mx1.example", "max_age: 86400"],
                       "mx-host": ["mx1.example"]},
            "summary": {"total-successful-session-count": s.success, "total-failure-session-count": s.failure},
            "failure-details": s.details.iter().map(|(rt, ip, mx, n)| serde_json::json!({
                "result-type": rt, "sending-mta-ip": ip, "receiving-mx-hostname": mx,
                "receiving-ip": "198.51.100.25", "failed-session-count": n})).collect::<Vec<_>>()
        }]
    })
    .to_string()
    .into_bytes()
}

/// 30 days × 3 senders ending today: Google with expired-certificate failures on mx1 from
/// rotating IPs, Microsoft with policy-fetch errors on even days, and Yahoo whose totals
/// exceed its failure details once (unclassified) and fall short of them once (count
/// mismatch: the itemized failures count), plus a day outside the 30-day range.
fn month(today: i64) -> Vec<Sent> {
    let mut out = Vec::new();
    for i in 0..31 {
        let day = today - i * 86_400;
        let fail = i % 3;
        out.push(Sent {
            day,
            sender: "Google",
            success: 1000 + i,
            failure: fail,
            details: if fail > 0 {
                vec![(
                    "certificate-expired",
                    format!("192.0.2.{}", i % 4),
                    "mx1.example",
                    fail,
                )]
            } else {
                vec![]
            },
        });
        let fetch = i64::from(i % 2 == 0);
        out.push(Sent {
            day,
            sender: "Microsoft",
            success: 500,
            failure: fetch,
            details: if fetch > 0 {
                vec![("sts-policy-fetch-error", "203.0.113.9".into(), "mx2.example", 1)]
            } else {
                vec![]
            },
        });
        out.push(Sent {
            day,
            sender: "Yahoo",
            success: 20,
            failure: match i {
                5 => 7,
                8 => 2,
                _ => 0,
            },
            details: match i {
                5 => vec![("starttls-not-supported", "198.18.0.1".into(), "mx2.example", 4)],
                8 => vec![("certificate-host-mismatch", "198.18.0.2".into(), "mx2.example", 3)],
                _ => vec![],
            },
        });
    }
    out
}

async fn org_domain(svc: &Services, org: OrgId, domain: &str) -> OrgScope {
    let scope = tenancy::authorize(svc, &Actor::Operator, org, Action::ManageDomains)
        .await
        .unwrap();
    domains::add(svc, &scope, domain, DomainKind::ReportingOnly)
        .await
        .unwrap();
    scope
}

async fn send_all(svc: &Services, domain: &str, sent: &[Sent]) {
    for (n, s) in sent.iter().enumerate() {
        let receipt = svc
            .receive_report(Incoming::new(
                Channel::Https,
                report(domain, &format!("{domain}-{n}"), s),
            ))
            .await
            .unwrap();
        match receipt.outcome {
            Outcome::Stored { reports, .. } => assert_eq!(reports.len(), 1, "{domain} report {n}"),
            other => panic!("{domain} report {n}: {other:?}"),
        }
    }
}

fn filter(range: DayRange, sender: Option<&str>, result: Option<&str>) -> DashboardFilter {
    DashboardFilter {
        range,
        sending_org: sender.map(str::to_owned),
        result_type: result.map(str::to_owned),
    }
}

/// What the dashboard must show for `range` (and an optional sender), from what was sent.
fn expected(sent: &[Sent], range: DayRange, sender: Option<&str>) -> (i64, i64, i64, BTreeMap<String, i64>) {
    let mut types = BTreeMap::new();
    let (mut ok, mut failed, mut reports) = (0, 0, 0);
    for s in sent
        .iter()
        .filter(|s| s.day >= range.from && s.day <= range.to && sender.is_none_or(|x| x == s.sender))
    {
        ok += s.success;
        reports += 1;
        let mut detailed = 0;
        for (rt, _, _, n) in &s.details {
            *types.entry((*rt).to_owned()).or_default() += n;
            detailed += n;
        }
        failed += s.failure.max(detailed);
        if s.failure > detailed {
            *types.entry("unclassified".to_owned()).or_default() += s.failure - detailed;
        }
    }
    (ok, failed, reports, types)
}

async fn dashboards_count_what_was_sent(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let svc = &app.services;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let today = now - now.rem_euclid(86_400);

    // An MSP (signed-in owner), its client, and an unrelated tenant.
    let (owner, msp) = app.user_with_org("owner@msp.test", "Provider", true).await;
    let msp = OrgId(msp);
    let client = tenancy::operator_create_org(svc, "Client Co", false, Some(msp))
        .await
        .unwrap();
    let other = tenancy::operator_create_org(svc, "Other", false, None)
        .await
        .unwrap();
    let msp_scope = org_domain(svc, msp, "provider.test").await;
    org_domain(svc, client, "client.test").await;
    let other_scope = org_domain(svc, other, "other.test").await;

    let sent = month(today);
    send_all(svc, "provider.test", &sent).await;
    let client_sent: Vec<Sent> = month(today)
        .into_iter()
        .filter(|s| s.sender == "Google")
        .take(10)
        .collect();
    send_all(svc, "client.test", &client_sent).await;
    send_all(svc, "other.test", &month(today)[..3]).await;

    // The domain over the default 30 days (the 31st day is outside).
    let range = DayRange::last(30, now);
    let d = dashboard::domain_dashboard(svc, &msp_scope, "provider.test", filter(range, None, None))
        .await
        .unwrap();
    let (ok, failed, reports, types) = expected(&sent, range, None);
    assert_eq!((d.success, d.failure, d.reports), (ok, failed, reports));
    assert_eq!(reports, 90);
    assert_eq!(d.days.len(), 30);
    assert_eq!(d.days.iter().map(|p| p.success).sum::<i64>(), ok);
    let got: BTreeMap<String, i64> = d
        .result_types
        .iter()
        .map(|t| (t.result_type.clone(), t.sessions))
        .collect();
    assert_eq!(got, types);
    assert!(got.contains_key("unclassified"));
    // Most failures first, each explained.
    assert!(d.result_types.windows(2).all(|w| w[0].sessions >= w[1].sessions));
    let fetch = d
        .result_types
        .iter()
        .find(|t| t.result_type == "sts-policy-fetch-error")
        .unwrap();
    assert_eq!(fetch.title, "MTA-STS policy fetch failed");
    assert!(fetch.meaning.contains("Fix:"));
    assert_eq!(d.all_senders, ["Google", "Microsoft", "Yahoo"]);
    assert_eq!(d.senders[0].organization_name, "Google");
    // Sending IPs and receiving MX from the failure details.
    let ips: i64 = d.sending_ips.iter().map(|t| t.sessions).sum();
    assert_eq!(
        ips,
        types
            .iter()
            .filter(|(k, _)| *k != "unclassified")
            .map(|(_, v)| v)
            .sum::<i64>()
    );
    let mx2 = d
        .receiving_mx
        .iter()
        .find(|t| t.name.as_deref() == Some("mx2.example"))
        .unwrap();
    assert_eq!(mx2.ip.as_deref(), Some("198.51.100.25"));
    assert_eq!(
        mx2.sessions,
        types["sts-policy-fetch-error"]
            + types["starttls-not-supported"]
            + types["certificate-host-mismatch"]
    );
    // The chart carries the same series.
    let chart: serde_json::Value = serde_json::from_str(&d.daily_chart).unwrap();
    let series_sum: i64 = chart["series"][0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(series_sum, ok);
    assert!(d.result_chart.is_some());

    // Filters: one sender; one result type (failures of that type, successes kept); 7 days.
    let g = dashboard::domain_dashboard(
        svc,
        &msp_scope,
        "provider.test",
        filter(range, Some("Google"), None),
    )
    .await
    .unwrap();
    let (gok, gfail, greports, _) = expected(&sent, range, Some("Google"));
    assert_eq!((g.success, g.failure, g.reports), (gok, gfail, greports));
    assert!(
        g.sending_ips
            .iter()
            .all(|t| t.name.as_deref().unwrap().starts_with("192.0.2."))
    );
    assert_eq!(
        g.all_senders.len(),
        3,
        "the sender list stays complete while filtered"
    );
    let r = dashboard::domain_dashboard(
        svc,
        &msp_scope,
        "provider.test",
        filter(range, None, Some("certificate-expired")),
    )
    .await
    .unwrap();
    assert_eq!((r.success, r.failure), (ok, types["certificate-expired"]));
    assert_eq!(r.result_types.len(), 1);
    let week = DayRange::last(7, now);
    let w = dashboard::domain_dashboard(svc, &msp_scope, "provider.test", filter(week, None, None))
        .await
        .unwrap();
    let (wok, wfail, wreports, _) = expected(&sent, week, None);
    assert_eq!(
        (w.success, w.failure, w.reports, w.days.len()),
        (wok, wfail, wreports, 7)
    );

    // Tenancy: another organization cannot read this domain's dashboard.
    assert!(
        dashboard::domain_dashboard(svc, &other_scope, "provider.test", filter(range, None, None))
            .await
            .is_err()
    );

    // The MSP overview lists its own and its client's domains, not the other tenant's.
    let o = dashboard::overview(svc, &msp_scope, range).await.unwrap();
    let rows: BTreeMap<&str, (i64, i64, i64)> = o
        .rows
        .iter()
        .map(|r| (r.domain.name.as_str(), (r.success, r.failure, r.reports)))
        .collect();
    assert_eq!(
        rows.keys().copied().collect::<Vec<_>>(),
        ["client.test", "provider.test"]
    );
    assert_eq!(rows["provider.test"], (ok, failed, reports));
    let (cok, cfail, creports, _) = expected(&client_sent, range, None);
    assert_eq!(rows["client.test"], (cok, cfail, creports));

    // Through HTTP as the signed-in owner: the server function and the exports.
    let v = owner
        .json(
            "dashboard/domain",
            &[
                ("org", &msp.0.to_string()),
                ("name", "provider.test"),
                ("query[days]", "7"),
            ],
        )
        .await;
    assert_eq!(v["success"], wok);
    let v = owner
        .json(
            "dashboard/domain",
            &[("org", &msp.0.to_string()), ("name", "provider.test")],
        )
        .await;
    assert_eq!(v["failure"], failed, "no query at all means the last 30 days");
    let (status, _, text) = owner
        .fails(
            "dashboard/domain",
            &[
                ("org", &msp.0.to_string()),
                ("name", "provider.test"),
                ("query[from]", "2026-02-30"),
                ("query[to]", "2026-03-01"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("not a date"), "{text}");

    let csv = owner
        .get(&format!(
            "/orgs/{}/domains/provider.test/failures.csv?sender=Google",
            msp.0
        ))
        .await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let body = csv.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], dashboard::CSV_HEADER);
    let google_details: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.sender == "Google" && s.day >= range.from && !s.details.is_empty())
        .collect();
    assert_eq!(lines.len() - 1, google_details.len());
    let csv_sessions: i64 = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(11).unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(csv_sessions, gfail);
    let json: serde_json::Value = owner
        .get(&format!(
            "/orgs/{}/domains/provider.test/failures.json?days=90",
            msp.0
        ))
        .await
        .json()
        .await
        .unwrap();
    let all_details: usize = sent.iter().map(|s| s.details.len()).sum();
    assert_eq!(json.as_array().unwrap().len(), all_details);
    // The client's domain through the MSP; nothing for strangers.
    let r = owner
        .get(&format!("/orgs/{}/domains/client.test/failures.csv", client.0))
        .await;
    assert_eq!(r.status(), 200);
    let stranger = app.sign_up("stranger@else.test").await;
    let r = stranger
        .get(&format!("/orgs/{}/domains/provider.test/failures.csv", msp.0))
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .anonymous()
        .get(&format!("/orgs/{}/domains/provider.test/failures.csv", msp.0))
        .await;
    assert_eq!(r.status(), 401);
    let r = owner
        .get(&format!(
            "/orgs/{}/domains/provider.test/failures.csv?from=2026-01-01",
            msp.0
        ))
        .await;
    assert_eq!(r.status(), 400);
}

both_backends!(dashboards_count_what_was_sent);
