//! The fast path and the lenient walk agree on every input the fast path accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_tlsrpt::ParseHint;
use moat_tlsrpt::paths::{fast, lenient};

fuzz_target!(|data: &[u8]| {
    if let Some(quick) = fast(data) {
        match lenient(data, &ParseHint::with_policy_domain("fuzz.example")) {
            Ok(slow) => assert_eq!(quick, slow, "the two parsing paths disagree"),
            Err(e) => panic!("the fast path accepted what the lenient walk rejects: {e}"),
        }
    }
});
