//! MX TLS probes, the enforce-readiness checklist and the policy linter: Moat connects to
//! every address of a domain's live MX hosts as a sending MTA would (moat-probe), stores what
//! it saw, and combines it with the domain's records, its policy host certificate and the
//! TLS reports of the last days into the testing → enforce checklist (RFC 8461 §5).

use crate::{
    Error, Result, Services,
    dns::Answer,
    domains, now,
    tenancy::{Actor, OrgScope, authorize},
};
use moat_domain::{
    Action,
    hosting::{DomainKind, DomainState, RecordStatus},
    mta_sts::{
        LintFinding, MxCertNames, MxPattern, MxProbeSummary, Readiness, ReadinessCode, ReadinessInput,
        ReportFailureSummary, evaluate_readiness, lint_policy, mx_unknown_finding,
    },
    views::{DomainView, MxProbeView, ReadinessView},
};
use moat_probe::{Probe, ProbeOptions};
use moat_store::{
    dashboard::{self as rollups, Slice},
    probes::{self as store, NewProbe, ProbeRow},
};
use serde::{Deserialize, Serialize};
use std::{net::IpAddr, path::PathBuf, sync::Arc};

const DAY: i64 = 86_400;

/// Probe settings (`MOAT_PROBE_*`, `MOAT_READINESS_DAYS`).
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    /// The SMTP port probed (`MOAT_PROBE_PORT`, default 25).
    pub port: u16,
    /// Whether loopback, private and other non-public addresses may be probed
    /// (`MOAT_PROBE_ALLOW_PRIVATE`; off by default).
    pub allow_private: bool,
    /// Seconds an on-demand probe of a domain waits after the last one (politeness to the
    /// customer's MX hosts, which are not ours to hammer).
    pub cooldown_secs: i64,
    /// A PEM file of extra trusted roots (`MOAT_PROBE_CA`), besides the Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// Hours between background probes of a serving domain (`MOAT_PROBE_INTERVAL`; 0 = off).
    pub interval_hours: u64,
    /// Days of TLS reports the readiness checklist reads (`MOAT_READINESS_DAYS`).
    pub readiness_days: u32,
    /// How many addresses are probed at once, over all MX hosts of a domain.
    pub concurrency: usize,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        Self {
            port: 25,
            allow_private: false,
            cooldown_secs: 30,
            ca_file: None,
            interval_hours: 24,
            readiness_days: 14,
            concurrency: 8,
        }
    }
}

/// What "probe now" did: the probes, and why some MX could not be probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// The domain's live MX hosts, by preference.
    pub live_mx: Vec<String>,
    /// One probe per address of every live MX host.
    pub probes: Vec<MxProbeView>,
    /// Why nothing (or not everything) was probed: no MX, null MX, failed lookups.
    pub notes: Vec<String>,
}

fn view(row: &ProbeRow) -> MxProbeView {
    let p = &row.probe;
    MxProbeView {
        mx_host: p.mx_host.clone(),
        addr: p.addr.clone(),
        port: u16::try_from(p.port).unwrap_or(0),
        probed_at: p.started_at,
        duration_ms: p.duration_ms,
        verdict: p.verdict.clone(),
        detail: p.detail.clone(),
        starttls_offered: p.starttls_offered,
        tls_version: p.tls_version.clone(),
        cipher: p.cipher.clone(),
        not_after: p.not_after,
        cert_names: serde_json::from_str(&p.cert_names_json).unwrap_or_default(),
    }
}

fn new_probe(p: &Probe) -> Result<NewProbe> {
    let leaf = p.tls.as_ref().and_then(|t| t.chain.first());
    let names: Vec<String> = leaf.map(|c| c.dns_names.clone()).unwrap_or_default();
    Ok(NewProbe {
        mx_host: p.mx_host.trim_end_matches('.').to_ascii_lowercase(),
        addr: p.addr.to_string(),
        port: i64::from(p.port),
        started_at: p.started_at,
        duration_ms: i64::try_from(p.duration_ms).unwrap_or(i64::MAX),
        verdict: p.verdict.as_str().to_owned(),
        detail: p.detail.clone(),
        phase_failed: p
            .phase_failed
            .map(|ph| to_json(&ph).map(|s| s.trim_matches('"').to_owned()))
            .transpose()?,
        starttls_offered: p.starttls_offered,
        tls_version: p.tls.as_ref().map(|t| t.version.clone()),
        cipher: p.tls.as_ref().map(|t| t.cipher.clone()),
        not_after: leaf.map(|c| c.not_after),
        cert_names_json: to_json(&names)?,
        probe_json: to_json(p)?,
    })
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.into()))
}

