//! A real `redis-server` per test (see [`payauth_redis::LocalRedis`]), plus helpers.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use payauth_redis::{LocalRedis, RedisStore};

pub(crate) struct RedisServer(LocalRedis);

impl RedisServer {
    pub(crate) fn start() -> RedisServer {
        RedisServer(LocalRedis::start().unwrap_or_else(|e| panic!("{e}")))
    }

    pub(crate) fn start_on(port: u16) -> RedisServer {
        RedisServer(LocalRedis::start_on(port).unwrap_or_else(|e| panic!("{e}")))
    }

    pub(crate) fn port(&self) -> u16 {
        self.0.port()
    }

    pub(crate) fn url(&self) -> String {
        self.0.url()
    }

    pub(crate) fn store(&self) -> RedisStore {
        self.0.store().unwrap()
    }

    pub(crate) fn kill(&mut self) {
        self.0.kill();
    }

    /// A raw connection, to look at what is stored.
    pub(crate) fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
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

/// Polls `done` for up to 20 s; whether it held.
pub(crate) fn wait_for(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
