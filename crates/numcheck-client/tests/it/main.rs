//! Integration tests of `numcheck-client` over real HTTP against the sandbox.

// Helpers outside #[test] functions: a failed unwrap there is a failed test, as inside one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_input;
mod deadline;
mod faults;
mod flow;
mod init_call;
mod redaction;
mod status;
mod support;
mod tls;
mod verification;
