//! TLS report intake (RFC 8460): what the SMTP listener, the HTTPS endpoint and
//! `moat import` all call.
//!
//! Every message is stored raw (gzip-compressed, with its envelope) and committed before it
//! is parsed; only then does a sender get its 250/201. Parsing runs off the async executor,
//! is lenient (every tolerated quirk becomes a warning on the report) and never loses the
//! input: a message that cannot be parsed or attributed stays stored, flagged, and can be
//! parsed again (`moat reparse`) once the parser or the domain list changes.
//!
//! Attribution: a report sent to `tlsrpt+D@<reports domain>` belongs to the organization
//! that has D; its `policy-domain` is cross-checked (a mismatch is a warning). Without a
//! per-domain address (HTTPS, import), the `policy-domain` decides.

use crate::{Error, Result, Services};
use moat_domain::{
    hosting::{DomainKind, DomainName},
    views::{
        DomainId, FailureDetailView, OrgId, PolicyComparison, PolicyResultView, RawReportView, ReportDetail,
        ReportView, ReportWarningView, ResultExplanation,
    },
};
use moat_store::{
    domains::DomainRow,
    reports::{
        self as store, NewFailure, NewPolicyResult, NewRaw, NewReport, RawInserted, RawOutcome, Stored,
    },
};
use moat_tlsrpt::{Limits, ParseHint, Report, Warning, WarningCode};
use sha2::{Digest, Sha256};
use std::{collections::HashMap, io::Write, sync::Arc};

/// Largest message or POST body accepted, bytes (SMTP `SIZE`, HTTP body limit).
pub const MAX_MESSAGE_BYTES: usize = 10 << 20;

/// Decompression caps for reports (output size and zip entries).
pub fn limits() -> Limits {
    Limits {
        max_output_bytes: 32 << 20,
        max_zip_entries: 16,
    }
}

/// How a report reached Moat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The receive-only SMTP listener.
    Smtp,
    /// `POST /v1/tlsrpt`.
    Https,
    /// `moat import`.
    Import,
}

impl Channel {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Smtp => "smtp",
            Channel::Https => "https",
            Channel::Import => "import",
        }
    }
}

/// A message or POST body as received, with its envelope.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// How it arrived.
    pub channel: Channel,
    /// Peer address (`ip:port`).
    pub peer: Option<String>,
    /// SMTP HELO name.
    pub helo: Option<String>,
    /// SMTP envelope sender.
    pub mail_from: Option<String>,
    /// SMTP envelope recipients (already checked with [`Services::report_recipient`]).
    pub rcpt_to: Vec<String>,
    /// Arrived over TLS.
    pub tls: bool,
    /// HTTP Content-Type.
    pub content_type: Option<String>,
    /// The imported file's name.
    pub file_name: Option<String>,
    /// `moat import --org`: reports for domains nobody has yet add them to this
    /// organization as reporting-only.
    pub org_hint: Option<OrgId>,
    /// The bytes.
    pub bytes: Arc<Vec<u8>>,
}

impl Incoming {
    /// The row that stores it raw; `rcpt` is [`Incoming::rcpt_to`] joined by newlines.
    fn to_raw<'a>(
        &'a self,
        received_at: i64,
        rcpt: &'a str,
        sha256: &'a str,
        body_gz: &'a [u8],
    ) -> NewRaw<'a> {
        NewRaw {
            received_at,
            channel: self.channel.as_str(),
            peer: self.peer.as_deref(),
            helo: self.helo.as_deref(),
            mail_from: self.mail_from.as_deref(),
            rcpt_to: (!rcpt.is_empty()).then_some(rcpt),
            tls: self.tls,
            content_type: self.content_type.as_deref(),
            file_name: self.file_name.as_deref(),
            org_hint: self.org_hint,
            size: i64::try_from(self.bytes.len()).unwrap_or(i64::MAX),
            sha256,
            body_gz,
        }
    }

    /// A message of `channel` with nothing but its bytes.
    pub fn new(channel: Channel, bytes: Vec<u8>) -> Self {
        Self {
            channel,
            peer: None,
            helo: None,
            mail_from: None,
            rcpt_to: Vec::new(),
            tls: false,
            content_type: None,
            file_name: None,
            org_hint: None,
            bytes: Arc::new(bytes),
        }
    }
}

/// One report of a message, as `moat import --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReportSummary {
    /// `report-id`.
    pub report_id: String,
    /// `organization-name`.
    pub organization_name: String,
    /// The policy domain it was filed under.
    pub policy_domain: String,
    /// Successful sessions.
    pub total_successful_session_count: u64,
    /// Failed sessions.
    pub total_failure_session_count: u64,
    /// Number of failure details.
    pub failure_details: usize,
    /// Whether it had been received before (counted, not stored again).
    pub duplicate: bool,
}

/// What became of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Parsed and stored (some or all reports may be duplicates).
    Stored {
        /// The reports.
        reports: Vec<ReportSummary>,
        /// Reports that could not be attributed, with the reason.
        unattributed: Vec<String>,
    },
    /// Not an acceptable report; kept and flagged.
    Rejected(String),
    /// A report, but for no domain Moat has; kept and flagged.
    Unattributed(String),
    /// These exact bytes were received before; nothing new.
    Repeated {
        /// The first delivery's status.
        status: String,
        /// Its error.
        error: Option<String>,
    },
    /// Stored raw, but the database failed while parsing it; the background sweep will
    /// finish the job.
    Deferred,
}

