//! `payauth-redis` against a real `redis-server` (started per test on a free loopback port) and
//! the clients against the sandbox over real HTTP, in this process and in real worker processes.

// Helpers outside #[test] functions: a failed unwrap there is a failed test, as inside one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod clients;
mod faults;
mod fleet;
mod server;
mod store;
