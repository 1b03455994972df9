//! Bad input is refused by the constructors, before any request, naming the field.

use payroc_hostedfields::{
    ApiKey, Error, IdempotencyKey, LibVersion, Scenario, SecureTokenId, SessionRequest, TerminalId,
};

use crate::support::env;

fn field<T: std::fmt::Debug>(result: Result<T, Error>) -> &'static str {
    match result {
        Err(Error::InvalidInput { field, .. }) => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn bad_inputs_are_refused_before_any_request() {
    let env = env();
    let _client = env.client();
    assert_eq!(field(TerminalId::new("123")), "processing_terminal_id");
    assert_eq!(
        field(TerminalId::new("x".repeat(51))),
        "processing_terminal_id"
    );
    assert_eq!(field(TerminalId::new("12/34001")), "processing_terminal_id");
    assert_eq!(
        field(SecureTokenId::new("x".repeat(201))),
        "secure_token_id"
    );
    assert_eq!(field(SecureTokenId::new("")), "secure_token_id");
    assert_eq!(field(LibVersion::new("")), "lib_version");
    assert_eq!(field(LibVersion::new("1.7\u{0}")), "lib_version");
    assert_eq!(field(IdempotencyKey::new("not-a-uuid")), "idempotency_key");
    // The JS SDK's fixture sends this key; Payroc asks for a UUID v4.
    assert_eq!(
        field(IdempotencyKey::new("idempotencyKey")),
        "idempotency_key"
    );
    assert_eq!(field(Scenario::parse("")), "scenario");
    assert_eq!(field(ApiKey::new("")), "api_key");
    assert_eq!(env.sandbox.counters().requests, 0, "nothing was sent");
}

#[test]
fn the_boundaries_are_accepted() {
    TerminalId::new("1234").unwrap();
    TerminalId::new("9".repeat(50)).unwrap();
    SecureTokenId::new("x".repeat(200)).unwrap();
    LibVersion::new("1.7.0.261457").unwrap();
    let terminal = TerminalId::new("1234").unwrap();
    let id = SecureTokenId::new("x".repeat(200)).unwrap();
    let request = SessionRequest::tokenization(terminal).secure_token_id(id);
    assert_eq!(request.terminal().as_str(), "1234");
}

#[test]
fn public_types_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<payroc_hostedfields::Client>();
    shareable::<payroc_hostedfields::BearerToken>();
    shareable::<payroc_hostedfields::HostedFieldsSession>();
    shareable::<SessionRequest>();
    shareable::<Error>();
}

#[test]
fn a_caller_key_round_trips() {
    let key = IdempotencyKey::new("3b241101-e2bb-4255-8caf-4136c566a962").unwrap();
    assert_eq!(key.to_string(), "3b241101-e2bb-4255-8caf-4136c566a962");
    assert_eq!(IdempotencyKey::from_uuid(key.as_uuid()), key);
}
