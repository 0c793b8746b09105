//! The operator CLI: every command an adapter over the same use-cases the UI calls.

use crate::{config::Config, startup};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use moat_domain::{
    Action, Role,
    hosting::DomainKind,
    views::{DomainView, OrgId},
};
use moat_services::{
    Services, domains, invites,
    tenancy::{self, Actor},
};
use std::{io::Read, path::PathBuf};

/// Moat: hosted MTA-STS and SMTP TLS reporting.
#[derive(Debug, Parser)]
#[command(name = "moat", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file (default: ./moat.toml when present). MOAT_* variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web app and every listener (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage customer domains and check their delegating records.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Show and change a domain's MTA-STS policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Import TLS reports from files or folders (.json, .json.gz, .gz, .zip, .eml, mbox).
    Import(crate::reports_cli::ImportArgs),
    /// Parse stored report messages again (after an upgrade, or once their domain exists).
    Reparse(crate::reports_cli::ReparseArgs),
    /// List and show received TLS reports.
    #[command(subcommand)]
    Reports(crate::reports_cli::ReportsCommand),
    /// Show the certificates Moat serves (ACME or local CA) and their renewal state.
    #[command(subcommand)]
    Certs(crate::certs_cli::CertsCommand),
    /// A domain's TLS report dashboard: sessions, result types, senders (or its failures as CSV).
    Dashboard(crate::dashboard_cli::DashboardArgs),
    /// Every domain of an organization (and an MSP's clients) with sessions, rate and problems.
    Overview(crate::dashboard_cli::OverviewArgs),
    /// Problems the detector found; acknowledge them; run the detector now.
    #[command(subcommand)]
    Problems(crate::dashboard_cli::ProblemsCommand),
    /// An organization's alert settings: webhook, repeat interval, minimum severity.
    #[command(subcommand)]
    Alerts(crate::dashboard_cli::AlertsCommand),
    /// Probe every address of a domain's live MX hosts now (STARTTLS and certificate).
    Probe(crate::probe_cli::DomainArgs),
    /// The testing → enforce checklist of a domain (exit status 3 when not ready).
    Readiness(crate::probe_cli::DomainArgs),
    /// Lint a domain's policy against its live MX hosts and their certificates.
    Lint(crate::probe_cli::DomainArgs),
    /// A domain's MX change plan (the safe order of steps when its MX hosts change): show
    /// it, plan a change to new patterns (--propose), or drop it (--dismiss).
    MxPlan(crate::plan_cli::MxPlanArgs),
}

