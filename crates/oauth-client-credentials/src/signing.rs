use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use crate::error::{Error, Result};

/// `base64url({"alg":"HS256","typ":"JWT"})`, the header every signed parameter set carries.
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// The secret shared with the provider for signed parameters (HS256). Never shown by `Debug`.
pub struct SigningKey(SecretString);

impl SigningKey {
    /// Wraps the shared secret (its UTF-8 bytes are the HMAC key).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty secret.
    pub fn new(secret: impl Into<String>) -> Result<Self> {
        let secret = SecretString::from(secret.into());
        if secret.expose_secret().is_empty() {
            return Err(Error::InvalidInput {
                field: "signing secret",
                rule: "must not be empty",
            });
        }
        Ok(SigningKey(secret))
    }

    /// Signs `claims` as a compact HS256 JWT: the request's parameters travel inside the token.
    /// With `expires_at`, an `exp` claim (Unix seconds) is set, replacing any in `claims`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `claims` does not serialise to a JSON object or
    /// `expires_at` is before 1970.
    pub fn sign<T: Serialize + ?Sized>(
        &self,
        claims: &T,
        expires_at: Option<SystemTime>,
    ) -> Result<SignedParameters> {
        let invalid = |rule| Error::InvalidInput {
            field: "claims",
            rule,
        };
        let mut value =
            serde_json::to_value(claims).map_err(|_| invalid("must serialise to JSON"))?;
        let object = value
            .as_object_mut()
            .ok_or(invalid("must serialise to a JSON object"))?;
        if let Some(at) = expires_at {
            let exp = at
                .duration_since(UNIX_EPOCH)
                .map_err(|_| invalid("exp must be after 1970"))?
                .as_secs();
            object.insert("exp".to_owned(), Value::from(exp));
        }
        let payload = URL_SAFE_NO_PAD.encode(value.to_string());
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes())
            .map_err(|_| invalid("the signing key is unusable"))?;
        mac.update(HEADER.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        Ok(SignedParameters(format!("{HEADER}.{payload}.{signature}")))
    }

    /// `url` with the signed `claims` appended as the `signature` query parameter, e.g.
    /// `{api}/api/purchase_link/?signature=<jwt>`.
    ///
    /// # Errors
    /// Those of [`sign`](Self::sign).
    pub fn signed_url<T: Serialize + ?Sized>(
        &self,
        url: &str,
        claims: &T,
        expires_at: Option<SystemTime>,
    ) -> Result<String> {
        let jwt = self.sign(claims, expires_at)?;
        let separator = if url.contains('?') { '&' } else { '?' };
        // A compact JWT is base64url and dots only: nothing to escape in a query.
        Ok(format!("{url}{separator}signature={}", jwt.as_str()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

/// A signed parameter set: a compact JWT (`header.payload.signature`).
///
/// Anyone holding it can make the signed request until it expires, so `Debug` shows only its
/// length.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedParameters(String);

impl SignedParameters {
    /// The compact JWT.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SignedParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedParameters")
            .field("len", &self.0.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fixed_vector() {
        // Computed independently with Python's hmac and hashlib over the same header and the
        // compact JSON payload {"data":{"amount":1000}} with key "secret".
        let key = SigningKey::new("secret").unwrap();
        let jwt = key
            .sign(&serde_json::json!({"data": {"amount": 1000}}), None)
            .unwrap();
        assert_eq!(
            jwt.as_str(),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJkYXRhIjp7ImFtb3VudCI6MTAwMH19.jmE4NnDS2uAHt-n3muzRs-2UIDbkdRnAUaW3P8oYNmU"
        );
    }

    #[test]
    fn exp_is_added_and_claims_must_be_an_object() {
        let key = SigningKey::new("secret").unwrap();
        let exp = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let jwt = key
            .sign(&serde_json::json!({"exp": 1, "a": "b"}), Some(exp))
            .unwrap();
        let payload = jwt.as_str().split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["exp"], 2_000_000_000u64);
        assert!(key.sign(&[1, 2, 3], None).is_err());
        assert!(SigningKey::new("").is_err());
    }

    #[test]
    fn signed_url_and_redaction() {
        let key = SigningKey::new("topsecret").unwrap();
        let url = key
            .signed_url("https://h/api/purchase_link/", &serde_json::json!({}), None)
            .unwrap();
        assert!(url.starts_with("https://h/api/purchase_link/?signature=eyJ"));
        assert!(
            key.signed_url("https://h/x?a=1", &serde_json::json!({}), None)
                .unwrap()
                .contains("?a=1&signature=")
        );
        assert!(!format!("{key:?}").contains("topsecret"));
        let jwt = key.sign(&serde_json::json!({}), None).unwrap();
        assert!(!format!("{jwt:?}").contains(jwt.as_str()));
    }
}
