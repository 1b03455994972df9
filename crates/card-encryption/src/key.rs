use std::fmt;
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::backend::{Backend, BackendKey};
use crate::card::CardNumber;
use crate::certificate::{CertificateFacts, Thumbprint};
use crate::decode;
use crate::encrypted::EncryptedPan;
use crate::error::{Error, Result};

/// A certificate or key file is a few kilobytes; refuse to read a wrongly named multi-gigabyte one.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// An RSA public key ready to encrypt card numbers, with the facts of its certificate when it
/// was loaded from one.
///
/// Parsing and key preparation happen once, at load; [`encrypt`](Self::encrypt) does only the
/// RSA operation and the Base64 encoding. Cloning is cheap (an `Arc`), and one key serves any
/// number of threads.
#[derive(Clone)]
pub struct EncryptionKey {
    inner: Arc<Inner>,
}

struct Inner {
    key: BackendKey,
    bits: usize,
    spki_der: Vec<u8>,
    certificate: Option<CertificateFacts>,
}

impl EncryptionKey {
    /// Loads a key from a DER or PEM certificate, or a PEM `PUBLIC KEY` / `RSA PUBLIC KEY`,
    /// checking the certificate's validity against the system time and using the
    /// [default backend](Backend::default_available). See [`KeyLoader`] for other choices.
    ///
    /// # Errors
    /// Any loading error of [`KeyLoader::load_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        KeyLoader::new().load_bytes(bytes)
    }

    /// Like [`from_bytes`](Self::from_bytes), reading the file at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, else those of [`KeyLoader::load_bytes`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        KeyLoader::new().load_file(path)
    }

    /// A loader with the default checks, to change them.
    pub fn loader() -> KeyLoader {
        KeyLoader::new()
    }

    /// The modulus size in bits (4096 for EasyPay's certificate).
    pub fn bits(&self) -> usize {
        self.inner.bits
    }

    /// The raw ciphertext size in bytes: the modulus size (512 for RSA-4096).
    pub fn ciphertext_len(&self) -> usize {
        self.inner.bits.div_ceil(8)
    }

    /// The length of [`encrypt`](Self::encrypt)'s output: padded Base64 of the ciphertext
    /// (684 characters for RSA-4096).
    pub fn encoded_len(&self) -> usize {
        self.ciphertext_len().div_ceil(3) * 4
    }

    /// The certificate the key came from, or `None` for a bare public key.
    pub fn certificate(&self) -> Option<&CertificateFacts> {
        self.inner.certificate.as_ref()
    }

    /// The backend that performs the RSA operation.
    pub fn backend(&self) -> Backend {
        self.inner.key.backend()
    }

    /// Encrypts the card number: RSA-OAEP (SHA-1, MGF1-SHA-1, empty label) of its ASCII digits,
    /// standard padded Base64, no line breaks. This is the form EasyPay's REST API documents for
    /// `ccCardInfo.AccountNumber`.
    ///
    /// # Errors
    /// [`Error::Encryption`] if the system's random number generator or the backend fails.
    pub fn encrypt(&self, pan: &CardNumber) -> Result<EncryptedPan> {
        let ciphertext = self
            .inner
            .key
            .encrypt(pan.digits(), self.ciphertext_len())?;
        Ok(EncryptedPan::new(STANDARD.encode(ciphertext), false))
    }

    /// Like [`encrypt`](Self::encrypt), followed by `|` and the certificate's
    /// [`Thumbprint`] in lowercase hex, as the vendor's mobile SDKs send it: it lets the gateway
    /// choose the right private key while two certificates are in use.
    ///
    /// # Errors
    /// [`Error::NoCertificate`] when the key was not loaded from a certificate, else those of
    /// [`encrypt`](Self::encrypt).
    pub fn encrypt_with_thumbprint(&self, pan: &CardNumber) -> Result<EncryptedPan> {
        let thumbprint = self.thumbprint().ok_or(Error::NoCertificate)?;
        let ciphertext = self
            .inner
            .key
            .encrypt(pan.digits(), self.ciphertext_len())?;
        let mut encoded = String::with_capacity(self.encoded_len() + 41);
        STANDARD.encode_string(ciphertext, &mut encoded);
        encoded.push('|');
        encoded.push_str(&thumbprint.to_string());
        Ok(EncryptedPan::new(encoded, true))
    }

    fn thumbprint(&self) -> Option<&Thumbprint> {
        self.certificate().map(CertificateFacts::thumbprint)
    }

    /// Whether both keys are the same key from the same certificate (or the same bare key).
    pub(crate) fn same_as(&self, other: &EncryptionKey) -> bool {
        self.inner.spki_der == other.inner.spki_der && self.thumbprint() == other.thumbprint()
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("bits", &self.inner.bits)
            .field("backend", &self.backend())
            .field("certificate", &self.inner.certificate)
            .finish()
    }
}

