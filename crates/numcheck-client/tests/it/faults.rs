//! Hostile-network faults: when the request may have reached NumCheck, what server text an error
//! keeps, and how `Retry-After` is obeyed.

use std::time::Duration;

use numcheck_client::{Client, Error, ManualClock, ServiceSecret};
use payauth_sandbox::{DEFAULT_NUMCHECK_SECRET, Fault, Sandbox};

use crate::support::{USER_PHONE_DIGITS, env, phone};

const INIT: &str = "/ru/init-call";
const STATUS: &str = "/ru/get-call-info";

/// Everything an error shows: its chain of messages and its `Debug` (which holds its causes).
fn all_text(err: &Error) -> String {
    format!("{} {err:?}", payauth_core::ErrorChain(err))
}

#[test]
fn a_tls_failure_after_the_request_was_written_may_have_placed_the_call() {
    for fault in [Fault::TlsGarbage, Fault::TlsFatalAlert] {
        let clock = ManualClock::fixed();
        let sandbox = Sandbox::builder()
            .clock(clock.shared())
            .tls()
            .start()
            .unwrap();
        sandbox.inject_times(INIT, fault.clone(), 3);
        let client = Client::builder(ServiceSecret::new(DEFAULT_NUMCHECK_SECRET).unwrap())
            .base_url(sandbox.url())
            .http(Sandbox::http_settings())
            .clock(clock.shared())
            .build()
            .unwrap();
        let err = client.init_call(&phone(), None).unwrap_err();
        let Error::CallMayHaveBeenPlaced { cause } = &err else {
            panic!("{fault:?}: expected CallMayHaveBeenPlaced, got {err:?}");
        };
        assert!(
            matches!(&**cause, Error::Transport(t) if t.may_have_reached_server()),
            "{fault:?}: {cause:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(sandbox.counters().calls_placed, 1, "{fault:?}");
        let sent = sandbox.arrivals().iter().filter(|a| a.path == INIT).count();
        assert_eq!(sent, 1, "{fault:?}: init-call was sent again");
    }
}

#[test]
fn an_echoed_request_leaves_no_secret_or_phone_in_the_error() {
    for fault in [
        Fault::EchoJson(400),
        Fault::EchoJson(500),
        Fault::EchoHtml(502),
    ] {
        let env = env();
        env.sandbox.inject_times(INIT, fault.clone(), 3);
        let err = env.client().init_call(&phone(), None).unwrap_err();
        let text = all_text(&err);
        assert!(
            text.contains("[redacted]"),
            "{fault:?}: the echo was not kept: {text}"
        );
        for secret in [DEFAULT_NUMCHECK_SECRET, USER_PHONE_DIGITS] {
            assert!(!text.contains(&secret[..8]), "{fault:?}: {text}");
        }
    }
}

#[test]
fn a_retry_after_past_the_deadline_is_returned_not_waited() {
    let env = env();
    let call = env.call();
    env.sandbox.inject_times(
        STATUS,
        Fault::TooManyRequests {
            retry_after: "29".into(),
        },
        3,
    );
    let client = env
        .builder()
        .http(Sandbox::http_settings().timeout(Duration::from_millis(1500)))
        .build()
        .unwrap();
    let err = client.call_status(call.id()).unwrap_err();
    assert!(
        matches!(&err, Error::RetryLater { status: 429, retry_after, .. } if *retry_after == Duration::from_secs(29)),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(env.clock.sleeps().is_empty(), "{:?}", env.clock.sleeps());
}

#[test]
fn retry_after_zero_or_in_the_past_keeps_the_backoff() {
    for retry_after in ["0", "Thu, 01 Jan 1970 00:00:00 GMT"] {
        let env = env();
        let call = env.call();
        env.sandbox.inject_times(
            STATUS,
            Fault::TooManyRequests {
                retry_after: retry_after.into(),
            },
            2,
        );
        env.client().call_status(call.id()).unwrap();
        let sleeps = env.clock.sleeps();
        assert_eq!(sleeps.len(), 2, "{retry_after}");
        // The default back-off: 200 ms, then 400 ms, each at least half of it (jitter).
        assert!(sleeps[0] >= Duration::from_millis(100), "{sleeps:?}");
        assert!(sleeps[1] >= Duration::from_millis(200), "{sleeps:?}");
    }
}

#[test]
fn a_501_is_neither_retried_nor_retryable() {
    let env = env();
    let call = env.call();
    let before = env.sandbox.arrivals().len();
    env.sandbox.inject_times(STATUS, Fault::HtmlError(501), 3);
    let err = env.client().call_status(call.id()).unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedStatus { status: 501, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(env.sandbox.arrivals().len() - before, 1);
}

#[test]
fn a_huge_message_is_bounded() {
    let env = env();
    env.sandbox.inject(INIT, Fault::HugeErrMsg(900_000));
    let err = env.client().init_call(&phone(), None).unwrap_err();
    assert!(matches!(&err, Error::Api { .. }), "{err:?}");
    assert!(
        err.to_string().len() < 1_000,
        "{} characters",
        err.to_string().len()
    );
}
