//! The identity service's Bearer token and the parsing of `/authorize` answers.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use payauth_core::HttpResponse;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;

/// Lifetime assumed when `/authorize` sends no `expires_in` (3600 s in every Payroc example).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// A Bearer token from the client's cache. Cheap to clone (an `Arc`); `Debug` never shows it.
#[derive(Clone)]
pub struct BearerToken {
    pub(crate) inner: Arc<TokenData>,
}

pub(crate) struct TokenData {
    header: SecretString,
    pub(crate) expires_at: SystemTime,
}

impl BearerToken {
    /// The token itself. A secret: send it, never log it.
    pub fn secret(&self) -> &str {
        // The header is `Bearer <token>`; one copy of the secret is enough.
        &self.inner.header.expose_secret()["Bearer ".len()..]
    }

    /// `Bearer <token>`, the `Authorization` header value.
    pub fn header_value(&self) -> &str {
        self.inner.header.expose_secret()
    }

    /// When the token stops being accepted, by the client's clock.
    pub fn expires_at(&self) -> SystemTime {
        self.inner.expires_at
    }

    /// Whether `other` is the same token from the cache (not a comparison of the secrets).
    pub fn same_as(&self, other: &BearerToken) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.inner.expires_at)
            .finish()
    }
}

#[derive(Deserialize)]
struct Wire {
    access_token: Option<String>,
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Value,
}

/// Reads an `/authorize` answer leniently: `expires_in` as a number or a string of digits,
/// missing → [`DEFAULT_LIFETIME`]; `token_type` in any case or missing; unknown members (`scope`)
/// ignored.
pub(crate) fn parse_token(response: &HttpResponse, now: SystemTime) -> Result<TokenData, Error> {
    let status = response.status();
    let invalid = |reason| Error::InvalidResponse { status, reason };
    let wire: Wire = serde_json::from_slice(response.body())
        .map_err(|_| invalid("the body is not a JSON object"))?;
    let token = wire
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("access_token is missing or empty"))?;
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            "access_token contains spaces or non-printable characters",
        ));
    }
    if wire
        .token_type
        .is_some_and(|kind| !kind.eq_ignore_ascii_case("bearer"))
    {
        return Err(invalid("token_type is not Bearer"));
    }
    let lifetime = match &wire.expires_in {
        Value::Null => DEFAULT_LIFETIME,
        Value::Number(n) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or_else(|| invalid("expires_in is not a whole number of seconds"))?,
        Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| invalid("expires_in is a string but not a number of seconds"))?,
        _ => return Err(invalid("expires_in is neither a number nor a string")),
    };
    if lifetime.is_zero() {
        return Err(invalid("expires_in is 0: the token is already expired"));
    }
    Ok(TokenData {
        header: SecretString::from(format!("Bearer {token}")),
        expires_at: now + lifetime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    fn parse(body: &str) -> Result<TokenData, Error> {
        parse_token(&HttpResponse::from_parts(200, vec![], body.into()), NOW)
    }

    fn lifetime(body: &str) -> Duration {
        parse(body).unwrap().expires_at.duration_since(NOW).unwrap()
    }

    #[test]
    fn the_vendor_example_and_lenient_variants() {
        let data = parse(
            r#"{"access_token": "eyJhbGc....adQssw5c", "expires_in": 3600, "scope": "service_a service_b", "token_type": "Bearer"}"#,
        )
        .unwrap();
        let token = BearerToken {
            inner: Arc::new(data),
        };
        assert_eq!(token.secret(), "eyJhbGc....adQssw5c");
        assert_eq!(token.header_value(), "Bearer eyJhbGc....adQssw5c");
        assert!(!format!("{token:?}").contains("eyJ"));
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_in":"1800","token_type":"bearer"}"#),
            Duration::from_secs(1800)
        );
        assert_eq!(lifetime(r#"{"access_token":"t"}"#), DEFAULT_LIFETIME);
    }

    #[test]
    fn unusable_tokens_are_refused_without_quoting_the_body() {
        for body in [
            r#"{"access_token":"SECRET-TOKEN","token_type":"mac"}"#,
            r#"{"access_token":"SECRET-TOKEN","expires_in":"soon"}"#,
            r#"{"access_token":"SECRET-TOKEN","expires_in":-5}"#,
            r#"{"access_token":"SECRET-TOKEN","expires_in":0}"#,
            r#"{"access_token":"SECRET TOKEN"}"#,
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token": "SECRET-TOKEN", "expires_in": "#,
        ] {
            let err = parse(body).err().unwrap();
            assert!(
                matches!(err, Error::InvalidResponse { status: 200, .. }),
                "{err:?}"
            );
            assert!(!format!("{err} {err:?}").contains("SECRET"), "{err}");
        }
    }
}
