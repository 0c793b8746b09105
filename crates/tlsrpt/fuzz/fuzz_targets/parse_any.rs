//! Feed arbitrary bytes through every entry point; none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_tlsrpt::{Limits, ParseHint, extract_from_message, parse_any, parse_json};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_output_bytes: 1024 * 1024,
        max_zip_entries: 16,
    };
    let hint = ParseHint::with_policy_domain("fuzz.example");
    let _ = parse_any(data, &limits, &hint);
    let _ = parse_json(data);
    let _ = extract_from_message(data, &limits);
});
