//! Entry points for the fuzz targets in the repository's `fuzz/` folder, behind the `fuzzing`
//! feature. Not a stable API: they exist so that private parsers are fuzzed as the client runs
//! them.

use payauth_core::HttpResponse;

use crate::call::{Call, parse_call, parse_status};

/// Reads an `init-call` answer as the client does.
///
/// # Errors
/// The text (`Display` and `Debug`) of the error the client would return.
pub fn init_call_answer(status: u16, body: &[u8]) -> Result<Call, String> {
    let response = HttpResponse::from_parts(status, vec![], body.to_vec());
    parse_call(&response).map_err(|e| format!("{e} {e:?}"))
}

/// Reads a `get-call-info` answer as the client does: `Ok` with the status's `Debug`.
///
/// # Errors
/// The text of the error the client would return.
pub fn call_info_answer(status: u16, body: &[u8]) -> Result<String, String> {
    let response = HttpResponse::from_parts(status, vec![], body.to_vec());
    parse_status(&response)
        .map(|status| format!("{status:?}"))
        .map_err(|e| format!("{e} {e:?}"))
}
