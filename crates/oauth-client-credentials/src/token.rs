use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use payauth_core::{EXCERPT_CHARS, HttpResponse};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;

/// An access token from the cache. Cheap to clone (an `Arc`); `Debug` never shows it.
#[derive(Clone)]
pub struct AccessToken {
    pub(crate) inner: Arc<TokenData>,
}

pub(crate) struct TokenData {
    secret: SecretString,
    header: SecretString,
    pub(crate) expires_at: SystemTime,
}

impl AccessToken {
    /// The token itself. A secret: send it, never log it.
    pub fn secret(&self) -> &str {
        self.inner.secret.expose_secret()
    }

    /// `Bearer <token>`, the `Authorization` header value (always `Bearer`, whatever case the
    /// server wrote in `token_type`).
    pub fn header_value(&self) -> &str {
        self.inner.header.expose_secret()
    }

    /// When the token stops being accepted, by the client's clock.
    pub fn expires_at(&self) -> SystemTime {
        self.inner.expires_at
    }

    /// Whether `other` is the same token from the cache (not a comparison of the secrets).
    pub fn same_as(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
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

#[derive(Deserialize)]
struct WireError {
    error: String,
    error_description: Option<String>,
    error_uri: Option<String>,
}

/// Reads a token response leniently: `expires_in` as a number or a string of digits, missing →
/// `default_lifetime`; `token_type` in any case, missing → Bearer; unknown members ignored.
pub(crate) fn parse_token(
    response: &HttpResponse,
    now: SystemTime,
    default_lifetime: Duration,
) -> Result<TokenData, Error> {
    let status = response.status();
    if !response.is_success() {
        return Err(parse_error(response));
    }
    let invalid = |reason: &str| Error::InvalidTokenResponse {
        status,
        reason: reason.to_owned(),
    };
    let wire: Wire = serde_json::from_slice(response.body())
        .map_err(|_| invalid("the body is not a JSON object"))?;
    let token = wire
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("access_token is missing or empty"))?;
    if token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(invalid(
            "access_token contains spaces or control characters",
        ));
    }
    if let Some(kind) = &wire.token_type {
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(invalid("token_type is not Bearer"));
        }
    }
    let lifetime = match &wire.expires_in {
        Value::Null => default_lifetime,
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
    let header = SecretString::from(format!("Bearer {token}"));
    Ok(TokenData {
        secret: SecretString::from(token),
        header,
        expires_at: now + lifetime,
    })
}

/// An RFC 6749 §5.2 error when the body is one, else the status and an excerpt.
pub(crate) fn parse_error(response: &HttpResponse) -> Error {
    let cut = |s: String| s.chars().take(EXCERPT_CHARS).collect::<String>();
    match serde_json::from_slice::<WireError>(response.body()) {
        Ok(wire) => Error::OAuth {
            status: response.status(),
            error: cut(wire.error),
            description: wire.error_description.map(cut),
            uri: wire.error_uri.map(cut),
        },
        Err(_) => Error::UnexpectedStatus {
            status: response.status(),
            excerpt: response.excerpt(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;
    const DEFAULT: Duration = Duration::from_secs(600);

    fn parse(status: u16, body: &str) -> Result<TokenData, Error> {
        parse_token(
            &HttpResponse::from_parts(status, vec![], body.into()),
            NOW,
            DEFAULT,
        )
    }

    fn lifetime(body: &str) -> Duration {
        parse(200, body)
            .unwrap()
            .expires_at
            .duration_since(NOW)
            .unwrap()
    }

    #[test]
    fn lenient_where_servers_differ() {
        assert_eq!(
            lifetime(r#"{"access_token":"t","token_type":"Bearer","expires_in":600}"#),
            DEFAULT
        );
        assert_eq!(
            lifetime(r#"{"access_token":"t","token_type":"bearer","expires_in":"3600"}"#),
            Duration::from_secs(3600)
        );
        assert_eq!(
            lifetime(r#"{"access_token":"t","token_type":"BEARER"}"#),
            DEFAULT
        );
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_in":120,"scope":"x","extra":{"a":1}}"#),
            Duration::from_secs(120)
        );
        let data = parse(200, r#"{"access_token":"abc","token_type":"bEaReR"}"#).unwrap();
        assert_eq!(data.header.expose_secret(), "Bearer abc");
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
            let err = parse(200, body).err().expect(body);
            assert!(
                matches!(err, Error::InvalidTokenResponse { status: 200, .. }),
                "{err:?}"
            );
            assert!(!format!("{err} {err:?}").contains("SECRET"), "{err}");
        }
    }

    #[test]
    fn rfc6749_errors_and_other_bodies() {
        let err = parse(
            401,
            r#"{"error":"invalid_client","error_description":"bad secret"}"#,
        )
        .err()
        .unwrap();
        assert_eq!(
            err,
            Error::OAuth {
                status: 401,
                error: "invalid_client".into(),
                description: Some("bad secret".into()),
                uri: None
            }
        );
        let err = parse(502, "<html><h1>502 Bad Gateway</h1></html>")
            .err()
            .unwrap();
        assert!(
            matches!(&err, Error::UnexpectedStatus { status: 502, excerpt } if excerpt.contains("502 Bad Gateway"))
        );
        assert!(err.is_retryable());
    }
}
