//! Hosting customer domains: the domain name itself, the three CNAMEs that delegate a
//! domain's MTA-STS and TLS-RPT records to Moat's zone, and the verdicts of checking them.

use crate::mta_sts::policy::{check_ldh_name, to_a_labels};
use crate::mta_sts::{MaxAge, Mode, MxPattern};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A customer domain, stored as lowercase A-labels without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

/// Why a domain name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DomainNameError(String);

/// The longest domain we accept: `_smtp._tls.` + D + `.` + a zone of up to 64 characters
/// must still fit the 253-character DNS limit.
pub const MAX_DOMAIN_LEN: usize = 253 - "_smtp._tls.".len() - 1 - 64;

impl DomainName {
    /// Parses what a user typed: trims, strips `http(s)://`-free input only (a URL is
    /// refused with a hint), one trailing dot, lowercases, converts U-labels to A-labels.
    /// A domain needs at least two labels and may not start with `_` or `*`.
    pub fn parse(input: &str) -> Result<DomainName, DomainNameError> {
        let t = input.trim();
        if t.is_empty() {
            return Err(DomainNameError("enter a domain such as example.com".into()));
        }
        if t.contains("://") || t.contains('/') || t.contains('@') {
            return Err(DomainNameError(
                "enter the bare domain (example.com), not a URL or an address".into(),
            ));
        }
        let t = t.strip_suffix('.').unwrap_or(t);
        let ascii = to_a_labels(t).map_err(DomainNameError)?;
        let labels = check_ldh_name(&ascii).map_err(DomainNameError)?;
        if labels < 2 {
            return Err(DomainNameError(
                "a domain has at least two labels, such as example.com".into(),
            ));
        }
        if ascii.len() > MAX_DOMAIN_LEN {
            return Err(DomainNameError(format!(
                "longer than {MAX_DOMAIN_LEN} characters (the delegated names must fit in DNS)"
            )));
        }
        if ascii
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(DomainNameError("an IP address is not a domain".into()));
        }
        Ok(DomainName(ascii))
    }

    /// The A-label form (what DNS and the database use).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The U-label form for display (`xn--bcher-kva.example` → `bücher.example`).
    pub fn unicode(&self) -> String {
        to_unicode(&self.0)
    }

    /// Whether this name is `zone` or lies inside it.
    pub fn is_within(&self, zone: &str) -> bool {
        self.0 == zone || self.0.ends_with(&format!(".{zone}"))
    }
}

/// U-label form of an A-label name, or the input unchanged when conversion fails.
pub fn to_unicode(ascii: &str) -> String {
    let (s, result) = idna::domain_to_unicode(ascii);
    if result.is_ok() { s } else { ascii.to_owned() }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DomainName {
    type Error = DomainNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        DomainName::parse(&value)
    }
}

impl From<DomainName> for String {
    fn from(value: DomainName) -> Self {
        value.0
    }
}

/// What Moat does for a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainKind {
    /// Moat hosts MTA-STS (policy, `_mta-sts` TXT) and the TLS-RPT record.
    Hosted,
    /// The owner hosts MTA-STS elsewhere; Moat only hosts `_smtp._tls` and receives reports.
    ReportingOnly,
}

impl DomainKind {
    /// Database / JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainKind::Hosted => "hosted",
            DomainKind::ReportingOnly => "reporting_only",
        }
    }
    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<DomainKind> {
        match s {
            "hosted" => Some(DomainKind::Hosted),
            "reporting_only" => Some(DomainKind::ReportingOnly),
            _ => None,
        }
    }
    /// The records the owner must publish for this kind.
    pub fn required_records(self) -> &'static [RecordKind] {
        match self {
            DomainKind::Hosted => &RecordKind::ALL,
            DomainKind::ReportingOnly => &[RecordKind::TlsRpt],
        }
    }
}

/// A domain's life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainState {
    /// Added; the records have not all been seen yet. Nothing but `_smtp._tls` is served.
    Pending,
    /// Every required record was seen pointing at Moat.
    Active,
    /// It was active, then a required record broke. Moat keeps serving.
    Degraded,
}

