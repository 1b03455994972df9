use std::fmt;

use payauth_core::HttpResponse;
use serde_json::{Map, Value};

use crate::error::Error;

/// A call NumCheck placed: its id, the number it comes from, and the code (the last 4 digits of
/// that number) the user will type in.
///
/// The code is the secret the user proves they received, and the caller number contains it:
/// never send either to the user's browser. `Debug` masks both. No `PartialEq`: comparing codes
/// is [`PendingVerification`](crate::PendingVerification)'s job, in constant time.
#[derive(Clone)]
pub struct Call {
    id: String,
    caller_number: String,
    code: String,
}

impl Call {
    /// The call id, for [`Client::call_status`](crate::Client::call_status) and
    /// [`Client::wait_for_call`](crate::Client::wait_for_call). Not a secret.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The number the call comes from, digits only (`37166004953`). Its last 4 digits are the
    /// code: keep it from the user and from logs.
    pub fn caller_number(&self) -> &str {
        &self.caller_number
    }

    /// The 4-digit code, leading zeros kept (`"0042"`). Usually you do not need it: give the
    /// call to [`PendingVerification::new`](crate::PendingVerification::new) instead.
    pub fn code(&self) -> &str {
        &self.code
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let visible = &self.caller_number[..self.caller_number.len().saturating_sub(4)];
        f.debug_struct("Call")
            .field("id", &self.id)
            .field("caller_number", &format_args!("{visible}****"))
            .field("code", &format_args!("[redacted]"))
            .finish()
    }
}

/// The status of a call, from `get-call-info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallStatus {
    /// `0`: the phone is ringing.
    InProgress,
    /// `1`: the call completed (the user saw it).
    Completed,
    /// `-1`: the call was not answered.
    NotAnswered,
    /// A status NumCheck did not document, kept as data. Not final.
    Unknown(i64),
}

impl CallStatus {
    /// Maps NumCheck's `status` number.
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => CallStatus::InProgress,
            1 => CallStatus::Completed,
            -1 => CallStatus::NotAnswered,
            other => CallStatus::Unknown(other),
        }
    }

    /// Whether the status will not change any more ([`Completed`](Self::Completed) or
    /// [`NotAnswered`](Self::NotAnswered)).
    pub fn is_final(self) -> bool {
        matches!(self, CallStatus::Completed | CallStatus::NotAnswered)
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallStatus::InProgress => f.write_str("in progress"),
            CallStatus::Completed => f.write_str("completed"),
            CallStatus::NotAnswered => f.write_str("not answered"),
            CallStatus::Unknown(code) => write!(f, "unknown status {code}"),
        }
    }
}

/// A successful response's members, or the typed failure it describes.
fn members(response: &HttpResponse) -> Result<Map<String, Value>, Error> {
    let status = response.status();
    if status == 401 || status == 403 {
        return Err(Error::Unauthorized { status });
    }
    let parsed = serde_json::from_slice::<Value>(response.body());
    let object = match parsed {
        Ok(Value::Object(object)) => object,
        _ if response.is_success() => {
            return Err(Error::InvalidResponse {
                status,
                reason: "the body is not a JSON object",
            });
        }
        _ => {
            return Err(Error::UnexpectedStatus {
                status,
                excerpt: response.excerpt(),
            });
        }
    };
    let success = object.get("success").and_then(Value::as_bool);
    let error_code = object.get("errorCode").and_then(integer);
    let refused = success == Some(false) || error_code.is_some_and(|c| c != 0);
    if refused || (!response.is_success() && (success.is_some() || error_code.is_some())) {
        return Err(Error::Api {
            status,
            status_code: object.get("statusCode").and_then(integer),
            error_code,
            message: object
                .get("message")
                .and_then(Value::as_str)
                .map(|m| response.server_text(m)),
        });
    }
    if !response.is_success() {
        return Err(Error::UnexpectedStatus {
            status,
            excerpt: response.excerpt(),
        });
    }
    Ok(object)
}

