//! SMTP TLS Reporting (RFC 8460) report model and lenient parser.
//!
//! * [`model`]: the owned report types ([`Report`], [`PolicyResult`],
//!   [`FailureDetail`], [`ResultType`], ...), serialisable with serde.
//! * [`parse`]: [`parse_json`] / [`parse_json_with_hint`], a lenient reader
//!   of RFC 8460 §4.4 JSON that records every tolerated quirk as a
//!   [`Warning`].
//! * [`mod@decompress`]: capped gzip / zip / plain unpacking (RFC 8460 §5.2).
//! * [`mime`]: report extraction from e-mail (RFC 8460 §5.3).
//! * [`parse_any`]: sniff the input and do whichever of the above applies.
//!
//! The crate is pure and synchronous; nothing in it panics on any input.
//! Callers should still run it off the async executor (e.g.
//! `spawn_blocking`) since large inputs take CPU time.
#![warn(missing_docs)]

mod datetime;
pub mod decompress;
mod describe;
mod fast;
pub mod mime;
pub mod model;
pub mod parse;
mod warning;

pub use decompress::{DecompressError, Limits, Packing, Payload, Sniffed, decompress, sniff};
pub use mime::{
    ExtractedMessage, MessageHeaders, MimeError, ReportPart, extract_from_message, parse_message,
};
pub use model::{
    DateRange, FailureDetail, Policy, PolicyResult, PolicyType, Report, ResultType, ResultTypeInfo, Summary,
    TALLY_SUCCESS, TALLY_UNCLASSIFIED, Warning, WarningCode,
};
pub use parse::{ParseError, ParseHint, parse_json, parse_json_with_hint};

/// The two JSON parsing paths one by one, for the tests and fuzz targets that prove they agree.
/// Not part of the API: use [`parse_json`].
#[doc(hidden)]
pub mod paths {
    use crate::{ParseError, ParseHint, Report};

    /// The single-pass parser for plain RFC 8460 reports; `None` when it defers.
    pub fn fast(bytes: &[u8]) -> Option<Report<'_>> {
        crate::fast::parse(bytes)
    }

    /// A JSON array of strings (Microsoft's encoded TLSA `policy-string`), as
    /// `serde_json::from_str::<Vec<String>>` reads it.
    pub fn string_array(text: &str) -> Option<Vec<String>> {
        crate::fast::string_array(text)
    }

    /// The lenient walk over a JSON tree, which decides whenever the fast path defers.
    pub fn lenient(bytes: &[u8], hint: &ParseHint) -> Result<Report<'static>, ParseError> {
        crate::parse::parse_json_lenient(bytes, hint)
    }
}

/// Any failure of [`parse_any`] or [`parse_message`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Unpacking gzip / zip failed.
    #[error(transparent)]
    Decompress(#[from] DecompressError),
    /// The message could not be read or had no report part.
    #[error(transparent)]
    Mime(#[from] MimeError),
    /// The JSON is not an acceptable report.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// One part (file, zip entry or message part) is not an acceptable
    /// report.
    #[error("{part}: {source}")]
    Report {
        /// Which part: file name, zip entry or media type.
        part: String,
        /// Why it was rejected.
        source: ParseError,
    },
    /// The input is neither JSON, gzip, zip nor an e-mail message.
    #[error("not a TLS report: neither JSON, gzip, zip nor an e-mail message (starts with {start})")]
    Unrecognised {
        /// The first bytes in hex.
        start: String,
    },
}

/// Parse whatever a TLS report arrived as: plain JSON, gzip (RFC 8460 §5.2,
/// e.g. an HTTPS POST body of type `application/tlsrpt+gzip`), a zip
/// archive, or a whole e-mail message (RFC 8460 §5.3).
///
/// `hint.policy_domain` fills a missing `policy-domain`; for a message it is
/// used only after the `TLS-Report-Domain` header and the Subject.
///
/// Reports read from plain JSON borrow their text from `bytes`; the others own theirs.
pub fn parse_any<'a>(bytes: &'a [u8], limits: &Limits, hint: &ParseHint) -> Result<Vec<Report<'a>>, Error> {
    match sniff(bytes) {
        Sniffed::Json => Ok(vec![parse_json_with_hint(bytes, hint)?]),
        Sniffed::Gzip | Sniffed::Zip => parse_payloads(decompress(bytes, limits)?, hint),
        Sniffed::Other if looks_like_message(bytes) => {
            parse_message(bytes, limits, hint.policy_domain.as_deref())
        }
        Sniffed::Other => Err(Error::Unrecognised {
            start: decompress::hex_prefix(bytes),
        }),
    }
}

/// The report documents (JSON bytes, decompressed) inside whatever a report arrived as, in
/// order: the input itself when it is JSON, the entries of a gzip or zip file, or the report
/// parts of an e-mail message. For showing and downloading what a sender sent.
pub fn report_documents(bytes: &[u8], limits: &Limits) -> Result<Vec<Vec<u8>>, Error> {
    match sniff(bytes) {
        Sniffed::Json => Ok(vec![bytes.to_vec()]),
        Sniffed::Gzip | Sniffed::Zip => Ok(decompress(bytes, limits)?.into_iter().map(|p| p.bytes).collect()),
        Sniffed::Other if looks_like_message(bytes) => Ok(extract_from_message(bytes, limits)?
            .parts
            .into_iter()
            .map(|p| p.payload.bytes)
            .collect()),
        Sniffed::Other => Err(Error::Unrecognised {
            start: decompress::hex_prefix(bytes),
        }),
    }
}

/// Parse every payload; all must be reports.
fn parse_payloads(payloads: Vec<Payload>, hint: &ParseHint) -> Result<Vec<Report<'static>>, Error> {
    payloads
        .into_iter()
        .map(|payload| {
            parse_json_with_hint(&payload.bytes, hint)
                .map(Report::into_owned)
                .map_err(|source| match payload.name {
                    Some(part) => Error::Report { part, source },
                    None => Error::Parse(source),
                })
        })
        .collect()
}

/// Whether the input starts like an RFC 5322 header block: the first line
/// is `Name: value` with a valid field name (RFC 5322 §2.2), or an mbox
/// `From ` line.
fn looks_like_message(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(bytes.len());
    let rest = bytes.get(start..).unwrap_or_default();
    if rest.starts_with(b"From ") {
        return true;
    }
    let Some(colon) = rest.iter().take(1000).position(|&b| b == b':') else {
        return false;
    };
    let name = rest.get(..colon).unwrap_or_default();
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b) && b != b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_message_starts() {
        assert!(looks_like_message(b"Return-Path: <a@b>\r\nFrom: x\r\n\r\nbody"));
        assert!(looks_like_message(b"\r\nSubject: hi\n\nbody"));
        assert!(looks_like_message(b"From someone@example Mon Jan  1\n"));
        assert!(!looks_like_message(b"hello world: nope"));
        assert!(!looks_like_message(b"<html>"));
        assert!(!looks_like_message(b""));
    }

    #[test]
    fn garbage_is_unrecognised() {
        let err = parse_any(b"\x00\x00\x00", &Limits::default(), &ParseHint::default());
        assert!(matches!(err, Err(Error::Unrecognised { .. })), "{err:?}");
    }
}
