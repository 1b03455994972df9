use payauth_core::{TransportError, retryable_status};

use crate::headers::ResponseHeaders;
use crate::problem::Problem;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong. No variant carries the API key, a Bearer token or a session
/// token. Each variant says whether calling again can help.
///
/// By the time a [`Client`](crate::Client) call returns one of these, the retries it makes itself
/// (transport failures, 408, 429, 5xx, one new token after a 401) are spent. To try again later
/// without risking a second session, pass the same
/// [`IdempotencyKey`](crate::IdempotencyKey) in the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given to a constructor, request or builder broke a rule. Nothing was sent. Not
    /// retryable: fix the input.
    #[error("invalid {field}: {rule}")]
    InvalidInput {
        /// The field or setting.
        field: &'static str,
        /// The rule it broke.
        rule: &'static str,
    },

    /// No HTTP response (connect, timeout, TLS, lost connection, oversized body). Retrying can
    /// help for connection failures and timeouts; [`TransportError::kind`] tells which, and
    /// [`TransportError::may_have_reached_server`] whether the server may have acted.
    #[error("transport: {0}")]
    Transport(TransportError),

    /// Payroc answered with RFC 7807 problem details. Branch on [`Problem::kind`] and
    /// [`Problem::status`], never on the text. Retryable for 408, 429 and 5xx.
    #[error("{0}")]
    Problem(Box<Problem>),

    /// Payroc refused for now (429 or 5xx) and asked, with `Retry-After`, for a wait longer than
    /// this call's deadline allows (the retry policy's deadline, by default the client's
    /// timeout) or than its `max_retry_after`. The wait was not taken. Retryable after
    /// `retry_after`, with the same idempotency key.
    #[error("Payroc asked to retry after {}s (HTTP {status}), past this call's deadline", .retry_after.as_secs())]
    RetryLater {
        /// The HTTP status.
        status: u16,
        /// The server's `Retry-After`.
        retry_after: std::time::Duration,
        /// The error the response makes on its own.
        #[source]
        cause: Box<Error>,
    },

    /// HTTP 403 with a body that is not problem details: not allowed to act on this terminal
    /// or resource. Not retryable.
    #[error("forbidden (HTTP 403): {excerpt}")]
    Forbidden {
        /// The body's first characters, control characters blanked.
        excerpt: String,
        /// The `location` and request-id headers.
        headers: ResponseHeaders,
    },

    /// An error status with a body that is not problem details (an HTML page from a proxy, say):
    /// the status and the body's first characters. Retryable for 408, 429 and 5xx.
    #[error("unexpected HTTP {status}: {excerpt}")]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// The body's first characters, control characters blanked.
        excerpt: String,
        /// The `location` and request-id headers.
        headers: ResponseHeaders,
    },

    /// A success status whose body is not what Payroc documents (malformed JSON, no token, an
    /// unreadable `expiresAt`). The body is not quoted: it may hold a token. Not retryable
    /// without a change on the server.
    #[error("unusable response (HTTP {status}): {reason}")]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The operating system's random source failed, so no idempotency key could be made.
    /// Nothing was sent. Not retryable in any useful sense: the system is broken.
    #[error("the operating system's random source failed")]
    RandomSource,
}

impl Error {
    /// Whether the same call may succeed if made again later (with the same idempotency key,
    /// for a session).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_transient(),
            Error::RetryLater { .. } => true,
            Error::Problem(problem) => retryable_status(problem.status()),
            Error::UnexpectedResponse { status, .. } => retryable_status(*status),
            Error::InvalidInput { .. }
            | Error::Forbidden { .. }
            | Error::InvalidResponse { .. }
            | Error::RandomSource => false,
        }
    }

    /// The response headers worth quoting (`location`, request ids), when there was a response.
    pub fn headers(&self) -> Option<&ResponseHeaders> {
        match self {
            Error::Problem(problem) => Some(problem.headers()),
            Error::Forbidden { headers, .. } | Error::UnexpectedResponse { headers, .. } => {
                Some(headers)
            }
            _ => None,
        }
    }

    /// The problem details, when Payroc sent them.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Problem(problem) => Some(problem),
            _ => None,
        }
    }
}

/// The cause is shown in this error's message and not returned again by `source()` (the
/// workspace's rule, so a chained report prints it once).
impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}

impl From<Problem> for Error {
    fn from(problem: Problem) -> Self {
        Error::Problem(Box::new(problem))
    }
}
