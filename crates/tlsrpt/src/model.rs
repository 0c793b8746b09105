//! Owned report model for SMTP TLS Reporting (RFC 8460 §4).
//!
//! The types here are what [`crate::parse_json`] produces. They are
//! deliberately independent of the wire format: every quirk the parser
//! tolerated is recorded as a [`Warning`] on the [`Report`], and values that
//! could not be interpreted are kept in their original form (for example
//! [`ResultType::Unknown`] or [`FailureDetail::sending_mta_ip_raw`]).
//!
//! Text fields are [`Cow`]s: [`crate::parse_json`] borrows them from the input where the
//! sender wrote them without escapes, so a plain report is read without copying its strings;
//! [`Report::into_owned`] detaches a report from its input.
//!
//! All types serialise with serde using the RFC's kebab-case field names.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

pub use crate::describe::ResultTypeInfo;
pub use crate::warning::{Warning, WarningCode};

/// One aggregate TLS report (RFC 8460 §4.4 "JSON Report Schema").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report<'a> {
    /// `organization-name`: the reporting organisation (RFC 8460 §4.4).
    ///
    /// Empty when the report did not carry one; a
    /// [`WarningCode::MissingOrganizationName`] warning is recorded then. A
    /// report always has at least one of `organization_name` and `report_id`.
    pub organization_name: Cow<'a, str>,
    /// `date-range`: the period the report covers (RFC 8460 §4.4).
    pub date_range: DateRange<'a>,
    /// `contact-info`: how to reach the reporting organisation, if given.
    pub contact_info: Option<Cow<'a, str>>,
    /// `report-id`: the sender's unique identifier for this report.
    ///
    /// Empty when the report did not carry one; a
    /// [`WarningCode::MissingReportId`] warning is recorded then.
    pub report_id: Cow<'a, str>,
    /// `policies`: one entry per policy the sender evaluated (RFC 8460 §4.4).
    pub policies: Vec<PolicyResult<'a>>,
    /// Everything the lenient parser had to tolerate or guess, in the order
    /// it was found. Empty for a clean RFC 8460 report.
    pub warnings: Vec<Warning>,
}

impl Report<'_> {
    /// The same report, owning all its text.
    pub fn into_owned(self) -> Report<'static> {
        Report {
            organization_name: owned(self.organization_name),
            date_range: DateRange {
                start: self.date_range.start,
                end: self.date_range.end,
                start_datetime: owned(self.date_range.start_datetime),
                end_datetime: owned(self.date_range.end_datetime),
            },
            contact_info: self.contact_info.map(owned),
            report_id: owned(self.report_id),
            policies: self.policies.into_iter().map(PolicyResult::into_owned).collect(),
            warnings: self.warnings,
        }
    }

    /// The distinct policy domains in this report, normalised to ASCII lower
    /// case without a trailing dot, in order of first appearance.
    ///
    /// Policies without a `policy-domain` contribute nothing.
    pub fn policy_domains(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for domain in self
            .policies
            .iter()
            .filter_map(|p| p.policy.policy_domain.as_deref())
        {
            let normalised = normalise_domain(domain);
            if !normalised.is_empty() && !out.contains(&normalised) {
                out.push(normalised);
            }
        }
        out
    }

    /// Sum of `total-successful-session-count` over all policies, saturating.
    pub fn total_successful_sessions(&self) -> u64 {
        self.policies.iter().fold(0u64, |acc, p| {
            acc.saturating_add(p.summary.total_successful_session_count)
        })
    }

    /// Sum of `total-failure-session-count` over all policies, saturating.
    pub fn total_failure_sessions(&self) -> u64 {
        self.policies.iter().fold(0u64, |acc, p| {
            acc.saturating_add(p.summary.total_failure_session_count)
        })
    }

    /// Failed sessions as the dashboards count them: per policy, its
    /// `total-failure-session-count`, or the sum of its failure details when those add up to
    /// more (a [`WarningCode::CountMismatch`] report). The failure outcomes of
    /// [`Self::tallies`] add up to this.
    pub fn counted_failure_sessions(&self) -> u64 {
        self.policies.iter().fold(0u64, |acc, p| {
            acc.saturating_add(p.summary.total_failure_session_count.max(p.failure_details_sum()))
        })
    }

    /// Whether a warning with the given code was recorded.
    pub fn has_warning(&self, code: WarningCode) -> bool {
        self.warnings.iter().any(|w| w.code == code)
    }

    /// Sessions per outcome, over all policies: [`TALLY_SUCCESS`] for the successful
    /// sessions, each failure detail's result type (wire name) for its sessions, and
    /// [`TALLY_UNCLASSIFIED`] for failures that no failure detail accounts for. Outcomes
    /// with zero sessions are left out; the order is stable (success, then result types in
    /// order of first appearance, then unclassified).
    pub fn tallies(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = Vec::new();
        let mut add = |key: &str, n: u64| {
            if n == 0 {
                return;
            }
            match out.iter_mut().find(|(k, _)| k == key) {
                Some((_, total)) => *total = total.saturating_add(n),
                None => out.push((key.to_owned(), n)),
            }
        };
        add(TALLY_SUCCESS, self.total_successful_sessions());
        let mut unclassified = 0u64;
        for p in &self.policies {
            for d in &p.failure_details {
                add(d.result_type.as_str(), d.failed_session_count);
            }
            unclassified = unclassified.saturating_add(
                p.summary
                    .total_failure_session_count
                    .saturating_sub(p.failure_details_sum()),
            );
        }
        add(TALLY_UNCLASSIFIED, unclassified);
        out
    }
}

