//! From the bytes a user hands us to RSA key material: format detection, X.509 and
//! SubjectPublicKeyInfo decoding, and the algorithm and size checks.

use rsa::BoxedUint;
use rsa::pkcs1::{self, der::Decode as _, der::asn1::AsUintRef as _};
use sha1::{Digest as _, Sha1};
use x509_cert::Certificate;
use x509_cert::der::asn1::{BitString, Ia5StringRef, PrintableStringRef, Utf8StringRef};
use x509_cert::der::{Any, Encode as _, Tag, Tagged as _};
use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

use crate::certificate::{CertificateFacts, Thumbprint};
use crate::error::{Error, Result};

/// rsaEncryption (PKCS #1).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-at-commonName (X.520).
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

pub(crate) const MIN_BITS: usize = 2048;
pub(crate) const MAX_BITS: usize = 8192;

/// An RSA public key that passed every check, in the forms the backends need.
pub(crate) struct KeyMaterial {
    /// The key re-encoded as DER SubjectPublicKeyInfo, whatever form it came in.
    pub(crate) spki_der: Vec<u8>,
    pub(crate) public_key: rsa::PublicKey,
    pub(crate) bits: usize,
    pub(crate) certificate: Option<CertificateFacts>,
}

enum Container {
    Certificate(Vec<u8>),
    Spki(Vec<u8>),
    Pkcs1(Vec<u8>),
}

pub(crate) fn decode(bytes: &[u8]) -> Result<KeyMaterial> {
    match container(bytes)? {
        Container::Certificate(der) => from_certificate(&der),
        Container::Spki(der) => {
            let spki =
                SubjectPublicKeyInfoOwned::from_der(&der).map_err(malformed("public key"))?;
            from_spki(spki, None)
        }
        Container::Pkcs1(der) => {
            let spki = SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: RSA_ENCRYPTION,
                    parameters: Some(Any::null()),
                },
                subject_public_key: BitString::from_bytes(&der)
                    .map_err(malformed("RSA public key"))?,
            };
            from_spki(spki, None)
        }
    }
}

fn container(bytes: &[u8]) -> Result<Container> {
    if contains(bytes, b"-----BEGIN ") {
        return pem_container(bytes);
    }
    // Every DER form we accept is a SEQUENCE; anything else is not ours.
    if bytes.first() != Some(&0x30) {
        return Err(Error::UnrecognizedFormat);
    }
    match Certificate::from_der(bytes) {
        Ok(_) => Ok(Container::Certificate(bytes.to_vec())),
        Err(cert_error) => {
            if SubjectPublicKeyInfoOwned::from_der(bytes).is_ok() {
                Ok(Container::Spki(bytes.to_vec()))
            } else if pkcs1::RsaPublicKeyRef::from_der(bytes).is_ok() {
                Ok(Container::Pkcs1(bytes.to_vec()))
            } else {
                // A certificate is by far the most likely intent (`.cer` files).
                Err(malformed("certificate")(cert_error))
            }
        }
    }
}

fn pem_container(bytes: &[u8]) -> Result<Container> {
    let blocks = pem::parse_many(bytes).map_err(|e| Error::Malformed {
        what: "PEM",
        reason: pem_reason(&e).into(),
    })?;
    let mut first_label = None;
    for block in blocks {
        let container = match block.tag() {
            "CERTIFICATE" | "X509 CERTIFICATE" => Container::Certificate,
            "PUBLIC KEY" => Container::Spki,
            "RSA PUBLIC KEY" => Container::Pkcs1,
            other => {
                first_label.get_or_insert_with(|| printable_label(other));
                continue;
            }
        };
        // The first usable block wins: in a chain file the leaf certificate comes first.
        return Ok(container(block.into_contents()));
    }
    Err(match first_label {
        Some(label) => Error::UnexpectedPemLabel { label },
        None => Error::Malformed {
            what: "PEM",
            reason: "no PEM block found".into(),
        },
    })
}

