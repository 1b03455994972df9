//! Vendor errors and network faults become typed errors, retried only where that is safe.

use std::time::Duration;

use oauth_client_credentials::{AuthMethod, Error, RetryPolicy, TransportKind};
use payauth_sandbox::Fault;

use crate::support::env;

#[test]
fn invalid_client_is_typed_and_not_retried() {
    let env = env();
    let client = env
        .builder_for("sandbox-client", "wrong-secret")
        .retry(RetryPolicy::default())
        .build()
        .unwrap();
    match client.bearer().unwrap_err() {
        Error::OAuth {
            status,
            error,
            description,
            uri,
            www_authenticate,
            ..
        } => {
            assert_eq!((status, error.as_str()), (401, "invalid_client"));
            assert!(description.is_some() && uri.is_some());
            // The challenge the server sent is kept.
            assert!(www_authenticate.unwrap().starts_with("Basic"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        env.token_requests(),
        1,
        "a 4xx from the token endpoint is never retried"
    );
}

#[test]
fn unsupported_grant_type_is_typed() {
    let env = env();
    env.sandbox.oauth().set_client_credentials_grant(false);
    let err = env.client().bearer().unwrap_err();
    assert!(
        matches!(&err, Error::OAuth { status: 400, error, .. } if error == "unsupported_grant_type"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[test]
fn html_502_keeps_status_and_excerpt_after_bounded_retries() {
    let env = env();
    env.sandbox
        .inject_times("/api/token", Fault::HtmlError(502), 3);
    let client = env.builder().retry(RetryPolicy::default()).build().unwrap();
    let err = client.bearer().unwrap_err();
    match &err {
        Error::UnexpectedStatus {
            status: 502,
            excerpt,
            ..
        } => {
            assert!(excerpt.contains("502 Bad Gateway"), "{excerpt}");
            assert!(excerpt.len() < 300);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(env.token_requests(), 3, "three attempts, then the error");
    assert_eq!(env.clock.sleeps().len(), 2, "backed off between attempts");
}

#[test]
fn a_passing_502_is_retried_away() {
    let env = env();
    env.sandbox.inject("/api/token", Fault::HtmlError(502));
    let client = env.builder().retry(RetryPolicy::default()).build().unwrap();
    client.bearer().unwrap();
    assert_eq!(env.token_requests(), 2);
}

#[test]
fn retry_after_is_honoured_on_429() {
    let env = env();
    env.sandbox.inject(
        "/api/token",
        Fault::TooManyRequests {
            retry_after: "7".into(),
        },
    );
    let client = env.builder().retry(RetryPolicy::default()).build().unwrap();
    client.bearer().unwrap();
    assert_eq!(env.clock.sleeps(), [Duration::from_secs(7)]);
}

#[test]
fn oversized_body_is_refused_at_the_cap() {
    let env = env();
    env.sandbox
        .inject("/api/token", Fault::OversizedBody(8 << 20));
    let err = env.client().bearer().unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::BodyTooLarge),
        "{err:?}"
    );
}

#[test]
fn malformed_json_is_an_unusable_response() {
    let env = env();
    env.sandbox.inject("/api/token", Fault::MalformedJson);
    let err = env.client().bearer().unwrap_err();
    assert!(
        matches!(err, Error::InvalidTokenResponse { status: 200, .. }),
        "{err:?}"
    );
    assert!(
        !err.to_string().contains("abc"),
        "the body is not quoted: it may hold a token"
    );
}

#[test]
fn connection_reset_is_a_transport_error_and_retried_when_allowed() {
    let env = env();
    env.sandbox.inject("/api/token", Fault::Reset);
    let err = env.client().bearer().unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::ConnectionLost),
        "{err:?}"
    );
    assert!(err.is_retryable());

    env.sandbox.inject("/api/token", Fault::Reset);
    let client = env.builder().retry(RetryPolicy::default()).build().unwrap();
    client.bearer().unwrap();
}

#[test]
fn timeout_is_a_transport_error() {
    let env = env();
    env.sandbox
        .inject("/api/token", Fault::Delay(Duration::from_millis(1500)));
    let client = env
        .builder()
        .http(payauth_sandbox::Sandbox::http_settings().timeout(Duration::from_millis(300)))
        .build()
        .unwrap();
    let err = client.bearer().unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::Timeout),
        "{err:?}"
    );
}

#[test]
fn refused_connection_is_a_connect_error() {
    let env = env();
    let url = env.url("/api/token");
    drop(env.sandbox);
    let client = oauth_client_credentials::Client::builder(
        oauth_client_credentials::Credentials::new("id", "secret").unwrap(),
    )
    .token_url(url)
    .retry(RetryPolicy::never())
    .build()
    .unwrap();
    let err = client.bearer().unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::Connect),
        "{err:?}"
    );
}

#[test]
fn builder_rules() {
    let env = env();
    let insecure = env
        .builder()
        .token_url("http://example.com/api/token")
        .build();
    assert!(
        matches!(&insecure, Err(Error::Transport(t)) if t.kind() == TransportKind::InsecureUrl),
        "{insecure:?}"
    );
    let colon = env
        .builder_for("id:with:colons", "secret")
        .auth_method(AuthMethod::BasicPlain)
        .build();
    // Auto leaves plain Basic out for such an id instead.
    env.builder_for("id:with:colons", "secret").build().unwrap();
    assert!(matches!(
        colon,
        Err(Error::InvalidInput {
            field: "client_id",
            ..
        })
    ));
    let form = env
        .builder_for("id:with:colons", "secret")
        .auth_method(oauth_client_credentials::AuthMethod::BasicFormEncoded)
        .build();
    assert!(form.is_ok());
    let missing = oauth_client_credentials::Client::builder(
        oauth_client_credentials::Credentials::new("id", "s").unwrap(),
    )
    .build();
    assert!(matches!(
        missing,
        Err(Error::InvalidInput {
            field: "token_url",
            ..
        })
    ));
}
