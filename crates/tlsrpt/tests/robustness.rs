//! Hostile input: compression bombs, oversized archives, truncation,
//! garbage, and byte-level mutations of every fixture. Nothing may panic.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use moat_tlsrpt::{
    DecompressError, Error, Limits, MimeError, ParseHint, decompress, extract_from_message, parse_any,
};
use zip::write::SimpleFileOptions;

const MIB: u64 = 1024 * 1024;

fn small_limits() -> Limits {
    Limits {
        max_output_bytes: MIB,
        max_zip_entries: 16,
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(data).unwrap_or_else(|e| panic!("{e}"));
    enc.finish().unwrap_or_else(|e| panic!("{e}"))
}

/// A zip with the given (name, data, deflate?) entries.
fn zip_of(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, deflate) in entries {
        let method = if *deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let options = SimpleFileOptions::default().compression_method(method);
        writer
            .start_file(*name, options)
            .unwrap_or_else(|e| panic!("{e}"));
        writer.write_all(data).unwrap_or_else(|e| panic!("{e}"));
    }
    writer.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
}

/// Zeros after an opening brace, so it sniffs as JSON when unpacked.
fn json_like_zeros(len: u64) -> Vec<u8> {
    let mut data = vec![b' '; usize::try_from(len).unwrap_or(0)];
    if let Some(first) = data.first_mut() {
        *first = b'{';
    }
    data
}

#[test]
fn gzip_bomb_is_cut_off_at_the_limit() {
    let bomb = gzip(&json_like_zeros(2 * MIB));
    assert!(bomb.len() < 16 * 1024, "the bomb should be small: {}", bomb.len());
    let err = decompress(&bomb, &small_limits());
    assert_eq!(err, Err(DecompressError::TooLarge { limit: MIB }));
    let err = parse_any(&bomb, &small_limits(), &ParseHint::default());
    assert_eq!(
        err.err().map(|e| e.to_string()).as_deref(),
        Some("decompressed data exceeds the limit of 1048576 bytes")
    );
}

#[test]
fn gzip_bomb_past_the_default_32_mib_limit() {
    let bomb = gzip(&json_like_zeros(33 * MIB));
    let err = decompress(&bomb, &Limits::default());
    assert_eq!(err, Err(DecompressError::TooLarge { limit: 32 * MIB }));
}

#[test]
fn output_exactly_at_the_limit_is_fine() {
    let data = json_like_zeros(MIB);
    let payloads = decompress(&gzip(&data), &small_limits()).unwrap_or_default();
    assert_eq!(payloads.first().map(|p| p.bytes.len()), Some(data.len()));
}

#[test]
fn zip_with_too_many_entries_is_rejected() {
    let names: Vec<String> = (0..17).map(|i| format!("r{i}.json")).collect();
    let entries: Vec<(&str, &[u8], bool)> = names.iter().map(|n| (n.as_str(), &b"{}"[..], false)).collect();
    let err = decompress(&zip_of(&entries), &small_limits());
    assert_eq!(err, Err(DecompressError::TooManyEntries { count: 17, limit: 16 }));
}

#[test]
fn zip_entry_bomb_is_cut_off() {
    let big = json_like_zeros(2 * MIB);
    let archive = zip_of(&[("bomb.json", &big, true)]);
    assert_eq!(
        decompress(&archive, &small_limits()),
        Err(DecompressError::TooLarge { limit: MIB })
    );
}

#[test]
fn zip_total_output_is_capped_across_entries() {
    let part = json_like_zeros(400 * 1024);
    let archive = zip_of(&[
        ("a.json", &part, true),
        ("b.json", &part, true),
        ("c.json", &part, true),
    ]);
    assert_eq!(
        decompress(&archive, &small_limits()),
        Err(DecompressError::TooLarge { limit: MIB })
    );
}

#[test]
fn gzip_bomb_inside_zip_is_cut_off() {
    let inner = gzip(&json_like_zeros(2 * MIB));
    let archive = zip_of(&[("r.json.gz", &inner, false)]);
    assert_eq!(
        decompress(&archive, &small_limits()),
        Err(DecompressError::TooLarge { limit: MIB })
    );
}

#[test]
fn zip_without_reports_says_what_it_holds() {
    let archive = zip_of(&[("notes.txt", b"hello", false)]);
    let err = decompress(&archive, &small_limits());
    assert_eq!(
        err.err().map(|e| e.to_string()).as_deref(),
        Some("the zip archive contains no JSON report (entries: notes.txt)")
    );
}

