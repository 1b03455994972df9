//! Real processes (the `fleet_worker` example) sharing one Redis and one sandbox.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use payauth_sandbox::{Fault, Sandbox};

use crate::server::{RedisServer, wait_until};

const BAD_TOKEN: &str = "00000000000000000000000000000000";

/// The worker binary, built beside this test binary (a no-op when `cargo test` already built it;
/// needed when only this test target was built, and so a changed worker is never stale).
pub(crate) fn worker() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let dir = exe.parent().unwrap().parent().unwrap();
            let path = dir
                .join("examples")
                .join(format!("fleet_worker{}", std::env::consts::EXE_SUFFIX));
            let status = Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "payauth-redis",
                    "--example",
                    "fleet_worker",
                ])
                .status()
                .unwrap();
            assert!(status.success(), "building the fleet_worker example failed");
            assert!(path.exists(), "{} is missing", path.display());
            path
        })
        .clone()
}

/// Starts `n` workers with `args` that all act at the same instant.
fn spawn_at_once(n: usize, args: &[String]) -> Vec<Child> {
    let start_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 1500;
    (0..n)
        .map(|_| {
            Command::new(worker())
                .args(args)
                .env("START_AT_MS", start_at.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect()
}

fn outputs(children: Vec<Child>) -> Vec<String> {
    children
        .into_iter()
        .map(|child| {
            let Output { status, stdout, .. } = child.wait_with_output().unwrap();
            assert!(status.success(), "worker exited with {status}");
            String::from_utf8(stdout).unwrap().trim().to_owned()
        })
        .collect()
}

fn oauth_args(
    server: &RedisServer,
    sandbox: &Sandbox,
    threads: usize,
    calls: usize,
) -> Vec<String> {
    vec![
        "oauth".into(),
        server.url(),
        format!("{}/api/token", sandbox.url()),
        threads.to_string(),
        calls.to_string(),
    ]
}

#[test]
fn eight_processes_times_eight_threads_fetch_one_token_per_lifetime() {
    let server = RedisServer::start();
    let sandbox = Sandbox::start().unwrap();
    let workers = spawn_at_once(8, &oauth_args(&server, &sandbox, 8, 50));
    for line in outputs(workers) {
        assert_eq!(line, "ok 400 calls");
    }
    assert_eq!(sandbox.counters().token_requests, 1);
}

#[test]
fn without_redis_each_process_fetches_its_own() {
    // The comparison that shows what the store buys (and that the count above can fail).
    let sandbox = Sandbox::start().unwrap();
    let args = vec![
        "oauth".into(),
        "-".into(),
        format!("{}/api/token", sandbox.url()),
        "8".into(),
        "10".into(),
    ];
    for line in outputs(spawn_at_once(4, &args)) {
        assert_eq!(line, "ok 80 calls");
    }
    assert_eq!(sandbox.counters().token_requests, 4);
}

fn bad_token_processes(guard: String) -> (Sandbox, Vec<String>) {
    let sandbox = Sandbox::start().unwrap();
    let args = vec![
        "easypay".into(),
        guard,
        format!("{}/APIcardProcREST/v1.0.0/", sandbox.url()),
        BAD_TOKEN.into(),
    ];
    let lines = outputs(spawn_at_once(8, &args));
    (sandbox, lines)
}

#[test]
fn eight_processes_with_a_bad_token_send_one_attempt_with_the_file_store() {
    let path = std::env::temp_dir().join(format!(
        "payauth-fleet-guard-{}.json",
        payauth_core::random_owner()
    ));
    let (sandbox, lines) = bad_token_processes(format!("file:{}", path.display()));
    let _ = std::fs::remove_file(&path);
    assert_eq!(sandbox.counters().token_requests, 1, "{lines:?}");
    assert_eq!(
        lines.iter().filter(|l| *l == "err rejected").count(),
        1,
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l == "err rejected" || l.starts_with("err guarded"))
    );
}

#[test]
fn eight_processes_with_a_bad_token_send_one_attempt_with_redis() {
    let server = RedisServer::start();
    let (sandbox, lines) = bad_token_processes(format!("redis:{}", server.url()));
    assert_eq!(sandbox.counters().token_requests, 1, "{lines:?}");
    assert_eq!(sandbox.easypay().failure_count(), 1);
    assert_eq!(
        lines.iter().filter(|l| *l == "err rejected").count(),
        1,
        "{lines:?}"
    );
}

#[test]
fn a_lease_holder_killed_mid_refresh_delays_the_others_by_at_most_the_lease() {
    let server = RedisServer::start();
    let sandbox = Sandbox::start().unwrap();
    // The first token request hangs: its process holds the lease when it is killed.
    sandbox.inject("/api/token", Fault::Delay(Duration::from_secs(120)));
    let mut args = oauth_args(&server, &sandbox, 1, 1);
    args.push("2000".into());
    let mut holder = Command::new(worker())
        .args(&args)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut raw = server.raw();
    wait_until("the holder takes the lease", || {
        let leases: Vec<String> = redis::cmd("KEYS").arg("*:lease").query(&mut raw).unwrap();
        !leases.is_empty()
    });
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();

    let started = Instant::now();
    let lines = outputs(spawn_at_once(3, &args));
    assert!(lines.iter().all(|l| l == "ok 1 calls"), "{lines:?}");
    // Not the 120 s of the dead holder's request: the lease (2 s) bounds the wait.
    assert!(started.elapsed() < Duration::from_secs(60), "did not hang");
    assert_eq!(
        sandbox.counters().token_requests,
        2,
        "the dead one's and one more"
    );
}
