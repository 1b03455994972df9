//! RFC 7807 problem details from Payroc (or whatever a proxy sends instead): a typed error for
//! any bytes, never a panic.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = common::status_and_body(data) else {
        return;
    };
    let text = payroc_hostedfields::fuzzing::problem_answer(status, body);
    assert!(!text.is_empty());
});
