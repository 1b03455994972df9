//! Hostile-network faults: what counts toward the lockout guard, whether an error says the
//! request may have reached EasyPay, and what server text an error keeps.

use std::net::TcpListener;
use std::time::Duration;

use hmac_sessionkey::{Client, Credentials, Error, ManualClock};
use payauth_sandbox::{
    DEFAULT_EASYPAY_ACCOUNT, Fault, PCI_EASYPAY_ACCOUNT, PCI_EASYPAY_SIGNER, Sandbox,
};

use crate::support::{env, memory_guard};

const AUTH: &str = "/APIcardProcREST/v1.0.0/Authenticate";
const VOID: &str = "/APIcardProcREST/v1.0.0/CardSale/Void";

/// Everything an error shows: its chain of messages and its `Debug` (which holds its causes).
fn all_text(err: &Error) -> String {
    format!("{} {err:?}", payauth_core::ErrorChain(err))
}

#[test]
fn failures_before_sending_do_not_count_toward_the_guard() {
    // Nothing listens on this port: every connection is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let guard = memory_guard();
    let client = Client::builder(
        Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, DEFAULT_EASYPAY_ACCOUNT.1).unwrap(),
    )
    .base_url(format!("http://127.0.0.1:{port}/APIcardProcREST/v1.0.0/"))
    .lockout_guard(guard.clone())
    .build()
    .unwrap();
    for _ in 0..5 {
        let err = client.session().unwrap_err();
        assert!(
            matches!(&err, Error::Transport(t) if !t.may_have_reached_server()),
            "{err:?}"
        );
    }
    assert_eq!(guard.state().unwrap().consecutive_failures(), 0);

    // A refused certificate: the handshake fails before the request is written.
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder()
        .clock(clock.shared())
        .tls()
        .start()
        .unwrap();
    let untrusting = Client::builder(
        Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, DEFAULT_EASYPAY_ACCOUNT.1).unwrap(),
    )
    .base_url(format!("{}/APIcardProcREST/v1.0.0/", sandbox.url()))
    .lockout_guard(guard.clone())
    .clock(clock.shared())
    .build()
    .unwrap();
    for _ in 0..5 {
        assert!(matches!(untrusting.session(), Err(Error::Transport(_))));
    }
    assert_eq!(guard.state().unwrap().consecutive_failures(), 0);
    assert_eq!(sandbox.counters().token_requests, 0);

    // The same guard still lets a good authentication through.
    let trusting = Client::builder(
        Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, DEFAULT_EASYPAY_ACCOUNT.1).unwrap(),
    )
    .base_url(format!("{}/APIcardProcREST/v1.0.0/", sandbox.url()))
    .lockout_guard(guard.clone())
    .http(Sandbox::http_settings())
    .clock(clock.shared())
    .build()
    .unwrap();
    trusting.session().unwrap();
}

#[test]
fn a_failure_after_sending_still_counts() {
    let env = env();
    env.sandbox.inject(AUTH, Fault::ProcessThenDrop);
    let guard = memory_guard();
    let client = env
        .builder_for(DEFAULT_EASYPAY_ACCOUNT)
        .lockout_guard(guard.clone())
        .build()
        .unwrap();
    let err = client.session().unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.may_have_reached_server()),
        "{err:?}"
    );
    assert_eq!(guard.state().unwrap().consecutive_failures(), 1);
}

#[test]
fn a_tls_failure_while_reading_the_answer_may_have_reached_easypay() {
    for fault in [Fault::TlsGarbage, Fault::TlsFatalAlert] {
        let clock = ManualClock::fixed();
        let sandbox = Sandbox::builder()
            .clock(clock.shared())
            .tls()
            .start()
            .unwrap();
        let client = Client::builder(
            Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, DEFAULT_EASYPAY_ACCOUNT.1).unwrap(),
        )
        .base_url(format!("{}/APIcardProcREST/v1.0.0/", sandbox.url()))
        .lockout_guard(memory_guard())
        .http(Sandbox::http_settings())
        .clock(clock.shared())
        .build()
        .unwrap();
        client.session().unwrap();
        sandbox.inject(VOID, fault.clone());
        let err = client.void(53_000).unwrap_err();
        assert!(
            matches!(&err, Error::Transport(t) if t.may_have_reached_server()),
            "{fault:?}: {err:?}"
        );
        assert!(!err.to_string().contains("nothing was sent"), "{err}");
    }
}

#[test]
fn echoed_credentials_and_session_keys_are_scrubbed() {
    let env = env();
    // The session key is sent on calls; an echo of the call must not show it either.
    let client = env
        .builder_for(PCI_EASYPAY_ACCOUNT)
        .secured_header(
            hmac_sessionkey::HmacSecret::new(PCI_EASYPAY_SIGNER.0).unwrap(),
            hmac_sessionkey::SignerId::new(PCI_EASYPAY_SIGNER.1).unwrap(),
        )
        .build()
        .unwrap();
    client.session().unwrap();
    for fault in [
        Fault::EchoJson(200),
        Fault::EchoJson(500),
        Fault::EchoHtml(502),
    ] {
        env.sandbox.inject(VOID, fault.clone());
        let err = client.void(53_000).unwrap_err();
        let text = all_text(&err);
        assert!(
            text.to_lowercase().contains("sesskey"),
            "{fault:?}: the echo was not kept: {text}"
        );
        let sent = env.sandbox.arrivals();
        let header = sent
            .iter()
            .rev()
            .find_map(|a| {
                a.headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("sesskey"))
            })
            .map(|(_, v)| v.clone())
            .unwrap();
        let key = header.split('_').next().unwrap();
        assert!(!text.contains(&key[..12]), "{fault:?}: {text}");
        assert!(
            !text.contains(&header[header.len() - 12..]),
            "{fault:?}: {text}"
        );
    }
    // An echo of the authentication must not show the token.
    let fresh = env.builder_for(PCI_EASYPAY_ACCOUNT).build().unwrap();
    env.sandbox.inject(AUTH, Fault::EchoJson(200));
    let err = fresh.session().unwrap_err();
    let text = all_text(&err);
    assert!(!text.contains(&PCI_EASYPAY_ACCOUNT.1[..12]), "{text}");
}

#[test]
fn a_huge_err_msg_is_bounded() {
    let env = env();
    let client = env.client();
    client.session().unwrap();
    env.sandbox.inject(VOID, Fault::HugeErrMsg(900_000));
    let err = client.void(53_000).unwrap_err();
    assert!(matches!(&err, Error::Vendor { code: 9999, .. }), "{err:?}");
    let length = err.to_string().chars().count();
    assert!(length < 400, "{length} characters");
}

#[test]
fn timeouts_count_after_sending() {
    let env = env();
    env.sandbox
        .inject(AUTH, Fault::ProcessThenDelay(Duration::from_millis(600)));
    let guard = memory_guard();
    let client = env
        .builder_for(DEFAULT_EASYPAY_ACCOUNT)
        .lockout_guard(guard.clone())
        .http(Sandbox::http_settings().timeout(Duration::from_millis(150)))
        .build()
        .unwrap();
    assert!(client.session().is_err());
    assert_eq!(guard.state().unwrap().consecutive_failures(), 1);
}