/// The [`Report::tallies`] key of successful sessions.
pub const TALLY_SUCCESS: &str = "success";
/// The [`Report::tallies`] key of failed sessions without a failure detail.
pub const TALLY_UNCLASSIFIED: &str = "unclassified";

/// Lower-case a domain name and strip surrounding whitespace and one
/// trailing dot.
pub(crate) fn normalise_domain(domain: &str) -> String {
    let trimmed = domain.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    trimmed.to_ascii_lowercase()
}

/// The `date-range` object (RFC 8460 §4.4): the report's start and end.
///
/// Both instants are stored as UTC Unix seconds next to the strings the
/// sender actually wrote. RFC 8460 §4.4 examples end a daily report at
/// `23:59:59Z`; many senders end at `00:00:00Z` of the following day instead
/// (see [`WarningCode::EndAtNextMidnight`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DateRange<'a> {
    /// Start of the period, UTC Unix seconds.
    pub start: i64,
    /// End of the period, UTC Unix seconds.
    pub end: i64,
    /// `start-datetime` exactly as the sender wrote it (for a JSON number,
    /// its decimal text).
    pub start_datetime: Cow<'a, str>,
    /// `end-datetime` exactly as the sender wrote it.
    pub end_datetime: Cow<'a, str>,
}

/// One element of `policies` (RFC 8460 §4.4): a policy plus its results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyResult<'a> {
    /// The `policy` object.
    pub policy: Policy<'a>,
    /// The `summary` object.
    pub summary: Summary,
    /// `failure-details`; empty when the sender gave none.
    pub failure_details: Vec<FailureDetail<'a>>,
}

impl PolicyResult<'_> {
    /// The same policy result, owning all its text.
    pub fn into_owned(self) -> PolicyResult<'static> {
        PolicyResult {
            policy: Policy {
                policy_type: self.policy.policy_type,
                policy_string: self.policy.policy_string.into_iter().map(owned).collect(),
                policy_domain: self.policy.policy_domain.map(owned),
                mx_host: self.policy.mx_host.into_iter().map(owned).collect(),
            },
            summary: self.summary,
            failure_details: self
                .failure_details
                .into_iter()
                .map(FailureDetail::into_owned)
                .collect(),
        }
    }

    /// Sum of `failed-session-count` over [`Self::failure_details`],
    /// saturating.
    pub fn failure_details_sum(&self) -> u64 {
        self.failure_details
            .iter()
            .fold(0u64, |acc, d| acc.saturating_add(d.failed_session_count))
    }
}

/// The `policy` object (RFC 8460 §4.4 and §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Policy<'a> {
    /// `policy-type`.
    pub policy_type: PolicyType,
    /// `policy-string`: for `sts` the lines of the MTA-STS policy, for
    /// `tlsa` one TLSA record per element. Empty when absent.
    pub policy_string: Vec<Cow<'a, str>>,
    /// `policy-domain`: the recipient domain the policy belongs to.
    pub policy_domain: Option<Cow<'a, str>>,
    /// `mx-host`: MX host patterns from the policy (RFC 8460 §4.4). Empty
    /// when absent, as Microsoft reports always are.
    pub mx_host: Vec<Cow<'a, str>>,
}

/// The `summary` object (RFC 8460 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    /// `total-successful-session-count`.
    pub total_successful_session_count: u64,
    /// `total-failure-session-count` (derived from the failure details when
    /// the sender left it out, see [`WarningCode::MissingFailureTotal`]).
    pub total_failure_session_count: u64,
}

