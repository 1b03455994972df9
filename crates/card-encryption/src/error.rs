use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::time_fmt::Rfc3339;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
///
/// No variant carries a card number, a CVV or key material: the messages name the field and
/// the rule that was broken. None of these errors is transient, so retrying with the same input
/// gives the same error (except [`Error::Io`] and [`Error::Encryption`], which depend on the
/// system). `Debug` shows times in RFC 3339 UTC, as the messages do.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The card number broke a rule; the rule is named, the number is not.
    #[error("invalid card number: {0}")]
    InvalidCardNumber(PanRule),

    /// A `ccCardInfo` field other than the card number is out of its range.
    #[error("invalid {field}: {rule}")]
    InvalidCardField {
        /// The vendor's field name (`ExpMonth`, `ExpYear`, `CSV`).
        field: &'static str,
        /// The rule the value broke.
        rule: &'static str,
    },

    /// The bytes are neither a DER certificate or key nor PEM.
    #[error(
        "unrecognised key format: expected a DER or PEM certificate, a PEM PUBLIC KEY or a PEM RSA PUBLIC KEY"
    )]
    UnrecognizedFormat,

    /// The input has the right shape but does not decode.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded (`PEM`, `certificate`, `public key`).
        what: &'static str,
        /// The decoder's explanation (positions and tags, never key bytes).
        reason: String,
    },

    /// A PEM block whose label is not one this crate reads (a private key, a CSR, ...).
    #[error("unexpected PEM label {label:?}: expected CERTIFICATE, PUBLIC KEY or RSA PUBLIC KEY")]
    UnexpectedPemLabel {
        /// The label found, truncated to 64 characters.
        label: String,
    },

    /// The key is not an RSA key (for example an EC certificate).
    #[error(
        "unsupported key algorithm {oid}: only RSA (1.2.840.113549.1.1.1) encrypts card numbers"
    )]
    UnsupportedAlgorithm {
        /// The algorithm's object identifier, dotted.
        oid: String,
    },

    /// The RSA modulus is shorter than 2048 bits, which no gateway should accept.
    #[error("RSA key of {bits} bits is too small: at least {min} bits are required")]
    KeyTooSmall {
        /// The modulus size found.
        bits: usize,
        /// The smallest size accepted.
        min: usize,
    },

    /// The RSA modulus is larger than this crate supports.
    #[error("RSA key of {bits} bits is too large: at most {max} bits are supported")]
    KeyTooLarge {
        /// The modulus size found.
        bits: usize,
        /// The largest size accepted.
        max: usize,
    },

    /// The RSA public key is invalid (for example an even or tiny exponent).
    #[error("invalid RSA public key: {reason}")]
    InvalidKey {
        /// Why it was refused.
        reason: String,
    },

    /// The certificate's validity period ended before the time it was checked against.
    #[error(
        "certificate expired: valid from {} until {}, checked at {}",
        Rfc3339(*not_before), Rfc3339(*not_after), Rfc3339(*checked_at)
    )]
    CertificateExpired {
        /// Start of the validity period.
        not_before: SystemTime,
        /// End of the validity period.
        not_after: SystemTime,
        /// The time the certificate was checked against.
        checked_at: SystemTime,
    },

    /// The certificate's validity period starts after the time it was checked against.
    #[error(
        "certificate not yet valid: valid from {} until {}, checked at {}",
        Rfc3339(*not_before), Rfc3339(*not_after), Rfc3339(*checked_at)
    )]
    CertificateNotYetValid {
        /// Start of the validity period.
        not_before: SystemTime,
        /// End of the validity period.
        not_after: SystemTime,
        /// The time the certificate was checked against.
        checked_at: SystemTime,
    },

    /// A thumbprint suffix was asked for, but the key was loaded without a certificate.
    #[error("no certificate: the thumbprint suffix needs the key to be loaded from a certificate")]
    NoCertificate,

    /// The requested backend is not compiled in.
    #[error("backend {0} is not available: enable the crate feature that provides it")]
    BackendUnavailable(&'static str),

    /// Reading the key file failed. The operating system's error is the `source()`, not
    /// repeated in this message (the workspace's rule, so a chained report prints it once).
    #[error("cannot read {}", path.display())]
    Io {
        /// The file that was read.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// The RSA operation failed (random number generator or backend failure). Retrying may help.
    #[error("encryption failed: {0}")]
    Encryption(&'static str),
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidCardNumber(rule) => {
                f.debug_tuple("InvalidCardNumber").field(rule).finish()
            }
            Error::InvalidCardField { field, rule } => f
                .debug_struct("InvalidCardField")
                .field("field", field)
                .field("rule", rule)
                .finish(),
            Error::UnrecognizedFormat => f.write_str("UnrecognizedFormat"),
            Error::Malformed { what, reason } => f
                .debug_struct("Malformed")
                .field("what", what)
                .field("reason", reason)
                .finish(),
            Error::UnexpectedPemLabel { label } => f
                .debug_struct("UnexpectedPemLabel")
                .field("label", label)
                .finish(),
            Error::UnsupportedAlgorithm { oid } => f
                .debug_struct("UnsupportedAlgorithm")
                .field("oid", oid)
                .finish(),
            Error::KeyTooSmall { bits, min } => f
                .debug_struct("KeyTooSmall")
                .field("bits", bits)
                .field("min", min)
                .finish(),
            Error::KeyTooLarge { bits, max } => f
                .debug_struct("KeyTooLarge")
                .field("bits", bits)
                .field("max", max)
                .finish(),
            Error::InvalidKey { reason } => f
                .debug_struct("InvalidKey")
                .field("reason", reason)
                .finish(),
            Error::CertificateExpired {
                not_before,
                not_after,
                checked_at,
            } => validity(
                f,
                "CertificateExpired",
                *not_before,
                *not_after,
                *checked_at,
            ),
            Error::CertificateNotYetValid {
                not_before,
                not_after,
                checked_at,
            } => validity(
                f,
                "CertificateNotYetValid",
                *not_before,
                *not_after,
                *checked_at,
            ),
            Error::NoCertificate => f.write_str("NoCertificate"),
            Error::BackendUnavailable(name) => {
                f.debug_tuple("BackendUnavailable").field(name).finish()
            }
            Error::Io { path, source } => f
                .debug_struct("Io")
                .field("path", path)
                .field("source", source)
                .finish(),
            Error::Encryption(reason) => f.debug_tuple("Encryption").field(reason).finish(),
        }
    }
}

