//! EasyPay call answers (`CardSale/Manual` results) through the envelope checks: a typed result
//! or a typed error, never a panic; `ErrMsg` parsed whatever its shape.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = common::status_and_body(data) else {
        return;
    };
    if let Err(text) = hmac_sessionkey::fuzzing::call_answer(status, body) {
        assert!(!text.is_empty());
    }
});