impl Outcome {
    /// Whether every report in it had been received before.
    pub fn is_duplicate(&self) -> bool {
        match self {
            Outcome::Stored { reports, .. } => !reports.is_empty() && reports.iter().all(|r| r.duplicate),
            Outcome::Repeated { .. } => true,
            _ => false,
        }
    }
}

/// The result of [`Services::receive_report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The raw message's id.
    pub raw_id: i64,
    /// What became of it.
    pub outcome: Outcome,
}

/// Verdict on an SMTP recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A report address: the generic one (`None`) or a domain's.
    Accept(Option<DomainName>),
    /// Not an address of ours (no relaying).
    NotOurs,
    /// Our report address for a domain Moat does not have.
    UnknownDomain(String),
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The domain of a per-domain report address `tlsrpt+<domain>@<reports domain>`, `Some(None)`
/// for the generic `tlsrpt@` / `postmaster@`, `None` for anything else.
pub fn parse_report_address(address: &str, reports_mail_domain: &str) -> Option<Option<String>> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = address.rsplit_once('@')?;
    if !domain
        .trim_end_matches('.')
        .eq_ignore_ascii_case(reports_mail_domain)
    {
        return None;
    }
    let local = local.to_ascii_lowercase();
    if local == "tlsrpt" || local == "postmaster" {
        return Some(None);
    }
    let d = local.strip_prefix("tlsrpt+")?;
    (!d.is_empty()).then(|| Some(d.to_owned()))
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3 + 64),
        flate2::Compression::fast(),
    );
    enc.write_all(bytes)?;
    enc.finish()
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(4 * MAX_MESSAGE_BYTES as u64)
        .read_to_end(&mut out)?;
    Ok(out)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(anyhow::anyhow!("{e}"))
}

/// Parses on a blocking thread; a panic (there should be none) becomes a rejection.
async fn parse_blocking(
    bytes: Arc<Vec<u8>>,
    channel: Channel,
    hint: Option<String>,
) -> Result<Vec<Report<'static>>, String> {
    tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(|| parse_sync(&bytes, channel, hint.as_deref()))
            .unwrap_or_else(|_| Err(PARSER_BUG.into()))
    })
    .await
    .unwrap_or_else(|_| Err(PARSER_BUG.into()))
}

/// SHA-256 of the report without the parser's warnings: two deliveries of the same report
/// hash the same even if one carried hints the other lacked.
fn payload_hash(report: &Report<'_>) -> String {
    let mut bare = report.clone();
    bare.warnings.clear();
    let json = serde_json::to_vec(&bare).unwrap_or_default();
    hex_string(&Sha256::digest(&json))
}

