//! `payauth card inspect|encrypt`.

use payauth_sandbox::CardKey;

use crate::{Run, Sandbox, vendor_certificate};

const PAN: &str = "4111111111111111";

#[test]
fn inspect_reports_the_certificate_facts_in_pem_and_der() {
    let sandbox = Sandbox::start("inspect");
    let key = CardKey::bundled().unwrap();
    for file in ["easypay-card-cert.pem", "easypay-card-cert.der"] {
        let path = sandbox.dir.join(file);
        let human = Run::new(&["card", "inspect", path.to_str().unwrap()]).run();
        assert_eq!(human.code, 0, "{human:?}");
        assert!(human.stdout.contains("CN=payauth-sandbox easypay card key"));
        assert!(human.stdout.contains(key.thumbprint()));
        assert!(human.stdout.contains("RSA 4096 bits"));
        assert!(human.stdout.contains("512 bytes (684 Base64 characters)"));
        let json = Run::new(&["--json", "card", "inspect", path.to_str().unwrap()]).run();
        let value = json.json();
        assert_eq!(value["status"], "valid");
        assert_eq!(value["thumbprint"], key.thumbprint());
        assert_eq!(value["key_bits"], 4096);
        assert_eq!(value["ciphertext_bytes"], 512);
        assert_eq!(value["not_after"], "2126-10-30T01:39:55Z");
        assert!(value["days_left"].as_i64().unwrap() > 30_000);
    }
}

#[test]
fn inspect_exits_4_for_an_expired_certificate_and_warns_before() {
    let cert = vendor_certificate();
    let cert = cert.to_str().unwrap();
    // The vendor's 2025 certificate ended on 2026-02-08T23:59:59Z.
    let expired = Run::new(&["card", "inspect", "--at", "2026-03-01T00:00:00Z", cert]).run();
    assert_eq!(expired.code, 4, "{expired:?}");
    assert!(expired.stdout.contains("CN=mobile.easypay5.com"));
    assert!(expired.stderr.contains("expired on 2026-02-08T23:59:59Z"));
    let json = Run::new(&[
        "--json",
        "card",
        "inspect",
        "--at",
        "2026-03-01T00:00:00Z",
        cert,
    ])
    .run();
    assert_eq!(json.code, 4);
    assert_eq!(json.json()["status"], "expired");
    let error: serde_json::Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(error["kind"], "expired");
    assert_eq!(error["exit_code"], 4);

    let soon = Run::new(&["card", "inspect", "--at", "2026-01-20T00:00:00Z", cert]).run();
    assert_eq!(soon.code, 0, "{soon:?}");
    assert!(soon.stdout.contains("19 (expiring)"), "{soon:?}");
    assert!(
        soon.stderr
            .contains("warning: the certificate expires in 19 days")
    );
    let fine = Run::new(&["card", "inspect", "--at", "2025-06-01T00:00:00Z", cert]).run();
    assert_eq!((fine.code, fine.stderr.as_str()), (0, ""));
    let early = Run::new(&["card", "inspect", "--at", "2024-06-01T00:00:00Z", cert]).run();
    assert_eq!(early.code, 4);
    assert!(early.stderr.contains("not valid before"));
}

#[test]
fn inspect_bad_input_exits_3() {
    let missing = Run::new(&["card", "inspect", "/nonexistent/cert.pem"]).run();
    assert_eq!(missing.code, 3);
    assert!(missing.stderr.contains("hint: check the path"));
    let bad_time = Run::new(&["card", "inspect", "--at", "tomorrow", "/x"]).run();
    assert_eq!(bad_time.code, 3);
}

#[test]
fn encrypt_reads_the_card_from_stdin_and_the_sandbox_decrypts_it() {
    let sandbox = Sandbox::start("encrypt");
    let key = CardKey::bundled().unwrap();
    let cert = sandbox.dir.join("easypay-card-cert.pem");
    let cert = cert.to_str().unwrap();
    for thumbprint in [false, true] {
        let mut args = vec!["card", "encrypt", "--cert", cert];
        if thumbprint {
            args.push("--thumbprint");
        }
        let out = Run::new(&args).stdin(&format!("{PAN}\n")).run();
        assert_eq!(out.code, 0, "{out:?}");
        let value = out.stdout.trim();
        assert_eq!(value.ends_with(key.thumbprint()), thumbprint);
        assert_eq!(
            key.decrypt_account_number(value).unwrap().as_str(),
            PAN,
            "the gateway side reads the card back"
        );
        assert!(!out.all().contains(PAN));
    }
    let json = Run::new(&["--json", "card", "encrypt", "--cert", cert])
        .stdin("4111 1111 1111 1111\n")
        .run();
    let value = json.json();
    assert_eq!(value["last4"], "1111");
    assert_eq!(value["brand"], "Visa");
    assert_eq!(
        key.decrypt_account_number(value["encrypted"].as_str().unwrap())
            .unwrap()
            .as_str(),
        PAN
    );
}

#[test]
fn encrypt_never_takes_the_card_as_an_argument_and_refuses_bad_input() {
    let sandbox = Sandbox::start("encrypt-bad");
    let cert = sandbox.dir.join("easypay-card-cert.der");
    let cert = cert.to_str().unwrap();
    let argument = Run::new(&["card", "encrypt", "--cert", cert, PAN]).run();
    assert_eq!(argument.code, 2, "{argument:?}");
    let luhn = Run::new(&["card", "encrypt", "--cert", cert])
        .stdin("4111111111111112\n")
        .run();
    assert_eq!(luhn.code, 3, "{luhn:?}");
    assert!(!luhn.all().contains("4111111111111112"));
    let nothing = Run::new(&["card", "encrypt", "--cert", cert]).run();
    assert_eq!(nothing.code, 3);
    assert!(nothing.stderr.contains("card number"));
}

#[test]
fn encrypt_with_an_expired_certificate_needs_allow_expired_and_warns() {
    let cert = vendor_certificate();
    let cert = cert.to_str().unwrap();
    let refused = Run::new(&["card", "encrypt", "--cert", cert])
        .stdin(&format!("{PAN}\n"))
        .run();
    assert_eq!(refused.code, 4, "{refused:?}");
    assert!(refused.stderr.contains("--allow-expired"));
    assert!(refused.stdout.is_empty());
    let forced = Run::new(&["card", "encrypt", "--cert", cert, "--allow-expired"])
        .stdin(&format!("{PAN}\n"))
        .run();
    assert_eq!(forced.code, 0, "{forced:?}");
    assert!(forced.stderr.contains("OUTSIDE ITS VALIDITY WINDOW"));
    assert_eq!(forced.stdout.trim().len(), 684);
    assert!(!forced.all().contains(PAN));
}
