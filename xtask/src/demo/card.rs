//! card-encryption: the vendor test cards encrypted for the sandbox's EasyPay gateway.

use std::time::SystemTime;

use card_encryption::{CardInfo, CardNumber, EncryptionKey, Error, KeyLoader};
use payauth_sandbox::CardKey;

use super::DemoResult;
use crate::process::root;

/// The vendor's published test cards (public test numbers, not real cards).
const TEST_CARDS: [&str; 4] = [
    "4761 5300 0111 1118",
    "5137 2211 1111 6668",
    "6011 2087 0111 7775",
    "3710 300891 11338",
];

pub(super) fn run() -> DemoResult {
    println!("== card-encryption: card numbers encrypted for the sandbox's EasyPay gateway");
    let gateway = CardKey::bundled()?;
    let key = EncryptionKey::from_bytes(gateway.certificate_der())?;
    let cert = key
        .certificate()
        .ok_or("the sandbox certificate loaded without its facts")?;
    println!(
        "   certificate: CN={}, RSA-{}, thumbprint {}, {} days of validity left",
        cert.subject_common_name().unwrap_or("-"),
        key.bits(),
        cert.thumbprint(),
        cert.remaining_at(SystemTime::now()).as_secs() / 86_400,
    );
    println!(
        "   {:<17} {:<9} {:>10} {:>8}  round trip",
        "brand", "card", "ciphertext", "Base64"
    );
    for input in TEST_CARDS {
        let pan = CardNumber::parse(input)?;
        let encrypted = key.encrypt(&pan)?;
        let decrypted = gateway.decrypt_account_number(encrypted.as_str())?;
        if decrypted.as_str() != input.replace(' ', "") {
            return Err(format!("{pan} did not decrypt to itself").into());
        }
        println!(
            "   {:<17} {:<9} {:>7} B {:>8}  decrypted by the sandbox to {pan}",
            pan.brand().name(),
            pan.to_string(),
            encrypted.ciphertext_len(),
            encrypted.as_str().len(),
        );
    }

    let pan = CardNumber::parse(TEST_CARDS[0])?;
    let suffixed = key.encrypt_with_thumbprint(&pan)?;
    gateway.decrypt_account_number(suffixed.as_str())?;
    let card = CardInfo::new(suffixed, 10, 2028, "122")?;
    println!(
        "   mobile-SDK form: base64|thumbprint, {} chars, accepted by the sandbox; {card:?}",
        card.account_number().as_str().len()
    );

    // The vendor's real certificate expired on 2026-02-08: refused unless explicitly allowed.
    let real = root().join("crates/card-encryption/tests/data/easypay-mobile-2025.cer");
    match KeyLoader::new().load_file(&real) {
        Err(e @ Error::CertificateExpired { .. }) => {
            println!("   vendor's 2025 certificate: refused: {e}")
        }
        Err(e) => return Err(e.into()),
        Ok(_) => return Err("the expired vendor certificate was accepted".into()),
    }
    Ok(())
}
