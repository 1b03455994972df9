//! The store traits on a real Redis, checked against the in-process `MemoryStore` as reference.

use std::sync::Arc;
use std::time::Duration;

use payauth_core::{
    CredentialStore, Lease, LeaseStore, MemoryStore, RecordStore, SharedStore, StoreError,
};
use payauth_redis::RedisStore;

use crate::server::{RedisServer, free_port};

const TTL: Duration = Duration::from_secs(60);

/// The same behaviour from every store.
fn conformance(store: &dyn SharedStore) {
    // Credentials: generations, compare-and-set, invalidate-if-equal.
    assert_eq!(store.get("k").unwrap(), None);
    let first = store.compare_and_set("k", 0, b"a", TTL).unwrap().unwrap();
    assert_ne!(first, 0);
    assert_eq!(store.compare_and_set("k", 0, b"b", TTL).unwrap(), None);
    assert_eq!(
        store.compare_and_set("k", first + 100, b"b", TTL).unwrap(),
        None
    );
    let stored = store.get("k").unwrap().unwrap();
    assert_eq!(
        (stored.value.as_slice(), stored.generation),
        (&b"a"[..], first)
    );
    assert!(stored.ttl > TTL - Duration::from_secs(5) && stored.ttl <= TTL);
    let second = store
        .compare_and_set("k", first, b"b", TTL)
        .unwrap()
        .unwrap();
    assert!(
        !store.invalidate_if("k", first).unwrap(),
        "a stale generation"
    );
    assert_eq!(store.get("k").unwrap().unwrap().value, b"b");
    assert!(store.invalidate_if("k", second).unwrap());
    assert_eq!(store.get("k").unwrap(), None);
    let third = store.put("k", b"c", Duration::from_millis(200)).unwrap();
    assert!(third != first && third != second);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(store.get("k").unwrap(), None, "expired by the store's TTL");

    // Leases: one owner, released only by it, ending by themselves.
    let lease = Lease::acquire(store, "lease", Duration::from_millis(300))
        .unwrap()
        .unwrap();
    assert!(Lease::acquire(store, "lease", TTL).unwrap().is_none());
    assert!(!store.release("lease", "someone-else").unwrap());
    assert!(Lease::acquire(store, "lease", TTL).unwrap().is_none());
    assert!(store.release(lease.name(), lease.owner()).unwrap());
    let abandoned = Lease::acquire(store, "lease", Duration::from_millis(200))
        .unwrap()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let next = Lease::acquire(store, "lease", TTL).unwrap().unwrap();
    assert!(
        !abandoned.release(store).unwrap(),
        "an expired lease is not released"
    );
    assert!(next.release(store).unwrap());

    // Records: atomic under concurrency.
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..25 {
                    store
                        .update_record("counter", &mut |current| {
                            let n: u64 = current
                                .map(|b| String::from_utf8_lossy(b).parse().unwrap())
                                .unwrap_or(0);
                            Some((n + 1).to_string().into_bytes())
                        })
                        .unwrap();
                }
            });
        }
    });
    let mut seen = None;
    store
        .update_record("counter", &mut |current| {
            seen = current.map(<[u8]>::to_vec);
            None
        })
        .unwrap();
    assert_eq!(seen.as_deref(), Some(&b"200"[..]));
}

#[test]
fn the_memory_store_is_the_reference() {
    conformance(&MemoryStore::new());
}

#[test]
fn redis_behaves_like_the_reference() {
    let server = RedisServer::start();
    conformance(&server.store());
}

#[test]
fn generations_survive_expiry_so_a_stale_writer_cannot_overwrite() {
    let server = RedisServer::start();
    let store = server.store();
    let old = store.put("k", b"a", Duration::from_millis(100)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let new = store.compare_and_set("k", 0, b"b", TTL).unwrap().unwrap();
    assert!(new > old);
    assert_eq!(
        store.compare_and_set("k", old, b"stale", TTL).unwrap(),
        None
    );
}

#[test]
fn an_unreachable_server_is_an_error_naming_it_without_the_password() {
    let port = free_port();
    let store = RedisStore::builder(format!("redis://user:hunter2-secret@127.0.0.1:{port}/0"))
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let error: StoreError = store.get("k").unwrap_err();
    let text = error.to_string();
    assert!(text.contains(&format!("redis 127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!format!("{store:?}").contains("hunter2"));
    assert!(store.try_acquire("l", "o", TTL).is_err());
    assert!(store.update_record("r", &mut |_| None).is_err());
}

#[test]
fn bad_urls_are_refused_without_repeating_them() {
    let error = RedisStore::open("http://user:hunter2@example.com").unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn a_restarted_server_is_used_again_without_rebuilding_the_store() {
    let mut server = RedisServer::start();
    let port = server.port();
    let store: Arc<dyn SharedStore> = server.store().shared();
    store.put("k", b"a", TTL).unwrap();
    server.kill();
    assert!(store.get("k").is_err());
    let _server = RedisServer::start_on(port);
    assert_eq!(store.get("k").unwrap(), None, "restarted empty");
    store.put("k", b"b", TTL).unwrap();
    assert_eq!(store.get("k").unwrap().unwrap().value, b"b");
}

#[test]
fn a_password_protected_server_needs_the_password() {
    let server = RedisServer::start();
    let mut raw = server.raw();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("s3cret-pw")
        .exec(&mut raw)
        .unwrap();
    let without = server.store();
    let error = without.get("k").unwrap_err().to_string();
    assert!(
        error.contains("NOAUTH") || error.contains("server error"),
        "{error}"
    );
    let with = RedisStore::open(format!("redis://:s3cret-pw@127.0.0.1:{}", server.port())).unwrap();
    with.put("k", b"v", TTL).unwrap();
    assert!(with.get("k").unwrap().is_some());
    let wrong = RedisStore::open(format!("redis://:wrong-pw@127.0.0.1:{}", server.port())).unwrap();
    let error = wrong.get("k").unwrap_err().to_string();
    assert!(
        !error.contains("wrong-pw") && !error.contains("s3cret"),
        "{error}"
    );
}

#[test]
fn rediss_over_rustls_with_a_private_root() {
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/../payauth-sandbox/keys");
    let port = free_port();
    let dir = std::env::temp_dir().join(format!(
        "payauth-redis-tls-{}",
        payauth_core::random_owner()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = std::process::Command::new(payauth_redis::LocalRedis::binary())
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--tls-auth-clients",
            "no",
        ])
        .arg("--tls-cert-file")
        .arg(format!("{keys}/tls-server-cert.pem"))
        .arg("--tls-key-file")
        .arg(format!("{keys}/tls-server-key.pem"))
        .arg("--tls-ca-cert-file")
        .arg(format!("{keys}/tls-ca.pem"))
        .arg("--dir")
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ca = std::fs::read(format!("{keys}/tls-ca.pem")).unwrap();
    let store = RedisStore::builder(format!("rediss://127.0.0.1:{port}"))
        .trust_root_pem(ca)
        .build()
        .unwrap();
    let started = crate::server::wait_for(|| store.ping().is_ok());
    // Without the private root the server's certificate is not trusted.
    let untrusted = RedisStore::open(format!("rediss://127.0.0.1:{port}")).unwrap();
    let untrusted_result = untrusted.ping();
    let stored = started.then(|| {
        store.put("k", b"over tls", TTL).unwrap();
        store.get("k").unwrap().unwrap().value
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        started,
        "redis-server with TLS did not answer over rediss://"
    );
    assert_eq!(stored.as_deref(), Some(&b"over tls"[..]));
    assert!(untrusted_result.is_err());
}
