//! Capped decompression of report payloads (RFC 8460 §5.2 "Compression").
//!
//! RFC 8460 reports are usually gzip-compressed (`application/tlsrpt+gzip`);
//! in practice they also arrive as plain JSON and inside zip archives. All
//! output is capped by *reading*, never by trusting sizes in headers, so a
//! decompression bomb is cut off at [`Limits::max_output_bytes`] + 1 bytes.

use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use flate2::read::MultiGzDecoder;

/// Resource limits for decompression and MIME extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of decompressed output, in total, for one input
    /// (all zip entries or message parts together). Default 32 MiB.
    pub max_output_bytes: u64,
    /// Most entries a zip archive may list (directories included).
    /// Default 16.
    pub max_zip_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_output_bytes: 32 * 1024 * 1024,
            max_zip_entries: 16,
        }
    }
}

/// How a payload was packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Packing {
    /// Plain JSON.
    Plain,
    /// gzip (RFC 1952), the RFC 8460 §5.2 format.
    Gzip,
    /// An entry of a zip archive.
    Zip,
    /// A gzip file inside a zip archive.
    GzipInZip,
}

/// One decompressed document, expected to be report JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The zip entry name, when the payload came from a zip archive.
    pub name: Option<String>,
    /// How it was packed.
    pub packing: Packing,
    /// The decompressed bytes.
    pub bytes: Vec<u8>,
}

/// Why a payload could not be unpacked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecompressError {
    /// The input is empty.
    #[error("the input is empty")]
    Empty,
    /// Decompressed output would exceed the limit (a likely compression bomb).
    #[error("decompressed data exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes that was hit.
        limit: u64,
    },
    /// The zip archive lists more entries than allowed.
    #[error("the zip archive has {count} entries, more than the limit of {limit}")]
    TooManyEntries {
        /// Entries in the archive.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The gzip data is truncated or corrupt.
    #[error("invalid gzip data: {0}")]
    Gzip(String),
    /// The zip archive is truncated, corrupt or uses an unsupported feature.
    #[error("invalid zip archive: {0}")]
    Zip(String),
    /// The zip archive holds no file that looks like a report.
    #[error("the zip archive contains no JSON report (entries: {entries})")]
    NoReportInZip {
        /// The entry names, comma-separated.
        entries: String,
    },
    /// Neither gzip, zip nor JSON.
    #[error("not gzip, zip or JSON (starts with {start})")]
    Unrecognised {
        /// The first bytes in hex.
        start: String,
    },
}

/// What kind of container a byte string looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// gzip magic `1f 8b`.
    Gzip,
    /// zip local-file or empty-archive signature (`PK\x03\x04` / `PK\x05\x06`).
    Zip,
    /// First non-whitespace byte (after an optional UTF-8 BOM) is `{`.
    Json,
    /// None of the above.
    Other,
}

/// Classify bytes by magic number.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Sniffed::Gzip
    } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Sniffed::Zip
    } else if first_significant_byte(bytes) == Some(b'{') {
        Sniffed::Json
    } else {
        Sniffed::Other
    }
}

fn first_significant_byte(bytes: &[u8]) -> Option<u8> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// Unpack gzip, zip or plain JSON into report payloads, enforcing `limits`.
///
/// * gzip: all members are decoded (`MultiGzDecoder`), output capped.
/// * zip: at most [`Limits::max_zip_entries`] entries; each entry named
///   `*.json` / `*.gz` or whose content starts like JSON or gzip is taken,
///   and a gzip inside the zip is unpacked (one level). Output is capped
///   over all entries together.
/// * anything starting with `{` is returned as is (if within the limit).
pub fn decompress(bytes: &[u8], limits: &Limits) -> Result<Vec<Payload>, DecompressError> {
    if bytes.is_empty() {
        return Err(DecompressError::Empty);
    }
    match sniff(bytes) {
        Sniffed::Gzip => Ok(vec![Payload {
            name: None,
            packing: Packing::Gzip,
            bytes: gunzip(bytes, limits.max_output_bytes)?,
        }]),
        Sniffed::Zip => unzip(bytes, limits),
        Sniffed::Json => {
            if u64::try_from(bytes.len()).map_or(true, |len| len > limits.max_output_bytes) {
                return Err(DecompressError::TooLarge {
                    limit: limits.max_output_bytes,
                });
            }
            Ok(vec![Payload {
                name: None,
                packing: Packing::Plain,
                bytes: bytes.to_vec(),
            }])
        }
        Sniffed::Other => Err(DecompressError::Unrecognised {
            start: hex_prefix(bytes),
        }),
    }
}

/// Decode (possibly multi-member) gzip, reading at most `limit + 1` bytes.
pub fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, DecompressError> {
    read_capped(MultiGzDecoder::new(bytes), limit).map_err(|e| match e {
        CapError::TooLarge => DecompressError::TooLarge { limit },
        CapError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecompressError::Gzip(format!("truncated ({e})"))
        }
        CapError::Io(e) => DecompressError::Gzip(e.to_string()),
    })
}

