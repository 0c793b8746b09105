//! Dashboard benchmark on a large generated data set: an MSP with 10 client organizations of
//! 100 domains each (1,000 domains), 90 days of daily reports per domain, each with 11 failure
//! details (≈ 90,000 reports, ≈ 10 million sessions, ≈ 1 million failure rows), ingested
//! through the real intake. Then times the use-cases behind the pages: a domain's dashboard
//! (30 and 90 days, and filtered) and the MSP overview across all 1,000 domains.
//!
//! ```sh
//! cargo run --release -p moat-services --example bench_dashboard            # SQLite, temp file
//! MOAT_BENCH_DB=postgres://moat:moat@127.0.0.1:5432/bench cargo run --release -p moat-services --example bench_dashboard
//! ```
//! `MOAT_BENCH_DOMAINS` (default 1000) and `MOAT_BENCH_DAYS` (default 90) scale it.

use moat_domain::{
    Action,
    calendar::{DayRange, format_day},
    hosting::DomainKind,
    views::DashboardFilter,
};
use moat_services::{
    HostingSettings, Services, Settings, dashboard, domains,
    intake::{Channel, Incoming},
    mail::Mailer,
    tenancy::{self, Actor},
};
use std::time::Instant;

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn report(domain: &str, day: i64, n: usize) -> Vec<u8> {
    let details: Vec<serde_json::Value> = (0..11)
        .map(|k| {
            let rt = [
                "certificate-expired",
                "starttls-not-supported",
                "validation-failure",
                "sts-policy-fetch-error",
            ][k % 4];
            serde_json::json!({
                "result-type": rt,
                "sending-mta-ip": format!("192.0.2.{}", (n + k) % 250),
                "receiving-mx-hostname": format!("mx{}.{domain}", k % 3),
                "receiving-ip": format!("198.51.100.{}", k % 3),
                "failed-session-count": 1
            })
        })
        .collect();
    let sender = ["Google Inc.", "Microsoft Corporation", "Yahoo", "Comcast"][n % 4];
    serde_json::json!({
        "organization-name": sender,
        "date-range": {"start-datetime": format!("{}T00:00:00Z", format_day(day)),
                       "end-datetime": format!("{}T23:59:59Z", format_day(day))},
        "contact-info": "tlsrpt@sender.test",
        "report-id": format!("bench-{domain}-{day}"),
        "policies": [{
            "policy": {"policy-type": "sts", "policy-domain": domain,
                       "policy-string": ["version: STSv1", "mode: testing", format!("mx: *.{domain}"), "max_age: 604800"],
                       "mx-host": [format!("*.{domain}")]},
            "summary": {"total-successful-session-count": 100 + n % 20, "total-failure-session-count": 11},
            "failure-details": details
        }]
    })
    .to_string()
    .into_bytes()
}

fn stats(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let p = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name:<44} runs {:>3}  median {:>7.1} ms  p95 {:>7.1} ms  max {:>7.1} ms",
        ms.len(),
        p(0.5),
        p(0.95),
        ms[ms.len() - 1]
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n_domains = env_num("MOAT_BENCH_DOMAINS", 1000);
    let n_days = env_num("MOAT_BENCH_DAYS", 90) as i64;
    let dir = tempfile::tempdir()?;
    let url = std::env::var("MOAT_BENCH_DB")
        .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()));
    let db = moat_store::Db::connect(&url).await?;
    db.migrate().await?;
    println!(
        "database: {:?}, {n_domains} domains x {n_days} days",
        db.backend()
    );
    let svc = Services::new(
        db,
        Mailer::Outbox(dir.path().join("outbox")),
        Settings {
            public_url: "http://127.0.0.1:3000".into(),
            mail_from: "Moat <moat@bench.test>".into(),
            hosting: HostingSettings::for_zone("sts.moat.test"),
            webhook_allow_private: false,
            probe: Default::default(),
        },
    );

    let msp = tenancy::operator_create_org(&svc, "Bench MSP", true, None).await?;
    let msp_scope = tenancy::authorize(&svc, &Actor::Operator, msp, Action::Read).await?;
    let mut names = Vec::new();
    let clients = n_domains.div_ceil(100);
    for c in 0..clients {
        let org = tenancy::operator_create_org(&svc, &format!("Client {c}"), false, Some(msp)).await?;
        let scope = tenancy::authorize(&svc, &Actor::Operator, org, Action::ManageDomains).await?;
        for d in 0..100.min(n_domains - c * 100) {
            let name = format!("d{d}.client{c}.bench.test");
            domains::add(&svc, &scope, &name, DomainKind::ReportingOnly).await?;
            names.push((org, name));
        }
    }

    let now = moat_services::now();
    let today = now - now.rem_euclid(86_400);
    let started = Instant::now();
    let mut batch = Vec::new();
    let mut reports = 0usize;
    for day in 0..n_days {
        for (i, (_, name)) in names.iter().enumerate() {
            batch.push(Incoming::new(
                Channel::Import,
                report(name, today - day * 86_400, i + day as usize),
            ));
            if batch.len() == 1000 {
                reports += batch.len();
                svc.receive_batch(std::mem::take(&mut batch)).await?;
            }
        }
    }
    reports += batch.len();
    svc.receive_batch(batch).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "ingested {reports} reports ({} failure rows, about {} sessions) in {secs:.1} s: {:.0} reports/s",
        reports * 11,
        reports * 120,
        reports as f64 / secs
    );

    let filter = |days: i64, sender: Option<&str>| DashboardFilter {
        range: DayRange::last(days, now),
        sending_org: sender.map(str::to_owned),
        result_type: None,
    };
    for (label, days, sender) in [
        ("domain dashboard, 30 days", 30, None),
        ("domain dashboard, 90 days", 90, None),
        ("domain dashboard, 90 days, one sender", 90, Some("Yahoo")),
    ] {
        let mut ms = Vec::new();
        for k in 0..30 {
            let (org, name) = &names[(k * 37) % names.len()];
            let scope = tenancy::authorize(&svc, &Actor::Operator, *org, Action::Read).await?;
            let t = Instant::now();
            let d = dashboard::domain_dashboard(&svc, &scope, name, filter(days, sender)).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(d.reports > 0);
        }
        stats(label, ms);
    }
    for days in [30, 90] {
        let label = format!("MSP overview, {} domains, {days} days", names.len());
        let mut ms = Vec::new();
        let mut rows = 0;
        for _ in 0..10 {
            let t = Instant::now();
            let o = dashboard::overview(&svc, &msp_scope, DayRange::last(days, now)).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            rows = o.rows.len();
        }
        stats(&format!("{label} ({rows} rows)"), ms);
    }
    let mut ms = Vec::new();
    for k in 0..10 {
        let (org, name) = &names[(k * 53) % names.len()];
        let scope = tenancy::authorize(&svc, &Actor::Operator, *org, Action::Read).await?;
        let t = Instant::now();
        dashboard::export_failures(&svc, &scope, name, &filter(30, None)).await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    stats("failure export, 30 days (330 rows)", ms);
    let t = Instant::now();
    let changed = moat_services::detect::detect(&svc, None, now).await?;
    println!(
        "problem detection over all {} domains: {:.1} s ({changed} problems opened)",
        names.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