impl DomainState {
    /// Database / JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainState::Pending => "pending",
            DomainState::Active => "active",
            DomainState::Degraded => "degraded",
        }
    }
    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<DomainState> {
        match s {
            "pending" => Some(DomainState::Pending),
            "active" => Some(DomainState::Active),
            "degraded" => Some(DomainState::Degraded),
            _ => None,
        }
    }
    /// Whether Moat serves the policy and its records (it has been verified once).
    pub fn is_serving(self) -> bool {
        matches!(self, DomainState::Active | DomainState::Degraded)
    }
    /// The state after a check whose required records were all OK (`all_ok`) or not.
    pub fn after_check(self, all_ok: bool) -> DomainState {
        match (self, all_ok) {
            (_, true) => DomainState::Active,
            (DomainState::Pending, false) => DomainState::Pending,
            (_, false) => DomainState::Degraded,
        }
    }
}

/// One of the three delegating CNAMEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// `mta-sts.D` → the policy host.
    PolicyHost,
    /// `_mta-sts.D` → the `v=STSv1; id=…` TXT.
    StsTxt,
    /// `_smtp._tls.D` → the `v=TLSRPTv1; rua=…` TXT.
    TlsRpt,
}

impl RecordKind {
    /// All three, in the order shown to users.
    pub const ALL: [RecordKind; 3] = [RecordKind::PolicyHost, RecordKind::StsTxt, RecordKind::TlsRpt];

    /// The label(s) put in front of the domain.
    pub fn prefix(self) -> &'static str {
        match self {
            RecordKind::PolicyHost => "mta-sts",
            RecordKind::StsTxt => "_mta-sts",
            RecordKind::TlsRpt => "_smtp._tls",
        }
    }

    /// The name the owner publishes: `mta-sts.example.com`.
    pub fn name(self, domain: &str) -> String {
        format!("{}.{domain}", self.prefix())
    }

    /// Where it must point: `mta-sts.example.com.<zone>`.
    pub fn target(self, domain: &str, zone: &str) -> String {
        format!("{}.{domain}.{zone}", self.prefix())
    }

    /// A short explanation for the UI.
    pub fn purpose(self) -> &'static str {
        match self {
            RecordKind::PolicyHost => "serves the policy file over HTTPS (RFC 8461 §3.3)",
            RecordKind::StsTxt => "announces the policy and its id (RFC 8461 §3.1)",
            RecordKind::TlsRpt => "tells senders where to send TLS reports (RFC 8460 §3)",
        }
    }
}

/// The verdict for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RecordStatus {
    /// The CNAME points at Moat.
    Ok,
    /// Nothing at that name (NXDOMAIN or no CNAME/TXT).
    Missing,
    /// A CNAME points elsewhere.
    WrongTarget {
        /// The target found.
        found: String,
    },
    /// A TXT (or address) record sits at the name instead of the CNAME; the owner must
    /// delete it, since a CNAME cannot coexist with other records.
    Conflicting {
        /// The records found, as text.
        found: Vec<String>,
    },
    /// The lookup itself failed (timeout, SERVFAIL); retried later.
    Error {
        /// What went wrong.
        message: String,
    },
}

impl RecordStatus {
    /// Whether the record is right.
    pub fn is_ok(&self) -> bool {
        matches!(self, RecordStatus::Ok)
    }
    /// One line for the UI and the CLI.
    pub fn describe(&self) -> String {
        match self {
            RecordStatus::Ok => "OK".into(),
            RecordStatus::Missing => "missing: no CNAME at this name yet".into(),
            RecordStatus::WrongTarget { found } => format!("wrong target: points to {found}"),
            RecordStatus::Conflicting { found } => format!(
                "conflicting record: {} — delete it and publish the CNAME instead",
                found.join(", ")
            ),
            RecordStatus::Error { message } => format!("lookup failed: {message}"),
        }
    }
}

/// One record as checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCheck {
    /// Which record.
    pub kind: RecordKind,
    /// `mta-sts.example.com`.
    pub name: String,
    /// `mta-sts.example.com.<zone>`.
    pub target: String,
    /// Whether this domain needs it.
    pub required: bool,
    /// The verdict; `None` before the first check.
    pub status: Option<RecordStatus>,
}

