//! No secret given by environment variable or prompt reaches stdout or stderr without
//! `--show-token`, even when a server echoes it back in an error.

use crate::{CLIENT_ID, CLIENT_SECRET, PAYROC_KEY, Run, Sandbox};

/// A server that answers every request with HTTP 500 and the request itself as the body (its
/// body first, so the secrets reach the error excerpt), as a misbehaving proxy might.
fn echo_server() -> String {
    crate::canned_server(|request| {
        let (head, sent) = request.split_once("\r\n\r\n").unwrap_or((request, ""));
        (
            500,
            "text/plain",
            format!("{sent} {}", head.replace("\r\n", " ")),
        )
    })
}

#[test]
fn a_secret_echoed_by_a_server_is_redacted_from_errors() {
    let url = echo_server();
    const SECRET: &str = "EchoedClientSecret123";
    let oauth = Run::new(&[
        "oauth",
        "token",
        "--client-id",
        "echo-client",
        "--auth-method",
        "post",
    ])
    .env("PAYAUTH_SANDBOX", &url)
    .env("PAYAUTH_OAUTH_CLIENT_SECRET", SECRET)
    .run();
    assert_eq!(oauth.code, 1, "{oauth:?}");
    assert!(oauth.stderr.contains("500"), "{oauth:?}");
    assert!(
        oauth.stderr.contains("[redacted]"),
        "the echo reached the message: {oauth:?}"
    );
    assert!(!oauth.all().contains(SECRET), "{oauth:?}");

    const KEY: &str = "EchoedPayrocApiKey-77";
    let payroc = Run::new(&["--json", "payroc", "session", "--terminal", "1234001"])
        .env("PAYAUTH_SANDBOX", &url)
        .stdin(&format!("{KEY}\n"))
        .run();
    assert_eq!(payroc.code, 1, "{payroc:?}");
    assert!(!payroc.all().contains(KEY), "{payroc:?}");
}

#[test]
fn secrets_from_the_environment_or_a_prompt_are_never_printed() {
    let sandbox = Sandbox::start("secrets");
    // (command, variable, secret) for every command that takes a secret.
    let cases: [(&[&str], &str, &str); 2] = [
        (
            &["oauth", "token", "--client-id", CLIENT_ID],
            "PAYAUTH_OAUTH_CLIENT_SECRET",
            CLIENT_SECRET,
        ),
        (
            &["payroc", "session", "--terminal", "1234001"],
            "PAYAUTH_PAYROC_API_KEY",
            PAYROC_KEY,
        ),
    ];
    for (args, variable, secret) in cases {
        for json in [false, true] {
            let mut args = args.to_vec();
            if json {
                args.insert(0, "--json");
            }
            let from_env = sandbox.payauth(&args).env(variable, secret).run();
            assert_eq!(from_env.code, 0, "{from_env:?}");
            assert!(!from_env.all().contains(secret), "{args:?}: {from_env:?}");
            let from_prompt = sandbox.payauth(&args).stdin(&format!("{secret}\n")).run();
            assert_eq!(from_prompt.code, 0, "{from_prompt:?}");
            assert!(
                !from_prompt.all().contains(secret),
                "{args:?}: {from_prompt:?}"
            );
        }
    }
    // The tokens issued are secrets too: shown only with --show-token.
    let out = sandbox
        .payauth(&["--json", "oauth", "token", "--client-id", CLIENT_ID])
        .env("PAYAUTH_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
        .run();
    assert!(out.json().get("access_token").is_none());
    let shown = sandbox
        .payauth(&[
            "--json",
            "oauth",
            "token",
            "--client-id",
            CLIENT_ID,
            "--show-token",
        ])
        .env("PAYAUTH_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
        .run();
    let token = shown.json()["access_token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    assert!(!shown.stderr.contains(&token));
}
