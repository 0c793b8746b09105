//! The operator CLI: every command an adapter over the same use-cases the UI calls.

use crate::{config::Config, startup};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use moat_domain::{Action, Role, views::OrgId};
use moat_services::{
    Services, invites,
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

fn print_error(e: moat_services::Error) -> anyhow::Error {
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
