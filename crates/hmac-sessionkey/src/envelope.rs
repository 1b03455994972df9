//! EasyPay's response envelope: every answer is `{"<Operation>Result": {FunctionOk, ErrCode,
//! ErrMsg, RespMsg, ...}}`, checked in the documented order.

use payauth_core::HttpResponse;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::{OffsetDateTime, UtcOffset};

use crate::error::{Error, Result, VendorMessage};

/// The result object after the envelope checks: HTTP status, the literal `Bad Request`, JSON,
/// one `...Result` member, `FunctionOk` (either spelling), `ErrCode`.
///
/// `quote_body` says whether an unexpected body may appear in the error (not for authentication,
/// whose body holds a session key).
pub(crate) fn result_object(
    response: &HttpResponse,
    quote_body: bool,
) -> Result<Map<String, Value>> {
    let body = response.body();
    if is_bad_request(body) {
        return Err(Error::BadRequest);
    }
    if response.status() != 200 {
        return Err(Error::UnexpectedStatus {
            status: response.status(),
            excerpt: if quote_body {
                response.excerpt()
            } else {
                String::new()
            },
        });
    }
    let invalid = |reason: &str| Error::InvalidResponse {
        reason: if quote_body {
            format!("{reason}: {}", response.excerpt())
        } else {
            reason.to_owned()
        },
    };
    let Ok(Value::Object(outer)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid("the body is not a JSON object"));
    };
    let mut results = outer.into_iter().filter(|(key, _)| key.ends_with("Result"));
    let (Some((_, Value::Object(result))), None) = (results.next(), results.next()) else {
        return Err(invalid("expected exactly one \"...Result\" object"));
    };
    let function_ok = field(&result, &["FunctionOk", "FunctionOK"]).and_then(Value::as_bool);
    let code = result.get("ErrCode").and_then(as_i64).unwrap_or(0);
    if function_ok != Some(true) || code != 0 {
        let message = result
            .get("ErrMsg")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // Server text: scrubbed of what this request carried and bounded before it is kept.
        return Err(Error::Vendor {
            code,
            message: VendorMessage::parse(&response.server_text(message)),
        });
    }
    Ok(result)
}

/// Deserialises the checked result object into the caller's type.
pub(crate) fn decode<R: DeserializeOwned>(result: Map<String, Value>) -> Result<R> {
    // serde's message can quote a value from the body: keep only its category.
    serde_json::from_value(Value::Object(result)).map_err(|e| Error::InvalidResponse {
        reason: format!(
            "the result does not match the expected type ({:?} error)",
            e.classify()
        ),
    })
}

/// `RespMsg` in either of EasyPay's spellings.
pub(crate) fn resp_msg(result: &Map<String, Value>) -> String {
    field(result, &["RespMsg", "RspMsg"])
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn field<'a>(object: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|name| object.get(*name))
}

fn as_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str()?.trim().parse().ok())
}

fn is_bad_request(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.trim().trim_matches('"') == "Bad Request"
}

