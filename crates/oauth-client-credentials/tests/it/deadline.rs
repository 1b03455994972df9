//! A per-call deadline bounds a token fetch and a request sent with the token.

use std::time::{Duration, Instant};

use oauth_client_credentials::{Deadline, Error, HttpRequest, TransportKind};
use payauth_sandbox::Fault;

use crate::support::env;

#[test]
fn a_deadline_bounds_a_slow_token_endpoint_and_a_slow_api() {
    let env = env();
    env.sandbox
        .inject("/api/token", Fault::Delay(Duration::from_secs(20)));
    let client = env.client();
    let bounded = client.with_deadline(Deadline::within(Duration::from_millis(300)));
    let started = Instant::now();
    let err = bounded.bearer().unwrap_err();
    // Generous: proves the 20 s were not waited.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::Timeout),
        "{err:?}"
    );

    // A token in hand, the request itself is bounded too.
    client.bearer().unwrap();
    let api = env.url("/api/resource");
    env.sandbox
        .inject("/api/resource", Fault::Delay(Duration::from_secs(20)));
    let started = Instant::now();
    let err = bounded.send(HttpRequest::get(api)).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::Timeout),
        "{err:?}"
    );
}
