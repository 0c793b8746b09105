//! DNS TXT records: `_mta-sts.<domain>` (RFC 8461 §3.1) and `_smtp._tls.<domain>`
//! (TLS-RPT, RFC 8460 §3).
//!
//! Both records share one grammar: a version tag first, then `;`-separated `name=value`
//! fields, with optional whitespace around each `;` and an optional trailing `;`:
//!
//! ```text
//! sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]     ; RFC 8461 §3.1
//! sts-sep         = *WSP %x3B *WSP
//! tlsrpt-record   = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim] ; RFC 8460 §3
//! ```
//!
//! Parsing follows that grammar, with one leniency shared with mox: trailing whitespace
//! after the last field is ignored. The functions take the TXT record's *data*: the
//! character-strings of one RR already concatenated, without DNS presentation-format
//! quotes (a quoted value is rejected with [`TxtError::Quoted`] to point this out).
//!
//! Extension fields are allowed in both records. A repeated field keeps its first value
//! (the RFC 8461 §3.2 paragraph on unknown and duplicated fields speaks of "TXT records
//! and policy files" alike; mox reads it the same way); repeated `rua`
//! fields of a TLS-RPT record are merged (RFC 8460 §3 has no rule against them; mox
//! merges). Either case produces a [`TxtWarning`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use super::excerpt;
use super::parse::{Extension, is_field_name};

/// The MTA-STS record's version tag (RFC 8461 §3.1 `sts-version`).
const STS_VERSION: &str = "v=STSv1";
/// The TLS-RPT record's version tag (RFC 8460 §3 `tlsrpt-version`).
const TLSRPT_VERSION: &str = "v=TLSRPTv1";

/// The `id` of an `_mta-sts` TXT record: 1 to 32 ASCII letters or digits
/// (RFC 8461 §3.1 `sts-id-value`). Senders refetch the policy when it changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct PolicyId(String);

impl PolicyId {
    /// Maximum length of an id (RFC 8461 §3.1).
    pub const MAX_LEN: usize = 32;

    /// Validates an id: 1 to 32 ASCII alphanumerics (RFC 8461 §3.1). Case is preserved.
    pub fn parse(s: &str) -> Result<PolicyId, TxtError> {
        if s.is_empty() || s.len() > Self::MAX_LEN || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(TxtError::InvalidId {
                value: excerpt(s, 40),
            });
        }
        Ok(PolicyId(s.to_owned()))
    }

    /// A deterministic id from a UTC timestamp and a counter, without any RNG:
    /// `YYYYMMDDThhmmssZ` followed by the counter in decimal when it is not zero, e.g.
    /// `20240101T010101Z` (counter 0) or `20240101T010101Z3` (counter 3). At most 26
    /// characters. Distinct `(unix_seconds, counter)` pairs in range give distinct ids, so
    /// bump `counter` when publishing twice within one second (RFC 8461 §3.1 only asks that
    /// the id changes whenever the policy does).
    ///
    /// `unix_seconds` is clamped to 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z.
    pub fn generate_from(unix_seconds: i64, counter: u32) -> PolicyId {
        const MAX_SECONDS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
        let secs = unix_seconds.clamp(0, MAX_SECONDS);
        let (year, month, day) = crate::calendar::civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
        let mut id = format!("{year:04}{month:02}{day:02}T{hh:02}{mm:02}{ss:02}Z");
        if counter != 0 {
            id.push_str(&counter.to_string());
        }
        PolicyId(id)
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PolicyId {
    type Err = TxtError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PolicyId::parse(s)
    }
}

impl From<PolicyId> for String {
    fn from(id: PolicyId) -> String {
        id.0
    }
}

impl<'de> Deserialize<'de> for PolicyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PolicyId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A parsed `_mta-sts` TXT record (RFC 8461 §3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsRecord {
    /// The policy id (first `id` field).
    pub id: PolicyId,
    /// Extension fields, in record order (first occurrence of each name).
    pub extensions: Vec<Extension>,
    /// Lenient accepts.
    pub warnings: Vec<TxtWarning>,
}

/// A parsed `_smtp._tls` TLS-RPT TXT record (RFC 8460 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsRptRecord {
    /// The reporting URIs (`mailto:` or `https:`), in record order, as written
    /// (percent-encoding is kept).
    pub rua: Vec<String>,
    /// Extension fields, in record order (first occurrence of each name).
    pub extensions: Vec<Extension>,
    /// Lenient accepts.
    pub warnings: Vec<TxtWarning>,
}

