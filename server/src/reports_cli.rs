//! `moat import`, `moat reparse` and `moat reports`: the CLI side of TLS report intake.

use crate::cli::{org_scope, print_error};
use futures::StreamExt;
use moat_domain::Action;
use moat_services::{
    Services,
    intake::{self, Channel, Incoming, Outcome, ReportSummary},
};
use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
};

/// `moat import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Organization (id or unique name) that gets reports for domains nobody has yet:
    /// those domains are added to it as reporting-only.
    #[arg(long)]
    org: Option<String>,
    /// The domain reports are about when they name no policy-domain (as if they had been
    /// mailed to that domain's report address); with --org it is added if needed.
    #[arg(long)]
    domain: Option<String>,
    /// Print one JSON object per input file.
    #[arg(long)]
    json: bool,
    /// Files or folders (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// `moat reparse`.
#[derive(Debug, clap::Args)]
pub struct ReparseArgs {
    /// Every stored message, not only the rejected, unattributed and pending ones.
    #[arg(long, conflicts_with = "id")]
    all: bool,
    /// Only this raw message.
    #[arg(long)]
    id: Option<i64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `moat reports …`.
#[derive(Debug, clap::Subcommand)]
pub enum ReportsCommand {
    /// List an organization's reports, newest period first.
    List {
        /// Organization id or unique name.
        #[arg(long)]
        org: String,
        /// Only this domain's.
        #[arg(long)]
        domain: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one report with its policies and failure details.
    Show {
        /// The report's id (from `moat reports list`).
        id: i64,
        /// Organization id or unique name.
        #[arg(long)]
        org: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Files under `paths`, folders walked recursively, in a stable order.
fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(dir) = stack.pop() {
                let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .collect();
                entries.sort();
                for e in entries.into_iter().rev() {
                    if e.is_dir() {
                        stack.push(e);
                    } else if !e
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                    {
                        out.push(e);
                    }
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// An mbox file's messages (split at `From ` lines), or `None` when it is not an mbox with
/// more than one message.
fn split_mbox(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    if !bytes.starts_with(b"From ") {
        return None;
    }
    let mut starts = vec![0usize];
    let mut i = 0;
    while let Some(pos) = bytes[i..].windows(6).position(|w| w == b"\nFrom ") {
        starts.push(i + pos + 1);
        i += pos + 1;
    }
    if starts.len() < 2 {
        return None;
    }
    starts.push(bytes.len());
    Some(
        starts
            .windows(2)
            .map(|w| {
                let msg = &bytes[w[0]..w[1]];
                // Drop the "From " separator line itself.
                let body = msg
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(&[][..], |nl| &msg[nl + 1..]);
                body.to_vec()
            })
            .collect(),
    )
}

#[derive(serde::Serialize)]
struct FileResult {
    file: String,
    status: &'static str,
    reports: Vec<ReportSummary>,
    error: Option<String>,
}

fn file_result(file: String, outcome: &Outcome) -> FileResult {
    let (status, reports, error) = match outcome {
        Outcome::Stored {
            reports,
            unattributed,
        } => (
            if outcome.is_duplicate() {
                "duplicate"
            } else {
                "imported"
            },
            reports.clone(),
            (!unattributed.is_empty()).then(|| unattributed.join("; ")),
        ),
        Outcome::Repeated { status, error } => match status.as_str() {
            "rejected" | "unattributed" => ("rejected", Vec::new(), error.clone()),
            _ => ("duplicate", Vec::new(), None),
        },
        Outcome::Rejected(e) | Outcome::Unattributed(e) => ("rejected", Vec::new(), Some(e.clone())),
        Outcome::Deferred => (
            "imported",
            Vec::new(),
            Some("stored; parsing deferred (database trouble), it will be finished by `moat serve`".into()),
        ),
    };
    FileResult {
        file,
        status,
        reports,
        error,
    }
}

/// Files per batch (one database transaction).
const IMPORT_BATCH: usize = 200;

fn rejected_file(file: String, error: String) -> FileResult {
    FileResult {
        file,
        status: "rejected",
        reports: Vec::new(),
        error: Some(error),
    }
}

/// Reads one file into the messages to import (an mbox gives several), or the reason it
/// cannot be imported.
async fn read_input(path: &std::path::Path) -> Result<Vec<(String, Vec<u8>)>, FileResult> {
    let name = path.display().to_string();
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) => return Err(rejected_file(name, format!("cannot read: {e}"))),
    };
    if bytes.len() > intake::MAX_MESSAGE_BYTES {
        let e = format!(
            "larger than the {} byte limit for one report message",
            intake::MAX_MESSAGE_BYTES
        );
        return Err(rejected_file(name, e));
    }
    Ok(match split_mbox(&bytes) {
        Some(messages) => messages
            .into_iter()
            .enumerate()
            .map(|(i, m)| (format!("{name}#{}", i + 1), m))
            .collect(),
        None => vec![(name, bytes)],
    })
}

/// Batches stored at once.
const BATCHES_IN_FLIGHT: usize = 4;

/// Reads, parses and stores one batch of files: (unreadable inputs, results, storage error).
async fn import_batch(
    svc: &Services,
    chunk: &[PathBuf],
    org_hint: Option<moat_domain::views::OrgId>,
    rcpt_to: Vec<String>,
) -> (Vec<FileResult>, Vec<FileResult>, Option<String>) {
    let mut inputs = Vec::new();
    let mut early = Vec::new();
    for path in chunk {
        match read_input(path).await {
            Ok(messages) => inputs.extend(messages),
            Err(r) => early.push(r),
        }
    }
    let labels: Vec<String> = inputs.iter().map(|(l, _)| l.clone()).collect();
    let items: Vec<Incoming> = inputs
        .into_iter()
        .map(|(label, bytes)| Incoming {
            file_name: Some(label),
            org_hint,
            rcpt_to: rcpt_to.clone(),
            ..Incoming::new(Channel::Import, bytes)
        })
        .collect();
    match svc.receive_batch(items).await {
        Ok(receipts) => {
            let results = labels
                .into_iter()
                .zip(receipts)
                .map(|(label, r)| file_result(label, &r.outcome))
                .collect();
            (early, results, None)
        }
        Err(e) => {
            let results = labels
                .into_iter()
                .map(|label| rejected_file(label, format!("not stored: {e}")))
                .collect();
            (early, results, Some(e.to_string()))
        }
    }
}

/// `moat import`.
pub async fn import(svc: &Services, args: ImportArgs) -> anyhow::Result<()> {
    let org_hint = match &args.org {
        Some(o) => Some(org_scope(svc, o, Action::ManageDomains).await?.org_id()),
        None => None,
    };
    let rcpt_to = match &args.domain {
        Some(d) => {
            if let Some(org) = &args.org {
                let scope = org_scope(svc, org, Action::ManageDomains).await?;
                match moat_services::domains::add(
                    svc,
                    &scope,
                    d,
                    moat_domain::hosting::DomainKind::ReportingOnly,
                )
                .await
                {
                    Ok(_) | Err(moat_services::Error::Conflict(_)) => {}
                    Err(e) => return Err(print_error(e)),
                }
            }
            let name = moat_domain::hosting::DomainName::parse(d)
                .map_err(|e| anyhow::anyhow!("--domain {d}: {e}"))?;
            vec![format!(
                "tlsrpt+{}@{}",
                name.as_str(),
                svc.settings.hosting.reports_mail_domain
            )]
        }
        None => Vec::new(),
    };
    let files = collect_files(&args.paths)?;
    let progress = std::io::stderr().is_terminal() && files.len() > 20;
    let (mut imported, mut duplicate, mut rejected) = (0usize, 0usize, 0usize);
    let started = std::time::Instant::now();
    let mut failed = None;
    // Files are read, parsed and stored in batches: one database transaction per batch.
    // Several batches in flight: PostgreSQL commits them in parallel; on SQLite the writes
    // queue while the next batch is read and parsed. Results are printed in input order.
    let batches = files.chunks(IMPORT_BATCH).map(|chunk| {
        let rcpt_to = rcpt_to.clone();
        async move { import_batch(svc, chunk, org_hint, rcpt_to).await }
    });
    let mut batches = futures::stream::iter(batches).buffered(BATCHES_IN_FLIGHT);
    let mut n = 0;
    while let Some((early, results, error)) = batches.next().await {
        if let Some(e) = error {
            failed = Some(e);
        }
        let chunk_len = early.len() + results.len();
        n += 1;
        for result in early.into_iter().chain(results) {
            match result.status {
                "imported" => imported += 1,
                "duplicate" => duplicate += 1,
                _ => rejected += 1,
            }
            emit(args.json, &result);
        }
        if progress {
            eprint!(
                "\r[{}/{}] imported {imported}, duplicate {duplicate}, rejected {rejected}",
                ((n - 1) * IMPORT_BATCH + chunk_len).min(files.len()),
                files.len()
            );
            let _ = std::io::stderr().flush();
        }
    }
    if progress {
        eprintln!();
    }
    eprintln!(
        "{} file(s) in {:.1} s: imported {imported}, duplicate {duplicate}, rejected {rejected}",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    match failed {
        Some(e) => anyhow::bail!("some inputs could not be stored ({e}); run the import again"),
        None => Ok(()),
    }
}

fn emit(json: bool, r: &FileResult) {
    if json {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
    } else {
        match r.status {
            "rejected" => println!("{}: rejected: {}", r.file, r.error.as_deref().unwrap_or("")),
            status => {
                println!("{}: {status}", r.file);
                for s in &r.reports {
                    println!(
                        "  {} from {} about {}: {} ok, {} failed, {} failure detail(s){}",
                        s.report_id,
                        s.organization_name,
                        s.policy_domain,
                        s.total_successful_session_count,
                        s.total_failure_session_count,
                        s.failure_details,
                        if s.duplicate { " (already received)" } else { "" }
                    );
                }
                if let Some(e) = &r.error {
                    println!("  note: {e}");
                }
            }
        }
    }
}

/// `moat reparse`.
pub async fn reparse(svc: &Services, args: ReparseArgs) -> anyhow::Result<()> {
    let statuses: &[&str] = if args.all {
        &[]
    } else {
        &["rejected", "unattributed", "pending"]
    };
    let results = svc.reparse(statuses, args.id).await.map_err(|e| match e {
        moat_services::Error::NotFound => anyhow::anyhow!("no stored report message with that id"),
        e => print_error(e),
    })?;
    for (id, outcome) in &results {
        let r = file_result(format!("#{id}"), outcome);
        // A re-parse of a message whose reports are stored finds them as its own: report it
        // as parsed, not duplicate.
        let r = FileResult {
            status: if r.status == "duplicate" {
                "parsed"
            } else {
                r.status
            },
            ..r
        };
        if args.json {
            println!(
                "{}",
                serde_json::json!({"id": id, "status": r.status, "reports": r.reports, "error": r.error})
            );
        } else {
            emit(false, &r);
        }
    }
    eprintln!("re-parsed {} message(s)", results.len());
    Ok(())
}

fn day(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| d.date().to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// `moat reports`.
pub async fn reports(svc: &Services, cmd: ReportsCommand) -> anyhow::Result<()> {
    match cmd {
        ReportsCommand::List {
            org,
            domain,
            limit,
            json,
        } => {
            let scope = org_scope(svc, &org, Action::Read).await?;
            let list = intake::list(svc, &scope, domain.as_deref(), limit)
                .await
                .map_err(print_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no reports yet");
            } else {
                println!(
                    "{:>6}  {:<10}  {:<24}  {:>8}  {:>8}  {:<6}  REPORT-ID",
                    "ID", "DAY", "DOMAIN", "OK", "FAILED", "VIA"
                );
                for r in list {
                    println!(
                        "{:>6}  {:<10}  {:<24}  {:>8}  {:>8}  {:<6}  {} ({}){}",
                        r.id,
                        day(r.start_at),
                        r.display_domain,
                        r.total_successful_session_count,
                        r.total_failure_session_count,
                        r.channel,
                        r.report_id,
                        r.organization_name,
                        if r.warnings.is_empty() {
                            String::new()
                        } else {
                            format!(" [{} warning(s)]", r.warnings.len())
                        }
                    );
                }
            }
        }
        ReportsCommand::Show { id, org, json } => {
            let scope = org_scope(svc, &org, Action::Read).await?;
            let d = intake::detail(svc, &scope, id).await.map_err(|e| match e {
                moat_services::Error::NotFound => anyhow::anyhow!("no report {id} in this organization"),
                e => print_error(e),
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                let r = &d.report;
                println!(
                    "{} from {} ({})",
                    r.report_id,
                    r.organization_name,
                    r.contact_info.as_deref().unwrap_or("-")
                );
                println!(
                    "  {} to {}, about {}: {} ok, {} failed",
                    day(r.start_at),
                    day(r.end_at),
                    r.policy_domain,
                    r.total_successful_session_count,
                    r.total_failure_session_count
                );
                for p in &d.policies {
                    println!(
                        "  policy {} {}: {} ok, {} failed",
                        p.policy_type,
                        p.policy_domain.as_deref().unwrap_or("-"),
                        p.total_successful_session_count,
                        p.total_failure_session_count
                    );
                    for f in &p.failure_details {
                        println!(
                            "    {} x{} mx={} ip={} from={} {}",
                            f.result_type,
                            f.failed_session_count,
                            f.receiving_mx_hostname.as_deref().unwrap_or("-"),
                            f.receiving_ip.as_deref().unwrap_or("-"),
                            f.sending_mta_ip.as_deref().unwrap_or("-"),
                            f.additional_information.as_deref().unwrap_or("")
                        );
                    }
                }
                for w in &r.warnings {
                    println!("  warning {}: {}", w.code, w.message);
                }
                println!(
                    "  received by {} at {} ({} bytes, {} deliver{})",
                    d.raw.channel,
                    day(d.raw.received_at),
                    d.raw.size,
                    d.raw.deliveries,
                    if d.raw.deliveries == 1 { "y" } else { "ies" }
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_is_split_into_messages() {
        let mbox = b"From a@b Mon Jan 1\nSubject: one\n\nbody1\nFrom c@d Tue Jan 2\nSubject: two\n\nbody2\n";
        let msgs = split_mbox(mbox).unwrap();
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].starts_with(b"Subject: one"));
        assert!(msgs[1].starts_with(b"Subject: two"));
        assert_eq!(split_mbox(b"Subject: x\n\nbody"), None);
    }

    #[test]
    fn folders_are_walked_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.json"), "{}").unwrap();
        std::fs::write(dir.path().join("sub/a.json"), "{}").unwrap();
        std::fs::write(dir.path().join(".hidden"), "{}").unwrap();
        let files = collect_files(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["b.json", "sub/a.json"]);
        assert!(collect_files(&[PathBuf::from("/nonexistent-moat")]).is_err());
    }
}
