//! Problem details and the idempotency rules as the client sees them.

use std::time::Duration;

use payauth_sandbox::Fault;
use payroc_hostedfields::{
    ApiKey, Client, Clock as _, Environment, Error, HttpRequest, IdempotencyKey, LibVersion,
    ProblemKind, RetryPolicy, SecureTokenId, SessionRequest, TerminalId, TransportKind,
};

use crate::support::{TERMINAL, env, payment};

fn problem(err: &Error) -> &payroc_hostedfields::Problem {
    err.problem()
        .unwrap_or_else(|| panic!("not a problem: {err:?}"))
}

#[test]
fn the_same_key_with_the_same_request_gets_the_original_session() {
    let env = env();
    let client = env.client();
    let key = IdempotencyKey::generate().unwrap();
    let request = payment().idempotency_key(key);
    let first = client.create_session(&request).unwrap();
    let again = client.create_session(&request).unwrap();
    assert_eq!(first.token().secret(), again.token().secret());
    assert_eq!(first.idempotency_key(), key);
    assert_eq!(env.sessions_created(), 1);
}

#[test]
fn the_same_key_with_a_different_request_is_a_409_and_not_retried() {
    let env = env();
    let client = env.client();
    let key = IdempotencyKey::generate().unwrap();
    client
        .create_session(&payment().idempotency_key(key))
        .unwrap();
    let terminal = TerminalId::new(TERMINAL).unwrap();
    let different = SessionRequest::tokenization(terminal).idempotency_key(key);

    let err = client.create_session(&different).unwrap_err();

    let p = problem(&err);
    assert_eq!(p.kind(), &ProblemKind::IdempotencyKeyInUse);
    assert_eq!(p.status(), 409);
    let link = p.link().expect("a 409 links to the original");
    assert!(
        link.href
            .as_deref()
            .is_some_and(|h| h.contains("/hosted-fields-sessions/")),
        "{link:?}"
    );
    assert!(!err.is_retryable());
    let attempts = env.sandbox.payroc().session_attempts();
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [201, 409],
        "the 409 was not retried"
    );
    assert!(env.clock.sleeps().is_empty());
    assert_eq!(env.sessions_created(), 1);
}

#[test]
fn each_call_without_a_key_gets_a_fresh_one() {
    let env = env();
    let client = env.client();
    let a = client.create_session(&payment()).unwrap();
    let b = client.create_session(&payment()).unwrap();
    assert_ne!(a.idempotency_key(), b.idempotency_key());
    assert_eq!(a.idempotency_key().as_uuid().get_version_num(), 4);
    assert_eq!(env.sessions_created(), 2);
}

#[test]
fn validation_errors_name_the_parameter_and_message() {
    let env = env();
    // Payroc accepts only released Hosted Fields versions.
    env.sandbox.payroc().set_lib_versions(&["1.7.0.261457"]);
    let client = env.client();
    let request = payment().lib_version(LibVersion::new("1.6.0.172441").unwrap());

    let err = client.create_session(&request).unwrap_err();

    let p = problem(&err);
    assert_eq!(p.kind(), &ProblemKind::BadRequest);
    assert_eq!(p.status(), 400);
    let error = &p.errors()[0];
    assert_eq!(error.parameter.as_deref(), Some("libVersion"));
    assert_eq!(error.message.as_deref(), Some("Invalid libVersion"));
    assert!(
        err.to_string().contains("libVersion: Invalid libVersion"),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(env.sandbox.payroc().session_attempts().len(), 1);
    assert_eq!(env.sessions_created(), 0);
}

#[test]
fn a_wrong_api_key_is_not_authorized_and_not_retried() {
    let env = env();
    let client = env.builder_for("not-the-key").build().unwrap();
    let err = client.create_session(&payment()).unwrap_err();
    assert_eq!(problem(&err).kind(), &ProblemKind::NotAuthorized);
    assert_eq!(problem(&err).status(), 401);
    assert_eq!(env.authorize_calls(), 1);
    assert_eq!(env.sandbox.counters().auth_failures, 1);
    assert_eq!(env.sandbox.payroc().session_attempts().len(), 0);
}

#[test]
fn a_body_that_is_not_a_problem_keeps_status_and_excerpt() {
    let env = env();
    let client = env.builder().retry(RetryPolicy::never()).build().unwrap();
    env.sandbox
        .inject(&env.sessions_path(), Fault::HtmlError(500));
    let err = client.create_session(&payment()).unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 500, excerpt, .. } if excerpt.contains("500 Internal Server Error")),
        "{err:?}"
    );
}