fn hex_string(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The largest session count stored for a report, a policy or a failure detail.
pub const MAX_STORED_COUNT: i64 = 1_000_000_000_000;

fn to_new_report(
    report: &Report<'_>,
    org: OrgId,
    domain: DomainId,
    policy_domain: &str,
    extra: Option<Warning>,
) -> NewReport {
    let payload_sha256 = payload_hash(report);
    let mut warnings: Vec<ReportWarningView> = report
        .warnings
        .iter()
        .chain(extra.iter())
        .map(|w| ReportWarningView {
            code: w.code.as_str().to_owned(),
            message: w.message.clone(),
        })
        .collect();
    warnings.dedup();
    // Counts above MAX_STORED_COUNT are stored as that, so sums over millions of reports stay
    // far from i64's limit (no real sender reports 10^12 sessions for one domain and day).
    let capped = std::cell::Cell::new(false);
    let clamp = |n: u64| {
        if n > MAX_STORED_COUNT as u64 {
            capped.set(true);
            MAX_STORED_COUNT
        } else {
            n as i64
        }
    };
    let mut new = NewReport {
        org_id: org,
        domain_id: domain,
        report_id: report.report_id.to_string(),
        dedupe_key: if report.report_id.trim().is_empty() {
            format!("sha256:{payload_sha256}")
        } else {
            report.report_id.to_string()
        },
        organization_name: report.organization_name.to_string(),
        contact_info: report.contact_info.as_deref().map(str::to_owned),
        policy_domain: policy_domain.to_owned(),
        start_at: report.date_range.start,
        end_at: report.date_range.end,
        success_count: clamp(report.total_successful_sessions()),
        // As the rollups count them, so lists, the overview and dashboards agree.
        failure_count: clamp(report.counted_failure_sessions()),
        warnings_json: serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".into()),
        payload_sha256,
        tallies: report.tallies().into_iter().map(|(k, n)| (k, clamp(n))).collect(),
        policies: report
            .policies
            .iter()
            .map(|p| NewPolicyResult {
                policy_type: p.policy.policy_type.as_str().to_owned(),
                policy_domain: p.policy.policy_domain.as_deref().map(str::to_owned),
                policy_string_json: serde_json::to_string(&p.policy.policy_string)
                    .unwrap_or_else(|_| "[]".into()),
                mx_host_json: serde_json::to_string(&p.policy.mx_host).unwrap_or_else(|_| "[]".into()),
                success_count: clamp(p.summary.total_successful_session_count),
                failure_count: clamp(p.summary.total_failure_session_count),
                failures: p
                    .failure_details
                    .iter()
                    .map(|d| NewFailure {
                        result_type: d.result_type.as_str().to_owned(),
                        sending_mta_ip: d
                            .sending_mta_ip
                            .map(|ip| ip.to_string())
                            .or_else(|| d.sending_mta_ip_raw.as_deref().map(str::to_owned)),
                        receiving_mx_hostname: d.receiving_mx_hostname.as_deref().map(str::to_owned),
                        receiving_mx_helo: d.receiving_mx_helo.as_deref().map(str::to_owned),
                        receiving_ip: d
                            .receiving_ip
                            .map(|ip| ip.to_string())
                            .or_else(|| d.receiving_ip_raw.as_deref().map(str::to_owned)),
                        failed_session_count: clamp(d.failed_session_count),
                        additional_information: d.additional_information.as_deref().map(str::to_owned),
                        failure_reason_code: d.failure_reason_code.as_deref().map(str::to_owned),
                    })
                    .collect(),
            })
            .collect(),
    };
    if capped.get() {
        warnings.push(ReportWarningView {
            code: "count-capped".into(),
            message: format!("a session count above {MAX_STORED_COUNT} was stored as {MAX_STORED_COUNT}"),
        });
        new.warnings_json = serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".into());
    }
    new
}

/// The reports of one message, filed.
#[derive(Debug, Default)]
struct Attributed {
    reports: Vec<NewReport>,
    summaries: Vec<ReportSummary>,
    unattributed: Vec<String>,
    org: Option<OrgId>,
}

const PARSER_BUG: &str = "the parser failed on this input (a bug in Moat; the message is kept)";

/// Parses one message's bytes as they arrived on `channel`.
fn parse_sync(bytes: &[u8], channel: Channel, hint: Option<&str>) -> Result<Vec<Report<'static>>, String> {
    let limits = limits();
    let result = match channel {
        Channel::Smtp => moat_tlsrpt::parse_message(bytes, &limits, hint),
        Channel::Https | Channel::Import => moat_tlsrpt::parse_any(
            bytes,
            &limits,
            &ParseHint {
                policy_domain: hint.map(str::to_owned),
            },
        ),
    };
    match result {
        Ok(r) if r.is_empty() => Err("no report in the message".into()),
        Ok(r) => Ok(r.into_iter().map(Report::into_owned).collect()),
        Err(e) => Err(e.to_string()),
    }
}

/// Domains looked up by name while filing the reports of one message or one batch (which
/// name the same few domains over and over): one query per name instead of per report.
#[derive(Debug, Default)]
struct DomainLookups(HashMap<String, Option<DomainRow>>);

impl DomainLookups {
    /// [`moat_store::domains::get_any_org`], remembered.
    async fn get_any_org(&mut self, db: &moat_store::Db, name: &str) -> Result<Option<DomainRow>> {
        if let Some(row) = self.0.get(name) {
            return Ok(row.clone());
        }
        let row = moat_store::domains::get_any_org(db, name).await?;
        self.0.insert(name.to_owned(), row.clone());
        Ok(row)
    }

    /// Forgets `name` (about to be added).
    fn forget(&mut self, name: &str) {
        self.0.remove(name);
    }
}

/// Where one report goes.
enum Target {
    Domain {
        org: OrgId,
        domain: DomainId,
        name: String,
        warning: Option<Warning>,
    },
    Nowhere(String),
}

impl Services {
    /// Whether SMTP mail for `address` is accepted: report addresses of Moat's report mail
    /// domain only, and per-domain addresses only for domains Moat has.
    pub async fn report_recipient(&self, address: &str) -> Result<Recipient> {
        let Some(domain) = parse_report_address(address, &self.settings.hosting.reports_mail_domain) else {
            return Ok(Recipient::NotOurs);
        };
        let Some(domain) = domain else {
            return Ok(Recipient::Accept(None));
        };
        let Ok(name) = DomainName::parse(&domain) else {
            return Ok(Recipient::UnknownDomain(domain));
        };
        match moat_store::domains::get_any_org(&self.db, name.as_str()).await? {
            Some(_) => Ok(Recipient::Accept(Some(name))),
            None => Ok(Recipient::UnknownDomain(name.as_str().to_owned())),
        }
    }