/// The scheme of a TLS-RPT reporting URI (RFC 8460 §3: "mailto" and "https").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuaScheme {
    /// `mailto:` — reports are e-mailed (RFC 8460 §5.3).
    Mailto,
    /// `https:` — reports are POSTed (RFC 8460 §5.4).
    Https,
}

/// Something a TXT record parser accepted that a stricter one might not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TxtWarning {
    /// A field appears more than once. For `id` and extensions the first value was kept
    /// (RFC 8461 §3.2); for `rua` the URI lists were merged.
    DuplicateField {
        /// The field name.
        name: String,
    },
}

impl fmt::Display for TxtWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxtWarning::DuplicateField { name } if name == "rua" => f.write_str(
                "the record has more than one \"rua\" field; their URIs were merged, but some checkers reject this",
            ),
            TxtWarning::DuplicateField { name } => write!(
                f,
                "field {name:?} appears more than once; only the first occurrence counts"
            ),
        }
    }
}

/// Why a TXT record was rejected (RFC 8461 §3.1, RFC 8460 §3).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxtError {
    /// The record is empty.
    #[error("the record is empty")]
    Empty,
    /// The record is wrapped in double quotes (DNS presentation format, not the TXT data).
    #[error(
        "the record is wrapped in double quotes; the quotes belong to the zone-file syntax, not the TXT data"
    )]
    Quoted,
    /// The record does not start with a version tag.
    #[error("the record must start with \"{expected}\"")]
    MissingVersion {
        /// The required version tag.
        expected: &'static str,
    },
    /// The record starts with a different version (or another protocol's record).
    #[error("unsupported version {found:?}: the record must start with \"{expected}\"")]
    WrongVersion {
        /// The required version tag.
        expected: &'static str,
        /// The version tag found (shortened if long).
        found: String,
    },
    /// Text where a `;` separator was expected.
    #[error("expected ';' before {text:?}")]
    ExpectedSeparator {
        /// The unexpected text (shortened if long).
        text: String,
    },
    /// Two separators in a row.
    #[error("empty field: two ';' in a row")]
    EmptyField,
    /// A field without `=`.
    #[error("field {field:?} is not name=value")]
    MissingEquals {
        /// The field (shortened if long).
        field: String,
    },
    /// A field name that is not a letter or digit followed by up to 31 letters, digits,
    /// `_`, `-` or `.`.
    #[error(
        "invalid field name {name:?}: expected a letter or digit followed by up to 31 letters, digits, '_', '-' or '.'"
    )]
    InvalidFieldName {
        /// The name (shortened if long).
        name: String,
    },
    /// An extension value that is empty or contains whitespace, `=`, `;` or control
    /// characters.
    #[error("field {name:?} has an invalid value {value:?}")]
    InvalidFieldValue {
        /// The field name.
        name: String,
        /// The value (shortened if long).
        value: String,
    },
    /// The `id` is not 1 to 32 letters or digits.
    #[error("invalid policy id {value:?}: expected 1 to 32 letters or digits (RFC 8461 §3.1)")]
    InvalidId {
        /// The id (shortened if long).
        value: String,
    },
    /// No `id` field (RFC 8461 §3.1).
    #[error("the record has no \"id\" field (RFC 8461 §3.1)")]
    MissingId,
    /// No `rua` field (RFC 8460 §3).
    #[error("the record has no \"rua\" field (RFC 8460 §3)")]
    MissingRua,
    /// An empty entry in the `rua` list.
    #[error("the \"rua\" list has an empty entry")]
    EmptyRuaUri,
    /// A `rua` entry is not a valid URI.
    #[error("invalid rua URI {uri:?}: {reason}")]
    InvalidRuaUri {
        /// The URI (shortened if long).
        uri: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A `rua` entry uses a scheme other than `mailto` or `https`.
    #[error(
        "unsupported rua URI scheme {scheme:?} in {uri:?}: only mailto: and https: are allowed (RFC 8460 §3)"
    )]
    UnsupportedRuaScheme {
        /// The URI (shortened if long).
        uri: String,
        /// The scheme.
        scheme: String,
    },
    /// More than one record of this kind at the same name (RFC 8461 §3.1, RFC 8460 §3).
    #[error("{count} \"{expected}\" records found; exactly one is allowed")]
    MultipleRecords {
        /// The version tag of the records.
        expected: &'static str,
        /// How many were found.
        count: usize,
    },
}

