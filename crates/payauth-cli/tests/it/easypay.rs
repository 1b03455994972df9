//! `payauth easypay guard|session|header`.

use crate::{EASYPAY_ACCOUNT, EASYPAY_TOKEN, Run, Sandbox};

const WRONG_TOKEN: &str = "0000000000000000000000000000000A";

#[test]
fn the_guard_refuses_rejected_credentials_without_contacting_easypay() {
    let sandbox = Sandbox::start("guard");
    let guard = sandbox.dir.join("guard.json");
    let guard = guard.to_str().unwrap();
    let session = |token: &str| {
        sandbox
            .payauth(&["easypay", "session", "--account", EASYPAY_ACCOUNT])
            .env("PAYAUTH_EASYPAY_GUARD_FILE", guard)
            .env("PAYAUTH_EASYPAY_TOKEN", token)
            .run()
    };
    let status = || {
        Run::new(&["--json", "easypay", "guard", "status", "--file", guard])
            .run()
            .json()
    };
    assert_eq!(status()["exists"], false);

    let rejected = session(WRONG_TOKEN);
    assert_eq!(rejected.code, 5, "{rejected:?}");
    assert!(rejected.stderr.contains("EasyPay rejected the credentials"));
    assert_eq!(sandbox.counter("auth_failures"), 1);

    let refused = session(WRONG_TOKEN);
    assert_eq!(refused.code, 6, "{refused:?}");
    assert!(refused.stderr.contains("lockout guard"));
    assert_eq!(sandbox.counter("token_requests"), 1, "nothing was sent");
    for out in [&rejected, &refused] {
        assert!(!out.all().contains(WRONG_TOKEN));
    }

    let state = status();
    assert_eq!(state["rejected_credentials"], 1);
    assert_eq!(state["consecutive_failures"], 1);
    assert_eq!(state["refusing"], false);
    let words = Run::new(&["easypay", "guard", "status", "--file", guard]).run();
    assert!(
        words
            .stdout
            .contains("1 credential(s) remembered as rejected")
    );
    assert!(words.stdout.contains("last change"));

    // Reset asks first and says to confirm with EasyPay; "no" keeps the state.
    let declined = Run::new(&["easypay", "guard", "reset", "--file", guard])
        .stdin("n\n")
        .run();
    assert_eq!(declined.code, 9, "{declined:?}");
    assert!(
        declined
            .stderr
            .contains("confirm with EasyPay support first")
    );
    assert_eq!(status()["rejected_credentials"], 1);
    let confirmed = Run::new(&["easypay", "guard", "reset", "--file", guard])
        .stdin("y\n")
        .run();
    assert_eq!(confirmed.code, 0, "{confirmed:?}");
    assert_eq!(status()["rejected_credentials"], 0);

    let ok = session(EASYPAY_TOKEN);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.contains("authenticated"));
    assert!(ok.stdout.contains("session until"));
    assert!(!ok.all().contains(EASYPAY_TOKEN));
}

#[test]
fn the_guard_refuses_after_the_cap_and_reset_yes_clears_it() {
    let sandbox = Sandbox::start("guard-cap");
    let guard = sandbox.dir.join("guard.json");
    let guard = guard.to_str().unwrap();
    // Three different wrong tokens: three failures, the cap.
    for last in ['B', 'C', 'D'] {
        let token = format!("0000000000000000000000000000000{last}");
        let out = sandbox
            .payauth(&[
                "easypay",
                "session",
                "--account",
                EASYPAY_ACCOUNT,
                "--guard-file",
                guard,
            ])
            .env("PAYAUTH_EASYPAY_TOKEN", &token)
            .run();
        assert_eq!(out.code, 5, "{out:?}");
    }
    let refused = sandbox
        .payauth(&[
            "easypay",
            "session",
            "--account",
            EASYPAY_ACCOUNT,
            "--guard-file",
            guard,
        ])
        .env("PAYAUTH_EASYPAY_TOKEN", EASYPAY_TOKEN)
        .run();
    assert_eq!(refused.code, 6, "{refused:?}");
    assert!(refused.stderr.contains("guard reset"), "{refused:?}");
    let state = Run::new(&["easypay", "guard", "status", "--file", guard]).run();
    assert!(state.stdout.contains("REFUSING"), "{state:?}");
    let reset = Run::new(&["easypay", "guard", "reset", "--file", guard, "--yes"]).run();
    assert_eq!(reset.code, 0, "{reset:?}");
    let ok = sandbox
        .payauth(&[
            "easypay",
            "session",
            "--account",
            EASYPAY_ACCOUNT,
            "--guard-file",
            guard,
        ])
        .env("PAYAUTH_EASYPAY_TOKEN", EASYPAY_TOKEN)
        .run();
    assert_eq!(ok.code, 0, "{ok:?}");
}

#[test]
fn header_matches_the_vendor_vector_and_hides_the_session_key() {
    const KEY: &str = "9B9175EF556E4DDA93303132323141303035383339";
    const SECRET: &str = "7D55DBB3D691C9E0FDF341E4AB38C3C9";
    const HASH: &str = "1BD0C45A1DCBC7F9D0730FDD6222A45E10FCC7D9E84557499B812B138D0B7149";
    let run = |show: bool| {
        let mut args = vec![
            "--json",
            "easypay",
            "header",
            "--user-id",
            "123",
            "--epoch",
            "1702565789",
        ];
        if show {
            args.push("--show-token");
        }
        Run::new(&args)
            .env("PAYAUTH_EASYPAY_SESSION_KEY", KEY)
            .env("PAYAUTH_EASYPAY_HMAC_SECRET", SECRET)
            .run()
    };
    let hidden = run(false);
    assert_eq!(hidden.code, 0, "{hidden:?}");
    assert_eq!(hidden.json()["hmac_sha256"], HASH);
    assert!(!hidden.all().contains(KEY));
    assert!(!hidden.all().contains(SECRET));
    let shown = run(true);
    assert_eq!(
        shown.json()["header"],
        format!("{KEY}_1702565789_123_{HASH}")
    );
    assert!(!shown.all().contains(SECRET));
    // From prompts (stdin when it is not a terminal), in the order asked.
    let prompted = Run::new(&[
        "easypay",
        "header",
        "--user-id",
        "123",
        "--epoch",
        "1702565789",
    ])
    .stdin(&format!("{KEY}\n{SECRET}\n"))
    .run();
    assert_eq!(prompted.code, 0, "{prompted:?}");
    assert!(prompted.stdout.contains(HASH));
    assert!(!prompted.all().contains(KEY));
    assert!(!prompted.all().contains(SECRET));
    let missing = Run::new(&["easypay", "header", "--user-id", "123"]).run();
    assert_eq!(missing.code, 3);
    assert!(
        missing.stderr.contains("PAYAUTH_EASYPAY_SESSION_KEY"),
        "{missing:?}"
    );
}