#[derive(Debug, Subcommand)]
enum DomainCommand {
    /// Add a domain to an organization (hosted MTA-STS unless --reporting-only).
    Add {
        /// The domain (U-labels are converted to A-labels).
        domain: String,
        /// Organization id or unique name.
        #[arg(long, value_name = "ORG")]
        org: String,
        /// Only host the TLS-RPT record (MTA-STS is hosted elsewhere).
        #[arg(long)]
        reporting_only: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List an organization's domains.
    List {
        /// Organization id or unique name.
        #[arg(long, value_name = "ORG")]
        org: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a domain's delegating CNAMEs now (updates its state) and show the live MX.
    Check {
        /// The domain.
        domain: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a domain (only once it is safe: see `moat policy remove`).
    Delete {
        /// The domain.
        domain: String,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Save a new policy version (new id; served at once, id published seconds later).
    Set {
        /// The domain.
        domain: String,
        /// none, testing or enforce.
        #[arg(long)]
        mode: String,
        /// An MX pattern (repeat for several): host.example.com or *.example.com.
        #[arg(long = "mx", value_name = "PATTERN")]
        mx: Vec<String>,
        /// Seconds senders may cache the policy (at most 31557600).
        #[arg(long, value_name = "SECONDS")]
        max_age: u64,
        /// Switch to enforce even when the readiness checklist (`moat readiness`) fails; the
        /// failing checks are written to the audit log.
        #[arg(long)]
        override_readiness: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the current policy and its history.
    Show {
        /// The domain.
        domain: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove MTA-STS: publish mode none until every cached policy has expired.
    Remove {
        /// The domain.
        domain: String,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organization (a client organization with --parent).
    Create {
        /// Display name.
        name: String,
        /// The MSP organization (id or unique name) this is a client of.
        #[arg(long, value_name = "ORG")]
        parent: Option<String>,
        /// Make it an MSP organization, which can have client organizations.
        #[arg(long, conflicts_with = "parent")]
        msp: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List every organization.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user to an organization: with --password-stdin the account is created with the
    /// password read from standard input; otherwise an invitation is sent and its link printed.
    Create {
        /// The user's e-mail address.
        email: String,
        /// Organization id or unique name.
        #[arg(long, value_name = "ORG")]
        org: String,
        /// owner, admin or viewer.
        #[arg(long, default_value = "viewer")]
        role: Role,
        /// Read the password from standard input instead of sending an invitation.
        #[arg(long)]
        password_stdin: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env(cli.config.as_deref())?;
    crate::telemetry::init(match cli.command {
        Command::Serve => &config.log,
        _ => "warn",
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            startup::open_db(&config).await?;
            println!(
                "database is up to date ({})",
                startup::redact(&config.database_url)
            );
            Ok(())
        }
        Command::Org(cmd) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            org(&svc, cmd).await
        }
        Command::User(cmd) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            user(&svc, cmd).await
        }
        Command::Domain(cmd) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            domain(&svc, cmd).await
        }
        Command::Policy(cmd) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            policy(&svc, cmd).await
        }
        Command::Import(args) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::reports_cli::import(&svc, args).await
        }
        Command::Reparse(args) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::reports_cli::reparse(&svc, args).await
        }
        Command::Reports(cmd) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::reports_cli::reports(&svc, cmd).await
        }
        Command::Certs(cmd) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::certs_cli::certs(&svc, cmd).await
        }
        Command::Dashboard(args) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::dashboard_cli::dashboard(&svc, args).await
        }
        Command::Overview(args) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::dashboard_cli::overview(&svc, args).await
        }
        Command::Problems(cmd) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::dashboard_cli::problems(&svc, cmd).await
        }
        Command::Alerts(cmd) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::dashboard_cli::alerts(&svc, cmd).await
        }
        Command::Probe(args) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::probe_cli::probe(&svc, args).await
        }
        Command::Readiness(args) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::probe_cli::readiness(&svc, args).await
        }
        Command::Lint(args) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::probe_cli::lint(&svc, args).await
        }
        Command::MxPlan(args) => {
            let svc = startup::services(&config, startup::open_db(&config).await?)?;
            crate::plan_cli::mx_plan(&svc, args).await
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = startup::Application::build(config).await?;
    let token = app.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        token.cancel();
    });
    app.run_until_stopped().await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub(crate) fn print_error(e: moat_services::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn org(svc: &Services, cmd: OrgCommand) -> anyhow::Result<()> {
    match cmd {
        OrgCommand::Create {
            name,
            parent,
            msp,
            json,
        } => {
            let parent = match parent {
                Some(p) => Some(tenancy::operator_find_org(svc, &p).await.map_err(print_error)?.id),
                None => None,
            };
            let id = tenancy::operator_create_org(svc, &name, msp, parent)
                .await
                .map_err(print_error)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "id": id.0, "name": name, "msp": msp, "parent": parent.map(|p| p.0) })
                );
            } else {
                println!("created organization {name} (id {id})");
            }
            Ok(())
        }
        OrgCommand::List { json } => {
            let orgs = tenancy::operator_list_orgs(svc).await.map_err(print_error)?;
            if json {
                let list: Vec<_> = orgs
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "id": o.id.0, "name": o.name, "msp": o.is_msp,
                            "parent": o.parent_id.map(|p| p.0), "created_at": o.created_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if orgs.is_empty() {
                println!("no organizations yet: moat org create NAME");
            } else {
                println!("{:>6}  {:<5}  {:>6}  NAME", "ID", "MSP", "PARENT");
                for o in orgs {
                    let parent = o.parent_id.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                    println!(
                        "{:>6}  {:<5}  {:>6}  {}",
                        o.id,
                        if o.is_msp { "yes" } else { "no" },
                        parent,
                        o.name
                    );
                }
            }
            Ok(())
        }
    }
}

