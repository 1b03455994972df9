#![doc = include_str!("../README.md")]

mod cell;
mod clock;
mod http;
mod report;
mod retry;
mod token;

pub use cell::{CredentialCell, Expiring};
pub use clock::{
    Clock, MAX_CREDENTIAL_LIFETIME, ManualClock, SharedClock, SystemClock, expiry_after,
};
pub use http::{
    DEFAULT_BODY_LIMIT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, EXCERPT_CHARS, Http, HttpConfig,
    HttpRequest, HttpResponse, Method, TransportError, TransportKind, excerpt, require_secure_url,
};
pub use report::{ErrorChain, redact_url};
pub use retry::{
    Idempotency, RetryPolicy, Verdict, parse_retry_after, status_verdict, transport_verdict,
};
pub use token::{TokenResponse, TokenTypeRule, parse_token_response, parse_token_response_with};
