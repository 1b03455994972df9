//! Client authentication by assertion (RFC 7523 §2.2): a short-lived JWT signed with the client
//! secret (`client_secret_jwt`, HS256) or the client's RSA key (`private_key_jwt`, RS256). The
//! RSA signing lives here alone, so a change of the `rsa` crate touches one function.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::PrivateKey as RsaPrivateKey;
use rsa::pkcs1v15::SigningKey as RsaSigningKey;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use secrecy::SecretString;
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::signing::SigningKey;

/// `client_assertion_type` for a JWT assertion.
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid: long enough for a slow exchange, short enough that a leaked
/// one is soon useless.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(60);

/// The client's RSA private key for `private_key_jwt`, from a PEM PKCS#8 file (`-----BEGIN
/// PRIVATE KEY-----`). `Debug` shows only the key size.
pub struct PrivateKey {
    signing: RsaSigningKey<Sha256>,
    bits: usize,
    key_id: Option<String>,
}

impl PrivateKey {
    /// Reads an unencrypted PKCS#8 PEM RSA key of at least 2048 bits.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the text is not such a key (the key is never quoted).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|_| Error::InvalidInput {
            field: "private_key",
            rule: "must be an unencrypted PEM PKCS#8 RSA private key",
        })?;
        let bits = rsa::traits::PublicKeyParts::size(&key) * 8;
        if bits < 2048 {
            return Err(Error::InvalidInput {
                field: "private_key",
                rule: "must have at least 2048 bits",
            });
        }
        Ok(PrivateKey {
            signing: RsaSigningKey::<Sha256>::new(key),
            bits,
            key_id: None,
        })
    }

    /// Sends this `kid` in the assertion's header, for servers that hold several keys.
    #[must_use]
    pub fn key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signing.sign(message).to_vec()
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// What signs an assertion.
pub(crate) enum Signer<'a> {
    Secret(&'a str),
    Key(&'a PrivateKey),
}

/// A signed assertion: `iss` = `sub` = client id, `aud` = the token URL, `iat`, `exp` =
/// `iat` + [`ASSERTION_LIFETIME`], a random `jti`.
pub(crate) fn assertion(
    signer: &Signer<'_>,
    client_id: &str,
    token_url: &str,
    now: SystemTime,
) -> Result<SecretString> {
    let iat = now
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::InvalidInput {
            field: "clock",
            rule: "must be after 1970",
        })?
        .as_secs();
    let mut jti = [0u8; 16];
    getrandom::getrandom(&mut jti).map_err(|_| Error::InvalidInput {
        field: "jti",
        rule: "the operating system's random source failed",
    })?;
    let header = match signer {
        Signer::Key(PrivateKey {
            key_id: Some(kid), ..
        }) => serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": kid }),
        _ => serde_json::json!({ "alg": "RS256", "typ": "JWT" }),
    };
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": iat,
        "exp": iat + ASSERTION_LIFETIME.as_secs(),
        "jti": URL_SAFE_NO_PAD.encode(jti),
    });
    let key = match signer {
        // The crate's HS256 signer: header {"alg":"HS256","typ":"JWT"}, the claims as given.
        Signer::Secret(secret) => {
            let jwt = SigningKey::new(*secret)?.sign(&claims, None)?;
            return Ok(SecretString::from(jwt.as_str().to_owned()));
        }
        Signer::Key(key) => key,
    };
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(signing_input.as_bytes());
    Ok(SecretString::from(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn claims_and_a_fresh_jti_each_time() {
        let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let a = assertion(&Signer::Secret("s"), "id", "https://h/token", now).unwrap();
        let b = assertion(&Signer::Secret("s"), "id", "https://h/token", now).unwrap();
        let claims = |jwt: &SecretString| -> serde_json::Value {
            let payload = jwt.expose_secret().split('.').nth(1).unwrap().to_owned();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
        };
        let (ca, cb) = (claims(&a), claims(&b));
        assert_eq!(ca["iss"], "id");
        assert_eq!(ca["sub"], "id");
        assert_eq!(ca["aud"], "https://h/token");
        assert_eq!(ca["exp"], 1_767_225_660u64);
        assert_ne!(ca["jti"], cb["jti"]);
    }

    #[test]
    fn keys_are_checked_and_never_shown() {
        assert!(
            PrivateKey::from_pkcs8_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
            )
            .is_err()
        );
        let err = PrivateKey::from_pkcs8_pem("SECRET").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("SECRET"));
    }
}
