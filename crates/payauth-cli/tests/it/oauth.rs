//! `payauth oauth token`.

use payauth_core::{HttpConfig, HttpRequest};

use crate::{CLIENT_ID, CLIENT_SECRET, Run, Sandbox};

#[test]
fn fetches_a_token_and_shows_it_only_when_asked() {
    let sandbox = Sandbox::start("oauth");
    let out = sandbox
        .payauth(&["oauth", "token", "--client-id", CLIENT_ID])
        .env("PAYAUTH_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("token issued"));
    assert!(out.stdout.contains("HTTP Basic (RFC 7617)"));
    assert!(out.stdout.contains("hidden; --show-token prints it"));
    assert!(!out.all().contains(CLIENT_SECRET));

    let shown = sandbox
        .payauth(&[
            "--json",
            "oauth",
            "token",
            "--client-id",
            CLIENT_ID,
            "--show-token",
            "--auth-method",
            "post",
        ])
        .env("PAYAUTH_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
        .run();
    assert_eq!(shown.code, 0, "{shown:?}");
    let value = shown.json();
    assert_eq!(value["auth_method"], "client_secret_post (form body)");
    let expires_in = value["expires_in"].as_i64().unwrap();
    assert!((590..=600).contains(&expires_in), "{expires_in}");
    // The printed token is the one the sandbox issued: its resource accepts it.
    let token = value["access_token"].as_str().unwrap();
    let resource = HttpConfig::new("t/1")
        .build()
        .send(
            &HttpRequest::get(format!("{}/api/resource", sandbox.url))
                .header("authorization", format!("Bearer {token}")),
        )
        .unwrap();
    assert_eq!(resource.status(), 200);
    assert_eq!(sandbox.counter("auth_successes"), 2);
}

#[test]
fn a_wrong_secret_exits_5() {
    let sandbox = Sandbox::start("oauth-wrong");
    let out = sandbox
        .payauth(&["oauth", "token", "--client-id", CLIENT_ID])
        .env("PAYAUTH_OAUTH_CLIENT_SECRET", "not-the-secret-at-all")
        .run();
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stderr.contains("invalid_client"));
    assert!(out.stderr.contains("hint:"));
    assert!(!out.all().contains("not-the-secret-at-all"));
}

#[test]
fn a_fault_injected_over_the_control_api_is_reported() {
    let sandbox = Sandbox::start("oauth-fault");
    sandbox.control(
        "/faults",
        Some(r#"{"path": "/api/token", "fault": "html_error", "status": 503, "times": 10}"#),
    );
    let out = sandbox
        .payauth(&["oauth", "token", "--client-id", CLIENT_ID])
        .env("PAYAUTH_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("503"), "{out:?}");
    assert_eq!(
        out.stderr.lines().count(),
        2,
        "one line and a hint: {out:?}"
    );
}

#[test]
fn the_environment_presets_are_refused_without_network_only_by_transport() {
    // `--env` picks the vendor's URL; an explicit --token-url overrides it. Nothing listens here.
    let out = Run::new(&[
        "oauth",
        "token",
        "--env",
        "uat",
        "--client-id",
        "x",
        "--token-url",
        "http://127.0.0.1:9/api/token",
    ])
    .env("PAYAUTH_OAUTH_CLIENT_SECRET", "some-secret")
    .run();
    assert_eq!(out.code, 8, "{out:?}");
    let insecure = Run::new(&[
        "oauth",
        "token",
        "--env",
        "uat",
        "--client-id",
        "x",
        "--token-url",
        "http://example.com/token",
    ])
    .env("PAYAUTH_OAUTH_CLIENT_SECRET", "some-secret")
    .run();
    assert_eq!(insecure.code, 3, "{insecure:?}");
    assert!(insecure.stderr.contains("https://"));
}

#[test]
fn the_granted_scope_is_printed_when_the_server_states_it() {
    let url = crate::canned_server(|request| {
        let granted = if request.contains("scope=payments") {
            r#","scope":"payments:read""#
        } else {
            ""
        };
        (
            200,
            "application/json",
            format!(
                r#"{{"access_token":"canned-token-1","token_type":"Bearer","expires_in":300{granted}}}"#
            ),
        )
    });
    let token = |scope: Option<&str>| {
        let mut args = vec![
            "--json",
            "oauth",
            "token",
            "--client-id",
            "x",
            "--token-url",
        ];
        let token_url = format!("{url}/token");
        args.push(&token_url);
        if let Some(scope) = scope {
            args.extend(["--scope", scope]);
        }
        Run::new(&args)
            .env("PAYAUTH_OAUTH_CLIENT_SECRET", "canned-secret")
            .run()
    };
    let scoped = token(Some("payments"));
    assert_eq!(scoped.code, 0, "{scoped:?}");
    let value = scoped.json();
    assert_eq!(value["scope_requested"], "payments");
    assert_eq!(value["scope_granted"], "payments:read");
    assert!((290..=300).contains(&value["expires_in"].as_i64().unwrap()));
    assert!(!scoped.all().contains("canned-token-1"));
    let unstated = token(None);
    assert_eq!(unstated.json()["scope_granted"], serde_json::Value::Null);
}