async fn user(svc: &Services, cmd: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Create {
        email,
        org,
        role,
        password_stdin,
        json,
    } = cmd;
    let org = tenancy::operator_find_org(svc, &org).await.map_err(print_error)?;
    let scope = tenancy::authorize(svc, &Actor::Operator, OrgId(org.id.0), Action::InviteMembers)
        .await
        .map_err(print_error)?;
    if password_stdin {
        let mut password = String::new();
        std::io::stdin()
            .read_to_string(&mut password)
            .context("cannot read the password from stdin")?;
        let password = password.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            bail!("no password on standard input");
        }
        let user = invites::operator_create_user(svc, &scope, &email, password, role)
            .await
            .map_err(print_error)?;
        if json {
            println!(
                "{}",
                serde_json::json!({ "user_id": user.id.0, "email": user.email, "org": org.id.0, "role": role })
            );
        } else {
            println!("created {} as {role} of {}", user.email, org.name);
        }
    } else {
        let sent = invites::invite(svc, &scope, &email, role)
            .await
            .map_err(print_error)?;
        if json {
            println!(
                "{}",
                serde_json::json!({ "invite_id": sent.id.0, "email": email, "org": org.id.0, "role": role,
                                    "link": sent.link, "delivered_to": sent.delivered_to })
            );
        } else {
            println!(
                "invited {email} as {role} of {}; mail: {}",
                org.name, sent.delivered_to
            );
            println!("{}", sent.link);
        }
    }
    Ok(())
}

pub(crate) async fn org_scope(
    svc: &Services,
    org: &str,
    action: Action,
) -> anyhow::Result<tenancy::OrgScope> {
    let org = tenancy::operator_find_org(svc, org).await.map_err(print_error)?;
    tenancy::authorize(svc, &Actor::Operator, OrgId(org.id.0), action)
        .await
        .map_err(print_error)
}

async fn domain_scope(svc: &Services, domain: &str, action: Action) -> anyhow::Result<tenancy::OrgScope> {
    domains::operator_scope(svc, domain, action)
        .await
        .map_err(|e| match e {
            moat_services::Error::NotFound => anyhow::anyhow!("{domain} is not added to Moat"),
            e => print_error(e),
        })
}

fn print_records(d: &DomainView) {
    println!("{} ({}, {})", d.display_name, d.kind_label(), d.state.as_str());
    for r in &d.records {
        let status = r
            .status
            .as_ref()
            .map_or("not checked yet".to_owned(), |s| s.describe());
        let req = if r.required { "" } else { " (not needed)" };
        println!("  {} CNAME {}.{req}\n    {status}", r.name, r.target);
    }
}

async fn domain(svc: &Services, cmd: DomainCommand) -> anyhow::Result<()> {
    match cmd {
        DomainCommand::Add {
            domain,
            org,
            reporting_only,
            json,
        } => {
            let scope = org_scope(svc, &org, Action::ManageDomains).await?;
            let kind = if reporting_only {
                DomainKind::ReportingOnly
            } else {
                DomainKind::Hosted
            };
            let d = domains::add(svc, &scope, &domain, kind)
                .await
                .map_err(print_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                println!("added {}; publish these records once:", d.display_name);
                let detail = domains::detail(svc, &scope, &d.name).await.map_err(print_error)?;
                print!("{}", detail.zone_snippet);
                println!("then run: moat domain check {}", d.name);
            }
        }
        DomainCommand::List { org, json } => {
            let scope = org_scope(svc, &org, Action::Read).await?;
            let list = domains::list(svc, &scope).await.map_err(print_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no domains yet: moat domain add DOMAIN --org {org}");
            } else {
                println!(
                    "{:<10} {:<15} {:<8} {:<22} DOMAIN",
                    "STATE", "KIND", "MODE", "POLICY ID"
                );
                for d in list {
                    let (mode, id) = d
                        .policy
                        .as_ref()
                        .map_or(("-", "-".to_owned()), |p| (p.mode.as_str(), p.policy_id.clone()));
                    println!(
                        "{:<10} {:<15} {:<8} {:<22} {}",
                        d.state.as_str(),
                        d.kind_label(),
                        mode,
                        id,
                        d.display_name
                    );
                }
            }
        }
        DomainCommand::Check { domain, json } => {
            let scope = domain_scope(svc, &domain, Action::ManageDomains).await?;
            let d = domains::check(svc, &scope, &domain).await.map_err(print_error)?;
            let mx = domains::mx_report(svc, &scope, &d.name)
                .await
                .map_err(print_error)?;
            let live_id = domains::live_policy_id(svc, &d.name).await;
            if json {
                let mut v = serde_json::to_value(&d)?;
                v["mx"] = serde_json::to_value(&mx)?;
                v["live_policy_id"] = serde_json::json!(live_id);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_records(&d);
                if let Some(e) = &mx.lookup_error {
                    println!("  MX: {e}");
                } else {
                    println!("  MX: {}", mx.live_mx.join(", "));
                }
                for w in &mx.warnings {
                    println!("  warning: {w}");
                }
                if let Some(id) = live_id {
                    println!("  live _mta-sts id: {id}");
                }
            }
        }
        DomainCommand::Delete { domain } => {
            let scope = domain_scope(svc, &domain, Action::ManageDomains).await?;
            domains::delete(svc, &scope, &domain).await.map_err(print_error)?;
            println!("deleted {domain}");
        }
    }
    Ok(())
}