    /// Stores a received message durably, then parses and files its reports.
    ///
    /// An `Err` means the message is **not** stored (the sender must retry: SMTP 451, HTTP
    /// 503). Any `Ok` means it is committed, whatever the parser made of it.
    pub async fn receive_report(&self, incoming: Incoming) -> Result<Receipt> {
        let bytes = incoming.bytes.clone();
        let (sha, body_gz) = tokio::task::spawn_blocking(move || {
            let sha = hex_string(&Sha256::digest(bytes.as_slice()));
            gzip(&bytes).map(|gz| (sha, gz))
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        let rcpt = incoming.rcpt_to.join("\n");
        let inserted = store::insert_raw(&self.db, &incoming.to_raw(now(), &rcpt, &sha, &body_gz))
            .await
            // Whatever went wrong, nothing is stored: the sender must retry.
            .map_err(|e| Error::Unavailable(anyhow::Error::new(e)))?;
        metrics::counter!("moat_reports_received_total", "channel" => incoming.channel.as_str()).increment(1);
        let raw_id = match inserted {
            RawInserted::New(id) => id,
            // Received before but not usable then: try again with this delivery's envelope
            // (e.g. an import that now names the domain or the organization).
            RawInserted::Again { id, status }
                if matches!(status.as_str(), "rejected" | "unattributed")
                    && (!incoming.rcpt_to.is_empty() || incoming.org_hint.is_some()) =>
            {
                store::set_raw_envelope(
                    &self.db,
                    id,
                    (!rcpt.is_empty()).then_some(rcpt.as_str()),
                    incoming.org_hint,
                )
                .await?;
                id
            }
            RawInserted::Again { id, status } if status != "pending" => {
                // A sender retrying the very same message: count it on its reports.
                store::count_redelivery(&self.db, id).await?;
                let error = store::raw(&self.db, id)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|(r, _)| r.error);
                return Ok(Receipt {
                    raw_id: id,
                    outcome: Outcome::Repeated { status, error },
                });
            }
            RawInserted::Again { id, .. } => id,
        };
        let outcome = match self.process(raw_id, &incoming).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(raw_id, error = %e, "report stored raw, parsing deferred");
                Outcome::Deferred
            }
        };
        Ok(Receipt { raw_id, outcome })
    }

    /// Parses raw message `raw_id` (whose bytes and envelope are in `incoming`) and files
    /// its reports, replacing whatever an earlier parse of it produced.
    async fn process(&self, raw_id: i64, incoming: &Incoming) -> Result<Outcome> {
        let recipient_domain = self.recipient_domain(incoming);
        let hint = recipient_domain.as_ref().map(|d| d.as_str().to_owned());
        let t = now();
        let reports = match parse_blocking(incoming.bytes.clone(), incoming.channel, hint).await {
            Ok(r) => r,
            Err(reason) => {
                metrics::counter!("moat_reports_rejected_total").increment(1);
                store::store_reports(
                    &self.db,
                    raw_id,
                    t,
                    &[],
                    &RawOutcome {
                        status: "rejected",
                        error: Some(&reason),
                        org_id: None,
                    },
                )
                .await?;
                return Ok(Outcome::Rejected(reason));
            }
        };

        let Attributed {
            reports: new_reports,
            mut summaries,
            unattributed,
            org: org_of_raw,
        } = self
            .attribute(
                &mut DomainLookups::default(),
                &reports,
                recipient_domain.as_ref(),
                incoming.org_hint,
            )
            .await?;
        let error = unattributed.join("; ");
        if new_reports.is_empty() {
            store::store_reports(
                &self.db,
                raw_id,
                t,
                &[],
                &RawOutcome {
                    status: "unattributed",
                    error: Some(&error),
                    org_id: None,
                },
            )
            .await?;
            return Ok(Outcome::Unattributed(error));
        }
        // Status first assumes new reports; corrected below if all were duplicates.
        let stored = store::store_reports(
            &self.db,
            raw_id,
            t,
            &new_reports,
            &RawOutcome {
                status: "parsed",
                error: (!error.is_empty()).then_some(error.as_str()),
                org_id: org_of_raw,
            },
        )
        .await?;
        for (s, st) in summaries.iter_mut().zip(&stored) {
            s.duplicate = matches!(st, Stored::Duplicate(_));
        }
        if stored.iter().all(|s| matches!(s, Stored::Duplicate(_))) {
            store::set_raw_status(&self.db, raw_id, "duplicate").await?;
        }
        let dup = stored
            .iter()
            .filter(|s| matches!(s, Stored::Duplicate(_)))
            .count();
        metrics::counter!("moat_reports_stored_total").increment((stored.len() - dup) as u64);
        metrics::counter!("moat_reports_duplicate_total").increment(dup as u64);
        Ok(Outcome::Stored {
            reports: summaries,
            unattributed,
        })
    }

    /// The domain of the first per-domain report address among the recipients.
    fn recipient_domain(&self, incoming: &Incoming) -> Option<DomainName> {
        incoming.rcpt_to.iter().find_map(|r| {
            parse_report_address(r, &self.settings.hosting.reports_mail_domain)
                .flatten()
                .and_then(|d| DomainName::parse(&d).ok())
        })
    }

    /// Files every report of one message: the rows to store and what to tell the sender.
    async fn attribute(
        &self,
        lookups: &mut DomainLookups,
        reports: &[Report<'_>],
        recipient: Option<&DomainName>,
        org_hint: Option<OrgId>,
    ) -> Result<Attributed> {
        let mut out = Attributed::default();
        for report in reports {
            match self.target(lookups, report, recipient, org_hint).await? {
                Target::Domain {
                    org,
                    domain,
                    name,
                    warning,
                } => {
                    out.org.get_or_insert(org);
                    out.summaries.push(ReportSummary {
                        report_id: report.report_id.to_string(),
                        organization_name: report.organization_name.to_string(),
                        policy_domain: name.clone(),
                        total_successful_session_count: report.total_successful_sessions(),
                        total_failure_session_count: report.total_failure_sessions(),
                        failure_details: report.policies.iter().map(|p| p.failure_details.len()).sum(),
                        duplicate: false,
                    });
                    out.reports
                        .push(to_new_report(report, org, domain, &name, warning));
                }
                Target::Nowhere(reason) => out.unattributed.push(reason),
            }
        }
        Ok(out)
    }

    /// Stores and files many messages at once (bulk import): every message is parsed
    /// first, then all are written in one transaction — raw message first, then its reports,
    /// as [`Services::receive_report`] does one by one. An `Err` means none is stored.
    pub async fn receive_batch(&self, items: Vec<Incoming>) -> Result<Vec<Receipt>> {
        let hints: Vec<Option<DomainName>> = items.iter().map(|i| self.recipient_domain(i)).collect();
        let work: Vec<(Arc<Vec<u8>>, Channel, Option<String>)> = items
            .iter()
            .zip(&hints)
            .map(|(i, h)| {
                (
                    i.bytes.clone(),
                    i.channel,
                    h.as_ref().map(|d| d.as_str().to_owned()),
                )
            })
            .collect();
        let prepared = tokio::task::spawn_blocking(move || {
            work.into_iter()
                .map(|(bytes, channel, hint)| {
                    let sha = hex_string(&Sha256::digest(bytes.as_slice()));
                    let gz = gzip(&bytes)?;
                    let parsed = std::panic::catch_unwind(|| parse_sync(&bytes, channel, hint.as_deref()))
                        .unwrap_or_else(|_| Err(PARSER_BUG.into()));
                    Ok((sha, gz, parsed))
                })
                .collect::<std::io::Result<Vec<_>>>()
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;

        let t = now();
        let mut filed = Vec::with_capacity(items.len());
        let mut lookups = DomainLookups::default();
        for ((incoming, hint), (_, _, parsed)) in items.iter().zip(&hints).zip(&prepared) {
            filed.push(match parsed {
                Ok(reports) => Ok(self
                    .attribute(&mut lookups, reports, hint.as_ref(), incoming.org_hint)
                    .await?),
                Err(reason) => Err(reason.clone()),
            });
        }
        let rcpts: Vec<String> = items.iter().map(|i| i.rcpt_to.join("\n")).collect();
        let batch: Vec<store::BatchItem<'_>> = items
            .iter()
            .zip(&prepared)
            .zip(&filed)
            .zip(&rcpts)
            .map(|(((incoming, (sha, gz, _)), filed), rcpt)| {
                let raw = incoming.to_raw(t, rcpt, sha, gz);
                match filed {
                    Err(reason) => store::BatchItem {
                        raw,
                        reports: Vec::new(),
                        status: "rejected",
                        error: Some(reason.clone()),
                        org_id: None,
                    },
                    Ok(a) if a.reports.is_empty() => store::BatchItem {
                        raw,
                        reports: Vec::new(),
                        status: "unattributed",
                        error: Some(a.unattributed.join("; ")),
                        org_id: None,
                    },
                    Ok(a) => store::BatchItem {
                        raw,
                        reports: a.reports.clone(),
                        status: "parsed",
                        error: (!a.unattributed.is_empty()).then(|| a.unattributed.join("; ")),
                        org_id: a.org,
                    },
                }
            })
            .collect();
        let stored = store::ingest_batch(&self.db, t, &batch)
            .await
            .map_err(|e| Error::Unavailable(anyhow::Error::new(e)))?;
        metrics::counter!("moat_reports_received_total", "channel" => "import").increment(items.len() as u64);

        let mut receipts = Vec::with_capacity(items.len());
        for ((incoming, st), filed) in items.iter().zip(stored).zip(filed) {
            let receipt = match st.raw {
                // Stored before but unusable then, and this import says more: file it anew.
                RawInserted::Again { status, .. }
                    if matches!(status.as_str(), "rejected" | "unattributed")
                        && (!incoming.rcpt_to.is_empty() || incoming.org_hint.is_some()) =>
                {
                    self.receive_report(incoming.clone()).await?
                }
                RawInserted::Again { id, status } => Receipt {
                    raw_id: id,
                    outcome: Outcome::Repeated {
                        status,
                        error: st.raw_error,
                    },
                },
                RawInserted::New(id) => Receipt {
                    raw_id: id,
                    outcome: match filed {
                        Err(reason) => Outcome::Rejected(reason),
                        Ok(a) if a.reports.is_empty() => Outcome::Unattributed(a.unattributed.join("; ")),
                        Ok(mut a) => {
                            for (s, r) in a.summaries.iter_mut().zip(&st.reports) {
                                s.duplicate = matches!(r, Stored::Duplicate(_));
                            }
                            Outcome::Stored {
                                reports: a.summaries,
                                unattributed: a.unattributed,
                            }
                        }
                    },
                },
            };
            receipts.push(receipt);
        }
        Ok(receipts)
    }

    /// Decides which organization and domain a report is filed under.
    async fn target(
        &self,
        lookups: &mut DomainLookups,
        report: &Report<'_>,
        recipient: Option<&DomainName>,
        org_hint: Option<OrgId>,
    ) -> Result<Target> {
        let claimed = report
            .policy_domains()
            .into_iter()
            .find_map(|d| DomainName::parse(&d).ok());
        if let Some(rcpt) = recipient {
            let Some(row) = lookups.get_any_org(&self.db, rcpt.as_str()).await? else {
                return Ok(Target::Nowhere(format!(
                    "{} is not a domain Moat has (any more)",
                    rcpt.unicode()
                )));
            };
            if let Some(claimed) = &claimed
                && claimed != rcpt
            {
                // Filed under the claimed domain if the same organization has it.
                if let Some(other) = moat_store::domains::get(&self.db, row.org_id, claimed.as_str()).await? {
                    return Ok(Target::Domain {
                        org: other.org_id,
                        domain: other.id,
                        name: other.name,
                        warning: None,
                    });
                }
                return Ok(Target::Domain {
                    org: row.org_id,
                    domain: row.id,
                    name: row.name,
                    warning: Some(Warning::new(
                        WarningCode::PolicyDomainMismatch,
                        format!(
                            "the report is about {} but was sent to the report address of {}; filed under {}",
                            claimed.unicode(),
                            rcpt.unicode(),
                            rcpt.unicode()
                        ),
                    )),
                });
            }
            return Ok(Target::Domain {
                org: row.org_id,
                domain: row.id,
                name: row.name,
                warning: None,
            });
        }
        let Some(claimed) = claimed else {
            return Ok(Target::Nowhere(
                "the report names no policy-domain and arrived without a per-domain address".into(),
            ));
        };
        match lookups.get_any_org(&self.db, claimed.as_str()).await? {
            Some(row) if org_hint.is_none_or(|o| o == row.org_id) => Ok(Target::Domain {
                org: row.org_id,
                domain: row.id,
                name: row.name,
                warning: None,
            }),
            Some(_) => Ok(Target::Nowhere(format!(
                "{} belongs to another organization",
                claimed.unicode()
            ))),
            None => match org_hint {
                Some(org) => {
                    // Looked up again next time, whatever happens here.
                    lookups.forget(claimed.as_str());
                    let id = match moat_store::domains::insert(
                        &self.db,
                        org,
                        claimed.as_str(),
                        DomainKind::ReportingOnly.as_str(),
                        now(),
                        None,
                    )
                    .await
                    {
                        Ok(id) => {
                            moat_store::audit::record(
                                &self.db,
                                Some(org),
                                "cli",
                                "domain.added",
                                &format!(
                                    "added {} (TLS reporting only) from an imported report",
                                    claimed.unicode()
                                ),
                                now(),
                            )
                            .await?;
                            id
                        }
                        // Added concurrently by another import of the same batch.
                        Err(moat_store::StoreError::Conflict) => {
                            match moat_store::domains::get(&self.db, org, claimed.as_str()).await? {
                                Some(row) => row.id,
                                None => {
                                    return Ok(Target::Nowhere(format!(
                                        "{} belongs to another organization",
                                        claimed.unicode()
                                    )));
                                }
                            }
                        }
                        Err(e) => return Err(e.into()),
                    };
                    Ok(Target::Domain {
                        org,
                        domain: id,
                        name: claimed.as_str().to_owned(),
                        warning: None,
                    })
                }
                None => Ok(Target::Nowhere(format!(
                    "no organization has the domain {} (add it, or import with --org)",
                    claimed.unicode()
                ))),
            },
        }
    }

    /// Parses stored raw messages again (after a parser upgrade or once their domain was
    /// added): those with one of `statuses` (every one when empty), or just `only`.
    /// Returns (raw id, outcome) per message.
    pub async fn reparse(&self, statuses: &[&str], only: Option<i64>) -> Result<Vec<(i64, Outcome)>> {
        let mut out = Vec::new();
        let ids = match only {
            Some(id) => vec![id],
            None => {
                let mut all = Vec::new();
                let mut after = 0;
                loop {
                    let batch = store::raw_ids(&self.db, statuses, after, 1000).await?;
                    let Some(&last) = batch.last() else { break };
                    after = last;
                    all.extend(batch);
                }
                all
            }
        };
        for id in ids {
            let Some((row, body_gz)) = store::raw(&self.db, id).await? else {
                return Err(Error::NotFound);
            };
            let bytes = tokio::task::spawn_blocking(move || gunzip(&body_gz))
                .await
                .map_err(internal)?
                .map_err(internal)?;
            let incoming = Incoming {
                channel: match row.channel.as_str() {
                    "smtp" => Channel::Smtp,
                    "https" => Channel::Https,
                    _ => Channel::Import,
                },
                peer: row.peer,
                helo: row.helo,
                mail_from: row.mail_from,
                rcpt_to: row
                    .rcpt_to
                    .map(|r| r.lines().map(str::to_owned).collect())
                    .unwrap_or_default(),
                tls: row.tls,
                content_type: row.content_type,
                file_name: row.file_name,
                org_hint: row.org_hint,
                bytes: Arc::new(bytes),
            };
            out.push((id, self.process(id, &incoming).await?));
        }
        Ok(out)
    }

    /// Finishes raw messages whose parsing was deferred (database trouble right after they
    /// were stored) and that are older than `min_age_secs`. Returns how many it handled.
    pub async fn process_pending(&self, min_age_secs: i64) -> Result<usize> {
        let ids = store::raw_pending_before(&self.db, now() - min_age_secs, 500).await?;
        let mut n = 0;
        for id in ids {
            self.reparse(&[], Some(id)).await?;
            n += 1;
        }
        Ok(n)
    }
}

fn warnings_of(json: &str) -> Vec<ReportWarningView> {
    serde_json::from_str(json).unwrap_or_default()
}

fn report_view(r: &store::ReportRow) -> ReportView {
    ReportView {
        id: r.id,
        domain: r.domain.clone(),
        display_domain: moat_domain::hosting::to_unicode(&r.domain),
        report_id: r.report_id.clone(),
        organization_name: r.organization_name.clone(),
        contact_info: r.contact_info.clone(),
        policy_domain: r.policy_domain.clone(),
        channel: r.channel.clone(),
        start_at: r.start_at,
        end_at: r.end_at,
        received_at: r.received_at,
        total_successful_session_count: r.success_count,
        total_failure_session_count: r.failure_count,
        failure_details: r.detail_count,
        warnings: warnings_of(&r.warnings_json),
        duplicates: r.duplicates,
    }
}

/// An organization's reports (of one domain when given), newest period first.
pub async fn list(
    svc: &Services,
    scope: &crate::tenancy::OrgScope,
    domain: Option<&str>,
    limit: i64,
) -> Result<Vec<ReportView>> {
    let domain_id = match domain {
        Some(d) => {
            let name = DomainName::parse(d).map_err(|_| Error::NotFound)?;
            Some(
                moat_store::domains::get(&svc.db, scope.org_id(), name.as_str())
                    .await?
                    .ok_or(Error::NotFound)?
                    .id,
            )
        }
        None => None,
    };
    let rows = store::list(&svc.db, scope.org_id(), domain_id, limit.clamp(1, 10_000)).await?;
    Ok(rows.iter().map(report_view).collect())
}

/// `mode:` and `mx:` lines of a policy-string (lower-cased, patterns sorted).
fn mode_and_mx(lines: &[String]) -> (Option<String>, Vec<String>) {
    let mut mode = None;
    let mut mx = Vec::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "mode" => mode = Some(v.trim().to_ascii_lowercase()),
                "mx" => mx.push(v.trim().trim_end_matches('.').to_ascii_lowercase()),
                _ => {}
            }
        }
    }
    mx.sort();
    (mode, mx)
}

