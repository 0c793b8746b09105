//! Lenient JSON parsing of RFC 8460 §4.4 reports.
//!
//! The parser walks a [`serde_json::Value`] instead of deriving strict serde
//! structs, so that one odd field never loses a whole report. Every
//! deviation it tolerates is recorded as a [`Warning`] on the [`Report`].
//!
//! # What is rejected
//!
//! Only what would make the report meaningless or misleading:
//!
//! * input that is not JSON, or whose top level is not an object;
//! * a report with neither `organization-name` nor `report-id` (nothing
//!   identifies it, and it is most likely not a TLS report at all);
//! * a missing `date-range`, or a `start-datetime` / `end-datetime` that
//!   cannot be read as a date (we never invent a date such as epoch 0);
//! * counts that are negative, fractional, non-numeric or overflow `u64`;
//! * `policies` or one of its elements that is not an object / array.
//!
//! # What is tolerated (with a warning)
//!
//! Dates without a time zone (read as UTC) and other non-RFC 3339 forms, an
//! end at 00:00:00 of the next day, `contact-info: null`, missing
//! `policy-domain` / `mx-host` / `policy-string` / IPs, `mx-host` and
//! `policy-string` given as a plain string, Microsoft's TLSA `policy-string`
//! holding one JSON-encoded array, counts as numeric strings, a missing
//! `total-failure-session-count` (derived from the details), totals that do
//! not match the details (both kept), unknown result and policy types (kept
//! verbatim), and draft-era or otherwise non-standard key spellings
//! (`failure-error-code`, `mx-host-pattern`, `result`, `failure-session-count`,
//! `start_datetime`, ...).

use std::borrow::Cow;
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::datetime;
use crate::model::{DateRange, FailureDetail, Policy, PolicyResult, PolicyType, Report, ResultType, Summary};
use crate::warning::{Warning, WarningCode};

/// At most this many warnings are kept per report; the last slot says how
/// many more were dropped.
pub const MAX_WARNINGS: usize = 100;

/// Extra context for filling gaps in a report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseHint {
    /// The policy domain the report is believed to be about, e.g. from the
    /// `TLS-Report-Domain` header (RFC 8460 §5.3), the Subject line, or the
    /// recipient address. Used only for policies that lack `policy-domain`,
    /// and a [`WarningCode::PolicyDomainFromHint`] warning is recorded.
    pub policy_domain: Option<String>,
}

impl ParseHint {
    /// A hint carrying a policy domain.
    pub fn with_policy_domain(domain: impl Into<String>) -> Self {
        Self {
            policy_domain: Some(domain.into()),
        }
    }
}

/// Why a JSON document was rejected as a TLS report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not valid JSON.
    #[error("not valid JSON: {0}")]
    InvalidJson(String),
    /// The top-level JSON value is not an object.
    #[error("a TLS report must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// Neither `organization-name` nor `report-id` is present.
    #[error("not a TLS report: it has neither \"organization-name\" nor \"report-id\" (RFC 8460 §4.4)")]
    MissingIdentity,
    /// `date-range` or one of its dates is missing.
    #[error("missing {0} (RFC 8460 §4.4 requires a date-range)")]
    MissingDate(&'static str),
    /// A date could not be interpreted.
    #[error("{path} is not a readable date-time: {value}")]
    InvalidDate {
        /// JSON path of the field.
        path: String,
        /// The offending value, as JSON text (truncated).
        value: String,
    },
    /// A count is negative.
    #[error("{path} is negative ({value}); session counts cannot be negative")]
    NegativeCount {
        /// JSON path of the field.
        path: String,
        /// The offending value, as JSON text (truncated).
        value: String,
    },
    /// A count is not a non-negative integer.
    #[error("{path} is not a session count: {value}")]
    InvalidCount {
        /// JSON path of the field.
        path: String,
        /// The offending value, as JSON text (truncated).
        value: String,
    },
    /// Adding up counts overflowed `u64`.
    #[error("session counts under {path} add up to more than {max}", max = u64::MAX)]
    CountOverflow {
        /// JSON path of the list being summed.
        path: String,
    },
    /// A structural field has the wrong JSON type.
    #[error("{path} must be {expected}, found {found}")]
    WrongType {
        /// JSON path of the field.
        path: String,
        /// What RFC 8460 §4.4 calls for.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
}

/// Parse one RFC 8460 JSON report leniently.
///
/// Equivalent to [`parse_json_with_hint`] with an empty hint.
pub fn parse_json(bytes: &[u8]) -> Result<Report<'_>, ParseError> {
    parse_json_with_hint(bytes, &ParseHint::default())
}

