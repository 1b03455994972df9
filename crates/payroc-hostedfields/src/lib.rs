#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod headers;
mod problem;
mod request;
mod session;
mod token;

pub use client::{Client, ClientBuilder, DEFAULT_REFRESH_MARGIN, Environment};
pub use error::{Error, Result};
pub use headers::ResponseHeaders;
/// How instants are shown (RFC 3339 UTC), for your own logs and messages.
pub use payauth_core::Rfc3339;
pub use payauth_core::{
    CaCertificate, ClientCertificate, Clock, Deadline, Http, HttpRequest, HttpResponse,
    HttpSettings, ManualClock, MemoryStore, Proxy, RetryPolicy, SharedClock, SharedStore,
    SystemClock, TransportError, TransportKind, Trust,
};
pub use problem::{Link, Problem, ProblemError, ProblemKind};
pub use request::{
    API_KEY_VAR, ApiKey, IdempotencyKey, LibVersion, Scenario, SecureTokenId, SessionRequest,
    TerminalId,
};
pub use session::{HostedFieldsSession, SESSION_LIFETIME, SessionToken};
pub use token::{BearerToken, DEFAULT_LIFETIME};

/// The shared plumbing (retry rules, HTTP types), for requests you build yourself.
pub use payauth_core;
/// The UUID type behind [`IdempotencyKey`].
pub use uuid;
