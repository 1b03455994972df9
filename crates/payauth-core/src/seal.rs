//! Sealing what goes to a shared store: ChaCha20-Poly1305 under a key derived with HKDF-SHA256
//! from the client's own secret, with the cache key as associated data. Whoever reads the store
//! without the client's secret gets nothing usable, and a value moved to another key does not open.

use std::fmt;

use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;
/// Format tag: a sealed value starts with it, so a later format can be told apart.
const VERSION: u8 = 1;

/// Seals and opens values under a key derived from a client secret.
pub struct Sealer {
    key: Zeroizing<[u8; 32]>,
}

impl Sealer {
    /// Derives the sealing key from `secret` (the client secret, API key or EasyPay token) for
    /// `purpose` (which client), so two clients with one secret still get different keys.
    pub fn derive(secret: &[u8], purpose: &str) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(b"payauth shared store seal v1"), secret);
        let mut key = Zeroizing::new([0u8; 32]);
        if hkdf.expand(purpose.as_bytes(), key.as_mut_slice()).is_err() {
            unreachable!("32 bytes is within HKDF-SHA256's output limit");
        }
        Sealer { key }
    }

    /// `version || nonce || ciphertext+tag` of `plaintext`, bound to `associated` (the cache key).
    ///
    /// # Errors
    /// Only if the OS random generator fails (no nonce, nothing sealed).
    pub fn seal(&self, associated: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, getrandom::Error> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce)?;
        let sealed = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: associated,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plaintext of `sealed`, or `None` if it was sealed under another key, for another
    /// cache key, or altered.
    pub fn open(&self, associated: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (&version, rest) = sealed.split_first()?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        match ChaCha20Poly1305::new_from_slice(self.key.as_slice()) {
            Ok(cipher) => cipher,
            Err(_) => unreachable!("the key is 32 bytes"),
        }
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_the_same_secret_purpose_and_cache_key() {
        let sealer = Sealer::derive(b"client-secret", "oauth");
        let sealed = sealer.seal(b"key-a", b"access-token-123").unwrap();
        assert!(!sealed.windows(16).any(|w| w == b"access-token-123"));
        assert_eq!(
            sealer.open(b"key-a", &sealed).unwrap().as_slice(),
            b"access-token-123"
        );
        assert!(
            sealer.open(b"key-b", &sealed).is_none(),
            "moved to another key"
        );
        assert!(
            Sealer::derive(b"other-secret", "oauth")
                .open(b"key-a", &sealed)
                .is_none()
        );
        assert!(
            Sealer::derive(b"client-secret", "payroc")
                .open(b"key-a", &sealed)
                .is_none()
        );
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(sealer.open(b"key-a", &altered).is_none());
        assert!(sealer.open(b"key-a", &sealed[..5]).is_none());
        assert_ne!(
            sealed,
            sealer.seal(b"key-a", b"access-token-123").unwrap(),
            "fresh nonce"
        );
        assert_eq!(format!("{sealer:?}"), "Sealer(..)");
    }
}
