//! Integration tests of `card-encryption`: vendor fixtures, round trips on every backend,
//! OpenSSL as an independent oracle, refused inputs, redaction and rotation.

// Helpers outside #[test] functions: a failed unwrap there is a failed test, as inside one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_input;
mod openssl_oracle;
mod redaction;
mod rotation;
mod round_trip;
mod support;
mod vendor;
