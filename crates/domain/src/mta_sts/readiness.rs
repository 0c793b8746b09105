//! The testing → enforce readiness gate: a checklist that must be all green before a
//! domain's policy is switched to `mode: enforce` (RFC 8461 §5).
//!
//! The evaluation is pure: the caller gathers the evidence (DNS and certificate checks, MX
//! probes, TLS-RPT report aggregates for the window) into a [`ReadinessInput`], and
//! [`evaluate_readiness`] turns it into a [`Readiness`] with one [`ReadinessCheck`] per
//! [`ReadinessCode`], in a fixed order.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::coverage::{check_coverage, normalized_hosts, propose_patterns};
use super::excerpt;
use super::policy::{MxPattern, normalize_host};

/// The latest result of probing one address of one MX host (STARTTLS and certificate).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxProbeSummary {
    /// The MX host name probed.
    pub mx_host: String,
    /// The address probed (IPv4 or IPv6, as text).
    pub addr: String,
    /// `"ok"`, `"unreachable"`, or an RFC 8460 §4.3 result type such as
    /// `"certificate-host-mismatch"`. Compared case-insensitively.
    pub verdict: String,
    /// Human detail from the probe.
    pub detail: String,
    /// Unix seconds of the probe.
    pub probed_at: i64,
}

/// Failed sessions of one RFC 8460 result type (optionally at one receiving MX), summed
/// over the reports received in the readiness window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFailureSummary {
    /// RFC 8460 §4.3 result type, e.g. `"starttls-not-supported"`.
    pub result_type: String,
    /// The receiving MX the failures were reported for, if the reports named one.
    pub receiving_mx: Option<String>,
    /// Number of failed sessions.
    pub sessions: u64,
}

/// The evidence [`evaluate_readiness`] looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessInput {
    /// Whether the `_mta-sts` TXT, `_smtp._tls` TXT and policy host DNS records are right.
    pub records_ok: bool,
    /// What the DNS check found.
    pub records_detail: String,
    /// Whether the policy host (`mta-sts.<domain>`) serves a valid, trusted certificate.
    pub certificate_ok: bool,
    /// What the certificate check found.
    pub certificate_detail: String,
    /// The latest probes of the MX hosts, one or more per address.
    pub probes: Vec<MxProbeSummary>,
    /// The domain's live MX host names.
    pub live_mx: Vec<String>,
    /// The policy's `mx` patterns.
    pub patterns: Vec<MxPattern>,
    /// The report window, in days.
    pub window_days: u32,
    /// Failures from the TLS reports received in the window.
    pub report_failures: Vec<ReportFailureSummary>,
    /// How many TLS reports were received in the window.
    pub reports_in_window: u64,
    /// Unix seconds now (used to say how old probes are).
    pub now: i64,
}

/// The stable identifier of a readiness check; serialised in kebab-case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadinessCode {
    /// `records`: the DNS records are right.
    Records,
    /// `certificate`: the policy host's certificate is valid.
    Certificate,
    /// `mx-probes`: every live MX was probed and every probed address accepted TLS with a
    /// valid certificate.
    MxProbes,
    /// `coverage`: the policy matches every live MX.
    Coverage,
    /// `reports`: TLS reports in the window show no failure enforce would turn into a bounce.
    Reports,
}

impl ReadinessCode {
    /// All checks, in evaluation order.
    pub const ALL: [ReadinessCode; 5] = [
        ReadinessCode::Records,
        ReadinessCode::Certificate,
        ReadinessCode::MxProbes,
        ReadinessCode::Coverage,
        ReadinessCode::Reports,
    ];

    /// The code as serialised, e.g. `"mx-probes"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReadinessCode::Records => "records",
            ReadinessCode::Certificate => "certificate",
            ReadinessCode::MxProbes => "mx-probes",
            ReadinessCode::Coverage => "coverage",
            ReadinessCode::Reports => "reports",
        }
    }
}