/// Parse one RFC 8460 JSON report leniently, filling a missing
/// `policy-domain` from `hint` (see the module docs for what is rejected).
pub fn parse_json_with_hint<'a>(bytes: &'a [u8], hint: &ParseHint) -> Result<Report<'a>, ParseError> {
    // Most reports use RFC 8460's own names and types: read those in one pass. Anything else
    // (and every error) goes through the lenient walk below, which has the final word.
    if let Some(report) = crate::fast::parse(bytes) {
        return Ok(report);
    }
    parse_json_lenient(bytes, hint)
}

/// The lenient walk over a JSON tree, without the fast path.
pub(crate) fn parse_json_lenient(bytes: &[u8], hint: &ParseHint) -> Result<Report<'static>, ParseError> {
    let mut ctx = Ctx::default();
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => {
            ctx.warn(
                WarningCode::ByteOrderMark,
                "the JSON starts with a UTF-8 byte-order mark",
            );
            rest
        }
        None => bytes,
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ParseError::InvalidJson(e.to_string()))?;
    match &value {
        Value::Object(root) => parse_report(root, hint, ctx),
        other => Err(ParseError::NotAnObject {
            found: json_type(other),
        }),
    }
}

/// Warning collector shared by the walk (and by the fast path in [`crate::fast`]).
#[derive(Default)]
pub(crate) struct Ctx {
    warnings: Vec<Warning>,
    dropped: usize,
}

