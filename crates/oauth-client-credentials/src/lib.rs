#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod assertion;
mod client;
mod credentials;
mod discovery;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod signing;
mod token;

pub use assertion::{ASSERTION_LIFETIME, PrivateKey};
pub use client::{Client, ClientBuilder, DEFAULT_LIFETIME, DEFAULT_REFRESH_MARGIN, Environment};
pub use credentials::{
    AuthMethod, BasicCredentials, CLIENT_ID_VAR, CLIENT_SECRET_VAR, ClientId, ClientSecret,
    Credentials,
};
pub use error::{Error, Result};
/// How instants are shown (RFC 3339 UTC), for your own logs and messages.
pub use payauth_core::Rfc3339;
pub use payauth_core::{
    CaCertificate, ClientCertificate, Clock, Deadline, HttpRequest, HttpResponse, HttpSettings,
    ManualClock, MemoryStore, Proxy, RetryPolicy, SharedClock, SharedStore, SystemClock,
    TransportError, TransportKind, Trust,
};
pub use signing::{SignedParameters, SigningKey};
pub use token::AccessToken;

/// The shared plumbing (retry rules, HTTP types), for requests you build yourself.
pub use payauth_core;
