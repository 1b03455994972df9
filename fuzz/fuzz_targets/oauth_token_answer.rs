//! The OAuth client's reading of a token endpoint's answer (token or RFC 6749 error) at any
//! clock: no panic, a clamped expiry, no token in the error of a 2xx.
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
    match oauth_client_credentials::fuzzing::token_answer(status, body, now) {
        Ok(at) => assert!(at.duration_since(now).unwrap_or_default() <= MAX_CREDENTIAL_LIFETIME),
        // A failed status's body is quoted on purpose (an excerpt); a 2xx's never is.
        Err(text) if (200..300).contains(&status) => {
            common::assert_hidden(&common::secrets(body, "access_token"), &text, "token error")
        }
        Err(_) => {}
    }
});
