//! The whole flow: place a call, wait for it, verify the code.

use std::time::Duration;

use numcheck_client::{CallStatus, Clock as _, Description, Error, Outcome};

use crate::support::{env, key, pending, phone};

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn init_wait_completed_and_the_right_code_verifies() {
    let env = env();
    let client = env.client();
    let description = Description::new("user 42 <alice@example.com>").unwrap();
    let call = client.init_call(&phone(), Some(&description)).unwrap();
    assert_eq!(call.id(), "33168");
    assert_eq!(call.caller_number(), "37166004953");
    assert_eq!(call.code(), "4953");
    let mut pending = pending(&env, &call);

    let mut seen = Vec::new();
    let status = client
        .wait_for_call(call.id(), 120 * SECOND, |s| seen.push(s))
        .unwrap();
    assert_eq!(status, CallStatus::Completed);
    // Answered 20 s after placing; polled at 0, 1, 3, 7, 12, 17 and 22 s.
    assert_eq!(
        seen,
        [
            [CallStatus::InProgress; 6].as_slice(),
            &[CallStatus::Completed]
        ]
        .concat()
    );
    assert_eq!(
        env.clock.sleeps(),
        [1, 2, 4, 5, 5, 5].map(|s| s * SECOND),
        "backoff doubling up to 5 s"
    );

    let outcome = pending.verify(" 4953 ", &key(), client.now()).unwrap();
    assert_eq!(outcome, Outcome::Verified);
    assert!(outcome.is_verified());
    assert_eq!(env.calls_placed(), 1);
}

#[test]
fn a_call_never_answered_ends_as_not_answered() {
    let env = env();
    env.sandbox.numcheck().set_never_answer(true);
    let client = env.client();
    let call = client.init_call(&phone(), None).unwrap();
    let mut last = None;
    let status = client
        .wait_for_call(call.id(), 300 * SECOND, |s| last = Some(s))
        .unwrap();
    assert_eq!(status, CallStatus::NotAnswered);
    assert_eq!(last, Some(CallStatus::NotAnswered));
    assert!(status.is_final());
    assert_eq!(
        client.call_status(call.id()).unwrap(),
        CallStatus::NotAnswered
    );
}

#[test]
fn waiting_past_the_deadline_is_a_deadline_error() {
    let env = env();
    let client = env.client();
    let call = client.init_call(&phone(), None).unwrap();
    let mut polls = 0;
    let err = client
        .wait_for_call(call.id(), 10 * SECOND, |_| polls += 1)
        .unwrap_err();
    assert_eq!(
        err,
        Error::WaitDeadline {
            waited: 10 * SECOND,
            last: CallStatus::InProgress
        }
    );
    assert!(err.is_retryable());
    // At 0, 1, 3 and 7 s, and a last one at the deadline.
    assert_eq!(polls, 5);
    // The call goes on: waiting again finds it completed.
    let status = client
        .wait_for_call(call.id(), 60 * SECOND, |_| {})
        .unwrap();
    assert_eq!(status, CallStatus::Completed);
}

#[test]
fn a_code_with_leading_zeros_survives_as_number_and_as_string() {
    for as_strings in [false, true] {
        let env = env();
        env.sandbox.numcheck().set_fields_as_strings(as_strings);
        env.sandbox.numcheck().set_next_caller("79990000042");
        let call = env.call();
        assert_eq!(call.caller_number(), "79990000042", "strings: {as_strings}");
        assert_eq!(call.code(), "0042", "strings: {as_strings}");
        let mut pending = pending(&env, &call);
        let err = pending.verify("42", &key(), env.clock.now()).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { field: "code", .. }));
        assert_eq!(
            pending.verify("0042", &key(), env.clock.now()).unwrap(),
            Outcome::Verified
        );
    }
}

#[test]
fn ids_and_statuses_as_strings() {
    let env = env();
    env.sandbox.numcheck().set_fields_as_strings(true);
    env.sandbox.numcheck().set_answer_after(Duration::ZERO);
    let client = env.client();
    let call = client.init_call(&phone(), None).unwrap();
    assert_eq!((call.id(), call.code()), ("33168", "4953"));
    assert_eq!(
        client.call_status(call.id()).unwrap(),
        CallStatus::Completed
    );
}

#[test]
fn the_language_segment_and_an_unknown_call() {
    let env = env();
    let client = env.builder().language("en").build().unwrap();
    let call = client.init_call(&phone(), None).unwrap();
    assert_eq!(
        client.call_status(call.id()).unwrap(),
        CallStatus::InProgress
    );
    let err = client.call_status("999999").unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Api { status: 404, error_code: Some(4), message: Some(m), .. } if m.contains("unknown")
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[test]
fn one_client_serves_many_threads() {
    let env = env();
    let client = env.client();
    let call = client.init_call(&phone(), None).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let client = client.clone();
            let id = call.id();
            scope.spawn(move || {
                assert_eq!(client.call_status(id).unwrap(), CallStatus::InProgress);
            });
        }
    });
    assert_eq!(env.calls_placed(), 1);
}
