//! The cost of a session call against the same request made with bare ureq, measured in the same
//! process on the same sandbox, and the authorize calls behind 1,000 sessions. Run through
//! `cargo xtask bench`, which pins it to one CPU: on a VM, a sandbox thread and a client thread
//! woken on different CPUs make single loopback calls bimodal (about 25 or 115 µs), which hides a
//! 10% difference. Prints `name value` lines.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use payauth_sandbox::{DEFAULT_PAYROC_API_KEY, Sandbox};
use payroc_hostedfields::payauth_core::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
use payroc_hostedfields::{
    ApiKey, Client, Environment, IdempotencyKey, SessionRequest, TerminalId,
};

/// Short batches, many rounds, interleaved: a slow moment hits both candidates alike.
const ROUNDS: usize = 101;
const BATCH: usize = 25;

fn client(sandbox: &Sandbox) -> Client {
    Client::builder(ApiKey::new(DEFAULT_PAYROC_API_KEY).unwrap())
        .environment(Environment::Test)
        .identity_url(format!("{}/authorize", sandbox.url()))
        .api_base(format!("{}/v1", sandbox.url()))
        .build()
        .unwrap()
}

fn main() {
    // The system clock on both sides: real time, as in production.
    let sandbox = Sandbox::start().unwrap();
    let client = client(&sandbox);
    let header = client.bearer().unwrap().header_value().to_owned();
    let terminal = TerminalId::new("1234001").unwrap();

    // 1. A session call against the same POST made with bare ureq: a fixed Authorization, the
    //    same JSON body, and a fresh Idempotency-Key per call made the same way for both (the
    //    key is given to ours too), so key generation is not what differs. Ours adds the token
    //    cache, the retry loop, the request checks and parsing the 201 into typed fields.
    let url = format!(
        "{}/processing-terminals/{}/hosted-fields-sessions",
        client.api_base(),
        terminal
    );
    let body = format!(
        r#"{{"libVersion":"{}","scenario":"payment"}}"#,
        client.lib_version()
    );
    let bare = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    // Not a target, an explanation: bare ureq with the timeouts payauth-core always
    // sets (each costs a setsockopt per I/O), so the report shows what safety costs and what the
    // crate itself adds.
    let phase = Some(DEFAULT_TIMEOUT);
    let timed = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(DEFAULT_CONNECT_TIMEOUT))
            .timeout_per_write(phase)
            .timeout_recv_response(phase)
            .timeout_recv_body(phase)
            .build(),
    );
    let bare_call = |agent: &ureq::Agent| {
        let key = IdempotencyKey::generate().unwrap();
        let mut response = agent
            .post(&url)
            .header("Authorization", &header)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key.to_string())
            .send(body.as_bytes())
            .unwrap();
        assert_eq!(response.status(), 201);
        black_box(response.body_mut().read_to_vec().unwrap());
    };
    let (mut ours, mut reference, mut with_timeouts) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(ns_per_op(BATCH, || {
            let key = IdempotencyKey::generate().unwrap();
            let request = SessionRequest::payment(terminal.clone()).idempotency_key(key);
            black_box(client.create_session(&request).unwrap());
        }));
        reference.push(ns_per_op(BATCH, || bare_call(&bare)));
        with_timeouts.push(ns_per_op(BATCH, || bare_call(&timed)));
    }
    println!("payroc.session_call_us {:.2}", median(ours) / 1000.0);
    println!(
        "payroc.bare_ureq_session_call_us {:.2}",
        median(reference) / 1000.0
    );
    println!(
        "payroc.bare_ureq_with_timeouts_session_call_us {:.2}",
        median(with_timeouts) / 1000.0
    );

    // 2. Authorize calls behind 1,000 sessions made by 16 threads from an empty cache (a fresh
    //    client): the thundering-herd case.
    let fresh = self::client(&sandbox);
    let before = sandbox.counters().token_requests;
    let remaining = AtomicUsize::new(1_000);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                while remaining
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    fresh
                        .create_session(&SessionRequest::payment(terminal.clone()))
                        .unwrap();
                }
            });
        }
    });
    let fetched = sandbox.counters().token_requests - before;
    println!("payroc.authorize_per_1k_sessions {fetched}");
}

fn ns_per_op(batch: usize, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..batch {
        op();
    }
    start.elapsed().as_secs_f64() * 1e9 / batch as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
