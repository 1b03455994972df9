//! A created Hosted Fields session and the parsing of Payroc's 201 answer.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use payauth_core::{HttpResponse, Rfc3339 as ShowTime};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use time::OffsetDateTime;
use time::format_description::well_known::{Iso8601, Rfc3339};

use crate::error::Error;
use crate::headers::ResponseHeaders;
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

/// How long a session token lives, by Payroc's documentation: the expiry assumed when an
/// answer has no readable `expiresAt`.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(600);

/// A Hosted Fields session token and what Payroc said about it. `Debug` shows the expiry in
/// RFC 3339 UTC and never the token.
pub struct HostedFieldsSession {
    token: SessionToken,
    expires_at: SystemTime,
    expiry_assumed: bool,
    processing_terminal_id: String,
    status: u16,
    headers: ResponseHeaders,
    idempotency_key: IdempotencyKey,
}

impl HostedFieldsSession {
    /// The session token for the Hosted Fields script.
    pub fn token(&self) -> &SessionToken {
        &self.token
    }

    /// When Payroc stops accepting the token (10 minutes after creation). Payroc writes
    /// `expiresAt` with a zone offset; the offset only names the zone it was written in, so it is
    /// not kept: the instant is the same, and [`payauth_core::Rfc3339`] shows it in UTC. When the
    /// answer had no readable `expiresAt` (it is optional in every SDK model, and the .NET SDK's
    /// fixture omits it), this is the time the answer arrived plus [`SESSION_LIFETIME`], and
    /// [`expiry_is_assumed`](Self::expiry_is_assumed) is true.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Whether [`expires_at`](Self::expires_at) was assumed rather than sent by Payroc.
    pub fn expiry_is_assumed(&self) -> bool {
        self.expiry_assumed
    }

    /// The HTTP status of the answer: 201 as documented, or 200 as some SDK fixtures answer.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `location` and request-id headers of the answer.
    pub fn headers(&self) -> &ResponseHeaders {
        &self.headers
    }

    /// The terminal the session belongs to, as Payroc echoed it.
    pub fn processing_terminal_id(&self) -> &str {
        &self.processing_terminal_id
    }

    /// The `Location` header of the answer, if any.
    pub fn location(&self) -> Option<&str> {
        self.headers.location()
    }

    /// The idempotency key the session was created with.
    pub fn idempotency_key(&self) -> IdempotencyKey {
        self.idempotency_key
    }
}

impl fmt::Debug for HostedFieldsSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostedFieldsSession")
            .field("token", &self.token)
            .field("expires_at", &ShowTime(self.expires_at))
            .field("expiry_assumed", &self.expiry_assumed)
            .field("processing_terminal_id", &self.processing_terminal_id)
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("idempotency_key", &self.idempotency_key)
            .finish()
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
/// `expiresAt` in RFC 3339 or another ISO 8601 form with `Z` or an offset, and when it is
/// missing or unreadable, `received_at` + [`SESSION_LIFETIME`], marked as assumed: Payroc has
/// created the session by then, and a retry with the same key would get the same answer.
pub(crate) fn parse_session(
    response: &HttpResponse,
    terminal: &TerminalId,
    idempotency_key: IdempotencyKey,
    received_at: SystemTime,
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
    let sent = wire.expires_at.and_then(|text| parse_instant(&text));
    let expiry_assumed = sent.is_none();
    let expires_at = sent.unwrap_or(received_at + SESSION_LIFETIME);
    let processing_terminal_id = wire
        .processing_terminal_id
        .unwrap_or_else(|| terminal.as_str().to_owned());
    Ok(HostedFieldsSession {
        token,
        expires_at,
        expiry_assumed,
        processing_terminal_id,
        status,
        headers: ResponseHeaders::from_response(response),
        idempotency_key,
    })
}

