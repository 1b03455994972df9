//! Encrypt with our API, decrypt with the committed test private key: every input format, every
//! backend, both key sizes.

use card_encryption::{Backend, CardNumber, EncryptionKey, Error, KeyLoader};
use proptest::prelude::*;

use crate::support::*;

#[test]
fn every_format_and_backend_round_trips() {
    for bits in [2048, 4096] {
        let private = private_key(bits);
        for format in ["cert.der", "cert.pem", "spki.pem", "pkcs1.pem"] {
            for backend in backends() {
                let key = load(&format!("rsa{bits}-{format}"), backend);
                assert_eq!(key.bits(), bits);
                assert_eq!(key.backend(), backend);
                assert_eq!(key.certificate().is_some(), format.starts_with("cert"));
                let encrypted = key.encrypt(&CardNumber::parse("4761 5300 0111 1118").unwrap());
                let encrypted = encrypted.unwrap();
                assert_eq!(encrypted.as_str().len(), key.encoded_len());
                assert_eq!(decrypt(&private, &encrypted), "4761530001111118");
            }
        }
    }
}

#[test]
fn der_and_pem_certificates_give_the_same_facts() {
    let der = load("rsa4096-cert.der", Backend::RustCrypto);
    let pem = load("rsa4096-cert.pem", Backend::RustCrypto);
    assert_eq!(der.certificate(), pem.certificate());
    let cert = der.certificate().unwrap();
    assert_eq!(
        cert.subject_common_name(),
        Some("card-encryption test rsa4096")
    );
}

#[test]
fn thumbprint_suffix_needs_a_certificate() {
    let bare = load("rsa4096-spki.pem", Backend::RustCrypto);
    let pan = CardNumber::parse("4761530001111118").unwrap();
    assert!(matches!(
        bare.encrypt_with_thumbprint(&pan),
        Err(Error::NoCertificate)
    ));

    let cert = load("rsa4096-cert.pem", Backend::RustCrypto);
    let suffixed = cert.encrypt_with_thumbprint(&pan).unwrap();
    let thumbprint = suffixed.as_str().split_once('|').unwrap().1;
    assert_eq!(
        thumbprint,
        cert.certificate().unwrap().thumbprint().to_string()
    );
    assert_eq!(decrypt(&private_key(4096), &suffixed), "4761530001111118");
}

#[test]
fn pem_chain_uses_the_first_certificate() {
    let mut chain = read("rsa2048-cert.pem");
    chain.extend(read("rsa4096-cert.pem"));
    let key = EncryptionKey::from_bytes(&chain).unwrap();
    assert_eq!(key.bits(), 2048);
}

#[test]
fn pem_with_text_before_the_block_loads() {
    // `openssl x509 -text` output and bundles exported by some tools start with prose.
    let mut pem = b"subject=CN = test\nissuer=CN = test\n".to_vec();
    pem.extend(read("rsa2048-cert.pem"));
    assert_eq!(EncryptionKey::from_bytes(&pem).unwrap().bits(), 2048);
}

#[test]
fn unavailable_backend_is_a_typed_error() {
    let result = KeyLoader::new()
        .backend(Backend::AwsLc)
        .load_file(data("rsa2048-cert.pem"));
    if cfg!(feature = "aws-lc") {
        assert_eq!(result.unwrap().backend(), Backend::AwsLc);
        assert_eq!(Backend::default(), Backend::AwsLc);
    } else {
        assert!(matches!(result, Err(Error::BackendUnavailable("aws-lc"))));
        assert_eq!(Backend::default(), Backend::RustCrypto);
    }
}

#[test]
fn keys_are_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<EncryptionKey>();
    assert_send_sync::<card_encryption::RotatingKey>();

    let key = load("rsa2048-cert.pem", Backend::default());
    let private = private_key(2048);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (key, private) = (key.clone(), &private);
            s.spawn(move || {
                let pan =
                    CardNumber::parse(["4761530001111118", "371030089111338"][t % 2]).unwrap();
                let digits = decrypt(private, &key.encrypt(&pan).unwrap());
                assert!(digits.ends_with(pan.last4()));
            });
        }
    });
}

/// A random PAN of 12 to 19 digits with a correct Luhn check digit.
fn valid_pan() -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, 11..=18).prop_map(|body| {
        let sum: u32 = body
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| {
                let d = u32::from(d);
                // The check digit will sit at position 0, so the body's last digit is doubled.
                if i % 2 == 0 {
                    (d * 2) % 10 + (d * 2) / 10
                } else {
                    d
                }
            })
            .sum();
        let check = (10 - sum % 10) % 10;
        body.iter()
            .map(|d| char::from(b'0' + d))
            .chain(std::iter::once(char::from(b'0' + check as u8)))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_valid_pans_round_trip(pan in valid_pan(), dashes in any::<bool>()) {
        // Grouped input must decrypt to the bare digits.
        let sep = if dashes { "-" } else { " " };
        let grouped: Vec<&str> = pan.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect();
        let parsed = CardNumber::parse(&grouped.join(sep)).unwrap();
        for backend in backends() {
            let key = load("rsa2048-spki.pem", backend);
            let encrypted = key.encrypt(&parsed).unwrap();
            prop_assert_eq!(encrypted.as_str().len(), 344);
            prop_assert_eq!(decrypt(&private_key(2048), &encrypted), pan.clone());
        }
    }

    #[test]
    fn any_string_parses_or_errors_without_panicking(input in "\\PC{0,30}") {
        let _ = CardNumber::parse(&input);
    }
}