#[test]
fn an_unusable_success_is_a_typed_error() {
    let env = env();
    let client = env.client();
    env.sandbox
        .inject(&env.sessions_path(), Fault::MalformedJson);
    let err = client.create_session(&payment()).unwrap_err();
    assert!(
        matches!(err, Error::InvalidResponse { status: 200, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    // Over the 1 MiB cap: the transport refuses it (each of the three attempts).
    env.sandbox
        .inject_times(&env.sessions_path(), Fault::OversizedBody(2 << 20), 3);
    let err = client.create_session(&payment()).unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::BodyTooLarge),
        "{err:?}"
    );
}

#[test]
fn the_emulator_requires_a_uuid_idempotency_key() {
    let env = env();
    let client = env.client();
    let url = format!(
        "{}/processing-terminals/{TERMINAL}/hosted-fields-sessions",
        client.api_base()
    );
    let send = |key: Option<&str>| {
        let mut request = HttpRequest::post(&url)
            .header("authorization", client.bearer().unwrap().header_value())
            .body(
                "application/json",
                r#"{"libVersion":"1.7.0.261457","scenario":"payment"}"#,
            );
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        client.http().send(&request).unwrap()
    };
    let missing = send(None);
    assert_eq!(missing.status(), 400);
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
    assert!(String::from_utf8_lossy(missing.body()).contains("#idempotency-key-missing"));
    let not_a_uuid = send(Some("idempotencyKey"));
    assert_eq!(not_a_uuid.status(), 400);
    assert!(String::from_utf8_lossy(not_a_uuid.body()).contains("Idempotency-Key"));
    assert_eq!(env.sessions_created(), 0);
    let ok = send(Some("3b241101-e2bb-4255-8caf-4136c566a962"));
    assert_eq!(ok.status(), 201);
}

#[test]
fn tokenization_with_a_secure_token_and_the_returned_fields() {
    let env = env();
    let client = env.client();
    let terminal = TerminalId::new(TERMINAL).unwrap();
    let request = SessionRequest::tokenization(terminal)
        // Quotes and a backslash: the body must still be valid JSON.
        .secure_token_id(SecureTokenId::new(r#"sec "token" \ 0001"#).unwrap());
    let session = client.create_session(&request).unwrap();
    assert_eq!(session.processing_terminal_id(), TERMINAL);
    let location = session.location().unwrap();
    assert!(
        location.starts_with(&format!(
            "/v1/processing-terminals/{TERMINAL}/hosted-fields-sessions/"
        )),
        "{location}"
    );
    assert_eq!(
        session.expires_at(),
        env.clock.now() + Duration::from_secs(600)
    );
}

#[test]
fn expires_at_with_an_offset_is_the_same_instant() {
    let env = env();
    env.sandbox.payroc().set_expires_at_offset(120);
    let client = env.client();
    let session = client.create_session(&payment()).unwrap();
    // Written as 02:10+02:00: the same instant as 00:10Z, shown in UTC.
    assert!(!session.expiry_is_assumed());
    assert_eq!(
        session.expires_at(),
        env.clock.now() + Duration::from_secs(600)
    );
    assert!(
        format!("{session:?}").contains("expires_at: 2026-01-01T00:10:00Z"),
        "{session:?}"
    );
}

#[test]
fn builds_need_urls_and_refuse_insecure_ones() {
    let key = || ApiKey::new("k").unwrap();
    assert!(matches!(
        Client::builder(key()).build(),
        Err(Error::InvalidInput {
            field: "identity_url",
            ..
        })
    ));
    assert!(matches!(
        Client::builder(key())
            .identity_url("https://id.example/authorize")
            .api_base("https://api.example/v1")
            .build(),
        Err(Error::InvalidInput {
            field: "lib_version",
            ..
        })
    ));
    let insecure = Client::builder(key())
        .environment(Environment::Production)
        .api_base("http://api.example/v1")
        .build()
        .unwrap_err();
    assert!(
        matches!(&insecure, Error::Transport(t) if t.kind() == TransportKind::InsecureUrl),
        "{insecure:?}"
    );
    let production = Client::builder(key())
        .environment(Environment::Production)
        .build()
        .unwrap();
    assert_eq!(production.api_base(), "https://api.payroc.com/v1");
    assert_eq!(production.lib_version().as_str(), "1.7.0.261471");
}
