//! A per-call deadline bounds `wait_for_call` as a whole, and a passed one places no call.

use std::time::Duration;

use numcheck_client::{Deadline, Error, TransportKind};

use crate::support::{env, phone};

#[test]
fn a_deadline_shortens_the_wait_for_a_call() {
    let env = env();
    env.sandbox.numcheck().set_never_answer(true);
    let client = env.client();
    let call = client.init_call(&phone(), None).unwrap();
    // Asked to wait 10 minutes, bounded by a 5 s deadline: the wait ends at 5 s of the clock.
    let err = client
        .with_deadline(Deadline::within(Duration::from_secs(5)))
        .wait_for_call(call.id(), Duration::from_secs(600), |_| {})
        .unwrap_err();
    match err {
        Error::WaitDeadline { waited, .. } => {
            assert!(waited <= Duration::from_secs(5), "{waited:?}");
        }
        other => panic!("expected the wait deadline, got {other:?}"),
    }
    let slept: Duration = env.clock.sleeps().iter().sum();
    assert!(slept <= Duration::from_secs(5), "{slept:?}");
}

#[test]
fn a_passed_deadline_places_no_call() {
    let env = env();
    let err = env
        .client()
        .with_deadline(Deadline::within(Duration::ZERO))
        .init_call(&phone(), None)
        .unwrap_err();
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.kind(), TransportKind::Timeout, "{err}");
            assert!(!t.may_have_reached_server());
        }
        other => panic!("expected a timeout that sent nothing, got {other:?}"),
    }
    assert_eq!(env.calls_placed(), 0);
}
