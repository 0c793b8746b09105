//! Extracting reports from e-mail (RFC 8460 §5.3 "Transport via Email").
//!
//! RFC 8460 §5.3 sends reports as a `multipart/report; report-type=tlsrpt`
//! message with a `application/tlsrpt+gzip` (or `+json`) part and the
//! `TLS-Report-Domain` / `TLS-Report-Submitter` headers. Real senders also
//! use `multipart/mixed`, `application/gzip`, `application/json`,
//! `application/zip` or `application/octet-stream` with a telling file name,
//! and forwarded reports arrive as `message/rfc822` parts. All of these are
//! handled here with mail-parser 0.11.

use std::panic::{AssertUnwindSafe, catch_unwind};

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use crate::Error;
use crate::decompress::{self, DecompressError, Limits, Payload};
use crate::model::Report;
use crate::parse::{ParseHint, parse_json_with_hint};
use crate::warning::{Warning, WarningCode};

/// How deep `message/rfc822` parts are followed.
const MAX_MESSAGE_DEPTH: usize = 3;

/// Header values useful for attributing a report (RFC 8460 §5.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageHeaders {
    /// `TLS-Report-Domain`: the policy domain the report is about.
    pub tls_report_domain: Option<String>,
    /// `TLS-Report-Submitter`: the reporting organisation's domain.
    pub tls_report_submitter: Option<String>,
    /// `Subject` (RFC 8460 §5.3 suggests
    /// `Report Domain: <domain> Submitter: <submitter> Report-ID: <id>`).
    pub subject: Option<String>,
    /// `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// The first `From` address.
    pub from: Option<String>,
    /// `Date` as UTC Unix seconds, when it could be read.
    pub date: Option<i64>,
}

impl MessageHeaders {
    /// The policy domain from `TLS-Report-Domain`, else from a
    /// `Report Domain: X` Subject.
    pub fn report_domain(&self) -> Option<String> {
        self.tls_report_domain
            .clone()
            .or_else(|| self.subject.as_deref().and_then(domain_from_subject))
    }

    /// Fill fields that are `None` here from `other`.
    fn fill_from(&mut self, other: MessageHeaders) {
        fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
            if slot.is_none() {
                *slot = value;
            }
        }
        fill(&mut self.tls_report_domain, other.tls_report_domain);
        fill(&mut self.tls_report_submitter, other.tls_report_submitter);
        fill(&mut self.subject, other.subject);
        fill(&mut self.message_id, other.message_id);
        fill(&mut self.from, other.from);
        fill(&mut self.date, other.date);
    }
}

/// One report payload found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPart {
    /// The part's media type, lower case (e.g. `application/tlsrpt+gzip`).
    pub content_type: String,
    /// The part's file name, if any.
    pub filename: Option<String>,
    /// The decompressed JSON.
    pub payload: Payload,
}

impl ReportPart {
    /// A short label for messages: the file name, else the media type.
    pub fn label(&self) -> String {
        let base = self.filename.clone().unwrap_or_else(|| self.content_type.clone());
        match &self.payload.name {
            Some(entry) => format!("{base} ({entry})"),
            None => base,
        }
    }
}

/// Everything useful pulled out of a report e-mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractedMessage {
    /// Attribution headers.
    pub headers: MessageHeaders,
    /// The report payloads, decompressed, in message order.
    pub parts: Vec<ReportPart>,
    /// Parts that looked like reports but could not be unpacked, as
    /// `"<label>: <reason>"`.
    pub problems: Vec<String>,
}

/// Why no report could be taken from a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    /// mail-parser could not read the input as a message.
    #[error("not a readable RFC 5322 message")]
    NotAMessage,
    /// mail-parser panicked on this input.
    #[error("the MIME parser failed on malformed input")]
    ParserPanicked,
    /// No part looks like a TLS report.
    #[error("no TLS report part found (parts: {parts})")]
    NoReportPart {
        /// The media types of the parts seen, comma-separated.
        parts: String,
    },
    /// Report parts were found but none could be unpacked.
    #[error("the report part {part} could not be unpacked: {source}")]
    Unpack {
        /// The part's file name or media type.
        part: String,
        /// What went wrong.
        source: DecompressError,
    },
}