/// Parses a Microsoft JSON date, `/Date(1710936735853)/` or `/Date(1710936735853+0200)/`
/// (milliseconds since 1970 UTC, optionally with the offset of the zone it was written in).
///
/// The instant is the milliseconds; the offset only says which zone the writer was in, so it is
/// checked (four digits, at most 25:59, a date that stays inside the years 0000–9999 in that zone)
/// and then dropped: the result is the same instant whatever the zone.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let at = hmac_sessionkey::parse_ms_json_date("/Date(1710936735853+0200)/").unwrap();
/// assert_eq!(at, UNIX_EPOCH + Duration::from_millis(1_710_936_735_853));
/// assert_eq!(payauth_core::Rfc3339(at).to_string(), "2024-03-20T12:12:15Z");
/// ```
///
/// # Errors
/// [`Error::InvalidResponse`] when the text is not of that form, or the instant is not one this
/// platform's `SystemTime` can hold.
pub fn parse_ms_json_date(text: &str) -> Result<SystemTime> {
    let invalid = || Error::InvalidResponse {
        reason: "not a Microsoft JSON date (/Date(ms)/ or /Date(ms+hhmm)/)".to_owned(),
    };
    let inner = text
        .trim()
        .trim_start_matches('\\')
        .strip_prefix("/Date(")
        .and_then(|rest| {
            rest.strip_suffix(")/")
                .or_else(|| rest.strip_suffix(")\\/"))
        })
        .ok_or_else(invalid)?;
    // The sign of the offset is the first + or - after the first character (which may be the
    // sign of a date before 1970).
    let split = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map(|(i, _)| i);
    let (millis, offset) = match split {
        Some(i) => (&inner[..i], Some(&inner[i..])),
        None => (inner, None),
    };
    let millis: i64 = millis.parse().map_err(|_| invalid())?;
    let instant = OffsetDateTime::UNIX_EPOCH
        .checked_add(time::Duration::milliseconds(millis))
        .ok_or_else(invalid)?;
    if let Some(offset) = offset {
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let digits = &offset[1..];
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let hours: i8 = digits[..2].parse().map_err(|_| invalid())?;
        let minutes: i8 = digits[2..].parse().map_err(|_| invalid())?;
        let offset = UtcOffset::from_hms(sign * hours, sign * minutes, 0).map_err(|_| invalid())?;
        // Checked: an instant near either end of the supported years moves out of them in the
        // writer's zone (`/Date(253402300799999+0100)/` is year 10000 locally).
        instant.checked_to_offset(offset).ok_or_else(invalid)?;
    }
    // Checked: SystemTime's range is the platform's (Windows starts in 1601).
    let magnitude = Duration::from_millis(millis.unsigned_abs());
    if millis >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
    .ok_or_else(invalid)
}

/// Writes `at` as a Microsoft JSON date in UTC, `/Date(ms)/`, in whole milliseconds rounded
/// toward the past: the inverse of [`parse_ms_json_date`] for every instant it returns (an
/// offset the text had is not written back; the instant is the same).
///
/// ```
/// use hmac_sessionkey::{format_ms_json_date, parse_ms_json_date};
///
/// let at = parse_ms_json_date("/Date(1710936735853+0200)/").unwrap();
/// assert_eq!(format_ms_json_date(at), "/Date(1710936735853)/");
/// assert_eq!(parse_ms_json_date(&format_ms_json_date(at)).unwrap(), at);
/// ```
pub fn format_ms_json_date(at: SystemTime) -> String {
    let nanos: i128 = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    };
    format!("/Date({})/", nanos.div_euclid(1_000_000))
}

/// Serde support for fields holding Microsoft JSON dates.
pub mod ms_json_date {
    use std::time::SystemTime;

    use serde::{Deserialize as _, Deserializer};

