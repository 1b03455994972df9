//! Authentications per 10,000 calls inside 25 hours, and the cost of the secured header against a
//! bare HMAC-SHA256 of the same bytes, measured in one process. Run through `cargo xtask bench`;
//! prints `name value` lines.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac as _};
use hmac_sessionkey::{
    Client, Credentials, Error, LockoutGuard, ManualClock, MemoryGuardStore, secured_header,
};
use payauth_sandbox::{DEFAULT_EASYPAY_ACCOUNT, Sandbox};
use sha2::Sha256;

const ROUNDS: usize = 101;
const SESSION_KEY: &str = "9B9175EF556E4DDA93303132323141303035383339";
const SECRET: &str = "7D55DBB3D691C9E0FDF341E4AB38C3C9";

fn main() {
    // 1. 10,000 calls while the shared clock walks 22 hours: one authentication is the target.
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder().clock(clock.shared()).start().unwrap();
    let client = Client::builder(
        Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, DEFAULT_EASYPAY_ACCOUNT.1).unwrap(),
    )
    .base_url(format!("{}/APIcardProcREST/v1.0.0/", sandbox.url()))
    .clock(clock.shared())
    .lockout_guard(LockoutGuard::new(Arc::new(MemoryGuardStore::new()), 3).unwrap())
    .build()
    .unwrap();
    for _ in 0..10_000 {
        // A void of an unknown transaction: the session is checked, then EasyPay answers 6724.
        let answer = client.void(1);
        assert!(
            matches!(answer, Err(Error::Vendor { code: 6724, .. })),
            "{answer:?}"
        );
        clock.advance(Duration::from_secs(8));
    }
    println!(
        "easypay.auth_requests_per_10k_calls {}",
        sandbox.counters().token_requests
    );

    // 2. The secured header against the HMAC it is built around.
    let message = format!("{SESSION_KEY}_1702565789_2547");
    let (mut ours, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(ns_per_op(20_000, || {
            black_box(secured_header(
                black_box(SESSION_KEY),
                SECRET,
                1_702_565_789,
                "2547",
            ));
        }));
        bare.push(ns_per_op(20_000, || {
            let mut mac =
                <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(black_box(message.as_bytes()));
            black_box(mac.finalize().into_bytes());
        }));
    }
    println!("easypay.secured_header_ns {:.1}", median(ours));
    println!("easypay.bare_hmac_ns {:.1}", median(bare));
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