/// One element of `failure-details` (RFC 8460 §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FailureDetail<'a> {
    /// `result-type`: why the sessions failed (RFC 8460 §4.3).
    pub result_type: ResultType,
    /// `sending-mta-ip`, when present and a valid IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sending_mta_ip: Option<IpAddr>,
    /// The original `sending-mta-ip` text when it was present but not a valid
    /// IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sending_mta_ip_raw: Option<Cow<'a, str>>,
    /// `receiving-mx-hostname`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiving_mx_hostname: Option<Cow<'a, str>>,
    /// `receiving-mx-helo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiving_mx_helo: Option<Cow<'a, str>>,
    /// `receiving-ip`, when present and a valid IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiving_ip: Option<IpAddr>,
    /// The original `receiving-ip` text when it was present but not a valid
    /// IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiving_ip_raw: Option<Cow<'a, str>>,
    /// `failed-session-count`.
    pub failed_session_count: u64,
    /// `additional-information`: usually a URI with more detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_information: Option<Cow<'a, str>>,
    /// `failure-reason-code`: free text, often a TLS library error name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason_code: Option<Cow<'a, str>>,
}

impl FailureDetail<'_> {
    /// The same failure detail, owning all its text.
    pub fn into_owned(self) -> FailureDetail<'static> {
        FailureDetail {
            result_type: self.result_type,
            sending_mta_ip: self.sending_mta_ip,
            sending_mta_ip_raw: self.sending_mta_ip_raw.map(owned),
            receiving_mx_hostname: self.receiving_mx_hostname.map(owned),
            receiving_mx_helo: self.receiving_mx_helo.map(owned),
            receiving_ip: self.receiving_ip,
            receiving_ip_raw: self.receiving_ip_raw.map(owned),
            failed_session_count: self.failed_session_count,
            additional_information: self.additional_information.map(owned),
            failure_reason_code: self.failure_reason_code.map(owned),
        }
    }
}

/// `text`, detached from whatever it borrowed from.
fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

/// `policy-type` (RFC 8460 §4.4 and the "Policy Types" of §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// `sts`: an MTA-STS policy (RFC 8461).
    Sts,
    /// `tlsa`: a DANE TLSA record set (RFC 7672).
    Tlsa,
    /// `no-policy-found`: the sender found neither.
    NoPolicyFound,
    /// Any other value, kept verbatim.
    Unknown(String),
}

impl PolicyType {
    /// Interpret a wire value (ASCII case-insensitive, surrounding
    /// whitespace ignored).
    pub fn from_wire(value: &str) -> Self {
        let v = value.trim();
        if v.eq_ignore_ascii_case("sts") {
            Self::Sts
        } else if v.eq_ignore_ascii_case("tlsa") {
            Self::Tlsa
        } else if v.eq_ignore_ascii_case("no-policy-found") {
            Self::NoPolicyFound
        } else {
            Self::Unknown(value.to_owned())
        }
    }

    /// The wire value (the original string for [`Self::Unknown`]).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sts => "sts",
            Self::Tlsa => "tlsa",
            Self::NoPolicyFound => "no-policy-found",
            Self::Unknown(s) => s,
        }
    }

    /// Whether the value is one RFC 8460 defines.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Unknown(_))
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for PolicyType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// `result-type` (RFC 8460 §4.3 "Result Types").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResultType {
    /// `starttls-not-supported` (§4.3.1).
    StarttlsNotSupported,
    /// `certificate-host-mismatch` (§4.3.1).
    CertificateHostMismatch,
    /// `certificate-expired` (§4.3.1).
    CertificateExpired,
    /// `certificate-not-trusted` (§4.3.1).
    CertificateNotTrusted,
    /// `validation-failure` (§4.3.1, general failure §4.3.3).
    ValidationFailure,
    /// `tlsa-invalid` (§4.3.2.1, DANE).
    TlsaInvalid,
    /// `dnssec-invalid` (§4.3.2.1, DANE).
    DnssecInvalid,
    /// `dane-required` (§4.3.2.1, DANE).
    DaneRequired,
    /// `sts-policy-fetch-error` (§4.3.2.2, MTA-STS).
    StsPolicyFetchError,
    /// `sts-policy-invalid` (§4.3.2.2, MTA-STS).
    StsPolicyInvalid,
    /// `sts-webpki-invalid` (§4.3.2.2, MTA-STS).
    StsWebpkiInvalid,
    /// Any other value, kept verbatim.
    Unknown(String),
}

impl ResultType {
    /// Every result type RFC 8460 defines, in RFC order.
    pub const KNOWN: [ResultType; 11] = [
        Self::StarttlsNotSupported,
        Self::CertificateHostMismatch,
        Self::CertificateExpired,
        Self::CertificateNotTrusted,
        Self::ValidationFailure,
        Self::TlsaInvalid,
        Self::DnssecInvalid,
        Self::DaneRequired,
        Self::StsPolicyFetchError,
        Self::StsPolicyInvalid,
        Self::StsWebpkiInvalid,
    ];

