//! `moat dashboard`, `moat overview`, `moat problems …` and `moat alerts …`: the dashboards,
//! the problem detector and the alert settings from the command line, over the same
//! use-cases as the pages.

use crate::cli::{org_scope, print_error};
use moat_domain::{
    Action,
    calendar::{DayRange, format_day, format_utc},
    views::DashboardFilter,
};
use moat_services::{Services, dashboard, detect, notify};

/// The period and filters of a dashboard.
#[derive(Debug, clap::Args)]
pub struct Period {
    /// The last N days (default 30) …
    #[arg(long)]
    days: Option<i64>,
    /// … or from this day (YYYY-MM-DD) …
    #[arg(long, requires = "to")]
    from: Option<String>,
    /// … to this day, inclusive.
    #[arg(long, requires = "from")]
    to: Option<String>,
}

impl Period {
    fn range(&self) -> anyhow::Result<DayRange> {
        DayRange::parse(
            self.days,
            self.from.as_deref(),
            self.to.as_deref(),
            moat_services::now(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// `moat dashboard`.
#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// The domain.
    domain: String,
    /// Organization id or unique name.
    #[arg(long)]
    org: String,
    #[command(flatten)]
    period: Period,
    /// Only this sending organization.
    #[arg(long)]
    sender: Option<String>,
    /// Only this result type.
    #[arg(long)]
    result: Option<String>,
    /// Print JSON (the page's data, charts included).
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print the failure details as CSV (the page's export).
    #[arg(long)]
    csv: bool,
}

/// `moat overview`.
#[derive(Debug, clap::Args)]
pub struct OverviewArgs {
    /// Organization id or unique name (an MSP includes its clients' domains).
    #[arg(long)]
    org: String,
    #[command(flatten)]
    period: Period,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `moat problems …`.
#[derive(Debug, clap::Subcommand)]
pub enum ProblemsCommand {
    /// Open problems (and those resolved in the last 7 days).
    List {
        /// Organization id or unique name.
        #[arg(long)]
        org: String,
        /// Only this domain's.
        #[arg(long)]
        domain: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an open problem: no more reminders until it escalates.
    Ack {
        /// The problem's id.
        id: i64,
        /// Organization id or unique name.
        #[arg(long)]
        org: String,
    },
    /// Run the detector now over every domain (`moat serve` runs it after reports arrive and
    /// hourly) and send the notifications that are due.
    Detect,
}

/// `moat alerts …`.
#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    /// Show an organization's alert settings (the webhook secret included).
    Show {
        /// Organization id or unique name.
        #[arg(long)]
        org: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change an organization's alert settings.
    Set {
        /// Organization id or unique name.
        #[arg(long)]
        org: String,
        /// Webhook URL (https://); an empty string removes it.
        #[arg(long)]
        webhook: Option<String>,
        /// Hours before an open, unacknowledged problem is repeated.
        #[arg(long)]
        repeat_hours: Option<i64>,
        /// Least severity alerted: info, warning or critical.
        #[arg(long)]
        min_severity: Option<String>,
        /// Issue a new webhook signing secret.
        #[arg(long)]
        rotate_secret: bool,
    },
}

fn rate(success: i64, failure: i64) -> String {
    let total = success + failure;
    if total == 0 {
        "-".into()
    } else {
        format!("{:.1}%", success as f64 * 100.0 / total as f64)
    }
}

/// Runs `moat dashboard`.
pub async fn dashboard(svc: &Services, a: DashboardArgs) -> anyhow::Result<()> {
    let scope = org_scope(svc, &a.org, Action::Read).await?;
    let filter = DashboardFilter {
        range: a.period.range()?,
        sending_org: a.sender,
        result_type: a.result,
    };
    if a.csv {
        let rows = dashboard::export_failures(svc, &scope, &a.domain, &filter)
            .await
            .map_err(print_error)?;
        print!("{}", dashboard::to_csv(&rows));
        return Ok(());
    }
    let d = dashboard::domain_dashboard(svc, &scope, &a.domain, filter)
        .await
        .map_err(print_error)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    println!(
        "{}  {} – {}  sessions {}  failed {}  success {}  reports {}",
        d.domain.display_name,
        format_day(d.filter.range.from),
        format_day(d.filter.range.to),
        d.success + d.failure,
        d.failure,
        rate(d.success, d.failure),
        d.reports
    );
    if !d.result_types.is_empty() {
        println!("\nFAILED  RESULT TYPE");
        for t in &d.result_types {
            println!("{:>6}  {} ({})", t.sessions, t.result_type, t.title);
        }
    }
    if !d.senders.is_empty() {
        println!("\n{:>10}  {:>8}  {:>7}  SENDER", "OK", "FAILED", "RATE");
        for s in &d.senders {
            println!(
                "{:>10}  {:>8}  {:>7}  {}",
                s.success,
                s.failure,
                rate(s.success, s.failure),
                s.organization_name
            );
        }
    }
    Ok(())
}

/// Runs `moat overview`.
pub async fn overview(svc: &Services, a: OverviewArgs) -> anyhow::Result<()> {
    let scope = org_scope(svc, &a.org, Action::Read).await?;
    let o = dashboard::overview(svc, &scope, a.period.range()?)
        .await
        .map_err(print_error)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&o)?);
        return Ok(());
    }
    println!(
        "{:<32} {:<20} {:<9} {:>10} {:>7} {:>8} {:>8}",
        "DOMAIN", "ORGANIZATION", "STATE", "SESSIONS", "RATE", "REPORTS", "PROBLEMS"
    );
    for r in &o.rows {
        println!(
            "{:<32} {:<20} {:<9} {:>10} {:>7} {:>8} {:>8}",
            r.domain.display_name,
            r.org.name,
            r.domain.state.as_str(),
            r.success + r.failure,
            rate(r.success, r.failure),
            r.reports,
            r.open_problems
        );
    }
    Ok(())
}

/// Runs `moat problems …`.
pub async fn problems(svc: &Services, cmd: ProblemsCommand) -> anyhow::Result<()> {
    match cmd {
        ProblemsCommand::List { org, domain, json } => {
            let scope = org_scope(svc, &org, Action::Read).await?;
            let list = detect::problems(svc, &scope, domain.as_deref())
                .await
                .map_err(print_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no problems");
            } else {
                for p in list {
                    println!(
                        "#{} [{}] {} ({}, {}): {}",
                        p.id, p.severity, p.title, p.domain, p.status, p.fix
                    );
                }
            }
        }
        ProblemsCommand::Ack { id, org } => {
            let scope = org_scope(svc, &org, Action::ManageDomains).await?;
            detect::acknowledge(svc, &scope, id).await.map_err(print_error)?;
            println!("acknowledged #{id}");
        }
        ProblemsCommand::Detect => {
            let now = moat_services::now();
            let changed = detect::detect(svc, None, now).await.map_err(print_error)?;
            let sent = notify::notify_due(svc, now).await.map_err(print_error)?;
            println!("{changed} problem(s) opened, escalated or resolved; {sent} notified");
        }
    }
    Ok(())
}

/// Runs `moat alerts …`.
pub async fn alerts(svc: &Services, cmd: AlertsCommand) -> anyhow::Result<()> {
    match cmd {
        AlertsCommand::Show { org, json } => {
            let scope = org_scope(svc, &org, Action::ManageDomains).await?;
            let s = notify::settings_for(svc, &scope).await.map_err(print_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!("webhook: {}", s.webhook_url.as_deref().unwrap_or("none"));
                println!("secret: {}", s.webhook_secret.as_deref().unwrap_or("-"));
                println!(
                    "repeat every {} h, from severity {}",
                    s.repeat_hours, s.min_severity
                );
            }
        }
        AlertsCommand::Set {
            org,
            webhook,
            repeat_hours,
            min_severity,
            rotate_secret,
        } => {
            let scope = org_scope(svc, &org, Action::ManageDomains).await?;
            let old = notify::settings_for(svc, &scope).await.map_err(print_error)?;
            let webhook = webhook.or(old.webhook_url);
            let s = notify::save_settings(
                svc,
                &scope,
                webhook.as_deref(),
                repeat_hours.unwrap_or(old.repeat_hours),
                min_severity.as_deref().unwrap_or(&old.min_severity),
                rotate_secret,
            )
            .await
            .map_err(print_error)?;
            println!(
                "webhook: {} (secret {}), repeat every {} h, from severity {}; saved {}",
                s.webhook_url.as_deref().unwrap_or("none"),
                s.webhook_secret.as_deref().unwrap_or("-"),
                s.repeat_hours,
                s.min_severity,
                format_utc(moat_services::now())
            );
        }
    }
    Ok(())
}
