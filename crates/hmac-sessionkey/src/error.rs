use std::fmt;

use payauth_core::TransportError;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong. No variant carries the token, a session key, the HMAC secret or a
/// card number. Each variant says whether retrying is safe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given to a constructor or builder broke a rule. Fix the input.
    #[error("invalid {field}: {rule}")]
    InvalidInput {
        /// The field.
        field: &'static str,
        /// The rule it broke.
        rule: &'static str,
    },

    /// EasyPay rejected the account code and token (`AuthSuccess: false`). **New credentials are
    /// needed**: the lockout guard now refuses these credentials without contacting EasyPay,
    /// because six failed authentications in a row lock this IP address until EasyPay's support
    /// team lifts the lock.
    #[error(
        "EasyPay rejected the credentials ({message}); new credentials are needed, and these will not be sent again"
    )]
    CredentialsRejected {
        /// EasyPay's `RespMsg`.
        message: String,
    },

    /// The lockout guard refused to authenticate, without contacting EasyPay. Not retryable: supply
    /// different credentials or reset the guard after finding the cause.
    #[error("lockout guard: {0}")]
    Guarded(GuardRefusal),

    /// The guard's store could not be read or written; no authentication was attempted (failing
    /// closed). Retryable once the store is repaired.
    #[error("lockout guard store: {0}")]
    GuardStore(String),

    /// EasyPay answered `FunctionOk: false` or a non-zero `ErrCode`. Retrying does not help unless
    /// the code says so ([`Error::is_session_invalid`] is handled by the client itself).
    #[error("EasyPay error {code}: {message}")]
    Vendor {
        /// `ErrCode`.
        code: i64,
        /// `ErrMsg`, parsed.
        message: VendorMessage,
    },

    /// The literal `Bad Request` EasyPay answers to a malformed request. Not retryable.
    #[error("EasyPay answered \"Bad Request\": the request is malformed")]
    BadRequest,

    /// No HTTP response. Authentication is never retried automatically (see the lockout guard);
    /// whether another call is safe depends on [`TransportError::may_have_reached_server`].
    #[error("transport: {0}")]
    Transport(TransportError),

    /// An HTTP status other than 200, with a bounded excerpt of the body.
    #[error("unexpected HTTP {status} from EasyPay: {excerpt}")]
    UnexpectedStatus {
        /// The status.
        status: u16,
        /// The body's first characters.
        excerpt: String,
    },

    /// A 200 whose body is not the documented envelope. When it answers an authentication, the
    /// body is not quoted (it may hold a session key).
    #[error("unexpected response from EasyPay: {reason}")]
    InvalidResponse {
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// `ErrCode` 5030 (session expired) or 5050 (caller's IP changed): the client re-authenticates
    /// and retries the call once by itself.
    pub fn is_session_invalid(&self) -> bool {
        matches!(
            self,
            Error::Vendor {
                code: 5030 | 5050,
                ..
            }
        )
    }
}

/// Why the guard refused to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuardRefusal {
    /// EasyPay already rejected these exact credentials.
    RejectedCredentials,
    /// This many authentications in a row did not succeed (rejected, timed out, failed with a 5xx
    /// or an unreadable answer), reaching the guard's cap.
    TooManyFailures {
        /// Consecutive non-successful attempts recorded.
        failures: u32,
    },
}

impl fmt::Display for GuardRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuardRefusal::RejectedCredentials => f.write_str(
                "EasyPay already rejected these credentials; supply new ones (or reset the guard)",
            ),
            GuardRefusal::TooManyFailures { failures } => write!(
                f,
                "{failures} authentications in a row did not succeed; EasyPay locks the IP at six, so \
                 none is sent until the guard is reset"
            ),
        }
    }
}

/// An `ErrMsg`, split when it has EasyPay's `ERROR:<code>:<severity>:<text>` form.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VendorMessage {
    /// The code inside the message, when it has one.
    pub code: Option<i64>,
    /// The severity (`HIGH`, ...), when it has one.
    pub severity: Option<String>,
    /// The text (the whole message when it has no structure).
    pub text: String,
}

impl VendorMessage {
    /// Parses an `ErrMsg`.
    pub fn parse(message: &str) -> Self {
        let mut parts = message.splitn(4, ':');
        if let (Some("ERROR"), Some(code), Some(severity), Some(text)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
            && let Ok(code) = code.trim().parse()
        {
            return VendorMessage {
                code: Some(code),
                severity: Some(severity.trim().to_owned()),
                text: text.trim().to_owned(),
            };
        }
        VendorMessage {
            code: None,
            severity: None,
            text: message.trim().to_owned(),
        }
    }
}

impl fmt::Display for VendorMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.severity {
            Some(severity) => write!(f, "{} ({severity})", self.text),
            None => f.write_str(&self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_messages() {
        let parsed = VendorMessage::parse(
            "ERROR:6724:HIGH:Could NOT retrieve transaction details for TXID 53000",
        );
        assert_eq!(parsed.code, Some(6724));
        assert_eq!(parsed.severity.as_deref(), Some("HIGH"));
        assert_eq!(
            parsed.text,
            "Could NOT retrieve transaction details for TXID 53000"
        );
        let colons = VendorMessage::parse("ERROR:7123:LOW:bad chars: <>");
        assert_eq!(colons.text, "bad chars: <>");
        let plain = VendorMessage::parse("Something else");
        assert_eq!((plain.code, plain.text.as_str()), (None, "Something else"));
        assert_eq!(VendorMessage::parse("ERROR:x:HIGH:y").code, None);
    }
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
    fn a_chained_report_shows_the_transport_cause_once() {
        let err = Error::from(TransportError::new(TransportKind::Connect, "refused"));
        let chain = ErrorChain(&err);
        assert!(!chain.repeats_a_cause(), "{chain}");
        assert_eq!(
            chain.to_string(),
            "transport: connection failed: refused (nothing was sent)"
        );
    }
}
