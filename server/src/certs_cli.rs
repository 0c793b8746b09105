//! `moat certs`: the certificates Moat serves and where each comes from.

use moat_hosting::acme::ORDER_JOB;
use moat_services::Services;
use moat_store::acme::{self as store, CertStatus};

/// `moat certs`.
#[derive(Debug, clap::Subcommand)]
pub enum CertsCommand {
    /// List every host served over TLS: its certificate's source (acme or the local CA),
    /// issuer, validity, next renewal and the last ordering error.
    List {
        /// Print a JSON array, one object per host.
        #[arg(long)]
        json: bool,
    },
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The hosts served over TLS as of `now`: the policy host of every serving domain, then the
/// reports host; hosts that still hold an ACME certificate but are no longer served last.
async fn hosts(svc: &Services, now: i64) -> anyhow::Result<(Vec<String>, usize)> {
    let snap = moat_hosting::snapshot::load(&svc.db, &svc.settings.hosting, now).await?;
    let mut hosts = snap.tls_hosts(&svc.settings.hosting);
    let served = hosts.len();
    for c in store::certificates(&svc.db).await? {
        if !hosts.contains(&c.host) {
            hosts.push(c.host);
        }
    }
    Ok((hosts, served))
}

fn json(s: &CertStatus, served: bool) -> serde_json::Value {
    let c = s.certificate.as_ref();
    let j = s.job.as_ref();
    serde_json::json!({
        "host": s.host,
        "served": served,
        "source": if c.is_some() { "acme" } else { "local" },
        "issuer": c.map(|c| &c.issuer),
        "serial": c.map(|c| &c.serial),
        "not_before": c.map(|c| c.not_before),
        "not_after": c.map(|c| c.not_after),
        "renew_at": c.map(|c| c.renew_at),
        "obtained_at": c.map(|c| c.obtained_at),
        "attempts": j.map_or(0, |j| j.attempts),
        "last_error": j.and_then(|j| j.last_error.as_ref()),
        "next_attempt_at": j.map(|j| j.due_at),
    })
}

fn when(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

/// Runs a `moat certs` command.
pub async fn certs(svc: &Services, cmd: CertsCommand) -> anyhow::Result<()> {
    let CertsCommand::List { json: as_json } = cmd;
    let now = unix_now();
    let (hosts, served) = hosts(svc, now).await?;
    let statuses = store::statuses(&svc.db, ORDER_JOB, &hosts).await?;
    if as_json {
        let all: Vec<_> = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| json(s, i < served))
            .collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    for (i, s) in statuses.iter().enumerate() {
        let state = if i < served { "" } else { " (no longer served)" };
        match &s.certificate {
            Some(c) => println!(
                "{}{state}\n  ACME certificate from {}\n  valid {} to {}, renewal from {}",
                s.host,
                c.issuer,
                when(c.not_before),
                when(c.not_after),
                when(c.renew_at)
            ),
            None => println!(
                "{}{state}\n  local CA certificate (no ACME certificate yet)",
                s.host
            ),
        }
        if let Some(j) = &s.job {
            match &j.last_error {
                Some(e) => println!(
                    "  ordering failed {} time(s): {e}\n  next attempt {}",
                    j.attempts,
                    when(j.due_at)
                ),
                None => println!("  order scheduled for {}", when(j.due_at)),
            }
        }
    }
    Ok(())
}
