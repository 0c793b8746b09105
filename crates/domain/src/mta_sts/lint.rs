//! The policy linter (issue #7): checks a policy's `mx` patterns against reality — the
//! domain's live MX hosts and the certificates those hosts presented to a probe — and says
//! what to fix.
//!
//! Every finding has a stable [`LintCode`], a [`Severity`], a message and a fix. The rules:
//!
//! | code | severity | when |
//! | --- | --- | --- |
//! | `no-mx` | error | no usable live MX host at all (the only finding then) |
//! | `mx-unknown` | warning | the MX lookup failed (the only finding then; see [`mx_unknown_finding`]) |
//! | `mx-not-covered` | error | a live MX host matches no pattern (RFC 8461 §4.1) |
//! | `cert-name-mismatch` | error | a live MX presented a certificate whose names don't include it |
//! | `pattern-unused` | warning | a pattern matches no live MX host |
//! | `wildcard-depth` | warning | an uncovered MX sits at or more than one label below a wildcard's base |
//! | `over-broad` | warning / info | a wildcard allows far more hosts than needed (see [`lint_policy`]) |
//! | `provider-preset` | info | the MX are at a known provider whose preset patterns are not all in the policy |
//!
//! Findings are sorted by severity (errors first), then MX host (findings about a host before
//! those about a pattern only), then pattern, then code.

use std::cmp::Reverse;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::coverage::{KNOWN_PROVIDER_WILDCARDS, check_coverage, dedup, normalized_hosts, propose_patterns};
use super::excerpt;
use super::policy::{MxPattern, normalize_host};

/// How bad a [`LintFinding`] is. Ordered `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A suggestion; nothing breaks.
    Info,
    /// Probably a mistake or a risk, but mail still flows.
    Warning,
    /// Mail would be refused in `enforce` mode (or the policy cannot work at all).
    Error,
}

impl Severity {
    /// `"info"`, `"warning"` or `"error"`, as serialised.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stable identifier of a lint rule; serialised in kebab-case (`"mx-not-covered"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LintCode {
    /// `no-mx`: the domain has no usable MX host.
    NoMx,
    /// `mx-unknown`: the MX lookup failed, so nothing could be checked against the live hosts.
    MxUnknown,
    /// `mx-not-covered`: a live MX host matches no pattern.
    MxNotCovered,
    /// `pattern-unused`: a pattern matches no live MX host.
    PatternUnused,
    /// `wildcard-depth`: a wildcard that looks meant for an MX it cannot match (it matches
    /// exactly one label, RFC 8461 §4.1).
    WildcardDepth,
    /// `cert-name-mismatch`: an MX's certificate is not valid for its host name.
    CertNameMismatch,
    /// `over-broad`: a wildcard allows more hosts than needed.
    OverBroad,
    /// `provider-preset`: the provider's recommended patterns are not all in the policy.
    ProviderPreset,
}

impl LintCode {
    /// The code as serialised, e.g. `"mx-not-covered"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            LintCode::NoMx => "no-mx",
            LintCode::MxUnknown => "mx-unknown",
            LintCode::MxNotCovered => "mx-not-covered",
            LintCode::PatternUnused => "pattern-unused",
            LintCode::WildcardDepth => "wildcard-depth",
            LintCode::CertNameMismatch => "cert-name-mismatch",
            LintCode::OverBroad => "over-broad",
            LintCode::ProviderPreset => "provider-preset",
        }
    }
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem or suggestion from [`lint_policy`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintFinding {
    /// Which rule fired.
    pub code: LintCode,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, in a sentence or two.
    pub message: String,
    /// What to do about it.
    pub fix: String,
    /// The MX host concerned (normalised: lowercase, A-labels, no trailing dot), if any.
    pub mx: Option<String>,
    /// The policy pattern concerned, if any.
    pub pattern: Option<MxPattern>,
}

/// The DNS names on the certificate an MX host presented to a probe (subjectAltName
/// dNSName entries). An empty `dns_names` means "not probed" and is skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxCertNames {
    /// The MX host name that was probed.
    pub mx_host: String,
    /// The certificate's DNS names, as presented (`*.example.com` wildcards allowed).
    pub dns_names: Vec<String>,
}

/// A provider's recommended `mx` pattern list, from [`provider_presets`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderPreset {
    /// Provider name, e.g. `"Microsoft 365"` (same names as
    /// [`KNOWN_PROVIDER_WILDCARDS`]).
    pub name: String,
    /// The patterns to put in the policy for this provider's MX hosts.
    pub patterns: Vec<MxPattern>,
}

/// Microsoft 365's MX namespace: `<tenant>.mail.protection.outlook.com`.
const M365_WILDCARD: &str = "*.mail.protection.outlook.com";
/// Google Workspace's classic primary MX.
const GOOGLE_PRIMARY: &str = "aspmx.l.google.com";
/// Google Workspace's classic secondary MX hosts, `alt1` … `alt4`.
const GOOGLE_ALT_WILDCARD: &str = "*.aspmx.l.google.com";
/// Google Workspace's single MX for setups created since 2023.
const GOOGLE_SMTP: &str = "smtp.google.com";

