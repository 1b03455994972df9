//! Failures that may be retried are, with the same idempotency key, so the sandbox creates
//! exactly one session; those that may not are returned at once.

use std::time::Duration;

use payauth_sandbox::Fault;
use payroc_hostedfields::{Error, RetryPolicy, TransportKind};

use crate::support::{env, payment};

#[test]
fn a_503_then_success_creates_one_session() {
    let env = env();
    let client = env.client();
    env.sandbox
        .inject(&env.sessions_path(), Fault::HtmlError(503));
    let session = client.create_session(&payment()).unwrap();
    assert_eq!(env.sessions_created(), 1);
    assert_eq!(env.sandbox.payroc().session_attempts().len(), 1);
    assert_eq!(env.clock.sleeps().len(), 1, "one back-off");
    assert!(!session.token().secret().is_empty());
}

#[test]
fn processed_then_dropped_is_retried_and_answered_by_replay() {
    let env = env();
    let client = env.client();
    // The server creates the session, then the connection dies before the answer.
    env.sandbox
        .inject(&env.sessions_path(), Fault::ProcessThenDrop);

    let session = client.create_session(&payment()).unwrap();

    assert_eq!(env.sessions_created(), 1, "exactly one session");
    let key = session.idempotency_key().to_string();
    let attempts = env.sandbox.payroc().session_attempts();
    assert_eq!(attempts.len(), 2);
    for attempt in &attempts {
        assert_eq!(attempt.idempotency_key.as_deref(), Some(key.as_str()));
        assert_eq!(attempt.status, 201);
    }
}

#[test]
fn a_reset_connection_is_retried() {
    let env = env();
    let client = env.client();
    env.sandbox.inject(&env.sessions_path(), Fault::Reset);
    client.create_session(&payment()).unwrap();
    assert_eq!(env.sessions_created(), 1);
}

#[test]
fn a_timeout_after_the_server_acted_is_retried_with_the_same_key() {
    let env = env();
    let client = env
        .builder()
        .http(payauth_sandbox::Sandbox::http_settings().timeout(Duration::from_millis(200)))
        .build()
        .unwrap();
    client.bearer().unwrap();
    env.sandbox.inject(
        &env.sessions_path(),
        Fault::ProcessThenDelay(Duration::from_millis(1000)),
    );
    let session = client.create_session(&payment()).unwrap();
    assert_eq!(env.sessions_created(), 1);
    let attempts = env.sandbox.payroc().session_attempts();
    assert_eq!(attempts.len(), 2);
    assert!(
        attempts
            .iter()
            .all(|a| a.idempotency_key == Some(session.idempotency_key().to_string()))
    );
}

#[test]
fn retry_after_of_a_429_is_honoured() {
    let env = env();
    let client = env.client();
    env.sandbox.inject(
        &env.sessions_path(),
        Fault::TooManyRequests {
            retry_after: "7".into(),
        },
    );
    client.create_session(&payment()).unwrap();
    assert_eq!(env.clock.sleeps(), [Duration::from_secs(7)]);
    assert_eq!(env.sessions_created(), 1);
}

#[test]
fn retries_are_bounded() {
    let env = env();
    let client = env
        .builder()
        .retry(RetryPolicy::default().max_attempts(3))
        .build()
        .unwrap();
    client.bearer().unwrap();
    let before = env.sandbox.counters().requests;
    env.sandbox
        .inject_times(&env.sessions_path(), Fault::HtmlError(503), 10);
    let err = client.create_session(&payment()).unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 503, excerpt, .. } if excerpt.contains("503")),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(env.sandbox.counters().requests - before, 3);
    assert_eq!(env.clock.sleeps().len(), 2);
}

#[test]
fn the_token_request_is_retried_too() {
    let env = env();
    let client = env.client();
    env.sandbox.inject("/authorize", Fault::HtmlError(502));
    env.sandbox.inject("/authorize", Fault::Reset);
    client.create_session(&payment()).unwrap();
    assert_eq!(env.authorize_calls(), 3);
    assert_eq!(env.sandbox.counters().auth_successes, 1);
}

#[test]
fn with_retries_off_a_dropped_connection_is_reported() {
    let env = env();
    let client = env.builder().retry(RetryPolicy::never()).build().unwrap();
    env.sandbox
        .inject(&env.sessions_path(), Fault::ProcessThenDrop);
    let err = client.create_session(&payment()).unwrap_err();
    match &err {
        Error::Transport(t) => assert_eq!(t.kind(), TransportKind::ConnectionLost),
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
}
