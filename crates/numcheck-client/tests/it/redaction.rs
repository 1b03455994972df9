//! No secret reaches Debug, Display or an error message: not the service secret, not the code
//! (nor the caller number that contains it), not the verification key, not the user's phone.

use std::time::Duration;

use numcheck_client::{Client, Error, ServiceSecret, VerificationKey};
use payauth_sandbox::{DEFAULT_NUMCHECK_SECRET, Fault};

use crate::support::{USER_PHONE_DIGITS, env, key, pending, phone};

#[test]
fn nothing_secret_in_any_output() {
    let env = env();
    let client = env.client();
    let call = client.init_call(&phone(), None).unwrap();
    let pending = pending(&env, &call);
    let wrong_secret = "w".repeat(32);

    let mut errors: Vec<Error> = Vec::new();
    errors.push(
        Client::builder(ServiceSecret::new(wrong_secret.clone()).unwrap())
            .base_url(env.sandbox.url())
            .build()
            .unwrap()
            .init_call(&phone(), None)
            .unwrap_err(),
    );
    env.sandbox.inject("/ru/init-call", Fault::ProcessThenDrop);
    errors.push(client.init_call(&phone(), None).unwrap_err());
    env.sandbox.inject("/ru/init-call", Fault::HtmlError(500));
    errors.push(client.init_call(&phone(), None).unwrap_err());
    errors.push(client.call_status("404404").unwrap_err());
    errors.push(
        client
            .wait_for_call(call.id(), Duration::from_secs(5), |_| {})
            .unwrap_err(),
    );
    errors.push(ServiceSecret::new(format!("{DEFAULT_NUMCHECK_SECRET}x")).unwrap_err());

    let mut outputs = vec![
        format!("{client:?}"),
        format!("{client:#?}"),
        format!("{:?}", env.builder()),
        format!("{:?}", ServiceSecret::new(DEFAULT_NUMCHECK_SECRET).unwrap()),
        format!("{call:?}"),
        format!("{call:#?}"),
        format!("{pending:?}"),
        format!("{:?}", key()),
        format!("{:?}", phone()),
    ];
    for err in &errors {
        outputs.push(format!("{err}"));
        outputs.push(format!("{err:?}"));
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            outputs.push(inner.to_string());
            source = inner.source();
        }
    }
    let forbidden = [
        DEFAULT_NUMCHECK_SECRET,
        wrong_secret.as_str(),
        call.code(),
        call.caller_number(),
        USER_PHONE_DIGITS,
        "application key",
    ];
    for output in &outputs {
        for secret in forbidden {
            assert!(!output.contains(secret), "{secret} in {output}");
        }
    }
    assert!(
        format!("{call:?}").contains("33168"),
        "the call id is not secret"
    );
    for output in &outputs {
        assert!(!output.contains("tv_sec"), "{output}");
    }
}

#[test]
fn a_pending_verification_shows_its_expiry_in_rfc3339_and_not_the_code() {
    let env = env();
    let call = env.client().init_call(&phone(), None).unwrap();
    // 2026-01-01T00:00:00Z, and the default five minutes to answer.
    let created = std::time::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    let pending = numcheck_client::PendingVerification::new(
        &call,
        &key(),
        created,
        numcheck_client::VerificationPolicy::default(),
    );
    let debug = format!("{pending:?}");
    assert!(
        debug.contains("expires_at: 2026-01-01T00:05:00Z"),
        "{debug}"
    );
    assert!(!debug.contains(call.code()), "{debug}");
    assert!(!debug.contains(call.caller_number()), "{debug}");
}

#[test]
fn types_are_shareable() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Client>();
    send_sync::<VerificationKey>();
    send_sync::<numcheck_client::PendingVerification>();
    send_sync::<Error>();
}