/// Namespaces run by large providers and shared by all their customers (or by anyone who
/// rents a cloud machine). A wildcard in one of these, other than the provider's own
/// recommended wildcard from [`KNOWN_PROVIDER_WILDCARDS`], lets hosts the domain does not
/// control pass as its MX.
const SHARED_NAMESPACES: &[(&str, &str)] = &[
    ("outlook.com", "Microsoft"),
    ("office365.com", "Microsoft"),
    ("google.com", "Google"),
    ("googlemail.com", "Google"),
    ("mimecast.com", "Mimecast"),
    ("amazonaws.com", "Amazon Web Services"),
    ("cloudapp.azure.com", "Microsoft Azure"),
    ("cloudapp.net", "Microsoft Azure"),
];

/// Second-level labels that registries use under country-code TLDs (`co.uk`, `com.au`,
/// `ne.jp`, …): a two-label name made of one of these and a two-letter TLD is treated as a
/// public suffix by the `over-broad` heuristic.
const REGISTRY_SECOND_LEVEL_LABELS: &[&str] = &[
    "ac", "co", "com", "edu", "gen", "go", "gob", "gov", "gv", "id", "in", "ltd", "me", "mil", "ne", "net",
    "nic", "or", "org", "plc", "sch",
];

/// How many certificate names a message lists before "and N more".
const MAX_NAMES_SHOWN: usize = 5;

/// Lints a policy's `patterns` against the domain's live MX hosts and the certificates
/// they presented (`certs`; may be empty when nothing was probed yet).
///
/// Host names are compared the RFC 8461 §4.1 way: case-insensitively, ignoring a trailing
/// dot, U-labels converted to A-labels. Empty names and the null MX `.` (RFC 7505) are not
/// MX hosts; if nothing else is left, the result is a single `no-mx` error.
///
/// Rules (see the module docs for the table):
/// - `mx-not-covered`, `pattern-unused`: from [`check_coverage`]. The fix for an uncovered
///   host proposes the pattern [`propose_patterns`] would (a provider wildcard or the exact
///   name).
/// - `wildcard-depth`: for a live MX that no pattern covers but that is the base of a
///   wildcard (`*.example.com` vs `example.com`) or two or more labels under it
///   (`*.example.com` vs `a.b.example.com`). Hosts covered by some other pattern are fine
///   and not reported.
/// - `cert-name-mismatch`: for each live MX with probed certificate names, none of which
///   matches the host. A name matches if equal, or if it is `*.` + base and the host is
///   exactly one non-empty label plus that base (RFC 6125 §6.4.3, restricted — as RFC 8461
///   §4.2 does — to a wildcard that is the whole leftmost label; the base needs at least
///   two labels). Certificates of hosts that are not live MX are ignored.
/// - `over-broad`, a heuristic applied to wildcards other than the provider wildcards in
///   [`KNOWN_PROVIDER_WILDCARDS`], first rule that applies:
///   1. the base is public-suffix-like: two labels, a registry label such as `co`/`com`/
///      `ne` and a two-letter country TLD (`*.co.uk` allows `anyone.co.uk`) → warning;
///      (`*.com` itself can't even be parsed as a pattern);
///   2. the base is in a large shared provider or cloud namespace (`*.outlook.com`,
///      `*.google.com`, `*.amazonaws.com`, …) → warning, use the provider's preset or exact
///      names;
///   3. the wildcard matches exactly one live MX → info, "could be exact".
/// - `provider-preset`: for each preset from [`provider_presets`] whose patterns are not
///   all in `patterns` already.
pub fn lint_policy(patterns: &[MxPattern], live_mx: &[String], certs: &[MxCertNames]) -> Vec<LintFinding> {
    let hosts = normalized_hosts(live_mx);
    if hosts.is_empty() {
        return vec![no_mx_finding(live_mx)];
    }
    let patterns = dedup(patterns);
    let coverage = check_coverage(&patterns, live_mx);
    let mut out = Vec::new();

    for host in &coverage.uncovered_mx {
        out.push(not_covered_finding(host));
    }
    for p in &coverage.unused_patterns {
        out.push(unused_finding(p, &hosts));
    }
    for p in patterns.iter().filter(|p| p.is_wildcard()) {
        for host in &coverage.uncovered_mx {
            if let Some(f) = wildcard_depth_finding(p, host) {
                out.push(f);
            }
        }
        if let Some(f) = over_broad_finding(p, &hosts) {
            out.push(f);
        }
    }
    out.extend(cert_findings(&hosts, certs));
    for preset in provider_presets(live_mx) {
        if !preset.patterns.iter().all(|p| patterns.contains(p)) {
            out.push(preset_finding(&preset));
        }
    }

    out.sort_by(|a, b| {
        let key = |f: &LintFinding| {
            (
                Reverse(f.severity),
                f.mx.is_none(),
                f.mx.clone(),
                f.pattern.as_ref().map(|p| p.as_str().to_owned()),
                f.code,
            )
        };
        key(a).cmp(&key(b))
    });
    out.dedup();
    out
}