/// SMTP sessions open at once in this process, over all domains and callers (the daily
/// sweep, "probe now" buttons, the CLI): the global cap on what Moat asks of others' MX hosts.
pub const GLOBAL_PROBES: usize = 32;
static PROBE_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(GLOBAL_PROBES);

/// Probes `targets`, at most `per_domain` at once and never more than [`GLOBAL_PROBES`] in the
/// process; results in the order of `targets`.
async fn probe_targets(targets: Vec<(String, IpAddr)>, opts: &ProbeOptions, per_domain: usize) -> Vec<Probe> {
    use futures::StreamExt as _;
    let mut probes: Vec<(usize, Probe)> = futures::stream::iter(targets.into_iter().enumerate())
        .map(|(index, (host, addr))| async move {
            // The semaphore is never closed, so acquiring only waits.
            let _slot = PROBE_SLOTS.acquire().await.ok();
            (index, moat_probe::probe(&host, addr, opts).await)
        })
        .buffer_unordered(per_domain)
        .collect()
        .await;
    probes.sort_by_key(|(index, _)| *index);
    probes.into_iter().map(|(_, probe)| probe).collect()
}

/// The name Moat says EHLO with: the host of its public URL.
fn helo_name(svc: &Services) -> String {
    url::Url::parse(&svc.settings.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The probe options from the settings: port, EHLO name, and the Mozilla roots plus the
/// PEM file of extra roots, if any.
pub fn options(svc: &Services) -> Result<ProbeOptions> {
    let settings = &svc.settings.probe;
    let mut opts = ProbeOptions {
        port: settings.port,
        helo_name: helo_name(svc),
        ..ProbeOptions::default()
    };
    if let Some(path) = &settings.ca_file {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let mut roots = (*opts.roots).clone();
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| {
                Error::Internal(anyhow::anyhow!(
                    "cannot read MOAT_PROBE_CA {}: {e}",
                    path.display()
                ))
            })?;
        for c in certs {
            roots
                .add(c)
                .map_err(|e| Error::Internal(anyhow::anyhow!("MOAT_PROBE_CA {}: {e}", path.display())))?;
        }
        opts.roots = Arc::new(roots);
    }
    Ok(opts)
}

async fn find(svc: &Services, scope: &OrgScope, name: &str) -> Result<DomainView> {
    domains::get(svc, scope, name).await
}

/// The live MX hosts (null MX and empty names dropped), and a note when there are none.
pub(crate) async fn live_mx(svc: &Services, domain: &str) -> (Vec<String>, Option<String>) {
    let (live, note, _) = live_mx_checked(svc, domain).await;
    (live, note)
}

/// [`live_mx`], and whether the lookup failed (as opposed to finding no MX): callers that
/// compare MX sets over time must not mistake a failed lookup for MX hosts gone.
pub(crate) async fn live_mx_checked(svc: &Services, domain: &str) -> (Vec<String>, Option<String>, bool) {
    let (live, note) = live_mx_answer(svc, domain).await;
    let failed = matches!(note, Some((_, true)));
    (live, note.map(|(n, _)| n), failed)
}

async fn live_mx_answer(svc: &Services, domain: &str) -> (Vec<String>, Option<(String, bool)>) {
    match svc.dns.mx(domain).await {
        Answer::Found(mx) => {
            let live: Vec<String> = mx.into_iter().filter(|h| !h.is_empty()).collect();
            if live.is_empty() {
                (
                    live,
                    Some((
                        format!(
                            "{domain} publishes a null MX (RFC 7505): it accepts no mail, nothing to probe"
                        ),
                        false,
                    )),
                )
            } else {
                (live, None)
            }
        }
        Answer::Nothing => (
            Vec::new(),
            Some((format!("{domain} has no MX records: nothing to probe"), false)),
        ),
        Answer::Failed(e) => (
            Vec::new(),
            Some((format!("the MX lookup of {domain} failed: {e}"), true)),
        ),
    }
}

/// Probes every address of every live MX host of the domain now, stores the results and
/// returns them (with notes on what could not be probed).
pub async fn probe_domain(svc: &Services, scope: &OrgScope, name: &str) -> Result<ProbeReport> {
    if !scope.role().can(Action::ManageDomains) {
        return Err(Error::Forbidden);
    }
    let domain = find(svc, scope, name).await?;
    let opts = options(svc)?;
    let (live, note) = live_mx(svc, &domain.name).await;
    let mut notes: Vec<String> = note.into_iter().collect();
    let mut targets: Vec<(String, IpAddr)> = Vec::new();
    for host in &live {
        match svc.dns.addresses(host).await {
            Answer::Found(addrs) => {
                for a in addrs {
                    match a.parse::<IpAddr>() {
                        Ok(ip) if !svc.settings.probe.allow_private && !crate::net::is_public(ip) => {
                            notes.push(format!(
                                "{host}: {ip} is not a public address: not probed (a sending MTA on the internet cannot reach it either)"
                            ));
                        }
                        Ok(ip) if !targets.iter().any(|(h, t)| h == host && *t == ip) => {
                            targets.push((host.clone(), ip));
                        }
                        Ok(_) => {}
                        Err(_) => notes.push(format!("{host}: ignored the address {a:?}")),
                    }
                }
            }
            Answer::Nothing => notes.push(format!("{host} has no A or AAAA records: not probed")),
            Answer::Failed(e) => notes.push(format!("{host}: address lookup failed ({e}): not probed")),
        }
    }
    let probes = if targets.is_empty() {
        Vec::new()
    } else {
        probe_targets(targets, &opts, svc.settings.probe.concurrency.max(1)).await
    };
    let rows = probes.iter().map(new_probe).collect::<Result<Vec<_>>>()?;
    store::insert_many(&svc.db, scope.org_id(), domain.id, &rows).await?;
    let probes = rows
        .into_iter()
        .map(|probe| {
            view(&ProbeRow {
                id: 0,
                org_id: scope.org_id(),
                domain_id: domain.id,
                probe,
            })
        })
        .collect();
    Ok(ProbeReport {
        live_mx: live,
        probes,
        notes,
    })
}

/// "Probe now" from the UI: [`probe_domain`], unless the domain was probed less than
/// `cooldown_secs` ago (a button must not turn Moat into a hammer on someone's MX).
pub async fn probe_on_demand(svc: &Services, scope: &OrgScope, name: &str, now: i64) -> Result<ProbeReport> {
    let domain = find(svc, scope, name).await?;
    let last = store::latest(&svc.db, scope.org_id(), domain.id)
        .await?
        .iter()
        .map(|r| r.probe.started_at)
        .max();
    let cooldown = svc.settings.probe.cooldown_secs;
    if let Some(last) = last
        && now - last < cooldown
    {
        return Err(Error::invalid(
            "probe",
            format!(
                "the MX hosts were probed {} s ago; probe again in {} s",
                (now - last).max(0),
                cooldown - (now - last)
            ),
        ));
    }
    probe_domain(svc, scope, name).await
}

/// The latest probe of each (MX host, address) of the domain.
pub async fn latest(svc: &Services, scope: &OrgScope, name: &str) -> Result<Vec<MxProbeView>> {
    let domain = find(svc, scope, name).await?;
    Ok(store::latest(&svc.db, scope.org_id(), domain.id)
        .await?
        .iter()
        .map(view)
        .collect())
}

/// The domain's probes, newest first (at most `limit`).
pub async fn history(svc: &Services, scope: &OrgScope, name: &str, limit: i64) -> Result<Vec<MxProbeView>> {
    let domain = find(svc, scope, name).await?;
    Ok(
        store::history(&svc.db, scope.org_id(), domain.id, limit.clamp(1, 1000))
            .await?
            .iter()
            .map(view)
            .collect(),
    )
}

fn records_state(domain: &DomainView) -> (bool, String) {
    if domain.kind == DomainKind::ReportingOnly {
        return (
            false,
            "This domain is added for TLS reporting only: Moat does not host its policy.".to_owned(),
        );
    }
    let bad: Vec<String> = domain
        .records
        .iter()
        .filter(|r| r.required && !r.status.as_ref().is_some_and(RecordStatus::is_ok))
        .map(|r| {
            format!(
                "{}: {}",
                r.name,
                r.status
                    .as_ref()
                    .map_or_else(|| "not checked yet".to_owned(), RecordStatus::describe)
            )
        })
        .collect();
    match domain.state {
        DomainState::Active if bad.is_empty() => (
            true,
            "The _mta-sts TXT, TLS-RPT and policy host records point to Moat.".to_owned(),
        ),
        DomainState::Pending => (
            false,
            format!(
                "The domain is pending: Moat does not serve it until its records point to Moat{}",
                if bad.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", bad.join("; "))
                }
            ),
        ),
        _ => (
            false,
            if bad.is_empty() {
                "The last check found a delegating record broken.".to_owned()
            } else {
                bad.join("; ")
            },
        ),
    }
}

