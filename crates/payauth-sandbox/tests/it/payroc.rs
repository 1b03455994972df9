//! The Payroc emulator, seen over raw HTTP: what a client that validates nothing would get.

use std::time::Duration;

use payauth_core::{Http, HttpConfig, HttpRequest, HttpResponse, ManualClock};
use payauth_sandbox::{DEFAULT_PAYROC_API_KEY, Fault, Sandbox};
use serde_json::Value;

const KEY_A: &str = "3b241101-e2bb-4255-8caf-4136c566a962";
const KEY_B: &str = "9f0c1e52-77d1-4b3a-a1f0-2b8e6c4d5e6f";
const SESSIONS: &str = "/v1/processing-terminals/1234001/hosted-fields-sessions";
const PAYMENT: &str = r#"{"libVersion":"1.7.0.261457","scenario":"payment"}"#;

struct Env {
    sandbox: Sandbox,
    clock: ManualClock,
    http: Http,
}

fn env() -> Env {
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder().clock(clock.shared()).start().unwrap();
    let http = HttpConfig::new("t/1").build();
    Env {
        sandbox,
        clock,
        http,
    }
}

impl Env {
    fn authorize(&self, key: Option<&str>) -> HttpResponse {
        let mut request = HttpRequest::post(format!("{}/authorize", self.sandbox.url()));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        self.http.send(&request).unwrap()
    }

    fn token(&self) -> String {
        let body = json(&self.authorize(Some(DEFAULT_PAYROC_API_KEY)));
        body["access_token"].as_str().unwrap().to_owned()
    }

    fn session(&self, token: Option<&str>, key: Option<&str>, body: &str) -> HttpResponse {
        let mut request = HttpRequest::post(format!("{}{SESSIONS}", self.sandbox.url()))
            .body("application/json", body.to_owned());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        self.http.send(&request).unwrap()
    }
}

fn json(response: &HttpResponse) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

fn fragment(response: &HttpResponse) -> String {
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let body = json(response);
    let type_uri = body["type"].as_str().unwrap();
    type_uri.rsplit_once('#').unwrap().1.to_owned()
}

#[test]
fn authorize_checks_the_api_key_and_issues_hour_long_tokens() {
    let env = env();
    let refused = env.authorize(Some("wrong"));
    assert_eq!(refused.status(), 401);
    assert_eq!(fragment(&refused), "not-authorized");
    assert_eq!(env.authorize(None).status(), 401);
    let issued = env.authorize(Some(DEFAULT_PAYROC_API_KEY));
    assert_eq!(issued.status(), 200);
    let body = json(&issued);
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "Bearer");
    let counters = env.sandbox.counters();
    assert_eq!(
        (
            counters.token_requests,
            counters.auth_successes,
            counters.auth_failures
        ),
        (3, 1, 2)
    );
}

#[test]
fn sessions_need_a_live_bearer_and_a_uuid_key() {
    let env = env();
    let token = env.token();
    let no_bearer = env.session(None, Some(KEY_A), PAYMENT);
    assert_eq!(
        (no_bearer.status(), fragment(&no_bearer)),
        (401, "not-authorized".into())
    );
    let no_key = env.session(Some(&token), None, PAYMENT);
    assert_eq!(
        (no_key.status(), fragment(&no_key)),
        (400, "idempotency-key-missing".into())
    );
    let not_a_uuid = env.session(Some(&token), Some("idempotencyKey"), PAYMENT);
    assert_eq!(
        (not_a_uuid.status(), fragment(&not_a_uuid)),
        (400, "bad-request".into())
    );
    assert_eq!(
        env.session(Some(&token), Some(KEY_A), PAYMENT).status(),
        201
    );

    // One second before the hour: accepted; at the hour: refused.
    env.clock.advance(Duration::from_secs(3599));
    assert_eq!(
        env.session(Some(&token), Some(KEY_B), PAYMENT).status(),
        201
    );
    env.clock.advance(Duration::from_secs(1));
    let expired = env.session(Some(&token), Some(KEY_B), PAYMENT);
    assert_eq!(expired.status(), 401);
    assert_eq!(env.sandbox.counters().sessions_created, 2);
}