impl fmt::Display for ReadinessCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item of the checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessCheck {
    /// Which check.
    pub code: ReadinessCode,
    /// Short title for the checklist.
    pub title: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was found.
    pub detail: String,
    /// What to do, when it failed.
    pub fix: Option<String>,
}

/// Result of [`evaluate_readiness`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// Every check passed: switching to `enforce` should not bounce mail.
    pub ready: bool,
    /// The checks, in [`ReadinessCode::ALL`] order.
    pub checks: Vec<ReadinessCheck>,
}

impl Readiness {
    /// The check with this code, if present.
    pub fn check(&self, code: ReadinessCode) -> Option<&ReadinessCheck> {
        self.checks.iter().find(|c| c.code == code)
    }
}

/// What an RFC 8460 failure result type would mean once the policy is in `enforce` mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureImpact {
    /// A TLS failure with the MX itself (`starttls-not-supported`,
    /// `certificate-host-mismatch`, `certificate-expired`, `certificate-not-trusted`,
    /// `validation-failure`). In `testing` the sender delivered anyway; in `enforce` it
    /// must not (RFC 8461 §5): it defers the message and bounces it when its retries run
    /// out. Unrecognised result types are counted here too, to be safe.
    WouldBounce,
    /// `sts-policy-fetch-error`, `sts-policy-invalid`, `sts-webpki-invalid`: the sender
    /// could not get a valid policy, so it behaved as if the domain had no MTA-STS
    /// (RFC 8461 §5) and delivered. Enforce does not change that: no bounce, but no
    /// protection at that sender either (the records and certificate checks cover it).
    PolicyNotApplied,
    /// `tlsa-invalid`, `dnssec-invalid`, `dane-required`: DANE failures. DANE takes
    /// precedence over MTA-STS (RFC 8461 §2), so these happen whatever the MTA-STS mode.
    Dane,
}

/// Classifies an RFC 8460 §4.3 result type (case-insensitive, surrounding whitespace
/// ignored). See [`FailureImpact`] for the reasoning.
pub fn failure_impact(result_type: &str) -> FailureImpact {
    match result_type.trim().to_ascii_lowercase().as_str() {
        "sts-policy-fetch-error" | "sts-policy-invalid" | "sts-webpki-invalid" => {
            FailureImpact::PolicyNotApplied
        }
        "tlsa-invalid" | "dnssec-invalid" | "dane-required" => FailureImpact::Dane,
        _ => FailureImpact::WouldBounce,
    }
}

/// How many items a detail lists before "and N more".
const MAX_LISTED: usize = 5;

/// Evaluates the testing → enforce checklist.
///
/// - `records`, `certificate`: pass through the caller's DNS and certificate checks.
/// - `mx-probes`: every live MX (normalised, deduplicated) has at least one probe, and the
///   latest probe of each of its addresses has verdict `ok`. A live MX without a probe fails
///   with "not probed yet". Probes of hosts that are no longer live MX are ignored.
/// - `coverage`: [`check_coverage`] finds no uncovered live MX (and there is at least one).
/// - `reports`: at least one TLS report arrived in the last `window_days` days, and none of
///   their failures is [`FailureImpact::WouldBounce`]. Zero reports fail: enforcing without
///   evidence is exactly what this gate prevents. `sts-*` and DANE failures are listed in
///   the detail but do not fail the check.
///
/// `ready` is true only when every check passed.
pub fn evaluate_readiness(input: &ReadinessInput) -> Readiness {
    let checks = vec![
        pass_through(
            ReadinessCode::Records,
            "DNS records",
            input.records_ok,
            &input.records_detail,
            "The _mta-sts TXT record, the TLS-RPT record and the policy host record are published.",
            "Publish the DNS records exactly as shown on the domain's DNS page, then re-check.",
        ),
        pass_through(
            ReadinessCode::Certificate,
            "Policy host certificate",
            input.certificate_ok,
            &input.certificate_detail,
            "The policy host serves a valid, trusted certificate.",
            "Make the policy host serve a valid certificate for mta-sts.<domain>; senders that \
             cannot fetch the policy over trusted HTTPS ignore it (sts-webpki-invalid).",
        ),
        mx_probes_check(input),
        coverage_check(input),
        reports_check(input),
    ];
    Readiness {
        ready: checks.iter().all(|c| c.passed),
        checks,
    }
}

