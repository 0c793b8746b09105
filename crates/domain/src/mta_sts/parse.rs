//! Parsing policy bodies as a careful MTA-STS client would (RFC 8461 §3.2).
//!
//! # Dialect
//!
//! The parser follows the RFC 8461 §3.2 ABNF, and is lenient only where the RFC itself
//! is; every lenient accept is reported as a [`PolicyWarning`]:
//!
//! - **Line endings**: LF or CRLF (`sts-policy-term = LF / CRLF`), mixed in one body, and
//!   the final line ending is optional (`[sts-policy-term]`). This is what mox,
//!   postfix-mta-sts-resolver and checkdmarc accept. The §3.2 prose says
//!   "CRLF-separated", and some clients (mimecast's library with `requireCRLF`) reject
//!   LF, so LF-only / mixed / unterminated bodies get a warning. A bare CR is not a line
//!   ending and is rejected.
//! - **Whitespace**: `field-delim = ":" *WSP` and each field may be followed by `*WSP`, so
//!   spaces/tabs after the colon and at the end of a line are ignored. Whitespace before
//!   the key or before the colon is an error, and so are blank lines (the ABNF has no
//!   empty field) — chasquid's indented test policy is therefore invalid here.
//! - **Keys and registered values are case-sensitive** (`%s"…"` in the ABNF). A key such
//!   as `Mode` is a syntactically valid *extension* and is ignored (with a warning), so a
//!   policy whose only mode line is `Mode: enforce` is missing its mode.
//! - **Order**: the ABNF does not order fields, so `version` need not be first; a
//!   `version` that is not on the first line is accepted with a warning.
//! - **Duplicates**: "If any non-repeated field -- i.e., all fields excepting `mx` -- is
//!   duplicated, all entries except for the first SHOULD be ignored" (§3.2). The first
//!   value wins and a warning is emitted; later duplicates of `version`, `mode`, `max_age`
//!   must still be syntactically valid (as in mox), because a malformed value for a
//!   registered field is a broken policy either way. Duplicate `mx` patterns are collapsed.
//! - **Unknown fields** are ignored (§3.2 "unknown fields SHOULD be ignored") but must
//!   match `sts-policy-extension`; they are returned in [`ParsedPolicy::extensions`].
//! - `max_age` is `1*10DIGIT` and at most 31557600; `mx` is `["*."] Domain` in A-labels
//!   without a trailing dot; `mx` is required unless `mode: none`.
//! - Bodies larger than [`MAX_POLICY_BYTES`] are rejected before parsing (a client-side
//!   resource limit; postfix-mta-sts-resolver, for one, uses 64 KiB).
//! - A leading UTF-8 byte-order mark is stripped with a warning.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::excerpt;
use super::policy::{MaxAge, Mode, MxPattern, Policy, PolicyError};

/// Largest policy body accepted by [`parse_policy`], 64 KiB. RFC 8461 does not fix a
/// size limit; this is the one common clients (e.g. postfix-mta-sts-resolver) apply when
/// fetching the policy (RFC 8461 §3.3).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// An extension (unregistered) field: `sts-policy-extension` in RFC 8461 §3.2, or
/// `sts-extension` / `tlsrpt-extension` in a TXT record (RFC 8461 §3.1, RFC 8460 §3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Extension {
    /// The field name, as written.
    pub name: String,
    /// The field value, as written (surrounding whitespace removed).
    pub value: String,
}

/// A successfully parsed policy body (RFC 8461 §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedPolicy {
    /// The policy the body describes (first value of each non-`mx` field).
    pub policy: Policy,
    /// Extension fields, in body order (first occurrence of each name).
    pub extensions: Vec<Extension>,
    /// Lenient accepts and interoperability hints, in body order.
    pub warnings: Vec<PolicyWarning>,
}

