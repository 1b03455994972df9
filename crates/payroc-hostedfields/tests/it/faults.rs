//! Hostile-network faults: what server text an error keeps, `Retry-After`, one idempotency key
//! across attempts, the retry rule.

use std::collections::BTreeSet;
use std::time::Duration;

use payauth_sandbox::{DEFAULT_PAYROC_API_KEY, Fault, Sandbox};
use payroc_hostedfields::{Error, ManualClock};

use crate::support::{env, payment};

const AUTHORIZE: &str = "/authorize";

/// Everything an error shows: its chain of messages and its `Debug` (which holds its causes).
fn all_text(err: &Error) -> String {
    format!("{} {err:?}", payauth_core::ErrorChain(err))
}

#[test]
fn an_echoed_api_key_is_scrubbed() {
    for fault in [
        Fault::EchoJson(400),
        Fault::EchoJson(500),
        Fault::EchoHtml(502),
    ] {
        let env = env();
        env.sandbox.inject_times(AUTHORIZE, fault.clone(), 3);
        let err = env.client().bearer().unwrap_err();
        let text = all_text(&err);
        // The echo is kept (the key's own words may take part of the header name with it).
        assert!(text.contains("user-agent"), "{fault:?}: {text}");
        assert!(
            !text.contains(&DEFAULT_PAYROC_API_KEY[..12]),
            "{fault:?}: {text}"
        );
        assert!(
            !text.contains(&DEFAULT_PAYROC_API_KEY[DEFAULT_PAYROC_API_KEY.len() - 12..]),
            "{fault:?}: {text}"
        );
    }
}

#[test]
fn an_echoed_bearer_token_is_scrubbed() {
    for fault in [
        Fault::EchoJson(400),
        Fault::EchoJson(503),
        Fault::EchoHtml(502),
    ] {
        let env = env();
        let client = env.client();
        let token = client.bearer().unwrap();
        env.sandbox
            .inject_times(&env.sessions_path(), fault.clone(), 3);
        let err = client.create_session(&payment()).unwrap_err();
        let text = all_text(&err);
        assert!(
            text.to_lowercase().contains("authorization"),
            "{fault:?}: {text}"
        );
        let secret = token.secret();
        assert!(
            !text.contains(&secret[..12.min(secret.len())]),
            "{fault:?}: {text}"
        );
    }
}

#[test]
fn a_tls_failure_while_reading_the_answer_is_retried_with_the_same_key() {
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder()
        .clock(clock.shared())
        .tls()
        .start()
        .unwrap();
    let url = sandbox.url();
    let client = payroc_hostedfields::Client::builder(
        payroc_hostedfields::ApiKey::new(DEFAULT_PAYROC_API_KEY).unwrap(),
    )
    .environment(payroc_hostedfields::Environment::Test)
    .identity_url(format!("{url}/authorize"))
    .api_base(format!("{url}/v1"))
    .http(Sandbox::http_settings())
    .clock(clock.shared())
    .build()
    .unwrap();
    client.bearer().unwrap();
    let path = "/v1/processing-terminals/1234001/hosted-fields-sessions";
    sandbox.inject(path, Fault::TlsGarbage);
    sandbox.inject(path, Fault::TlsFatalAlert);
    client.create_session(&payment()).unwrap();
    let keys: BTreeSet<_> = sandbox
        .arrivals()
        .into_iter()
        .filter(|a| a.path == path)
        .map(|a| a.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(sandbox.counters().sessions_created, 1);
}

#[test]
fn a_retry_after_past_the_deadline_is_returned_not_waited() {
    let env = env();
    let client = env
        .builder()
        .http(Sandbox::http_settings().timeout(Duration::from_millis(1500)))
        .build()
        .unwrap();
    client.bearer().unwrap();
    env.sandbox.inject_times(
        &env.sessions_path(),
        Fault::Unavailable {
            retry_after: "29".into(),
        },
        3,
    );
    let err = client.create_session(&payment()).unwrap_err();
    assert!(
        matches!(&err, Error::RetryLater { status: 503, retry_after, .. } if *retry_after == Duration::from_secs(29)),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(env.clock.sleeps().is_empty());
}

#[test]
fn a_501_is_neither_retried_nor_retryable() {
    let env = env();
    let client = env.client();
    client.bearer().unwrap();
    env.sandbox
        .inject_times(&env.sessions_path(), Fault::HtmlError(501), 3);
    let err = client.create_session(&payment()).unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 501, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let sent = env
        .sandbox
        .arrivals()
        .iter()
        .filter(|a| a.path == env.sessions_path())
        .count();
    assert_eq!(sent, 1);
}

#[test]
fn huge_or_absurd_lifetimes_are_clamped_or_typed_errors() {
    // A lifetime too long to be meant is clamped to payauth-core's year, never a panic.
    for raw in ["9223372036854775807", "18446744073709551615"] {
        let env = env();
        env.sandbox.inject(
            AUTHORIZE,
            Fault::RawMember {
                name: "expires_in".into(),
                raw: raw.into(),
            },
        );
        let token = env.client().bearer().unwrap();
        let limit = payauth_core::Clock::now(&env.clock) + payauth_core::MAX_CREDENTIAL_LIFETIME;
        assert!(token.expires_at() <= limit, "{raw}");
    }
    // One that is not a lifetime at all is a typed error.
    for raw in ["1e400", "-5", "0", "\"abc\""] {
        let env = env();
        env.sandbox.inject(
            AUTHORIZE,
            Fault::RawMember {
                name: "expires_in".into(),
                raw: raw.into(),
            },
        );
        let err = env.client().bearer().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidResponse { .. }),
            "{raw}: {err:?}"
        );
    }
}