/// The presets of the known providers whose MX hosts appear in `live_mx`, in a fixed
/// order (Microsoft 365, then Google Workspace).
///
/// - Microsoft 365: any `<tenant>.mail.protection.outlook.com` host →
///   `*.mail.protection.outlook.com`.
/// - Google Workspace: `aspmx.l.google.com` or `altN.aspmx.l.google.com` →
///   `aspmx.l.google.com` and `*.aspmx.l.google.com` (a wildcard never matches its own base,
///   so the primary needs its exact line); `smtp.google.com` (the single MX of Workspace
///   setups since 2023) → `smtp.google.com`. A domain mid-way between the two gets all three.
pub fn provider_presets(live_mx: &[String]) -> Vec<ProviderPreset> {
    let hosts = normalized_hosts(live_mx);
    let mut out = Vec::new();

    if let Ok(m365) = MxPattern::parse(M365_WILDCARD)
        && hosts.iter().any(|h| m365.matches(h))
    {
        out.push(ProviderPreset {
            name: "Microsoft 365".to_owned(),
            patterns: vec![m365],
        });
    }

    let mut google = Vec::new();
    if let (Ok(primary), Ok(alts)) = (
        MxPattern::parse(GOOGLE_PRIMARY),
        MxPattern::parse(GOOGLE_ALT_WILDCARD),
    ) && hosts.iter().any(|h| primary.matches(h) || alts.matches(h))
    {
        google.push(primary);
        google.push(alts);
    }
    if let Ok(smtp) = MxPattern::parse(GOOGLE_SMTP)
        && hosts.iter().any(|h| smtp.matches(h))
    {
        google.push(smtp);
    }
    if !google.is_empty() {
        out.push(ProviderPreset {
            name: "Google Workspace".to_owned(),
            patterns: google,
        });
    }
    out
}

/// Whether a certificate DNS name (`dns_name`, possibly `*.base`) is valid for `mx_host`
/// (RFC 6125 §6.4: case-insensitive, trailing dot ignored, U-labels compared as A-labels;
/// a wildcard only as the whole leftmost label, standing for exactly one non-empty label,
/// and only over a base of at least two labels).
pub fn cert_name_matches(dns_name: &str, mx_host: &str) -> bool {
    let Some(host) = normalize_host(mx_host) else {
        return false;
    };
    if host.is_empty() || host.contains('*') {
        return false;
    }
    let name = dns_name.trim();
    match name.strip_prefix("*.") {
        Some(rest) => {
            let Some(base) = normalize_host(rest) else {
                return false;
            };
            if base.contains('*') || base.split('.').count() < 2 || base.split('.').any(str::is_empty) {
                return false;
            }
            match host.split_once('.') {
                Some((first, parent)) => !first.is_empty() && parent == base,
                None => false,
            }
        }
        None => !name.contains('*') && normalize_host(name).is_some_and(|n| n == host),
    }
}

fn quoted_list(items: &[String]) -> String {
    let shown: Vec<String> = items
        .iter()
        .take(MAX_NAMES_SHOWN)
        .map(|s| format!("\"{}\"", excerpt(s, 80)))
        .collect();
    let mut text = shown.join(", ");
    if items.len() > MAX_NAMES_SHOWN {
        text.push_str(&format!(" and {} more", items.len() - MAX_NAMES_SHOWN));
    }
    text
}

/// The lint when the domain's MX hosts could not be looked up (`error` says why): a single
/// `mx-unknown` warning instead of [`lint_policy`]'s findings, which would take the failed
/// lookup for "no MX records".
pub fn mx_unknown_finding(error: &str) -> LintFinding {
    LintFinding {
        code: LintCode::MxUnknown,
        severity: Severity::Warning,
        message: format!(
            "The domain's MX hosts could not be looked up ({error}), so the policy was not checked \
             against them."
        ),
        fix: "Check that the domain's DNS answers for its MX records, then look again.".to_owned(),
        mx: None,
        pattern: None,
    }
}

fn no_mx_finding(live_mx: &[String]) -> LintFinding {
    let null_mx = live_mx.iter().any(|h| h.trim() == ".");
    let (message, fix) = if null_mx {
        (
            "The domain publishes a null MX (\".\", RFC 7505): it accepts no mail, so an MTA-STS \
             policy protects nothing."
                .to_owned(),
            "If the domain should receive mail, publish real MX records; otherwise switch the policy \
             to mode none or remove MTA-STS."
                .to_owned(),
        )
    } else {
        (
            "The domain has no MX records. Senders then fall back to the domain's own address \
             records (RFC 5321 §5.1), and no policy pattern can be checked against them."
                .to_owned(),
            "Publish MX records for the domain, then list those hosts in the policy.".to_owned(),
        )
    };
    LintFinding {
        code: LintCode::NoMx,
        severity: Severity::Error,
        message,
        fix,
        mx: None,
        pattern: None,
    }
}

