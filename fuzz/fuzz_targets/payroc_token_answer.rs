//! Payroc's reading of an `/authorize` answer at any clock: no panic, a clamped expiry, no token
//! in any error.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use payauth_core::MAX_CREDENTIAL_LIFETIME;

fuzz_target!(|data: &[u8]| {
    let Some((status, rest)) = common::status_and_body(data) else {
        return;
    };
    let Some((now, body)) = common::time_and_rest(rest) else {
        return;
    };
    match payroc_hostedfields::fuzzing::token_answer(status, body, now) {
        Ok(at) => assert!(at.duration_since(now).unwrap_or_default() <= MAX_CREDENTIAL_LIFETIME),
        Err(text) => {
            common::assert_hidden(&common::secrets(body, "access_token"), &text, "token error")
        }
    }
});
