//! Warnings: quirks the lenient parser tolerated in a report.

use std::fmt;

use serde::{Serialize, Serializer};

/// Something odd about a report that did not stop it from being parsed.
///
/// The `code` is stable and machine-readable; the `message` is for people
/// and names the JSON path involved where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Machine-readable kind of quirk.
    pub code: WarningCode,
    /// Human-readable detail, usually naming the JSON path.
    pub message: String,
}

impl Warning {
    /// Create a warning.
    pub fn new(code: WarningCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

macro_rules! warning_codes {
    ($( $(#[$doc:meta])* $variant:ident => $wire:literal, )+) => {
        /// The kinds of quirk recorded as a [`Warning`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum WarningCode {
            $( $(#[$doc])* $variant, )+
        }

        impl WarningCode {
            /// Stable kebab-case name, used in JSON output.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $wire, )+
                }
            }
        }
    };
}

warning_codes! {
    /// A date had no time zone; it was read as UTC.
    DateWithoutTimezone => "date-without-timezone",
    /// A date was readable but not RFC 3339 (space separator, date only,
    /// numeric Unix time, ...).
    DateNotRfc3339 => "date-not-rfc3339",
    /// `end-datetime` is 00:00:00 of the day after the start instead of the
    /// 23:59:59 RFC 8460 §4.4 examples use; it was kept as given.
    EndAtNextMidnight => "end-at-next-midnight",
    /// `end-datetime` is before `start-datetime`.
    DateRangeInverted => "date-range-inverted",
    /// No `organization-name`.
    MissingOrganizationName => "missing-organization-name",
    /// No `report-id`.
    MissingReportId => "missing-report-id",
    /// No `contact-info`, or `null`.
    MissingContactInfo => "missing-contact-info",
    /// No `policies`, or an empty list.
    NoPolicies => "no-policies",
    /// A key spelled as in a draft of RFC 8460 or otherwise non-standard
    /// (e.g. `failure-error-code`, `mx-host-pattern`, `result`).
    NonStandardKey => "non-standard-key",
    /// Policy fields found directly in a `policies` element rather than in
    /// its `policy` / `summary` objects.
    FlattenedPolicy => "flattened-policy",
    /// A value had an unexpected JSON type and was ignored.
    UnexpectedType => "unexpected-type",
    /// `policy-type` is not one RFC 8460 defines; kept verbatim.
    UnknownPolicyType => "unknown-policy-type",
    /// No `policy-type`.
    MissingPolicyType => "missing-policy-type",
    /// `result-type` is not one RFC 8460 §4.3 defines; kept verbatim.
    UnknownResultType => "unknown-result-type",
    /// No `result-type` in a failure detail.
    MissingResultType => "missing-result-type",
    /// No `policy-domain`.
    MissingPolicyDomain => "missing-policy-domain",
    /// `policy-domain` was filled from a hint (TLS-Report-Domain header,
    /// Subject, recipient).
    PolicyDomainFromHint => "policy-domain-from-hint",
    /// `policy-string` was one string holding a JSON-encoded array (as
    /// Microsoft sends TLSA policies); it was split.
    PolicyStringJsonEncoded => "policy-string-json-encoded",
    /// `policy-string` or `mx-host` was a plain string instead of an array.
    StringInsteadOfArray => "string-instead-of-array",
    /// A count was a numeric string or a float with no fraction.
    CountNotInteger => "count-not-integer",
    /// A count was missing or `null`; 0 was used.
    MissingCount => "missing-count",
    /// No `summary` object; totals were taken as 0 / derived.
    MissingSummary => "missing-summary",
    /// No `total-failure-session-count`; it was derived from the failure
    /// details.
    MissingFailureTotal => "missing-failure-total",
    /// `total-failure-session-count` differs from the sum of the failure
    /// details' `failed-session-count`; both were kept.
    CountMismatch => "count-mismatch",
    /// An IP address field was not a valid IP address; the text was kept.
    InvalidIp => "invalid-ip",
    /// The JSON began with a UTF-8 byte-order mark.
    ByteOrderMark => "byte-order-mark",
    /// Another report part of the same message could not be parsed; this
    /// report was still read.
    OtherPartRejected => "other-part-rejected",
    /// The report's `policy-domain` is not the domain of the address it was
    /// sent to (or is not one of the receiving organisation's domains).
    PolicyDomainMismatch => "policy-domain-mismatch",
    /// The warning list was cut short; the message says how many were
    /// dropped.
    TooManyWarnings => "too-many-warnings",
}

impl fmt::Display for WarningCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for WarningCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
