//! One path over real TLS, trusting the sandbox's test CA.

use payauth_sandbox::{DEFAULT_PAYROC_API_KEY, Sandbox};
use payroc_hostedfields::{
    ApiKey, Client, Environment, Error, ManualClock, RetryPolicy, TransportKind,
};

use crate::support::payment;

#[test]
fn token_and_session_over_tls() {
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder()
        .clock(clock.shared())
        .tls()
        .start()
        .unwrap();
    assert!(sandbox.url().starts_with("https://"));
    let builder = || {
        Client::builder(ApiKey::new(DEFAULT_PAYROC_API_KEY).unwrap())
            .environment(Environment::Test)
            .identity_url(format!("{}/authorize", sandbox.url()))
            .api_base(format!("{}/v1/", sandbox.url()))
            .clock(clock.shared())
            .retry(RetryPolicy::never())
    };
    let client = builder().http(Sandbox::http_settings()).build().unwrap();
    client.create_session(&payment()).unwrap();
    assert_eq!(sandbox.counters().sessions_created, 1);

    // Without the test CA the certificate is not trusted: nothing is sent.
    let err = builder().build().unwrap().bearer().unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::Tls),
        "{err:?}"
    );
    assert_eq!(sandbox.counters().token_requests, 1);
}