fn policy_json(
    d: &DomainView,
    history: Option<&[moat_domain::views::PolicyVersionView]>,
) -> serde_json::Value {
    let p = d.policy.as_ref();
    let mut v = serde_json::json!({
        "domain": d.name,
        "state": d.state,
        "policy_id": p.map(|p| p.policy_id.clone()),
        "published_policy_id": d.published_policy_id,
        "mode": p.map(|p| p.mode),
        "mx": p.map(|p| p.mx.clone()),
        "max_age": p.map(|p| p.max_age),
        "version": p.map(|p| p.version),
        "removal_requested_at": d.removal_requested_at,
        "records_deletable_at": d.records_deletable_at,
    });
    if let Some(h) = history {
        v["history"] = serde_json::to_value(h).unwrap_or_default();
    }
    v
}

async fn policy(svc: &Services, cmd: PolicyCommand) -> anyhow::Result<()> {
    match cmd {
        PolicyCommand::Set {
            domain,
            mode,
            mx,
            max_age,
            override_readiness,
            json,
        } => {
            let scope = domain_scope(svc, &domain, Action::ManageDomains).await?;
            let input = domains::PolicyInput {
                mode,
                mx,
                max_age,
                confirm_enforce: true,
                override_readiness,
            };
            let (d, warnings) = domains::set_policy(svc, &scope, &domain, &input)
                .await
                .map_err(print_error)?;
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            if json {
                let mut v = policy_json(&d, None);
                v["warnings"] = serde_json::json!(warnings);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if let Some(p) = &d.policy {
                println!(
                    "{}: version {} saved, id {} (mode {}, max_age {})",
                    d.display_name,
                    p.version,
                    p.policy_id,
                    p.mode.as_str(),
                    p.max_age.seconds()
                );
            }
        }
        PolicyCommand::Show { domain, json } => {
            let scope = domain_scope(svc, &domain, Action::Read).await?;
            let detail = domains::detail(svc, &scope, &domain).await.map_err(print_error)?;
            let d = &detail.domain;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&policy_json(d, Some(&detail.history)))?
                );
            } else {
                match &d.policy {
                    Some(p) => {
                        println!("{} (id {}, version {})", d.display_name, p.policy_id, p.version);
                        println!("version: STSv1\nmode: {}", p.mode.as_str());
                        for m in &p.mx {
                            println!("mx: {m}");
                        }
                        println!("max_age: {}", p.max_age.seconds());
                    }
                    None => println!("{}: Moat does not host MTA-STS for this domain", d.display_name),
                }
            }
        }
        PolicyCommand::Remove { domain } => {
            let scope = domain_scope(svc, &domain, Action::ManageDomains).await?;
            let d = domains::remove_mta_sts(svc, &scope, &domain)
                .await
                .map_err(print_error)?;
            if let Some(t) = d.records_deletable_at {
                println!(
                    "{}: mode none is published; keep the records until {} (the longest max_age served), then delete them and the domain",
                    d.display_name,
                    moat_domain::calendar::format_utc(t)
                );
            }
        }
    }
    Ok(())
}
