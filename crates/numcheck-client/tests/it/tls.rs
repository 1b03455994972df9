//! One flow over real TLS, trusting the sandbox's test CA.

use numcheck_client::{CallStatus, Client, Error, ManualClock, ServiceSecret, TransportKind};
use payauth_sandbox::{DEFAULT_NUMCHECK_SECRET, Sandbox};

use crate::support::phone;

#[test]
fn init_and_status_over_tls() {
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder()
        .clock(clock.shared())
        .tls()
        .start()
        .unwrap();
    assert!(sandbox.url().starts_with("https://"));
    let builder = || {
        Client::builder(ServiceSecret::new(DEFAULT_NUMCHECK_SECRET).unwrap())
            .base_url(sandbox.url())
            .clock(clock.shared())
    };
    let client = builder().http(Sandbox::http_settings()).build().unwrap();
    let call = client.init_call(&phone(), None).unwrap();
    assert_eq!(
        client.call_status(call.id()).unwrap(),
        CallStatus::InProgress
    );

    // Without the test CA the certificate is not trusted: nothing is sent, so the failure is a
    // plain transport error (retried), not a call that may have been placed.
    let err = builder()
        .build()
        .unwrap()
        .init_call(&phone(), None)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::Tls),
        "{err:?}"
    );
    assert_eq!(sandbox.counters().calls_placed, 1);
}