/// The `_mta-sts` TXT record data for a policy id: `v=STSv1; id=<id>;` (RFC 8461 §3.1).
pub fn sts_txt(id: &PolicyId) -> String {
    format!("{STS_VERSION}; id={id};")
}

/// Parses one `_mta-sts` TXT record (RFC 8461 §3.1): `v=STSv1` first, then `id` (required,
/// first one wins) and optional extension fields.
pub fn parse_sts_txt(txt: &str) -> Result<StsRecord, TxtError> {
    let fields = parse_fields(txt, STS_VERSION)?;
    let mut id = None;
    let mut extensions: Vec<Extension> = Vec::new();
    let mut warnings = Vec::new();
    for (name, value) in fields {
        if name == "id" {
            let parsed = PolicyId::parse(value)?;
            if id.is_none() {
                id = Some(parsed);
            } else {
                warn_duplicate(&mut warnings, name);
            }
        } else {
            push_extension(&mut extensions, &mut warnings, name, value)?;
        }
    }
    Ok(StsRecord {
        id: id.ok_or(TxtError::MissingId)?,
        extensions,
        warnings,
    })
}

/// Picks and parses the MTA-STS record among all TXT records at `_mta-sts.<domain>`
/// (RFC 8461 §3.1): records not starting with `v=STSv1` (followed by `;`, whitespace or
/// nothing) are ignored; none left is `Ok(None)`; more than one is
/// [`TxtError::MultipleRecords`]; a malformed one is its parse error.
///
/// Each element is one TXT RR's data with its character-strings concatenated.
pub fn find_sts_record<S: AsRef<str>>(txts: &[S]) -> Result<Option<StsRecord>, TxtError> {
    match single_candidate(txts, STS_VERSION)? {
        Some(txt) => parse_sts_txt(txt).map(Some),
        None => Ok(None),
    }
}

/// The `_smtp._tls` TXT record data for a list of reporting URIs (RFC 8460 §3):
/// `v=TLSRPTv1; rua=<uri>,<uri>`.
///
/// Commas and semicolons inside a URI are percent-encoded (`%2C`, `%3B`), as are spaces,
/// control and non-ASCII characters, so the output always splits back into the same
/// URIs. Nothing else is validated: check each URI with [`check_rua_uri`] first (an empty
/// list yields a record without URIs, which [`parse_tlsrpt_txt`] rejects).
pub fn tlsrpt_txt<S: AsRef<str>>(rua: &[S]) -> String {
    let mut out = format!("{TLSRPT_VERSION}; rua=");
    for (i, uri) in rua.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for c in uri.as_ref().chars() {
            if c == ',' || c == ';' || c.is_whitespace() || c.is_control() || !c.is_ascii() {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            } else {
                out.push(c);
            }
        }
    }
    out
}

/// Parses one `_smtp._tls` TXT record (RFC 8460 §3): `v=TLSRPTv1` first, then `rua`
/// (required; a comma-separated list of `mailto:`/`https:` URIs with optional whitespace
/// around the commas) and optional extension fields.
pub fn parse_tlsrpt_txt(txt: &str) -> Result<TlsRptRecord, TxtError> {
    let fields = parse_fields(txt, TLSRPT_VERSION)?;
    let mut rua: Vec<String> = Vec::new();
    let mut seen_rua = false;
    let mut extensions: Vec<Extension> = Vec::new();
    let mut warnings = Vec::new();
    for (name, value) in fields {
        if name == "rua" {
            if seen_rua {
                warn_duplicate(&mut warnings, name);
            }
            seen_rua = true;
            for uri in value.split(',') {
                let uri = uri.trim_matches(is_wsp);
                check_rua_uri(uri)?;
                if !rua.iter().any(|u| u == uri) {
                    rua.push(uri.to_owned());
                }
            }
        } else {
            push_extension(&mut extensions, &mut warnings, name, value)?;
        }
    }
    if rua.is_empty() {
        return Err(TxtError::MissingRua);
    }
    Ok(TlsRptRecord {
        rua,
        extensions,
        warnings,
    })
}

