//! The fast path and the lenient walk agree on every input the fast path accepts, and the
//! splitter of encoded string arrays agrees with serde_json.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_tlsrpt::ParseHint;
use moat_tlsrpt::paths::{fast, lenient, string_array};

fuzz_target!(|data: &[u8]| {
    if let Some(quick) = fast(data) {
        match lenient(data, &ParseHint::with_policy_domain("fuzz.example")) {
            Ok(slow) => assert_eq!(quick, slow, "the two parsing paths disagree"),
            Err(e) => panic!("the fast path accepted what the lenient walk rejects: {e}"),
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let serde = serde_json::from_str::<Vec<String>>(text).ok();
        assert_eq!(string_array(text), serde, "the string-array splitter disagrees with serde_json");
    }
});
