//! The cost of the token cache and of an authenticated call, against references measured in the
//! same process on the same sandbox. Run through `cargo xtask bench`, which pins it to one CPU:
//! on a VM, a sandbox thread and a client thread woken on different CPUs make single loopback
//! calls bimodal (about 25 or 115 µs), which hides a 10% difference. Prints `name value` lines.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use oauth_client_credentials::{AuthMethod, Client, Credentials};
use payauth_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox};

/// Short batches, many rounds, interleaved: a slow moment hits both candidates alike.
const ROUNDS: usize = 101;

fn main() {
    // The system clock on both sides: real time, as in production.
    let sandbox = Sandbox::start().unwrap();
    let client =
        Client::builder(Credentials::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).unwrap())
            // The sandbox's default client takes plain Basic; no `Auto` probe in the figures.
            .auth_method(AuthMethod::BasicPlain)
            .token_url(format!("{}/api/token", sandbox.url()))
            .build()
            .unwrap();
    let token = client.bearer().unwrap();

    // 1. A cached bearer() against the cheapest way to share a token: a String behind a Mutex.
    let shared = Mutex::new(token.secret().to_owned());
    let (mut ours, mut reference) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(ns_per_op(20_000, || {
            black_box(client.bearer().unwrap());
        }));
        reference.push(ns_per_op(20_000, || {
            black_box(shared.lock().unwrap().clone());
        }));
    }
    println!("oauth.cached_bearer_ns {:.1}", median(ours));
    println!("oauth.mutex_string_clone_ns {:.1}", median(reference));

    // 2. An authenticated call against the same request made with bare ureq and a fixed header.
    let url = format!("{}/api/resource", sandbox.url());
    let bare = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let header = token.header_value().to_owned();
    let (mut ours, mut reference) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(ns_per_op(25, || {
            let response = client.get(&url).unwrap();
            assert_eq!(response.status(), 200);
            black_box(response);
        }));
        reference.push(ns_per_op(25, || {
            let mut response = bare
                .get(&url)
                .header("Authorization", &header)
                .call()
                .unwrap();
            assert_eq!(response.status(), 200);
            black_box(response.body_mut().read_to_vec().unwrap());
        }));
    }
    println!("oauth.call_us {:.2}", median(ours) / 1000.0);
    println!("oauth.bare_ureq_call_us {:.2}", median(reference) / 1000.0);

    // 3. Token requests while 32 threads make 10,000 calls within one token lifetime, starting
    //    from an empty cache (a fresh client): the thundering-herd case.
    let fresh =
        Client::builder(Credentials::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).unwrap())
            // The sandbox's default client takes plain Basic; no `Auto` probe in the figures.
            .auth_method(AuthMethod::BasicPlain)
            .token_url(format!("{}/api/token", sandbox.url()))
            .build()
            .unwrap();
    let before = sandbox.counters().token_requests;
    let remaining = AtomicUsize::new(10_000);
    std::thread::scope(|s| {
        for _ in 0..32 {
            s.spawn(|| {
                while remaining
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    assert_eq!(fresh.get(&url).unwrap().status(), 200);
                }
            });
        }
    });
    let fetched = sandbox.counters().token_requests - before;
    println!("oauth.token_requests_per_10k_calls {fetched}");
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
