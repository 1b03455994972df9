#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod call;
mod client;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod input;
mod verification;

pub use call::{Call, CallStatus};
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_LANGUAGE, DEFAULT_POLL_INITIAL,
    DEFAULT_POLL_MAX, Environment,
};
pub use error::{Error, Result};
pub use input::{Description, Phone, SERVICE_SECRET_VAR, ServiceSecret};
/// How instants are shown (RFC 3339 UTC), for your own logs and messages.
pub use payauth_core::Rfc3339;
pub use payauth_core::{
    CaCertificate, ClientCertificate, Clock, Deadline, HttpSettings, ManualClock, Proxy,
    RetryPolicy, SharedClock, SystemClock, TransportError, TransportKind, Trust,
};
pub use verification::{
    DEFAULT_MAX_ATTEMPTS, DEFAULT_TTL, MAX_TTL, Outcome, PendingVerification, VerificationKey,
    VerificationPolicy,
};

/// The shared plumbing (retry rules, HTTP types).
pub use payauth_core;