/// An RFC 3339 or ISO 8601 date and time with `Z` or an offset, as the instant it names; `None`
/// when unreadable or outside what this platform's `SystemTime` holds.
fn parse_instant(text: &str) -> Option<SystemTime> {
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Iso8601::DEFAULT))
        .ok()?;
    let nanos = at.unix_timestamp_nanos();
    let magnitude = Duration::new(
        u64::try_from(nanos.unsigned_abs() / 1_000_000_000).ok()?,
        u32::try_from(nanos.unsigned_abs() % 1_000_000_000).ok()?,
    );
    if nanos >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-07-02T13:30:00Z
    fn at() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_751_463_000)
    }

    const RECEIVED: SystemTime = SystemTime::UNIX_EPOCH;

    fn parse(body: &str) -> Result<HostedFieldsSession, Error> {
        parse_status(201, body)
    }

    fn parse_status(status: u16, body: &str) -> Result<HostedFieldsSession, Error> {
        let response = HttpResponse::from_parts(
            status,
            vec![("Location".into(), "/v1/s/1".into())],
            body.into(),
        );
        parse_session(
            &response,
            &TerminalId::new("1234001").unwrap(),
            IdempotencyKey::generate().unwrap(),
            RECEIVED,
        )
    }

    #[test]
    fn the_vendor_example_and_both_timestamp_forms() {
        let s = parse(
            r#"{"processingTerminalId": "1234001", "token": "abcdef1234567890abcdef1234567890", "expiresAt": "2025-07-02T15:30:00.000+02:00"}"#,
        )
        .unwrap();
        assert_eq!(s.token().secret(), "abcdef1234567890abcdef1234567890");
        // The offset names Payroc's zone; the instant is 13:30 UTC.
        assert_eq!(s.expires_at(), at());
        assert!(format!("{s:?}").contains("expires_at: 2025-07-02T13:30:00Z"));
        assert_eq!(s.location(), Some("/v1/s/1"));
        assert_eq!(s.processing_terminal_id(), "1234001");
        let z = parse(r#"{"token":"t","expiresAt":"2025-07-02T13:30:00Z","extra":1}"#).unwrap();
        assert_eq!(z.expires_at(), at());
        assert_eq!(z.processing_terminal_id(), "1234001");
        let number =
            r#"{"token":"t","expiresAt":"2025-07-02T13:30:00Z","processingTerminalId":99}"#;
        assert_eq!(parse(number).unwrap().processing_terminal_id(), "99");
        let long_fraction = parse(r#"{"token":"t","expiresAt":"2025-07-02T13:30:00.1234567Z"}"#);
        assert_eq!(
            long_fraction.unwrap().expires_at(),
            at() + Duration::from_nanos(123_456_700)
        );
        let before_1970 = parse(r#"{"token":"t","expiresAt":"1969-12-31T23:59:59.5-01:00"}"#);
        assert_eq!(
            before_1970.unwrap().expires_at(),
            SystemTime::UNIX_EPOCH + Duration::from_millis(3_599_500)
        );
    }

    #[test]
    fn a_created_session_is_kept_without_a_readable_expiry() {
        // The .NET SDK's fixture (src/Payroc.Test/Unit/MockServer/HostedFields/CreateTest.cs):
        // HTTP 200 and no expiresAt.
        let fixture =
            r#"{"processingTerminalId": "1234001", "token": "abcdef1234567890abcdef1234567890"}"#;
        for (status, body) in [
            (200, fixture),
            (201, r#"{"token":"t","expiresAt":"tomorrow"}"#),
            (201, r#"{"token":"t","expiresAt":"2025-07-02T13:30:00"}"#),
            (201, r#"{"token":"t","expiresAt":null}"#),
        ] {
            let s = parse_status(status, body).unwrap();
            assert!(s.expiry_is_assumed(), "{body}");
            assert_eq!(s.expires_at(), RECEIVED + SESSION_LIFETIME, "{body}");
            assert!(format!("{s:?}").contains("expires_at: 1970-01-01T00:10:00Z"));
            assert_eq!(s.status(), status);
        }
        let sent = parse(r#"{"token":"t","expiresAt":"2025-07-02T13:30:00Z"}"#).unwrap();
        assert!(!sent.expiry_is_assumed());
        assert_eq!(sent.status(), 201);
    }

    #[test]
    fn unusable_answers_are_typed_and_not_quoted() {
        for body in [
            r#"{"expiresAt":"2025-07-02T13:30:00Z"}"#,
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
