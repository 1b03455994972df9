//! A throwaway `redis-server` for tests, benchmarks and demos.

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::RedisStore;

/// A `redis-server` process on a free loopback port with its own temporary directory and no
/// persistence, stopped (and the directory removed) on drop. For tests and demos, not production.
///
/// The binary is `$PAYAUTH_REDIS_SERVER`, or `redis-server` on the `PATH` (Debian package
/// `redis-server`).
pub struct LocalRedis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl LocalRedis {
    /// The `redis-server` binary this would run.
    pub fn binary() -> String {
        std::env::var("PAYAUTH_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
    }

    /// Whether the binary runs (`redis-server --version`).
    pub fn available() -> bool {
        Command::new(Self::binary())
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts a server on a free port and waits (up to 20 s) until it answers `PING`.
    ///
    /// # Errors
    /// The binary is missing or the server does not come up.
    pub fn start() -> io::Result<LocalRedis> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        Self::start_on(port)
    }

    /// Starts a server on `port` (to restart one that was [killed](Self::kill), empty).
    ///
    /// # Errors
    /// As for [`start`](Self::start).
    pub fn start_on(port: u16) -> io::Result<LocalRedis> {
        let dir = std::env::temp_dir().join(format!(
            "payauth-redis-{}-{port}-{}",
            std::process::id(),
            payauth_core::random_owner()
        ));
        std::fs::create_dir_all(&dir)?;
        let child = Command::new(Self::binary())
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot run {} ({e}): install the Debian package redis-server or set PAYAUTH_REDIS_SERVER",
                        Self::binary()
                    ),
                )
            })?;
        let mut server = LocalRedis {
            child: Some(child),
            port,
            dir,
        };
        let store = server.store().map_err(io::Error::other)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while store.ping().is_err() {
            let exited = server
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            if exited || Instant::now() > deadline {
                server.kill();
                return Err(io::Error::other(format!(
                    "redis-server on port {port} did not start"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A store on this server with short timeouts.
    ///
    /// # Errors
    /// Never in practice (the URL is well formed).
    pub fn store(&self) -> Result<RedisStore, payauth_core::StoreError> {
        RedisStore::builder(self.url())
            .connect_timeout(Duration::from_millis(500))
            .build()
    }

    /// Kills the server with SIGKILL, as a crash would; everything it held is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl fmt::Debug for LocalRedis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRedis")
            .field("port", &self.port)
            .field("running", &self.child.is_some())
            .finish()
    }
}