impl Ctx {
    pub(crate) fn warn(&mut self, code: WarningCode, message: impl Into<String>) {
        if self.warnings.len() < MAX_WARNINGS.saturating_sub(1) {
            self.warnings.push(Warning::new(code, message));
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    pub(crate) fn finish(mut self) -> Vec<Warning> {
        if self.dropped > 0 {
            self.warnings.push(Warning::new(
                WarningCode::TooManyWarnings,
                format!("{} further warnings were not recorded", self.dropped),
            ));
        }
        self.warnings
    }
}

fn parse_report(
    root: &Map<String, Value>,
    hint: &ParseHint,
    mut ctx: Ctx,
) -> Result<Report<'static>, ParseError> {
    let organization_name = get_string(root, ORGANIZATION_NAME.0, ORGANIZATION_NAME.1, "", &mut ctx);
    let report_id = get_string(root, REPORT_ID.0, REPORT_ID.1, "", &mut ctx);
    match (&organization_name, &report_id) {
        (None, None) => return Err(ParseError::MissingIdentity),
        (None, Some(_)) => ctx.warn(
            WarningCode::MissingOrganizationName,
            "no organization-name (RFC 8460 §4.4)",
        ),
        (Some(_), None) => ctx.warn(WarningCode::MissingReportId, "no report-id (RFC 8460 §4.4)"),
        (Some(_), Some(_)) => {}
    }
    let date_range = parse_date_range(root, &mut ctx)?;
    let contact_info = get_string(root, CONTACT_INFO.0, CONTACT_INFO.1, "", &mut ctx);
    if contact_info.is_none() {
        warn_missing_contact(&mut ctx);
    }
    let policies = parse_policies(root, hint, &mut ctx)?;
    Ok(Report {
        organization_name: organization_name.unwrap_or_default().into(),
        date_range,
        contact_info: contact_info.map(Cow::Owned),
        report_id: report_id.unwrap_or_default().into(),
        policies,
        warnings: ctx.finish(),
    })
}

// ---------------------------------------------------------------------------
// key names: RFC 8460's, then the other spellings read (with a warning) when it is absent

/// A field's RFC 8460 key and the other spellings accepted for it, in order of preference.
pub(crate) type Field = (&'static str, &'static [&'static str]);

pub(crate) const ORGANIZATION_NAME: Field = (
    "organization-name",
    &["organization", "organisation-name", "org-name"],
);
pub(crate) const REPORT_ID: Field = ("report-id", &[]);
pub(crate) const CONTACT_INFO: Field = ("contact-info", &["contact"]);
pub(crate) const DATE_RANGE: Field = ("date-range", &[]);
pub(crate) const POLICIES: Field = ("policies", &[]);
pub(crate) const START_DATETIME: Field = (
    "start-datetime",
    &["start-date-time", "start-date", "start", "begin"],
);
pub(crate) const END_DATETIME: Field = ("end-datetime", &["end-date-time", "end-date", "end", "stop"]);
pub(crate) const POLICY: Field = ("policy", &[]);
pub(crate) const SUMMARY: Field = ("summary", &[]);
pub(crate) const FAILURE_DETAILS: Field = ("failure-details", &["failure-detail", "failures"]);
pub(crate) const POLICY_TYPE: Field = ("policy-type", &["type"]);
pub(crate) const POLICY_STRING: Field = ("policy-string", &["policy-strings"]);
pub(crate) const MX_HOST: Field = (
    "mx-host",
    &["mx-host-pattern", "mx-hosts", "mx-host-patterns", "mx-hostname"],
);
pub(crate) const POLICY_DOMAIN: Field = ("policy-domain", &["domain"]);
pub(crate) const SUCCESS_COUNT: Field = (
    "total-successful-session-count",
    &[
        "total-success-session-count",
        "successful-session-count",
        "success-session-count",
        "total-successful-sessions",
    ],
);
pub(crate) const FAILURE_COUNT: Field = (
    "total-failure-session-count",
    &[
        "total-failed-session-count",
        "failure-session-count",
        "failed-session-count",
        "total-failure-sessions",
    ],
);
pub(crate) const RESULT_TYPE: Field = ("result-type", &["result", "failure-type"]);
pub(crate) const SENDING_MTA_IP: Field = (
    "sending-mta-ip",
    &["sending-ip", "sending-mta-address", "source-ip"],
);
pub(crate) const RECEIVING_IP: Field = ("receiving-ip", &["receiving-mx-ip", "receiving-address"]);
pub(crate) const RECEIVING_MX_HOSTNAME: Field = (
    "receiving-mx-hostname",
    &["receiving-mx", "receiving-hostname", "mx-hostname"],
);
pub(crate) const RECEIVING_MX_HELO: Field = ("receiving-mx-helo", &["receiving-helo", "mx-helo"]);
pub(crate) const FAILED_SESSION_COUNT: Field = (
    "failed-session-count",
    &["failure-session-count", "failed-sessions", "session-count"],
);
pub(crate) const ADDITIONAL_INFORMATION: Field = (
    "additional-information",
    &["additional-info", "additional-information-uri"],
);
pub(crate) const FAILURE_REASON_CODE: Field = (
    "failure-reason-code",
    &["failure-error-code", "failure-code", "error-code", "reason-code"],
);

// ---------------------------------------------------------------------------
// warnings both paths record

/// The warning for a field found under another spelling than RFC 8460's.
pub(crate) fn warn_non_standard_key(ctx: &mut Ctx, path: &[&str], found_key: &str, key: &str) {
    // The keys are RFC 8460's names: quoting them needs no escapes.
    let dot = if path.iter().all(|p| p.is_empty()) {
        ""
    } else {
        "."
    };
    ctx.warn(
        WarningCode::NonStandardKey,
        message(path, &[dot, found_key, " read as \"", key, "\""]),
    );
}

/// A JSON path given in parts, then the rest of a message, joined in one allocation and
/// without the formatting machinery.
pub(crate) fn message(path: &[&str], rest: &[&str]) -> String {
    let len = path.iter().chain(rest).map(|p| p.len()).sum();
    let mut out = String::with_capacity(len);
    for part in path.iter().chain(rest) {
        out.push_str(part);
    }
    out
}

pub(crate) fn warn_missing_contact(ctx: &mut Ctx) {
    ctx.warn(WarningCode::MissingContactInfo, "contact-info is missing or null");
}

pub(crate) fn warn_count_mismatch(ctx: &mut Ctx, summary_path: &[&str], total: u64, details_sum: u64) {
    ctx.warn(
        WarningCode::CountMismatch,
        message(
            summary_path,
            &[
                ".total-failure-session-count is ",
                itoa::Buffer::new().format(total),
                " but the failure-details add up to ",
                itoa::Buffer::new().format(details_sum),
                "; both kept",
            ],
        ),
    );
}

pub(crate) fn warn_string_instead_of_array(ctx: &mut Ctx, field_path: &[&str]) {
    ctx.warn(
        WarningCode::StringInsteadOfArray,
        message(field_path, &[" is a string instead of an array"]),
    );
}

// ---------------------------------------------------------------------------
// date-range

fn parse_date_range(root: &Map<String, Value>, ctx: &mut Ctx) -> Result<DateRange<'static>, ParseError> {
    let holder = match lookup(root, DATE_RANGE.0, DATE_RANGE.1, "", ctx) {
        Some(Value::Object(obj)) => obj,
        Some(other) => {
            return Err(ParseError::WrongType {
                path: "date-range".into(),
                expected: "an object",
                found: json_type(other),
            });
        }
        None if lookup_quiet(root, START_DATETIME.0, START_DATETIME.1).is_some() => {
            ctx.warn(
                WarningCode::NonStandardKey,
                "start-datetime/end-datetime found at the top level instead of inside date-range",
            );
            root
        }
        None => return Err(ParseError::MissingDate("date-range")),
    };
    let start = parse_date(holder, START_DATETIME.0, START_DATETIME.1, ctx)?;
    let end = parse_date(holder, END_DATETIME.0, END_DATETIME.1, ctx)?;
    check_range(start.unix, end.unix, ctx);
    Ok(DateRange {
        start: start.unix,
        end: end.unix,
        start_datetime: start.raw.into(),
        end_datetime: end.raw.into(),
    })
}

fn parse_date(
    obj: &Map<String, Value>,
    key: &'static str,
    aliases: &[&str],
    ctx: &mut Ctx,
) -> Result<datetime::ParsedDate, ParseError> {
    let path = format!("date-range.{key}");
    let value = lookup(obj, key, aliases, "date-range", ctx).ok_or(ParseError::MissingDate(key))?;
    let parsed = datetime::parse_value(value).ok_or_else(|| ParseError::InvalidDate {
        path: path.clone(),
        value: snippet(value),
    })?;
    match parsed.quirk {
        Some(WarningCode::DateWithoutTimezone) => ctx.warn(
            WarningCode::DateWithoutTimezone,
            format!("{path} {:?} has no time zone; read as UTC", parsed.raw),
        ),
        Some(code) => ctx.warn(
            code,
            format!("{path} {:?} is not RFC 3339; read as UTC", parsed.raw),
        ),
        None => {}
    }
    Ok(parsed)
}

pub(crate) fn check_range(start: i64, end: i64, ctx: &mut Ctx) {
    const DAY: i64 = 86_400;
    if end < start {
        ctx.warn(
            WarningCode::DateRangeInverted,
            "date-range.end-datetime is before start-datetime",
        );
    } else if end > start && end.rem_euclid(DAY) == 0 {
        ctx.warn(
            WarningCode::EndAtNextMidnight,
            "date-range.end-datetime is 00:00:00 of the following day (RFC 8460 examples end at 23:59:59); kept as given",
        );
    }
}

// ---------------------------------------------------------------------------
// policies

fn parse_policies(
    root: &Map<String, Value>,
    hint: &ParseHint,
    ctx: &mut Ctx,
) -> Result<Vec<PolicyResult<'static>>, ParseError> {
    let items: Vec<&Value> = match lookup(root, POLICIES.0, POLICIES.1, "", ctx) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(obj @ Value::Object(_)) => {
            ctx.warn(
                WarningCode::UnexpectedType,
                "policies is a single object instead of an array",
            );
            vec![obj]
        }
        Some(other) => {
            return Err(ParseError::WrongType {
                path: "policies".into(),
                expected: "an array",
                found: json_type(other),
            });
        }
        None => Vec::new(),
    };
    if items.is_empty() {
        ctx.warn(WarningCode::NoPolicies, "the report lists no policies");
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("policies[{i}]");
            match item {
                Value::Object(obj) => parse_policy_result(obj, &path, hint, ctx),
                other => Err(ParseError::WrongType {
                    path,
                    expected: "an object",
                    found: json_type(other),
                }),
            }
        })
        .collect()
}

