//! A per-call deadline bounds the whole call: attempts, retry waits, and the wait for a token
//! another thread is fetching.

use std::thread;
use std::time::{Duration, Instant};

use payauth_sandbox::{DEFAULT_PAYROC_API_KEY, Fault, Sandbox};
use payroc_hostedfields::{ApiKey, Client, Deadline, Environment, Error, TransportKind};

use crate::support::{env, payment};

fn unavailable(seconds: u64) -> Fault {
    Fault::Unavailable {
        retry_after: seconds.to_string(),
    }
}

/// A client on the system clock, for the tests that time real waits.
fn real_time_client(sandbox: &Sandbox) -> Client {
    Client::builder(ApiKey::new(DEFAULT_PAYROC_API_KEY).unwrap())
        .environment(Environment::Test)
        .identity_url(format!("{}/authorize", sandbox.url()))
        .api_base(format!("{}/v1", sandbox.url()))
        .build()
        .unwrap()
}

#[test]
fn without_a_deadline_the_retries_wait_and_with_one_they_stop_in_time() {
    // The default policy, 30 s budget: 503 with Retry-After: 10 is retried twice (20 s of
    // waits on the shared manual clock).
    let env = env();
    let client = env.client();
    client.bearer().unwrap();
    env.sandbox
        .inject_times(&env.sessions_path(), unavailable(10), 3);
    client.create_session(&payment()).unwrap_err();
    assert_eq!(env.clock.sleeps().len(), 2, "{:?}", env.clock.sleeps());
    assert_eq!(env.sandbox.arrivals().len(), 1 + 3);

    // A 15 s deadline: one wait of 10 s fits, the second would pass it and is not taken.
    let env = self::env();
    let client = env.client();
    client.bearer().unwrap();
    env.sandbox
        .inject_times(&env.sessions_path(), unavailable(10), 3);
    let bounded = client.with_deadline(Deadline::within(Duration::from_secs(15)));
    let err = bounded.create_session(&payment()).unwrap_err();
    assert!(
        matches!(&err, Error::RetryLater { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(env.clock.sleeps(), [Duration::from_secs(10)]);
    assert_eq!(env.sandbox.arrivals().len(), 1 + 2);
    // The handle shares the client's token: no second /authorize.
    assert_eq!(env.authorize_calls(), 1);
}

#[test]
fn a_deadline_bounds_a_call_that_would_otherwise_retry_for_30_seconds() {
    // Real time: the server answers 503 with Retry-After: 12, which the default policy would
    // wait out twice (24 s). With a 2 s deadline the first answer ends the call.
    let sandbox = Sandbox::start().unwrap();
    let client = real_time_client(&sandbox);
    // One 503: were its 12 s wait taken, the retry would succeed, after the bound below.
    sandbox.inject(
        "/v1/processing-terminals/1234001/hosted-fields-sessions",
        unavailable(12),
    );
    let started = Instant::now();
    let err = client
        .with_deadline(Deadline::within(Duration::from_secs(2)))
        .create_session(&payment())
        .unwrap_err();
    // Generous: only proves the 24 s of waits were not taken.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(&err, Error::RetryLater { .. }), "{err:?}");
    assert_eq!(sandbox.counters().sessions_created, 0);

    // A server that holds the answer: the deadline cuts the attempt itself.
    sandbox.inject(
        "/v1/processing-terminals/1234001/hosted-fields-sessions",
        Fault::Delay(Duration::from_secs(20)),
    );
    let started = Instant::now();
    let err = client
        .with_deadline(Deadline::within(Duration::from_millis(500)))
        .create_session(&payment())
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.kind(), TransportKind::Timeout, "{err}");
            assert!(t.to_string().contains("deadline"), "{err}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn a_waiting_caller_gives_up_at_its_deadline_while_the_fetch_goes_on() {
    let sandbox = Sandbox::start().unwrap();
    let client = real_time_client(&sandbox);
    sandbox.inject(
        "/authorize",
        Fault::ProcessThenDelay(Duration::from_millis(1500)),
    );
    let fetcher = {
        let client = client.clone();
        thread::spawn(move || client.bearer())
    };
    // Let the fetcher take the refresh, then ask with a short deadline.
    while sandbox.arrivals().is_empty() {
        thread::sleep(Duration::from_millis(5));
    }
    let err = client
        .with_deadline(Deadline::within(Duration::from_millis(200)))
        .bearer()
        .unwrap_err();
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.kind(), TransportKind::Timeout, "{err}");
            assert!(!t.may_have_reached_server());
            assert!(
                t.to_string().contains("waiting for a Bearer token"),
                "{err}"
            );
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The fetch it waited for still completes, for everyone.
    fetcher.join().unwrap().unwrap();
    assert_eq!(sandbox.counters().token_requests, 1);
    client
        .with_deadline(Deadline::within(Duration::from_millis(200)))
        .bearer()
        .unwrap();
}
