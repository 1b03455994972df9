//! One path over real TLS, trusting the sandbox's test CA.

use oauth_client_credentials::{
    Client, Credentials, Error, ManualClock, RetryPolicy, TransportKind,
};
use payauth_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox};

#[test]
fn token_and_resource_over_tls() {
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder()
        .clock(clock.shared())
        .tls()
        .start()
        .unwrap();
    assert!(sandbox.url().starts_with("https://"));
    let builder = || {
        Client::builder(Credentials::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).unwrap())
            .token_url(format!("{}/api/token", sandbox.url()))
            .clock(clock.shared())
            .retry(RetryPolicy::never())
            .auth_method(oauth_client_credentials::AuthMethod::BasicPlain)
    };
    let client = builder().http(Sandbox::http_settings()).build().unwrap();
    let response = client
        .get(&format!("{}/api/resource", sandbox.url()))
        .unwrap();
    assert_eq!(response.status(), 200);

    // Without the test CA the certificate is not trusted: nothing is sent.
    let untrusting = builder().build().unwrap();
    let err = untrusting.bearer().unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::Tls),
        "{err:?}"
    );
    assert_eq!(sandbox.counters().token_requests, 1);
}
