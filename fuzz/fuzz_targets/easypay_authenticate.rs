//! EasyPay `Authenticate` answers through the envelope checks, the session and the user record
//! (Microsoft JSON dates included): no panic, and the session key in no error or `Debug`.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = common::status_and_body(data) else {
        return;
    };
    let secrets = common::secrets(body, "SessKey");
    match hmac_sessionkey::fuzzing::authenticate_answer(status, body) {
        Ok(session) => common::assert_hidden(&secrets, &session, "Session Debug"),
        Err(text) => common::assert_hidden(&secrets, &text, "authentication error"),
    }
});
