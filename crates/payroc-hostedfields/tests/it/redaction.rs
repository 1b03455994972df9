//! No API key, Bearer token or session token reaches Debug, Display or an error message.

use payauth_sandbox::{DEFAULT_PAYROC_API_KEY, Fault};
use payroc_hostedfields::{ApiKey, HttpRequest, IdempotencyKey, RetryPolicy, TerminalId};

use crate::support::{env, payment};

#[test]
fn secrets_never_reach_debug_display_or_errors() {
    let env = env();
    let client = env.client();
    let key = IdempotencyKey::generate().unwrap();
    let session = client
        .create_session(&payment().idempotency_key(key))
        .unwrap();
    let bearer = client.bearer().unwrap();
    let secrets = [
        DEFAULT_PAYROC_API_KEY,
        bearer.secret(),
        session.token().secret(),
    ];

    // Errors: a refused key, a 409, a problem from a 401 after a new token, a proxy's page.
    let wrong_key = "wrong-api-key-value";
    let refused = env
        .builder_for(wrong_key)
        .build()
        .unwrap()
        .create_session(&payment())
        .unwrap_err();
    let terminal = TerminalId::new("5555001").unwrap();
    let conflict = client
        .create_session(
            &payroc_hostedfields::SessionRequest::payment(terminal).idempotency_key(key),
        )
        .unwrap_err();
    env.sandbox
        .inject_times(&env.sessions_path(), Fault::HtmlError(502), 3);
    let proxy = env
        .builder()
        .retry(RetryPolicy::never())
        .build()
        .unwrap()
        .create_session(&payment())
        .unwrap_err();

    let outputs = [
        format!("{client:?}"),
        format!("{client:#?}"),
        format!("{:?}", env.builder()),
        format!("{:?}", ApiKey::new(DEFAULT_PAYROC_API_KEY).unwrap()),
        format!("{bearer:?}"),
        format!("{session:?}"),
        format!("{session:#?}"),
        format!("{:?}", session.token()),
        format!("{:?}", payment().idempotency_key(key)),
        format!(
            "{:?}",
            HttpRequest::post("https://h/x").header("authorization", bearer.header_value())
        ),
        format!("{refused} {refused:?}"),
        format!("{conflict} {conflict:?}"),
        format!("{proxy} {proxy:?}"),
    ];
    for output in &outputs {
        for secret in secrets.iter().chain([&wrong_key]) {
            assert!(!output.contains(secret), "{output}");
        }
    }
    // What is not secret stays visible for debugging, instants in RFC 3339 UTC (the sandbox's
    // clock starts at 2026-01-01T00:00:00Z; tokens last an hour, sessions ten minutes).
    for output in &outputs {
        assert!(!output.contains("tv_sec"), "{output}");
    }
    assert!(format!("{session:?}").contains(&key.to_string()));
    assert!(
        format!("{session:?}").contains("expires_at: 2026-01-01T00:10:00Z"),
        "{session:?}"
    );
    assert!(
        format!("{bearer:?}").contains("expires_at: 2026-01-01T01:00:00Z"),
        "{bearer:?}"
    );
    assert!(format!("{client:?}").contains("/authorize"));
}