/// The sender's policy-string against the version Moat published by `start` (none for
/// domains whose policy Moat never hosted).
fn compare_with_served(
    history: &[moat_store::domains::PolicyRow],
    start: i64,
    policy_string_json: &str,
) -> Option<PolicyComparison> {
    if history.is_empty() {
        return None;
    }
    let lines: Vec<String> = serde_json::from_str(policy_string_json).unwrap_or_default();
    let (mode, mx) = mode_and_mx(&lines);
    let Some(v) = history
        .iter()
        .filter(|v| v.publish_at <= start)
        .max_by_key(|v| v.publish_at)
    else {
        return Some(PolicyComparison {
            matches: false,
            version: None,
            policy_id: None,
            text: "Moat had not published a policy for this domain yet when this report period began.".into(),
        });
    };
    let mut served_mx: Vec<String> =
        v.mx.lines()
            .map(|l| l.trim().to_ascii_lowercase())
            .filter(|l| !l.is_empty())
            .collect();
    served_mx.sort();
    let mut diffs = Vec::new();
    if mode.as_deref() != Some(v.mode.as_str()) {
        diffs.push(format!(
            "mode {} instead of {}",
            mode.as_deref().unwrap_or("(none)"),
            v.mode
        ));
    }
    if mx != served_mx {
        diffs.push(format!(
            "mx {} instead of {}",
            if mx.is_empty() {
                "(none)".into()
            } else {
                mx.join(", ")
            },
            served_mx.join(", ")
        ));
    }
    let text = if diffs.is_empty() {
        format!(
            "Matches version {} (id {}), which Moat served then.",
            v.version, v.policy_id
        )
    } else {
        format!(
            "Differs from version {} (id {}), which Moat served then: {}. The sender may have cached an older version (up to its max_age).",
            v.version,
            v.policy_id,
            diffs.join("; ")
        )
    };
    Some(PolicyComparison {
        matches: diffs.is_empty(),
        version: Some(v.version),
        policy_id: Some(v.policy_id.clone()),
        text,
    })
}