/// Find and decompress the TLS report parts of an RFC 5322 message.
///
/// Parts are taken when their media type is `application/tlsrpt+gzip`,
/// `application/tlsrpt+json`, `application/gzip`, `application/x-gzip`,
/// `application/json`, `application/zip` (or `x-zip-compressed`), or when
/// any part's file name ends in `.json`, `.gz` or `.zip`. `multipart/*` is
/// walked at any depth, `message/rfc822` up to 3 levels. The total
/// decompressed output over all parts is capped by
/// [`Limits::max_output_bytes`].
///
/// mail-parser 0.11 has no input size limit: cap the message size before
/// calling this (e.g. at SMTP DATA).
pub fn extract_from_message(raw: &[u8], limits: &Limits) -> Result<ExtractedMessage, MimeError> {
    let mut walk = catch_unwind(AssertUnwindSafe(|| walk_message(raw)))
        .map_err(|_| MimeError::ParserPanicked)?
        .ok_or(MimeError::NotAMessage)?;

    let mut extracted = ExtractedMessage {
        headers: std::mem::take(&mut walk.headers),
        ..ExtractedMessage::default()
    };
    let mut budget = limits.max_output_bytes;
    let mut first_error = None;
    for candidate in walk.candidates {
        let part_limits = Limits {
            max_output_bytes: budget,
            ..*limits
        };
        let label = candidate
            .filename
            .clone()
            .unwrap_or_else(|| candidate.content_type.clone());
        match decompress::decompress(&candidate.body, &part_limits) {
            Ok(payloads) => {
                for payload in payloads {
                    budget = budget.saturating_sub(u64::try_from(payload.bytes.len()).unwrap_or(u64::MAX));
                    extracted.parts.push(ReportPart {
                        content_type: candidate.content_type.clone(),
                        filename: candidate.filename.clone(),
                        payload,
                    });
                }
            }
            Err(err) => {
                let err = match err {
                    DecompressError::TooLarge { .. } => DecompressError::TooLarge {
                        limit: limits.max_output_bytes,
                    },
                    other => other,
                };
                extracted.problems.push(format!("{label}: {err}"));
                first_error.get_or_insert((label, err));
            }
        }
    }
    if extracted.parts.is_empty() {
        return Err(match first_error {
            Some((part, source)) => MimeError::Unpack { part, source },
            None => MimeError::NoReportPart {
                parts: if walk.seen.is_empty() {
                    "none".into()
                } else {
                    walk.seen.join(", ")
                },
            },
        });
    }
    Ok(extracted)
}

/// Extract every report part of a message and parse it.
///
/// A report that lacks `policy-domain` gets it from, in order, the
/// `TLS-Report-Domain` header, a `Report Domain: X` Subject, or
/// `recipient_hint` (a domain the caller associates with the envelope
/// recipient), with a [`WarningCode::PolicyDomainFromHint`] warning.
///
/// Succeeds when at least one part parses; parts that fail are then noted
/// on each returned report as [`WarningCode::OtherPartRejected`]. Fails
/// with the first part's error when none parses.
pub fn parse_message(
    raw: &[u8],
    limits: &Limits,
    recipient_hint: Option<&str>,
) -> Result<Vec<Report<'static>>, Error> {
    let extracted = extract_from_message(raw, limits)?;
    let hint = ParseHint {
        policy_domain: extracted
            .headers
            .report_domain()
            .or_else(|| recipient_hint.map(str::to_owned)),
    };
    let mut reports = Vec::new();
    let mut rejected = extracted.problems.clone();
    let mut first_error = None;
    for part in &extracted.parts {
        match parse_json_with_hint(&part.payload.bytes, &hint) {
            Ok(report) => reports.push(report.into_owned()),
            Err(source) => {
                rejected.push(format!("{}: {source}", part.label()));
                first_error.get_or_insert(Error::Report {
                    part: part.label(),
                    source,
                });
            }
        }
    }
    if reports.is_empty() {
        return Err(first_error.unwrap_or(Error::Mime(MimeError::NoReportPart { parts: "none".into() })));
    }
    for report in &mut reports {
        for problem in &rejected {
            report.warnings.push(Warning::new(
                WarningCode::OtherPartRejected,
                format!("another part of the message was rejected: {problem}"),
            ));
        }
    }
    Ok(reports)
}

/// Pull a domain out of a Subject like
/// `Report Domain: example.net Submitter: mail.sender.example.com ...`.
pub fn domain_from_subject(subject: &str) -> Option<String> {
    const MARKER: &str = "report domain:";
    let lower = subject.to_ascii_lowercase();
    let start = lower.find(MARKER)?.checked_add(MARKER.len())?;
    let rest = subject.get(start..)?;
    let token = rest.split_whitespace().next()?;
    let token = token.trim_matches(|c: char| matches!(c, '<' | '>' | ',' | ';' | '"'));
    looks_like_domain(token).then(|| token.to_owned())
}

