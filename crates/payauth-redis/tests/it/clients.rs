//! The three clients with a Redis store plugged in, against the sandbox over real HTTP.
//! Separate client objects stand in for separate processes here; `fleet.rs` uses real ones.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use oauth_client_credentials as oauth;
use payauth_core::SharedStore;
use payauth_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_EASYPAY_ACCOUNT, DEFAULT_PAYROC_API_KEY,
    Sandbox,
};

use crate::server::{RedisServer, wait_until};

pub(crate) fn oauth_client(
    sandbox: &Sandbox,
    store: &Arc<dyn SharedStore>,
    scope: &str,
) -> oauth::Client {
    oauth::Client::builder(
        oauth::Credentials::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).unwrap(),
    )
    .token_url(format!("{}/api/token", sandbox.url()))
    .auth_method(oauth::AuthMethod::BasicPlain)
    .scope(scope)
    .retry(oauth::RetryPolicy::never())
    .shared_store(Arc::clone(store))
    .build()
    .unwrap()
}

fn resource_scope(sandbox: &Sandbox, client: &oauth::Client) -> String {
    let response = client
        .get(&format!("{}/api/resource", sandbox.url()))
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    body["scope"].as_str().unwrap_or_default().to_owned()
}

fn commands_processed(server: &RedisServer) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query(&mut server.raw())
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn eight_clients_times_eight_threads_fetch_one_token_and_cached_calls_skip_redis() {
    let server = RedisServer::start();
    let sandbox = Sandbox::start().unwrap();
    let store = server.store().shared();
    let clients: Vec<_> = (0..8)
        .map(|_| oauth_client(&sandbox, &store, "read"))
        .collect();
    let start = Barrier::new(64);
    std::thread::scope(|s| {
        for client in &clients {
            for _ in 0..8 {
                let (client, start) = (client, &start);
                s.spawn(move || {
                    start.wait();
                    for _ in 0..20 {
                        client.bearer().unwrap();
                    }
                });
            }
        }
    });
    assert_eq!(sandbox.counters().token_requests, 1);
    // The hot path: a cached bearer() is answered in process.
    let before = commands_processed(&server);
    for client in &clients {
        for _ in 0..500 {
            client.bearer().unwrap();
        }
    }
    // INFO itself is one command.
    assert_eq!(commands_processed(&server) - before, 1);
}

#[test]
fn clients_with_different_scopes_never_share_a_token_under_concurrency() {
    // CVE-2025-26620: a token for one scope served for another when requests raced.
    let server = RedisServer::start();
    let sandbox = Sandbox::start().unwrap();
    let store = server.store().shared();
    let start = Barrier::new(32);
    std::thread::scope(|s| {
        for i in 0..32 {
            let scope = ["read", "write", "read write", "admin"][i % 4];
            let (sandbox, store, start) = (&sandbox, &store, &start);
            s.spawn(move || {
                let client = oauth_client(sandbox, store, scope);
                start.wait();
                for _ in 0..5 {
                    assert_eq!(resource_scope(sandbox, &client), scope);
                }
            });
        }
    });
    assert_eq!(sandbox.counters().token_requests, 4, "one per scope");
}

#[test]
fn what_reaches_redis_is_sealed_and_names_nothing() {
    let server = RedisServer::start();
    let sandbox = Sandbox::start().unwrap();
    let store = server.store().shared();
    let client = oauth_client(&sandbox, &store, "read");
    let token = client.bearer().unwrap();
    let mut raw = server.raw();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut raw).unwrap();
    assert!(!keys.is_empty());
    let mut everything = keys.join("\n").into_bytes();
    for key in &keys {
        let kind: String = redis::cmd("TYPE").arg(key).query(&mut raw).unwrap();
        if kind == "hash" {
            let fields: Vec<Vec<u8>> = redis::cmd("HVALS").arg(key).query(&mut raw).unwrap();
            fields.into_iter().for_each(|f| everything.extend(f));
        } else if kind == "string" {
            let value: Vec<u8> = redis::cmd("GET").arg(key).query(&mut raw).unwrap();
            everything.extend(value);
        }
    }
    let haystack = String::from_utf8_lossy(&everything);
    for secret in [
        token.secret(),
        DEFAULT_CLIENT_SECRET,
        DEFAULT_CLIENT_ID,
        "read",
    ] {
        assert!(!haystack.contains(secret), "{secret} reached Redis");
    }
    assert!(!format!("{client:?}").contains(token.secret()));
}

