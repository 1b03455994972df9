//! Failures: one line, a hint, and a documented exit code. Library errors are mapped here; none
//! of them carries a secret, and the context redacts any secret a server echoed back.

use std::fmt;

use oauth_client_credentials::TransportKind;

/// Success.
pub(crate) const OK: u8 = 0;
/// The remote service failed or answered something unusable.
pub(crate) const REMOTE: u8 = 1;
/// Configuration or input error.
pub(crate) const CONFIG: u8 = 3;
/// Certificate expired or not yet valid.
pub(crate) const EXPIRED: u8 = 4;
/// Credentials rejected.
pub(crate) const REJECTED: u8 = 5;
/// Refused by the EasyPay lockout guard.
pub(crate) const GUARDED: u8 = 6;
/// Not verified: call not answered, wrong or no code.
pub(crate) const NOT_VERIFIED: u8 = 7;
/// Network error.
pub(crate) const NETWORK: u8 = 8;
/// Confirmation declined.
pub(crate) const ABORTED: u8 = 9;

/// Why a command failed: what to print and which exit code to return.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Failure::new(CONFIG, message)
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The name of the exit code, for `--json` errors.
    pub(crate) fn kind(&self) -> &'static str {
        match self.code {
            REMOTE => "remote",
            CONFIG => "config",
            EXPIRED => "expired",
            REJECTED => "rejected",
            GUARDED => "guarded",
            NOT_VERIFIED => "not_verified",
            NETWORK => "network",
            ABORTED => "aborted",
            _ => "error",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A transport failure: exit 8 with a hint that depends on what went wrong.
pub(crate) fn transport(error: &impl fmt::Display, kind: TransportKind, url: &str) -> Failure {
    if matches!(
        kind,
        TransportKind::InsecureUrl | TransportKind::InvalidRequest
    ) {
        return Failure::config(error.to_string())
            .hint("use an https:// URL (plain http only to 127.0.0.1 or localhost)");
    }
    let hint = match kind {
        TransportKind::Connect => {
            format!("nothing answers at {url}: is the sandbox running, is the URL right?")
        }
        TransportKind::Timeout => "the server did not answer in time; try again later".to_owned(),
        TransportKind::Tls => {
            "TLS failed: for the sandbox with --tls, pass --ca-cert with the CA it wrote to --dir"
                .to_owned()
        }
        _ => "check the URL and the network; the request may or may not have reached the server"
            .to_owned(),
    };
    Failure::new(NETWORK, error.to_string()).hint(hint)
}

/// A status of 401 or 403: rejected credentials; anything else: a remote failure.
pub(crate) fn by_status(status: u16, message: String, what: &str) -> Failure {
    if matches!(status, 401 | 403) {
        Failure::new(REJECTED, message).hint(format!("check {what}"))
    } else if status >= 500 {
        Failure::new(REMOTE, message).hint("the service failed; try again later")
    } else {
        Failure::new(REMOTE, message)
    }
}
