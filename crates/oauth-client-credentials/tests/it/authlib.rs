//! The token flow of every authentication method against a real OAuth server library: authlib
//! (`tests/peers/authlib_server.py`), started on a loopback port. `cargo xtask test` installs
//! authlib; without it these tests fail rather than skip.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use oauth_client_credentials::{
    AuthMethod, Client, ClientBuilder, Credentials, Error, PrivateKey, RetryPolicy,
};
use payauth_sandbox::{JWT_CLIENT_PRIVATE_KEY_PEM, JWT_CLIENT_PUBLIC_KEY_PEM};
use serde_json::json;

/// An authlib token endpoint; stopped (its stdin closed, then killed) when dropped.
struct Authlib {
    child: Child,
    token_url: String,
}

impl Authlib {
    fn start(clients: serde_json::Value) -> Authlib {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/authlib_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(clients.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is required for the authlib peer tests");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().unwrap_or_else(|_| {
            panic!("the authlib peer did not start (pip install 'authlib>=1.3,<2'): {line:?}")
        });
        Authlib {
            child,
            token_url: format!("http://127.0.0.1:{port}/token"),
        }
    }

    fn builder(&self, credentials: Credentials) -> ClientBuilder {
        Client::builder(credentials)
            .token_url(&self.token_url)
            .retry(RetryPolicy::never())
    }
}

impl Drop for Authlib {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TRICKY: &str = "a+b/c=d:e%f g&h";
const HS_SECRET: &str = "an-hs256-secret-of-at-least-32-bytes";

fn peer() -> Authlib {
    Authlib::start(json!([
        { "id": "basic", "secret": TRICKY, "method": "client_secret_basic", "scope": "read" },
        { "id": "post", "secret": TRICKY, "method": "client_secret_post" },
        { "id": "hs", "secret": HS_SECRET, "method": "client_secret_jwt" },
        { "id": "rs", "secret": "", "method": "private_key_jwt", "public_key_pem": JWT_CLIENT_PUBLIC_KEY_PEM },
    ]))
}

#[test]
fn every_method_gets_a_token_from_authlib() {
    let peer = peer();
    let credentials = |id, secret| Credentials::new(id, secret).unwrap();
    // authlib decodes Basic with `unquote`: the encoded form (space as %20) works.
    peer.builder(credentials("basic", TRICKY))
        .auth_method(AuthMethod::BasicFormEncoded)
        .build()
        .unwrap()
        .bearer()
        .unwrap();
    peer.builder(credentials("post", TRICKY))
        .auth_method(AuthMethod::ClientSecretPost)
        .build()
        .unwrap()
        .bearer()
        .unwrap();
    peer.builder(credentials("hs", HS_SECRET))
        .auth_method(AuthMethod::ClientSecretJwt)
        .build()
        .unwrap()
        .bearer()
        .unwrap();
    let key = PrivateKey::from_pkcs8_pem(JWT_CLIENT_PRIVATE_KEY_PEM).unwrap();
    let rs = peer
        .builder(Credentials::with_private_key("rs", key).unwrap())
        .auth_method(AuthMethod::PrivateKeyJwt)
        .build()
        .unwrap();
    let token = rs.bearer().unwrap();
    // A second assertion has a new jti (authlib refuses a replay).
    rs.invalidate(&token);
    rs.bearer().unwrap();
}

#[test]
fn auto_settles_on_what_authlib_accepts() {
    let peer = peer();
    let basic = peer
        .builder(Credentials::new("basic", TRICKY).unwrap())
        .build()
        .unwrap();
    basic.bearer().unwrap();
    assert_eq!(
        basic.auth_method_in_use(),
        Some(AuthMethod::BasicFormEncoded)
    );
    let post = peer
        .builder(Credentials::new("post", TRICKY).unwrap())
        .build()
        .unwrap();
    post.bearer().unwrap();
    assert_eq!(
        post.auth_method_in_use(),
        Some(AuthMethod::ClientSecretPost)
    );
}

#[test]
fn a_refusal_keeps_authlibs_error_and_challenge() {
    let peer = peer();
    let err = peer
        .builder(Credentials::new("basic", "wrong").unwrap())
        .auth_method(AuthMethod::BasicPlain)
        .build()
        .unwrap()
        .bearer()
        .unwrap_err();
    match err {
        Error::OAuth {
            status,
            error,
            www_authenticate,
            ..
        } => {
            assert_eq!((status, error.as_str()), (401, "invalid_client"));
            assert!(www_authenticate.unwrap().starts_with("Basic"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_narrower_granted_scope_is_visible() {
    let peer = peer();
    let token = peer
        .builder(Credentials::new("basic", TRICKY).unwrap())
        .scope("read write")
        .build()
        .unwrap()
        .bearer()
        .unwrap();
    assert_eq!(token.scope(), Some("read"));
    assert_eq!(token.missing_scopes(), ["write"]);
    assert_eq!(token.token_type(), Some("Bearer"));
}