fn not_covered_finding(host: &str) -> LintFinding {
    let fix = match MxPattern::parse(host) {
        Ok(_) => {
            let proposals: Vec<String> = propose_patterns(&[host.to_owned()])
                .iter()
                .map(|p| format!("\"mx: {p}\""))
                .collect();
            format!(
                "Add {} to the policy and publish it (keep testing mode until reports are clean).",
                proposals.join(" and ")
            )
        }
        Err(e) => format!(
            "This MX name cannot be listed in a policy ({e}); point the MX record at a valid host name."
        ),
    };
    LintFinding {
        code: LintCode::MxNotCovered,
        severity: Severity::Error,
        message: format!(
            "Live MX \"{}\" matches no mx pattern: in enforce mode senders refuse to deliver to it \
             (RFC 8461 §4.1).",
            excerpt(host, 253)
        ),
        fix,
        mx: Some(host.to_owned()),
        pattern: None,
    }
}

fn unused_finding(p: &MxPattern, hosts: &[String]) -> LintFinding {
    let mut hosts = hosts.to_vec();
    hosts.sort();
    LintFinding {
        code: LintCode::PatternUnused,
        severity: Severity::Warning,
        message: format!(
            "Pattern \"{p}\" matches none of the live MX hosts ({}).",
            quoted_list(&hosts)
        ),
        fix: format!(
            "Remove \"mx: {p}\" from the policy, unless mail is about to move to a host it matches \
             (during an MX migration keep it until the move is finished)."
        ),
        mx: None,
        pattern: Some(p.clone()),
    }
}

fn wildcard_depth_finding(p: &MxPattern, host: &str) -> Option<LintFinding> {
    let base = p.base_domain();
    let (message, fix) = if host == base {
        (
            format!(
                "Wildcard \"{p}\" does not match \"{host}\" itself: \"*\" stands for exactly one \
                 label in front of \"{base}\" (RFC 8461 §4.1)."
            ),
            format!("Add the exact name \"mx: {host}\" next to \"{p}\"."),
        )
    } else {
        let prefix = host.strip_suffix(base)?.strip_suffix('.')?;
        if !prefix.contains('.') {
            return None;
        }
        let parent = host.split_once('.').map(|(_, rest)| rest)?;
        let alternative = MxPattern::parse(&format!("*.{parent}"))
            .map(|w| format!(", or \"mx: {w}\" if several MX hosts live under \"{parent}\""))
            .unwrap_or_default();
        (
            format!(
                "Wildcard \"{p}\" does not match \"{host}\": \"*\" stands for exactly one label \
                 (RFC 8461 §4.1), and \"{host}\" is {} labels below \"{base}\".",
                prefix.split('.').count()
            ),
            format!("Add \"mx: {host}\"{alternative}."),
        )
    };
    Some(LintFinding {
        code: LintCode::WildcardDepth,
        severity: Severity::Warning,
        message,
        fix,
        mx: Some(host.to_owned()),
        pattern: Some(p.clone()),
    })
}

fn is_public_suffix_like(base: &str) -> bool {
    match base.split_once('.') {
        Some((second, tld)) => {
            REGISTRY_SECOND_LEVEL_LABELS.contains(&second)
                && tld.len() == 2
                && tld.bytes().all(|b| b.is_ascii_alphabetic())
        }
        None => false,
    }
}

fn shared_namespace(base: &str) -> Option<(&'static str, &'static str)> {
    SHARED_NAMESPACES
        .iter()
        .copied()
        .find(|(ns, _)| base == *ns || base.strip_suffix(ns).is_some_and(|rest| rest.ends_with('.')))
}

fn over_broad_finding(p: &MxPattern, hosts: &[String]) -> Option<LintFinding> {
    if KNOWN_PROVIDER_WILDCARDS.iter().any(|(_, w)| *w == p.as_str()) {
        return None;
    }
    let base = p.base_domain();
    let matched: Vec<String> = hosts.iter().filter(|h| p.matches(h)).cloned().collect();
    let exact_fix = || {
        if matched.is_empty() {
            format!("Replace \"{p}\" with the exact names of the MX hosts it is meant for.")
        } else {
            let lines: Vec<String> = matched.iter().map(|h| format!("\"mx: {h}\"")).collect();
            format!("Replace \"{p}\" with {}.", lines.join(", "))
        }
    };
    let (severity, message, fix) = if is_public_suffix_like(base) {
        (
            Severity::Warning,
            format!(
                "Wildcard \"{p}\" sits on \"{base}\", a registry suffix: it allows the bare domain of \
                 every organisation registered under \"{base}\" as your MX."
            ),
            exact_fix(),
        )
    } else if let Some((namespace, provider)) = shared_namespace(base) {
        let presets = provider_presets(&matched);
        let fix = match presets.first() {
            Some(preset) => {
                let lines: Vec<String> = preset.patterns.iter().map(|x| format!("\"mx: {x}\"")).collect();
                format!(
                    "Replace \"{p}\" with the {} preset: {}.",
                    preset.name,
                    lines.join(", ")
                )
            }
            None => exact_fix(),
        };
        (
            Severity::Warning,
            format!(
                "Wildcard \"{p}\" covers part of \"{namespace}\", a namespace {provider} shares with \
                 its other customers: hosts you do not control would pass as your MX."
            ),
            fix,
        )
    } else if matched.len() == 1 {
        let host = &matched[0];
        (
            Severity::Info,
            format!(
                "Wildcard \"{p}\" is only used by \"{host}\"; it could be exact, so that no other \
                 host under \"{base}\" passes as your MX."
            ),
            format!(
                "Replace \"{p}\" with \"mx: {host}\", unless more MX hosts under \"{base}\" are planned."
            ),
        )
    } else {
        return None;
    };
    Some(LintFinding {
        code: LintCode::OverBroad,
        severity,
        message,
        fix,
        mx: None,
        pattern: Some(p.clone()),
    })
}