/// Something accepted by [`parse_policy`] that a stricter client might reject, or that
/// probably is not what the author meant. Line numbers are 1-based.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PolicyWarning {
    /// The body starts with a UTF-8 byte-order mark, which was ignored.
    ByteOrderMark,
    /// Lines end in bare LF. Valid per the RFC 8461 §3.2 ABNF, but the prose says CRLF
    /// and some clients require it.
    LfLineEndings,
    /// Both CRLF and LF line endings are used. Valid per the RFC 8461 §3.2 ABNF.
    MixedLineEndings,
    /// The last line has no line ending. Valid per the RFC 8461 §3.2 ABNF
    /// (`[sts-policy-term]`), rejected by some clients.
    NoFinalLineEnding,
    /// `version` is not on the first line. The RFC 8461 §3.2 ABNF does not order fields.
    VersionNotFirst {
        /// Line of the `version` field.
        line: usize,
    },
    /// A non-`mx` field appears again; this later occurrence was ignored (RFC 8461 §3.2).
    DuplicateField {
        /// Line of the ignored occurrence.
        line: usize,
        /// The field name.
        name: String,
    },
    /// The same `mx` pattern appears again (after normalisation) and was collapsed.
    DuplicateMx {
        /// Line of the repeated pattern.
        line: usize,
        /// The normalised pattern.
        pattern: String,
    },
    /// An unknown field, ignored as RFC 8461 §3.2 requires.
    UnknownField {
        /// Line of the field.
        line: usize,
        /// The field name.
        name: String,
    },
    /// A field whose name differs only in letter case from a registered one (e.g. `Mode`).
    /// Field names are case-sensitive (RFC 8461 §3.2), so it was ignored as an extension.
    CaseVariantField {
        /// Line of the field.
        line: usize,
        /// The field name, as written.
        name: String,
    },
}

impl fmt::Display for PolicyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyWarning::ByteOrderMark => {
                f.write_str("the policy starts with a UTF-8 byte-order mark; it was ignored")
            }
            PolicyWarning::LfLineEndings => f.write_str(
                "lines end in LF, not CRLF: allowed by RFC 8461 §3.2, but some senders require CRLF",
            ),
            PolicyWarning::MixedLineEndings => f.write_str(
                "the policy mixes CRLF and LF line endings: allowed by RFC 8461 §3.2, but some senders require CRLF",
            ),
            PolicyWarning::NoFinalLineEnding => f.write_str(
                "the last line has no line ending: allowed by RFC 8461 §3.2, but some senders reject it",
            ),
            PolicyWarning::VersionNotFirst { line } => write!(
                f,
                "line {line}: \"version\" is not the first line; allowed by RFC 8461 §3.2, but unusual"
            ),
            PolicyWarning::DuplicateField { line, name } => write!(
                f,
                "line {line}: duplicate field {name:?} ignored; only the first occurrence counts (RFC 8461 §3.2)"
            ),
            PolicyWarning::DuplicateMx { line, pattern } => {
                write!(f, "line {line}: mx pattern {pattern:?} is listed more than once")
            }
            PolicyWarning::UnknownField { line, name } => write!(
                f,
                "line {line}: unknown field {name:?} ignored (RFC 8461 §3.2)"
            ),
            PolicyWarning::CaseVariantField { line, name } => write!(
                f,
                "line {line}: field {name:?} ignored: field names are case-sensitive, did you mean {:?}?",
                name.to_ascii_lowercase()
            ),
        }
    }
}