fn pass_through(
    code: ReadinessCode,
    title: &str,
    ok: bool,
    detail: &str,
    default_ok: &str,
    fix: &str,
) -> ReadinessCheck {
    let detail = if detail.trim().is_empty() {
        if ok {
            default_ok.to_owned()
        } else {
            "The check failed.".to_owned()
        }
    } else {
        detail.to_owned()
    };
    ReadinessCheck {
        code,
        title: title.to_owned(),
        passed: ok,
        detail,
        fix: (!ok).then(|| fix.to_owned()),
    }
}

fn listed(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > MAX_LISTED {
        text.push_str(&format!("; and {} more", items.len() - MAX_LISTED));
    }
    text
}

fn age(now: i64, then: i64) -> String {
    let secs = now.saturating_sub(then);
    if secs < 0 {
        "just now".to_owned()
    } else if secs < 3600 {
        format!("{} min ago", secs / 60)
    } else if secs < 2 * 86_400 {
        format!("{} h ago", secs / 3600)
    } else {
        format!("{} days ago", secs / 86_400)
    }
}

fn mx_probes_check(input: &ReadinessInput) -> ReadinessCheck {
    let hosts = normalized_hosts(&input.live_mx);
    let mut problems: Vec<String> = Vec::new();
    let mut ok_addrs = 0usize;
    let mut oldest: Option<i64> = None;
    for host in &hosts {
        // Latest probe per address; on a tie in time, a failing verdict wins.
        let mut latest: BTreeMap<String, &MxProbeSummary> = BTreeMap::new();
        for p in &input.probes {
            if normalize_host(&p.mx_host).as_deref() != Some(host.as_str()) {
                continue;
            }
            let addr = p.addr.trim().to_ascii_lowercase();
            let newer = match latest.get(&addr) {
                None => true,
                Some(cur) => (p.probed_at, !is_ok(&p.verdict)) > (cur.probed_at, !is_ok(&cur.verdict)),
            };
            if newer {
                latest.insert(addr, p);
            }
        }
        if latest.is_empty() {
            problems.push(format!("{host}: not probed yet"));
            continue;
        }
        for (addr, p) in &latest {
            oldest = Some(oldest.map_or(p.probed_at, |o| o.min(p.probed_at)));
            if is_ok(&p.verdict) {
                ok_addrs += 1;
            } else {
                let detail = if p.detail.trim().is_empty() {
                    String::new()
                } else {
                    format!(" ({})", excerpt(p.detail.trim(), 120))
                };
                problems.push(format!(
                    "{host} [{}]: {}{detail}, probed {}",
                    excerpt(addr, 64),
                    excerpt(p.verdict.trim(), 64),
                    age(input.now, p.probed_at)
                ));
            }
        }
    }
    let title = "MX hosts accept TLS".to_owned();
    if hosts.is_empty() {
        return ReadinessCheck {
            code: ReadinessCode::MxProbes,
            title,
            passed: false,
            detail: "The domain has no live MX hosts to probe.".to_owned(),
            fix: Some("Publish MX records for the domain first.".to_owned()),
        };
    }
    if problems.is_empty() {
        let when = oldest
            .map(|o| format!(" (oldest probe {})", age(input.now, o)))
            .unwrap_or_default();
        return ReadinessCheck {
            code: ReadinessCode::MxProbes,
            title,
            passed: true,
            detail: format!(
                "All {} live MX hosts were probed; all {ok_addrs} addresses offered STARTTLS with a valid \
                 certificate{when}.",
                hosts.len()
            ),
            fix: None,
        };
    }
    ReadinessCheck {
        code: ReadinessCode::MxProbes,
        title,
        passed: false,
        detail: format!(
            "In enforce mode senders refuse MX hosts that fail these checks: {}.",
            listed(&problems)
        ),
        fix: Some(
            "Probe every MX host, and fix STARTTLS or the certificate on each failing address (the \
             certificate must be valid, trusted and name the MX host); then probe again."
                .to_owned(),
        ),
    }
}

