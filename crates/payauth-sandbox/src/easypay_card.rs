//! The private half of EasyPay's card encryption, played by a bundled test key: what the
//! gateway does with `ccCardInfo.AccountNumber` before it charges a card.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::PrivateKey as RsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey as _;
use sha1::{Digest as _, Sha1};
use zeroize::Zeroizing;

const KEY_PEM: &str = include_str!("../keys/easypay-card-key.pem");
const CERT_DER: &[u8] = include_bytes!("../keys/easypay-card-cert.der");

/// The sandbox's card-encryption key pair: a self-signed RSA-4096 certificate standing in for
/// EasyPay's, and the private key that decrypts what clients encrypt with it.
///
/// Test material, committed in the crate: anyone can decrypt with it, so it protects nothing.
pub struct CardKey {
    private: RsaPrivateKey,
    thumbprint: String,
}

/// Why an `AccountNumber` did not decrypt. Mirrors what the gateway can tell apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardKeyError {
    /// Not standard padded Base64.
    #[error("AccountNumber is not Base64")]
    NotBase64,
    /// The `|thumbprint` suffix names a certificate other than this one.
    #[error("AccountNumber was encrypted for another certificate")]
    UnknownThumbprint,
    /// The ciphertext does not decrypt with RSA-OAEP-SHA1 under this key.
    #[error("AccountNumber does not decrypt with RSA-OAEP-SHA1")]
    DecryptionFailed,
    /// It decrypted, but not to 12 to 19 ASCII digits.
    #[error("AccountNumber decrypts to something other than a card number")]
    NotACardNumber,
    /// The bundled key failed to parse (a broken build of this crate).
    #[error("the bundled sandbox key is unreadable")]
    BundledKey,
}

impl CardKey {
    /// The key pair bundled with this crate.
    ///
    /// # Errors
    /// [`CardKeyError::BundledKey`] only if the crate's own key file is corrupt.
    pub fn bundled() -> Result<Self, CardKeyError> {
        let private =
            RsaPrivateKey::from_pkcs8_pem(KEY_PEM).map_err(|_| CardKeyError::BundledKey)?;
        let thumbprint = Sha1::digest(CERT_DER)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(CardKey {
            private,
            thumbprint,
        })
    }

    /// The certificate (DER) a client loads to encrypt card numbers for the sandbox.
    pub fn certificate_der(&self) -> &'static [u8] {
        CERT_DER
    }

    /// The certificate's SHA-1 thumbprint, lowercase hex.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// Decrypts an `AccountNumber` in either form the gateway accepts: `base64`, or
    /// `base64|thumbprint` as the vendor's mobile SDKs send it. Returns the card number's digits,
    /// wiped from memory when dropped.
    ///
    /// # Errors
    /// A [`CardKeyError`] saying which step failed.
    pub fn decrypt_account_number(
        &self,
        account_number: &str,
    ) -> Result<Zeroizing<String>, CardKeyError> {
        let base64 = match account_number.split_once('|') {
            Some((base64, thumbprint)) if thumbprint == self.thumbprint => base64,
            Some(_) => return Err(CardKeyError::UnknownThumbprint),
            None => account_number,
        };
        let ciphertext = STANDARD
            .decode(base64)
            .map_err(|_| CardKeyError::NotBase64)?;
        let plaintext = Zeroizing::new(
            self.private
                .oaep_decrypt::<Sha1>(&ciphertext)
                .map_err(|_| CardKeyError::DecryptionFailed)?,
        );
        let is_pan =
            (12..=19).contains(&plaintext.len()) && plaintext.iter().all(u8::is_ascii_digit);
        if !is_pan {
            return Err(CardKeyError::NotACardNumber);
        }
        let digits = plaintext.iter().map(|&b| char::from(b)).collect();
        Ok(Zeroizing::new(digits))
    }
}

impl fmt::Debug for CardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardKey")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use card_encryption::{CardNumber, KeyLoader};

    fn client_key() -> card_encryption::EncryptionKey {
        KeyLoader::new().load_bytes(CERT_DER).unwrap()
    }

    #[test]
    fn decrypts_both_forms_a_client_sends() {
        let sandbox = CardKey::bundled().unwrap();
        let client = client_key();
        assert_eq!(
            client.certificate().unwrap().thumbprint().to_string(),
            sandbox.thumbprint()
        );
        let pan = CardNumber::parse("5137221111116668").unwrap();
        for encrypted in [
            client.encrypt(&pan).unwrap(),
            client.encrypt_with_thumbprint(&pan).unwrap(),
        ] {
            let digits = sandbox.decrypt_account_number(encrypted.as_str()).unwrap();
            assert_eq!(digits.as_str(), "5137221111116668");
        }
    }

    #[test]
    fn refuses_what_the_gateway_would() {
        let sandbox = CardKey::bundled().unwrap();
        let encrypted = client_key()
            .encrypt(&CardNumber::parse("5137221111116668").unwrap())
            .unwrap();
        let other = format!("{}|{}", encrypted.as_str(), "0".repeat(40));
        assert_eq!(
            sandbox.decrypt_account_number(&other),
            Err(CardKeyError::UnknownThumbprint)
        );
        assert_eq!(
            sandbox.decrypt_account_number("5137221111116668"),
            Err(CardKeyError::DecryptionFailed)
        );
        assert_eq!(
            sandbox.decrypt_account_number("not base64!"),
            Err(CardKeyError::NotBase64)
        );
        let mut tampered = STANDARD.decode(encrypted.as_str()).unwrap();
        tampered[100] ^= 1;
        assert_eq!(
            sandbox.decrypt_account_number(&STANDARD.encode(tampered)),
            Err(CardKeyError::DecryptionFailed)
        );
        assert!(!format!("{sandbox:?}").contains("PRIVATE"));
    }
}
