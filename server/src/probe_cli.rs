//! `moat probe`, `moat readiness` and `moat lint`: MX TLS probes, the testing → enforce
//! checklist and the policy linter from the command line, over the same use-cases as the
//! pages.

use crate::cli::{org_scope, print_error};
use moat_domain::{Action, calendar::format_utc};
use moat_services::{Services, probe};

/// Exit status of `moat readiness` when the domain is not ready for enforce.
pub const NOT_READY_EXIT: i32 = 3;

/// `moat probe`, `moat readiness` and `moat lint`: a domain of an organization.
#[derive(Debug, clap::Args)]
pub struct DomainArgs {
    /// The domain.
    domain: String,
    /// Organization id or unique name.
    #[arg(long, value_name = "ORG")]
    org: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Probes every address of the domain's live MX hosts now and stores the results.
pub async fn probe(svc: &Services, args: DomainArgs) -> anyhow::Result<()> {
    let scope = org_scope(svc, &args.org, Action::ManageDomains).await?;
    let report = probe::probe_domain(svc, &scope, &args.domain)
        .await
        .map_err(print_error)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for n in &report.notes {
        eprintln!("note: {n}");
    }
    if report.probes.is_empty() {
        println!("nothing probed");
        return Ok(());
    }
    println!(
        "{:<32} {:<40} {:<26} {:<8} {:<11} DETAIL",
        "MX", "ADDRESS", "VERDICT", "TLS", "CERT UNTIL"
    );
    for p in &report.probes {
        println!(
            "{:<32} {:<40} {:<26} {:<8} {:<11} {}",
            p.mx_host,
            format!("{}:{}", p.addr, p.port),
            p.verdict,
            p.tls_version.as_deref().unwrap_or("-"),
            p.not_after
                .map(|t| format_utc(t).chars().take(10).collect::<String>())
                .unwrap_or_else(|| "-".into()),
            p.detail
        );
    }
    Ok(())
}

/// The testing → enforce checklist; exits with [`NOT_READY_EXIT`] when it is not all green.
pub async fn readiness(svc: &Services, args: DomainArgs) -> anyhow::Result<()> {
    let scope = org_scope(svc, &args.org, Action::Read).await?;
    let r = probe::readiness(svc, &scope, &args.domain)
        .await
        .map_err(print_error)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        for c in &r.checks {
            println!(
                "[{}] {} ({}): {}",
                if c.passed { "ok" } else { "FAIL" },
                c.title,
                c.code,
                c.detail
            );
            if let Some(fix) = &c.fix {
                println!("       fix: {fix}");
            }
        }
        println!(
            "{}",
            if r.ready {
                "ready for enforce"
            } else {
                "not ready for enforce"
            }
        );
    }
    if !r.ready {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::process::exit(NOT_READY_EXIT);
    }
    Ok(())
}

/// The policy linter's findings.
pub async fn lint(svc: &Services, args: DomainArgs) -> anyhow::Result<()> {
    let scope = org_scope(svc, &args.org, Action::Read).await?;
    let findings = probe::lint(svc, &scope, &args.domain)
        .await
        .map_err(print_error)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&findings)?);
    } else if findings.is_empty() {
        println!("no findings");
    } else {
        for f in &findings {
            println!("{:?} {:?}: {}", f.severity, f.code, f.message);
            println!("    fix: {}", f.fix);
        }
    }
    Ok(())
}