fn cert_findings(hosts: &[String], certs: &[MxCertNames]) -> Vec<LintFinding> {
    let mut out = Vec::new();
    for host in hosts {
        let mut names: Vec<String> = Vec::new();
        for c in certs {
            if c.dns_names.is_empty() || normalize_host(&c.mx_host).as_deref() != Some(host.as_str()) {
                continue;
            }
            if c.dns_names.iter().any(|n| cert_name_matches(n, host)) {
                continue;
            }
            for n in &c.dns_names {
                let n = n.trim().to_ascii_lowercase();
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        if names.is_empty() {
            continue;
        }
        let parent = host
            .split_once('.')
            .map(|(_, rest)| rest)
            .filter(|rest| rest.contains('.'));
        let wildcard_hint = parent
            .map(|rest| format!(" (or \"*.{rest}\")"))
            .unwrap_or_default();
        out.push(LintFinding {
            code: LintCode::CertNameMismatch,
            severity: Severity::Error,
            message: format!(
                "The certificate presented by \"{host}\" is for {}, not \"{host}\": in enforce mode \
                 senders refuse it (certificate-host-mismatch, RFC 8461 §4.2).",
                quoted_list(&names)
            ),
            fix: format!(
                "Install a certificate whose subjectAltName includes \"{host}\"{wildcard_hint}, or point \
                 the MX record at a name the certificate covers and list that name in the policy."
            ),
            mx: Some(host.clone()),
            pattern: None,
        });
    }
    out
}

fn preset_finding(preset: &ProviderPreset) -> LintFinding {
    let lines: Vec<String> = preset.patterns.iter().map(|p| format!("\"mx: {p}\"")).collect();
    LintFinding {
        code: LintCode::ProviderPreset,
        severity: Severity::Info,
        message: format!(
            "Your MX hosts are at {}; its recommended pattern list is {}.",
            preset.name,
            lines.join(", ")
        ),
        fix: format!(
            "Use {} for the {} MX hosts (patterns for your other MX hosts stay as they are).",
            lines.join(", "),
            preset.name
        ),
        mx: None,
        pattern: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(v: &[&str]) -> Vec<MxPattern> {
        v.iter()
            .map(|s| MxPattern::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}")))
            .collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn cert(host: &str, names: &[&str]) -> MxCertNames {
        MxCertNames {
            mx_host: host.to_owned(),
            dns_names: strings(names),
        }
    }

    /// (code, severity, mx, pattern) of each finding, for compact table assertions.
    fn summary(findings: &[LintFinding]) -> Vec<(&'static str, Severity, Option<String>, Option<String>)> {
        findings
            .iter()
            .map(|f| {
                (
                    f.code.as_str(),
                    f.severity,
                    f.mx.clone(),
                    f.pattern.as_ref().map(|p| p.as_str().to_owned()),
                )
            })
            .collect()
    }

    type Row = (&'static str, Severity, Option<&'static str>, Option<&'static str>);
    /// (patterns, live MX, certificates, expected findings).
    type Case = (
        &'static [&'static str],
        &'static [&'static str],
        Vec<MxCertNames>,
        Vec<Row>,
    );

    fn expect(rows: &[Row]) -> Vec<(&'static str, Severity, Option<String>, Option<String>)> {
        rows.iter()
            .map(|(c, s, m, p)| (*c, *s, m.map(str::to_owned), p.map(str::to_owned)))
            .collect()
    }

    use Severity::{Error as E, Info as I, Warning as W};

    #[test]
    fn findings_table() {
        let cases: Vec<Case> = vec![
            // Clean: exact pattern, IDN/case/trailing dot on the live name, matching cert.
            (
                &["mx.example.com"],
                &["MX.Example.COM."],
                vec![cert("mx.example.com.", &["MX.EXAMPLE.COM"])],
                vec![],
            ),
            (
                &["mx.bücher.example"],
                &["MX.BÜCHER.example."],
                vec![cert("mx.xn--bcher-kva.example", &["*.xn--bcher-kva.example"])],
                vec![],
            ),
            // Empty live MX list (or only blanks) → exactly one no-mx.
            (
                &["mx.example.com"],
                &[],
                vec![cert("mx.example.com", &["other.example"])],
                vec![("no-mx", E, None, None)],
            ),
            (
                &["mx.example.com"],
                &[".", " "],
                vec![],
                vec![("no-mx", E, None, None)],
            ),
            // Uncovered MX + unused pattern.
            (
                &["old.example.com", "mx1.example.com"],
                &["mx1.example.com", "mx2.example.com"],
                vec![],
                vec![
                    ("mx-not-covered", E, Some("mx2.example.com"), None),
                    ("pattern-unused", W, None, Some("old.example.com")),
                ],
            ),
            // Wildcard too shallow: a.b.example.com; plus the wildcard covers only mx.
            (
                &["*.example.com"],
                &["mx.example.com", "a.b.example.com"],
                vec![],
                vec![
                    ("mx-not-covered", E, Some("a.b.example.com"), None),
                    (
                        "wildcard-depth",
                        W,
                        Some("a.b.example.com"),
                        Some("*.example.com"),
                    ),
                    ("over-broad", I, None, Some("*.example.com")),
                ],
            ),
            // Wildcard never matches its own base.
            (
                &["*.example.com"],
                &["example.com"],
                vec![],
                vec![
                    ("mx-not-covered", E, Some("example.com"), None),
                    ("wildcard-depth", W, Some("example.com"), Some("*.example.com")),
                    ("pattern-unused", W, None, Some("*.example.com")),
                ],
            ),
            // Deeper host covered by an exact pattern: no wildcard-depth.
            (
                &["*.example.com", "a.b.example.com"],
                &["mx1.example.com", "mx2.example.com", "a.b.example.com"],
                vec![],
                vec![],
            ),
            // Certificate mismatches, IDN and case included; an unprobed host is skipped.
            (
                &["*.example.com"],
                &["mx1.example.com", "mx2.example.com", "mx3.example.com"],
                vec![
                    cert("mx1.example.com", &["mail.other.example", "*.other.example"]),
                    cert("MX2.example.com.", &["*.EXAMPLE.COM."]),
                    cert("mx3.example.com", &[]),
                ],
                vec![("cert-name-mismatch", E, Some("mx1.example.com"), None)],
            ),
            (
                &["mx.bücher.example"],
                &["mx.bücher.example"],
                vec![cert("mx.bücher.example", &["mx.bucher.example"])],
                vec![("cert-name-mismatch", E, Some("mx.xn--bcher-kva.example"), None)],
            ),
            // Over-broad: registry suffix and shared provider namespace.
            (
                &["*.co.uk"],
                &["example.co.uk"],
                vec![],
                vec![("over-broad", W, None, Some("*.co.uk"))],
            ),
            (
                &["*.google.com"],
                &["smtp.google.com"],
                vec![],
                vec![
                    ("over-broad", W, None, Some("*.google.com")),
                    ("provider-preset", I, None, None),
                ],
            ),
            (
                &["*.protection.outlook.com"],
                &["contoso-com.mail.protection.outlook.com"],
                vec![],
                vec![
                    (
                        "mx-not-covered",
                        E,
                        Some("contoso-com.mail.protection.outlook.com"),
                        None,
                    ),
                    (
                        "wildcard-depth",
                        W,
                        Some("contoso-com.mail.protection.outlook.com"),
                        Some("*.protection.outlook.com"),
                    ),
                    ("pattern-unused", W, None, Some("*.protection.outlook.com")),
                    ("over-broad", W, None, Some("*.protection.outlook.com")),
                    ("provider-preset", I, None, None),
                ],
            ),
            // Provider wildcards are never over-broad, and a matching preset is silent.
            (
                &["*.mail.protection.outlook.com"],
                &["contoso-com.mail.protection.outlook.com."],
                vec![],
                vec![],
            ),
            (
                &["aspmx.l.google.com", "*.aspmx.l.google.com"],
                &[
                    "aspmx.l.google.com",
                    "alt1.aspmx.l.google.com",
                    "alt2.aspmx.l.google.com",
                    "ALT3.aspmx.l.google.com.",
                    "alt4.aspmx.l.google.com",
                ],
                vec![],
                vec![],
            ),
            // Exact Google names: covered, but the preset is proposed.
            (
                &[
                    "aspmx.l.google.com",
                    "alt1.aspmx.l.google.com",
                    "alt2.aspmx.l.google.com",
                ],
                &[
                    "aspmx.l.google.com",
                    "alt1.aspmx.l.google.com",
                    "alt2.aspmx.l.google.com",
                ],
                vec![],
                vec![("provider-preset", I, None, None)],
            ),
            // Invalid live MX name: uncovered, fix explains it can't be listed.
            (
                &["mx.example.com"],
                &["mx.example.com", "bad_host.example.com"],
                vec![],
                vec![("mx-not-covered", E, Some("bad_host.example.com"), None)],
            ),
        ];
        for (patterns, live, certs, expected) in cases {
            let got = lint_policy(&pats(patterns), &strings(live), &certs);
            assert_eq!(
                summary(&got),
                expect(&expected),
                "{patterns:?} {live:?} {certs:?}\n{got:#?}"
            );
            for f in &got {
                assert!(!f.message.is_empty() && !f.fix.is_empty(), "{f:?}");
            }
        }
    }

    #[test]
    fn fixes_name_the_right_pattern() {
        let got = lint_policy(
            &pats(&["*.example.com"]),
            &strings(&["a.b.example.com", "c.example.com", "d.example.com"]),
            &[],
        );
        let depth = got.iter().find(|f| f.code == LintCode::WildcardDepth).unwrap();
        assert!(depth.fix.contains("\"mx: a.b.example.com\""), "{}", depth.fix);
        assert!(depth.fix.contains("\"mx: *.b.example.com\""), "{}", depth.fix);
        let uncovered = got.iter().find(|f| f.code == LintCode::MxNotCovered).unwrap();
        assert!(
            uncovered.fix.contains("\"mx: a.b.example.com\""),
            "{}",
            uncovered.fix
        );

        let got = lint_policy(&[], &strings(&["tenant.mail.protection.outlook.com"]), &[]);
        let uncovered = got.iter().find(|f| f.code == LintCode::MxNotCovered).unwrap();
        assert!(
            uncovered.fix.contains("*.mail.protection.outlook.com"),
            "{}",
            uncovered.fix
        );

        let got = lint_policy(
            &pats(&["mx.example.com"]),
            &strings(&["bad_host.example.com"]),
            &[],
        );
        let uncovered = got.iter().find(|f| f.code == LintCode::MxNotCovered).unwrap();
        assert!(uncovered.fix.contains("cannot be listed"), "{}", uncovered.fix);

        let got = lint_policy(&pats(&["*.google.com"]), &strings(&["smtp.google.com"]), &[]);
        let broad = got.iter().find(|f| f.code == LintCode::OverBroad).unwrap();
        assert!(broad.fix.contains("\"mx: smtp.google.com\""), "{}", broad.fix);

        let got = lint_policy(&pats(&["mx.example.com"]), &strings(&["."]), &[]);
        assert!(got[0].message.contains("null MX"), "{got:?}");
    }

    #[test]
    fn ordering_is_by_severity_then_mx_then_pattern() {
        let got = lint_policy(
            &pats(&["z.example.com", "a.example.com", "*.example.org"]),
            &strings(&["y.example.net", "b.example.net", "q.example.org"]),
            &[cert("q.example.org", &["wrong.example"])],
        );
        assert_eq!(
            summary(&got),
            expect(&[
                ("mx-not-covered", E, Some("b.example.net"), None),
                ("cert-name-mismatch", E, Some("q.example.org"), None),
                ("mx-not-covered", E, Some("y.example.net"), None),
                ("pattern-unused", W, None, Some("a.example.com")),
                ("pattern-unused", W, None, Some("z.example.com")),
                ("over-broad", I, None, Some("*.example.org")),
            ])
        );
        // Same input in another order → same output.
        let again = lint_policy(
            &pats(&["*.example.org", "a.example.com", "z.example.com", "a.example.com"]),
            &strings(&[
                "q.example.org",
                "b.example.net",
                "y.example.net",
                "B.example.net.",
            ]),
            &[
                cert("q.example.org", &["wrong.example"]),
                cert("q.example.org.", &["wrong.example"]),
            ],
        );
        assert_eq!(got, again);
    }

    #[test]
    fn cert_name_matching() {
        for (name, host, expected) in [
            ("mx.example.com", "mx.example.com", true),
            ("MX.Example.COM", "mx.example.com.", true),
            ("mx.example.com.", "MX.EXAMPLE.COM", true),
            ("*.example.com", "mx.example.com", true),
            ("*.EXAMPLE.com.", "Mx.Example.Com", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", "a.b.example.com", false),
            ("*.com", "example.com", false),
            ("*", "example", false),
            ("m*.example.com", "mx.example.com", false),
            ("*.*.example.com", "a.b.example.com", false),
            ("mx.example.com", "mx.example.org", false),
            ("", "mx.example.com", false),
            ("mx.example.com", "", false),
            ("*.example.com", "*.example.com", false),
            ("*.xn--bcher-kva.example", "mx.bücher.example", true),
            ("mx.bücher.example", "MX.XN--BCHER-KVA.EXAMPLE", true),
            ("*.bücher.example", "mx.xn--bcher-kva.example", true),
            ("*..example.com", "a..example.com", false),
        ] {
            assert_eq!(cert_name_matches(name, host), expected, "{name:?} vs {host:?}");
        }
    }

    #[test]
    fn presets() {
        let names = |live: &[&str]| -> Vec<(String, Vec<String>)> {
            provider_presets(&strings(live))
                .into_iter()
                .map(|p| (p.name, p.patterns.iter().map(|x| x.as_str().to_owned()).collect()))
                .collect()
        };
        let own = |v: &[&str]| strings(v);
        assert_eq!(names(&["mx.example.com"]), vec![]);
        assert_eq!(names(&[]), vec![]);
        assert_eq!(
            names(&["Contoso-com.mail.protection.outlook.com."]),
            vec![(
                "Microsoft 365".to_owned(),
                own(&["*.mail.protection.outlook.com"])
            )]
        );
        assert_eq!(
            names(&["alt2.aspmx.l.google.com"]),
            vec![(
                "Google Workspace".to_owned(),
                own(&["aspmx.l.google.com", "*.aspmx.l.google.com"])
            )]
        );
        assert_eq!(
            names(&["SMTP.google.com."]),
            vec![("Google Workspace".to_owned(), own(&["smtp.google.com"]))]
        );
        assert_eq!(
            names(&[
                "smtp.google.com",
                "aspmx.l.google.com",
                "x.mail.protection.outlook.com"
            ]),
            vec![
                (
                    "Microsoft 365".to_owned(),
                    own(&["*.mail.protection.outlook.com"])
                ),
                (
                    "Google Workspace".to_owned(),
                    own(&["aspmx.l.google.com", "*.aspmx.l.google.com", "smtp.google.com"])
                ),
            ]
        );
        // Two labels under the Microsoft base is not a Microsoft 365 MX.
        assert_eq!(names(&["a.b.mail.protection.outlook.com"]), vec![]);
    }

    #[test]
    fn preset_finding_only_when_missing() {
        let live = strings(&["contoso-com.mail.protection.outlook.com", "backup.example.com"]);
        let with = lint_policy(
            &pats(&["*.mail.protection.outlook.com", "backup.example.com"]),
            &live,
            &[],
        );
        assert_eq!(summary(&with), vec![]);
        let without = lint_policy(
            &pats(&["contoso-com.mail.protection.outlook.com", "backup.example.com"]),
            &live,
            &[],
        );
        assert_eq!(summary(&without), expect(&[("provider-preset", I, None, None)]));
        assert!(without[0].message.contains("Microsoft 365"));
        assert!(without[0].fix.contains("*.mail.protection.outlook.com"));
    }

    #[test]
    fn heuristics() {
        for (base, expected) in [
            ("co.uk", true),
            ("com.au", true),
            ("ne.jp", true),
            ("example.com", false),
            ("co.example", false),
            ("example.uk", false),
            ("co.u1", false),
        ] {
            assert_eq!(is_public_suffix_like(base), expected, "{base}");
        }
        for (base, expected) in [
            ("outlook.com", Some("outlook.com")),
            ("protection.outlook.com", Some("outlook.com")),
            ("notoutlook.com", None),
            ("eu-west-1.compute.amazonaws.com", Some("amazonaws.com")),
            ("example.com", None),
        ] {
            assert_eq!(shared_namespace(base).map(|(ns, _)| ns), expected, "{base}");
        }
    }

    #[test]
    fn codes_serialise_as_documented() {
        for (code, text) in [
            (LintCode::NoMx, "no-mx"),
            (LintCode::MxUnknown, "mx-unknown"),
            (LintCode::MxNotCovered, "mx-not-covered"),
            (LintCode::PatternUnused, "pattern-unused"),
            (LintCode::WildcardDepth, "wildcard-depth"),
            (LintCode::CertNameMismatch, "cert-name-mismatch"),
            (LintCode::OverBroad, "over-broad"),
            (LintCode::ProviderPreset, "provider-preset"),
        ] {
            assert_eq!(code.as_str(), text);
            assert_eq!(code.to_string(), text);
            use serde::de::IntoDeserializer;
            use serde::de::value::Error as DeError;
            let back: Result<LintCode, DeError> = LintCode::deserialize(text.into_deserializer());
            assert_eq!(back, Ok(code));
        }
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
    }

    #[test]
    fn a_failed_lookup_is_not_a_missing_mx() {
        let f = mx_unknown_finding("request timed out");
        assert_eq!((f.code, f.severity), (LintCode::MxUnknown, Severity::Warning));
        assert!(f.message.contains("request timed out"), "{}", f.message);
        assert!(!f.message.contains("no MX records"), "{}", f.message);
    }

    #[test]
    fn no_panic_on_odd_input() {
        let odd = strings(&[
            "",
            ".",
            "..",
            "*",
            "*.",
            "*.example.com",
            "\u{0}",
            "ß.example",
            "xn--.example",
            &"a".repeat(400),
            "-bad-.example",
        ]);
        let certs: Vec<MxCertNames> = odd
            .iter()
            .map(|h| cert(h, &["*.", "*", "", "*.*.x", "..."]))
            .collect();
        for patterns in [pats(&[]), pats(&["*.example.com", "mx.example.com"])] {
            let _ = lint_policy(&patterns, &odd, &certs);
        }
    }
}