    /// Interpret a wire value (ASCII case-insensitive, surrounding
    /// whitespace ignored). Unrecognised values become [`Self::Unknown`]
    /// with the original string.
    pub fn from_wire(value: &str) -> Self {
        let v = value.trim();
        Self::KNOWN
            .iter()
            .find(|known| known.as_str().eq_ignore_ascii_case(v))
            .cloned()
            .unwrap_or_else(|| Self::Unknown(value.to_owned()))
    }

    /// The wire value (the original string for [`Self::Unknown`]).
    pub fn as_str(&self) -> &str {
        match self {
            Self::StarttlsNotSupported => "starttls-not-supported",
            Self::CertificateHostMismatch => "certificate-host-mismatch",
            Self::CertificateExpired => "certificate-expired",
            Self::CertificateNotTrusted => "certificate-not-trusted",
            Self::ValidationFailure => "validation-failure",
            Self::TlsaInvalid => "tlsa-invalid",
            Self::DnssecInvalid => "dnssec-invalid",
            Self::DaneRequired => "dane-required",
            Self::StsPolicyFetchError => "sts-policy-fetch-error",
            Self::StsPolicyInvalid => "sts-policy-invalid",
            Self::StsWebpkiInvalid => "sts-webpki-invalid",
            Self::Unknown(s) => s,
        }
    }

    /// Whether the value is one RFC 8460 defines.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Unknown(_))
    }

    /// A plain-words explanation for people reading a dashboard: what the
    /// result means, the usual cause, what to do, and the RFC section.
    pub fn describe(&self) -> ResultTypeInfo {
        crate::describe::describe(self)
    }
}

impl fmt::Display for ResultType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResultType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_types_round_trip_through_wire_names() {
        for known in ResultType::KNOWN {
            assert_eq!(ResultType::from_wire(known.as_str()), known);
            assert!(known.is_known());
        }
        assert_eq!(
            ResultType::from_wire(" Certificate-Expired "),
            ResultType::CertificateExpired
        );
        let odd = ResultType::from_wire("tls-version-invalid");
        assert_eq!(odd, ResultType::Unknown("tls-version-invalid".into()));
        assert_eq!(odd.as_str(), "tls-version-invalid");
    }

    #[test]
    fn policy_types_keep_unknown_values() {
        assert_eq!(PolicyType::from_wire("STS"), PolicyType::Sts);
        assert_eq!(PolicyType::from_wire("tls").as_str(), "tls");
        assert!(!PolicyType::from_wire("tls").is_known());
    }

    #[test]
    fn serialises_with_kebab_case_names() {
        let json = serde_json::to_value(Summary {
            total_successful_session_count: 1,
            total_failure_session_count: 2,
        })
        .unwrap_or_default();
        assert_eq!(json["total-successful-session-count"], 1);
        assert_eq!(json["total-failure-session-count"], 2);
        assert_eq!(
            serde_json::to_value(ResultType::DaneRequired).unwrap_or_default(),
            "dane-required"
        );
    }

    #[test]
    fn counted_failures_are_what_the_failure_tallies_add_up_to() {
        // Policy 1: the summary says 7, its details 4 (3 unclassified). Policy 2: the summary
        // says 2, its details 5 (count-mismatch): the 5 itemized failures all count.
        let json = br#"{"organization-name": "S", "report-id": "r",
            "date-range": {"start-datetime": "2026-01-01T00:00:00Z", "end-datetime": "2026-01-01T23:59:59Z"},
            "policies": [
              {"policy": {"policy-type": "sts", "policy-domain": "a.test"},
               "summary": {"total-successful-session-count": 10, "total-failure-session-count": 7},
               "failure-details": [{"result-type": "certificate-expired", "failed-session-count": 4}]},
              {"policy": {"policy-type": "sts", "policy-domain": "a.test"},
               "summary": {"total-successful-session-count": 1, "total-failure-session-count": 2},
               "failure-details": [{"result-type": "validation-failure", "failed-session-count": 5}]}]}"#;
        let report = crate::parse_json(json).expect("a report");
        assert!(report.has_warning(WarningCode::CountMismatch));
        assert_eq!(report.total_failure_sessions(), 9, "the senders' totals");
        assert_eq!(report.counted_failure_sessions(), 12);
        let tallied: u64 = report
            .tallies()
            .iter()
            .filter(|(k, _)| k != TALLY_SUCCESS)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(tallied, report.counted_failure_sessions());
    }

    #[test]
    fn normalises_domains() {
        assert_eq!(normalise_domain(" Example.COM. "), "example.com");
    }
}
