//! payauth-redis: four processes sharing one Redis: one token, one EasyPay attempt with a bad
//! token, and a lease holder killed mid-refresh. Skipped, with the reason, without `redis-server`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use payauth_redis::LocalRedis;
use payauth_sandbox::{Fault, Sandbox};

use super::DemoResult;

pub(super) fn run() -> DemoResult {
    println!("\n== payauth-redis: a fleet of four processes sharing one Redis");
    if !LocalRedis::available() {
        println!(
            "   skipped: `{}` was not found (apt-get install redis-server, or set \
             PAYAUTH_REDIS_SERVER); the other flows use the default in-process store",
            LocalRedis::binary()
        );
        return Ok(());
    }
    let worker = worker()?;
    let redis = LocalRedis::start()?;
    println!(
        "   redis-server on {} (temporary directory, no persistence)",
        redis.url()
    );

    let sandbox = Sandbox::start()?;
    let token_url = format!("{}/api/token", sandbox.url());
    let args = ["oauth", &redis.url(), &token_url, "8", "100"];
    let lines = at_once(&worker, 4, &args)?;
    println!(
        "   4 processes x 8 threads x 100 bearer() calls: {:?}\n   token requests: {} (one for the whole fleet)",
        lines,
        sandbox.counters().token_requests
    );
    if sandbox.counters().token_requests != 1 {
        return Err("expected one token request".into());
    }

    let base = format!("{}/APIcardProcREST/v1.0.0/", sandbox.url());
    let guard = format!("redis:{}", redis.url());
    let bad = "00000000000000000000000000000000";
    let before = sandbox.counters().token_requests;
    let lines = at_once(&worker, 4, &["easypay", &guard, &base, bad])?;
    let attempts = sandbox.counters().token_requests - before;
    println!("   4 processes start at once with a bad EasyPay token:");
    for line in &lines {
        println!("     {line}");
    }
    println!(
        "   authentication attempts that reached EasyPay: {attempts} (the others waited for its outcome)"
    );
    if attempts != 1 {
        return Err("expected one EasyPay attempt".into());
    }

    // A fresh Redis and sandbox: no token anywhere, and the first token request hangs.
    let redis = LocalRedis::start()?;
    let sandbox = Sandbox::start()?;
    sandbox.inject("/api/token", Fault::Delay(Duration::from_secs(60)));
    let token_url = format!("{}/api/token", sandbox.url());
    let args = ["oauth", &redis.url(), &token_url, "1", "1", "2000"];
    let mut holder = Command::new(&worker)
        .args(args)
        .stdout(Stdio::null())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while sandbox.counters().token_requests == 0 {
        if Instant::now() > deadline {
            return Err("the lease holder never asked for a token".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    holder.kill()?; // SIGKILL, lease still held
    holder.wait()?;
    println!("   the process refreshing for the fleet was killed (SIGKILL) holding a 2 s lease");
    let started = Instant::now();
    let lines = at_once(&worker, 3, &args)?;
    println!(
        "   3 other processes: {:?} after {:.1} s; token requests: {} (the dead one's and one more)",
        lines,
        started.elapsed().as_secs_f64(),
        sandbox.counters().token_requests
    );
    if lines.iter().any(|l| !l.starts_with("ok")) {
        return Err("a process did not get a token after the holder died".into());
    }
    Ok(())
}

/// The fleet_worker example of payauth-redis, built now (a no-op when up to date).
fn worker() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let status = crate::process::cargo(["build", "--quiet", "-p", "payauth-redis"])
        .args(["--example", "fleet_worker"])
        .status()?;
    if !status.success() {
        return Err("building payauth-redis's fleet_worker example failed".into());
    }
    Ok(crate::process::root()
        .join("target/debug/examples")
        .join(format!("fleet_worker{}", std::env::consts::EXE_SUFFIX)))
}

/// Runs `n` workers that act at the same instant; their one-line outputs.
fn at_once(
    worker: &PathBuf,
    n: usize,
    args: &[&str],
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let start_at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() + 1500;
    let children = (0..n)
        .map(|_| {
            Command::new(worker)
                .args(args)
                .env("START_AT_MS", start_at.to_string())
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut lines = Vec::new();
    for child in children {
        let output = child.wait_with_output()?;
        lines.push(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    Ok(lines)
}