/// The three records for a domain, as a zone-file snippet the owner can paste.
pub fn zone_snippet(domain: &str, zone: &str, kind: DomainKind) -> String {
    kind.required_records()
        .iter()
        .map(|r| format!("{}. 3600 IN CNAME {}.\n", r.name(domain), r.target(domain, zone)))
        .collect()
}

/// New domains start in testing with a one-day max_age (RFC 8461 §3.2 suggests short
/// lifetimes while testing).
pub fn initial_policy() -> (Mode, MaxAge) {
    (Mode::Testing, MaxAge::ONE_DAY)
}

/// How a policy version differs from the one before it, for the history.
pub fn policy_diff(
    before: Option<(Mode, &[MxPattern], MaxAge)>,
    after: (Mode, &[MxPattern], MaxAge),
) -> Vec<String> {
    let Some((m0, mx0, a0)) = before else {
        return vec!["first version".into()];
    };
    let (m1, mx1, a1) = after;
    let mut out = Vec::new();
    if m0 != m1 {
        out.push(format!("mode {} → {}", m0.as_str(), m1.as_str()));
    }
    for p in mx1.iter().filter(|p| !mx0.contains(p)) {
        out.push(format!("+ mx {p}"));
    }
    for p in mx0.iter().filter(|p| !mx1.contains(p)) {
        out.push(format!("− mx {p}"));
    }
    if a0 != a1 {
        out.push(format!("max_age {} → {}", a0.seconds(), a1.seconds()));
    }
    if out.is_empty() {
        out.push("no change (new id only)".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_names_normalise_to_a_labels() {
        for (input, want) in [
            ("Example.COM", "example.com"),
            (" example.com. ", "example.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("mail.sub.example.co.uk", "mail.sub.example.co.uk"),
        ] {
            assert_eq!(DomainName::parse(input).unwrap().as_str(), want, "{input}");
        }
        assert_eq!(
            DomainName::parse("bücher.example").unwrap().unicode(),
            "bücher.example"
        );
    }

    #[test]
    fn domain_names_refuse_junk() {
        for bad in [
            "",
            "com",
            "https://example.com",
            "example.com/x",
            "a@example.com",
            "exa mple.com",
            "_dmarc.example.com",
            "*.example.com",
            "-a.example.com",
            "example..com",
            "1.2.3.4",
            &format!("{}.com", "a".repeat(64)),
            &format!("{}.example", ["abcdefghij"; 17].join(".")),
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn delegation_names_and_targets() {
        let d = "example.com";
        let z = "sts.moat.example";
        assert_eq!(RecordKind::PolicyHost.name(d), "mta-sts.example.com");
        assert_eq!(
            RecordKind::StsTxt.target(d, z),
            "_mta-sts.example.com.sts.moat.example"
        );
        assert_eq!(
            zone_snippet(d, z, DomainKind::ReportingOnly),
            "_smtp._tls.example.com. 3600 IN CNAME _smtp._tls.example.com.sts.moat.example.\n"
        );
        assert_eq!(zone_snippet(d, z, DomainKind::Hosted).lines().count(), 3);
    }

    #[test]
    fn state_machine() {
        use DomainState::*;
        assert_eq!(Pending.after_check(false), Pending);
        assert_eq!(Pending.after_check(true), Active);
        assert_eq!(Active.after_check(false), Degraded);
        assert_eq!(Degraded.after_check(true), Active);
        assert!(!Pending.is_serving() && Active.is_serving() && Degraded.is_serving());
    }

    #[test]
    fn diffs_name_each_change() {
        let a = MxPattern::parse("mx1.example.com").unwrap();
        let b = MxPattern::parse("*.example.net").unwrap();
        let before = [a.clone()];
        let after = [b.clone()];
        let d = policy_diff(
            Some((Mode::Testing, &before, MaxAge::ONE_DAY)),
            (Mode::Enforce, &after, MaxAge::ONE_WEEK),
        );
        assert_eq!(
            d,
            vec![
                "mode testing → enforce",
                "+ mx *.example.net",
                "− mx mx1.example.com",
                "max_age 86400 → 604800"
            ]
        );
        assert_eq!(
            policy_diff(None, (Mode::Testing, &after, MaxAge::ONE_DAY)),
            vec!["first version"]
        );
    }
}
