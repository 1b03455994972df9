use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use card_encryption::{Backend, EncryptedPan, EncryptionKey, KeyLoader};
use rsa::PrivateKey as RsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey as _;
use sha1::Sha1;

pub(crate) fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub(crate) fn read(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

/// Every backend compiled into this test binary.
pub(crate) fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::RustCrypto];
    if cfg!(feature = "aws-lc") {
        all.push(Backend::AwsLc);
    }
    all
}

pub(crate) fn load(name: &str, backend: Backend) -> EncryptionKey {
    KeyLoader::new()
        .backend(backend)
        .load_file(data(name))
        .unwrap()
}

pub(crate) fn private_key(bits: usize) -> RsaPrivateKey {
    let pem = std::fs::read_to_string(data(&format!("rsa{bits}-key.pem"))).unwrap();
    RsaPrivateKey::from_pkcs8_pem(&pem).unwrap()
}

/// Decrypts with the committed test private key, checking the encoding on the way.
pub(crate) fn decrypt(private: &RsaPrivateKey, encrypted: &EncryptedPan) -> String {
    let base64 = encrypted.as_str().split('|').next().unwrap();
    let ciphertext = STANDARD.decode(base64).unwrap();
    let plaintext = private.oaep_decrypt::<Sha1>(&ciphertext).unwrap();
    String::from_utf8(plaintext).unwrap()
}

pub(crate) const VENDOR_CERT: &str = "easypay-mobile-2025.cer";
pub(crate) const VENDOR_THUMBPRINT: &str = "ad2447f38cfdf19a7a224fcc1d21c9b0d2070ed5";

/// (brand, PAN, published ciphertext) from the vendor's documentation.
pub(crate) fn vendor_test_cards() -> Vec<(String, String, String)> {
    std::fs::read_to_string(data("vendor-test-cards.txt"))
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let mut fields = line.split('\t').map(str::to_owned);
            (
                fields.next().unwrap(),
                fields.next().unwrap(),
                fields.next().unwrap(),
            )
        })
        .collect()
}
