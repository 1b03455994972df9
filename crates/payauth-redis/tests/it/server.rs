//! A real `redis-server` per test: free loopback port, temporary directory, no persistence,
//! stopped (and its directory removed) on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use payauth_redis::RedisStore;

/// The `redis-server` binary: `$PAYAUTH_REDIS_SERVER` or `redis-server` on the `PATH`.
pub(crate) fn redis_server_binary() -> String {
    std::env::var("PAYAUTH_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

pub(crate) struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    pub(crate) fn start() -> RedisServer {
        RedisServer::start_on(free_port())
    }

    pub(crate) fn start_on(port: u16) -> RedisServer {
        let dir = std::env::temp_dir().join(format!(
            "payauth-redis-test-{}-{port}-{}",
            std::process::id(),
            payauth_core::random_owner()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(redis_server_binary())
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): install the Debian package redis-server \
                     (apt-get install redis-server) or set PAYAUTH_REDIS_SERVER",
                    redis_server_binary()
                )
            });
        let server = RedisServer {
            child: Some(child),
            port,
            dir,
        };
        let store = server.store();
        let deadline = Instant::now() + Duration::from_secs(20);
        while store.ping().is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub(crate) fn store(&self) -> RedisStore {
        RedisStore::builder(self.url())
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    }

    /// SIGKILL, as a crash would; everything in memory is lost.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A raw connection, to look at what is stored.
    pub(crate) fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `done` until it holds; panics after a generous bound (proof of "did not hang").
pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(10));
    }
}
