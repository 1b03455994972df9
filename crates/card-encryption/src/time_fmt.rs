use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use x509_cert::der::DateTime;

/// Displays a `SystemTime` as RFC 3339 UTC (`2026-02-08T23:59:59Z`), falling back to Unix
/// seconds outside the years 1970–9999, so error messages name dates a person can read.
pub(crate) struct Rfc3339(pub(crate) SystemTime);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DateTime::from_system_time(self.0) {
            Ok(date) => write!(f, "{date}"),
            Err(_) => match self.0.duration_since(UNIX_EPOCH) {
                Ok(after) => write!(f, "@{}", after.as_secs()),
                Err(before) => write!(f, "@-{}", before.duration().as_secs()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_seconds() {
        let t = UNIX_EPOCH + Duration::from_secs(1_770_595_199);
        assert_eq!(Rfc3339(t).to_string(), "2026-02-08T23:59:59Z");
    }

    #[test]
    fn falls_back_to_unix_seconds_before_1970() {
        let t = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(Rfc3339(t).to_string(), "@-5");
    }
}
