//! `payauth payroc session`.

use crate::{PAYROC_KEY, Sandbox};

#[test]
fn creates_a_session_and_prints_expiry_and_idempotency_key() {
    let sandbox = Sandbox::start("payroc");
    let out = sandbox
        .payauth(&["--json", "payroc", "session", "--terminal", "1234001"])
        .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let value = out.json();
    assert_eq!(value["status"], "created");
    assert_eq!(value["terminal"], "1234001");
    let key = value["idempotency_key"].as_str().unwrap();
    assert_eq!(key.len(), 36);
    assert_eq!(&key[14..15], "4", "a UUID v4");
    let expires_in = value["expires_in"].as_i64().unwrap();
    assert!((590..=600).contains(&expires_in), "{expires_in}");
    // RFC 3339 in UTC to the second, whatever offset Payroc wrote: 2026-12-03T12:00:00Z.
    let expires_at = value["expires_at"].as_str().unwrap();
    let shape: String = expires_at
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:ddZ", "{expires_at}");
    assert!(value.get("session_token").is_none());
    assert!(!out.all().contains(PAYROC_KEY));
    assert_eq!(sandbox.counter("sessions_created"), 1);

    let human = sandbox
        .payauth(&[
            "payroc",
            "session",
            "--terminal",
            "1234001",
            "--tokenization",
            "--show-token",
        ])
        .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
        .run();
    assert_eq!(human.code, 0, "{human:?}");
    assert!(human.stdout.contains("idempotency key"));
    assert!(human.stdout.contains("tokenization"));
    assert!(human.stdout.contains("session token"));
    assert!(!human.stdout.contains("hidden"));
}

#[test]
fn a_wrong_api_key_exits_5() {
    let sandbox = Sandbox::start("payroc-wrong");
    let out = sandbox
        .payauth(&["payroc", "session", "--terminal", "1234001"])
        .env("PAYAUTH_PAYROC_API_KEY", "wrong-payroc-api-key-0000")
        .run();
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stderr.contains("401"));
    assert!(out.stderr.contains("hint: check PAYAUTH_PAYROC_API_KEY"));
    assert!(!out.all().contains("wrong-payroc-api-key-0000"));
    assert_eq!(sandbox.counter("sessions_created"), 0);
}

#[test]
fn verbose_prints_the_events_and_caps_the_http_stack() {
    let sandbox = Sandbox::start("payroc-verbose");
    let args = ["payroc", "session", "--terminal", "1234001", "--show-token"];
    let quiet = sandbox
        .payauth(&args)
        .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
        .run();
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert!(!quiet.stderr.contains("payroc_hostedfields]"), "{quiet:?}");

    let loud = sandbox
        .payauth(&["-vvv", "payroc", "session", "--terminal", "1234001"])
        .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
        .run();
    assert_eq!(loud.code, 0, "{loud:?}");
    assert!(
        loud.stderr
            .contains("[INFO  payroc_hostedfields] bearer token fetched: expires "),
        "{loud:?}"
    );
    // ureq's redacted DEBUG summaries arrive; its raw TRACE dumps never do.
    assert!(loud.stderr.contains("[DEBUG ureq"), "{loud:?}");
    assert!(!loud.stderr.contains("[TRACE ureq"), "{loud:?}");
    assert!(!loud.stderr.contains("[TRACE rustls"), "{loud:?}");
    assert!(!loud.all().contains(PAYROC_KEY), "{loud:?}");

    let from_variable = sandbox
        .payauth(&args)
        .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
        .env("PAYAUTH_LOG", "info")
        .run();
    assert_eq!(from_variable.code, 0, "{from_variable:?}");
    assert!(
        from_variable.stderr.contains("bearer token fetched"),
        "{from_variable:?}"
    );
    assert!(
        !from_variable.stderr.contains("[DEBUG"),
        "{from_variable:?}"
    );
    // The session token printed on stdout (--show-token) is in no log line.
    let token_line = from_variable
        .stdout
        .lines()
        .find(|line| line.contains("session token"))
        .expect("the token is shown");
    let token = token_line.split_whitespace().last().unwrap();
    assert!(!from_variable.stderr.contains(token), "{from_variable:?}");

    let bad = sandbox
        .payauth(&args)
        .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
        .env("PAYAUTH_LOG", "loud")
        .run();
    assert_eq!(bad.code, 3, "{bad:?}");
    assert!(bad.stderr.contains("PAYAUTH_LOG"), "{bad:?}");
}
