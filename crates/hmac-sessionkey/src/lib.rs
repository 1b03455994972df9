#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's log target (see the README's "Logs").
const TARGET: &str = env!("CARGO_CRATE_NAME");

mod client;
mod credentials;
mod envelope;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod requests;
mod secured;
mod session;

pub use client::{Client, ClientBuilder, DEFAULT_SESSION_MARGIN, Environment, SESSION_LIFETIME};
pub use credentials::{
    ACCOUNT_VAR, AccountCode, Credentials, HmacSecret, SignerId, TOKEN_VAR, Token,
};
pub use envelope::{format_ms_json_date, ms_json_date, parse_ms_json_date};
pub use error::{Error, GuardRefusal, Result, VendorMessage};
pub use guard::{
    DEFAULT_FAILURE_CAP, DEFAULT_IN_FLIGHT_TTL, FileGuardStore, GUARD_STATE_VERSION, GuardState,
    GuardStore, InvalidGuardState, LockoutGuard, MAX_FAILURE_CAP, MemoryGuardStore,
    SharedGuardStore,
};
/// payauth-core, where the shared types below come from.
pub use payauth_core;
/// How instants are shown (RFC 3339 UTC), for your own logs and messages.
pub use payauth_core::Rfc3339;
pub use payauth_core::{
    CaCertificate, ClientCertificate, Clock, Deadline, HttpSettings, ManualClock, MemoryStore,
    Proxy, SharedClock, SharedStore, SystemClock, TransportError, TransportKind, Trust,
};
pub use requests::{
    AccountHolder, Address, Amounts, CardSaleManual, CardSaleResult, ManualCard, PurchaseItems,
    VoidResult,
};
pub use secured::secured_header;
pub use session::{Merchant, Session, User};