#[test]
fn the_store_ttl_decides_expiry_whatever_each_host_clock_says() {
    let server = RedisServer::start();
    let sandbox = Sandbox::start().unwrap();
    let store = server.store().shared();
    let real = oauth::SystemClock;
    let mut expiries = Vec::new();
    for skew in [-30i64, 0, 30] {
        let clock = oauth::ManualClock::new(if skew < 0 {
            oauth::Clock::now(&real) - Duration::from_secs(30)
        } else {
            oauth::Clock::now(&real) + Duration::from_secs(skew.unsigned_abs())
        });
        let client = oauth::Client::builder(
            oauth::Credentials::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).unwrap(),
        )
        .token_url(format!("{}/api/token", sandbox.url()))
        .auth_method(oauth::AuthMethod::BasicPlain)
        .clock(clock.shared())
        .shared_store(Arc::clone(&store))
        .build()
        .unwrap();
        let token = client.bearer().unwrap();
        let left = token
            .expires_at()
            .duration_since(oauth::Clock::now(&clock))
            .unwrap();
        // 600 s from the store's TTL, on every host, not 570 or 630.
        assert!(
            left > Duration::from_secs(590) && left <= Duration::from_secs(600),
            "skew {skew}: {left:?}"
        );
        expiries.push(left);
    }
    assert_eq!(sandbox.counters().token_requests, 1);
}

#[test]
fn a_401_wave_across_clients_causes_one_new_token() {
    let server = RedisServer::start();
    let sandbox = Sandbox::start().unwrap();
    let store = server.store().shared();
    let clients: Vec<_> = (0..4)
        .map(|_| oauth_client(&sandbox, &store, "read"))
        .collect();
    for client in &clients {
        assert_eq!(resource_scope(&sandbox, client), "read");
    }
    sandbox.oauth().revoke_all_tokens();
    let start = Barrier::new(4);
    std::thread::scope(|s| {
        for client in &clients {
            let (sandbox, start) = (&sandbox, &start);
            s.spawn(move || {
                start.wait();
                assert_eq!(resource_scope(sandbox, client), "read");
            });
        }
    });
    assert_eq!(sandbox.counters().token_requests, 2);
}

#[test]
fn payroc_clients_share_one_bearer_token_and_the_key_is_not_stored() {
    use payroc_hostedfields as payroc;
    let server = RedisServer::start();
    let sandbox = Sandbox::start().unwrap();
    let store = server.store().shared();
    let url = sandbox.url();
    let build = |key: &str| {
        payroc::Client::builder(payroc::ApiKey::new(key).unwrap())
            .environment(payroc::Environment::Test)
            .identity_url(format!("{url}/authorize"))
            .api_base(format!("{url}/v1"))
            .shared_store(Arc::clone(&store))
            .build()
            .unwrap()
    };
    let start = Barrier::new(8);
    std::thread::scope(|s| {
        for _ in 0..8 {
            let (build, start) = (&build, &start);
            s.spawn(move || {
                let client = build(DEFAULT_PAYROC_API_KEY);
                start.wait();
                let session = client
                    .create_session(&payroc::SessionRequest::payment(
                        payroc::TerminalId::new("1234001").unwrap(),
                    ))
                    .unwrap();
                assert!(!session.token().secret().is_empty());
            });
        }
    });
    assert_eq!(sandbox.counters().token_requests, 1);
    // Another API key never gets that token.
    let other_key = "0123456789abcdef0123456789abcdef";
    sandbox.payroc().add_api_key(other_key);
    build(other_key).bearer().unwrap();
    assert_eq!(sandbox.counters().token_requests, 2);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query(&mut server.raw())
        .unwrap();
    assert!(keys.iter().all(|k| !k.contains(DEFAULT_PAYROC_API_KEY)));
}

#[test]
fn easypay_clients_share_one_session_key_per_account_and_egress() {
    use hmac_sessionkey as easypay;
    let server = RedisServer::start();
    let sandbox = Sandbox::start().unwrap();
    let store = server.store().shared();
    let base = format!("{}/APIcardProcREST/v1.0.0/", sandbox.url());
    let build = |egress: &str| {
        easypay::Client::builder(
            easypay::Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, DEFAULT_EASYPAY_ACCOUNT.1)
                .unwrap(),
        )
        .base_url(&base)
        .shared_store(Arc::clone(&store))
        .egress_label(egress)
        .build()
        .unwrap()
    };
    let clients: Vec<_> = (0..4).map(|_| build("nat-1")).collect();
    let start = Barrier::new(4);
    std::thread::scope(|s| {
        for client in &clients {
            let start = &start;
            s.spawn(move || {
                start.wait();
                let session = client.session().unwrap();
                assert!(!session.merchants().is_empty());
            });
        }
    });
    assert_eq!(sandbox.counters().token_requests, 1);
    // The shared session key works from every client: EasyPay answers about the transaction,
    // not about the session.
    for client in &clients {
        match client.void(1).unwrap_err() {
            easypay::Error::Vendor { code, .. } => assert_eq!(code, 6724),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(sandbox.counters().token_requests, 1);
    // Another egress label is another IP: its own session.
    build("nat-2").session().unwrap();
    assert_eq!(sandbox.counters().token_requests, 2);
    let state = clients[0].lockout_guard().state().unwrap();
    assert_eq!(state.consecutive_failures(), 0);
    wait_until("no authentication left in flight", || {
        !clients[0]
            .lockout_guard()
            .state()
            .unwrap()
            .authentication_in_flight()
    });
}
