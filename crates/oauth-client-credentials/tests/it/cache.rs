//! One token per lifetime, whatever the concurrency; one refetch per 401 wave.

use std::sync::Barrier;
use std::time::Duration;

use oauth_client_credentials::Clock as _;
use payauth_sandbox::ExpiresIn;

use crate::support::env;

const LIFETIME: Duration = Duration::from_secs(600);

#[test]
fn thirty_two_threads_across_three_expiries_fetch_one_token_per_lifetime() {
    let env = env();
    let client = env.client();
    let resource = env.url("/api/resource");
    let start = env.clock.now();
    const THREADS: usize = 32;
    const LIFETIMES: u32 = 4; // crossing 3 expiries
    const CALLS_PER_LIFETIME: usize = 50; // 200 calls per thread in all
    let barrier = Barrier::new(THREADS);

    std::thread::scope(|s| {
        for thread in 0..THREADS {
            let (client, resource, barrier, clock) = (&client, &resource, &barrier, &env.clock);
            s.spawn(move || {
                for lifetime in 0..LIFETIMES {
                    for _ in 0..CALLS_PER_LIFETIME {
                        let response = client.get(resource).unwrap();
                        assert_eq!(
                            response.status(),
                            200,
                            "thread {thread}, lifetime {lifetime}"
                        );
                        // One thread walks the clock through the lifetime while the others call,
                        // stopping short of the refresh margin (540 s).
                        if thread == 0 {
                            clock.advance(Duration::from_secs(10));
                        }
                    }
                    // Everyone done with this lifetime: jump to the exact expiry of the token.
                    if barrier.wait().is_leader() {
                        clock.set(start + LIFETIME * (lifetime + 1));
                    }
                    barrier.wait();
                }
            });
        }
    });
    assert_eq!(env.token_requests(), u64::from(LIFETIMES));
    assert_eq!(env.sandbox.counters().auth_failures, 0);
}

#[test]
fn refresh_ahead_replaces_the_token_once_while_calls_continue() {
    let env = env();
    let client = env.client();
    let resource = env.url("/api/resource");
    let first = client.bearer().unwrap();
    env.clock.advance(Duration::from_secs(530));
    std::thread::scope(|s| {
        for thread in 0..16 {
            let (client, resource, clock) = (&client, &resource, &env.clock);
            s.spawn(move || {
                for _ in 0..50 {
                    assert_eq!(client.get(resource).unwrap().status(), 200);
                    if thread == 0 {
                        // Through the margin (540 s) but never to expiry (600 s).
                        clock.advance(Duration::from_secs(1));
                    }
                }
            });
        }
    });
    assert_eq!(
        env.token_requests(),
        2,
        "one initial fetch and one refresh-ahead"
    );
    assert!(!client.bearer().unwrap().same_as(&first));
}

#[test]
fn sixteen_threads_seeing_a_401_cause_one_refetch() {
    let env = env();
    let client = env.client();
    let resource = env.url("/api/resource");
    client.bearer().unwrap();
    // The provider forgets every token (key rotation on its side): the next calls get 401.
    env.sandbox.oauth().revoke_all_tokens();
    let barrier = Barrier::new(16);
    std::thread::scope(|s| {
        for _ in 0..16 {
            let (client, resource, barrier) = (&client, &resource, &barrier);
            s.spawn(move || {
                barrier.wait();
                assert_eq!(client.get(resource).unwrap().status(), 200);
            });
        }
    });
    assert_eq!(env.token_requests(), 2);
}

#[test]
fn a_second_401_is_returned_not_looped() {
    let env = env();
    let client = env.client();
    // The resource rejects every token: after one refetch the 401 reaches the caller.
    env.sandbox
        .inject_times("/api/resource", payauth_sandbox::Fault::HtmlError(401), 2);
    let response = client.get(&env.url("/api/resource")).unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(env.token_requests(), 2);
}

#[test]
fn expires_in_as_string_is_honoured() {
    let env = env();
    env.sandbox.oauth().set_expires_in(ExpiresIn::String);
    env.sandbox
        .oauth()
        .set_token_lifetime(Duration::from_secs(300));
    let client = env.client();
    let token = client.bearer().unwrap();
    assert_eq!(
        token.expires_at(),
        env.clock.now() + Duration::from_secs(300)
    );
    env.clock.advance(Duration::from_secs(239));
    client.bearer().unwrap();
    assert_eq!(env.token_requests(), 1);
    env.clock.advance(Duration::from_secs(2));
    // Inside the margin: the caller gets the valid token at once, a background thread replaces it.
    assert!(client.bearer().unwrap().same_as(&token));
    crate::support::wait_until("the refresh-ahead", || {
        !client.bearer().unwrap().same_as(&token)
    });
    assert_eq!(env.token_requests(), 2);
}

#[test]
fn missing_expires_in_uses_the_configured_default() {
    let env = env();
    env.sandbox.oauth().set_expires_in(ExpiresIn::Missing);
    let client = env
        .builder()
        .default_lifetime(Duration::from_secs(120))
        .build()
        .unwrap();
    let token = client.bearer().unwrap();
    assert_eq!(
        token.expires_at(),
        env.clock.now() + Duration::from_secs(120)
    );
    // Margin 60 s is capped at half of 120 s: refreshed after 60 s, not on every call.
    env.clock.advance(Duration::from_secs(59));
    client.bearer().unwrap();
    assert_eq!(env.token_requests(), 1);
}

#[test]
fn lowercase_token_type_is_sent_as_bearer() {
    let env = env();
    env.sandbox.oauth().set_token_type("bearer");
    let client = env.client();
    assert!(
        client
            .bearer()
            .unwrap()
            .header_value()
            .starts_with("Bearer ")
    );
    assert_eq!(client.get(&env.url("/api/resource")).unwrap().status(), 200);
}

#[test]
fn connections_are_reused() {
    let env = env();
    let client = env.client();
    for _ in 0..50 {
        client.get(&env.url("/api/resource")).unwrap();
    }
    assert!(
        env.sandbox.counters().connections_accepted <= 2,
        "{:?}",
        env.sandbox.counters()
    );
}
