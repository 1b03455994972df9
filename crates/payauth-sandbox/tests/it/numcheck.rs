//! The NumCheck emulator, seen over raw HTTP: what a client that validates nothing would get.

use std::time::Duration;

use payauth_core::{HttpConfig, HttpRequest, HttpResponse, ManualClock};
use payauth_sandbox::{DEFAULT_NUMCHECK_SECRET, Fault, Sandbox};
use serde_json::{Value, json};

fn post(sandbox: &Sandbox, path_and_query: &str, secret: Option<&str>) -> HttpResponse {
    let mut request = HttpRequest::post(format!("{}{path_and_query}", sandbox.url()));
    if let Some(secret) = secret {
        request = request.header("X-AUTH-Token", secret);
    }
    HttpConfig::new("t/1").build().send(&request).unwrap()
}

fn json(response: &HttpResponse) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

#[test]
fn init_call_checks_the_token_and_the_parameters() {
    let sandbox = Sandbox::start().unwrap();
    let secret = Some(DEFAULT_NUMCHECK_SECRET);
    let refused = post(&sandbox, "/ru/init-call?phone=79991234567", Some("x"));
    assert_eq!(refused.status(), 401);
    assert_eq!(json(&refused)["success"], false);
    assert_eq!(json(&refused)["errorCode"], 1);
    assert_eq!(
        post(&sandbox, "/ru/init-call?phone=79991234567", None).status(),
        401
    );
    for query in [
        "phone=7999123456a",
        "phone=1234567",
        "phone=1234567890123456",
        "",
    ] {
        let response = post(&sandbox, &format!("/ru/init-call?{query}"), secret);
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(json(&response)["errorCode"], 2, "{query}");
    }
    let long = "d".repeat(65);
    let response = post(
        &sandbox,
        &format!("/ru/init-call?phone=79991234567&description={long}"),
        secret,
    );
    assert_eq!(
        (response.status(), json(&response)["errorCode"].clone()),
        (400, json!(3))
    );
    assert_eq!(sandbox.counters().calls_placed, 0);
    let wrong_method = HttpConfig::new("t/1")
        .build()
        .send(&HttpRequest::get(format!("{}/ru/init-call", sandbox.url())))
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
}

#[test]
fn a_call_lifecycle_on_the_sandbox_clock() {
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder().clock(clock.shared()).start().unwrap();
    let secret = Some(DEFAULT_NUMCHECK_SECRET);
    sandbox.numcheck().set_answer_after(Duration::from_secs(10));
    let placed = json(&post(&sandbox, "/en/init-call?phone=79991234567", secret));
    assert_eq!(
        placed,
        json!({"callId": 33168, "callerId": 37166004953_u64, "code": 4953, "statusCode": 200,
               "errorCode": 0, "message": null, "success": true})
    );
    let status =
        || json(&post(&sandbox, "/en/get-call-info?callId=33168", secret))["status"].clone();
    assert_eq!(status(), 0);
    clock.advance(Duration::from_secs(10));
    assert_eq!(status(), 1);

    // The pool's second number ends in 0042: as a JSON number the code loses its zeros.
    sandbox.numcheck().set_never_answer(true);
    let placed = json(&post(&sandbox, "/ru/init-call?phone=79991234567", secret));
    assert_eq!(
        (placed["callerId"].clone(), placed["code"].clone()),
        (json!(79990000042_u64), json!(42))
    );
    let status =
        || json(&post(&sandbox, "/ru/get-call-info?callId=33169", secret))["status"].clone();
    clock.advance(Duration::from_secs(59));
    assert_eq!(status(), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(status(), -1);

    sandbox.numcheck().set_fields_as_strings(true);
    sandbox.numcheck().set_next_caller("4400000123");
    let placed = json(&post(&sandbox, "/ru/init-call?phone=79991234567", secret));
    assert_eq!(
        (
            placed["callId"].clone(),
            placed["callerId"].clone(),
            placed["code"].clone()
        ),
        (json!("33170"), json!("4400000123"), json!("0123"))
    );
    let unknown = post(&sandbox, "/ru/get-call-info?callId=1", secret);
    assert_eq!(
        (unknown.status(), json(&unknown)["success"].clone()),
        (404, json!(false))
    );
    assert_eq!(sandbox.counters().calls_placed, 3);
}

#[test]
fn process_then_drop_still_places_the_call() {
    let sandbox = Sandbox::start().unwrap();
    sandbox.inject("/ru/init-call", Fault::ProcessThenDrop);
    let request = HttpRequest::post(format!("{}/ru/init-call?phone=79991234567", sandbox.url()))
        .header("X-AUTH-Token", DEFAULT_NUMCHECK_SECRET);
    let err = HttpConfig::new("t/1").build().send(&request).unwrap_err();
    assert!(err.may_have_reached_server());
    assert_eq!(sandbox.counters().calls_placed, 1);
}
