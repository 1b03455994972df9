//! NumCheck `init-call` and `get-call-info` answers: never a panic; a call read from one has a
//! four-digit code at the end of the caller's number, and its `Debug` hides the code.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = common::status_and_body(data) else {
        return;
    };
    if let Ok(call) = numcheck_client::fuzzing::init_call_answer(status, body) {
        let code = call.code();
        assert!(code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()));
        assert!(call.caller_number().ends_with(code));
        let shown = format!("{call:?}");
        if !call.id().contains(call.caller_number()) {
            assert!(!shown.contains(call.caller_number()), "{shown}");
        }
    }
    let _ = numcheck_client::fuzzing::call_info_answer(status, body);
});
