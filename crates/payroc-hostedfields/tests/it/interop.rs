//! The shapes Payroc's official SDK fixtures answer with, over real HTTP: the client creates a
//! session from each, where it used to refuse it.

use payauth_sandbox::Fault;
use payroc_hostedfields::Clock as _;
use payroc_hostedfields::{
    Error, IdempotencyKey, LibVersion, Scenario, SecureTokenId, SessionRequest, TerminalId,
};

use crate::support::{TERMINAL, env, payment};

#[test]
fn the_sdk_fixture_shapes_give_a_session() {
    let env = env();
    env.sandbox.payroc().use_sdk_fixture_shapes();
    let client = env.client();
    let session = client.create_session(&payment()).unwrap();
    // `"token_type": "token_type"` accepted and the token sent as Bearer (the sandbox checks).
    assert_eq!(env.authorize_calls(), 1);
    // HTTP 200 instead of 201.
    assert_eq!(session.status(), 200);
    // No expiresAt: receipt time + 10 minutes, marked as assumed.
    assert!(session.expiry_is_assumed());
    assert_eq!(
        session.expires_at(),
        env.clock.now() + std::time::Duration::from_secs(600)
    );
    assert_eq!(env.sessions_created(), 1);
    // The headers a caller may quote.
    assert!(session.location().is_some());
    assert!(session.headers().request_id().is_some());
}

#[test]
fn each_fixture_shape_alone() {
    for shape in 0..3 {
        let env = env();
        let payroc = env.sandbox.payroc();
        match shape {
            0 => payroc.set_token_type("mac"),
            1 => payroc.set_omit_expires_at(true),
            _ => payroc.set_created_status(200),
        }
        let session = env.client().create_session(&payment()).unwrap();
        assert_eq!(session.expiry_is_assumed(), shape == 1, "shape {shape}");
        assert_eq!(session.status(), if shape == 2 { 200 } else { 201 });
    }
}

#[test]
fn a_missing_expiry_never_discards_a_created_session_and_a_retry_gets_the_same_one() {
    let env = env();
    env.sandbox.payroc().set_omit_expires_at(true);
    let client = env.client();
    let key = IdempotencyKey::generate().unwrap();
    let request = payment().idempotency_key(key);
    let first = client.create_session(&request).unwrap();
    let again = client.create_session(&request).unwrap();
    assert_eq!(first.token().secret(), again.token().secret());
    assert_eq!(env.sessions_created(), 1);
}

#[test]
fn relaxed_inputs_reach_payroc_which_decides() {
    let env = env();
    let client = env.client();
    let terminal = || TerminalId::new(TERMINAL).unwrap();
    // A UUID that is not v4 is sent as it is.
    let v1 = IdempotencyKey::new("3b241101-e2bb-1255-8caf-4136c566a962").unwrap();
    let session = client
        .create_session(&payment().idempotency_key(v1))
        .unwrap();
    assert_eq!(session.idempotency_key(), v1);
    let attempts = env.sandbox.payroc().session_attempts();
    assert_eq!(
        attempts.last().unwrap().idempotency_key.as_deref(),
        Some("3b241101-e2bb-1255-8caf-4136c566a962")
    );
    // A scenario added later and a secure token with a payment are sent; the API answers.
    let new = SessionRequest::new(terminal(), Scenario::parse("subscription").unwrap());
    let err = client.create_session(&new).unwrap_err();
    let problem = err.problem().unwrap();
    assert_eq!(problem.status(), 400);
    assert_eq!(problem.errors()[0].parameter.as_deref(), Some("scenario"));
    let with_token =
        SessionRequest::payment(terminal()).secure_token_id(SecureTokenId::new("tok-1").unwrap());
    let err = client.create_session(&with_token).unwrap_err();
    assert_eq!(
        err.problem().unwrap().errors()[0].parameter.as_deref(),
        Some("secureTokenId")
    );
    // A libVersion Payroc does not know: its answer, not ours.
    let odd = payment().lib_version(LibVersion::new("2.0-beta \"x\"").unwrap());
    let err = client.create_session(&odd).unwrap_err();
    assert_eq!(
        err.problem().unwrap().errors()[0].parameter.as_deref(),
        Some("libVersion")
    );
    assert_eq!(env.sessions_created(), 1);
}

#[test]
fn a_403_that_is_not_a_problem_is_forbidden_with_its_excerpt() {
    let env = env();
    let client = env.client();
    env.sandbox
        .inject(&env.sessions_path(), Fault::HtmlError(403));
    let err = client.create_session(&payment()).unwrap_err();
    match &err {
        Error::Forbidden { excerpt, headers } => {
            assert!(excerpt.contains("403"), "{excerpt}");
            assert!(headers.location().is_none());
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(err.headers().map(|h| h.iter().count()), Some(0));
}

#[test]
fn problems_carry_the_request_id() {
    let env = env();
    let client = env.client();
    let new = SessionRequest::new(
        TerminalId::new(TERMINAL).unwrap(),
        Scenario::parse("later").unwrap(),
    );
    let err = client.create_session(&new).unwrap_err();
    assert!(err.headers().unwrap().request_id().is_some());
}

#[test]
fn a_chained_report_shows_each_cause_once() {
    use payroc_hostedfields::payauth_core::ErrorChain;
    let env = env();
    let client = env.client();
    env.sandbox.inject(&env.sessions_path(), Fault::Reset);
    env.sandbox.inject(&env.sessions_path(), Fault::Reset);
    env.sandbox.inject(&env.sessions_path(), Fault::Reset);
    let err = client.create_session(&payment()).unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    let chain = ErrorChain(&err);
    assert!(!chain.repeats_a_cause(), "{chain}");
    assert_eq!(chain.messages().len(), 1, "{chain}");
}
