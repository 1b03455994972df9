use payauth_core::{TransportError, retryable_status};

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong. No variant carries the client secret, a password, a signing
/// secret or an access token. Each variant says whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given to a constructor or builder broke a rule. Not retryable: fix the input.
    #[error("invalid {field}: {rule}")]
    InvalidInput {
        /// The field or setting.
        field: &'static str,
        /// The rule it broke.
        rule: &'static str,
    },

    /// No HTTP response (connect, timeout, TLS, lost connection, oversized body). Retrying can
    /// help for connection failures and timeouts; [`TransportError::kind`] tells which.
    #[error("transport: {0}")]
    Transport(TransportError),

    /// The token endpoint answered with an RFC 6749 §5.2 error (`invalid_client`,
    /// `unsupported_grant_type`, ...). Not retryable: the request or the credentials are wrong.
    #[error("token endpoint refused the request (HTTP {status}): {error}{}", describe(.description))]
    OAuth {
        /// The HTTP status (usually 400 or 401).
        status: u16,
        /// The `error` code.
        error: String,
        /// The `error_description`, if any (server text, cut to 200 characters).
        description: Option<String>,
        /// The `error_uri`, if any.
        uri: Option<String>,
        /// The body's other members as text (at most 16, each cut to 200 characters; values of
        /// members named like a secret, token, key or code are `[redacted]`).
        members: Box<[(String, String)]>,
        /// The `WWW-Authenticate` header, if any.
        www_authenticate: Option<String>,
    },

    /// The token endpoint refused for now (429 or 5xx) and asked, with `Retry-After`, for a wait
    /// longer than this call's deadline allows (the retry policy's deadline, by default the
    /// client's timeout) or than its `max_retry_after`. The wait was not taken. Retryable after
    /// `retry_after`.
    #[error("the token endpoint asked to retry after {}s (HTTP {status}), past this call's deadline", .retry_after.as_secs())]
    RetryLater {
        /// The HTTP status.
        status: u16,
        /// The server's `Retry-After`.
        retry_after: std::time::Duration,
        /// The error the response makes on its own.
        #[source]
        cause: Box<Error>,
    },

    /// The server answered with a status this client cannot use and a body that is not an
    /// RFC 6749 error (an HTML page from a proxy, say). Retryable for 5xx.
    #[error("unexpected HTTP {status} from the token endpoint: {excerpt}")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// The body's first characters.
        excerpt: String,
        /// The `WWW-Authenticate` header, if any.
        www_authenticate: Option<String>,
    },

    /// Discovery (RFC 8414 or OpenID) found no usable metadata: no document, no
    /// `token_endpoint`, an `issuer` other than the one asked for, a URL that breaks the HTTPS
    /// rule, or no authentication method this client can use. Not retryable without a change.
    #[error("discovery: {reason}")]
    Discovery {
        /// What is wrong.
        reason: &'static str,
    },

    /// A 2xx token response that is not a usable token (malformed JSON, no `access_token`,
    /// a `token_type` other than Bearer). The body is not quoted: it may hold a token.
    /// Not retryable without a change on the server.
    #[error("unusable token response (HTTP {status}): {reason}")]
    InvalidTokenResponse {
        /// The HTTP status.
        status: u16,
        /// What is wrong with it.
        reason: String,
    },
}

/// The cause is shown in this error's message and not returned again by `source()` (the
/// workspace's rule, so a chained report prints it once).
impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}

impl Error {
    /// Whether the same call may succeed if made again later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_transient(),
            Error::UnexpectedStatus { status, .. } => retryable_status(*status),
            Error::RetryLater { .. } => true,
            _ => false,
        }
    }
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}
