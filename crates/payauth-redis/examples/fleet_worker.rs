//! One process of a fleet, for the multi-process tests, the benchmark and the demo:
//!
//! ```text
//! fleet_worker oauth   <redis-url|-> <token-url> <threads> <calls> [lease-ms]
//! fleet_worker easypay <file:PATH|redis:URL> <base-url> <token>
//! ```
//!
//! With `START_AT_MS` (Unix milliseconds) in the environment it waits until then, so processes
//! started one after another act at once. It prints one line, `ok ...` or `err ...`, and never
//! prints a secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac_sessionkey as easypay;
use oauth_client_credentials as oauth;
use payauth_core::SharedStore;
use payauth_redis::RedisStore;
use payauth_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_EASYPAY_ACCOUNT};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let line = match args.first().map(String::as_str) {
        Some("oauth") => oauth_worker(&args[1..]),
        Some("easypay") => easypay_worker(&args[1..]),
        _ => "err usage: fleet_worker oauth|easypay ...".to_owned(),
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    if line.starts_with("err usage") {
        std::process::exit(2);
    }
}

fn store(url: &str) -> Option<Arc<dyn SharedStore>> {
    (url != "-").then(|| {
        RedisStore::builder(url)
            .connect_timeout(Duration::from_millis(500))
            .build()
            .unwrap()
            .shared()
    })
}

fn wait_for_start() {
    let Some(at) = std::env::var("START_AT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    if at > now {
        std::thread::sleep(Duration::from_millis(at - now));
    }
}

fn oauth_worker(args: &[String]) -> String {
    let [redis_url, token_url, threads, calls, rest @ ..] = args else {
        return "err usage: fleet_worker oauth <redis-url|-> <token-url> <threads> <calls> [lease-ms]".to_owned();
    };
    let threads: usize = threads.parse().unwrap();
    let calls: usize = calls.parse().unwrap();
    let mut builder = oauth::Client::builder(
        oauth::Credentials::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).unwrap(),
    )
    .token_url(token_url.as_str())
    .auth_method(oauth::AuthMethod::BasicPlain)
    .retry(oauth::RetryPolicy::never());
    if let Some(store) = store(redis_url) {
        builder = builder.shared_store(store);
    }
    if let Some(lease) = rest.first() {
        builder = builder.shared_lease_ttl(Duration::from_millis(lease.parse().unwrap()));
    }
    let client = builder.build().unwrap();
    wait_for_start();
    let start = Barrier::new(threads);
    let failures: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (client, start) = (&client, &start);
                s.spawn(move || {
                    start.wait();
                    (0..calls).filter(|_| client.bearer().is_err()).count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    if failures == 0 {
        format!("ok {} calls", threads * calls)
    } else {
        format!("err {failures} failed calls")
    }
}

fn easypay_worker(args: &[String]) -> String {
    let [guard, base_url, token] = args else {
        return "err usage: fleet_worker easypay <file:PATH|redis:URL> <base-url> <token>"
            .to_owned();
    };
    let credentials = easypay::Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, token).unwrap();
    let builder = easypay::Client::builder(credentials).base_url(base_url.as_str());
    let builder = if let Some(path) = guard.strip_prefix("file:") {
        builder.lockout_guard(easypay::LockoutGuard::file(path))
    } else if let Some(url) = guard.strip_prefix("redis:") {
        builder.shared_store(store(url).unwrap())
    } else {
        return "err usage: guard is file:PATH or redis:URL".to_owned();
    };
    let client = builder.build().unwrap();
    wait_for_start();
    match client.session() {
        Ok(_) => "ok session".to_owned(),
        Err(easypay::Error::Guarded(refusal)) => format!("err guarded: {refusal}"),
        Err(easypay::Error::CredentialsRejected { .. }) => "err rejected".to_owned(),
        Err(easypay::Error::GuardStore(message)) => format!("err guard store: {message}"),
        Err(other) => format!("err {other}"),
    }
}
