//! Each bad input is a typed error, never a panic, never an accepted key.

use card_encryption::{CardInfo, CardNumber, EncryptionKey, Error, KeyLoader, PanRule};

use crate::support::*;

fn load_err(bytes: &[u8]) -> Error {
    KeyLoader::new().load_bytes(bytes).unwrap_err()
}

#[test]
fn card_numbers() {
    let rule = |s: &str| match CardNumber::parse(s) {
        Err(Error::InvalidCardNumber(rule)) => rule,
        other => panic!("{other:?}"),
    };
    assert_eq!(rule(""), PanRule::Empty);
    assert_eq!(
        rule("4761abcd01111118"),
        PanRule::InvalidCharacter { position: 5 }
    );
    assert_eq!(rule("47615300011"), PanRule::TooShort { digits: 11 });
    assert_eq!(
        rule("47615300011111181234"),
        PanRule::TooLong { digits: 20 }
    );
    assert_eq!(rule("4761530001111117"), PanRule::LuhnCheckFailed);
}

#[test]
fn random_bytes_are_not_a_certificate() {
    // Deterministic pseudo-random bytes, one run starting like DER and one not.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise: Vec<u8> = (0..2048)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    noise[0] = 0x01;
    assert!(matches!(load_err(&noise), Error::UnrecognizedFormat));
    noise[0] = 0x30;
    assert!(matches!(
        load_err(&noise),
        Error::Malformed {
            what: "certificate",
            ..
        }
    ));
    assert!(matches!(load_err(&[]), Error::UnrecognizedFormat));
}

#[test]
fn truncated_der_certificate() {
    let der = read(VENDOR_CERT);
    for cut in [1, 10, der.len() / 2, der.len() - 1] {
        let err = load_err(&der[..cut]);
        assert!(
            matches!(err, Error::Malformed { .. }),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn pem_with_a_wrong_label() {
    let err = load_err(&read("rsa2048-key.pem"));
    match &err {
        Error::UnexpectedPemLabel { label } => assert_eq!(label, "PRIVATE KEY"),
        other => panic!("{other:?}"),
    }
    // The message names the label, never the key's contents.
    let pem = String::from_utf8(read("rsa2048-key.pem")).unwrap();
    let body_line = pem.lines().nth(1).unwrap();
    assert!(!err.to_string().contains(body_line));
}

/// A private key with a blank line: the `pem` crate reads the lines before it as RFC 1421
/// headers and its error quotes one, which once put the key in the error's text.
#[test]
fn pem_errors_never_quote_the_file() {
    let key = String::from_utf8(read("rsa2048-key.pem")).unwrap();
    let mut lines: Vec<&str> = key.lines().collect();
    let body: Vec<String> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| l.to_string())
        .collect();
    lines.insert(4, "");
    let with_blank_line = lines.join("\n");
    let mismatched = key.replace("END PRIVATE KEY", "END CERTIFICATE");
    let broken = key.replacen(&body[2], &format!("{}*", &body[2][1..]), 1);
    let lowercase_label =
        "-----BEGIN c2VjcmV0LWtleS1ieXRlcw-----\nAAAA\n-----END c2VjcmV0LWtleS1ieXRlcw-----\n";
    for (name, pem) in [
        ("blank line", with_blank_line.as_str()),
        ("mismatched labels", mismatched.as_str()),
        ("broken base64", broken.as_str()),
        ("lower-case label", lowercase_label),
    ] {
        let err = load_err(pem.as_bytes());
        let text = format!("{err} {err:?}");
        for line in &body {
            assert!(!text.contains(&line[..16]), "{name}: {text}");
        }
        assert!(!text.contains("c2VjcmV0"), "{name}: {text}");
        assert!(
            matches!(
                err,
                Error::Malformed { what: "PEM", .. } | Error::UnexpectedPemLabel { .. }
            ),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn pem_with_broken_base64() {
    let pem = "-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        load_err(pem.as_bytes()),
        Error::Malformed { what: "PEM", .. }
    ));
}

#[test]
fn ec_certificate_is_not_rsa() {
    match load_err(&read("ec-p256-cert.pem")) {
        Error::UnsupportedAlgorithm { oid } => assert_eq!(oid, "1.2.840.10045.2.1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rsa_1024_is_too_small() {
    let err = load_err(&read("rsa1024-cert.pem"));
    assert!(
        matches!(
            err,
            Error::KeyTooSmall {
                bits: 1024,
                min: 2048
            }
        ),
        "{err:?}"
    );
}

#[test]
fn missing_file_names_the_path() {
    let err = EncryptionKey::from_file("/nonexistent/easypay.cer").unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/easypay.cer"));
}

#[test]
fn card_info_fields() {
    let key = load("rsa2048-spki.pem", card_encryption::Backend::RustCrypto);
    let pan = || {
        key.encrypt(&CardNumber::parse("4761530001111118").unwrap())
            .unwrap()
    };
    let field = |r: Result<CardInfo, Error>| match r {
        Err(Error::InvalidCardField { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(field(CardInfo::new(pan(), 13, 2028, "122")), "ExpMonth");
    assert_eq!(field(CardInfo::new(pan(), 0, 2028, "122")), "ExpMonth");
    assert_eq!(field(CardInfo::new(pan(), 10, 202, "122")), "ExpYear");
    assert_eq!(field(CardInfo::new(pan(), 10, 28, "122")), "ExpYear");
    assert_eq!(field(CardInfo::new(pan(), 10, 2028, "12345")), "CSV");
    assert_eq!(field(CardInfo::new(pan(), 10, 2028, "12")), "CSV");
    assert_eq!(field(CardInfo::new(pan(), 10, 2028, "12a")), "CSV");
    assert!(CardInfo::new(pan(), 12, 2028, "1234").is_ok());
}

#[test]
fn card_info_serialises_with_vendor_names() {
    let key = load("rsa2048-spki.pem", card_encryption::Backend::RustCrypto);
    let encrypted = key
        .encrypt(&CardNumber::parse("4761530001111118").unwrap())
        .unwrap();
    let info = CardInfo::new(encrypted.clone(), 10, 2028, "122").unwrap();
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "AccountNumber": encrypted.as_str(),
            "ExpMonth": 10,
            "ExpYear": 2028,
            "CSV": "122",
        })
    );
}