/// What is wrong with a PEM file, in words of our own. The `pem` crate's messages quote the
/// input (`InvalidHeader` prints the line before a blank line, which in a private key handed
/// over by mistake is key material; `MismatchedTags` prints both labels; the Base64 decoder
/// prints the offending symbol), so none of its text is passed on.
fn pem_reason(error: &pem::PemError) -> &'static str {
    match error {
        pem::PemError::MismatchedTags(..) => "the BEGIN and END labels differ",
        pem::PemError::MalformedFraming => "the BEGIN or END line is malformed",
        pem::PemError::MissingBeginTag => "a BEGIN line is missing",
        pem::PemError::MissingEndTag => "an END line is missing",
        pem::PemError::MissingData => "a block has no content",
        pem::PemError::InvalidData(_) => "the Base64 between BEGIN and END is invalid",
        pem::PemError::InvalidHeader(_) => {
            "a line before a blank line is not a \"Name: value\" header"
        }
        pem::PemError::NotUtf8(_) => "the text is not UTF-8",
        // A variant added by a later `pem` release.
        #[allow(unreachable_patterns)]
        _ => "the PEM structure is invalid",
    }
}

/// A PEM label as it may appear in an error: labels are upper-case words (`PRIVATE KEY`,
/// `CERTIFICATE REQUEST`); anything else is not echoed, since it is not known to be a label.
fn printable_label(label: &str) -> String {
    let plain = !label.is_empty()
        && label.len() <= 64
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ');
    if plain {
        label.to_owned()
    } else {
        "(not an upper-case label)".to_owned()
    }
}

fn from_certificate(der: &[u8]) -> Result<KeyMaterial> {
    let cert = Certificate::from_der(der).map_err(malformed("certificate"))?;
    let tbs = cert.tbs_certificate();
    let facts = CertificateFacts {
        subject_common_name: common_name(tbs.subject()),
        not_before: tbs.validity().not_before.to_system_time(),
        not_after: tbs.validity().not_after.to_system_time(),
        thumbprint: Thumbprint(Sha1::digest(der).into()),
    };
    from_spki(tbs.subject_public_key_info().clone(), Some(facts))
}

fn from_spki(
    spki: SubjectPublicKeyInfoOwned,
    certificate: Option<CertificateFacts>,
) -> Result<KeyMaterial> {
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(Error::UnsupportedAlgorithm {
            oid: spki.algorithm.oid.to_string(),
        });
    }
    let raw = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| Error::Malformed {
            what: "public key",
            reason: "the key's bit string is not a whole number of bytes".into(),
        })?;
    let key = pkcs1::RsaPublicKeyRef::from_der(raw).map_err(malformed("RSA public key"))?;
    // Public values, so variable time is fine; sizing each number to its own bytes keeps the
    // exponent short, which is what makes rsa 0.10's public-key operation fast.
    let n = BoxedUint::from_be_slice_vartime(key.modulus.as_uint_ref().as_bytes());
    let e = BoxedUint::from_be_slice_vartime(key.public_exponent.as_uint_ref().as_bytes());
    let bits = n.bit_width_vartime() as usize;
    if bits < MIN_BITS {
        return Err(Error::KeyTooSmall {
            bits,
            min: MIN_BITS,
        });
    }
    if bits > MAX_BITS {
        return Err(Error::KeyTooLarge {
            bits,
            max: MAX_BITS,
        });
    }
    // Checks the exponent's range and the modulus's parity, for every backend alike.
    let public_key =
        rsa::PublicKey::new_with_size_limits(n, e, MIN_BITS..=MAX_BITS).map_err(|e| {
            Error::InvalidKey {
                reason: e.to_string(),
            }
        })?;
    let spki_der = spki.to_der().map_err(malformed("public key"))?;
    Ok(KeyMaterial {
        spki_der,
        public_key,
        bits,
        certificate,
    })
}

fn common_name(name: &x509_cert::name::Name) -> Option<String> {
    // The most specific CN is the last one in the sequence.
    name.iter()
        .filter(|attr| attr.oid == COMMON_NAME)
        .filter_map(|attr| directory_string(&attr.value))
        .last()
}

fn directory_string(value: &Any) -> Option<String> {
    let text = match value.tag() {
        Tag::Utf8String => value
            .decode_as::<Utf8StringRef<'_>>()
            .ok()?
            .as_str()
            .to_owned(),
        Tag::PrintableString => value
            .decode_as::<PrintableStringRef<'_>>()
            .ok()?
            .as_str()
            .to_owned(),
        Tag::Ia5String => value
            .decode_as::<Ia5StringRef<'_>>()
            .ok()?
            .as_str()
            .to_owned(),
        _ => return None,
    };
    Some(text)
}

fn malformed<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::Malformed {
        what,
        reason: e.to_string(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
