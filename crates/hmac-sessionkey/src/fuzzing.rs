//! Entry points for the fuzz targets in the repository's `fuzz/` folder, behind the `fuzzing`
//! feature. Not a stable API: they exist so that private parsers are fuzzed as the client runs
//! them.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use payauth_core::HttpResponse;
use serde_json::Value;

use crate::envelope::{decode, resp_msg, result_object};
use crate::error::Error;
use crate::requests::CardSaleResult;
use crate::session::{Session, SessionData};

/// Reads an `Authenticate` answer as the client does, after EasyPay's `status` and `body`:
/// `Ok` with the session's `Debug`, or `Err` with the error's `Display` and `Debug`.
///
/// # Errors
/// The text of the error the client would return.
pub fn authenticate_answer(status: u16, body: &[u8]) -> Result<String, String> {
    let response = HttpResponse::from_parts(status, vec![], body.to_vec());
    let outcome = result_object(&response, false).and_then(|result| {
        if result.get("AuthSuccess").and_then(Value::as_bool) != Some(true) {
            return Err(Error::CredentialsRejected {
                message: resp_msg(&result),
            });
        }
        SessionData::from_result(&result, UNIX_EPOCH)
    });
    match outcome {
        Ok(data) => Ok(format!("{:?}", Session(Arc::new(data)))),
        Err(e) => Err(format!("{e} {e:?}")),
    }
}

/// Reads an answer to a call (`CardSale/Manual`) as the client does: `Ok` with the result's
/// `Debug`, or `Err` with the error's text.
///
/// # Errors
/// The text of the error the client would return.
pub fn call_answer(status: u16, body: &[u8]) -> Result<String, String> {
    let response = HttpResponse::from_parts(status, vec![], body.to_vec());
    result_object(&response, true)
        .and_then(decode::<CardSaleResult>)
        .map(|result| format!("{result:?}"))
        .map_err(|e| format!("{e} {e:?}"))
}