fn validity(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    not_before: SystemTime,
    not_after: SystemTime,
    checked_at: SystemTime,
) -> fmt::Result {
    f.debug_struct(name)
        .field("not_before", &format_args!("{}", Rfc3339(not_before)))
        .field("not_after", &format_args!("{}", Rfc3339(not_after)))
        .field("checked_at", &format_args!("{}", Rfc3339(checked_at)))
        .finish()
}

/// The rule a card number broke. Carries counts and positions, never digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PanRule {
    /// Nothing was given.
    #[error("it is empty")]
    Empty,
    /// A character other than a digit, a space or a dash (1-based position).
    #[error("only digits, spaces and dashes are allowed (character {position} is not)")]
    InvalidCharacter {
        /// 1-based position of the first offending character.
        position: usize,
    },
    /// A space or dash at the start or end, or two in a row.
    #[error("spaces and dashes may only stand alone between groups of digits")]
    MisplacedSeparator,
    /// Fewer than 12 digits.
    #[error("{digits} digits is too few: a card number has 12 to 19 digits")]
    TooShort {
        /// Number of digits found.
        digits: usize,
    },
    /// More than 19 digits.
    #[error("{digits} digits is too many: a card number has 12 to 19 digits")]
    TooLong {
        /// Number of digits found.
        digits: usize,
    },
    /// The Luhn check digit does not match.
    #[error("the Luhn check digit does not match (mistyped number?)")]
    LuhnCheckFailed,
}

impl From<PanRule> for Error {
    fn from(rule: PanRule) -> Self {
        Error::InvalidCardNumber(rule)
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;
    use std::error::Error as _;

    /// Each message of `err`'s `source()` chain, outermost first.
    fn chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
        let mut out = vec![err.to_string()];
        let mut next = err.source();
        while let Some(inner) = next {
            out.push(inner.to_string());
            next = inner.source();
        }
        out
    }

    #[test]
    fn a_chained_report_shows_each_cause_once() {
        let io = Error::Io {
            path: PathBuf::from("/keys/missing.pem"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        let card = Error::from(PanRule::LuhnCheckFailed);
        for err in [&io, &card] {
            let messages = chain(err);
            for (i, outer) in messages.iter().enumerate() {
                for inner in &messages[i + 1..] {
                    assert!(!outer.contains(inner.as_str()), "{messages:?}");
                }
            }
        }
        assert_eq!(
            chain(&io),
            ["cannot read /keys/missing.pem", "no such file"]
        );
        assert!(io.source().is_some());
    }
}
