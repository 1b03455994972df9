//! No secret reaches Debug, Display or an error message.

use oauth_client_credentials::{
    BasicCredentials, Credentials, Error, HttpRequest, RetryPolicy, SigningKey,
};
use payauth_sandbox::{DEFAULT_CLIENT_SECRET, Fault};

use crate::support::env;

#[test]
fn client_credentials_token_and_errors_hide_secrets() {
    let env = env();
    let client = env.client();
    let token = client.bearer().unwrap();
    let secrets = [DEFAULT_CLIENT_SECRET, token.secret()];
    let credentials = Credentials::new("sandbox-client", DEFAULT_CLIENT_SECRET).unwrap();
    let outputs = [
        format!("{client:?}"),
        format!("{client:#?}"),
        format!("{credentials:?}"),
        format!("{token:?}"),
        format!("{:?}", env.builder()),
        format!(
            "{:?}",
            HttpRequest::get("https://h/x").header("authorization", token.header_value())
        ),
    ];
    for output in &outputs {
        for secret in secrets {
            assert!(!output.contains(secret), "{output}");
        }
    }
    assert!(
        format!("{client:?}").contains("sandbox-client"),
        "the id is not secret"
    );
    // The expiry in RFC 3339 UTC: the sandbox's clock starts at 2026-01-01T00:00:00Z and its
    // tokens last 600 s.
    for output in &outputs {
        assert!(!output.contains("tv_sec"), "{output}");
    }
    assert!(
        format!("{token:?}").contains("expires_at: 2026-01-01T00:10:00Z"),
        "{token:?}"
    );

    // Error paths: a refused secret, a failing endpoint.
    let refused = env
        .builder_for("sandbox-client", "wrong-secret-value")
        .build()
        .unwrap()
        .bearer()
        .unwrap_err();
    env.sandbox.inject("/api/token", Fault::HtmlError(500));
    let failed = env
        .builder()
        .retry(RetryPolicy::never())
        .build()
        .unwrap()
        .bearer()
        .unwrap_err();
    for err in [refused, failed] {
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("wrong-secret-value") && !text.contains(DEFAULT_CLIENT_SECRET),
            "{text}"
        );
        assert!(!matches!(err, Error::InvalidInput { .. }));
    }
}

#[test]
fn basic_and_signing_secrets_are_hidden() {
    let basic = BasicCredentials::new("random@domain.com", "john123").unwrap();
    let key = SigningKey::new("signing-secret-value").unwrap();
    let signed = key.sign(&serde_json::json!({"a": 1}), None).unwrap();
    for output in [
        format!("{basic:?}"),
        format!("{key:?}"),
        format!("{signed:?}"),
    ] {
        for secret in [
            "john123",
            "signing-secret-value",
            signed.as_str(),
            basic.header_value(),
        ] {
            assert!(!output.contains(secret), "{output}");
        }
    }
}