async fn certificate_state(
    svc: &Services,
    scope: &OrgScope,
    domain: &DomainView,
    t: i64,
) -> Result<(bool, String)> {
    let Some(cert) = domains::certificate(svc, scope, &domain.name).await? else {
        return Ok((
            false,
            "Moat does not host a policy host for this domain.".to_owned(),
        ));
    };
    Ok(match &cert.acme {
        Some(a) if a.not_before <= t && t < a.not_after => (
            true,
            format!(
                "{} serves a certificate from {} valid until {}.",
                cert.host,
                a.issuer,
                moat_domain::calendar::format_utc(a.not_after)
            ),
        ),
        Some(a) => (
            false,
            format!(
                "The certificate of {} is not valid now (valid {} to {}).",
                cert.host,
                moat_domain::calendar::format_utc(a.not_before),
                moat_domain::calendar::format_utc(a.not_after)
            ),
        ),
        None => (
            false,
            format!(
                "{} is served with Moat's local CA certificate, which senders do not trust{}.",
                cert.host,
                cert.order
                    .as_ref()
                    .and_then(|o| o.last_error.as_ref())
                    .map(|e| format!(" (certificate order: {e})"))
                    .unwrap_or_default()
            ),
        ),
    })
}

/// What Moat has seen of a domain's MX hosts: the latest probe of each address and the live
/// MX hosts (or why their lookup failed). Gathered once per look, shared by the checklist
/// and the lint.
struct Seen {
    probes: Vec<MxProbeView>,
    live_mx: Vec<String>,
    lookup_failed: Option<String>,
}