#[test]
fn forged_zip_directory_counts_are_harmless() {
    // An end-of-central-directory record claiming 65535 entries.
    let mut eocd = b"PK\x05\x06".to_vec();
    eocd.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    eocd.extend_from_slice(&[0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0]);
    let err = decompress(&eocd, &small_limits());
    assert!(err.is_err(), "{err:?}");
}

#[test]
fn truncated_gzip_is_a_clear_error() {
    let full = gzip(br#"{"organization-name":"O","report-id":"x"}"#);
    for cut in [2, 10, full.len() / 2, full.len() - 4] {
        let err = decompress(full.get(..cut).unwrap_or_default(), &small_limits());
        match err {
            Err(DecompressError::Gzip(msg)) => assert!(!msg.is_empty()),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    let msg = decompress(full.get(..full.len() / 2).unwrap_or_default(), &small_limits())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.starts_with("invalid gzip data"), "{msg}");
}

#[test]
fn garbage_is_a_clear_error() {
    let hint = ParseHint::default();
    let err = parse_any(b"\x89PNG\r\n\x1a\n", &small_limits(), &hint);
    assert_eq!(
        err.err().map(|e| e.to_string()).as_deref(),
        Some(
            "not a TLS report: neither JSON, gzip, zip nor an e-mail message (starts with 89 50 4e 47 0d 0a 1a 0a)"
        )
    );
    assert!(matches!(
        parse_any(b"", &small_limits(), &hint),
        Err(Error::Unrecognised { .. })
    ));
    assert!(matches!(
        extract_from_message(b"", &small_limits()),
        Err(MimeError::NotAMessage | MimeError::NoReportPart { .. })
    ));
    assert!(matches!(
        decompress(b"PK\x03\x04garbage", &small_limits()),
        Err(DecompressError::Zip(_))
    ));
}

#[test]
fn message_with_a_bomb_attachment_is_rejected() {
    let bomb = gzip(&json_like_zeros(2 * MIB));
    let b64 = base64_lines(&bomb);
    let raw = format!(
        "From: a@b.example\r\nContent-Type: multipart/report; report-type=tlsrpt; boundary=z\r\n\r\n\
         --z\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--z--\r\n"
    );
    let err = extract_from_message(raw.as_bytes(), &small_limits());
    assert!(
        matches!(
            err,
            Err(MimeError::Unpack {
                source: DecompressError::TooLarge { limit: MIB },
                ..
            })
        ),
        "{err:?}"
    );
}

fn base64_lines(data: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    text.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Every fixture, truncated at every length and with bytes overwritten at
/// every position, goes through `parse_any` without panicking.
#[test]
fn truncations_and_mutations_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(inputs.len() >= 15, "fixtures missing in {}", dir.display());
    inputs.sort();
    let limits = small_limits();
    let hint = ParseHint::with_policy_domain("hint.example");
    let mut runs = 0usize;
    for input in &inputs {
        for cut in 0..input.len() {
            let _ = parse_any(input.get(..cut).unwrap_or_default(), &limits, &hint);
            runs += 1;
        }
        for pos in 0..input.len() {
            for byte in [0x00u8, 0xff, b'"', b'-', b'\n'] {
                let mut mutated = input.clone();
                if let Some(slot) = mutated.get_mut(pos) {
                    *slot = byte;
                }
                let _ = parse_any(&mutated, &limits, &hint);
                runs += 1;
            }
        }
    }
    assert!(runs > 10_000, "{runs}");
}

#[test]
fn large_report_parses_and_caps_its_warnings() {
    let detail =
        r#"{"result-type":"certificate-expired","sending-mta-ip":"not-an-ip","failed-session-count":1}"#;
    let details = vec![detail; 20_000].join(",");
    let json = format!(
        r#"{{"organization-name":"Big","report-id":"big-1","contact-info":"c@big.example",
            "date-range":{{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"}},
            "policies":[{{"policy":{{"policy-type":"sts","policy-domain":"big.example"}},
              "summary":{{"total-successful-session-count":1,"total-failure-session-count":20000}},
              "failure-details":[{details}]}}]}}"#
    );
    let start = std::time::Instant::now();
    let report = moat_tlsrpt::parse_json(json.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert!(start.elapsed().as_secs() < 10);
    assert_eq!(report.policies[0].failure_details.len(), 20_000);
    assert_eq!(report.policies[0].failure_details_sum(), 20_000);
    assert_eq!(report.warnings.len(), moat_tlsrpt::parse::MAX_WARNINGS);
    assert_eq!(
        report.warnings.last().map(|w| w.code),
        Some(moat_tlsrpt::WarningCode::TooManyWarnings)
    );
}
