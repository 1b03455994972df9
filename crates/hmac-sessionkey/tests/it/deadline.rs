//! A per-call deadline bounds authentication and the call, and a deadline that has passed
//! before authenticating costs the lockout guard nothing.

use std::time::{Duration, Instant};

use hmac_sessionkey::{Deadline, Error, TransportKind};
use payauth_sandbox::{DEFAULT_EASYPAY_ACCOUNT, Fault};

use crate::support::{env, memory_guard};

const AUTH: &str = "/APIcardProcREST/v1.0.0/Authenticate";

#[test]
fn a_passed_deadline_sends_nothing_and_counts_nothing() {
    let env = env();
    let guard = memory_guard();
    let client = env
        .builder_for(DEFAULT_EASYPAY_ACCOUNT)
        .lockout_guard(guard.clone())
        .build()
        .unwrap();
    let err = client
        .with_deadline(Deadline::within(Duration::ZERO))
        .session()
        .unwrap_err();
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.kind(), TransportKind::Timeout, "{err}");
            assert!(!t.may_have_reached_server());
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(env.authentications(), 0);
    assert_eq!(guard.state().unwrap().consecutive_failures(), 0);
    // The same client without a deadline authenticates as usual.
    client.session().unwrap();
}

#[test]
fn a_deadline_cuts_a_slow_authentication_and_the_guard_counts_it() {
    let env = env();
    env.sandbox
        .inject(AUTH, Fault::Delay(Duration::from_secs(20)));
    let guard = memory_guard();
    let client = env
        .builder_for(DEFAULT_EASYPAY_ACCOUNT)
        .lockout_guard(guard.clone())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .with_deadline(Deadline::within(Duration::from_millis(300)))
        .session()
        .unwrap_err();
    // Generous: proves the 20 s were not waited.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.kind(), TransportKind::Timeout, "{err}");
            // The request was written: EasyPay may have counted it, and so does the guard.
            assert!(t.may_have_reached_server());
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(guard.state().unwrap().consecutive_failures(), 1);
}
