//! payroc-hostedfields against the sandbox's Payroc emulator, over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod async_use;
mod cache;
mod deadline;
mod errors;
mod faults;
mod interop;
mod network;
mod redaction;
mod retries;
mod support;
mod tls;
mod validation;
