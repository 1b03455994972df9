//! The identity service's Bearer token and the parsing of `/authorize` answers.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use payauth_core::{HttpResponse, TokenTypeRule, expiry_after, parse_token_response_with};
use secrecy::{ExposeSecret as _, SecretString};

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
            .field("expires_at", &payauth_core::Rfc3339(self.inner.expires_at))
            .finish()
    }
}

/// Reads an `/authorize` answer with the core's lenient RFC 6749 parser: `expires_in` as a
/// number or a string of digits, missing → [`DEFAULT_LIFETIME`]; unknown members (`scope`)
/// ignored. `token_type` is not checked: Payroc's identity service issues Bearer tokens only,
/// no official SDK reads the field, and their fixtures answer `"token_type": "token_type"`.
/// The token is always sent as `Bearer`.
pub(crate) fn parse_token(response: &HttpResponse, now: SystemTime) -> Result<TokenData, Error> {
    let status = response.status();
    let parsed = parse_token_response_with(response.body(), DEFAULT_LIFETIME, TokenTypeRule::Any)
        .map_err(|reason| Error::InvalidResponse { status, reason })?;
    // Clamped to a year and checked: `expires_in` is the server's to choose, up to u64::MAX.
    let expires_at = expiry_after(now, parsed.lifetime).ok_or(Error::InvalidResponse {
        status,
        reason: "expires_in reaches past the last time the clock can represent",
    })?;
    let header = format!("Bearer {}", parsed.access_token.expose_secret());
    Ok(TokenData {
        header: SecretString::from(header),
        expires_at,
    })
}

impl TokenData {
    /// The same token with the expiry a shared store gave it (its time to live there).
    pub(crate) fn with_expiry(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = expires_at;
        self
    }
}

/// What a shared store holds (sealed): the token alone; the expiry is the store's time to live.
impl payauth_core::SharedValue for TokenData {
    fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let header = self.header.expose_secret();
        let token = header.strip_prefix("Bearer ").unwrap_or(header);
        zeroize::Zeroizing::new(token.as_bytes().to_vec())
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let token = std::str::from_utf8(bytes).ok().filter(|t| !t.is_empty())?;
        Some(TokenData {
            header: SecretString::from(format!("Bearer {token}")),
            expires_at: SystemTime::UNIX_EPOCH,
        })
    }
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
    fn a_huge_expires_in_is_clamped_not_a_panic() {
        for expires_in in [
            "9223372036854775807",
            "18446744073709551615",
            "\"9223372036854775807\"",
            "\"18446744073709551615\"",
        ] {
            let body = format!(r#"{{"access_token":"t","expires_in":{expires_in}}}"#);
            assert_eq!(
                lifetime(&body),
                payauth_core::MAX_CREDENTIAL_LIFETIME,
                "{expires_in}"
            );
        }
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
            br#"{"access_token":"SECRET-TOKEN","expires_in":3600}"#.to_vec(),
        );
        let err = parse_token(&response, end).err().unwrap();
        assert!(
            matches!(err, Error::InvalidResponse { status: 200, .. }),
            "{err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("SECRET"));
    }

    #[test]
    fn any_token_type_is_accepted_and_sent_as_bearer() {
        // The SDKs' wire fixtures (wiremock/wiremock-mappings.json, tests/wire/mockAuth.ts).
        for kind in [r#""token_type""#, r#""mac""#, r#""DPoP""#, "7", "null"] {
            let body = format!(r#"{{"access_token":"t1","token_type":{kind},"expires_in":1}}"#);
            let token = BearerToken {
                inner: Arc::new(parse(&body).unwrap()),
            };
            assert_eq!(token.header_value(), "Bearer t1", "{kind}");
        }
    }

    #[test]
    fn unusable_tokens_are_refused_without_quoting_the_body() {
        for body in [
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
