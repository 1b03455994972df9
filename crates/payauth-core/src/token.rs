//! RFC 6749 §5.1 token responses, read leniently: the OAuth client and Payroc's identity service
//! both answer in this shape, with the same real-world variations.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

/// An access token and its lifetime, as a token endpoint gave them.
pub struct TokenResponse {
    /// The token. A secret.
    pub access_token: SecretString,
    /// `expires_in`, or the caller's default when the server sent none.
    pub lifetime: Duration,
    /// `token_type` as the server wrote it (cut to 200 characters), if it sent one.
    pub token_type: Option<String>,
    /// `scope`: what the server granted, when it says (RFC 6749 §5.1 lets it omit the scope when
    /// it is the one requested, and requires it when it granted less). Cut to 1024 characters;
    /// not a secret.
    pub scope: Option<String>,
}

/// Which `token_type` values a caller accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenTypeRule {
    /// `Bearer` in any case, or none. For a generic OAuth server, where a `DPoP` or `mac` token
    /// must not be sent as a Bearer token.
    Bearer,
    /// Anything or nothing: for an issuer that documents Bearer tokens only and whose own SDKs
    /// never read the field (Payroc's identity service).
    Any,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("lifetime", &self.lifetime)
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Deserialize)]
struct Wire {
    access_token: Option<String>,
    token_type: Option<Value>,
    #[serde(default)]
    expires_in: Value,
    #[serde(default)]
    scope: Value,
}

/// Reads a token response body: `expires_in` as a number or a string of digits, missing →
/// `default_lifetime`; `token_type` in any case, missing → Bearer; unknown members ignored.
/// The same as [`parse_token_response_with`] and [`TokenTypeRule::Bearer`].
///
/// # Errors
/// Why the body is not a usable Bearer token. The reason never quotes the body, which may hold
/// a token.
pub fn parse_token_response(
    body: &[u8],
    default_lifetime: Duration,
) -> Result<TokenResponse, &'static str> {
    parse_token_response_with(body, default_lifetime, TokenTypeRule::Bearer)
}

/// [`parse_token_response`] with a choice of the `token_type` values accepted.
///
/// # Errors
/// As for [`parse_token_response`].
pub fn parse_token_response_with(
    body: &[u8],
    default_lifetime: Duration,
    rule: TokenTypeRule,
) -> Result<TokenResponse, &'static str> {
    let wire: Wire = serde_json::from_slice(body).map_err(|_| "the body is not a JSON object")?;
    let token = wire
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or("access_token is missing or empty")?;
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("access_token contains spaces or non-printable characters");
    }
    let token_type = match wire.token_type {
        None | Some(Value::Null) => None,
        Some(Value::String(kind)) => Some(bounded(&kind, 200)),
        Some(_) if rule == TokenTypeRule::Any => None,
        Some(_) => return Err("token_type is not a string"),
    };
    if rule == TokenTypeRule::Bearer
        && token_type
            .as_deref()
            .is_some_and(|kind| !kind.eq_ignore_ascii_case("bearer"))
    {
        return Err("token_type is not Bearer");
    }
    let lifetime = match &wire.expires_in {
        Value::Null => default_lifetime,
        Value::Number(n) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or("expires_in is not a whole number of seconds")?,
        Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| "expires_in is a string but not a number of seconds")?,
        _ => return Err("expires_in is neither a number nor a string"),
    };
    if lifetime.is_zero() {
        return Err("expires_in is 0: the token is already expired");
    }
    // Lenient: a scope that is not a string (some servers send a list) is not a reason to
    // refuse a usable token; it is reported as not stated. Bounded, since it is printed.
    let scope = match wire.scope {
        Value::String(scope) => Some(scope.chars().take(1024).collect()),
        _ => None,
    };
    Ok(TokenResponse {
        access_token: SecretString::from(token),
        lifetime,
        token_type,
        scope,
    })
}

fn bounded(text: &str, max_chars: usize) -> String {
    text.chars()
        .take(max_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    const DEFAULT: Duration = Duration::from_secs(600);

    fn lifetime(body: &str) -> Duration {
        parse_token_response(body.as_bytes(), DEFAULT)
            .unwrap()
            .lifetime
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
            lifetime(r#"{"access_token":"t","expires_in":120,"scope":"a b","x":{"y":1}}"#),
            Duration::from_secs(120)
        );
        let token = parse_token_response(br#"{"access_token":"abc"}"#, DEFAULT).unwrap();
        assert_eq!(token.access_token.expose_secret(), "abc");
        assert_eq!(token.scope, None);
        let scoped = |body: &str| {
            parse_token_response(body.as_bytes(), DEFAULT)
                .unwrap()
                .scope
        };
        assert_eq!(
            scoped(r#"{"access_token":"t","scope":"payments:read refunds"}"#).as_deref(),
            Some("payments:read refunds")
        );
        assert_eq!(scoped(r#"{"access_token":"t","scope":["a","b"]}"#), None);
        assert!(!format!("{token:?}").contains("abc"));
    }

    #[test]
    fn token_type_and_scope_are_kept_and_the_rule_decides() {
        let body = br#"{"access_token":"t","token_type":"DPoP","scope":"read write"}"#;
        assert_eq!(
            parse_token_response(body, DEFAULT).unwrap_err(),
            "token_type is not Bearer"
        );
        let any = parse_token_response_with(body, DEFAULT, TokenTypeRule::Any).unwrap();
        assert_eq!(any.token_type.as_deref(), Some("DPoP"));
        assert_eq!(any.scope.as_deref(), Some("read write"));
        let bearer =
            parse_token_response(br#"{"access_token":"t","token_type":"bearer"}"#, DEFAULT)
                .unwrap();
        assert_eq!(bearer.token_type.as_deref(), Some("bearer"));
        assert_eq!(bearer.scope, None);
        let odd = br#"{"access_token":"t","token_type":7}"#;
        assert!(parse_token_response(odd, DEFAULT).is_err());
        assert!(parse_token_response_with(odd, DEFAULT, TokenTypeRule::Any).is_ok());
    }

    #[test]
    fn unusable_tokens_are_refused_without_quoting_the_body() {
        for body in [
            r#"{"access_token":"SECRET-TOKEN","token_type":"mac"}"#,
            r#"{"access_token":"SECRET-TOKEN","expires_in":"soon"}"#,
            r#"{"access_token":"SECRET-TOKEN","expires_in":-5}"#,
            r#"{"access_token":"SECRET-TOKEN","expires_in":0}"#,
            r#"{"access_token":"SECRET-TOKEN","expires_in":[1]}"#,
            r#"{"access_token":"SECRET TOKEN"}"#,
            r#"{"access_token":""}"#,
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token": "SECRET-TOKEN", "expires_in": "#,
        ] {
            let reason = parse_token_response(body.as_bytes(), DEFAULT).expect_err(body);
            assert!(!reason.contains("SECRET"), "{reason}");
        }
    }
}
