//! How every crate shows an instant: RFC 3339 in UTC, to the second.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Shows a [`SystemTime`] as RFC 3339 in UTC, to the second (`2026-12-03T12:00:00Z`), for
/// `Debug` and `Display` output, error messages and the command line.
///
/// The fraction of a second is dropped (rounded toward the past, also before 1970). An instant
/// outside the years 0000–9999, which RFC 3339 cannot write, is shown as Unix seconds with an
/// `@` (`@-62167219201`), so formatting never fails or panics. `Debug` prints the same text, so
/// the value reads well as a field of a `Debug` struct.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use payauth_core::Rfc3339;
///
/// let at = UNIX_EPOCH + Duration::from_millis(1_796_299_200_250);
/// assert_eq!(Rfc3339(at).to_string(), "2026-12-03T12:00:00Z");
/// assert_eq!(format!("{:?}", Rfc3339(at)), "2026-12-03T12:00:00Z");
/// assert_eq!(Rfc3339(UNIX_EPOCH - Duration::from_secs(1)).to_string(), "1969-12-31T23:59:59Z");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rfc3339(pub SystemTime);

/// Seconds from 1970-01-01T00:00:00Z to 0000-01-01T00:00:00Z and to 10000-01-01T00:00:00Z.
const FIRST_SECOND: i128 = -62_167_219_200;
const END_SECOND: i128 = 253_402_300_800;

impl Rfc3339 {
    /// Whole Unix seconds, rounded toward the past.
    fn unix_seconds(self) -> i128 {
        match self.0.duration_since(UNIX_EPOCH) {
            Ok(after) => i128::from(after.as_secs()),
            Err(before) => {
                let before = before.duration();
                let whole = i128::from(before.as_secs());
                if before.subsec_nanos() == 0 {
                    -whole
                } else {
                    -whole - 1
                }
            }
        }
    }
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.unix_seconds();
        if !(FIRST_SECOND..END_SECOND).contains(&seconds) {
            return write!(f, "@{seconds}");
        }
        let days = seconds.div_euclid(86_400);
        let of_day = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60
        )
    }
}

impl fmt::Debug for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<SystemTime> for Rfc3339 {
    fn from(at: SystemTime) -> Self {
        Rfc3339(at)
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), for days inside the years 0000–9999.
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339 as TimeRfc3339;

    use super::*;

    fn at(seconds: i128, nanos: u32) -> SystemTime {
        let whole = Duration::from_secs(u64::try_from(seconds.unsigned_abs()).unwrap());
        let base = if seconds >= 0 {
            UNIX_EPOCH + whole
        } else {
            UNIX_EPOCH - whole
        };
        base + Duration::from_nanos(u64::from(nanos))
    }

    /// The `time` crate as an independent oracle, over the whole range and its edges.
    #[test]
    fn agrees_with_the_time_crate_over_years_0000_to_9999() {
        let mut seconds = FIRST_SECOND;
        let mut checked = 0;
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        while seconds < END_SECOND {
            let expected = OffsetDateTime::from_unix_timestamp(seconds as i64)
                .unwrap()
                .format(&TimeRfc3339)
                .unwrap();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let nanos = (state % 1_000_000_000) as u32;
            assert_eq!(Rfc3339(at(seconds, nanos)).to_string(), expected);
            assert_eq!(Rfc3339(at(seconds, 0)).to_string(), expected);
            // A step that is not a whole number of days, so every time of day and date is hit.
            seconds += 86_400 * 13 + (state % 86_400) as i128;
            checked += 1;
        }
        assert!(checked > 20_000);
        for (seconds, text) in [
            (FIRST_SECOND, "0000-01-01T00:00:00Z"),
            (END_SECOND - 1, "9999-12-31T23:59:59Z"),
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_796_299_200, "2026-12-03T12:00:00Z"),
            // .NET's DateTime.MinValue, as EasyPay writes "no date".
            (-62_135_596_800, "0001-01-01T00:00:00Z"),
        ] {
            assert_eq!(Rfc3339(at(seconds, 0)).to_string(), text);
        }
    }

    #[test]
    fn the_fraction_is_dropped_toward_the_past() {
        assert_eq!(
            Rfc3339(UNIX_EPOCH - Duration::from_millis(500)).to_string(),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(
            Rfc3339(UNIX_EPOCH + Duration::from_millis(999)).to_string(),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn outside_the_years_0000_to_9999_unix_seconds() {
        assert_eq!(Rfc3339(at(END_SECOND, 0)).to_string(), "@253402300800");
        assert_eq!(
            Rfc3339(at(FIRST_SECOND, 0) - Duration::from_nanos(1)).to_string(),
            "@-62167219201"
        );
        let far = UNIX_EPOCH + Duration::from_secs(i64::MAX as u64);
        assert_eq!(Rfc3339(far).to_string(), format!("@{}", i64::MAX));
        assert_eq!(format!("{:?}", Rfc3339(far)), format!("@{}", i64::MAX));
    }
}
