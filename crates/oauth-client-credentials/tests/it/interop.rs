//! What certified OpenID providers, authlib and discovery-driven servers expect, emulated by the
//! sandbox: `Auto` finds the method and keeps it, assertions (RFC 7523) verified by PyJWT,
//! discovery (RFC 8414 / OpenID), what the server said, and redaction.

use std::process::Command;

use oauth_client_credentials::payauth_core::ErrorChain;
use oauth_client_credentials::{
    AuthMethod, Client, Credentials, Error, PrivateKey, RetryPolicy, TransportKind,
};
use payauth_sandbox::{
    Discovery, Fault, JWT_CLIENT_PRIVATE_KEY_PEM, JWT_CLIENT_PUBLIC_KEY_PEM, OAuthClient,
};

use crate::support::env;

const TRICKY: &str = "a+b/c=d:e%f g&h";

#[test]
fn auto_against_a_strict_server_settles_on_encoded_basic_at_once() {
    let env = env();
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("strict", TRICKY).strict());
    let client = env.builder_for("strict", TRICKY).build().unwrap();
    assert_eq!(client.auth_method_in_use(), None);
    client.bearer().unwrap();
    assert_eq!(
        client.auth_method_in_use(),
        Some(AuthMethod::BasicFormEncoded)
    );
    assert_eq!(env.token_requests(), 1);
}

#[test]
fn strict_server_refuses_plain_basic_with_special_characters() {
    let env = env();
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("strict", "pct%zz+").strict());
    let plain = env
        .builder_for("strict", "pct%zz+")
        .auth_method(AuthMethod::BasicPlain)
        .build()
        .unwrap()
        .bearer();
    // `%zz` is "not properly encoded": invalid_request, as a certified provider answers.
    assert!(
        matches!(&plain, Err(Error::OAuth { status: 400, error, .. }) if error == "invalid_request"),
        "{plain:?}"
    );
    env.builder_for("strict", "pct%zz+")
        .build()
        .unwrap()
        .bearer()
        .unwrap();
}

#[test]
fn auto_against_a_plain_server_moves_on_after_invalid_client_and_remembers() {
    let env = env();
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("plain", TRICKY));
    let client = env.builder_for("plain", TRICKY).build().unwrap();
    client.bearer().unwrap();
    assert_eq!(client.auth_method_in_use(), Some(AuthMethod::BasicPlain));
    assert_eq!(env.token_requests(), 2, "encoded Basic, then plain Basic");
    // Remembered: the next fetch sends plain Basic at once.
    let token = client.bearer().unwrap();
    client.invalidate(&token);
    client.bearer().unwrap();
    assert_eq!(env.token_requests(), 3);
}

#[test]
fn auto_against_a_post_only_server_ends_with_client_secret_post() {
    let env = env();
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("post", TRICKY).post_only());
    let client = env.builder_for("post", TRICKY).build().unwrap();
    client.bearer().unwrap();
    assert_eq!(
        client.auth_method_in_use(),
        Some(AuthMethod::ClientSecretPost)
    );
    assert_eq!(env.token_requests(), 3);
    assert_eq!(env.sandbox.oauth().methods_used(), ["client_secret_post"]);
}

#[test]
fn auto_sends_plain_basic_when_both_schools_agree() {
    let env = env();
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("simple-id", "Simple_Secret.1~").strict());
    let client = env
        .builder_for("simple-id", "Simple_Secret.1~")
        .build()
        .unwrap();
    client.bearer().unwrap();
    assert_eq!(client.auth_method_in_use(), Some(AuthMethod::BasicPlain));
    assert_eq!(env.token_requests(), 1);
}

#[test]
fn auto_never_moves_on_after_a_5xx_or_a_transport_failure() {
    let env = env();
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("plain", TRICKY));
    let client = env.builder_for("plain", TRICKY).build().unwrap();
    env.sandbox.inject("/api/token", Fault::HtmlError(503));
    let err = client.bearer().unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedStatus { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(env.token_requests(), 1, "no other method tried after a 503");
    env.sandbox.inject("/api/token", Fault::Reset);
    let err = client.bearer().unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(
        env.token_requests(),
        2,
        "no other method tried after a reset"
    );
    assert_eq!(client.auth_method_in_use(), None);
    // A wrong secret is reported with the first refusal, after every method was tried.
    let wrong = env.builder_for("plain", "a+b/c=d:e%f g&X").build().unwrap();
    let err = wrong.bearer().unwrap_err();
    assert!(matches!(err, Error::OAuth { status: 401, .. }), "{err:?}");
    assert_eq!(env.token_requests(), 5);
}

