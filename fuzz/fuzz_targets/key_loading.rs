//! Key and certificate loading (DER, PEM, chains, private keys handed over by mistake): never a
//! panic, and no error quotes a line of key material.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// A line that looks like Base64 key material: 16+ characters of the alphabet, with upper-case,
/// lower-case and digits (no fixed message text has that shape).
fn key_material(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 16
        && line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        && line.bytes().any(|b| b.is_ascii_uppercase())
        && line.bytes().any(|b| b.is_ascii_lowercase())
        && line.bytes().any(|b| b.is_ascii_digit())
}

fuzz_target!(|data: &[u8]| {
    let Err(err) = card_encryption::KeyLoader::new().load_bytes(data) else {
        return;
    };
    let text = format!("{err} {err:?}");
    for line in String::from_utf8_lossy(data).lines() {
        if key_material(line) {
            let window = &line.trim()[..16];
            assert!(!text.contains(window), "error quotes {window:?}: {text}");
        }
    }
});