/// The typed error for a response that is a failure (a status the caller will not parse).
pub(crate) fn failure(response: &HttpResponse) -> Error {
    match members(response) {
        Err(e) => e,
        Ok(_) => Error::UnexpectedStatus {
            status: response.status(),
            excerpt: response.excerpt(),
        },
    }
}

/// Reads an `init-call` response: `callId`, `callerId` and `code` each as a JSON number or
/// string; `code` kept as 4 characters and checked against `callerId`.
pub(crate) fn parse_call(response: &HttpResponse) -> Result<Call, Error> {
    let object = members(response)?;
    let status = response.status();
    let invalid = |reason| Error::InvalidResponse { status, reason };
    let id =
        call_id(object.get("callId")).ok_or_else(|| invalid("callId is missing or malformed"))?;
    let caller_number = digits(object.get("callerId"))
        .filter(|d| (4..=20).contains(&d.len()))
        .ok_or_else(|| invalid("callerId is missing or not a phone number"))?;
    let code = match object.get("code") {
        // A number loses leading zeros: 42 is the code "0042".
        Some(Value::Number(n)) => n.as_u64().filter(|&n| n <= 9999).map(|n| format!("{n:04}")),
        Some(Value::String(s)) if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        _ => None,
    }
    .ok_or_else(|| invalid("code is missing or not 4 digits"))?;
    if !caller_number.ends_with(&code) {
        return Err(Error::CodeMismatch { call_id: id });
    }
    Ok(Call {
        id,
        caller_number,
        code,
    })
}

/// Reads a `get-call-info` response's `status` (a number, or a string holding one).
pub(crate) fn parse_status(response: &HttpResponse) -> Result<CallStatus, Error> {
    let object = members(response)?;
    object
        .get("status")
        .and_then(integer)
        .map(CallStatus::from_code)
        .ok_or(Error::InvalidResponse {
            status: response.status(),
            reason: "status is missing or not a number",
        })
}

/// A whole number, or a string holding one.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A call id: a non-negative whole number, or a string of 1 to 64 visible ASCII characters.
fn call_id(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(s) => valid_call_id(s).then(|| s.clone()),
        _ => None,
    }
}

