use std::time::Duration;

use payauth_core::{TransportError, retryable_status};

use crate::call::CallStatus;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong. No variant carries the service secret, the verification key, a
/// call's code or caller number, or the user's phone number. Each variant says whether retrying
/// can help; [`Error::is_retryable`] says the same in code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given to a constructor, builder or [`verify`](crate::PendingVerification::verify)
    /// broke a rule. Not retryable: fix the input.
    #[error("invalid {field}: {rule}")]
    InvalidInput {
        /// The field or setting.
        field: &'static str,
        /// The rule it broke.
        rule: &'static str,
    },

    /// No HTTP response, and either nothing was sent (name, connection or TLS handshake failure,
    /// before the first byte was written) or the request was `get-call-info`, which is safe to
    /// repeat. Retrying can help for connection failures and
    /// timeouts; [`TransportError::kind`] tells which.
    #[error("transport: {0}")]
    Transport(TransportError),

    /// `init-call` failed in a way that leaves open whether NumCheck placed the (paid) call: a
    /// timeout or lost connection after the request was sent, or a 408 or 5xx response.
    /// **Do not repeat `init-call` automatically**: the user may already be receiving a call.
    /// Tell the user, and let them ask for a new call.
    #[error("init-call may have placed a paid call ({cause}); do not repeat it automatically")]
    CallMayHaveBeenPlaced {
        /// What went wrong: an [`Error::Transport`], [`Error::UnexpectedStatus`] or
        /// [`Error::Api`]. Shown in this error's message, so not returned by `source()` too.
        cause: Box<Error>,
    },

    /// The server refused for now (429 or 503) and asked, with `Retry-After`, for a wait longer
    /// than this call's deadline allows (the retry policy's deadline, by default the client's
    /// timeout) or than its `max_retry_after`. The wait was not taken: decide whether to call
    /// again after `retry_after`. For `init-call`, only a 429 is certain not to have placed a
    /// call. Retryable after the wait.
    #[error("NumCheck asked to retry after {}s (HTTP {status}), past this call's deadline", .retry_after.as_secs())]
    RetryLater {
        /// The HTTP status (429 or 503).
        status: u16,
        /// The server's `Retry-After`.
        retry_after: Duration,
        /// The error the response makes on its own.
        #[source]
        cause: Box<Error>,
    },

    /// HTTP 401 or 403: the service secret is wrong, regenerated, or the service is disabled.
    /// Not retryable.
    #[error("NumCheck refused the service secret (HTTP {status})")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
    },

    /// NumCheck answered `success: false` or a non-zero `errorCode`. NumCheck publishes no list
    /// of codes, so they are kept as data. Retryable only for 429 and 5xx statuses.
    #[error(
        "NumCheck error (HTTP {status}, statusCode {}, errorCode {}): {}",
        show(.status_code), show(.error_code), .message.as_deref().unwrap_or("no message")
    )]
    Api {
        /// The HTTP status.
        status: u16,
        /// The `statusCode` member, if present.
        status_code: Option<i64>,
        /// The `errorCode` member, if present.
        error_code: Option<i64>,
        /// The `message` member, if any (server text, cut to 200 characters).
        message: Option<String>,
    },

    /// A status this client cannot use with a body that is not a NumCheck response (an HTML
    /// page from a proxy, say). Retryable for 429 and 5xx, except after `init-call` (which then
    /// reports [`Error::CallMayHaveBeenPlaced`]).
    #[error("unexpected HTTP {status} from NumCheck: {excerpt}")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// The body's first characters.
        excerpt: String,
    },

    /// A 2xx response that is not usable (not JSON, a missing or malformed member). The body
    /// is not quoted: it holds the call's code. Not retryable without a change on the server.
    /// After `init-call`, NumCheck answered success, so the call was most likely placed.
    #[error("unusable NumCheck response (HTTP {status}): {reason}")]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The `code` in an `init-call` response is not the last 4 digits of `callerId`: the user
    /// would be asked for digits they cannot see. The call was placed; it cannot be verified.
    #[error(
        "the code NumCheck returned for call {call_id} is not the last 4 digits of the caller number"
    )]
    CodeMismatch {
        /// The call's id.
        call_id: String,
    },

    /// The operating system's random source failed while generating a
    /// [`VerificationKey`](crate::VerificationKey). Retrying may help.
    #[error("the operating system's random source failed")]
    RandomSource,

    /// [`wait_for_call`](crate::Client::wait_for_call) reached its deadline before the call's
    /// status was final. Waiting again may succeed.
    #[error("the call's status was not final after {waited:?} (last status: {last})")]
    WaitDeadline {
        /// How long was waited, by the client's clock.
        waited: Duration,
        /// The last status seen.
        last: CallStatus,
    },
}

impl Error {
    /// Whether the same call may succeed if made again later. Always `false` for
    /// [`Error::CallMayHaveBeenPlaced`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_transient(),
            Error::Api { status, .. } | Error::UnexpectedStatus { status, .. } => {
                retryable_status(*status)
            }
            Error::RetryLater { .. } => true,
            Error::WaitDeadline { .. } | Error::RandomSource => true,
            _ => false,
        }
    }
}

fn show(value: &Option<i64>) -> String {
    value.map_or_else(|| "absent".to_owned(), |v| v.to_string())
}

/// The cause is shown in this error's message and not returned again by `source()` (the
/// workspace's rule, so a chained report prints it once).
impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;
    use payauth_core::{ErrorChain, TransportKind};

    #[test]
    fn a_chained_report_shows_each_cause_once() {
        let transport = Error::from(TransportError::new(TransportKind::Timeout, "read timeout"));
        let placed = Error::CallMayHaveBeenPlaced {
            cause: Box::new(transport.clone()),
        };
        for err in [transport, placed] {
            let chain = ErrorChain(&err);
            assert!(!chain.repeats_a_cause(), "{chain}");
            assert_eq!(chain.messages().len(), 1, "{chain}");
            assert!(chain.to_string().contains("read timeout"), "{chain}");
        }
    }
}
