//! Payroc hosted-fields-sessions answers (`expiresAt` in any ISO 8601 form): never a panic, and
//! the session token in no error or `Debug`.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = common::status_and_body(data) else {
        return;
    };
    let secrets = common::secrets(body, "token");
    match payroc_hostedfields::fuzzing::session_answer(status, body) {
        Ok(session) => common::assert_hidden(&secrets, &session, "session Debug"),
        Err(text) => common::assert_hidden(&secrets, &text, "session error"),
    }
});