/// How a key is loaded: which validity check applies and which backend encrypts.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use card_encryption::{Error, KeyLoader};
/// # let der = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/easypay-mobile-2025.cer")).unwrap();
///
/// // EasyPay's 2025 certificate expired on 2026-02-08: refused by default...
/// let after = UNIX_EPOCH + Duration::from_secs(1_772_000_000); // 2026-02-25
/// let refused = KeyLoader::new().check_validity_at(after).load_bytes(&der);
/// assert!(matches!(refused, Err(Error::CertificateExpired { .. })));
///
/// // ...and accepted only when asked explicitly.
/// let key = KeyLoader::new().skip_validity_check().load_bytes(&der).unwrap();
/// assert_eq!(key.encoded_len(), 684);
/// ```
#[derive(Debug, Clone)]
pub struct KeyLoader {
    validity: Validity,
    backend: Backend,
}

#[derive(Clone, Copy)]
enum Validity {
    SystemTime,
    At(SystemTime),
    Skip,
}

impl fmt::Debug for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validity::SystemTime => f.write_str("SystemTime"),
            Validity::At(at) => write!(f, "At({})", crate::time_fmt::Rfc3339(*at)),
            Validity::Skip => f.write_str("Skip"),
        }
    }
}

impl Default for KeyLoader {
    fn default() -> Self {
        KeyLoader {
            validity: Validity::SystemTime,
            backend: Backend::default_available(),
        }
    }
}

impl KeyLoader {
    /// The defaults: a certificate must be valid now; the fastest backend compiled in.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the certificate's validity at `at` instead of the system time (tests, or checking
    /// that a new certificate will be valid at its switch-over date).
    #[must_use]
    pub fn check_validity_at(mut self, at: SystemTime) -> Self {
        self.validity = Validity::At(at);
        self
    }

    /// Accepts a certificate outside its validity period. The gateway may still refuse
    /// ciphertext made with a retired key; this is for tests and emergencies.
    #[must_use]
    pub fn skip_validity_check(mut self) -> Self {
        self.validity = Validity::Skip;
        self
    }

    /// Chooses the backend; [`Error::BackendUnavailable`] at load time if it is not compiled in.
    #[must_use]
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Loads a key from DER or PEM bytes (format detected from the content).
    ///
    /// # Errors
    /// [`Error::UnrecognizedFormat`], [`Error::Malformed`], [`Error::UnexpectedPemLabel`] for
    /// input that is not a key; [`Error::UnsupportedAlgorithm`], [`Error::KeyTooSmall`],
    /// [`Error::KeyTooLarge`], [`Error::InvalidKey`] for keys that must not be used;
    /// [`Error::CertificateExpired`], [`Error::CertificateNotYetValid`] outside the validity
    /// period; [`Error::BackendUnavailable`].
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<EncryptionKey> {
        let material = decode::decode(bytes)?;
        if let Some(certificate) = &material.certificate {
            match self.validity {
                Validity::SystemTime => certificate.check_validity(SystemTime::now())?,
                Validity::At(at) => certificate.check_validity(at)?,
                Validity::Skip => {}
            }
        }
        let key = BackendKey::new(self.backend, &material)?;
        Ok(EncryptionKey {
            inner: Arc::new(Inner {
                key,
                bits: material.bits,
                spki_der: material.spki_der,
                certificate: material.certificate,
            }),
        })
    }

    /// Loads a key from the file at `path` (at most 1 MiB).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Malformed`] when it is larger than
    /// 1 MiB, else those of [`load_bytes`](Self::load_bytes).
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<EncryptionKey> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(Error::Malformed {
                what: "key file",
                reason: "larger than 1 MiB; a certificate is a few kilobytes".into(),
            });
        }
        self.load_bytes(&bytes)
    }
}
