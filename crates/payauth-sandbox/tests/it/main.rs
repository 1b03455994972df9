//! The sandbox server's own behaviour: routes, fault scripts, counters, TLS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod faults;
mod numcheck;
mod payroc;
// Stops the process with `kill -TERM`.
#[cfg(unix)]
mod service;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payauth_core::{HttpConfig, HttpRequest, ManualClock, TransportKind};
use payauth_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Fault, Sandbox};

fn token_request(sandbox: &Sandbox) -> HttpRequest {
    let basic = STANDARD.encode(format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"));
    HttpRequest::post(format!("{}/api/token", sandbox.url()))
        .header("authorization", format!("Basic {basic}"))
        .body(
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials",
        )
}

#[test]
fn unknown_routes_and_methods() {
    let sandbox = Sandbox::start().unwrap();
    let http = HttpConfig::new("t/1").build();
    let missing = http
        .send(&HttpRequest::get(format!("{}/nope", sandbox.url())))
        .unwrap();
    assert_eq!(missing.status(), 404);
    let wrong = http
        .send(&HttpRequest::get(format!("{}/api/token", sandbox.url())))
        .unwrap();
    assert_eq!(wrong.status(), 405);
}

#[test]
fn process_then_drop_acts_but_never_answers() {
    let sandbox = Sandbox::start().unwrap();
    let http = HttpConfig::new("t/1").build();
    sandbox.inject("/api/token", Fault::ProcessThenDrop);
    let err = http.send(&token_request(&sandbox)).unwrap_err();
    assert_eq!(err.kind(), TransportKind::ConnectionLost);
    assert!(err.may_have_reached_server());
    let counters = sandbox.counters();
    assert_eq!((counters.token_requests, counters.auth_successes), (1, 1));
}

#[test]
fn process_then_delay_outlasts_a_short_timeout() {
    let sandbox = Sandbox::start().unwrap();
    let http = HttpConfig::new("t/1")
        .timeout(Duration::from_millis(200))
        .build();
    sandbox.inject(
        "/api/token",
        Fault::ProcessThenDelay(Duration::from_millis(800)),
    );
    let err = http.send(&token_request(&sandbox)).unwrap_err();
    assert_eq!(err.kind(), TransportKind::Timeout);
    assert_eq!(
        sandbox.counters().auth_successes,
        1,
        "the server acted before the timeout"
    );
}

#[test]
fn faults_apply_the_given_number_of_times_then_stop() {
    let sandbox = Sandbox::start().unwrap();
    let http = HttpConfig::new("t/1").build();
    sandbox.inject_times("/api/token/", Fault::HtmlError(503), 2);
    let statuses: Vec<u16> = (0..3)
        .map(|_| http.send(&token_request(&sandbox)).unwrap().status())
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    let limited = {
        sandbox.inject(
            "/api/token",
            Fault::TooManyRequests {
                retry_after: "3".into(),
            },
        );
        http.send(&token_request(&sandbox)).unwrap()
    };
    assert_eq!(
        (limited.status(), limited.header("retry-after")),
        (429, Some("3"))
    );
    assert_eq!(sandbox.counters().token_requests, 4);
    assert_eq!(sandbox.counters().auth_successes, 1);
}

#[test]
fn reset_is_seen_as_a_lost_connection() {
    let sandbox = Sandbox::start().unwrap();
    let http = HttpConfig::new("t/1").build();
    sandbox.inject("/api/token", Fault::Reset);
    let err = http.send(&token_request(&sandbox)).unwrap_err();
    assert_eq!(err.kind(), TransportKind::ConnectionLost);
    assert_eq!(
        sandbox.counters().auth_successes,
        0,
        "a reset request is not processed"
    );
}

#[test]
fn tokens_expire_on_the_sandbox_clock() {
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder()
        .clock(clock.shared())
        .tls()
        .start()
        .unwrap();
    let http = HttpConfig::new("t/1")
        .settings(Sandbox::http_settings())
        .build();
    let response = http.send(&token_request(&sandbox)).unwrap();
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    let token = body["access_token"].as_str().unwrap();
    let resource = || {
        http.send(
            &HttpRequest::get(format!("{}/api/resource", sandbox.url()))
                .header("authorization", format!("Bearer {token}")),
        )
        .unwrap()
        .status()
    };
    assert_eq!(resource(), 200);
    clock.advance(Duration::from_secs(599));
    assert_eq!(resource(), 200);
    clock.advance(Duration::from_secs(1));
    assert_eq!(resource(), 401);
    assert_eq!(
        sandbox.counters().connections_accepted,
        1,
        "one keep-alive connection"
    );
}
