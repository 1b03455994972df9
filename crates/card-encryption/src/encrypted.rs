use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::decode::{MAX_BITS, MIN_BITS};
use crate::error::{Error, Result};

/// An encrypted card number as the gateway takes it in `ccCardInfo.AccountNumber`: Base64 of the
/// RSA-OAEP ciphertext, optionally followed by `|` and the certificate thumbprint.
///
/// Not secret (only the gateway's private key opens it), so it may be stored or logged; `Debug`
/// still shows only its shape, to keep logs short.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct EncryptedPan {
    encoded: String,
    #[serde(skip)]
    has_thumbprint: bool,
}

impl EncryptedPan {
    pub(crate) fn new(encoded: String, has_thumbprint: bool) -> Self {
        EncryptedPan {
            encoded,
            has_thumbprint,
        }
    }

    /// Wraps a ciphertext made elsewhere (the vendor's published test ciphertexts, another
    /// service), after checking its form: standard padded Base64 of a modulus-sized ciphertext
    /// (256 to 1024 bytes, a multiple of 32), optionally followed by `|` and 40 lowercase hex
    /// digits.
    ///
    /// # Errors
    /// [`Error::Malformed`] naming what is wrong with the form.
    pub fn from_encoded(encoded: &str) -> Result<Self> {
        let malformed = |reason: &str| Error::Malformed {
            what: "encrypted card number",
            reason: reason.into(),
        };
        let (base64, thumbprint) = match encoded.split_once('|') {
            Some((b, t)) => (b, Some(t)),
            None => (encoded, None),
        };
        if let Some(t) = thumbprint
            && (t.len() != 40 || !t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        {
            return Err(malformed(
                "the thumbprint after '|' must be 40 lowercase hex digits",
            ));
        }
        let ciphertext = STANDARD
            .decode(base64)
            .map_err(|_| malformed("not standard padded Base64"))?;
        // Real RSA moduli come in 256-bit steps; any other length means a cut or padded string.
        let len = ciphertext.len();
        if !(MIN_BITS / 8..=MAX_BITS / 8).contains(&len) || len % 32 != 0 {
            return Err(malformed(
                "the ciphertext is not the size of an RSA key (2048 to 8192 bits, in 256-bit steps)",
            ));
        }
        Ok(EncryptedPan::new(encoded.to_owned(), thumbprint.is_some()))
    }

    /// The encoded form, ready for the request body.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// The encoded form as an owned `String`.
    pub fn into_string(self) -> String {
        self.encoded
    }

    /// Whether the `|thumbprint` suffix is present.
    pub fn has_thumbprint(&self) -> bool {
        self.has_thumbprint
    }

    /// The size of the raw ciphertext in bytes (the key's modulus size).
    pub fn ciphertext_len(&self) -> usize {
        let base64 = self.encoded.split('|').next().unwrap_or_default();
        let padding = base64.bytes().rev().take_while(|&b| b == b'=').count();
        base64.len() / 4 * 3 - padding
    }
}

impl AsRef<str> for EncryptedPan {
    fn as_ref(&self) -> &str {
        &self.encoded
    }
}

impl From<EncryptedPan> for String {
    fn from(value: EncryptedPan) -> Self {
        value.encoded
    }
}

impl fmt::Display for EncryptedPan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encoded)
    }
}

impl fmt::Debug for EncryptedPan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedPan")
            .field("ciphertext_len", &self.ciphertext_len())
            .field("has_thumbprint", &self.has_thumbprint)
            .finish()
    }
}