fn parse_policy_result(
    entry: &Map<String, Value>,
    path: &str,
    hint: &ParseHint,
    ctx: &mut Ctx,
) -> Result<PolicyResult<'static>, ParseError> {
    let policy_obj = sub_object(entry, POLICY.0, POLICY_TYPE, path, ctx)?;
    let policy = parse_policy(policy_obj, &format!("{path}.policy"), hint, ctx);
    let failure_details = parse_failure_details(entry, path, ctx)?;
    let summary_obj = sub_object(entry, SUMMARY.0, SUCCESS_COUNT, path, ctx)?;
    let summary = parse_summary(summary_obj, &failure_details, path, ctx)?;
    Ok(PolicyResult {
        policy,
        summary,
        failure_details,
    })
}

/// Find the `policy` / `summary` object of a `policies` element. Returns the
/// element itself when the fields were flattened into it, or `None`.
fn sub_object<'a>(
    entry: &'a Map<String, Value>,
    key: &'static str,
    probe: (&'static str, &'static [&'static str]),
    path: &str,
    ctx: &mut Ctx,
) -> Result<Option<&'a Map<String, Value>>, ParseError> {
    match lookup(entry, key, &[], path, ctx) {
        Some(Value::Object(obj)) => Ok(Some(obj)),
        Some(other) => Err(ParseError::WrongType {
            path: format!("{path}.{key}"),
            expected: "an object",
            found: json_type(other),
        }),
        None if lookup_quiet(entry, probe.0, probe.1).is_some() => {
            ctx.warn(
                WarningCode::FlattenedPolicy,
                format!("{path} has {key} fields directly instead of a {key:?} object"),
            );
            Ok(Some(entry))
        }
        None => Ok(None),
    }
}