/// Picks and parses the TLS-RPT record among all TXT records at `_smtp._tls.<domain>`
/// (RFC 8460 §3): records not starting with `v=TLSRPTv1` are ignored; none left is
/// `Ok(None)`; more than one is [`TxtError::MultipleRecords`] ("If the number of resulting
/// records is not one, senders MUST assume the recipient domain does not implement
/// TLSRPT"); a malformed one is its parse error.
pub fn find_tlsrpt_record<S: AsRef<str>>(txts: &[S]) -> Result<Option<TlsRptRecord>, TxtError> {
    match single_candidate(txts, TLSRPT_VERSION)? {
        Some(txt) => parse_tlsrpt_txt(txt).map(Some),
        None => Ok(None),
    }
}

/// Checks one TLS-RPT reporting URI (RFC 8460 §3): `mailto:local@domain[?…]` or
/// `https://host[:port][/path…]`; URI characters only, valid `%XX` escapes, and no raw
/// `,` or `;` (they must be percent-encoded, since they delimit the record).
pub fn check_rua_uri(uri: &str) -> Result<RuaScheme, TxtError> {
    if uri.is_empty() {
        return Err(TxtError::EmptyRuaUri);
    }
    let invalid = |reason| TxtError::InvalidRuaUri {
        uri: excerpt(uri, 80),
        reason,
    };
    for c in uri.chars() {
        if c.is_whitespace() {
            return Err(invalid("contains whitespace"));
        }
        if c == ',' {
            return Err(invalid("a comma inside a URI must be percent-encoded as %2C"));
        }
        if c == ';' {
            return Err(invalid("a semicolon inside a URI must be percent-encoded as %3B"));
        }
        if !c.is_ascii() {
            return Err(invalid("contains non-ASCII characters; percent-encode them"));
        }
        if !(c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+=%".contains(c)) {
            return Err(invalid("contains a character that is not allowed in a URI"));
        }
    }
    let bytes = uri.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err(invalid("'%' must be followed by two hexadecimal digits"));
        }
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(invalid("not a URI: no scheme (expected mailto: or https:)"));
    };
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return Err(invalid("not a URI: invalid scheme (expected mailto: or https:)"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "mailto" => {
            let addr = rest.split('?').next().unwrap_or_default();
            let Some((local, domain)) = addr.split_once('@') else {
                return Err(invalid("a mailto: URI needs an address, local@domain"));
            };
            if local.is_empty() {
                return Err(invalid("empty local part before '@'"));
            }
            if !is_host_name(domain) {
                return Err(invalid("invalid domain after '@'"));
            }
            Ok(RuaScheme::Mailto)
        }
        "https" => {
            let Some(after) = rest.strip_prefix("//") else {
                return Err(invalid("an https: URI must start with https://"));
            };
            let authority = after.split(['/', '?', '#']).next().unwrap_or_default();
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
            let (host_ok, port) = match host_port.strip_prefix('[') {
                Some(v6) => {
                    let Some((addr, after)) = v6.split_once(']') else {
                        return Err(invalid("invalid IPv6 literal host"));
                    };
                    let addr_ok = !addr.is_empty()
                        && addr
                            .chars()
                            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
                    if !addr_ok {
                        return Err(invalid("invalid IPv6 literal host"));
                    }
                    match after.strip_prefix(':') {
                        Some(p) => (true, Some(p)),
                        None if after.is_empty() => (true, None),
                        None => return Err(invalid("invalid port")),
                    }
                }
                None => match host_port.split_once(':') {
                    Some((h, p)) => (is_host_name(h), Some(p)),
                    None => (is_host_name(host_port), None),
                },
            };
            if !host_ok {
                return Err(invalid("invalid host name"));
            }
            if let Some(p) = port
                && (p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(invalid("invalid port"));
            }
            Ok(RuaScheme::Https)
        }
        _ => Err(TxtError::UnsupportedRuaScheme {
            uri: excerpt(uri, 80),
            scheme: excerpt(scheme, 20),
        }),
    }
}

/// A dotted name of LDH labels (trailing dot allowed), for URI hosts.
fn is_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Whether `txt` is a record of this kind: starts with the version tag, followed by `;`,
/// whitespace or the end (so `v=STSv10` is another version, not a broken `v=STSv1`).
fn is_candidate(txt: &str, version: &str) -> bool {
    txt.strip_prefix(version)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(|c| c == ';' || is_wsp(c)))
}

