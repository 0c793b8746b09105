//! MTA-STS (RFC 8461) rules, plus the TLS-RPT (RFC 8460) TXT record.
//!
//! Everything here is pure: no IO, no clocks, no randomness, so it builds for wasm.
//!
//! - [`policy`]: the policy model ([`Mode`], [`MxPattern`], [`MaxAge`], [`Policy`]),
//!   RFC 8461 §3.2 and the MX matching rule of §4.1.
//! - [`render`]: the exact policy body served at `/.well-known/mta-sts.txt` (§3.2, §3.3).
//! - [`parse`]: a careful client-side parser for policy bodies (§3.2), with warnings
//!   for the lenient accepts.
//! - [`txt`]: the `_mta-sts` TXT record (§3.1) and the `_smtp._tls` TLS-RPT TXT record
//!   (RFC 8460 §3).
//! - [`coverage`]: policy-versus-live-MX checks and pattern proposals used by the UI/CLI.
//! - [`lint`]: the policy linter: patterns against live MX hosts and their certificates.
//! - [`readiness`]: the testing → enforce checklist.
//! - [`planner`]: the safe step sequence for changing MX hosts.

pub mod coverage;
pub mod lint;
pub mod parse;
pub mod planner;
pub mod policy;
pub mod readiness;
pub mod render;
pub mod txt;

pub use coverage::{Coverage, KNOWN_PROVIDER_WILDCARDS, check_coverage, propose_patterns};
pub use lint::{
    LintCode, LintFinding, MxCertNames, ProviderPreset, Severity, cert_name_matches, lint_policy,
    mx_unknown_finding, provider_presets,
};
pub use parse::{Extension, MAX_POLICY_BYTES, ParsedPolicy, PolicyParseError, PolicyWarning, parse_policy};
pub use planner::{MxChangePlan, PlanAction, PlanStep, advance, plan_mx_change};
pub use policy::{MaxAge, Mode, MxPattern, Policy, PolicyError};
pub use readiness::{
    FailureImpact, MxProbeSummary, Readiness, ReadinessCheck, ReadinessCode, ReadinessInput,
    ReportFailureSummary, evaluate_readiness, failure_impact,
};
pub use render::{POLICY_MEDIA_TYPE, POLICY_PATH};
pub use txt::{
    PolicyId, RuaScheme, StsRecord, TlsRptRecord, TxtError, TxtWarning, check_rua_uri, find_sts_record,
    find_tlsrpt_record, parse_sts_txt, parse_tlsrpt_txt, sts_txt, tlsrpt_txt,
};

/// At most `max` characters of `s`, with `…` appended when cut; keeps error messages short
/// when the offending input is huge (e.g. a 128 KiB policy line).
pub(crate) fn excerpt(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn excerpt_cuts_on_char_boundaries() {
        for (input, max, expected) in [
            ("", 3, ""),
            ("abc", 3, "abc"),
            ("abcd", 3, "abc…"),
            ("ææææ", 2, "ææ…"),
            ("a", 0, "…"),
        ] {
            assert_eq!(excerpt(input, max), expected, "{input:?} {max}");
        }
    }
}