fn parse_policy(
    obj: Option<&Map<String, Value>>,
    path: &str,
    hint: &ParseHint,
    ctx: &mut Ctx,
) -> Policy<'static> {
    let empty = Map::new();
    let obj = obj.unwrap_or(&empty);
    let policy_type = parse_policy_type(obj, path, ctx);
    let mut policy_string = owned_list(get_string_list(obj, POLICY_STRING.0, POLICY_STRING.1, path, ctx));
    unwrap_json_encoded(&mut policy_string, &[path], ctx);
    let mx_host = owned_list(get_string_list(obj, MX_HOST.0, MX_HOST.1, path, ctx));
    let mut policy_domain = get_string(obj, POLICY_DOMAIN.0, POLICY_DOMAIN.1, path, ctx);
    if policy_domain.is_none() {
        policy_domain = domain_from_hint(hint, path, ctx);
    }
    Policy {
        policy_type,
        policy_string,
        policy_domain: policy_domain.map(Cow::Owned),
        mx_host,
    }
}

fn owned_list(list: Vec<String>) -> Vec<Cow<'static, str>> {
    list.into_iter().map(Cow::Owned).collect()
}

fn parse_policy_type(obj: &Map<String, Value>, path: &str, ctx: &mut Ctx) -> PolicyType {
    let Some(raw) = get_string(obj, POLICY_TYPE.0, POLICY_TYPE.1, path, ctx) else {
        ctx.warn(
            WarningCode::MissingPolicyType,
            format!("{path} has no policy-type"),
        );
        return PolicyType::Unknown(String::new());
    };
    let policy_type = PolicyType::from_wire(&raw);
    if !policy_type.is_known() {
        ctx.warn(
            WarningCode::UnknownPolicyType,
            format!(
                "{path}.policy-type {raw:?} is not sts, tlsa or no-policy-found (RFC 8460 §4.4); kept as is"
            ),
        );
    }
    policy_type
}

fn domain_from_hint(hint: &ParseHint, path: &str, ctx: &mut Ctx) -> Option<String> {
    let domain = hint
        .policy_domain
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    match domain {
        Some(d) => {
            ctx.warn(
                WarningCode::PolicyDomainFromHint,
                format!("{path} has no policy-domain; using {d:?} from the message"),
            );
            Some(d.to_owned())
        }
        None => {
            ctx.warn(
                WarningCode::MissingPolicyDomain,
                format!("{path} has no policy-domain"),
            );
            None
        }
    }
}

/// Microsoft sends a TLSA `policy-string` as one element holding a
/// JSON-encoded array (`["[\"3 1 1 ...\",\"3 1 1 ...\"]"]`). Split it.
pub(crate) fn unwrap_json_encoded(list: &mut Vec<Cow<'_, str>>, path: &[&str], ctx: &mut Ctx) {
    let [only] = list.as_slice() else {
        return;
    };
    let trimmed = only.trim();
    if !(trimmed.starts_with('[') && trimmed.ends_with(']')) {
        return;
    }
    if let Some(inner) = crate::fast::string_array(trimmed) {
        ctx.warn(
            WarningCode::PolicyStringJsonEncoded,
            message(
                path,
                &[
                    ".policy-string is one JSON-encoded array; split into ",
                    itoa::Buffer::new().format(inner.len()),
                    " entries",
                ],
            ),
        );
        *list = inner.into_iter().map(Cow::Owned).collect();
    }
}

// ---------------------------------------------------------------------------
// summary and failure details

