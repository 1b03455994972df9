use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where clients get the time from, so that expiry paths (10 minutes, 1 hour, 25 hours) and
/// retry back-offs are tested without sleeping.
///
/// Implementations must be cheap: credential caches ask for the time on every call.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Waits for `duration`: a real sleep for the system clock, an instant advance for a
    /// [`ManualClock`].
    fn sleep(&self, duration: Duration);
}

/// A clock shared by a client and everything it hands time to.
pub type SharedClock = Arc<dyn Clock>;

/// The longest lifetime a client believes a server-issued credential has: one year. A longer
/// `expires_in` (up to `18446744073709551615`) is clamped to it; the credential is then simply
/// fetched again after a year, or sooner after a 401.
pub const MAX_CREDENTIAL_LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// When a credential obtained at `now` and valid for `lifetime` (as a server said) expires:
/// `now + lifetime` with the lifetime clamped to [`MAX_CREDENTIAL_LIFETIME`], computed without
/// overflow.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use payauth_core::{MAX_CREDENTIAL_LIFETIME, expiry_after};
///
/// let now = SystemTime::now();
/// assert_eq!(expiry_after(now, Duration::from_secs(600)), Some(now + Duration::from_secs(600)));
/// assert_eq!(expiry_after(now, Duration::MAX), Some(now + MAX_CREDENTIAL_LIFETIME));
/// ```
///
/// `None` only when even the clamped time is past what [`SystemTime`] can represent, which takes
/// a clock set hundreds of billions of years ahead; callers turn it into a typed error.
pub fn expiry_after(now: SystemTime, lifetime: Duration) -> Option<SystemTime> {
    now.checked_add(lifetime.min(MAX_CREDENTIAL_LIFETIME))
}

/// The operating system's wall clock and `std::thread::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock as a [`SharedClock`].
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A clock that moves only when told to. Clones share one time, so a test hands the same clock
/// to the client and to the sandbox and moves both at once.
///
/// [`sleep`](Clock::sleep) advances the clock instead of blocking and records the duration, so a
/// test can assert which back-off a client chose.
#[derive(Clone)]
pub struct ManualClock {
    state: Arc<Mutex<ManualState>>,
}

struct ManualState {
    now: SystemTime,
    slept: Vec<Duration>,
}

impl ManualClock {
    /// A clock that starts at `start`.
    pub fn new(start: SystemTime) -> Self {
        ManualClock {
            state: Arc::new(Mutex::new(ManualState {
                now: start,
                slept: Vec::new(),
            })),
        }
    }

    /// A clock that starts at 2026-01-01T00:00:00Z, a fixed point so test output is stable.
    pub fn fixed() -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.now += by;
    }

    /// Sets the clock to `to` (backwards too, to test clock steps).
    pub fn set(&self, to: SystemTime) {
        self.lock().now = to;
    }

    /// The durations passed to [`sleep`](Clock::sleep) so far, oldest first.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().slept.clone()
    }

    /// This clock as a [`SharedClock`] (sharing the same time).
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // The state is two plain values; a panic while holding the lock cannot break them.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.lock().now
    }

    fn sleep(&self, duration: Duration) {
        let mut state = self.lock();
        state.now += duration;
        state.slept.push(duration);
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &crate::Rfc3339(self.now()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time_and_sleep_advances() {
        let clock = ManualClock::fixed();
        let shared = clock.shared();
        let start = shared.now();
        clock.advance(Duration::from_secs(600));
        assert_eq!(shared.now(), start + Duration::from_secs(600));
        shared.sleep(Duration::from_millis(250));
        assert_eq!(clock.now(), start + Duration::from_millis(600_250));
        assert_eq!(clock.sleeps(), [Duration::from_millis(250)]);
        clock.set(start);
        assert_eq!(shared.now(), start);
    }

    #[test]
    fn debug_shows_the_time_in_rfc3339() {
        let clock = ManualClock::fixed();
        assert_eq!(
            format!("{clock:?}"),
            "ManualClock { now: 2026-01-01T00:00:00Z }"
        );
        clock.advance(Duration::from_millis(90_500));
        assert!(format!("{clock:?}").contains("2026-01-01T00:01:30Z"));
    }

    #[test]
    fn expiry_never_overflows() {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_000_000);
        for huge in [
            Duration::from_secs(i64::MAX as u64),
            Duration::from_secs(u64::MAX),
            Duration::MAX,
        ] {
            assert_eq!(expiry_after(now, huge), Some(now + MAX_CREDENTIAL_LIFETIME));
        }
        assert_eq!(
            expiry_after(now, Duration::from_secs(3600)),
            Some(now + Duration::from_secs(3600))
        );
        // A clock at the end of representable time: no panic, a `None` to report.
        let mut end = UNIX_EPOCH;
        // The last representable second, approached by halving steps.
        for shift in (0..64).rev() {
            while let Some(later) = end.checked_add(Duration::from_secs(1 << shift)) {
                end = later;
            }
        }
        assert_eq!(expiry_after(end, Duration::from_secs(u64::MAX)), None);
    }
}
