//! Hostile-network faults: what server text an error keeps, `Retry-After`, the retry rule.

use std::time::Duration;

use base64::Engine as _;
use oauth_client_credentials::{Error, RetryPolicy};
use payauth_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Fault};

use crate::support::env;

const TOKEN: &str = "/api/token";

/// Everything an error shows: its chain of messages and its `Debug` (which holds its causes).
fn all_text(err: &Error) -> String {
    format!("{} {err:?}", payauth_core::ErrorChain(err))
}

#[test]
fn echoed_basic_credentials_are_scrubbed() {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{DEFAULT_CLIENT_ID}:{}",
        form_urlencoded::byte_serialize(DEFAULT_CLIENT_SECRET.as_bytes()).collect::<String>()
    ));
    let plain = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"));
    for fault in [
        Fault::EchoJson(400),
        Fault::EchoJson(500),
        Fault::EchoHtml(502),
    ] {
        let env = env();
        env.sandbox.inject(TOKEN, fault.clone());
        let err = env.client().bearer().unwrap_err();
        let text = all_text(&err);
        assert!(
            text.to_lowercase().contains("authorization"),
            "{fault:?}: {text}"
        );
        for secret in [
            &basic[..12],
            &plain[..12],
            &plain[plain.len() - 12..],
            DEFAULT_CLIENT_SECRET,
        ] {
            assert!(!text.contains(secret), "{fault:?}: {text}");
        }
    }
}

#[test]
fn an_echoed_client_secret_post_is_scrubbed() {
    let env = env();
    env.sandbox.inject(TOKEN, Fault::EchoJson(400));
    let client = env
        .builder()
        .auth_method(oauth_client_credentials::AuthMethod::ClientSecretPost)
        .build()
        .unwrap();
    let text = all_text(&client.bearer().unwrap_err());
    let encoded: String =
        form_urlencoded::byte_serialize(DEFAULT_CLIENT_SECRET.as_bytes()).collect();
    assert!(text.contains("client_id"), "{text}");
    assert!(!text.contains(&encoded[..8]), "{text}");
    assert!(!text.contains(DEFAULT_CLIENT_SECRET), "{text}");
}

#[test]
fn a_retry_after_past_the_deadline_is_returned_not_waited() {
    let env = env();
    env.sandbox.inject_times(
        TOKEN,
        Fault::TooManyRequests {
            retry_after: "29".into(),
        },
        3,
    );
    let client = env
        .builder()
        .retry(RetryPolicy::default())
        .http(payauth_sandbox::Sandbox::http_settings().timeout(Duration::from_millis(1500)))
        .build()
        .unwrap();
    let err = client.bearer().unwrap_err();
    assert!(
        matches!(&err, Error::RetryLater { status: 429, retry_after, .. } if *retry_after == Duration::from_secs(29)),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(env.clock.sleeps().is_empty());
    assert_eq!(env.token_requests(), 1);
}

#[test]
fn a_501_is_neither_retried_nor_retryable() {
    let env = env();
    env.sandbox.inject_times(TOKEN, Fault::HtmlError(501), 3);
    let client = env.builder().retry(RetryPolicy::default()).build().unwrap();
    let err = client.bearer().unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedStatus { status: 501, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(env.token_requests(), 1);
}

#[test]
fn huge_or_absurd_lifetimes_are_clamped_or_typed_errors() {
    // A lifetime too long to be meant is clamped to payauth-core's year, never a panic.
    for raw in ["9223372036854775807", "18446744073709551615"] {
        let env = env();
        env.sandbox.inject(
            TOKEN,
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
            TOKEN,
            Fault::RawMember {
                name: "expires_in".into(),
                raw: raw.into(),
            },
        );
        let err = env.client().bearer().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidTokenResponse { .. }),
            "{raw}: {err:?}"
        );
    }
}