fn parse_summary(
    obj: Option<&Map<String, Value>>,
    details: &[FailureDetail<'_>],
    path: &str,
    ctx: &mut Ctx,
) -> Result<Summary, ParseError> {
    let summary_path = format!("{path}.summary");
    let details_sum = sum_details(details, path)?;
    let Some(obj) = obj else {
        ctx.warn(
            WarningCode::MissingSummary,
            format!("{path} has no summary; successes taken as 0, failures from the details"),
        );
        return Ok(Summary {
            total_successful_session_count: 0,
            total_failure_session_count: details_sum,
        });
    };
    let success = get_count(obj, SUCCESS_COUNT.0, SUCCESS_COUNT.1, &summary_path, ctx)?;
    let success = success.unwrap_or_else(|| {
        ctx.warn(
            WarningCode::MissingCount,
            format!("{summary_path}.total-successful-session-count is missing; 0 used"),
        );
        0
    });
    let failure = match get_count(obj, FAILURE_COUNT.0, FAILURE_COUNT.1, &summary_path, ctx)? {
        Some(total) => {
            if !details.is_empty() && total != details_sum {
                warn_count_mismatch(ctx, &[&summary_path], total, details_sum);
            }
            total
        }
        None => {
            ctx.warn(
                WarningCode::MissingFailureTotal,
                format!("{summary_path}.total-failure-session-count is missing; {details_sum} derived from failure-details"),
            );
            details_sum
        }
    };
    Ok(Summary {
        total_successful_session_count: success,
        total_failure_session_count: failure,
    })
}

fn sum_details(details: &[FailureDetail<'_>], path: &str) -> Result<u64, ParseError> {
    details.iter().try_fold(0u64, |acc, d| {
        acc.checked_add(d.failed_session_count)
            .ok_or_else(|| ParseError::CountOverflow {
                path: format!("{path}.failure-details"),
            })
    })
}

fn parse_failure_details(
    entry: &Map<String, Value>,
    path: &str,
    ctx: &mut Ctx,
) -> Result<Vec<FailureDetail<'static>>, ParseError> {
    let items: Vec<&Value> = match lookup(entry, FAILURE_DETAILS.0, FAILURE_DETAILS.1, path, ctx) {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(obj @ Value::Object(_)) => {
            ctx.warn(
                WarningCode::UnexpectedType,
                format!("{path}.failure-details is a single object instead of an array"),
            );
            vec![obj]
        }
        Some(other) => {
            ctx.warn(
                WarningCode::UnexpectedType,
                format!(
                    "{path}.failure-details is {} instead of an array; ignored",
                    json_type(other)
                ),
            );
            return Ok(Vec::new());
        }
    };
    let mut details = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let item_path = format!("{path}.failure-details[{i}]");
        match item {
            Value::Object(obj) => details.push(parse_failure_detail(obj, &item_path, ctx)?),
            other => ctx.warn(
                WarningCode::UnexpectedType,
                format!(
                    "{item_path} is {} instead of an object; ignored",
                    json_type(other)
                ),
            ),
        }
    }
    Ok(details)
}

fn parse_failure_detail(
    obj: &Map<String, Value>,
    path: &str,
    ctx: &mut Ctx,
) -> Result<FailureDetail<'static>, ParseError> {
    let result_type = parse_result_type(obj, path, ctx);
    let (sending_mta_ip, sending_mta_ip_raw) = get_ip(obj, SENDING_MTA_IP.0, SENDING_MTA_IP.1, path, ctx);
    let (receiving_ip, receiving_ip_raw) = get_ip(obj, RECEIVING_IP.0, RECEIVING_IP.1, path, ctx);
    let receiving_mx_hostname = get_string(obj, RECEIVING_MX_HOSTNAME.0, RECEIVING_MX_HOSTNAME.1, path, ctx);
    let receiving_mx_helo = get_string(obj, RECEIVING_MX_HELO.0, RECEIVING_MX_HELO.1, path, ctx);
    let failed_session_count = get_count(obj, FAILED_SESSION_COUNT.0, FAILED_SESSION_COUNT.1, path, ctx)?
        .unwrap_or_else(|| {
            ctx.warn(
                WarningCode::MissingCount,
                format!("{path}.failed-session-count is missing; 0 used"),
            );
            0
        });
    let additional_information =
        get_string(obj, ADDITIONAL_INFORMATION.0, ADDITIONAL_INFORMATION.1, path, ctx);
    let failure_reason_code = get_string(obj, FAILURE_REASON_CODE.0, FAILURE_REASON_CODE.1, path, ctx);
    Ok(FailureDetail {
        result_type,
        sending_mta_ip,
        sending_mta_ip_raw: sending_mta_ip_raw.map(Cow::Owned),
        receiving_mx_hostname: receiving_mx_hostname.map(Cow::Owned),
        receiving_mx_helo: receiving_mx_helo.map(Cow::Owned),
        receiving_ip,
        receiving_ip_raw: receiving_ip_raw.map(Cow::Owned),
        failed_session_count,
        additional_information: additional_information.map(Cow::Owned),
        failure_reason_code: failure_reason_code.map(Cow::Owned),
    })
}