fn single_candidate<'a, S: AsRef<str>>(
    txts: &'a [S],
    version: &'static str,
) -> Result<Option<&'a str>, TxtError> {
    let mut candidates = txts
        .iter()
        .map(AsRef::as_ref)
        .filter(|t| is_candidate(t, version));
    let first = candidates.next();
    let more = candidates.count();
    if more > 0 {
        return Err(TxtError::MultipleRecords {
            expected: version,
            count: more + 1,
        });
    }
    Ok(first)
}

/// Splits `version 1*(sep name=value) [sep]` into (name, value) pairs. Names are validated;
/// values are returned raw (trailing whitespace removed) for the caller to validate.
fn parse_fields<'a>(txt: &'a str, version: &'static str) -> Result<Vec<(&'a str, &'a str)>, TxtError> {
    if txt.is_empty() {
        return Err(TxtError::Empty);
    }
    if txt.len() >= 2 && txt.starts_with('"') && txt.ends_with('"') {
        return Err(TxtError::Quoted);
    }
    if !is_candidate(txt, version) {
        return Err(match txt.strip_prefix("v=") {
            Some(v) => TxtError::WrongVersion {
                expected: version,
                found: excerpt(v.split(|c| c == ';' || is_wsp(c)).next().unwrap_or_default(), 20),
            },
            None => TxtError::MissingVersion { expected: version },
        });
    }
    let mut rest = &txt[version.len()..];
    let mut fields = Vec::new();
    loop {
        let r = rest.trim_start_matches(is_wsp);
        if r.is_empty() {
            break;
        }
        let Some(r) = r.strip_prefix(';') else {
            return Err(TxtError::ExpectedSeparator { text: excerpt(r, 40) });
        };
        let r = r.trim_start_matches(is_wsp);
        if r.is_empty() {
            break;
        }
        if r.starts_with(';') {
            return Err(TxtError::EmptyField);
        }
        let end = r.find(';').unwrap_or(r.len());
        let field = r[..end].trim_end_matches(is_wsp);
        rest = &r[end..];
        let Some((name, value)) = field.split_once('=') else {
            return Err(TxtError::MissingEquals {
                field: excerpt(field, 40),
            });
        };
        if !is_field_name(name) {
            return Err(TxtError::InvalidFieldName {
                name: excerpt(name, 40),
            });
        }
        fields.push((name, value));
    }
    Ok(fields)
}

/// `sts-ext-value` / `tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)`: printable ASCII
/// except `;` and `=`.
fn is_ext_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b';' && b != b'=')
}

