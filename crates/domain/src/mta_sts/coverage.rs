//! Policy versus reality: do a policy's `mx` patterns cover the domain's live MX hosts
//! (RFC 8461 §4.1 matching), and which patterns to propose for a given MX set.

use serde::{Deserialize, Serialize};

use super::policy::{MxPattern, normalize_host};

/// Result of [`check_coverage`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Live MX hosts that no pattern matches (normalised: lowercase, A-labels, no
    /// trailing dot; deduplicated; input order). In `enforce` mode, RFC 8461 §4.1 senders
    /// refuse to deliver to these hosts.
    pub uncovered_mx: Vec<String>,
    /// Patterns that match none of the live MX hosts (policy order). Harmless for
    /// delivery, but usually stale entries.
    pub unused_patterns: Vec<MxPattern>,
}

impl Coverage {
    /// Every live MX host is matched by some pattern.
    pub fn is_complete(&self) -> bool {
        self.uncovered_mx.is_empty()
    }

    /// Every live MX host is covered and every pattern is used.
    pub fn is_exact(&self) -> bool {
        self.uncovered_mx.is_empty() && self.unused_patterns.is_empty()
    }
}

/// Compares policy `patterns` with the domain's live MX hostnames using the RFC 8461 §4.1
/// rule (exact match, or a wildcard covering exactly one leftmost label; case-insensitive;
/// trailing dots ignored).
///
/// Live hosts are normalised first. Empty names and the null MX `.` (RFC 7505: the domain
/// accepts no mail) are skipped, as are names that are not valid IDNA.
pub fn check_coverage(patterns: &[MxPattern], live_mx: &[String]) -> Coverage {
    let hosts = normalized_hosts(live_mx);
    let uncovered_mx = hosts
        .iter()
        .filter(|h| !patterns.iter().any(|p| p.matches(h)))
        .cloned()
        .collect();
    let mut unused_patterns: Vec<MxPattern> = Vec::new();
    for p in patterns {
        if !hosts.iter().any(|h| p.matches(h)) && !unused_patterns.contains(p) {
            unused_patterns.push(p.clone());
        }
    }
    Coverage {
        uncovered_mx,
        unused_patterns,
    }
}

/// Wildcards proposed for MX hosts of well-known providers, as `(provider, pattern)`.
///
/// A host gets the provider wildcard only if the wildcard actually matches it, i.e. the host
/// is exactly one label under the wildcard's base (RFC 8461 §4.1): for Google Workspace,
/// `alt1.aspmx.l.google.com` … `alt4.aspmx.l.google.com` are covered by
/// `*.aspmx.l.google.com`, but the primary `aspmx.l.google.com` is not (a wildcard never
/// matches its own base name), so it stays an exact pattern.
pub const KNOWN_PROVIDER_WILDCARDS: &[(&str, &str)] = &[
    // <tenant>.mail.protection.outlook.com
    ("Microsoft 365", "*.mail.protection.outlook.com"),
    // aspmx.l.google.com (exact) + alt1..alt4.aspmx.l.google.com
    ("Google Workspace", "*.aspmx.l.google.com"),
    // Legacy Gmail/Workspace MX names: alt1.gmail-smtp-in.l.google.com etc.
    ("Google (gmail-smtp-in)", "*.gmail-smtp-in.l.google.com"),
    // <region>-smtp-inbound-<n>.mimecast.com
    ("Mimecast", "*.mimecast.com"),
];

/// Proposes `mx` patterns for a domain's live MX set.
///
/// Each live host (normalised: lowercase, A-labels, trailing dot stripped) becomes an exact
/// pattern, unless one of the [`KNOWN_PROVIDER_WILDCARDS`] matches it, in which case that
/// wildcard is proposed instead (providers add and rotate such hosts). Results are
/// deduplicated and keep the order of first appearance, so pass the MX set sorted by
/// preference for a natural order. Hosts that are not valid MX patterns (empty, the null
/// MX `.`, syntax errors) are skipped.
///
/// The proposal always covers every valid live host: `check_coverage(&propose_patterns(mx),
/// mx).is_complete()` holds for hosts that parse.
pub fn propose_patterns(live_mx: &[String]) -> Vec<MxPattern> {
    let wildcards: Vec<MxPattern> = KNOWN_PROVIDER_WILDCARDS
        .iter()
        .filter_map(|(_, p)| MxPattern::parse(p).ok())
        .collect();
    let mut out: Vec<MxPattern> = Vec::new();
    for host in normalized_hosts(live_mx) {
        let proposal = match wildcards.iter().find(|w| w.matches(&host)) {
            Some(w) => w.clone(),
            None => match MxPattern::parse(&host) {
                Ok(p) => p,
                Err(_) => continue,
            },
        };
        if !out.contains(&proposal) {
            out.push(proposal);
        }
    }
    out
}

