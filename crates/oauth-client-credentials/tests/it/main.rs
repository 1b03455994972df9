//! Integration tests of `oauth-client-credentials` over real HTTP against the sandbox.

// Helpers outside #[test] functions: a failed unwrap there is a failed test, as inside one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authlib;
mod basic_modes;
mod cache;
mod deadline;
mod errors;
mod faults;
mod interop;
mod redaction;
mod signing;
mod support;
mod tls;
