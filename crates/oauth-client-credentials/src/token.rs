use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use payauth_core::{EXCERPT_CHARS, HttpResponse, expiry_after, parse_token_response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

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
struct WireError {
    error: String,
    error_description: Option<String>,
    error_uri: Option<String>,
}

/// Reads a token response (leniently, see [`payauth_core::parse_token_response`]) into the cached
/// form: the secret once, inside the `Bearer` header value.
pub(crate) fn parse_token(
    response: &HttpResponse,
    now: SystemTime,
    default_lifetime: Duration,
) -> Result<TokenData, Error> {
    let status = response.status();
    if !response.is_success() {
        return Err(parse_error(response));
    }
    let token = parse_token_response(response.body(), default_lifetime).map_err(|reason| {
        Error::InvalidTokenResponse {
            status,
            reason: reason.to_owned(),
        }
    })?;
    // Clamped to a year and checked: `expires_in` is the server's to choose, up to u64::MAX.
    let expires_at =
        expiry_after(now, token.lifetime).ok_or_else(|| Error::InvalidTokenResponse {
            status,
            reason: "expires_in reaches past the last time the clock can represent".to_owned(),
        })?;
    let header = SecretString::from(format!("Bearer {}", token.access_token.expose_secret()));
    Ok(TokenData {
        secret: token.access_token,
        header,
        expires_at,
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

    #[test]
    fn parsed_into_the_cached_form() {
        let data = parse(
            200,
            r#"{"access_token":"abc","token_type":"bEaReR","expires_in":"120"}"#,
        )
        .unwrap();
        assert_eq!(data.header.expose_secret(), "Bearer abc");
        assert_eq!(
            data.expires_at.duration_since(NOW).unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            parse(200, r#"{"access_token":"abc"}"#)
                .unwrap()
                .expires_at
                .duration_since(NOW)
                .unwrap(),
            DEFAULT
        );
    }

    #[test]
    fn a_huge_expires_in_is_clamped_not_a_panic() {
        for expires_in in [
            "9223372036854775807",
            "18446744073709551615",
            "\"9223372036854775807\"",
            "\"18446744073709551615\"",
        ] {
            let body = format!(r#"{{"access_token":"abc","expires_in":{expires_in}}}"#);
            let data = parse(200, &body).unwrap();
            assert_eq!(
                data.expires_at.duration_since(NOW).unwrap(),
                payauth_core::MAX_CREDENTIAL_LIFETIME,
                "{expires_in}"
            );
        }
    }

    #[test]
    fn an_expiry_past_the_clock_is_a_typed_error() {
        let mut end = NOW;
        // The last representable second, approached by halving steps.
        for shift in (0..64).rev() {
            while let Some(later) = end.checked_add(Duration::from_secs(1 << shift)) {
                end = later;
            }
        }
        let response = HttpResponse::from_parts(
            200,
            vec![],
            br#"{"access_token":"SECRET-TOKEN","expires_in":31536000}"#.to_vec(),
        );
        let err = parse_token(&response, end, DEFAULT).err().unwrap();
        assert!(
            matches!(&err, Error::InvalidTokenResponse { status: 200, .. }),
            "{err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("SECRET"));
    }

    #[test]
    fn an_unusable_token_keeps_the_status_and_not_the_body() {
        let err = parse(200, r#"{"access_token":"SECRET-TOKEN","token_type":"mac"}"#)
            .err()
            .unwrap();
        assert!(
            matches!(&err, Error::InvalidTokenResponse { status: 200, reason } if reason.contains("Bearer"))
        );
        assert!(!format!("{err} {err:?}").contains("SECRET"));
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
