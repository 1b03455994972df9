//! Integration tests of `hmac-sessionkey` over real HTTP against the sandbox's EasyPay emulator.

// Helpers outside #[test] functions: a failed unwrap there is a failed test, as inside one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod calls;
mod deadline;
mod faults;
mod guard_file;
mod lockout;
mod redaction;
mod session;
mod support;