/// Normalised, non-empty, deduplicated hosts in input order.
pub(super) fn normalized_hosts(live_mx: &[String]) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for h in live_mx {
        if let Some(n) = normalize_host(h)
            && !n.is_empty()
            && !hosts.contains(&n)
        {
            hosts.push(n);
        }
    }
    hosts
}

/// The patterns without repeats, in input order.
pub(super) fn dedup(patterns: &[MxPattern]) -> Vec<MxPattern> {
    let mut out: Vec<MxPattern> = Vec::new();
    for p in patterns {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(v: &[&str]) -> Vec<MxPattern> {
        v.iter().map(|s| MxPattern::parse(s).unwrap()).collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn coverage_table() {
        for (patterns, live, uncovered, unused) in [
            (
                &["mail.example.com"][..],
                &["mail.example.com."][..],
                &[][..],
                &[][..],
            ),
            (
                &["*.example.com"],
                &["MX1.example.com", "mx2.example.com"],
                &[],
                &[],
            ),
            (
                &["*.example.com"],
                &["example.com", "a.b.example.com"],
                &["example.com", "a.b.example.com"],
                &["*.example.com"],
            ),
            (
                &["mx1.example.com", "old.example.com", "*.example.net"],
                &["mx1.example.com", "mx2.example.com", "mx2.example.com."],
                &["mx2.example.com"],
                &["old.example.com", "*.example.net"],
            ),
            (&["mx.example.com"], &[], &[], &["mx.example.com"]),
            (&[], &["mx.example.com"], &["mx.example.com"], &[]),
            (&["mx.example.com"], &[".", "", "  "], &[], &["mx.example.com"]),
            (
                &["*.aspmx.l.google.com"],
                &["aspmx.l.google.com", "alt1.aspmx.l.google.com"],
                &["aspmx.l.google.com"],
                &[],
            ),
            (&["*.xn--bcher-kva.example"], &["mx.bücher.example"], &[], &[]),
        ] {
            let got = check_coverage(&pats(patterns), &strings(live));
            assert_eq!(got.uncovered_mx, strings(uncovered), "{patterns:?} {live:?}");
            assert_eq!(got.unused_patterns, pats(unused), "{patterns:?} {live:?}");
            assert_eq!(got.is_complete(), uncovered.is_empty());
            assert_eq!(got.is_exact(), uncovered.is_empty() && unused.is_empty());
        }
    }

    #[test]
    fn proposals() {
        for (live, expected) in [
            (&["mail.example.com."][..], &["mail.example.com"][..]),
            (
                &["MX2.Example.com", "mx1.example.com", "mx2.example.com."],
                &["mx2.example.com", "mx1.example.com"],
            ),
            (
                &["contoso-com.mail.protection.outlook.com."],
                &["*.mail.protection.outlook.com"],
            ),
            (
                &[
                    "aspmx.l.google.com",
                    "alt1.aspmx.l.google.com",
                    "alt2.aspmx.l.google.com",
                    "alt3.aspmx.l.google.com",
                    "alt4.aspmx.l.google.com",
                ],
                &["aspmx.l.google.com", "*.aspmx.l.google.com"],
            ),
            (
                &["alt1.aspmx.l.google.com", "alt2.aspmx.l.google.com"],
                &["*.aspmx.l.google.com"],
            ),
            (&["smtp.google.com"], &["smtp.google.com"]),
            (
                &["aspmx2.googlemail.com", "aspmx3.googlemail.com"],
                &["aspmx2.googlemail.com", "aspmx3.googlemail.com"],
            ),
            (
                &["eu-smtp-inbound-1.mimecast.com", "eu-smtp-inbound-2.mimecast.com"],
                &["*.mimecast.com"],
            ),
            // Two labels under the provider base: the single-label wildcard would not match.
            (
                &["a.b.mail.protection.outlook.com"],
                &["a.b.mail.protection.outlook.com"],
            ),
            (&["mx.bücher.example"], &["mx.xn--bcher-kva.example"]),
            (
                &[".", "", "bad_host.example", "mx.example.com"],
                &["mx.example.com"],
            ),
            (&[], &[]),
        ] {
            let live = strings(live);
            let got = propose_patterns(&live);
            assert_eq!(got, pats(expected), "{live:?}");
            assert!(
                check_coverage(&got, &live)
                    .uncovered_mx
                    .iter()
                    .all(|h| h.contains('_'))
            );
        }
    }

    #[test]
    fn known_wildcards_parse() {
        for (provider, p) in KNOWN_PROVIDER_WILDCARDS {
            let pat = MxPattern::parse(p).unwrap_or_else(|e| panic!("{provider}: {e}"));
            assert!(pat.is_wildcard(), "{provider}");
            assert_eq!(pat.as_str(), *p);
        }
    }
}
