//! Rotating the certificate in a running service.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use card_encryption::{Backend, CardNumber, Error, KeyLoader, RotatingKey};

use crate::support::*;

#[test]
fn reload_swaps_only_a_different_valid_key() {
    let keys = RotatingKey::new(load("rsa2048-cert.pem", Backend::RustCrypto));
    let loader = KeyLoader::new().backend(Backend::RustCrypto);

    // Same certificate, other encoding: nothing changes.
    let same = keys
        .reload_from_file(data("rsa2048-cert.der"), &loader)
        .unwrap();
    assert!(!same.changed());
    assert_eq!(same.previous(), same.current());

    // The new certificate becomes current.
    let new = keys
        .reload_from_file(data("rsa4096-cert.pem"), &loader)
        .unwrap();
    assert!(new.changed());
    assert_ne!(new.previous(), new.current());
    assert_eq!(keys.current().bits(), 4096);

    // A bad file and an expired certificate are errors, and the current key stays.
    let bad = keys.reload_from_bytes(b"-----BEGIN CERTIFICATE-----\n", &loader);
    assert!(bad.is_err());
    let expired = keys.reload_from_file(data(VENDOR_CERT), &loader);
    assert!(matches!(expired, Err(Error::CertificateExpired { .. })));
    assert_eq!(keys.current().bits(), 4096);
    assert_eq!(
        keys.current().certificate().map(|c| *c.thumbprint()),
        new.current().copied()
    );

    let previous = keys.replace(load("rsa2048-spki.pem", Backend::RustCrypto));
    assert_eq!(previous.bits(), 4096);
    assert_eq!(keys.remaining_at(SystemTime::now()), None);
}

#[test]
fn remaining_validity_counts_down_to_zero() {
    let keys = RotatingKey::new(
        KeyLoader::new()
            .skip_validity_check()
            .load_file(data(VENDOR_CERT))
            .unwrap(),
    );
    let not_after = UNIX_EPOCH + Duration::from_secs(1_770_595_199);
    let thirty_days = Duration::from_secs(30 * 86_400);
    assert_eq!(
        keys.remaining_at(not_after - thirty_days),
        Some(thirty_days)
    );
    assert_eq!(keys.remaining_at(not_after), Some(Duration::ZERO));
    assert_eq!(
        keys.remaining_at(not_after + thirty_days),
        Some(Duration::ZERO)
    );
    let cert = keys.current().certificate().unwrap().clone();
    assert!(cert.is_valid_at(not_after - thirty_days));
    assert!(!cert.is_valid_at(not_after + Duration::from_secs(1)));
}

#[test]
fn encryption_continues_while_the_key_rotates() {
    let keys = RotatingKey::new(load("rsa2048-cert.pem", Backend::default()));
    let (private2048, private4096) = (private_key(2048), private_key(4096));
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let mut encryptions = 0;
                while !done.load(Ordering::Relaxed) || encryptions < 5 {
                    let key = keys.current();
                    let pan = CardNumber::parse("6011208701117775").unwrap();
                    let encrypted = key.encrypt(&pan).unwrap();
                    let private = if key.bits() == 2048 {
                        &private2048
                    } else {
                        &private4096
                    };
                    assert_eq!(decrypt(private, &encrypted), "6011208701117775");
                    encryptions += 1;
                }
            });
        }
        let loader = KeyLoader::new();
        for i in 0..20 {
            let file = if i % 2 == 0 {
                "rsa4096-cert.pem"
            } else {
                "rsa2048-cert.pem"
            };
            assert!(
                keys.reload_from_file(data(file), &loader)
                    .unwrap()
                    .changed()
            );
        }
        done.store(true, Ordering::Relaxed);
    });
}
