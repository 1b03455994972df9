//! Integration tests of `card-encryption`: vendor fixtures, round trips on every backend,
//! OpenSSL as an independent oracle, refused inputs, redaction and rotation.

mod bad_input;
mod openssl_oracle;
mod redaction;
mod rotation;
mod round_trip;
mod support;
mod vendor;
