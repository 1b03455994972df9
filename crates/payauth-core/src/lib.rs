#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cell;
mod clock;
mod deadline;
mod env;
mod fleet;
mod http;
pub mod logging;
mod report;
mod retry;
mod rfc3339;
mod scrub;
mod seal;
mod settings;
mod stage;
mod store;
mod token;

pub use cell::{CredentialCell, Expiring};
pub use clock::{
    Clock, MAX_CREDENTIAL_LIFETIME, ManualClock, SharedClock, SystemClock, expiry_after,
};
pub use deadline::{Attempts, Deadline};
pub use env::secret_from_env;
pub use fleet::{CacheKey, DEFAULT_LEASE_TTL, SharedCache, SharedValue};
pub use http::{
    DEFAULT_BODY_LIMIT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, EXCERPT_CHARS, Http, HttpConfig,
    HttpRequest, HttpResponse, Method, TransportError, TransportKind, excerpt, require_secure_url,
};
pub use logging::LogContext;
pub use report::{ErrorChain, redact_url};
pub use retry::{
    Idempotency, RetryPolicy, RetryReason, Stopped, Verdict, parse_retry_after, retryable_status,
    status_verdict, transport_verdict,
};
pub use rfc3339::Rfc3339;
pub use scrub::{REDACTED, SCRUB_RUN, Scrubber};
pub use seal::Sealer;
pub use settings::{CaCertificate, ClientCertificate, HttpSettings, Proxy, Trust};
pub use stage::{Stage, UnknownStage};
pub use store::{
    CredentialStore, Lease, LeaseStore, MemoryStore, RecordChange, RecordStore, SharedStore,
    StoreError, Stored, random_owner,
};
pub use token::{TokenResponse, TokenTypeRule, parse_token_response, parse_token_response_with};