/// Why a policy body was rejected (RFC 8461 §3.2). Line numbers are 1-based.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyParseError {
    /// The body is larger than [`MAX_POLICY_BYTES`].
    #[error("the policy is {len} bytes, above the {MAX_POLICY_BYTES}-byte limit")]
    TooLarge {
        /// Size of the body in bytes.
        len: usize,
    },
    /// The body is empty.
    #[error("the policy is empty")]
    Empty,
    /// An empty line; the RFC 8461 §3.2 ABNF has no empty fields.
    #[error("line {line}: blank lines are not allowed in a policy (RFC 8461 §3.2)")]
    BlankLine {
        /// The line.
        line: usize,
    },
    /// A CR that is not part of a CRLF line ending.
    #[error("line {line}: stray CR; lines must end in LF or CRLF (RFC 8461 §3.2)")]
    BareCr {
        /// The line.
        line: usize,
    },
    /// A control character other than TAB.
    #[error("line {line}: control character U+{code:04X} is not allowed")]
    ControlCharacter {
        /// The line.
        line: usize,
        /// The character's code point.
        code: u32,
    },
    /// The line is not `key: value`.
    #[error("line {line}: {reason}, expected \"key: value\": {content:?}")]
    MalformedLine {
        /// The line.
        line: usize,
        /// What is wrong.
        reason: &'static str,
        /// The line's text (shortened if long).
        content: String,
    },
    /// The key is not a valid field name (`sts-policy-ext-name`, RFC 8461 §3.2).
    #[error(
        "line {line}: invalid field name {name:?}: expected a letter or digit followed by up to 31 letters, digits, '_', '-' or '.' (RFC 8461 §3.2)"
    )]
    InvalidFieldName {
        /// The line.
        line: usize,
        /// The offending name (shortened if long).
        name: String,
    },
    /// `version` is not `STSv1`.
    #[error("line {line}: unsupported version {value:?}; only \"STSv1\" is defined (RFC 8461 §3.2)")]
    InvalidVersion {
        /// The line.
        line: usize,
        /// The offending value (shortened if long).
        value: String,
    },
    /// `mode` is not one of the three registered values.
    #[error(
        "line {line}: invalid mode {value:?}: expected \"enforce\", \"testing\" or \"none\" (RFC 8461 §3.2)"
    )]
    InvalidMode {
        /// The line.
        line: usize,
        /// The offending value (shortened if long).
        value: String,
    },
    /// `max_age` is not 1 to 10 ASCII digits.
    #[error(
        "line {line}: invalid max_age {value:?}: expected a whole number of seconds, 1 to 10 digits (RFC 8461 §3.2)"
    )]
    InvalidMaxAge {
        /// The line.
        line: usize,
        /// The offending value (shortened if long).
        value: String,
    },
    /// `max_age` is above 31557600.
    #[error("line {line}: max_age {value} is above the maximum of 31557600 seconds (RFC 8461 §3.2)")]
    MaxAgeTooLarge {
        /// The line.
        line: usize,
        /// The value.
        value: u64,
    },
    /// An `mx` value is not a valid pattern.
    #[error("line {line}: invalid mx {value:?}: {reason}")]
    InvalidMx {
        /// The line.
        line: usize,
        /// The offending value (shortened if long).
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An extension field's value is empty or has forbidden characters.
    #[error(
        "line {line}: field {name:?} has an invalid value {value:?}: expected printable characters (RFC 8461 §3.2)"
    )]
    InvalidExtensionValue {
        /// The line.
        line: usize,
        /// The field name.
        name: String,
        /// The offending value (shortened if long).
        value: String,
    },
    /// No `version` field.
    #[error("missing required field \"version\" (RFC 8461 §3.2)")]
    MissingVersion,
    /// No `mode` field.
    #[error("missing required field \"mode\" (RFC 8461 §3.2)")]
    MissingMode,
    /// No `max_age` field.
    #[error("missing required field \"max_age\" (RFC 8461 §3.2)")]
    MissingMaxAge,
    /// No `mx` field although the mode is not `none`.
    #[error("mode \"{mode}\" requires at least one \"mx\" line (RFC 8461 §3.2)")]
    MissingMx {
        /// The policy's mode.
        mode: Mode,
    },
    /// The fields parsed but do not form a valid [`Policy`].
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// Parses a policy body fetched from `/.well-known/mta-sts.txt` (RFC 8461 §3.2).
///
/// See the [module documentation](self) for the exact dialect. Never panics.
pub fn parse_policy(text: &str) -> Result<ParsedPolicy, PolicyParseError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyParseError::TooLarge { len: text.len() });
    }
    let mut warnings = Vec::new();
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            warnings.push(PolicyWarning::ByteOrderMark);
            rest
        }
        None => text,
    };
    if text.is_empty() {
        return Err(PolicyParseError::Empty);
    }

    let lines = split_lines(text)?;
    let (mut crlf, mut lf, mut unterminated) = (0usize, 0usize, false);
    for l in &lines {
        match l.ending {
            Ending::Crlf => crlf += 1,
            Ending::Lf => lf += 1,
            Ending::None => unterminated = true,
        }
    }
    if crlf > 0 && lf > 0 {
        warnings.push(PolicyWarning::MixedLineEndings);
    } else if lf > 0 {
        warnings.push(PolicyWarning::LfLineEndings);
    }
    if unterminated {
        warnings.push(PolicyWarning::NoFinalLineEnding);
    }

    let mut version_seen = false;
    let mut mode: Option<Mode> = None;
    let mut max_age: Option<MaxAge> = None;
    let mut mx: Vec<MxPattern> = Vec::new();
    let mut extensions: Vec<Extension> = Vec::new();

    for (idx, l) in lines.iter().enumerate() {
        let line = idx + 1;
        let (name, value) = split_field(line, l.text)?;
        match name {
            "version" => {
                if value != "STSv1" {
                    return Err(PolicyParseError::InvalidVersion {
                        line,
                        value: excerpt(value, 64),
                    });
                }
                if version_seen {
                    warnings.push(duplicate(line, name));
                } else {
                    version_seen = true;
                    if idx != 0 {
                        warnings.push(PolicyWarning::VersionNotFirst { line });
                    }
                }
            }
            "mode" => {
                let m = value.parse::<Mode>().map_err(|_| PolicyParseError::InvalidMode {
                    line,
                    value: excerpt(value, 64),
                })?;
                if mode.is_some() {
                    warnings.push(duplicate(line, name));
                } else {
                    mode = Some(m);
                }
            }
            "max_age" => {
                let m = parse_max_age(line, value)?;
                if max_age.is_some() {
                    warnings.push(duplicate(line, name));
                } else {
                    max_age = Some(m);
                }
            }
            "mx" => {
                let pattern = parse_wire_mx(line, value)?;
                if mx.contains(&pattern) {
                    warnings.push(PolicyWarning::DuplicateMx {
                        line,
                        pattern: pattern.as_str().to_owned(),
                    });
                } else {
                    mx.push(pattern);
                }
            }
            _ => {
                if !is_extension_value(value) {
                    return Err(PolicyParseError::InvalidExtensionValue {
                        line,
                        name: name.to_owned(),
                        value: excerpt(value, 64),
                    });
                }
                if extensions.iter().any(|e| e.name == name) {
                    warnings.push(duplicate(line, name));
                    continue;
                }
                let lower = name.to_ascii_lowercase();
                warnings.push(
                    if matches!(lower.as_str(), "version" | "mode" | "max_age" | "mx") {
                        PolicyWarning::CaseVariantField {
                            line,
                            name: name.to_owned(),
                        }
                    } else {
                        PolicyWarning::UnknownField {
                            line,
                            name: name.to_owned(),
                        }
                    },
                );
                extensions.push(Extension {
                    name: name.to_owned(),
                    value: value.to_owned(),
                });
            }
        }
    }

    if !version_seen {
        return Err(PolicyParseError::MissingVersion);
    }
    let mode = mode.ok_or(PolicyParseError::MissingMode)?;
    let max_age = max_age.ok_or(PolicyParseError::MissingMaxAge)?;
    if mode.requires_mx() && mx.is_empty() {
        return Err(PolicyParseError::MissingMx { mode });
    }
    let policy = Policy::new(mode, mx, max_age)?;
    Ok(ParsedPolicy {
        policy,
        extensions,
        warnings,
    })
}