fn push_extension(
    extensions: &mut Vec<Extension>,
    warnings: &mut Vec<TxtWarning>,
    name: &str,
    value: &str,
) -> Result<(), TxtError> {
    if !is_ext_value(value) {
        return Err(TxtError::InvalidFieldValue {
            name: name.to_owned(),
            value: excerpt(value, 40),
        });
    }
    if extensions.iter().any(|e| e.name == name) {
        warn_duplicate(warnings, name);
    } else {
        extensions.push(Extension {
            name: name.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(())
}

fn warn_duplicate(warnings: &mut Vec<TxtWarning>, name: &str) {
    let w = TxtWarning::DuplicateField {
        name: name.to_owned(),
    };
    if !warnings.contains(&w) {
        warnings.push(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_id_parse() {
        for (input, ok) in [
            ("a", true),
            ("20160831085700Z", true),
            ("ABCxyz019", true),
            (&"a".repeat(32), true),
            (&"a".repeat(33), false),
            ("", false),
            ("test-123", false),
            ("a b", false),
            ("a;", false),
            ("é", false),
        ] {
            assert_eq!(PolicyId::parse(input).is_ok(), ok, "{input:?}");
        }
    }

    #[test]
    fn policy_id_generate() {
        for (secs, counter, expected) in [
            (0, 0, "19700101T000000Z"),
            (1_700_000_000, 0, "20231114T221320Z"),
            (1_700_000_000, 7, "20231114T221320Z7"),
            (951_782_400, 0, "20000229T000000Z"),
            (1_704_070_861, 0, "20240101T010101Z"),
            (4_102_444_799, 12, "20991231T235959Z12"),
            (4_107_542_399, 0, "21000228T235959Z"),
            (-1, 0, "19700101T000000Z"),
            (i64::MIN, 0, "19700101T000000Z"),
            (i64::MAX, 0, "99991231T235959Z"),
            (253_402_300_799, u32::MAX, "99991231T235959Z4294967295"),
        ] {
            let id = PolicyId::generate_from(secs, counter);
            assert_eq!(id.as_str(), expected, "{secs} {counter}");
            assert_eq!(PolicyId::parse(id.as_str()).as_ref(), Ok(&id));
            assert!(id.as_str().len() <= PolicyId::MAX_LEN);
        }
        assert_ne!(PolicyId::generate_from(1, 0), PolicyId::generate_from(1, 1));
    }

    #[test]
    fn sts_txt_round_trip() {
        let id = PolicyId::generate_from(1_700_000_000, 0);
        let txt = sts_txt(&id);
        assert_eq!(txt, "v=STSv1; id=20231114T221320Z;");
        let rec = parse_sts_txt(&txt).unwrap();
        assert_eq!(rec.id, id);
        assert!(rec.extensions.is_empty() && rec.warnings.is_empty());
    }

    #[test]
    fn parse_sts_records() {
        use TxtError as E;
        for (input, expected) in [
            ("v=STSv1; id=abc", Ok("abc")),
            ("v=STSv1;id=abc;", Ok("abc")),
            ("v=STSv1 ;\tid=abc \t; ", Ok("abc")),
            ("v=STSv1; id=a; ext=1; more.x-y_z=!~", Ok("a")),
            ("v=STSv1; id=first; id=second", Ok("first")),
            ("", Err(E::Empty)),
            ("\"v=STSv1; id=abc;\"", Err(E::Quoted)),
            ("id=abc; v=STSv1;", Err(E::MissingVersion { expected: "v=STSv1" })),
            (" v=STSv1; id=abc", Err(E::MissingVersion { expected: "v=STSv1" })),
            ("V=STSv1; id=abc", Err(E::MissingVersion { expected: "v=STSv1" })),
            (
                "v=STSv10; id=abc",
                Err(E::WrongVersion {
                    expected: "v=STSv1",
                    found: "STSv10".into(),
                }),
            ),
            (
                "v=spf1 -all",
                Err(E::WrongVersion {
                    expected: "v=STSv1",
                    found: "spf1".into(),
                }),
            ),
            ("v=STSv1", Err(E::MissingId)),
            ("v=STSv1;", Err(E::MissingId)),
            ("v=STSv1; ext=1", Err(E::MissingId)),
            ("v=STSv1; ID=abc", Err(E::MissingId)),
            (
                "v=STSv1 id=abc",
                Err(E::ExpectedSeparator {
                    text: "id=abc".into(),
                }),
            ),
            ("v=STSv1; id=a;;", Err(E::EmptyField)),
            ("v=STSv1;; id=a", Err(E::EmptyField)),
            ("v=STSv1; id", Err(E::MissingEquals { field: "id".into() })),
            ("v=STSv1; id=", Err(E::InvalidId { value: String::new() })),
            (
                "v=STSv1; id=test-123",
                Err(E::InvalidId {
                    value: "test-123".into(),
                }),
            ),
            ("v=STSv1; id=a b", Err(E::InvalidId { value: "a b".into() })),
            (
                "v=STSv1; id=a; 1%=a",
                Err(E::InvalidFieldName { name: "1%".into() }),
            ),
            (
                "v=STSv1; id=a; =a",
                Err(E::InvalidFieldName { name: String::new() }),
            ),
            (
                "v=STSv1; id=a; more=",
                Err(E::InvalidFieldValue {
                    name: "more".into(),
                    value: String::new(),
                }),
            ),
            (
                "v=STSv1; id=a; test==",
                Err(E::InvalidFieldValue {
                    name: "test".into(),
                    value: "=".into(),
                }),
            ),
            (
                "v=STSv1; id=a; x=é",
                Err(E::InvalidFieldValue {
                    name: "x".into(),
                    value: "é".into(),
                }),
            ),
        ] {
            let got = parse_sts_txt(input);
            assert_eq!(
                got.as_ref().map(|r| r.id.as_str()).map_err(Clone::clone),
                expected,
                "{input:?}"
            );
        }
    }

    #[test]
    fn sts_duplicates_and_extensions() {
        let rec = parse_sts_txt("v=STSv1; id=first; x=1; id=second; x=2").unwrap();
        assert_eq!(rec.id.as_str(), "first");
        assert_eq!(
            rec.extensions,
            vec![Extension {
                name: "x".into(),
                value: "1".into()
            }]
        );
        assert_eq!(
            rec.warnings,
            vec![
                TxtWarning::DuplicateField { name: "id".into() },
                TxtWarning::DuplicateField { name: "x".into() },
            ]
        );
    }

    #[test]
    fn find_sts() {
        for (rrset, expected) in [
            (vec![], Ok(None)),
            (vec!["abc", "def"], Ok(None)),
            (vec!["v=STSv10; id=a"], Ok(None)),
            (vec!["abc", "v=STSv1; id=blah;"], Ok(Some("blah"))),
            (vec!["v=spf1 -all", "v=STSv1;id=x"], Ok(Some("x"))),
            (vec!["v=STSv1"], Err(TxtError::MissingId)),
            (
                vec!["v=STSv1; id=a", "v=STSv1; id=b"],
                Err(TxtError::MultipleRecords {
                    expected: "v=STSv1",
                    count: 2,
                }),
            ),
        ] {
            let got = find_sts_record(&rrset);
            assert_eq!(
                got.as_ref()
                    .map(|r| r.as_ref().map(|r| r.id.as_str()))
                    .map_err(Clone::clone),
                expected,
                "{rrset:?}"
            );
        }
    }

    #[test]
    fn rua_uris() {
        for (uri, expected) in [
            ("mailto:tlsrpt@example.com", Ok(RuaScheme::Mailto)),
            ("MAILTO:tlsrpt@example.com", Ok(RuaScheme::Mailto)),
            ("mailto:reports%2Btls@example.com", Ok(RuaScheme::Mailto)),
            ("mailto:a%2Cb@example.com?subject=x", Ok(RuaScheme::Mailto)),
            ("https://reporting.example.com/v1/tlsrpt", Ok(RuaScheme::Https)),
            ("https://reportbot.example.com:12345/tlsrpt", Ok(RuaScheme::Https)),
            ("https://example.com", Ok(RuaScheme::Https)),
            ("https://[2001:db8::1]:443/x", Ok(RuaScheme::Https)),
            ("https://x.example/a?b=c&d=%2C", Ok(RuaScheme::Https)),
            ("", Err("empty")),
            ("noscheme", Err("no scheme")),
            ("not_a_valid_uri", Err("no scheme")),
            ("!!", Err("no scheme")),
            ("1x:foo", Err("invalid scheme")),
            ("ftp://reports.example.com", Err("unsupported")),
            ("http://bad/%", Err("'%'")),
            ("http://example.com/", Err("unsupported")),
            ("mailto:a,b@example.com", Err("%2C")),
            ("mailto:a;b@example.com", Err("%3B")),
            ("mailto:x@x.example other", Err("whitespace")),
            ("mailto:ü@example.com", Err("non-ASCII")),
            ("mailto:x@x.example\"", Err("not allowed")),
            ("mailto:", Err("local@domain")),
            ("mailto:@example.com", Err("local part")),
            ("mailto:a@", Err("domain")),
            ("mailto:a@bad_domain.example", Err("domain")),
            ("https:example.com", Err("https://")),
            ("https://", Err("host")),
            ("https://:443/", Err("host")),
            ("https://example.com:/", Err("port")),
            ("https://example.com:99999999/", Err("port")),
            ("https://[::1/", Err("IPv6")),
            ("https://[::1]x/", Err("port")),
        ] {
            let got = check_rua_uri(uri);
            match (got, expected) {
                (Ok(s), Ok(e)) => assert_eq!(s, e, "{uri:?}"),
                (Err(err), Err(needle)) => {
                    let msg = err.to_string();
                    assert!(msg.contains(needle), "{uri:?}: {msg}");
                }
                (got, expected) => panic!("{uri:?}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn parse_tlsrpt_records() {
        use TxtError as E;
        for (input, expected) in [
            (
                "v=TLSRPTv1; rua=mailto:a@example.com",
                Ok(vec!["mailto:a@example.com"]),
            ),
            (
                "v=TLSRPTv1;rua=mailto:a@example.com;",
                Ok(vec!["mailto:a@example.com"]),
            ),
            (
                "v=TLSRPTv1; rua=mailto:a@example.com , \t https://r.example/x  ",
                Ok(vec!["mailto:a@example.com", "https://r.example/x"]),
            ),
            (
                "v=TLSRPTv1 ; rua=mailto:x@x.example; rua=mailto:y@x.example",
                Ok(vec!["mailto:x@x.example", "mailto:y@x.example"]),
            ),
            (
                "v=TLSRPTv1; rua=mailto:x@x.example,mailto:x@x.example",
                Ok(vec!["mailto:x@x.example"]),
            ),
            (
                "v=TLSRPTv1; rua=mailto:a@example.com; ext=yes",
                Ok(vec!["mailto:a@example.com"]),
            ),
            ("v=TLSRPTv1", Err(E::MissingRua)),
            ("v=TLSRPTv1; ext=1", Err(E::MissingRua)),
            ("v=TLSRPTv1; rua=", Err(E::EmptyRuaUri)),
            ("v=TLSRPTv1; rua=,, ,", Err(E::EmptyRuaUri)),
            ("v=TLSRPTv1; rua=mailto:a@example.com,", Err(E::EmptyRuaUri)),
            (
                "v=TLSRPTv2; rua=mailto:a@example.com",
                Err(E::WrongVersion {
                    expected: "v=TLSRPTv1",
                    found: "TLSRPTv2".into(),
                }),
            ),
            (
                "not a tlsrpt record",
                Err(E::MissingVersion {
                    expected: "v=TLSRPTv1",
                }),
            ),
            (
                "v=TLSRPTv1; rua=mailto:a@example.com; test",
                Err(E::MissingEquals { field: "test".into() }),
            ),
            ("v=TLSRPTv1; rua=mailto:x@x.example;;", Err(E::EmptyField)),
        ] {
            let got = parse_tlsrpt_txt(input);
            assert_eq!(
                got.as_ref().map(|r| r.rua.clone()).map_err(Clone::clone),
                expected.map(|v| v.into_iter().map(String::from).collect::<Vec<_>>()),
                "{input:?}"
            );
        }
        let rec = parse_tlsrpt_txt("v=TLSRPTv1; rua=mailto:x@x.example; rua=mailto:y@x.example").unwrap();
        assert_eq!(
            rec.warnings,
            vec![TxtWarning::DuplicateField { name: "rua".into() }]
        );
    }

    #[test]
    fn tlsrpt_txt_generation() {
        for (rua, expected) in [
            (
                vec!["mailto:tlsrpt@example.com"],
                "v=TLSRPTv1; rua=mailto:tlsrpt@example.com",
            ),
            (
                vec!["mailto:a@example.com", "https://r.example/v1/tlsrpt"],
                "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example/v1/tlsrpt",
            ),
            (
                vec!["https://r.example/a,b;c d"],
                "v=TLSRPTv1; rua=https://r.example/a%2Cb%3Bc%20d",
            ),
            (
                vec!["mailto:ü@example.com"],
                "v=TLSRPTv1; rua=mailto:%C3%BC@example.com",
            ),
        ] {
            let txt = tlsrpt_txt(&rua);
            assert_eq!(txt, expected);
            let parsed = parse_tlsrpt_txt(&txt).unwrap();
            assert_eq!(parsed.rua.len(), rua.len());
        }
        let owned: Vec<String> = vec!["mailto:x@example.com".into()];
        assert_eq!(tlsrpt_txt(&owned), "v=TLSRPTv1; rua=mailto:x@example.com");
    }

    #[test]
    fn find_tlsrpt() {
        for (rrset, expected) in [
            (vec![], Ok(None)),
            (vec!["other"], Ok(None)),
            (vec!["v=TLSRPTv1; rua=mailto:a@example.com", "other"], Ok(Some(1))),
            (vec!["v=TLSRPTv1; bad"], Err(())),
            (
                vec![
                    "v=TLSRPTv1; rua=mailto:a@example.com",
                    "v=TLSRPTv1; rua=mailto:a@example.com",
                ],
                Err(()),
            ),
        ] {
            let got = find_tlsrpt_record(&rrset);
            assert_eq!(
                got.as_ref()
                    .map(|r| r.as_ref().map(|r| r.rua.len()))
                    .map_err(|_| ()),
                expected,
                "{rrset:?}"
            );
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "v=",
            "v=STSv1;",
            "v=STSv1;=",
            "v=STSv1; id=é",
            "\"",
            "\"\"",
            "v=TLSRPTv1; rua=%",
            "v=TLSRPTv1; rua=https://[",
            "v=TLSRPTv1; rua=https://[]",
            "v=TLSRPTv1; rua=mailto:%zz@x",
            "v=TLSRPTv1; rua=https://a@",
            "é",
            "v=STSv1é",
        ] {
            let _ = parse_sts_txt(s);
            let _ = parse_tlsrpt_txt(s);
            let _ = check_rua_uri(s);
        }
    }
}
