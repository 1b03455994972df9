//! No token, session key, HMAC secret or card number in any Debug, Display or error output.

use hmac_sessionkey::{Clock as _, Credentials, Error, HmacSecret, SignerId};
use payauth_sandbox::{DEFAULT_EASYPAY_ACCOUNT, PCI_EASYPAY_SIGNER};

use crate::support::{WRONG_TOKEN, encrypted_card, env};

/// Any run of 42 hex characters would be a session key.
fn has_session_key(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 42 {
            return true;
        }
    }
    false
}

#[test]
fn debug_and_errors_hide_every_secret() {
    let env = env();
    let client = env.pci_client();
    let session = client.session().unwrap();
    let credentials =
        Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, DEFAULT_EASYPAY_ACCOUNT.1).unwrap();
    let card = encrypted_card("4761530001111118", false);
    let rejected = env
        .builder_for((DEFAULT_EASYPAY_ACCOUNT.0, WRONG_TOKEN))
        .build()
        .unwrap()
        .session()
        .unwrap_err();
    let guarded = env
        .builder_for((DEFAULT_EASYPAY_ACCOUNT.0, WRONG_TOKEN))
        .build()
        .unwrap();
    let _ = guarded.session();
    let guarded_err = guarded.session().unwrap_err();
    let outputs = [
        format!("{client:?}"),
        format!("{session:?}"),
        format!("{credentials:?}"),
        format!("{card:?}"),
        format!("{:?}", HmacSecret::new(PCI_EASYPAY_SIGNER.0).unwrap()),
        format!("{:?}", SignerId::new("2547").unwrap()),
        format!("{rejected} {rejected:?}"),
        format!("{guarded_err} {guarded_err:?}"),
        format!("{:?}", client.lockout_guard().state().unwrap()),
    ];
    for output in &outputs {
        for secret in [
            DEFAULT_EASYPAY_ACCOUNT.1,
            WRONG_TOKEN,
            PCI_EASYPAY_SIGNER.0,
            "4761530001111118",
            "122\"",
        ] {
            assert!(!output.contains(secret), "{secret} in {output}");
        }
        assert!(!has_session_key(output), "session key in {output}");
    }
    assert!(matches!(rejected, Error::CredentialsRejected { .. }));
}

#[test]
fn debug_shows_instants_in_rfc3339_and_no_session_key() {
    let env = env();
    let session = env.pci_client().session().unwrap();
    // The sandbox's clock starts at 2026-01-01T00:00:00Z; sessions last 25 h, and it writes the
    // user's expiration two years ahead in the zone -0500.
    let user = session.user().unwrap();
    assert_eq!(
        user.expiration_date,
        Some(env.clock.now() + std::time::Duration::from_secs(730 * 86_400))
    );
    let debug = format!("{session:?}");
    assert!(
        debug.contains("expires_at: 2026-01-02T01:00:00Z"),
        "{debug}"
    );
    assert!(
        debug.contains("expiration_date: Some(2028-01-01T00:00:00Z)"),
        "{debug}"
    );
    assert!(!debug.contains("tv_sec"), "{debug}");
    assert!(!has_session_key(&debug), "session key in {debug}");
}
