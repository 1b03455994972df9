//! Entry points for the fuzz targets in the repository's `fuzz/` folder, behind the `fuzzing`
//! feature. Not a stable API: they exist so that private parsers are fuzzed as the client runs
//! them.

use std::time::SystemTime;

use payauth_core::HttpResponse;

use crate::problem::parse_problem;
use crate::request::{IdempotencyKey, TerminalId};
use crate::session::parse_session;
use crate::token::parse_token;

/// The error (`Display` and `Debug`) the client makes of a failed answer: RFC 7807 problem
/// details, or the status and an excerpt.
pub fn problem_answer(status: u16, body: &[u8]) -> String {
    let e = parse_problem(&HttpResponse::from_parts(status, vec![], body.to_vec()));
    format!("{e} {e:?}")
}

/// Reads a 2xx hosted-fields-sessions answer: `Ok` with the session's `Debug`.
///
/// # Errors
/// The text of the error the client would return.
pub fn session_answer(status: u16, body: &[u8]) -> Result<String, String> {
    let response = HttpResponse::from_parts(status, vec![], body.to_vec());
    let terminal = TerminalId::new("1234001").map_err(|e| e.to_string())?;
    let key =
        IdempotencyKey::new("8e03978e-40d5-43e8-bc93-6894a57f9324").map_err(|e| e.to_string())?;
    parse_session(&response, &terminal, key, SystemTime::UNIX_EPOCH)
        .map(|session| format!("{session:?}"))
        .map_err(|e| format!("{e} {e:?}"))
}

/// Reads an `/authorize` answer received at `now`: `Ok` with the token's expiry.
///
/// # Errors
/// The text of the error the client would return.
pub fn token_answer(status: u16, body: &[u8], now: SystemTime) -> Result<SystemTime, String> {
    let response = HttpResponse::from_parts(status, vec![], body.to_vec());
    parse_token(&response, now)
        .map(|data| data.expires_at)
        .map_err(|e| format!("{e} {e:?}"))
}
