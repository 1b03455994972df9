use std::fmt;

use sha1::Sha1;

use crate::decode::KeyMaterial;
use crate::error::{Error, Result};

/// Which implementation performs the RSA-OAEP operation. Both produce the same format; OAEP is
/// randomised, so no two ciphertexts are equal either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// The pure-Rust [`rsa`](https://docs.rs/rsa) crate. Always available.
    RustCrypto,
    /// [`aws-lc-rs`](https://docs.rs/aws-lc-rs), about 12x faster. Needs the `aws-lc` feature.
    AwsLc,
}

impl Backend {
    /// The fastest backend compiled in: `AwsLc` with the `aws-lc` feature, else `RustCrypto`.
    pub const fn default_available() -> Backend {
        if cfg!(feature = "aws-lc") {
            Backend::AwsLc
        } else {
            Backend::RustCrypto
        }
    }

    /// Whether this backend is compiled in.
    pub const fn is_available(self) -> bool {
        match self {
            Backend::RustCrypto => true,
            Backend::AwsLc => cfg!(feature = "aws-lc"),
        }
    }

    /// A short name (`rust-crypto`, `aws-lc`).
    pub const fn name(self) -> &'static str {
        match self {
            Backend::RustCrypto => "rust-crypto",
            Backend::AwsLc => "aws-lc",
        }
    }
}

impl Default for Backend {
    fn default() -> Self {
        Backend::default_available()
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A public key prepared for one backend.
pub(crate) enum BackendKey {
    RustCrypto(rsa::PublicKey),
    #[cfg(feature = "aws-lc")]
    AwsLc(aws_lc_rs::rsa::OaepPublicEncryptingKey),
}

impl BackendKey {
    pub(crate) fn new(backend: Backend, material: &KeyMaterial) -> Result<Self> {
        match backend {
            Backend::RustCrypto => Ok(BackendKey::RustCrypto(material.public_key.clone())),
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => {
                use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey};
                let key = PublicEncryptingKey::from_der(&material.spki_der).map_err(|e| {
                    Error::InvalidKey {
                        reason: format!("aws-lc refused the public key: {e}"),
                    }
                })?;
                let oaep = OaepPublicEncryptingKey::new(key).map_err(|_| Error::InvalidKey {
                    reason: "aws-lc cannot use the key for RSA-OAEP".into(),
                })?;
                Ok(BackendKey::AwsLc(oaep))
            }
            #[cfg(not(feature = "aws-lc"))]
            Backend::AwsLc => Err(Error::BackendUnavailable(backend.name())),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            BackendKey::RustCrypto(_) => Backend::RustCrypto,
            #[cfg(feature = "aws-lc")]
            BackendKey::AwsLc(_) => Backend::AwsLc,
        }
    }

    /// RSA-OAEP with SHA-1 and MGF1-SHA-1, empty label.
    pub(crate) fn encrypt(&self, plaintext: &[u8], ciphertext_len: usize) -> Result<Vec<u8>> {
        match self {
            BackendKey::RustCrypto(key) => key
                .oaep_encrypt::<Sha1>(plaintext)
                .map_err(|_| Error::Encryption("the rsa crate's OAEP encryption failed")),
            #[cfg(feature = "aws-lc")]
            BackendKey::AwsLc(key) => {
                let mut out = vec![0; ciphertext_len];
                let written = key
                    .encrypt(
                        &aws_lc_rs::rsa::OAEP_SHA1_MGF1SHA1,
                        plaintext,
                        &mut out,
                        None,
                    )
                    .map_err(|_| Error::Encryption("aws-lc's OAEP encryption failed"))?
                    .len();
                out.truncate(written);
                Ok(out)
            }
        }
        .and_then(|ct| {
            // Both backends promise a modulus-sized output; a short one would be rejected by the
            // gateway, so it is an error here rather than there.
            if ct.len() == ciphertext_len {
                Ok(ct)
            } else {
                Err(Error::Encryption("ciphertext is not the modulus size"))
            }
        })
    }
}