#[test]
fn a_key_replays_its_first_answer_and_refuses_another_request() {
    let env = env();
    let token = env.token();
    let first = env.session(Some(&token), Some(KEY_A), PAYMENT);
    assert_eq!(first.status(), 201);
    let location = first.header("location").unwrap().to_owned();
    assert!(location.starts_with(&format!("{SESSIONS}/")), "{location}");
    let body = json(&first);
    assert_eq!(body["processingTerminalId"], "1234001");
    assert_eq!(body["expiresAt"], "2026-01-01T00:10:00.000Z");

    // The same request, members in another order: the same answer, no new session.
    let reordered = r#"{ "scenario": "payment", "libVersion": "1.7.0.261457" }"#;
    let replay = env.session(Some(&token), Some(KEY_A), reordered);
    assert_eq!(replay.status(), 201);
    assert_eq!(json(&replay), body);
    assert_eq!(replay.header("location"), Some(location.as_str()));

    let other = r#"{"libVersion":"1.7.0.261457","scenario":"tokenization"}"#;
    let conflict = env.session(Some(&token), Some(KEY_A), other);
    assert_eq!(
        (conflict.status(), fragment(&conflict)),
        (409, "idempotency-key-in-use".into())
    );
    assert_eq!(json(&conflict)["link"]["href"], location.as_str());
    assert_eq!(env.sandbox.counters().sessions_created, 1);
    let statuses: Vec<u16> = env
        .sandbox
        .payroc()
        .session_attempts()
        .iter()
        .map(|a| a.status)
        .collect();
    assert_eq!(statuses, [201, 201, 409]);
}

#[test]
fn validation_errors_name_each_parameter_and_are_kept_for_the_key() {
    let env = env();
    let token = env.token();
    let bad = r#"{"libVersion":"1.7","scenario":"refund","secureTokenId":""}"#;
    let refused = env.session(Some(&token), Some(KEY_A), bad);
    assert_eq!(
        (refused.status(), fragment(&refused)),
        (400, "bad-request".into())
    );
    let parameters: Vec<String> = json(&refused)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["parameter"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(parameters, ["libVersion", "scenario", "secureTokenId"]);
    // Payroc keeps even a failed answer for its key: a corrected body with it is a conflict.
    assert_eq!(
        env.session(Some(&token), Some(KEY_A), PAYMENT).status(),
        409
    );

    env.sandbox.payroc().set_lib_versions(&["1.7.0.261471"]);
    let unreleased = env.session(Some(&token), Some(KEY_B), PAYMENT);
    assert_eq!(unreleased.status(), 400);
    assert_eq!(
        json(&unreleased)["errors"][0]["message"],
        "Invalid libVersion"
    );
    assert_eq!(env.sandbox.counters().sessions_created, 0);
}

#[test]
fn secure_tokens_only_with_tokenization_and_json_only() {
    let env = env();
    let token = env.token();
    let payment = r#"{"libVersion":"1.7.0.261457","scenario":"payment","secureTokenId":"t1"}"#;
    let refused = env.session(Some(&token), Some(KEY_A), payment);
    assert_eq!(refused.status(), 400);
    assert_eq!(json(&refused)["errors"][0]["parameter"], "secureTokenId");
    let tokenization =
        r#"{"libVersion":"1.7.0.261457","scenario":"tokenization","secureTokenId":"t1"}"#;
    assert_eq!(
        env.session(Some(&token), Some(KEY_B), tokenization)
            .status(),
        201
    );

    let form = HttpRequest::post(format!("{}{SESSIONS}", env.sandbox.url()))
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", "0e7b7c2a-5f3d-4e8f-9a6b-1c2d3e4f5a6b")
        .body("text/plain", PAYMENT);
    let unsupported = env.http.send(&form).unwrap();
    assert_eq!(
        (unsupported.status(), fragment(&unsupported)),
        (415, "unsupported-media-type".into())
    );
}

#[test]
fn expires_at_can_carry_an_offset() {
    let env = env();
    env.sandbox.payroc().set_expires_at_offset(120);
    let token = env.token();
    let created = env.session(Some(&token), Some(KEY_A), PAYMENT);
    assert_eq!(json(&created)["expiresAt"], "2026-01-01T02:10:00.000+02:00");
}

#[test]
fn process_then_drop_stores_the_session_for_the_retry() {
    let env = env();
    let token = env.token();
    env.sandbox.inject(SESSIONS, Fault::ProcessThenDrop);
    let request = HttpRequest::post(format!("{}{SESSIONS}", env.sandbox.url()))
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", KEY_A)
        .body("application/json", PAYMENT);
    assert!(env.http.send(&request).is_err());
    let retried = env.http.send(&request).unwrap();
    assert_eq!(retried.status(), 201);
    assert_eq!(env.sandbox.counters().sessions_created, 1);
}