fn parse_result_type(obj: &Map<String, Value>, path: &str, ctx: &mut Ctx) -> ResultType {
    let Some(raw) = get_string(obj, RESULT_TYPE.0, RESULT_TYPE.1, path, ctx) else {
        ctx.warn(
            WarningCode::MissingResultType,
            format!("{path} has no result-type"),
        );
        return ResultType::Unknown(String::new());
    };
    let result_type = ResultType::from_wire(&raw);
    if !result_type.is_known() {
        ctx.warn(
            WarningCode::UnknownResultType,
            format!("{path}.result-type {raw:?} is not defined in RFC 8460 §4.3; kept as is"),
        );
    }
    result_type
}

// ---------------------------------------------------------------------------
// field helpers

/// Look a key up by its RFC 8460 name, falling back to a spelling that only
/// differs in case or separators (`start_datetime`, `reportId`) and then to
/// the given aliases (draft-era names). A fallback match is warned about.
/// `null` counts as absent.
fn lookup<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    aliases: &[&str],
    path: &str,
    ctx: &mut Ctx,
) -> Option<&'a Value> {
    if let Some(v) = obj.get(key) {
        return (!v.is_null()).then_some(v);
    }
    let (found_key, value) = find_variant(obj, key, aliases)?;
    warn_non_standard_key(ctx, &[path], found_key, key);
    (!value.is_null()).then_some(value)
}

/// Like [`lookup`] but records nothing; used to probe for layouts.
fn lookup_quiet<'a>(obj: &'a Map<String, Value>, key: &str, aliases: &[&str]) -> Option<&'a Value> {
    obj.get(key)
        .or_else(|| find_variant(obj, key, aliases).map(|(_, v)| v))
        .filter(|v| !v.is_null())
}

fn find_variant<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    aliases: &[&str],
) -> Option<(&'a str, &'a Value)> {
    // Prefer the canonical name, then aliases in the order given.
    std::iter::once(key)
        .chain(aliases.iter().copied())
        .find_map(|wanted| {
            obj.iter()
                .find(|(k, _)| same_key(k, wanted))
                .map(|(k, v)| (k.as_str(), v))
        })
}

/// Whether two keys are equal ignoring ASCII case and the separators
/// `-`, `_`, `.` and space (so `start_datetime` matches `start-datetime`).
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    fn folded(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(|c| !matches!(c, b'-' | b'_' | b' ' | b'.'))
            .map(|c| c.to_ascii_lowercase())
    }
    folded(a).eq(folded(b))
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A string field. Empty strings count as absent; numbers and booleans are
/// converted with a warning; other types are ignored with a warning.
fn get_string(
    obj: &Map<String, Value>,
    key: &str,
    aliases: &[&str],
    path: &str,
    ctx: &mut Ctx,
) -> Option<String> {
    let value = lookup(obj, key, aliases, path, ctx)?;
    let text = scalar_to_string(value, &|| join_path(path, key), ctx)?;
    trimmed_owned(text)
}

/// `text` without surrounding white space, `None` when that leaves nothing;
/// allocates only when there is something to trim.
fn trimmed_owned(text: String) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == text.len() {
        Some(text)
    } else {
        Some(trimmed.to_owned())
    }
}

/// `path` builds the field's JSON path, only when a warning needs it.
fn scalar_to_string(value: &Value, path: &dyn Fn() -> String, ctx: &mut Ctx) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => {
            ctx.warn(
                WarningCode::UnexpectedType,
                format!(
                    "{} is a {} instead of a string; converted",
                    path(),
                    json_type(value)
                ),
            );
            Some(value.to_string())
        }
        other => {
            ctx.warn(
                WarningCode::UnexpectedType,
                format!("{} is {} instead of a string; ignored", path(), json_type(other)),
            );
            None
        }
    }
}

