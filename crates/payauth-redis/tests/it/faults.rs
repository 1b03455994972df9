//! Redis down at start, killed mid-run and restarted empty: token caches fail open, the lockout
//! guard fails closed and recovers.

use std::sync::Arc;
use std::time::Duration;

use hmac_sessionkey as easypay;
use payauth_core::SharedStore;
use payauth_redis::RedisStore;
use payauth_sandbox::{DEFAULT_EASYPAY_ACCOUNT, Sandbox};

use crate::clients::oauth_client;
use crate::server::{RedisServer, free_port};

fn easypay_client(sandbox: &Sandbox, store: &Arc<dyn SharedStore>, token: &str) -> easypay::Client {
    easypay::Client::builder(easypay::Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, token).unwrap())
        .base_url(format!("{}/APIcardProcREST/v1.0.0/", sandbox.url()))
        .shared_store(Arc::clone(store))
        .build()
        .unwrap()
}

fn store_on(port: u16) -> Arc<dyn SharedStore> {
    RedisStore::builder(format!("redis://127.0.0.1:{port}"))
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
        .shared()
}

#[test]
fn redis_down_at_start_tokens_work_and_the_guard_refuses_naming_redis() {
    let sandbox = Sandbox::start().unwrap();
    let port = free_port();
    let store = store_on(port);
    let client = oauth_client(&sandbox, &store, "read");
    assert!(!client.bearer().unwrap().secret().is_empty(), "fails open");
    assert_eq!(sandbox.counters().token_requests, 1);

    let guarded = easypay_client(&sandbox, &store, DEFAULT_EASYPAY_ACCOUNT.1);
    let error = guarded.session().unwrap_err();
    match &error {
        easypay::Error::GuardStore(message) => {
            assert!(
                message.contains(&format!("redis 127.0.0.1:{port}")),
                "{message}"
            );
        }
        other => panic!("expected a guard store error, got {other:?}"),
    }
    assert!(!error.to_string().contains(DEFAULT_EASYPAY_ACCOUNT.1));
    assert_eq!(
        sandbox.counters().token_requests,
        1,
        "no authentication reached EasyPay"
    );
}

#[test]
fn redis_killed_and_restarted_empty() {
    let sandbox = Sandbox::start().unwrap();
    let mut server = RedisServer::start();
    let port = server.port();
    let store = server.store().shared();
    let first = oauth_client(&sandbox, &store, "read");
    first.bearer().unwrap();
    let easy = easypay_client(&sandbox, &store, DEFAULT_EASYPAY_ACCOUNT.1);
    easy.session().unwrap();
    let counted = sandbox.counters().token_requests;

    server.kill();
    // Cached tokens and sessions keep working without Redis.
    first.bearer().unwrap();
    easy.session().unwrap();
    // A new process fetches its own token (fails open)...
    let newcomer = oauth_client(&sandbox, &store, "read");
    newcomer.bearer().unwrap();
    assert_eq!(sandbox.counters().token_requests, counted + 1);
    // ...but never authenticates with EasyPay unguarded (fails closed).
    let blind = easypay_client(&sandbox, &store, DEFAULT_EASYPAY_ACCOUNT.1);
    assert!(matches!(
        blind.session(),
        Err(easypay::Error::GuardStore(_))
    ));
    assert_eq!(sandbox.counters().token_requests, counted + 1);

    let _restarted = RedisServer::start_on(port);
    // Back, and empty: the guard works again and the session is authenticated once.
    let session = blind.session().unwrap();
    assert!(!session.merchants().is_empty());
    assert_eq!(sandbox.counters().token_requests, counted + 2);
    let again = oauth_client(&sandbox, &store, "read");
    again.bearer().unwrap();
    again.bearer().unwrap();
    assert_eq!(
        sandbox.counters().token_requests,
        counted + 3,
        "store repopulated"
    );
    oauth_client(&sandbox, &store, "read").bearer().unwrap();
    assert_eq!(sandbox.counters().token_requests, counted + 3);
}

#[test]
fn a_bad_token_is_sent_once_by_clients_sharing_redis() {
    let sandbox = Sandbox::start().unwrap();
    let server = RedisServer::start();
    let store = server.store().shared();
    let bad = "00000000000000000000000000000000";
    let start = std::sync::Barrier::new(8);
    std::thread::scope(|s| {
        for _ in 0..8 {
            let (sandbox, store, start) = (&sandbox, &store, &start);
            s.spawn(move || {
                let client = easypay_client(sandbox, store, bad);
                start.wait();
                assert!(client.session().is_err());
            });
        }
    });
    assert_eq!(sandbox.counters().token_requests, 1);
    assert_eq!(sandbox.easypay().failure_count(), 1);
}

/// Every log record of this test binary, formatted.
static RECORDS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        RECORDS.lock().unwrap().push(format!(
            "{} {}: {}",
            record.level(),
            record.target(),
            record.args()
        ));
    }
    fn flush(&self) {}
}

#[test]
fn failing_open_is_logged_without_a_secret() {
    static CAPTURE: Capture = Capture;
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(log::LevelFilter::Trace);
    let sandbox = Sandbox::start().unwrap();
    let port = free_port();
    let store = store_on(port);
    let client = oauth_client(&sandbox, &store, "read");
    let token = client.bearer().unwrap();
    let mine: Vec<String> = RECORDS
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.contains(&format!("127.0.0.1:{port}")))
        .cloned()
        .collect();
    assert!(
        mine.iter()
            .any(|r| r.starts_with("WARN payauth_core: ") && r.contains("fail open")),
        "{mine:?}"
    );
    for record in RECORDS.lock().unwrap().iter() {
        for secret in [token.secret(), payauth_sandbox::DEFAULT_CLIENT_SECRET] {
            assert!(
                !record.contains(secret),
                "a secret in a log record: {record}"
            );
        }
    }
}
