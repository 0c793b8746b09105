//! MIME extraction (RFC 8460 §5.3) under small limits: `extract_from_message`
//! and `parse_message` on arbitrary bytes. Nothing may panic, and the
//! decompressed output over all parts must stay within the limit.
//!
//! The limits are picked from the input's length rather than from a prefix
//! byte, so the seeds (real report e-mails) stay well-formed messages and
//! the fuzzer still varies the limits by growing or shrinking an input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_tlsrpt::{Limits, extract_from_message, parse_message};

/// (max_output_bytes, max_zip_entries): tiny, small, medium.
const LIMITS: [(u64, usize); 4] = [(0, 0), (64, 1), (2048, 2), (64 * 1024, 4)];

fuzz_target!(|data: &[u8]| {
    let (max_output_bytes, max_zip_entries) = LIMITS[data.len() % LIMITS.len()];
    let limits = Limits {
        max_output_bytes,
        max_zip_entries,
    };

    let extracted = extract_from_message(data, &limits);
    if let Ok(message) = &extracted {
        assert!(!message.parts.is_empty(), "Ok without a report part");
        let total: u64 = message
            .parts
            .iter()
            .map(|part| part.payload.bytes.len() as u64)
            .sum();
        assert!(
            total <= max_output_bytes,
            "{total} decompressed bytes over the limit of {max_output_bytes}"
        );
        for part in &message.parts {
            let _ = part.label();
        }
        let _ = message.headers.report_domain();
    }

    let parsed = parse_message(data, &limits, Some("fuzz.example"));
    if extracted.is_err() {
        assert!(parsed.is_err(), "parse_message succeeded where extraction failed");
    }
    if let Ok(reports) = parsed {
        assert!(!reports.is_empty(), "Ok without a report");
        for report in &reports {
            // Serialising walks the whole model (dates, counts, warnings).
            let _ = serde_json::to_vec(report);
        }
    }
});