async fn seen(svc: &Services, scope: &OrgScope, domain: &DomainView) -> Result<Seen> {
    let probes = store::latest(&svc.db, scope.org_id(), domain.id)
        .await?
        .iter()
        .map(view)
        .collect();
    let (live_mx, note, failed) = live_mx_checked(svc, &domain.name).await;
    Ok(Seen {
        probes,
        live_mx,
        lookup_failed: if failed { note } else { None },
    })
}

fn summary(p: &MxProbeView) -> MxProbeSummary {
    MxProbeSummary {
        mx_host: p.mx_host.clone(),
        addr: p.addr.clone(),
        verdict: p.verdict.clone(),
        detail: p.detail.clone(),
        probed_at: p.probed_at,
    }
}

/// The checklist for `domain` with the policy patterns `patterns`. When the MX lookup failed,
/// the checks that need the live MX hosts say so instead of "no live MX hosts" (they fail
/// either way: without the MX hosts nothing can be shown safe).
async fn assess(
    svc: &Services,
    scope: &OrgScope,
    domain: &DomainView,
    patterns: Vec<MxPattern>,
    seen: &Seen,
) -> Result<Readiness> {
    let input = readiness_input(svc, scope, domain, patterns, seen).await?;
    let mut readiness = evaluate_readiness(&input);
    if let Some(why) = &seen.lookup_failed {
        for check in readiness
            .checks
            .iter_mut()
            .filter(|c| matches!(c.code, ReadinessCode::MxProbes | ReadinessCode::Coverage))
        {
            check.passed = false;
            check.detail = format!("{why}: the live MX hosts are unknown right now");
            check.fix =
                Some("Check that the domain's DNS answers for its MX records, then look again.".into());
        }
        readiness.ready = false;
    }
    Ok(readiness)
}

/// The readiness evidence for `domain` with the policy patterns `patterns`.
async fn readiness_input(
    svc: &Services,
    scope: &OrgScope,
    domain: &DomainView,
    patterns: Vec<MxPattern>,
    seen: &Seen,
) -> Result<ReadinessInput> {
    let t = now();
    let (records_ok, records_detail) = records_state(domain);
    let (certificate_ok, certificate_detail) = certificate_state(svc, scope, domain, t).await?;
    let probes: Vec<MxProbeSummary> = seen.probes.iter().map(summary).collect();
    let live_mx = seen.live_mx.clone();
    let days = svc.settings.probe.readiness_days.max(1);
    let today = t - t.rem_euclid(DAY);
    let slice = Slice {
        org: scope.org_id(),
        domain: domain.id,
        from: today - (i64::from(days) - 1) * DAY,
        to: today,
        sending_org: "",
        result_type: "",
    };
    let (reports, _) = rollups::report_count(&svc.db, &slice).await?;
    let report_failures = rollups::failures_by_type_and_mx(&svc.db, &slice, 1000)
        .await?
        .into_iter()
        .map(|(result_type, receiving_mx, sessions)| ReportFailureSummary {
            result_type: result_type.unwrap_or_default(),
            receiving_mx,
            sessions: u64::try_from(sessions).unwrap_or(0),
        })
        .collect();
    Ok(ReadinessInput {
        records_ok,
        records_detail,
        certificate_ok,
        certificate_detail,
        probes,
        live_mx,
        patterns,
        window_days: days,
        report_failures,
        reports_in_window: u64::try_from(reports).unwrap_or(0),
        now: t,
    })
}