fn is_ok(verdict: &str) -> bool {
    verdict.trim().eq_ignore_ascii_case("ok")
}

fn coverage_check(input: &ReadinessInput) -> ReadinessCheck {
    let title = "Policy covers every MX".to_owned();
    let hosts = normalized_hosts(&input.live_mx);
    if hosts.is_empty() {
        return ReadinessCheck {
            code: ReadinessCode::Coverage,
            title,
            passed: false,
            detail: "The domain has no live MX hosts for the policy to cover.".to_owned(),
            fix: Some("Publish MX records for the domain first.".to_owned()),
        };
    }
    let coverage = check_coverage(&input.patterns, &input.live_mx);
    if coverage.is_complete() {
        return ReadinessCheck {
            code: ReadinessCode::Coverage,
            title,
            passed: true,
            detail: format!("Every live MX matches an mx pattern: {}.", listed(&hosts)),
            fix: None,
        };
    }
    let proposals: Vec<String> = propose_patterns(&coverage.uncovered_mx)
        .iter()
        .map(|p| format!("mx: {p}"))
        .collect();
    let fix = if proposals.is_empty() {
        "Point the MX records at valid host names and list them in the policy.".to_owned()
    } else {
        format!("Add {} to the policy and publish it.", proposals.join(", "))
    };
    ReadinessCheck {
        code: ReadinessCode::Coverage,
        title,
        passed: false,
        detail: format!(
            "These live MX hosts match no mx pattern, so in enforce mode senders would refuse to deliver \
             to them (RFC 8461 §4.1): {}.",
            listed(&coverage.uncovered_mx)
        ),
        fix: Some(fix),
    }
}