pub(crate) fn valid_call_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// A phone number as digits: a non-negative whole number, or a string of digits with an optional
/// leading `+`.
fn digits(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(s) => {
            let s = s.strip_prefix('+').unwrap_or(s);
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payauth_core::EXCERPT_CHARS;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::from_parts(status, vec![], body.into())
    }

    fn call(body: &str) -> Result<Call, Error> {
        parse_call(&response(200, body))
    }

    #[test]
    fn the_vendor_example() {
        let call = call(r#"{"callId": 33168, "callerId": 37166004953, "code": 4953, "statusCode": 200, "errorCode": 0, "message": null, "success": true}"#).unwrap();
        assert_eq!(
            (call.id(), call.caller_number(), call.code()),
            ("33168", "37166004953", "4953")
        );
        let status = parse_status(&response(200, r#"{"callId": 33168, "callerId": 37166004953, "code": 4953, "status": 1, "statusCode": 200, "errorCode": 0, "message": null, "success": true}"#)).unwrap();
        assert_eq!(status, CallStatus::Completed);
    }

    #[test]
    fn numbers_or_strings_and_leading_zeros() {
        let expected = ("7", "79990000042", "0042");
        for body in [
            r#"{"callId": 7, "callerId": 79990000042, "code": 42, "success": true}"#,
            r#"{"callId": "7", "callerId": "79990000042", "code": "0042", "success": true}"#,
            r#"{"callId": "7", "callerId": "+79990000042", "code": 42}"#,
        ] {
            let call = call(body).unwrap();
            assert_eq!((call.id(), call.caller_number(), call.code()), expected);
        }
        let status = |s: &str| parse_status(&response(200, &format!(r#"{{"status": {s}}}"#)));
        assert_eq!(status("\"-1\"").unwrap(), CallStatus::NotAnswered);
        assert_eq!(status("0").unwrap(), CallStatus::InProgress);
        assert_eq!(status("7").unwrap(), CallStatus::Unknown(7));
        assert!(!CallStatus::Unknown(7).is_final());
    }

    #[test]
    fn a_code_that_is_not_the_callers_last_digits_is_refused() {
        let err = call(r#"{"callId": 9, "callerId": 37166004953, "code": 4954}"#).unwrap_err();
        assert_eq!(
            err,
            Error::CodeMismatch {
                call_id: "9".into()
            }
        );
        // "42" as a string is not "0042": strings are taken as written.
        let err = call(r#"{"callId": 9, "callerId": 79990000042, "code": "42"}"#).unwrap_err();
        assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("42\""), "{err}");
    }

    #[test]
    fn malformed_members_are_typed_and_not_quoted() {
        for body in [
            r#"{"callerId": 37166004953, "code": 4953}"#,
            r#"{"callId": 1.5, "callerId": 37166004953, "code": 4953}"#,
            r#"{"callId": 1, "callerId": "3716600495x", "code": 4953}"#,
            r#"{"callId": 1, "callerId": 37166004953, "code": 14953}"#,
            r#"{"callId": 1, "callerId": 37166004953, "code": -4953}"#,
            r#"{"callId": 1, "callerId": 37166004953}"#,
            r#"{"callId": 1, "callerId": 37166004953, "code": 4953"#,
            "[4953]",
        ] {
            let err = call(body).unwrap_err();
            assert!(
                matches!(err, Error::InvalidResponse { status: 200, .. }),
                "{body}: {err:?}"
            );
            assert!(!format!("{err} {err:?}").contains("4953"), "{err}");
        }
    }

    #[test]
    fn failures() {
        let err = call(
            r#"{"success": false, "statusCode": 400, "errorCode": 2, "message": "bad phone"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::Api {
                status: 200,
                status_code: Some(400),
                error_code: Some(2),
                message: Some("bad phone".into())
            }
        );
        // One integration treats any non-zero errorCode as a failure, whatever `success` says.
        let err = call(r#"{"success": true, "errorCode": "17", "callId": 1}"#).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Api {
                    error_code: Some(17),
                    ..
                }
            ),
            "{err:?}"
        );
        for status in [401, 403] {
            let err = parse_status(&response(status, r#"{"success": false}"#)).unwrap_err();
            assert_eq!(err, Error::Unauthorized { status });
        }
        let err = parse_status(&response(502, "<html>502 Bad Gateway</html>")).unwrap_err();
        assert!(
            matches!(&err, Error::UnexpectedStatus { status: 502, excerpt } if excerpt.contains("Bad Gateway")),
            "{err:?}"
        );
        assert!(err.is_retryable());
        let err = parse_status(&response(500, r#"{"detail": "oops"}"#)).unwrap_err();
        assert!(
            matches!(err, Error::UnexpectedStatus { status: 500, .. }),
            "{err:?}"
        );
        let long = "m".repeat(1000);
        let err = parse_status(&response(
            400,
            &format!(r#"{{"success": false, "errorCode": 5, "message": "{long}"}}"#),
        ))
        .unwrap_err();
        assert!(
            matches!(&err, Error::Api { message: Some(m), .. } if m.chars().count() == EXCERPT_CHARS + 1)
        );
    }

    #[test]
    fn debug_masks_the_code_and_the_callers_last_digits() {
        let call = call(r#"{"callId": 33168, "callerId": 37166004953, "code": 4953}"#).unwrap();
        let debug = format!("{call:?}");
        assert_eq!(
            debug,
            r#"Call { id: "33168", caller_number: 3716600****, code: [redacted] }"#
        );
    }
}