/// The message a report came in, as received, and the report's own JSON document (the one
/// with its report-id when the message holds several).
pub async fn report_files(
    svc: &Services,
    scope: &crate::tenancy::OrgScope,
    id: i64,
) -> Result<(String, Option<Vec<u8>>, Option<Vec<u8>>)> {
    let row = store::get(&svc.db, scope.org_id(), id)
        .await?
        .ok_or(Error::NotFound)?;
    let (raw, body_gz) = store::raw(&svc.db, row.raw_id).await?.ok_or(Error::NotFound)?;
    // A message (a zip of several reports, say) may carry reports filed under other
    // organizations too: then only this report's own document is handed out.
    let exclusive = store::raw_orgs(&svc.db, row.raw_id).await? == [scope.org_id()];
    let message = gunzip(&body_gz).map_err(|e| Error::Internal(anyhow::Error::new(e)))?;
    let docs = moat_tlsrpt::report_documents(&message, &limits()).unwrap_or_default();
    let by_id = docs.iter().find(|d| {
        !row.report_id.is_empty()
            && serde_json::from_slice::<serde_json::Value>(d)
                .ok()
                .is_some_and(|v| v.get("report-id").and_then(|r| r.as_str()) == Some(row.report_id.as_str()))
    });
    let json = match (by_id, docs.as_slice()) {
        (Some(doc), _) => Some(doc.clone()),
        // Without a report-id to match, only a message holding just this one document.
        (None, [only]) if exclusive => Some(only.clone()),
        (None, _) => None,
    };
    let ext = match moat_tlsrpt::sniff(&message) {
        moat_tlsrpt::Sniffed::Json => "json",
        moat_tlsrpt::Sniffed::Gzip => "json.gz",
        moat_tlsrpt::Sniffed::Zip => "zip",
        moat_tlsrpt::Sniffed::Other => "eml",
    };
    Ok((
        format!("tlsrpt-{}-{}.{ext}", row.domain, raw.id),
        exclusive.then_some(message),
        json,
    ))
}

