//! Entry points for the fuzz targets in the repository's `fuzz/` folder, behind the `fuzzing`
//! feature. Not a stable API: they exist so that private parsers are fuzzed as the client runs
//! them.

use std::time::{Duration, SystemTime};

use payauth_core::HttpResponse;

use crate::token::{parse_error, parse_token};

/// Reads a token endpoint's answer received at `now` as the client does (a 2xx as a token,
/// anything else as an RFC 6749 error): `Ok` with the token's expiry.
///
/// # Errors
/// The text (`Display` and `Debug`) of the error the client would return.
pub fn token_answer(status: u16, body: &[u8], now: SystemTime) -> Result<SystemTime, String> {
    let response = HttpResponse::from_parts(status, vec![], body.to_vec());
    if !response.is_success() {
        let e = parse_error(&response);
        return Err(format!("{e} {e:?}"));
    }
    parse_token(&response, now, Duration::from_secs(600), None)
        .map(|data| data.expires_at)
        .map_err(|e| format!("{e} {e:?}"))
}
