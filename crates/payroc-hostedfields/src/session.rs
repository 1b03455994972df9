//! A created Hosted Fields session and the parsing of Payroc's 201 answer.

use std::borrow::Cow;
use std::fmt;

use payauth_core::HttpResponse;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use time::OffsetDateTime;
use time::format_description::well_known::{Iso8601, Rfc3339};

use crate::error::Error;
use crate::request::{IdempotencyKey, TerminalId};

/// A session token: what the page passes to the Hosted Fields script. It authorises card entry
/// on your account for 10 minutes, so treat it like a credential: render it into the one page
/// it was made for, never log or cache it. `Debug` does not show it; it is wiped on drop.
pub struct SessionToken(SecretString);

impl SessionToken {
    /// The token, for the page.
    pub fn secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

/// A Hosted Fields session token and what Payroc said about it.
#[derive(Debug)]
pub struct HostedFieldsSession {
    token: SessionToken,
    expires_at: OffsetDateTime,
    processing_terminal_id: String,
    location: Option<String>,
    idempotency_key: IdempotencyKey,
}

impl HostedFieldsSession {
    /// The session token for the Hosted Fields script.
    pub fn token(&self) -> &SessionToken {
        &self.token
    }

    /// When Payroc stops accepting the token (10 minutes after creation), with the offset Payroc
    /// wrote it in.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// The terminal the session belongs to, as Payroc echoed it.
    pub fn processing_terminal_id(&self) -> &str {
        &self.processing_terminal_id
    }

    /// The `Location` header of the 201 answer, if any.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The idempotency key the session was created with.
    pub fn idempotency_key(&self) -> IdempotencyKey {
        self.idempotency_key
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    token: Option<String>,
    // Borrowed where the JSON has no escapes: this runs once per page load.
    #[serde(borrow)]
    expires_at: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "string_or_number")]
    processing_terminal_id: Option<String>,
}

/// Payroc sends the id as a string; a number is accepted too. A visitor rather than an untagged
/// enum, which would buffer the value first.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Id;
    impl Visitor<'_> for Id {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Id)
}

/// Reads a 2xx session answer. `processingTerminalId` missing → the requested terminal;
/// `expiresAt` in RFC 3339 or another ISO 8601 form with `Z` or an offset.
pub(crate) fn parse_session(
    response: &HttpResponse,
    terminal: &TerminalId,
    idempotency_key: IdempotencyKey,
) -> Result<HostedFieldsSession, Error> {
    let status = response.status();
    let invalid = |reason| Error::InvalidResponse { status, reason };
    let wire: Wire<'_> = serde_json::from_slice(response.body())
        .map_err(|_| invalid("the body is not the documented JSON object"))?;
    let token = wire
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("token is missing or empty"))?;
    let token = SessionToken(SecretString::from(token));
    let expires_at = wire
        .expires_at
        .ok_or_else(|| invalid("expiresAt is missing"))?;
    let expires_at = OffsetDateTime::parse(&expires_at, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&expires_at, &Iso8601::DEFAULT))
        .map_err(|_| invalid("expiresAt is not an ISO 8601 timestamp with an offset"))?;
    let processing_terminal_id = wire
        .processing_terminal_id
        .unwrap_or_else(|| terminal.as_str().to_owned());
    Ok(HostedFieldsSession {
        token,
        expires_at,
        processing_terminal_id,
        location: response.header("location").map(str::to_owned),
        idempotency_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-07-02T13:30:00Z
    const AT: i64 = 1_751_463_000;

    fn parse(body: &str) -> Result<HostedFieldsSession, Error> {
        let response = HttpResponse::from_parts(
            201,
            vec![("Location".into(), "/v1/s/1".into())],
            body.into(),
        );
        parse_session(
            &response,
            &TerminalId::new("1234001").unwrap(),
            IdempotencyKey::generate().unwrap(),
        )
    }

    #[test]
    fn the_vendor_example_and_both_timestamp_forms() {
        let s = parse(
            r#"{"processingTerminalId": "1234001", "token": "abcdef1234567890abcdef1234567890", "expiresAt": "2025-07-02T15:30:00.000+02:00"}"#,
        )
        .unwrap();
        assert_eq!(s.token().secret(), "abcdef1234567890abcdef1234567890");
        assert_eq!(s.expires_at().unix_timestamp(), AT);
        assert_eq!(s.expires_at().offset().whole_hours(), 2);
        assert_eq!(s.location(), Some("/v1/s/1"));
        assert_eq!(s.processing_terminal_id(), "1234001");
        let z = parse(r#"{"token":"t","expiresAt":"2025-07-02T13:30:00Z","extra":1}"#).unwrap();
        assert_eq!(z.expires_at().unix_timestamp(), AT);
        assert_eq!(z.processing_terminal_id(), "1234001");
        let number =
            r#"{"token":"t","expiresAt":"2025-07-02T13:30:00Z","processingTerminalId":99}"#;
        assert_eq!(parse(number).unwrap().processing_terminal_id(), "99");
        let long_fraction = parse(r#"{"token":"t","expiresAt":"2025-07-02T13:30:00.1234567Z"}"#);
        assert_eq!(long_fraction.unwrap().expires_at().unix_timestamp(), AT);
    }

    #[test]
    fn unusable_answers_are_typed_and_not_quoted() {
        for body in [
            r#"{"token":"SECRET-TOKEN","expiresAt":"tomorrow"}"#,
            r#"{"token":"SECRET-TOKEN","expiresAt":"2025-07-02T13:30:00"}"#,
            r#"{"token":"SECRET-TOKEN"}"#,
            r#"{"token":"","expiresAt":"2025-07-02T13:30:00Z"}"#,
            r#"{"token":"SECRET-TOKEN","expiresAt":"#,
        ] {
            let err = parse(body).unwrap_err();
            assert!(
                matches!(err, Error::InvalidResponse { status: 201, .. }),
                "{err:?}"
            );
            assert!(!format!("{err} {err:?}").contains("SECRET"));
        }
        let s = parse(r#"{"token":"SECRET-TOKEN","expiresAt":"2025-07-02T13:30:00Z"}"#).unwrap();
        assert!(!format!("{s:?}").contains("SECRET"));
    }
}
