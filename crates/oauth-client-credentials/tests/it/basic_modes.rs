//! A secret with `+ / = : %` works in each authentication mode against a server of that mode.

use oauth_client_credentials::{AuthMethod, BasicCredentials, Error, HttpRequest};
use payauth_sandbox::{DEFAULT_CLIENT_SECRET, DEFAULT_DASHBOARD_USER, OAuthClient};

use crate::support::env;

const TRICKY: &str = "a+b/c=d:e%f g&h";

#[test]
fn plain_basic_against_a_plain_server() {
    let env = env();
    assert!(DEFAULT_CLIENT_SECRET.contains(['+', '/', '=', ':', '%']));
    env.client().bearer().unwrap();
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("plain", TRICKY));
    env.builder_for("plain", TRICKY)
        .build()
        .unwrap()
        .bearer()
        .unwrap();
}

#[test]
fn form_encoded_basic_against_a_strict_server() {
    let env = env();
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("strict id", TRICKY).form_encoded());
    let client = |method| {
        env.builder_for("strict id", TRICKY)
            .auth_method(method)
            .build()
            .unwrap()
            .bearer()
    };
    client(AuthMethod::BasicFormEncoded).unwrap();
    // The same secret, sent plain, is a different secret to a strict server.
    assert!(matches!(
        client(AuthMethod::BasicPlain),
        Err(Error::OAuth { status: 401, .. })
    ));
}

#[test]
fn plain_server_refuses_form_encoded_special_characters() {
    let env = env();
    env.sandbox
        .oauth()
        .add_client(OAuthClient::new("plain", TRICKY));
    let result = env
        .builder_for("plain", TRICKY)
        .auth_method(AuthMethod::BasicFormEncoded)
        .build()
        .unwrap()
        .bearer();
    assert!(
        matches!(result, Err(Error::OAuth { status: 401, .. })),
        "{result:?}"
    );
}

#[test]
fn client_secret_post() {
    let env = env();
    let client = env
        .builder()
        .auth_method(AuthMethod::ClientSecretPost)
        .build()
        .unwrap();
    assert_eq!(client.get(&env.url("/api/resource")).unwrap().status(), 200);
}

#[test]
fn dashboard_basic_auth() {
    let env = env();
    let client = env.client();
    let (user, password) = DEFAULT_DASHBOARD_USER;
    let basic = BasicCredentials::new(user, password).unwrap();
    let ok = client
        .http()
        .send(&basic.authorize(HttpRequest::get(env.url("/api/dashboard"))))
        .unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = BasicCredentials::new(user, "john124").unwrap();
    let refused = client
        .http()
        .send(&wrong.authorize(HttpRequest::get(env.url("/api/dashboard"))))
        .unwrap();
    assert_eq!(refused.status(), 401);
}