/// A list of strings that may also arrive as one plain string. Empty
/// entries are dropped.
fn get_string_list(
    obj: &Map<String, Value>,
    key: &str,
    aliases: &[&str],
    path: &str,
    ctx: &mut Ctx,
) -> Vec<String> {
    let field_path = || join_path(path, key);
    let Some(value) = lookup(obj, key, aliases, path, ctx) else {
        return Vec::new();
    };
    let raw: Vec<String> = match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| scalar_to_string(item, &|| format!("{}[{i}]", field_path()), ctx))
            .collect(),
        Value::String(s) => {
            if !s.trim().is_empty() {
                warn_string_instead_of_array(ctx, &[&field_path()]);
            }
            vec![s.clone()]
        }
        other => scalar_to_string(other, &field_path, ctx).into_iter().collect(),
    };
    raw.into_iter().filter_map(trimmed_owned).collect()
}

/// An IP address field: `(parsed, original text if it did not parse)`.
fn get_ip(
    obj: &Map<String, Value>,
    key: &str,
    aliases: &[&str],
    path: &str,
    ctx: &mut Ctx,
) -> (Option<IpAddr>, Option<String>) {
    let Some(text) = get_string(obj, key, aliases, path, ctx) else {
        return (None, None);
    };
    match parse_ip(&text) {
        Some(ip) => (Some(ip), None),
        None => {
            ctx.warn(
                WarningCode::InvalidIp,
                format!(
                    "{} {text:?} is not an IP address; kept as text",
                    join_path(path, key)
                ),
            );
            (None, Some(text))
        }
    }
}

/// Parse an IP address, accepting `[v6]` brackets and an `IPv6:` prefix.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    let t = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(t);
    let t = match t.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("ipv6:") => t.get(5..).unwrap_or(t),
        _ => t,
    };
    t.parse().ok()
}

/// A session count: a non-negative integer, also accepted as a numeric
/// string or an integral float (with a warning). `Ok(None)` when absent.
fn get_count(
    obj: &Map<String, Value>,
    key: &str,
    aliases: &[&str],
    path: &str,
    ctx: &mut Ctx,
) -> Result<Option<u64>, ParseError> {
    let Some(value) = lookup(obj, key, aliases, path, ctx) else {
        return Ok(None);
    };
    if let Some(v) = value.as_u64() {
        return Ok(Some(v));
    }
    let field_path = join_path(path, key);
    let invalid = || ParseError::InvalidCount {
        path: field_path.clone(),
        value: snippet(value),
    };
    let negative = || ParseError::NegativeCount {
        path: field_path.clone(),
        value: snippet(value),
    };
    let count = match value {
        Value::Number(n) => {
            if n.as_i64().is_some_and(|v| v < 0) {
                return Err(negative());
            }
            let f = n.as_f64().ok_or_else(invalid)?;
            if f < 0.0 {
                return Err(negative());
            }
            integral_f64(f).ok_or_else(invalid)?
        }
        Value::String(s) => {
            let t = s.trim();
            if let Ok(v) = t.parse::<u64>() {
                v
            } else if t.parse::<i64>().is_ok_and(|v| v < 0) {
                return Err(negative());
            } else {
                return Err(invalid());
            }
        }
        _ => return Err(invalid()),
    };
    ctx.warn(
        WarningCode::CountNotInteger,
        format!(
            "{field_path} is {} instead of a JSON integer; read as {count}",
            snippet(value)
        ),
    );
    Ok(Some(count))
}

/// An `f64` with no fractional part that fits in `u64`.
fn integral_f64(f: f64) -> Option<u64> {
    // 2^64 as f64; every integral f64 below it fits in u64.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    if (0.0..LIMIT).contains(&f) && f.fract() == 0.0 {
        Some(f as u64)
    } else {
        None
    }
}

/// The JSON type name of a value, for messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Compact JSON text of a value, cut to a readable length.
fn snippet(value: &Value) -> String {
    const MAX: usize = 80;
    let text = value.to_string();
    if text.chars().count() <= MAX {
        text
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_keys_loosely() {
        assert!(same_key("Start_DateTime", "start-datetime"));
        assert!(same_key("reportId", "report-id"));
        assert!(!same_key("report-ids", "report-id"));
    }

    #[test]
    fn parses_ips_leniently() {
        assert_eq!(parse_ip("[2001:db8::1]"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("IPv6:2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip(" 192.0.2.1 "), "192.0.2.1".parse().ok());
        assert_eq!(parse_ip("é"), None);
        assert_eq!(parse_ip("mx.example"), None);
    }

    #[test]
    fn integral_floats_only() {
        assert_eq!(integral_f64(3.0), Some(3));
        assert_eq!(integral_f64(3.5), None);
        assert_eq!(integral_f64(f64::INFINITY), None);
        assert_eq!(integral_f64(1e30), None);
    }
}
