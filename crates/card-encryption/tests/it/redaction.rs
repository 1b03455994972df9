//! No Debug, Display or error output shows more than the last four digits of a card number, any
//! of a CVV, or key material.

use card_encryption::{CardInfo, CardNumber, Error, KeyLoader, RotatingKey};

use crate::support::*;

const PAN: &str = "4761530001111118";
const CVV: &str = "9731";

fn assert_clean(text: &str) {
    // Any 5 consecutive digits of the PAN would reveal more than its last four.
    for window in PAN.as_bytes().windows(5) {
        let run = std::str::from_utf8(window).unwrap();
        assert!(!text.contains(run), "{run} leaked in {text}");
    }
    assert!(!text.contains(CVV), "CVV leaked in {text}");
}

#[test]
fn every_value_type_redacts() {
    let key = load("rsa4096-cert.pem", card_encryption::Backend::RustCrypto);
    let pan = CardNumber::parse(PAN).unwrap();
    let encrypted = key.encrypt(&pan).unwrap();
    let info = CardInfo::new(encrypted.clone(), 10, 2028, CVV).unwrap();
    let rotating = RotatingKey::new(key.clone());
    let outputs = [
        format!("{pan:?}"),
        format!("{pan:#?}"),
        format!("{pan}"),
        format!("{encrypted:?}"),
        format!("{info:?}"),
        format!("{info:#?}"),
        format!("{key:?}"),
        format!("{rotating:?}"),
    ];
    for text in &outputs {
        assert_clean(text);
    }
    assert!(format!("{pan:?}").contains("1118"));
    assert!(format!("{info:?}").contains("***"));
}

#[test]
fn key_debug_shows_no_modulus() {
    let key = load("rsa4096-cert.pem", card_encryption::Backend::RustCrypto);
    let debug = format!("{key:?}");
    assert!(debug.contains("bits: 4096"));
    assert!(debug.len() < 400, "{debug}");
}

#[test]
fn errors_never_echo_the_input() {
    let near_misses = [
        "4761530001111117",      // Luhn
        "476153000111111812345", // too long
        "4761530001111118x",     // bad character
        "4761530001111118 ",     // trailing separator
        "47615300011",           // too short
    ];
    for input in near_misses {
        let err = CardNumber::parse(input).unwrap_err();
        assert_clean(&format!("{err} {err:?}"));
    }
    let key = load("rsa2048-spki.pem", card_encryption::Backend::RustCrypto);
    let encrypted = key.encrypt(&CardNumber::parse(PAN).unwrap()).unwrap();
    for cvv in ["97310", "973", "9x31"] {
        if let Err(err) = CardInfo::new(encrypted.clone(), 10, 2028, cvv) {
            let text = format!("{err} {err:?}");
            assert!(!text.contains(cvv), "{text}");
        }
    }
    // A key error says what is wrong, not what the bytes were.
    let err: Error = KeyLoader::new().load_bytes(PAN.as_bytes()).unwrap_err();
    assert_clean(&format!("{err} {err:?}"));
}
