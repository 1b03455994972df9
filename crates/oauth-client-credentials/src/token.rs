use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use payauth_core::{HttpResponse, expiry_after, parse_token_response};
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
    token_type: Option<String>,
    scope: Option<String>,
    requested_scope: Option<String>,
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

    /// `token_type` as the server wrote it (`Bearer`, `bearer`, ...), if it sent one.
    pub fn token_type(&self) -> Option<&str> {
        self.inner.token_type.as_deref()
    }

    /// The scope the server said it granted (`scope` in the token response), if it said. RFC 6749
    /// §5.1 lets a server omit it when it granted exactly the scope requested. Not a secret.
    pub fn scope(&self) -> Option<&str> {
        self.inner.scope.as_deref()
    }

    /// The scope in force: what the server said it granted, or, when it said nothing (RFC 6749
    /// §5.1: the granted scope is then the requested one), the scope requested.
    pub fn granted_scope(&self) -> Option<&str> {
        self.inner
            .scope
            .as_deref()
            .or(self.inner.requested_scope.as_deref())
    }

    /// The requested scope values the server did not grant (empty when it granted all, or
    /// said nothing). A server may grant less than asked for; calls that need a missing value
    /// will be refused.
    pub fn missing_scopes(&self) -> Vec<&str> {
        let (Some(requested), Some(granted)) = (
            self.inner.requested_scope.as_deref(),
            self.inner.scope.as_deref(),
        ) else {
            return Vec::new();
        };
        let granted: Vec<&str> = granted.split_ascii_whitespace().collect();
        requested
            .split_ascii_whitespace()
            .filter(|value| !granted.contains(value))
            .collect()
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
            .field("expires_at", &payauth_core::Rfc3339(self.inner.expires_at))
            .field("token_type", &self.inner.token_type)
            .field("scope", &self.inner.scope)
            .finish()
    }
}

#[derive(Deserialize)]
struct WireError {
    error: String,
    error_description: Option<String>,
    error_uri: Option<String>,
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

impl TokenData {
    /// The same token with the expiry a shared store gave it (its time to live there).
    pub(crate) fn with_expiry(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = expires_at;
        self
    }
}

/// What a shared store holds (sealed): the token, its type and scopes; the expiry is the store's
/// time to live.
impl payauth_core::SharedValue for TokenData {
    fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let json = serde_json::json!({
            "access_token": self.secret.expose_secret(),
            "token_type": self.token_type,
            "scope": self.scope,
            "requested_scope": self.requested_scope,
        });
        zeroize::Zeroizing::new(json.to_string().into_bytes())
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Shared {
            access_token: String,
            token_type: Option<String>,
            scope: Option<String>,
            requested_scope: Option<String>,
        }
        let shared: Shared = serde_json::from_slice(bytes).ok()?;
        if shared.access_token.is_empty() {
            return None;
        }
        let header = SecretString::from(format!("Bearer {}", shared.access_token));
        Some(TokenData {
            secret: SecretString::from(shared.access_token),
            header,
            expires_at: SystemTime::UNIX_EPOCH,
            token_type: shared.token_type,
            scope: shared.scope,
            requested_scope: shared.requested_scope,
        })
    }
}

/// At most this many other members of an error body are kept.
const MAX_MEMBERS: usize = 16;

/// Reads a token response (leniently, see [`payauth_core::parse_token_response`]) into the cached
/// form: the secret once, inside the `Bearer` header value.
pub(crate) fn parse_token(
    response: &HttpResponse,
    now: SystemTime,
    default_lifetime: Duration,
    requested_scope: Option<&str>,
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
        token_type: token.token_type,
        scope: token.scope,
        requested_scope: requested_scope.map(str::to_owned),
    })
}

/// An RFC 6749 §5.2 error when the body is one, else the status and an excerpt. Other members
/// of the body are kept as text (values of members whose name suggests a secret replaced by
/// `[redacted]`), and so is the `WWW-Authenticate` header.
pub(crate) fn parse_error(response: &HttpResponse) -> Error {
    // Server text: scrubbed of the credentials this request carried, then bounded.
    let cut = |s: &str| response.server_text(s);
    let www_authenticate = response.header("www-authenticate").map(cut);
    match serde_json::from_slice::<WireError>(response.body()) {
        Ok(wire) => Error::OAuth {
            status: response.status(),
            error: cut(&wire.error),
            description: wire.error_description.as_deref().map(cut),
            uri: wire.error_uri.as_deref().map(cut),
            members: wire
                .other
                .iter()
                .take(MAX_MEMBERS)
                .map(|(name, value)| {
                    let shown = if looks_secret(name) {
                        "[redacted]".to_owned()
                    } else {
                        match value {
                            serde_json::Value::String(s) => cut(s),
                            other => cut(&other.to_string()),
                        }
                    };
                    (cut(name), shown)
                })
                .collect(),
            www_authenticate,
        },
        Err(_) => Error::UnexpectedStatus {
            status: response.status(),
            excerpt: response.excerpt(),
            www_authenticate,
        },
    }
}

fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["secret", "token", "password", "assertion", "key", "code"]
        .iter()
        .any(|word| name.contains(word))
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
            Some("read write"),
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
        assert_eq!(data.scope, None);
        let scoped = parse(200, r#"{"access_token":"abc","scope":"read write"}"#).unwrap();
        assert_eq!(scoped.scope.as_deref(), Some("read write"));
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
        let err = parse_token(&response, end, DEFAULT, None).err().unwrap();
        assert!(
            matches!(&err, Error::InvalidTokenResponse { status: 200, .. }),
            "{err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("SECRET"));
    }

    #[test]
    fn granted_scope_token_type_and_what_was_not_granted() {
        let token = AccessToken {
            inner: Arc::new(
                parse(
                    200,
                    r#"{"access_token":"a","token_type":"bearer","scope":"read"}"#,
                )
                .unwrap(),
            ),
        };
        assert_eq!(token.token_type(), Some("bearer"));
        assert_eq!(token.scope(), Some("read"));
        assert_eq!(token.granted_scope(), Some("read"));
        assert_eq!(token.missing_scopes(), ["write"]);
        let all = AccessToken {
            inner: Arc::new(parse(200, r#"{"access_token":"a"}"#).unwrap()),
        };
        assert_eq!(all.scope(), None);
        assert_eq!(all.granted_scope(), Some("read write"));
        assert!(all.missing_scopes().is_empty());
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
                uri: None,
                members: Box::new([]),
                www_authenticate: None,
            }
        );
        let response = HttpResponse::from_parts(
            401,
            vec![("WWW-Authenticate".into(), "Basic realm=\"x\"".into())],
            br#"{"error":"invalid_client","trace_id":"t-1","n":3,"client_secret":"SECRET"}"#
                .to_vec(),
        );
        match parse_error(&response) {
            Error::OAuth {
                members,
                www_authenticate,
                ..
            } => {
                assert_eq!(www_authenticate.as_deref(), Some("Basic realm=\"x\""));
                assert!(members.contains(&("trace_id".into(), "t-1".into())));
                assert!(members.contains(&("n".into(), "3".into())));
                assert!(members.contains(&("client_secret".into(), "[redacted]".into())));
            }
            other => panic!("{other:?}"),
        }
        let err = parse(502, "<html><h1>502 Bad Gateway</h1></html>")
            .err()
            .unwrap();
        assert!(
            matches!(&err, Error::UnexpectedStatus { status: 502, excerpt, .. } if excerpt.contains("502 Bad Gateway"))
        );
        assert!(err.is_retryable());
    }
}
