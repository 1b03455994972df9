//! HS256 signed parameters: PyJWT as an independent verifier, and the sandbox's purchase link.

use std::process::Command;
use std::time::{Duration, SystemTime};

use oauth_client_credentials::{Clock as _, HttpRequest, SigningKey};
use payauth_sandbox::DEFAULT_SIGNING_SECRET;
use serde_json::json;

use crate::support::env;

/// Verifies `jwt` with PyJWT at the current time; returns PyJWT's verdict as text.
fn pyjwt_verify(jwt: &str, secret: &str) -> String {
    let script = r#"
import json, sys, jwt
try:
    claims = jwt.decode(sys.argv[1], sys.argv[2], algorithms=["HS256"])
    print("valid " + json.dumps(claims, sort_keys=True))
except jwt.ExpiredSignatureError:
    print("expired")
except jwt.InvalidTokenError as e:
    print("invalid " + type(e).__name__)
"#;
    let output = Command::new("python3")
        .args(["-c", script, jwt, secret])
        .output()
        .expect("python3 is required for the PyJWT oracle test");
    assert!(
        output.status.success(),
        "PyJWT is required for this test (pip install pyjwt): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn pyjwt_verifies_our_token_and_rejects_it_after_exp() {
    let key = SigningKey::new("merchant-shared-secret").unwrap();
    let claims = json!({ "data": { "amount": 30000, "currency": "EUR", "reference": "order-42" } });

    let lasting = key
        .sign(&claims, Some(SystemTime::now() + Duration::from_secs(3600)))
        .unwrap();
    let verdict = pyjwt_verify(lasting.as_str(), "merchant-shared-secret");
    assert!(verdict.starts_with("valid "), "{verdict}");
    assert!(verdict.contains(r#""reference": "order-42""#), "{verdict}");

    let expired = key
        .sign(&claims, Some(SystemTime::now() - Duration::from_secs(60)))
        .unwrap();
    assert_eq!(
        pyjwt_verify(expired.as_str(), "merchant-shared-secret"),
        "expired"
    );

    assert_eq!(
        pyjwt_verify(lasting.as_str(), "another-secret"),
        "invalid InvalidSignatureError"
    );
    let no_exp = key.sign(&claims, None).unwrap();
    assert!(pyjwt_verify(no_exp.as_str(), "merchant-shared-secret").starts_with("valid "));
}

#[test]
fn sandbox_accepts_a_signed_purchase_link_until_it_expires() {
    let env = env();
    let client = env.client();
    let key = SigningKey::new(DEFAULT_SIGNING_SECRET).unwrap();
    let claims = json!({ "data": { "amount": 1000 }, "purchase_link_settings": {} });
    let exp = env.clock.now() + Duration::from_secs(86_400);
    let url = key
        .signed_url(&env.url("/api/purchase_link/"), &claims, Some(exp))
        .unwrap();

    let created = client.http().send(&HttpRequest::post(&url)).unwrap();
    assert_eq!(created.status(), 201);
    let body: serde_json::Value = serde_json::from_slice(created.body()).unwrap();
    assert_eq!(body["payload"]["data"]["amount"], 1000);

    let tampered = url.replace("signature=eyJ", "signature=eyK");
    assert_eq!(
        client
            .http()
            .send(&HttpRequest::post(tampered))
            .unwrap()
            .status(),
        403
    );
    let wrong_key = SigningKey::new("not the shared secret").unwrap();
    let forged = wrong_key
        .signed_url(&env.url("/api/purchase_link/"), &claims, Some(exp))
        .unwrap();
    assert_eq!(
        client
            .http()
            .send(&HttpRequest::post(forged))
            .unwrap()
            .status(),
        403
    );

    env.clock.advance(Duration::from_secs(86_400));
    assert_eq!(
        client
            .http()
            .send(&HttpRequest::post(&url))
            .unwrap()
            .status(),
        401
    );
}