enum CapError {
    TooLarge,
    Io(std::io::Error),
}

/// Read everything from `reader`, failing once more than `limit` bytes come.
fn read_capped(reader: impl Read, limit: u64) -> Result<Vec<u8>, CapError> {
    let mut out = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(CapError::Io)?;
    if u64::try_from(out.len()).map_or(true, |len| len > limit) {
        return Err(CapError::TooLarge);
    }
    Ok(out)
}

fn unzip(bytes: &[u8], limits: &Limits) -> Result<Vec<Payload>, DecompressError> {
    // The zip crate is not expected to panic, but it parses attacker data:
    // turn a panic into an error rather than take the caller down.
    catch_unwind(AssertUnwindSafe(|| unzip_inner(bytes, limits))).unwrap_or_else(|_| {
        Err(DecompressError::Zip(
            "the zip reader failed on malformed input".into(),
        ))
    })
}

fn unzip_inner(bytes: &[u8], limits: &Limits) -> Result<Vec<Payload>, DecompressError> {
    let zip_err = |e: zip::result::ZipError| DecompressError::Zip(e.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let count = archive.len();
    if count > limits.max_zip_entries {
        return Err(DecompressError::TooManyEntries {
            count,
            limit: limits.max_zip_entries,
        });
    }
    let mut budget = limits.max_output_bytes;
    let mut payloads = Vec::new();
    let mut names = Vec::new();
    for index in 0..count {
        let entry = archive.by_index(index).map_err(zip_err)?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("#{index}"));
        if entry.is_dir() {
            continue;
        }
        names.push(name.clone());
        let data = read_capped(entry, budget).map_err(|e| match e {
            CapError::TooLarge => DecompressError::TooLarge {
                limit: limits.max_output_bytes,
            },
            CapError::Io(e) => DecompressError::Zip(format!("entry {name:?}: {e}")),
        })?;
        budget = budget.saturating_sub(len_u64(&data));
        if let Some(payload) = zip_entry_payload(name, data, &mut budget, limits)? {
            payloads.push(payload);
        }
    }
    if payloads.is_empty() {
        return Err(DecompressError::NoReportInZip {
            entries: if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            },
        });
    }
    Ok(payloads)
}

/// Turn one zip entry into a payload: unpack a nested gzip, keep JSON, skip
/// anything else (e.g. `__MACOSX/` metadata, read-me files).
fn zip_entry_payload(
    name: String,
    data: Vec<u8>,
    budget: &mut u64,
    limits: &Limits,
) -> Result<Option<Payload>, DecompressError> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("__macosx/") {
        return Ok(None);
    }
    match sniff(&data) {
        Sniffed::Gzip => {
            let inner = gunzip(&data, *budget).map_err(|e| match e {
                DecompressError::TooLarge { .. } => DecompressError::TooLarge {
                    limit: limits.max_output_bytes,
                },
                other => other,
            })?;
            *budget = budget.saturating_sub(len_u64(&inner));
            Ok(Some(Payload {
                name: Some(name),
                packing: Packing::GzipInZip,
                bytes: inner,
            }))
        }
        Sniffed::Json => Ok(Some(Payload {
            name: Some(name),
            packing: Packing::Zip,
            bytes: data,
        })),
        _ if lower.ends_with(".json") => Ok(Some(Payload {
            name: Some(name),
            packing: Packing::Zip,
            bytes: data,
        })),
        _ => Ok(None),
    }
}

fn len_u64(data: &[u8]) -> u64 {
    u64::try_from(data.len()).unwrap_or(u64::MAX)
}

/// Up to the first 8 bytes in hex, for error messages.
pub(crate) fn hex_prefix(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    if shown.is_empty() {
        "nothing".into()
    } else {
        shown.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic() {
        assert_eq!(sniff(b"\x1f\x8b\x08"), Sniffed::Gzip);
        assert_eq!(sniff(b"PK\x03\x04"), Sniffed::Zip);
        assert_eq!(sniff(b"\xEF\xBB\xBF \n {}"), Sniffed::Json);
        assert_eq!(sniff(b"From: x"), Sniffed::Other);
        assert_eq!(sniff(b""), Sniffed::Other);
    }

    #[test]
    fn plain_json_respects_the_limit() {
        let limits = Limits {
            max_output_bytes: 3,
            ..Limits::default()
        };
        assert_eq!(decompress(b"{ }", &limits).map(|p| p.len()), Ok(1));
        assert_eq!(
            decompress(b"{  }", &limits),
            Err(DecompressError::TooLarge { limit: 3 })
        );
    }

    #[test]
    fn reports_unrecognised_input() {
        let err = decompress(b"\x00\x01garbage", &Limits::default());
        assert_eq!(
            err,
            Err(DecompressError::Unrecognised {
                start: "00 01 67 61 72 62 61 67".into()
            })
        );
        assert_eq!(decompress(b"", &Limits::default()), Err(DecompressError::Empty));
    }
}