fn looks_like_domain(s: &str) -> bool {
    s.contains('.')
        && !s.starts_with('.')
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

// ---------------------------------------------------------------------------
// message walk (inside catch_unwind; produces owned data only)

/// A part that looks like a report.
struct Candidate {
    content_type: String,
    filename: Option<String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct Walk {
    headers: MessageHeaders,
    candidates: Vec<Candidate>,
    /// Media types of every leaf part seen, for error messages.
    seen: Vec<String>,
}

fn walk_message(raw: &[u8]) -> Option<Walk> {
    let message = MessageParser::default().parse(raw)?;
    let mut walk = Walk::default();
    collect(&message, 0, &mut walk);
    Some(walk)
}

fn collect(message: &Message<'_>, depth: usize, walk: &mut Walk) {
    let headers = headers_of(message);
    if depth == 0 {
        walk.headers = headers;
    } else {
        walk.headers.fill_from(headers);
    }
    for part in &message.parts {
        match &part.body {
            PartType::Multipart(_) => {}
            PartType::Message(inner) => {
                if depth < MAX_MESSAGE_DEPTH {
                    collect(inner, depth.saturating_add(1), walk);
                }
            }
            _ => {
                let content_type = media_type(part);
                let filename = part.attachment_name().map(str::to_owned);
                walk.seen.push(content_type.clone());
                if is_report_part(&content_type, filename.as_deref()) {
                    walk.candidates.push(Candidate {
                        content_type,
                        filename,
                        body: part_body(part),
                    });
                }
            }
        }
    }
}

/// The decoded body of a leaf part.
///
/// mail-parser 0.11 leaves a base64 body undecoded (flagging
/// `is_encoding_problem`) when the closing MIME boundary is missing, as in
/// some real report mails; decode those leniently here.
fn part_body(part: &mail_parser::MessagePart<'_>) -> Vec<u8> {
    let is_base64 = part
        .content_transfer_encoding()
        .is_some_and(|cte| cte.trim().eq_ignore_ascii_case("base64"));
    if part.is_encoding_problem
        && is_base64
        && let Some(decoded) = decode_base64_lenient(part.contents())
    {
        return decoded;
    }
    part.contents().to_vec()
}

/// Decode base64 ignoring whitespace and with or without padding.
fn decode_base64_lenient(text: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    ENGINE.decode(compact).ok()
}

fn headers_of(message: &Message<'_>) -> MessageHeaders {
    let text = |name: &str| {
        message
            .header(name)
            .and_then(|v| v.as_text())
            .map(clean_header)
            .filter(|s| !s.is_empty())
    };
    MessageHeaders {
        tls_report_domain: text("TLS-Report-Domain"),
        tls_report_submitter: text("TLS-Report-Submitter"),
        subject: message.subject().map(clean_header).filter(|s| !s.is_empty()),
        message_id: message.message_id().map(str::to_owned),
        from: message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_owned),
        date: message.date().map(|d| d.to_timestamp()),
    }
}

/// Unfold and trim a header value.
fn clean_header(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `type/subtype` in lower case; `text/plain` when absent (RFC 2045 §5.2).
fn media_type(part: &mail_parser::MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => {
            let main = ct.ctype().to_ascii_lowercase();
            match ct.subtype() {
                Some(sub) => format!("{main}/{}", sub.to_ascii_lowercase()),
                None => main,
            }
        }
        None => "text/plain".into(),
    }
}

/// Whether a part should be tried as a report (RFC 8460 §5.3 media types,
/// common substitutes, or a telling file name).
fn is_report_part(content_type: &str, filename: Option<&str>) -> bool {
    const TYPES: &[&str] = &[
        "application/tlsrpt+gzip",
        "application/tlsrpt+json",
        "application/tlsrpt+zip",
        "application/gzip",
        "application/x-gzip",
        "application/json",
        "application/zip",
        "application/x-zip-compressed",
    ];
    if TYPES.contains(&content_type) {
        return true;
    }
    filename.is_some_and(|name| {
        let name = name.trim().to_ascii_lowercase();
        [".json", ".gz", ".zip"].iter().any(|ext| name.ends_with(ext))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_domain_from_subject() {
        assert_eq!(
            domain_from_subject(
                "Report Domain: example.net Submitter: mail.sender.example.com Report-ID: <x@y>"
            ),
            Some("example.net".into())
        );
        assert_eq!(
            domain_from_subject("report domain:   Example.ORG"),
            Some("Example.ORG".into())
        );
        assert_eq!(domain_from_subject("Report Domain: <none>"), None);
        assert_eq!(domain_from_subject("Hello"), None);
    }

    #[test]
    fn selects_report_parts() {
        assert!(is_report_part("application/tlsrpt+gzip", None));
        assert!(is_report_part("application/octet-stream", Some("r.JSON.GZ")));
        assert!(!is_report_part("text/plain", None));
        assert!(!is_report_part("image/png", Some("logo.png")));
    }
}
