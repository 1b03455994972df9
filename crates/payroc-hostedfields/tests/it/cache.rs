//! One Bearer token for every session and every thread; one new token per rejected token.

use std::sync::Barrier;
use std::time::Duration;

use payroc_hostedfields::Clock as _;

use crate::support::{env, payment};

#[test]
fn a_hundred_sessions_cost_one_authorize_call() {
    let env = env();
    let client = env.client();
    for _ in 0..100 {
        let session = client.create_session(&payment()).unwrap();
        assert!(!session.token().secret().is_empty());
    }
    assert_eq!(env.authorize_calls(), 1);
    assert_eq!(env.sessions_created(), 100);
}

#[test]
fn sixteen_threads_times_fifty_sessions_cost_one_authorize_call() {
    let env = env();
    let client = env.client();
    let barrier = Barrier::new(16);
    std::thread::scope(|s| {
        for _ in 0..16 {
            let (client, barrier) = (&client, &barrier);
            s.spawn(move || {
                // All threads start with the cache empty: the thundering-herd case.
                barrier.wait();
                for _ in 0..50 {
                    client.create_session(&payment()).unwrap();
                }
            });
        }
    });
    assert_eq!(env.authorize_calls(), 1);
    assert_eq!(env.sessions_created(), 800);
    assert_eq!(env.sandbox.counters().auth_failures, 0);
}

#[test]
fn the_token_is_replaced_120_s_before_it_expires() {
    let env = env();
    let client = env.client();
    let first = client.bearer().unwrap();
    assert_eq!(
        first.expires_at(),
        env.clock.now() + Duration::from_secs(3600)
    );
    env.clock.advance(Duration::from_secs(3600 - 121));
    client.create_session(&payment()).unwrap();
    assert_eq!(env.authorize_calls(), 1);
    env.clock.advance(Duration::from_secs(2));
    // Inside the margin the call goes out with the valid token while a background thread
    // replaces it; nobody waits for `/authorize`.
    client.create_session(&payment()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while client.bearer().unwrap().same_as(&first) {
        assert!(
            std::time::Instant::now() < deadline,
            "the refresh-ahead never landed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(env.authorize_calls(), 2);
}

#[test]
fn a_token_expired_on_the_server_is_replaced_once_and_the_same_key_resent() {
    let env = env();
    let client = env.client();
    client.create_session(&payment()).unwrap();
    // The server's clock says the token is over; the client's cache still trusts it.
    env.sandbox.payroc().expire_all_tokens(env.clock.now());

    let session = client.create_session(&payment()).unwrap();

    assert_eq!(env.authorize_calls(), 2, "one new token");
    assert_eq!(env.sessions_created(), 2, "the session was created once");
    let attempts = env.sandbox.payroc().session_attempts();
    let key = session.idempotency_key().to_string();
    let last_two: Vec<(Option<&str>, u16)> = attempts[1..]
        .iter()
        .map(|a| (a.idempotency_key.as_deref(), a.status))
        .collect();
    assert_eq!(
        last_two,
        [(Some(key.as_str()), 401), (Some(key.as_str()), 201)]
    );
    assert!(env.clock.sleeps().is_empty(), "a 401 is not backed off");
}

#[test]
fn sixteen_threads_seeing_a_401_cause_one_new_token() {
    let env = env();
    let client = env.client();
    client.bearer().unwrap();
    env.sandbox.payroc().revoke_all_tokens();
    let barrier = Barrier::new(16);
    std::thread::scope(|s| {
        for _ in 0..16 {
            let (client, barrier) = (&client, &barrier);
            s.spawn(move || {
                barrier.wait();
                client.create_session(&payment()).unwrap();
            });
        }
    });
    assert_eq!(env.authorize_calls(), 2);
    assert_eq!(env.sessions_created(), 16);
}

#[test]
fn a_second_401_in_one_request_is_returned_not_looped() {
    let env = env();
    let client = env.client();
    // Every token is refused: after one new token the 401 reaches the caller.
    env.sandbox.inject_times(
        &env.sessions_path(),
        payauth_sandbox::Fault::HtmlError(401),
        5,
    );
    let err = client.create_session(&payment()).unwrap_err();
    assert!(
        matches!(
            err,
            payroc_hostedfields::Error::UnexpectedResponse { status: 401, .. }
        ),
        "{err:?}"
    );
    assert_eq!(env.authorize_calls(), 2);
    assert_eq!(env.sessions_created(), 0);
}

#[test]
fn connections_are_reused() {
    let env = env();
    let client = env.client();
    for _ in 0..50 {
        client.create_session(&payment()).unwrap();
    }
    assert!(
        env.sandbox.counters().connections_accepted <= 2,
        "{:?}",
        env.sandbox.counters()
    );
}
