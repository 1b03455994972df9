//! `init-call` places a paid call: it is retried only when NumCheck provably did not act.

use std::net::TcpListener;
use std::time::Duration;

use numcheck_client::{Client, Error, ServiceSecret, TransportKind};
use payauth_sandbox::{DEFAULT_NUMCHECK_SECRET, Fault, Sandbox};

use crate::support::{env, phone};

const INIT: &str = "/ru/init-call";

fn cause(err: Error) -> Error {
    match err {
        Error::CallMayHaveBeenPlaced { cause } => *cause,
        other => panic!("expected CallMayHaveBeenPlaced, got {other:?}"),
    }
}

#[test]
fn a_timeout_after_the_server_placed_the_call_is_not_retried() {
    let env = env();
    // The sandbox places the call, then answers after the client has given up.
    env.sandbox
        .inject(INIT, Fault::ProcessThenDelay(Duration::from_millis(1500)));
    let client = env
        .builder()
        .http(Sandbox::http_settings().timeout(Duration::from_millis(200)))
        .build()
        .unwrap();
    let err = client.init_call(&phone(), None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("may have placed a paid call"), "{text}");
    assert!(text.contains("do not repeat"), "{text}");
    assert!(!err.is_retryable());
    assert!(matches!(cause(err), Error::Transport(t) if t.kind() == TransportKind::Timeout),);
    assert_eq!(env.calls_placed(), 1, "exactly one call, never a second");
    assert_eq!(env.requests(), 1);
    assert!(env.clock.sleeps().is_empty(), "no retry was even scheduled");
}

#[test]
fn a_connection_dropped_after_processing_is_not_retried() {
    let env = env();
    env.sandbox.inject(INIT, Fault::ProcessThenDrop);
    let err = env.client().init_call(&phone(), None).unwrap_err();
    assert!(matches!(cause(err), Error::Transport(t) if t.may_have_reached_server()),);
    assert_eq!(env.calls_placed(), 1);
    assert_eq!(env.requests(), 1);
}

#[test]
fn a_5xx_is_not_retried_and_may_have_placed_the_call() {
    let env = env();
    env.sandbox.inject(INIT, Fault::HtmlError(503));
    let err = env.client().init_call(&phone(), None).unwrap_err();
    assert!(
        matches!(cause(err), Error::UnexpectedStatus { status: 503, excerpt } if excerpt.contains("503")),
    );
    assert_eq!(env.requests(), 1);
    assert_eq!(
        env.calls_placed(),
        0,
        "this proxy happened not to forward it"
    );
}

#[test]
fn a_reset_before_processing_still_counts_as_maybe_placed() {
    // The client cannot tell a reset before processing from one after: it must not retry.
    let env = env();
    env.sandbox.inject(INIT, Fault::Reset);
    let err = env.client().init_call(&phone(), None).unwrap_err();
    assert!(
        matches!(err, Error::CallMayHaveBeenPlaced { .. }),
        "{err:?}"
    );
    assert_eq!(env.requests(), 1);
}

#[test]
fn a_429_is_refused_unprocessed_so_it_is_retried() {
    let env = env();
    env.sandbox.inject(
        INIT,
        Fault::TooManyRequests {
            retry_after: "2".into(),
        },
    );
    let call = env.client().init_call(&phone(), None).unwrap();
    assert_eq!(call.code(), "4953");
    assert_eq!(env.requests(), 2);
    assert_eq!(env.calls_placed(), 1);
    assert_eq!(env.clock.sleeps(), [Duration::from_secs(2)]);
}

#[test]
fn a_connection_refused_sent_nothing_so_it_is_retried() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = env();
    let client = Client::builder(ServiceSecret::new(DEFAULT_NUMCHECK_SECRET).unwrap())
        .base_url(url)
        .clock(env.clock.shared())
        .build()
        .unwrap();
    let err = client.init_call(&phone(), None).unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::Connect),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(env.clock.sleeps().len(), 2, "three attempts");
}

#[test]
fn a_wrong_secret_is_unauthorized_and_places_nothing() {
    let env = env();
    let client = Client::builder(ServiceSecret::new("x".repeat(32)).unwrap())
        .base_url(env.sandbox.url())
        .clock(env.clock.shared())
        .build()
        .unwrap();
    let err = client.init_call(&phone(), None).unwrap_err();
    assert_eq!(err, Error::Unauthorized { status: 401 });
    assert!(!err.is_retryable());
    assert_eq!(client.call_status("33168").unwrap_err(), err);
    assert_eq!(env.calls_placed(), 0);
}

#[test]
fn a_body_that_does_not_parse_is_typed() {
    // (A code that is not the caller's last 4 digits is checked in the unit tests: the sandbox
    // never sends one.)
    let env = env();
    env.sandbox.inject(INIT, Fault::MalformedJson);
    let err = env.client().init_call(&phone(), None).unwrap_err();
    assert!(
        matches!(err, Error::InvalidResponse { status: 200, .. }),
        "{err:?}"
    );
}