/// One report with its policies, failure details and the message it came in.
pub async fn detail(svc: &Services, scope: &crate::tenancy::OrgScope, id: i64) -> Result<ReportDetail> {
    let row = store::get(&svc.db, scope.org_id(), id)
        .await?
        .ok_or(Error::NotFound)?;
    let (policies, failures) = store::parts(&svc.db, row.id).await?;
    let (raw, _) = store::raw(&svc.db, row.raw_id).await?.ok_or(Error::NotFound)?;
    let history = moat_store::domains::policies(&svc.db, row.domain_id).await?;
    let mut explanations: Vec<ResultExplanation> = Vec::new();
    for f in &failures {
        if !explanations
            .iter()
            .any(|e| e.result_type == f.failure.result_type)
        {
            let info = moat_tlsrpt::ResultType::from_wire(&f.failure.result_type).describe();
            explanations.push(ResultExplanation {
                result_type: f.failure.result_type.clone(),
                title: info.title.into(),
                meaning: info.meaning.into(),
                likely_cause: info.likely_cause.into(),
                fix: info.fix.into(),
                rfc_section: info.rfc_section.into(),
            });
        }
    }
    let policies = policies
        .into_iter()
        .map(|p| PolicyResultView {
            served: if p.policy_type == "sts" {
                compare_with_served(&history, row.start_at, &p.policy_string_json)
            } else {
                None
            },
            policy_type: p.policy_type,
            policy_domain: p.policy_domain,
            policy_string: serde_json::from_str(&p.policy_string_json).unwrap_or_default(),
            mx_host: serde_json::from_str(&p.mx_host_json).unwrap_or_default(),
            total_successful_session_count: p.success_count,
            total_failure_session_count: p.failure_count,
            failure_details: failures
                .iter()
                .filter(|f| f.policy_position == p.position)
                .map(|f| {
                    let d = &f.failure;
                    FailureDetailView {
                        meaning: {
                            let info = moat_tlsrpt::ResultType::from_wire(&d.result_type).describe();
                            format!("{}: {}", info.title, info.meaning)
                        },
                        result_type: d.result_type.clone(),
                        sending_mta_ip: d.sending_mta_ip.clone(),
                        receiving_mx_hostname: d.receiving_mx_hostname.clone(),
                        receiving_mx_helo: d.receiving_mx_helo.clone(),
                        receiving_ip: d.receiving_ip.clone(),
                        failed_session_count: d.failed_session_count,
                        additional_information: d.additional_information.as_deref().map(str::to_owned),
                        failure_reason_code: d.failure_reason_code.as_deref().map(str::to_owned),
                    }
                })
                .collect(),
        })
        .collect();
    Ok(ReportDetail {
        report: report_view(&row),
        policies,
        explanations,
        raw: RawReportView {
            id: raw.id,
            channel: raw.channel,
            received_at: raw.received_at,
            peer: raw.peer,
            mail_from: raw.mail_from,
            rcpt_to: raw
                .rcpt_to
                .map(|r| r.lines().map(str::to_owned).collect())
                .unwrap_or_default(),
            tls: raw.tls,
            size: raw.size,
            deliveries: raw.deliveries,
            status: raw.status,
            error: raw.error,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_addresses() {
        let d = "reports.moat.example";
        assert_eq!(parse_report_address("tlsrpt@reports.moat.example", d), Some(None));
        assert_eq!(
            parse_report_address("<TLSRPT@Reports.Moat.Example.>", d),
            Some(None)
        );
        assert_eq!(
            parse_report_address("postmaster@reports.moat.example", d),
            Some(None)
        );
        assert_eq!(
            parse_report_address("tlsrpt+example.com@reports.moat.example", d),
            Some(Some("example.com".into()))
        );
        assert_eq!(parse_report_address("tlsrpt+@reports.moat.example", d), None);
        assert_eq!(parse_report_address("someone@reports.moat.example", d), None);
        assert_eq!(parse_report_address("tlsrpt@example.org", d), None);
        assert_eq!(parse_report_address("tlsrpt", d), None);
    }

    #[test]
    fn gzip_round_trip() {
        let data = b"hello hello hello".repeat(100);
        assert_eq!(gunzip(&gzip(&data).unwrap()).unwrap(), data);
    }
}