    /// Deserialises `/Date(...)/` into a [`SystemTime`] (see
    /// [`parse_ms_json_date`](crate::parse_ms_json_date)).
    ///
    /// # Errors
    /// A serde error when the text is not a Microsoft JSON date.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_ms_json_date(&text).map_err(serde::de::Error::custom)
    }

    /// The same for an optional field (`null` or missing → `None`).
    pub mod option {
        use std::time::SystemTime;

        use serde::{Deserialize as _, Deserializer};

        /// Deserialises `null` or `/Date(...)/`.
        ///
        /// # Errors
        /// A serde error when the text is not a Microsoft JSON date.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<SystemTime>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(text) if !text.is_empty() => super::super::parse_ms_json_date(&text)
                    .map(Some)
                    .map_err(serde::de::Error::custom),
                _ => Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::from_parts(status, vec![], body.as_bytes().to_vec())
    }

    #[test]
    fn envelope_order_and_spellings() {
        let ok =
            r#"{"X_Result":{"FunctionOK":true,"ErrCode":0,"ErrMsg":"","RspMsg":"hi","TxID":5}}"#;
        let result = result_object(&response(200, ok), true).unwrap();
        assert_eq!(resp_msg(&result), "hi");
        assert_eq!(result["TxID"], 5);

        assert_eq!(
            result_object(&response(400, "Bad Request"), true),
            Err(Error::BadRequest)
        );
        assert_eq!(
            result_object(&response(200, "\"Bad Request\""), true),
            Err(Error::BadRequest)
        );
        let vendor = r#"{"X_Result":{"FunctionOk":false,"ErrCode":6724,"ErrMsg":"ERROR:6724:HIGH:Could NOT retrieve transaction details for TXID 53000"}}"#;
        match result_object(&response(200, vendor), true) {
            Err(Error::Vendor {
                code: 6724,
                message,
            }) => assert_eq!(message.severity.as_deref(), Some("HIGH")),
            other => panic!("{other:?}"),
        }
        let code_only = r#"{"X_Result":{"FunctionOk":true,"ErrCode":"5030","ErrMsg":"ERROR:5030:HIGH:Session expired"}}"#;
        assert!(
            result_object(&response(200, code_only), true)
                .unwrap_err()
                .is_session_invalid()
        );
        assert!(matches!(
            result_object(&response(502, "<html>"), true),
            Err(Error::UnexpectedStatus { status: 502, .. })
        ));
        assert!(matches!(
            result_object(&response(200, "{}"), true),
            Err(Error::InvalidResponse { .. })
        ));
        assert!(matches!(
            result_object(&response(200, "[1]"), true),
            Err(Error::InvalidResponse { .. })
        ));
    }

    #[test]
    fn unquoted_bodies_when_asked() {
        let secret = r#"{"AuthenticateResult":{"SessKey":"SECRETKEY"},"OtherResult":{}}"#;
        let err = result_object(&response(200, secret), false).unwrap_err();
        assert!(!err.to_string().contains("SECRETKEY"));
    }

    fn millis(ms: i64) -> SystemTime {
        let magnitude = Duration::from_millis(ms.unsigned_abs());
        if ms >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        }
    }

    #[test]
    fn ms_json_dates() {
        let utc = parse_ms_json_date("/Date(1710936735853)/").unwrap();
        assert_eq!(utc, millis(1_710_936_735_853));
        // The offset names the writer's zone; the instant is the same.
        let west = parse_ms_json_date("\\/Date(1710936735853-0500)\\/").unwrap();
        assert_eq!(west, utc);
        let before_1970 = parse_ms_json_date("/Date(-86400000)/").unwrap();
        assert_eq!(before_1970, millis(-86_400_000));
        for bad in [
            // In range in UTC, out of range in the writer's zone: an error, never a panic.
            "/Date(253402300799999+0100)/",
            "/Date(-377705116800000-0100)/",
            "/Date(9223372036854775807)/",
            "/Date(-9223372036854775808-2359)/",
            "/Date(1710936735853+02)/",
            "2024-12-01T11:19:01Z",
            "/Date()/",
            "/Date(12+02)/",
            "/Date(abc)/",
        ] {
            assert!(parse_ms_json_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ms_json_dates_format_back() {
        for (text, utc) in [
            ("/Date(1710936735853)/", "/Date(1710936735853)/"),
            ("/Date(1710936735853+0200)/", "/Date(1710936735853)/"),
            ("/Date(1710936735853-0530)/", "/Date(1710936735853)/"),
            ("/Date(-1)/", "/Date(-1)/"),
            ("/Date(-86400001-0100)/", "/Date(-86400001)/"),
            ("/Date(253402300799999)/", "/Date(253402300799999)/"),
            ("/Date(253402300799999-0100)/", "/Date(253402300799999)/"),
            ("/Date(-62135596800000)/", "/Date(-62135596800000)/"),
        ] {
            let at = parse_ms_json_date(text).unwrap();
            assert_eq!(format_ms_json_date(at), utc);
            assert_eq!(parse_ms_json_date(&format_ms_json_date(at)).unwrap(), at);
        }
        // Below a millisecond: rounded toward the past on both sides of 1970.
        assert_eq!(
            format_ms_json_date(UNIX_EPOCH + Duration::from_micros(1_500)),
            "/Date(1)/"
        );
        assert_eq!(
            format_ms_json_date(UNIX_EPOCH - Duration::from_micros(1_500)),
            "/Date(-2)/"
        );
    }
}
