//! `payauth numcheck call|status`, with the sandbox's clock moved over its control API.

use crate::{NUMCHECK_SECRET, Sandbox, eventually, finish};

const PHONE: &str = "37120000000";

#[test]
fn a_call_is_waited_for_and_its_code_verified() {
    let sandbox = Sandbox::start("numcheck");
    sandbox.control("/numcheck", Some(r#"{"next_caller": "37166000042"}"#));
    // A wrong code first, then the right one: both from stdin.
    let child = sandbox
        .payauth(&["numcheck", "call", "--phone", PHONE, "--yes", "--wait"])
        .env("PAYAUTH_NUMCHECK_SECRET", NUMCHECK_SECRET)
        .stdin("1111\n0042\n")
        .spawn();
    eventually("the call is placed", || {
        sandbox.counter("calls_placed") == 1
    });
    // The sandbox answers calls 20 s after they are placed, by its clock.
    sandbox.control("/clock/advance", Some(r#"{"seconds": 25}"#));
    let out = finish(child);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("verified"));
    assert!(out.stderr.contains("wrong code; 2 attempt(s) left"));
    assert!(out.stderr.contains("completed"));
    for secret in ["0042", "37166000042", NUMCHECK_SECRET] {
        assert!(!out.all().contains(secret), "{secret} shown: {out:?}");
    }
}

#[test]
fn a_call_not_answered_exits_7() {
    let sandbox = Sandbox::start("numcheck-unanswered");
    sandbox.control("/numcheck", Some(r#"{"never_answer": true}"#));
    let child = sandbox
        .payauth(&[
            "--json", "numcheck", "call", "--phone", PHONE, "--yes", "--wait",
        ])
        .env("PAYAUTH_NUMCHECK_SECRET", NUMCHECK_SECRET)
        .spawn();
    eventually("the call is placed", || {
        sandbox.counter("calls_placed") == 1
    });
    sandbox.control("/clock/advance", Some(r#"{"seconds": 61}"#));
    let out = finish(child);
    assert_eq!(out.code, 7, "{out:?}");
    let error: serde_json::Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(error["kind"], "not_verified");
    assert!(error["error"].as_str().unwrap().contains("not answered"));
}

#[test]
fn a_paid_call_needs_confirmation_and_a_right_secret() {
    let sandbox = Sandbox::start("numcheck-confirm");
    let declined = sandbox
        .payauth(&["numcheck", "call", "--phone", PHONE])
        .env("PAYAUTH_NUMCHECK_SECRET", NUMCHECK_SECRET)
        .stdin("n\n")
        .run();
    assert_eq!(declined.code, 9, "{declined:?}");
    assert_eq!(sandbox.counter("calls_placed"), 0);

    let wrong = sandbox
        .payauth(&["numcheck", "call", "--phone", PHONE, "--yes"])
        .env(
            "PAYAUTH_NUMCHECK_SECRET",
            "wrong-numcheck-secret-32-chars!!",
        )
        .run();
    assert_eq!(wrong.code, 5, "{wrong:?}");
    assert!(!wrong.all().contains("wrong-numcheck-secret-32-chars!!"));

    // Confirmed from stdin; without --wait it prints the call id, then `status` follows it.
    let placed = sandbox
        .payauth(&["--json", "numcheck", "call", "--phone", PHONE])
        .env("PAYAUTH_NUMCHECK_SECRET", NUMCHECK_SECRET)
        .stdin("y\n")
        .run();
    assert_eq!(placed.code, 0, "{placed:?}");
    let id = placed.json()["call_id"].as_str().unwrap().to_owned();
    let status = || {
        sandbox
            .payauth(&["--json", "numcheck", "status", "--call-id", &id])
            .env("PAYAUTH_NUMCHECK_SECRET", NUMCHECK_SECRET)
            .run()
    };
    assert_eq!(status().json()["status"], "in_progress");
    sandbox.control("/clock/advance", Some(r#"{"seconds": 21}"#));
    assert_eq!(status().json()["status"], "completed");
    let uat = sandbox
        .payauth(&["numcheck", "status", "--call-id", &id, "--env", "uat"])
        .env("PAYAUTH_SANDBOX", "")
        .run();
    assert_eq!(uat.code, 3, "{uat:?}");
}
