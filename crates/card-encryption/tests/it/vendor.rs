//! The vendor's real certificate and its published test cards.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use card_encryption::{Brand, CardNumber, EncryptedPan, EncryptionKey, Error, KeyLoader};

use crate::support::*;

const NOT_BEFORE: u64 = 1_736_294_400; // 2025-01-08T00:00:00Z
const NOT_AFTER: u64 = 1_770_595_199; // 2026-02-08T23:59:59Z

fn vendor_key() -> EncryptionKey {
    KeyLoader::new()
        .skip_validity_check()
        .load_file(data(VENDOR_CERT))
        .unwrap()
}

#[test]
fn real_certificate_facts() {
    let key = vendor_key();
    assert_eq!(key.bits(), 4096);
    assert_eq!(key.ciphertext_len(), 512);
    assert_eq!(key.encoded_len(), 684);
    let cert = key.certificate().unwrap();
    assert_eq!(cert.subject_common_name(), Some("mobile.easypay5.com"));
    assert_eq!(cert.thumbprint().to_string(), VENDOR_THUMBPRINT);
    assert_eq!(
        cert.not_before(),
        UNIX_EPOCH + Duration::from_secs(NOT_BEFORE)
    );
    assert_eq!(
        cert.not_after(),
        UNIX_EPOCH + Duration::from_secs(NOT_AFTER)
    );
}

#[test]
fn real_certificate_is_refused_as_expired_by_default() {
    // The default loader checks against the system clock; the certificate expired in 2026-02.
    let err = EncryptionKey::from_file(data(VENDOR_CERT)).unwrap_err();
    assert!(matches!(err, Error::CertificateExpired { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("2025-01-08T00:00:00Z"), "{message}");
    assert!(message.contains("2026-02-08T23:59:59Z"), "{message}");
}

#[test]
fn real_certificate_validity_window_is_inclusive_and_exact() {
    let der = read(VENDOR_CERT);
    let at = |secs: u64| KeyLoader::new().check_validity_at(UNIX_EPOCH + Duration::from_secs(secs));
    assert!(at(NOT_BEFORE).load_bytes(&der).is_ok());
    assert!(at(NOT_AFTER).load_bytes(&der).is_ok());
    assert!(matches!(
        at(NOT_AFTER + 1).load_bytes(&der),
        Err(Error::CertificateExpired { .. })
    ));
    let early = at(NOT_BEFORE - 1).load_bytes(&der).unwrap_err();
    assert!(
        matches!(early, Error::CertificateNotYetValid { .. }),
        "{early:?}"
    );
    assert!(early.to_string().contains("not yet valid"));
    // Debug shows the same instants in RFC 3339 UTC, not `SystemTime { tv_sec, .. }`.
    let debug = format!("{early:?}");
    assert!(
        debug.contains("not_before: 2025-01-08T00:00:00Z")
            && debug.contains("not_after: 2026-02-08T23:59:59Z")
            && debug.contains("checked_at: 2025-01-07T23:59:59Z"),
        "{debug}"
    );
    assert!(!debug.contains("tv_sec"), "{debug}");
    let loader = format!("{:?}", at(NOT_BEFORE));
    assert!(loader.contains("At(2025-01-08T00:00:00Z)"), "{loader}");
}

#[test]
fn real_certificate_encrypts_to_684_characters_on_every_backend() {
    for backend in backends() {
        let key = KeyLoader::new()
            .skip_validity_check()
            .backend(backend)
            .load_file(data(VENDOR_CERT))
            .unwrap();
        let pan = CardNumber::parse("4761530001111118").unwrap();
        let plain = key.encrypt(&pan).unwrap();
        assert_eq!(plain.as_str().len(), 684, "{backend}");
        assert!(!plain.as_str().contains('\n'));
        assert_eq!(STANDARD.decode(plain.as_str()).unwrap().len(), 512);

        let suffixed = key.encrypt_with_thumbprint(&pan).unwrap();
        let (base64, thumbprint) = suffixed.as_str().split_once('|').unwrap();
        assert_eq!(base64.len(), 684);
        assert_eq!(thumbprint, VENDOR_THUMBPRINT);
        assert!(suffixed.has_thumbprint());
    }
}

#[test]
fn vendor_test_cards_encrypt_and_published_ciphertexts_are_512_bytes() {
    let key = vendor_key();
    let cards = vendor_test_cards();
    assert_eq!(cards.len(), 4);
    let brands: Vec<Brand> = cards
        .iter()
        .map(|(_, pan, _)| CardNumber::parse(pan).unwrap().brand())
        .collect();
    assert_eq!(
        brands,
        [Brand::Visa, Brand::Mastercard, Brand::Discover, Brand::Amex]
    );
    for (brand, pan, published) in &cards {
        let ours = key.encrypt(&CardNumber::parse(pan).unwrap()).unwrap();
        assert_eq!(ours.ciphertext_len(), 512, "{brand}");
        assert_eq!(published.len(), 684, "{brand}");
        assert_eq!(STANDARD.decode(published).unwrap().len(), 512, "{brand}");
        let wrapped = EncryptedPan::from_encoded(published).unwrap();
        assert_eq!(wrapped.ciphertext_len(), 512);
        // OAEP is randomised: never equal to the vendor's ciphertext, nor to itself twice.
        assert_ne!(ours.as_str(), published);
        assert_ne!(ours, key.encrypt(&CardNumber::parse(pan).unwrap()).unwrap());
    }
}

#[test]
fn encrypted_pan_form_is_checked() {
    let (_, _, published) = &vendor_test_cards()[0];
    let suffixed = format!("{published}|{VENDOR_THUMBPRINT}");
    assert!(
        EncryptedPan::from_encoded(&suffixed)
            .unwrap()
            .has_thumbprint()
    );
    for bad in [
        String::new(),
        "not base64!".to_owned(),
        published[..680].to_owned(),
        STANDARD.encode([7u8; 100]),
        format!("{published}|{}", VENDOR_THUMBPRINT.to_uppercase()),
        format!("{published}|abc"),
    ] {
        assert!(
            matches!(
                EncryptedPan::from_encoded(&bad),
                Err(Error::Malformed { .. })
            ),
            "{bad:.20}"
        );
    }
}