fn reports_check(input: &ReadinessInput) -> ReadinessCheck {
    let title = "TLS reports show no failures".to_owned();
    let days = input.window_days;
    // Sum sessions per (type, mx) for each impact class.
    let mut bounce: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut other: BTreeMap<(String, String), u64> = BTreeMap::new();
    for f in &input.report_failures {
        if f.sessions == 0 {
            continue;
        }
        let kind = {
            let t = f.result_type.trim().to_ascii_lowercase();
            if t.is_empty() {
                "(no result type)".to_owned()
            } else {
                excerpt(&t, 64)
            }
        };
        let mx = f
            .receiving_mx
            .as_deref()
            .and_then(normalize_host)
            .filter(|m| !m.is_empty())
            .unwrap_or_default();
        let target = match failure_impact(&f.result_type) {
            FailureImpact::WouldBounce => &mut bounce,
            FailureImpact::PolicyNotApplied | FailureImpact::Dane => &mut other,
        };
        let n = target.entry((kind, mx)).or_insert(0);
        *n = n.saturating_add(f.sessions);
    }
    let describe = |m: &BTreeMap<(String, String), u64>| -> Vec<String> {
        let mut rows: Vec<(&(String, String), &u64)> = m.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        rows.into_iter()
            .map(|((kind, mx), n)| {
                let at = if mx.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", excerpt(mx, 253))
                };
                format!("{kind}{at}: {n} session{}", if *n == 1 { "" } else { "s" })
            })
            .collect()
    };
    let not_counted = if other.is_empty() {
        String::new()
    } else {
        format!(
            " Not counted: {}. sts-* failures mean a sender could not get a valid policy and \
             delivered as if there were no MTA-STS, which enforce does not change (see the records \
             and certificate checks); DANE failures happen whatever the MTA-STS mode.",
            listed(&describe(&other))
        )
    };

    let mut reasons: Vec<String> = Vec::new();
    if input.reports_in_window == 0 {
        reasons.push(format!(
            "No TLS reports in the last {days} days: the evidence is missing, and enforcing without it \
             is enforcing blind."
        ));
    }
    if !bounce.is_empty() {
        let total: u64 = bounce.values().fold(0u64, |a, b| a.saturating_add(*b));
        reasons.push(format!(
            "In the last {days} days {total} session{} failed in ways enforce turns into bounces: {}. In \
             testing these messages were still delivered; in enforce the sender must not deliver them \
             (RFC 8461 §5), so it defers and finally bounces them.",
            if total == 1 { "" } else { "s" },
            listed(&describe(&bounce))
        ));
    }
    if reasons.is_empty() {
        return ReadinessCheck {
            code: ReadinessCode::Reports,
            title,
            passed: true,
            detail: format!(
                "{} TLS report{} in the last {days} days, with no failure that enforce would turn into a \
                 bounce.{not_counted}",
                input.reports_in_window,
                if input.reports_in_window == 1 { "" } else { "s" }
            ),
            fix: None,
        };
    }
    let fix = if bounce.is_empty() {
        "Check that the TLS-RPT record (_smtp._tls) points at Moat, and wait for senders' daily \
         reports (large senders report every day); keep the policy in testing until they arrive."
    } else {
        "Fix the failing MX hosts (STARTTLS, certificate validity and names), then wait until a full \
         window of reports is clean before enforcing."
    };
    ReadinessCheck {
        code: ReadinessCode::Reports,
        title,
        passed: false,
        detail: format!("{}{not_counted}", reasons.join(" ")),
        fix: Some(fix.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(v: &[&str]) -> Vec<MxPattern> {
        v.iter().map(|s| MxPattern::parse(s).unwrap()).collect()
    }

    fn probe(host: &str, addr: &str, verdict: &str, at: i64) -> MxProbeSummary {
        MxProbeSummary {
            mx_host: host.to_owned(),
            addr: addr.to_owned(),
            verdict: verdict.to_owned(),
            detail: String::new(),
            probed_at: at,
        }
    }

    fn failure(kind: &str, mx: Option<&str>, sessions: u64) -> ReportFailureSummary {
        ReportFailureSummary {
            result_type: kind.to_owned(),
            receiving_mx: mx.map(str::to_owned),
            sessions,
        }
    }

    const NOW: i64 = 1_700_000_000;

    /// All checks green.
    fn good() -> ReadinessInput {
        ReadinessInput {
            records_ok: true,
            records_detail: "TXT records found".to_owned(),
            certificate_ok: true,
            certificate_detail: String::new(),
            probes: vec![
                probe("mx1.example.com", "192.0.2.1", "ok", NOW - 3600),
                probe("MX1.example.com.", "2001:db8::1", "OK", NOW - 3600),
                probe("mx2.example.com", "192.0.2.2", "ok", NOW - 7200),
            ],
            live_mx: vec!["mx1.example.com".to_owned(), "mx2.example.com.".to_owned()],
            patterns: pats(&["*.example.com"]),
            window_days: 14,
            report_failures: vec![failure("sts-policy-fetch-error", None, 3)],
            reports_in_window: 20,
            now: NOW,
        }
    }

    fn check(input: &ReadinessInput, code: ReadinessCode) -> ReadinessCheck {
        evaluate_readiness(input).check(code).cloned().unwrap()
    }

    #[test]
    fn all_green_is_ready() {
        let r = evaluate_readiness(&good());
        assert!(r.ready, "{r:#?}");
        assert_eq!(
            r.checks.iter().map(|c| c.code).collect::<Vec<_>>(),
            ReadinessCode::ALL.to_vec()
        );
        for c in &r.checks {
            assert!(c.passed && c.fix.is_none() && !c.detail.is_empty(), "{c:?}");
        }
        assert_eq!(r.checks[0].detail, "TXT records found");
        // sts-* failures are mentioned but don't fail.
        let reports = r.check(ReadinessCode::Reports).unwrap();
        assert!(
            reports.detail.contains("sts-policy-fetch-error"),
            "{}",
            reports.detail
        );
        assert!(
            reports.detail.contains("20 TLS reports in the last 14 days"),
            "{}",
            reports.detail
        );
    }

    #[test]
    fn each_check_can_fail() {
        type Mutate = fn(&mut ReadinessInput);
        let cases: Vec<(ReadinessCode, Mutate, &str)> = vec![
            (
                ReadinessCode::Records,
                |i| {
                    i.records_ok = false;
                    i.records_detail.clear();
                },
                "failed",
            ),
            (
                ReadinessCode::Certificate,
                |i| {
                    i.certificate_ok = false;
                    i.certificate_detail = "expired on 2024-01-01".to_owned();
                },
                "expired on 2024-01-01",
            ),
            (
                ReadinessCode::MxProbes,
                |i| i.probes.retain(|p| p.mx_host != "mx2.example.com"),
                "mx2.example.com: not probed yet",
            ),
            (
                ReadinessCode::MxProbes,
                |i| {
                    i.probes.push(MxProbeSummary {
                        detail: "no STARTTLS in EHLO".to_owned(),
                        ..probe("mx2.example.com", "192.0.2.9", "starttls-not-supported", NOW - 60)
                    })
                },
                "mx2.example.com [192.0.2.9]: starttls-not-supported (no STARTTLS in EHLO), probed 1 min ago",
            ),
            (
                ReadinessCode::MxProbes,
                |i| {
                    i.probes
                        .push(probe("mx1.example.com", "192.0.2.1", "unreachable", NOW))
                },
                "unreachable",
            ),
            (ReadinessCode::MxProbes, |i| i.live_mx.clear(), "no live MX"),
            (
                ReadinessCode::Coverage,
                |i| i.live_mx.push("a.b.example.com".to_owned()),
                "a.b.example.com",
            ),
            (ReadinessCode::Coverage, |i| i.patterns.clear(), "mx1.example.com"),
            (
                ReadinessCode::Reports,
                |i| i.reports_in_window = 0,
                "No TLS reports in the last 14 days: the evidence is missing",
            ),
            (
                ReadinessCode::Reports,
                |i| {
                    i.report_failures
                        .push(failure("Certificate-Expired", Some("MX2.example.com."), 4));
                    i.report_failures
                        .push(failure("certificate-expired", Some("mx2.example.com"), 1));
                    i.report_failures.push(failure("starttls-not-supported", None, 1));
                },
                "6 sessions failed in ways enforce turns into bounces: certificate-expired at \
                 mx2.example.com: 5 sessions; starttls-not-supported: 1 session",
            ),
            (
                ReadinessCode::Reports,
                |i| i.report_failures.push(failure("some-future-type", None, 2)),
                "some-future-type: 2 sessions",
            ),
        ];
        for (code, mutate, needle) in cases {
            let mut input = good();
            mutate(&mut input);
            let r = evaluate_readiness(&input);
            assert!(!r.ready, "{code}: {r:#?}");
            let c = r.check(code).unwrap();
            assert!(!c.passed, "{code}: {c:?}");
            assert!(c.fix.is_some(), "{code}: {c:?}");
            assert!(
                c.detail.contains(needle),
                "{code}: {:?} lacks {needle:?}",
                c.detail
            );
            // Only the mutated check (plus coverage/probes when MX are cleared) fails.
            let failing: Vec<ReadinessCode> = r.checks.iter().filter(|c| !c.passed).map(|c| c.code).collect();
            assert!(failing.contains(&code), "{failing:?}");
        }
    }

    #[test]
    fn latest_probe_per_address_wins() {
        let mut input = good();
        input.probes.push(probe(
            "mx2.example.com",
            "192.0.2.2",
            "certificate-expired",
            NOW - 90_000,
        ));
        assert!(check(&input, ReadinessCode::MxProbes).passed);
        input.probes.push(probe(
            "mx2.example.com",
            "192.0.2.2",
            "certificate-expired",
            NOW - 7200,
        ));
        let c = check(&input, ReadinessCode::MxProbes);
        assert!(!c.passed, "same time: the failing verdict wins");
        // Probes of hosts that are not live MX are ignored.
        let mut input = good();
        input
            .probes
            .push(probe("old.example.com", "192.0.2.7", "unreachable", NOW));
        assert!(check(&input, ReadinessCode::MxProbes).passed);
    }

    #[test]
    fn failures_that_do_not_block() {
        let mut input = good();
        input.report_failures = vec![
            failure("sts-policy-invalid", None, 10),
            failure("sts-webpki-invalid", None, 1),
            failure("tlsa-invalid", Some("mx1.example.com"), 2),
            failure("certificate-host-mismatch", Some("mx1.example.com"), 0),
        ];
        let c = check(&input, ReadinessCode::Reports);
        assert!(c.passed, "{c:?}");
        assert!(c.detail.contains("Not counted"), "{}", c.detail);
        assert!(
            c.detail.contains("tlsa-invalid at mx1.example.com: 2 sessions"),
            "{}",
            c.detail
        );
        assert!(!c.detail.contains("certificate-host-mismatch"), "{}", c.detail);
    }

    #[test]
    fn zero_reports_and_failures_both_explained() {
        let mut input = good();
        input.reports_in_window = 0;
        input.report_failures = vec![failure("validation-failure", None, 1)];
        let c = check(&input, ReadinessCode::Reports);
        assert!(!c.passed);
        assert!(c.detail.contains("evidence is missing"), "{}", c.detail);
        assert!(c.detail.contains("validation-failure: 1 session"), "{}", c.detail);
    }

    #[test]
    fn impact_classes() {
        for (kind, impact) in [
            ("starttls-not-supported", FailureImpact::WouldBounce),
            ("certificate-host-mismatch", FailureImpact::WouldBounce),
            ("certificate-expired", FailureImpact::WouldBounce),
            ("certificate-not-trusted", FailureImpact::WouldBounce),
            ("validation-failure", FailureImpact::WouldBounce),
            (" STS-POLICY-FETCH-ERROR ", FailureImpact::PolicyNotApplied),
            ("sts-policy-invalid", FailureImpact::PolicyNotApplied),
            ("sts-webpki-invalid", FailureImpact::PolicyNotApplied),
            ("tlsa-invalid", FailureImpact::Dane),
            ("dnssec-invalid", FailureImpact::Dane),
            ("dane-required", FailureImpact::Dane),
            ("", FailureImpact::WouldBounce),
            ("brand-new-type", FailureImpact::WouldBounce),
        ] {
            assert_eq!(failure_impact(kind), impact, "{kind:?}");
        }
    }

    #[test]
    fn codes_and_odd_input() {
        for code in ReadinessCode::ALL {
            use serde::de::IntoDeserializer;
            use serde::de::value::Error as DeError;
            let back: Result<ReadinessCode, DeError> =
                ReadinessCode::deserialize(code.as_str().into_deserializer());
            assert_eq!(back, Ok(code));
        }
        let odd = ReadinessInput {
            probes: vec![probe("", "", "", i64::MIN), probe(".", "x", "ok", i64::MAX)],
            live_mx: vec![".".to_owned(), String::new()],
            report_failures: vec![failure("", Some(""), u64::MAX), failure("x", Some("."), u64::MAX)],
            window_days: u32::MAX,
            now: i64::MIN,
            ..ReadinessInput::default()
        };
        let r = evaluate_readiness(&odd);
        assert!(!r.ready);
        let mut odd2 = good();
        odd2.now = i64::MIN;
        odd2.probes.iter_mut().for_each(|p| p.probed_at = i64::MAX);
        assert!(evaluate_readiness(&odd2).ready);
    }
}
