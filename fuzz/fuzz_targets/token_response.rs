//! RFC 6749 token responses (the core parser both token clients use) and the expiry computed
//! from them: no panic for any `expires_in` or clock, the expiry clamped to a year, no token in
//! an error.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use payauth_core::{MAX_CREDENTIAL_LIFETIME, expiry_after, parse_token_response};
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Some((now, body)) = common::time_and_rest(data) else {
        return;
    };
    let secrets = common::secrets(body, "access_token");
    match parse_token_response(body, Duration::from_secs(600)) {
        Ok(token) => {
            common::assert_hidden(&secrets, &format!("{token:?}"), "TokenResponse Debug");
            if let Some(at) = expiry_after(now, token.lifetime) {
                let lifetime = at.duration_since(now).unwrap_or_default();
                assert!(lifetime <= MAX_CREDENTIAL_LIFETIME);
                assert!(lifetime <= token.lifetime);
            }
        }
        Err(reason) => common::assert_hidden(&secrets, reason, "token error"),
    }
});