fn duplicate(line: usize, name: &str) -> PolicyWarning {
    PolicyWarning::DuplicateField {
        line,
        name: name.to_owned(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    Crlf,
    Lf,
    None,
}

struct Line<'a> {
    text: &'a str,
    ending: Ending,
}

/// Splits on LF / CRLF (RFC 8461 §3.2 `sts-policy-term`). A final terminator does not start
/// a new line. Rejects blank lines, stray CRs and control characters other than TAB.
fn split_lines(text: &str) -> Result<Vec<Line<'_>>, PolicyParseError> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let line_no = out.len() + 1;
        let (raw, ending, next) = match rest.find('\n') {
            Some(i) => {
                let raw = &rest[..i];
                let next = &rest[i + 1..];
                match raw.strip_suffix('\r') {
                    Some(r) => (r, Ending::Crlf, next),
                    None => (raw, Ending::Lf, next),
                }
            }
            None => (rest, Ending::None, ""),
        };
        if raw.is_empty() {
            return Err(PolicyParseError::BlankLine { line: line_no });
        }
        if raw.contains('\r') {
            return Err(PolicyParseError::BareCr { line: line_no });
        }
        if let Some(c) = raw.chars().find(|&c| c.is_control() && c != '\t') {
            return Err(PolicyParseError::ControlCharacter {
                line: line_no,
                code: u32::from(c),
            });
        }
        out.push(Line { text: raw, ending });
        rest = next;
    }
    Ok(out)
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits `name ":" *WSP value *WSP` and validates the name (`sts-policy-ext-name`; the
/// registered names also match it).
fn split_field(line: usize, text: &str) -> Result<(&str, &str), PolicyParseError> {
    let malformed = |reason| PolicyParseError::MalformedLine {
        line,
        reason,
        content: excerpt(text, 64),
    };
    if text.starts_with(is_wsp) {
        return Err(malformed("leading whitespace"));
    }
    let Some((name, value)) = text.split_once(':') else {
        return Err(malformed("no ':' separator"));
    };
    if name.ends_with(is_wsp) {
        return Err(malformed("whitespace before ':'"));
    }
    if !is_field_name(name) {
        return Err(PolicyParseError::InvalidFieldName {
            line,
            name: excerpt(name, 40),
        });
    }
    Ok((name, value.trim_matches(is_wsp)))
}

/// `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")` (RFC 8461 §3.1 `sts-ext-name`,
/// §3.2 `sts-policy-ext-name`; RFC 8460 §3 `tlsrpt-ext-name`).
pub(crate) fn is_field_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    bytes.len() <= 32
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `sts-policy-ext-value`: non-empty, printable ASCII or non-ASCII UTF-8, inner spaces
/// allowed (the caller already removed surrounding WSP), no TAB or control characters.
fn is_extension_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c == ' ' || c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control()))
}