#[test]
fn a_space_is_sent_as_percent_20_which_unquote_servers_accept() {
    let env = env();
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("authlib", "with space+plus").unquote());
    let client = env
        .builder_for("authlib", "with space+plus")
        .auth_method(AuthMethod::BasicFormEncoded)
        .build()
        .unwrap();
    client.bearer().unwrap();
    // The strict server takes the same header.
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("strict", "with space+plus").strict());
    env.builder_for("strict", "with space+plus")
        .auth_method(AuthMethod::BasicFormEncoded)
        .build()
        .unwrap()
        .bearer()
        .unwrap();
}

fn pyjwt_decode(jwt: &str, key: &str, alg: &str, audience: &str) -> serde_json::Value {
    let script = r#"
import json, sys, jwt
print(json.dumps(jwt.decode(sys.argv[1], sys.argv[2], algorithms=[sys.argv[3]], audience=sys.argv[4],
                            options={"require": ["exp", "iat", "jti", "iss", "sub", "aud"]})))
"#;
    let output = Command::new("python3")
        .args(["-c", script, jwt, key, alg, audience])
        .output()
        .expect("python3 is required for the PyJWT oracle test");
    assert!(
        output.status.success(),
        "PyJWT (with cryptography for RS256) refused the assertion or is missing: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn client_secret_jwt_is_accepted_and_verified_by_pyjwt() {
    let env = env();
    // PyJWT checks `exp` against the real time.
    env.clock.set(std::time::SystemTime::now());
    env.sandbox
        .oauth()
        .add_client(OAuthClient::client_secret_jwt(
            "jwt-hs",
            "hs256-secret-of-32-bytes-at-least!",
        ));
    let token_url = env.url("/api/token");
    let client = env
        .builder_for("jwt-hs", "hs256-secret-of-32-bytes-at-least!")
        .auth_method(AuthMethod::ClientSecretJwt)
        .build()
        .unwrap();
    let token = client.bearer().unwrap();
    client.invalidate(&token);
    client.bearer().unwrap();
    let sent = env.sandbox.oauth().assertions_accepted();
    assert_eq!(sent.len(), 2);
    let claims: Vec<_> = sent
        .iter()
        .map(|jwt| {
            pyjwt_decode(
                jwt,
                "hs256-secret-of-32-bytes-at-least!",
                "HS256",
                &token_url,
            )
        })
        .collect();
    assert_eq!(claims[0]["iss"], "jwt-hs");
    assert_eq!(claims[0]["sub"], "jwt-hs");
    assert_eq!(claims[0]["aud"], token_url.as_str());
    let lifetime = claims[0]["exp"].as_u64().unwrap() - claims[0]["iat"].as_u64().unwrap();
    assert!(lifetime > 0 && lifetime <= 300, "{lifetime}");
    assert_ne!(claims[0]["jti"], claims[1]["jti"]);
    // A wrong secret is refused.
    let wrong = env
        .builder_for("jwt-hs", "another-secret-of-32-bytes-at-least")
        .auth_method(AuthMethod::ClientSecretJwt)
        .build()
        .unwrap()
        .bearer();
    assert!(
        matches!(wrong, Err(Error::OAuth { status: 401, .. })),
        "{wrong:?}"
    );
}

#[test]
fn private_key_jwt_is_accepted_and_verified_by_pyjwt() {
    let env = env();
    // PyJWT checks `exp` against the real time.
    env.clock.set(std::time::SystemTime::now());
    env.sandbox.oauth().add_client(OAuthClient::private_key_jwt(
        "jwt-rs",
        JWT_CLIENT_PUBLIC_KEY_PEM,
    ));
    let token_url = env.url("/api/token");
    let key = PrivateKey::from_pkcs8_pem(JWT_CLIENT_PRIVATE_KEY_PEM).unwrap();
    assert!(!format!("{key:?}").contains("PRIVATE"));
    let client = Client::builder(Credentials::with_private_key("jwt-rs", key).unwrap())
        .token_url(&token_url)
        .clock(env.clock.shared())
        .retry(RetryPolicy::never())
        .build()
        .unwrap();
    client.bearer().unwrap();
    assert_eq!(client.auth_method_in_use(), Some(AuthMethod::PrivateKeyJwt));
    let sent = env.sandbox.oauth().assertions_accepted();
    let claims = pyjwt_decode(&sent[0], JWT_CLIENT_PUBLIC_KEY_PEM, "RS256", &token_url);
    assert_eq!(claims["iss"], "jwt-rs");
    assert_eq!(claims["sub"], "jwt-rs");
    // A different id than the key's client is refused.
    let other = PrivateKey::from_pkcs8_pem(JWT_CLIENT_PRIVATE_KEY_PEM).unwrap();
    let err = Client::builder(Credentials::with_private_key("someone-else", other).unwrap())
        .token_url(&token_url)
        .retry(RetryPolicy::never())
        .build()
        .unwrap()
        .bearer()
        .unwrap_err();
    assert!(matches!(err, Error::OAuth { status: 401, .. }), "{err:?}");
}

#[test]
fn discovery_gives_the_token_endpoint_and_narrows_auto() {
    let env = env();
    let oauth = env.sandbox.oauth();
    oauth.add_client(OAuthClient::new("plain", TRICKY));
    oauth.set_auth_methods_supported(Some(&["client_secret_post"]));
    let client = Client::builder(Credentials::new("plain", TRICKY).unwrap())
        .clock(env.clock.shared())
        .retry(RetryPolicy::never())
        .discover(&env.sandbox.url())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(client.token_url(), env.url("/api/token"));
    client.bearer().unwrap();
    // Only client_secret_post was tried: the server lists nothing else.
    assert_eq!(env.token_requests(), 1);
    assert_eq!(
        client.auth_method_in_use(),
        Some(AuthMethod::ClientSecretPost)
    );
}

#[test]
fn discovery_falls_back_to_openid_and_refuses_insecure_urls() {
    let env = env();
    let oauth = env.sandbox.oauth();
    oauth.set_discovery(Discovery::OpenIdOnly);
    let builder =
        || Client::builder(Credentials::new("id", "secret").unwrap()).retry(RetryPolicy::never());
    let found = builder()
        .discover(&env.sandbox.url())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(found.token_url(), env.url("/api/token"));
    oauth.set_discovered_token_endpoint(Some("http://auth.example/token"));
    let err = builder().discover(&env.sandbox.url()).unwrap_err();
    assert!(matches!(err, Error::Discovery { .. }), "{err:?}");
    oauth.set_discovery(Discovery::None);
    let err = builder().discover(&env.sandbox.url()).unwrap_err();
    assert!(matches!(err, Error::Discovery { .. }), "{err:?}");
    let err = builder().discover("http://auth.example").unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportKind::InsecureUrl),
        "{err:?}"
    );
}