fn current_patterns(domain: &DomainView) -> Vec<MxPattern> {
    domain.policy.as_ref().map(|p| p.mx.clone()).unwrap_or_default()
}

/// The testing → enforce checklist of the domain, against its current policy's patterns.
pub async fn readiness(svc: &Services, scope: &OrgScope, name: &str) -> Result<Readiness> {
    let domain = find(svc, scope, name).await?;
    let seen = seen(svc, scope, &domain).await?;
    assess(svc, scope, &domain, current_patterns(&domain), &seen).await
}

/// The checklist with the latest probes and the policy lint behind it (the domain page's
/// readiness card): one domain lookup, one probe query and one MX lookup for all three.
pub async fn readiness_view(svc: &Services, scope: &OrgScope, name: &str) -> Result<ReadinessView> {
    let domain = find(svc, scope, name).await?;
    let seen = seen(svc, scope, &domain).await?;
    let patterns = current_patterns(&domain);
    Ok(ReadinessView {
        lint: lint_of(&patterns, &seen),
        readiness: assess(svc, scope, &domain, patterns, &seen).await?,
        probes: seen.probes,
        window_days: svc.settings.probe.readiness_days.max(1),
    })
}

/// The checklist against the patterns about to be saved (the enforce gate of
/// [`domains::set_policy`]).
pub(crate) async fn readiness_for(
    svc: &Services,
    scope: &OrgScope,
    domain: &DomainView,
    patterns: &[MxPattern],
) -> Result<Readiness> {
    let seen = seen(svc, scope, domain).await?;
    assess(svc, scope, domain, patterns.to_vec(), &seen).await
}

/// The policy linter: the current patterns against the live MX hosts and the certificate
/// names the latest probes saw.
pub async fn lint(svc: &Services, scope: &OrgScope, name: &str) -> Result<Vec<LintFinding>> {
    let domain = find(svc, scope, name).await?;
    let seen = seen(svc, scope, &domain).await?;
    Ok(lint_of(&current_patterns(&domain), &seen))
}

fn lint_of(patterns: &[MxPattern], seen: &Seen) -> Vec<LintFinding> {
    if let Some(why) = &seen.lookup_failed {
        return vec![mx_unknown_finding(why)];
    }
    let mut certs: Vec<MxCertNames> = Vec::new();
    for p in seen.probes.iter().filter(|p| !p.cert_names.is_empty()) {
        match certs.iter_mut().find(|c| c.mx_host == p.mx_host) {
            Some(c) => {
                for n in &p.cert_names {
                    if !c.dns_names.contains(n) {
                        c.dns_names.push(n.clone());
                    }
                }
            }
            None => certs.push(MxCertNames {
                mx_host: p.mx_host.clone(),
                dns_names: p.cert_names.clone(),
            }),
        }
    }
    lint_policy(patterns, &seen.live_mx, &certs)
}

/// One round of background probes: every hosted, serving domain whose latest probe is older
/// than the configured interval (at most `batch` domains). Returns how many were probed;
/// a domain that fails is logged and skipped.
pub async fn probe_due(svc: &Services, now: i64, batch: i64) -> Result<usize> {
    let hours = svc.settings.probe.interval_hours;
    if hours == 0 {
        return Ok(0);
    }
    let before = now - i64::try_from(hours).unwrap_or(i64::MAX / 7200) * 3600;
    let mut n = 0;
    for (org, _, name) in store::due(&svc.db, before, batch).await? {
        let result = async {
            let scope = authorize(svc, &Actor::Operator, org, Action::ManageDomains).await?;
            probe_domain(svc, &scope, &name).await
        }
        .await;
        match result {
            Ok(_) => n += 1,
            Err(e) => tracing::warn!(domain = %name, error = %e, "background MX probe failed: {e}"),
        }
        // The MX change planner looks at the live MX set at the same pace.
        let planned = async {
            let scope = authorize(svc, &Actor::Operator, org, Action::Read).await?;
            crate::plans::mx_plan(svc, &scope, &name, now).await
        }
        .await;
        if let Err(e) = planned {
            tracing::warn!(domain = %name, error = %e, "background MX change plan refresh failed: {e}");
        }
    }
    Ok(n)
}
