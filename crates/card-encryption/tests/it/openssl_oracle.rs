//! OpenSSL, an implementation we did not write, decrypts what we encrypt.

use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use card_encryption::CardNumber;

use crate::support::*;

fn openssl_decrypt(bits: usize, ciphertext: &[u8]) -> String {
    let key = data(&format!("rsa{bits}-key.pem"));
    let mut child = Command::new("openssl")
        .args(["pkeyutl", "-decrypt", "-inkey"])
        .arg(&key)
        .args([
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_md:sha1",
            "-pkeyopt",
            "rsa_mgf1_md:sha1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        // Never skipped: a missing oracle would turn this test into one that cannot fail.
        .expect("the `openssl` command is required for this test (apt-get install openssl)");
    child.stdin.take().unwrap().write_all(ciphertext).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn openssl_decrypts_our_ciphertext_on_every_backend() {
    for (bits, cert) in [(2048, "rsa2048-cert.der"), (4096, "rsa4096-cert.pem")] {
        for backend in backends() {
            let key = load(cert, backend);
            for (_, pan, _) in vendor_test_cards() {
                let encrypted = key.encrypt(&CardNumber::parse(&pan).unwrap()).unwrap();
                let ciphertext = STANDARD.decode(encrypted.as_str()).unwrap();
                assert_eq!(
                    openssl_decrypt(bits, &ciphertext),
                    pan,
                    "{backend} rsa{bits}"
                );
            }
        }
    }
}

#[test]
fn openssl_agrees_on_the_thumbprint() {
    let output = Command::new("openssl")
        .args([
            "x509",
            "-inform",
            "DER",
            "-noout",
            "-fingerprint",
            "-sha1",
            "-in",
        ])
        .arg(data(VENDOR_CERT))
        .output()
        .expect("the `openssl` command is required for this test (apt-get install openssl)");
    let text = String::from_utf8(output.stdout).unwrap();
    let theirs = text
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(theirs, VENDOR_THUMBPRINT);
}