#[test]
fn granted_scope_and_token_type_are_exposed() {
    let env = env();
    env.sandbox.oauth().set_token_type("bearer");
    let token = env
        .builder()
        .scope("read write")
        .build()
        .unwrap()
        .bearer()
        .unwrap();
    assert_eq!(token.token_type(), Some("bearer"));
    // The sandbox grants what is asked and says nothing: the requested scope stands.
    assert_eq!(token.scope(), None);
    assert_eq!(token.granted_scope(), Some("read write"));
    assert!(token.missing_scopes().is_empty());
}

#[test]
fn debug_never_shows_url_userinfo_or_query() {
    let env = env();
    let builder = env
        .builder()
        .token_url("https://user:PASSWORD@auth.example/token?api_key=APIKEY");
    let shown = format!("{builder:?}");
    assert!(
        !shown.contains("PASSWORD") && !shown.contains("APIKEY"),
        "{shown}"
    );
    assert!(builder.build().is_err());
    let client = env
        .builder()
        .token_url(env.url("/api/token?api_key=APIKEY"))
        .build()
        .unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains("APIKEY"), "{shown}");
    assert!(shown.contains("/api/token?[redacted]"), "{shown}");
}

#[test]
fn a_chained_report_shows_each_cause_once() {
    let env = env();
    let client = env.client();
    env.sandbox.inject("/api/token", Fault::Reset);
    let err = client.bearer().unwrap_err();
    assert!(matches!(err, Error::Transport(_)));
    let chain = ErrorChain(&err);
    assert!(!chain.repeats_a_cause(), "{chain}");
    assert_eq!(chain.messages().len(), 1, "{chain}");
}

#[test]
fn a_dpop_token_is_never_sent_as_bearer() {
    // Payroc's client accepts any token_type; this generic client keeps the Bearer check.
    let env = env();
    env.sandbox.oauth().set_token_type("DPoP");
    let err = env.client().bearer().unwrap_err();
    assert!(
        matches!(&err, Error::InvalidTokenResponse { status: 200, reason } if reason.contains("Bearer")),
        "{err:?}"
    );
}
