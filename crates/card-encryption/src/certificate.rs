use std::fmt;
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::time_fmt::Rfc3339;

/// What a loaded certificate says about itself: who it is for, when it is valid, and its
/// thumbprint.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    pub(crate) subject_common_name: Option<String>,
    pub(crate) not_before: SystemTime,
    pub(crate) not_after: SystemTime,
    pub(crate) thumbprint: Thumbprint,
}

impl CertificateFacts {
    /// The subject's common name (`mobile.easypay5.com` for EasyPay), if the certificate has one.
    pub fn subject_common_name(&self) -> Option<&str> {
        self.subject_common_name.as_deref()
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// End of the validity period (inclusive).
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// SHA-1 of the certificate's DER encoding: what the vendor's SDKs append after `|`.
    pub fn thumbprint(&self) -> &Thumbprint {
        &self.thumbprint
    }

    /// Whether `at` falls inside the validity period.
    pub fn is_valid_at(&self, at: SystemTime) -> bool {
        self.check_validity(at).is_ok()
    }

    /// How long the certificate stays valid after `at`; zero once it has expired. Use it to
    /// warn before the yearly rotation.
    pub fn remaining_at(&self, at: SystemTime) -> Duration {
        self.not_after.duration_since(at).unwrap_or(Duration::ZERO)
    }

    pub(crate) fn check_validity(&self, at: SystemTime) -> Result<()> {
        if at < self.not_before {
            return Err(Error::CertificateNotYetValid {
                not_before: self.not_before,
                not_after: self.not_after,
                checked_at: at,
            });
        }
        if at > self.not_after {
            return Err(Error::CertificateExpired {
                not_before: self.not_before,
                not_after: self.not_after,
                checked_at: at,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for CertificateFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateFacts")
            .field("subject_common_name", &self.subject_common_name)
            .field("not_before", &format_args!("{}", Rfc3339(self.not_before)))
            .field("not_after", &format_args!("{}", Rfc3339(self.not_after)))
            .field("thumbprint", &self.thumbprint)
            .finish()
    }
}

/// The SHA-1 digest of a certificate's DER bytes. Displays as 40 lowercase hex digits, the form
/// the vendor's mobile SDKs send.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Thumbprint(pub(crate) [u8; 20]);

impl Thumbprint {
    /// The 20 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({self})")
    }
}
