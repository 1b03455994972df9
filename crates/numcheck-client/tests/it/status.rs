//! `get-call-info` is read-only: transient failures are retried.

use std::time::Duration;

use numcheck_client::{CallStatus, Error, RetryPolicy, TransportKind};
use payauth_sandbox::Fault;

use crate::support::env;

const INFO: &str = "/ru/get-call-info";

#[test]
fn survives_a_reset_and_a_503() {
    let env = env();
    let call = env.call();
    env.sandbox.inject(INFO, Fault::Reset);
    env.sandbox.inject(INFO, Fault::HtmlError(503));
    let before = env.requests();
    let status = env.client().call_status(call.id()).unwrap();
    assert_eq!(status, CallStatus::InProgress);
    assert_eq!(env.requests() - before, 3);
    assert_eq!(env.clock.sleeps().len(), 2);
}

#[test]
fn a_429_waits_for_retry_after() {
    let env = env();
    let call = env.call();
    env.sandbox.inject(
        INFO,
        Fault::TooManyRequests {
            retry_after: "3".into(),
        },
    );
    env.client().call_status(call.id()).unwrap();
    assert_eq!(env.clock.sleeps(), [Duration::from_secs(3)]);
}

#[test]
fn without_retries_the_failures_are_typed() {
    let env = env();
    let call = env.call();
    let client = env.builder().retry(RetryPolicy::never()).build().unwrap();

    env.sandbox.inject(INFO, Fault::Reset);
    let err = client.call_status(call.id()).unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::ConnectionLost),
        "{err:?}"
    );
    assert!(err.is_retryable());

    env.sandbox.inject(INFO, Fault::HtmlError(502));
    let err = client.call_status(call.id()).unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedStatus { status: 502, excerpt } if excerpt.contains("Bad Gateway") && excerpt.len() <= 400),
        "{err:?}"
    );

    env.sandbox.inject(INFO, Fault::OversizedBody(2 << 20));
    let err = client.call_status(call.id()).unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::BodyTooLarge),
        "{err:?}"
    );

    env.sandbox.inject(INFO, Fault::MalformedJson);
    let err = client.call_status(call.id()).unwrap_err();
    assert!(
        matches!(err, Error::InvalidResponse { status: 200, .. }),
        "{err:?}"
    );
    assert_eq!(
        client.call_status(call.id()).unwrap(),
        CallStatus::InProgress
    );
}

#[test]
fn a_failure_while_waiting_ends_the_wait() {
    let env = env();
    let call = env.call();
    let client = env.builder().retry(RetryPolicy::never()).build().unwrap();
    env.sandbox.inject_times(INFO, Fault::HtmlError(500), 1);
    let err = client
        .wait_for_call(call.id(), Duration::from_secs(60), |_| {})
        .unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedStatus { status: 500, .. }),
        "{err:?}"
    );
}

#[test]
fn a_malformed_call_id_is_refused_before_sending() {
    let env = env();
    let client = env.client();
    for id in ["", "has space", &"9".repeat(65)] {
        let err = client.call_status(id).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: "call id",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert_eq!(env.requests(), 0);
}