/// `sts-policy-max-age-value = 1*10(DIGIT)`, at most 31557600 (RFC 8461 §3.2).
fn parse_max_age(line: usize, value: &str) -> Result<MaxAge, PolicyParseError> {
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PolicyParseError::InvalidMaxAge {
            line,
            value: excerpt(value, 64),
        });
    }
    // At most 10 digits always fits in a u64.
    let n: u64 = value.bytes().fold(0, |acc, b| acc * 10 + u64::from(b - b'0'));
    MaxAge::new(n).map_err(|_| PolicyParseError::MaxAgeTooLarge { line, value: n })
}

/// `sts-policy-mx-value = ["*."] Domain` as it must appear on the wire: A-labels only
/// (RFC 8461 §3.2), no whitespace, no trailing root dot. Then the [`MxPattern`] rules.
fn parse_wire_mx(line: usize, value: &str) -> Result<MxPattern, PolicyParseError> {
    let invalid = |reason: String| PolicyParseError::InvalidMx {
        line,
        value: excerpt(value, 80),
        reason,
    };
    if value.is_empty() {
        return Err(invalid("the value is empty".to_owned()));
    }
    if !value.is_ascii() {
        return Err(invalid(
            "internationalised names must be written as A-labels (xn--…), not U-labels (RFC 8461 §3.2)"
                .to_owned(),
        ));
    }
    if value.contains(is_wsp) {
        return Err(invalid("contains whitespace".to_owned()));
    }
    if value.ends_with('.') {
        return Err(invalid(
            "a trailing dot is not allowed in a policy mx value".to_owned(),
        ));
    }
    MxPattern::parse(value).map_err(|e| match e {
        PolicyError::InvalidMxPattern { reason, .. } => invalid(reason),
        other => invalid(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> ParsedPolicy {
        parse_policy(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn mx_strs(p: &ParsedPolicy) -> Vec<&str> {
        p.policy.mx().iter().map(MxPattern::as_str).collect()
    }

    #[test]
    fn valid_policies() {
        for (text, mode, mx, max_age) in [
            (
                "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
                Mode::Enforce,
                &["mail.example.com", "*.example.net"][..],
                604_800,
            ),
            (
                "version: STSv1\nmode: testing\nmx: MX.Example.com\nmax_age: 0",
                Mode::Testing,
                &["mx.example.com"][..],
                0,
            ),
            (
                "version:STSv1\nmode:none\nmax_age:31557600\n",
                Mode::None,
                &[][..],
                31_557_600,
            ),
            (
                "version: STSv1 \t\nmode:\t enforce\t\nmx:\t*.example.com  \nmax_age: 0000000001\n",
                Mode::Enforce,
                &["*.example.com"][..],
                1,
            ),
            (
                "mode: enforce\nversion: STSv1\nmax_age: 5\nmx: a.example\n",
                Mode::Enforce,
                &["a.example"][..],
                5,
            ),
            (
                "version: STSv1\nmode: none\nmx: mx.xn--bcher-kva.example\nmax_age: 9\n",
                Mode::None,
                &["mx.xn--bcher-kva.example"][..],
                9,
            ),
        ] {
            let p = ok(text);
            assert_eq!(p.policy.mode(), mode, "{text:?}");
            assert_eq!(mx_strs(&p), mx, "{text:?}");
            assert_eq!(p.policy.max_age().seconds(), max_age, "{text:?}");
        }
    }

    #[test]
    fn invalid_policies() {
        use PolicyParseError as E;
        let base = |extra: &str| format!("version: STSv1\nmode: enforce\nmax_age: 1\n{extra}");
        for (text, expected) in [
            (String::new(), E::Empty),
            ("\u{feff}".to_owned(), E::Empty),
            ("\n".to_owned(), E::BlankLine { line: 1 }),
            (
                "version: STSv1\n\nmode: none\nmax_age: 1\n".to_owned(),
                E::BlankLine { line: 2 },
            ),
            (
                "version: STSv1\nmode: none\nmax_age: 1\n\n".to_owned(),
                E::BlankLine { line: 4 },
            ),
            (
                "version: STSv1\r\nmode: none\r\nmax_age: 1\r\n\r\n".to_owned(),
                E::BlankLine { line: 4 },
            ),
            (
                "version: STSv1\rmode: none\rmax_age: 1\r".to_owned(),
                E::BareCr { line: 1 },
            ),
            (
                "version: STSv1\nmode: none\nmax_age: 1\r".to_owned(),
                E::BareCr { line: 3 },
            ),
            (
                "version: STSv1\nmode: no\u{0}ne\n".to_owned(),
                E::ControlCharacter { line: 2, code: 0 },
            ),
            (
                "garbage".to_owned(),
                E::MalformedLine {
                    line: 1,
                    reason: "no ':' separator",
                    content: "garbage".into(),
                },
            ),
            (
                " version: STSv1".to_owned(),
                E::MalformedLine {
                    line: 1,
                    reason: "leading whitespace",
                    content: " version: STSv1".into(),
                },
            ),
            (
                "version : STSv1".to_owned(),
                E::MalformedLine {
                    line: 1,
                    reason: "whitespace before ':'",
                    content: "version : STSv1".into(),
                },
            ),
            (
                ":x".to_owned(),
                E::InvalidFieldName {
                    line: 1,
                    name: String::new(),
                },
            ),
            (
                "_bad: x".to_owned(),
                E::InvalidFieldName {
                    line: 1,
                    name: "_bad".into(),
                },
            ),
            (
                format!("{}: x", "a".repeat(33)),
                E::InvalidFieldName {
                    line: 1,
                    name: "a".repeat(33),
                },
            ),
            (
                "version: STSv2".to_owned(),
                E::InvalidVersion {
                    line: 1,
                    value: "STSv2".into(),
                },
            ),
            (
                "version: STSv10".to_owned(),
                E::InvalidVersion {
                    line: 1,
                    value: "STSv10".into(),
                },
            ),
            (
                "version: stsv1".to_owned(),
                E::InvalidVersion {
                    line: 1,
                    value: "stsv1".into(),
                },
            ),
            (
                "version: STSv1\nversion: STSv2\n".to_owned(),
                E::InvalidVersion {
                    line: 2,
                    value: "STSv2".into(),
                },
            ),
            (
                "version: STSv1\nmode: Enforce\n".to_owned(),
                E::InvalidMode {
                    line: 2,
                    value: "Enforce".into(),
                },
            ),
            (
                "version: STSv1\nmode:\n".to_owned(),
                E::InvalidMode {
                    line: 2,
                    value: String::new(),
                },
            ),
            (
                "version: STSv1\nmode: none\nmode: enforced\n".to_owned(),
                E::InvalidMode {
                    line: 3,
                    value: "enforced".into(),
                },
            ),
            (
                "version: STSv1\nmax_age:\n".to_owned(),
                E::InvalidMaxAge {
                    line: 2,
                    value: String::new(),
                },
            ),
            (
                "version: STSv1\nmax_age: -1\n".to_owned(),
                E::InvalidMaxAge {
                    line: 2,
                    value: "-1".into(),
                },
            ),
            (
                "version: STSv1\nmax_age: +1\n".to_owned(),
                E::InvalidMaxAge {
                    line: 2,
                    value: "+1".into(),
                },
            ),
            (
                "version: STSv1\nmax_age: 1.5\n".to_owned(),
                E::InvalidMaxAge {
                    line: 2,
                    value: "1.5".into(),
                },
            ),
            (
                "version: STSv1\nmax_age: 1 2\n".to_owned(),
                E::InvalidMaxAge {
                    line: 2,
                    value: "1 2".into(),
                },
            ),
            (
                "version: STSv1\nmax_age: 01234567890\n".to_owned(),
                E::InvalidMaxAge {
                    line: 2,
                    value: "01234567890".into(),
                },
            ),
            (
                "version: STSv1\nmax_age: ١\n".to_owned(),
                E::InvalidMaxAge {
                    line: 2,
                    value: "١".into(),
                },
            ),
            (
                "version: STSv1\nmax_age: 31557601\n".to_owned(),
                E::MaxAgeTooLarge {
                    line: 2,
                    value: 31_557_601,
                },
            ),
            (
                "version: STSv1\nmax_age: 9999999999\n".to_owned(),
                E::MaxAgeTooLarge {
                    line: 2,
                    value: 9_999_999_999,
                },
            ),
            (
                "version: STSv1\nmode: none\nmax_age: 1\nmore:\n".to_owned(),
                E::InvalidExtensionValue {
                    line: 4,
                    name: "more".into(),
                    value: String::new(),
                },
            ),
            (
                "version: STSv1\nmode: none\nmax_age: 1\nmore: a\tb\n".to_owned(),
                E::InvalidExtensionValue {
                    line: 4,
                    name: "more".into(),
                    value: "a\tb".into(),
                },
            ),
            ("mode: none\nmax_age: 1\n".to_owned(), E::MissingVersion),
            (
                "version: STSv1\nmax_age: 1\nmx: a.example\n".to_owned(),
                E::MissingMode,
            ),
            ("version: STSv1\nmode: none\n".to_owned(), E::MissingMaxAge),
            (base(""), E::MissingMx { mode: Mode::Enforce }),
            (base("MX: a.example\n"), E::MissingMx { mode: Mode::Enforce }),
            (
                "version: STSv1\nmode: testing\nmax_age: 1\n".to_owned(),
                E::MissingMx { mode: Mode::Testing },
            ),
        ] {
            assert_eq!(parse_policy(&text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn invalid_mx_values() {
        for (value, reason_part) in [
            ("", "empty"),
            ("mx.bücher.example", "A-labels"),
            ("mx.example.com.", "trailing dot"),
            ("a.example b.example", "whitespace"),
            ("*.*.example", "leftmost label"),
            ("**.example", "leftmost label"),
            ("test.example-", "hyphen"),
            ("*.com", "two labels"),
            ("mail_1.example", "'_'"),
            ("mx.xn--a.example", "Punycode"),
        ] {
            let text = format!("version: STSv1\nmode: enforce\nmax_age: 1\nmx: {value}\n");
            match parse_policy(&text) {
                Err(PolicyParseError::InvalidMx { line: 4, reason, .. }) => {
                    assert!(reason.contains(reason_part), "{value:?}: {reason}")
                }
                other => panic!("{value:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn warnings() {
        use PolicyWarning as W;
        for (text, expected) in [
            ("version: STSv1\r\nmode: none\r\nmax_age: 1\r\n", vec![]),
            ("version: STSv1\nmode: none\nmax_age: 1\n", vec![W::LfLineEndings]),
            (
                "version: STSv1\r\nmode: none\nmax_age: 1\r\n",
                vec![W::MixedLineEndings],
            ),
            (
                "version: STSv1\r\nmode: none\r\nmax_age: 1",
                vec![W::NoFinalLineEnding],
            ),
            (
                "\u{feff}version: STSv1\r\nmode: none\r\nmax_age: 1\r\n",
                vec![W::ByteOrderMark],
            ),
            (
                "mode: none\r\nversion: STSv1\r\nmax_age: 1\r\n",
                vec![W::VersionNotFirst { line: 2 }],
            ),
            (
                "version: STSv1\r\nmode: enforce\r\nmode: testing\r\nmx: a.example\r\nmax_age: 1\r\nmax_age: 2\r\nversion: STSv1\r\n",
                vec![
                    W::DuplicateField {
                        line: 3,
                        name: "mode".into(),
                    },
                    W::DuplicateField {
                        line: 6,
                        name: "max_age".into(),
                    },
                    W::DuplicateField {
                        line: 7,
                        name: "version".into(),
                    },
                ],
            ),
            (
                "version: STSv1\r\nmode: enforce\r\nmx: a.example\r\nmx: A.EXAMPLE\r\nmax_age: 1\r\n",
                vec![W::DuplicateMx {
                    line: 4,
                    pattern: "a.example".into(),
                }],
            ),
            (
                "version: STSv1\r\nmode: none\r\nmax_age: 1\r\nfoo: bar\r\nMode: x\r\nfoo: baz\r\n",
                vec![
                    W::UnknownField {
                        line: 4,
                        name: "foo".into(),
                    },
                    W::CaseVariantField {
                        line: 5,
                        name: "Mode".into(),
                    },
                    W::DuplicateField {
                        line: 6,
                        name: "foo".into(),
                    },
                ],
            ),
        ] {
            assert_eq!(ok(text).warnings, expected, "{text:?}");
        }
    }

    #[test]
    fn duplicates_first_wins() {
        let p = ok(
            "version: STSv1\nmode: enforce\nmode: testing\nmode: none\nmx: a.example\nmax_age: 10\nmax_age: 20\n",
        );
        assert_eq!(p.policy.mode(), Mode::Enforce);
        assert_eq!(p.policy.max_age().seconds(), 10);
    }

    #[test]
    fn extensions_are_kept() {
        let p =
            ok("version:STSv1\r\nmode:\tenforce\r\nmx:  \t\t *.example.com\nmax_age: 1\nmore:ext e  ns ion");
        assert_eq!(
            p.extensions,
            vec![Extension {
                name: "more".into(),
                value: "ext e  ns ion".into()
            }]
        );
        let p = ok("version: STSv1\nmode: none\nmax_age: 1\nx.y-z_1: ünïcode ✓ value \n");
        assert_eq!(p.extensions[0].value, "ünïcode ✓ value");
    }

    #[test]
    fn size_limit() {
        let mut text = String::from("version: STSv1\nmode: none\nmax_age: 1\nx: ");
        text.push_str(&"a".repeat(MAX_POLICY_BYTES - text.len()));
        assert_eq!(text.len(), MAX_POLICY_BYTES);
        assert!(parse_policy(&text).is_ok());
        text.push('a');
        assert_eq!(
            parse_policy(&text),
            Err(PolicyParseError::TooLarge {
                len: MAX_POLICY_BYTES + 1
            })
        );
    }

    #[test]
    fn error_messages_are_short_and_name_the_value() {
        let long = format!("version: STSv1\nmode: {}\n", "x".repeat(10_000));
        let msg = parse_policy(&long).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
        assert!(msg.starts_with("line 2: invalid mode \"xxx"), "{msg}");
        for (text, needle) in [
            ("version: STSv1\nmax_age: abc\n", "\"abc\""),
            ("version: STSv9\n", "\"STSv9\""),
            (
                "version: STSv1\nmode: none\nmax_age: 1\nmx: bad_host.example\n",
                "bad_host",
            ),
        ] {
            let msg = parse_policy(text).unwrap_err().to_string();
            assert!(msg.contains(needle), "{text:?}: {msg}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let samples = [
            "\r",
            "\r\n",
            "\n\n",
            ":",
            "::",
            "a:",
            "a: b",
            "version:",
            "mx:*",
            "mx: *.",
            "\u{feff}",
            "\u{feff}\u{feff}",
            "version: STSv1\u{85}",
            "mx: \u{2028}",
            "é:é",
            "max_age: 99999999999999999999",
        ];
        for s in samples {
            let _ = parse_policy(s);
            let _ = parse_policy(&format!(
                "version: STSv1\nmode: enforce\nmax_age: 1\nmx: a.b\n{s}"
            ));
        }
        // every prefix of a valid body, cut at every char boundary
        let body = "version: STSv1\r\nmode: enforce\r\nmx: *.bücher.example\r\nmax_age: 86400\r\n";
        for (i, _) in body.char_indices() {
            let _ = parse_policy(&body[..i]);
        }
    }
}
