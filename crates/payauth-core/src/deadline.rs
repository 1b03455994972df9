//! A bound on one whole call, and what each attempt of a call needs to know about the others.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use crate::http::{HttpResponse, TransportError};
use crate::retry::RetryPolicy;

/// A time budget for one whole call of a client, counted from when the call starts: every
/// attempt, every wait between retries, every wait for a token another thread is fetching.
/// For a checkout page that must answer in a few seconds whatever the network does.
///
/// ```
/// use std::time::Duration;
/// use payauth_core::Deadline;
///
/// let deadline = Deadline::within(Duration::from_secs(3));
/// assert_eq!(deadline.budget(), Duration::from_secs(3));
/// ```
///
/// Clients take it per call (`client.with_deadline(deadline).create_session(..)`). When the
/// budget runs out the call ends with the last attempt's error, or a timeout error when no
/// attempt could be made; a retry whose wait would pass the deadline is not started. A request
/// cut short by the deadline may still have reached the server, which the error says
/// (`may_have_reached_server`), exactly as for any other timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadline {
    budget: Duration,
}

impl Deadline {
    /// A call that must end within `budget` of starting.
    pub const fn within(budget: Duration) -> Deadline {
        Deadline { budget }
    }

    /// The budget.
    pub const fn budget(self) -> Duration {
        self.budget
    }
}

/// One call across its attempts: whether any attempt so far may have reached the server (see
/// [`Http::send_attempt`](crate::Http::send_attempt)), and the time left when the call has a
/// [`Deadline`]. One per call; not shared between threads.
#[derive(Default)]
pub struct Attempts {
    reached: Cell<bool>,
    ends: Option<Instant>,
}

impl Attempts {
    /// A call with no deadline and no attempt yet.
    pub fn new() -> Self {
        Attempts::default()
    }

    /// A call that starts now and must end within `deadline`, if there is one.
    pub fn within(deadline: Option<Deadline>) -> Self {
        Attempts {
            reached: Cell::new(false),
            ends: deadline.and_then(|d| Instant::now().checked_add(d.budget)),
        }
    }

    /// Whether an attempt so far may have reached the server.
    pub fn may_have_reached_server(&self) -> bool {
        self.reached.get()
    }

    /// The time left before the call's deadline (zero once it has passed); `None` without one.
    pub fn remaining(&self) -> Option<Duration> {
        self.ends
            .map(|ends| ends.saturating_duration_since(Instant::now()))
    }

    /// Whether the call's deadline has passed.
    pub fn expired(&self) -> bool {
        self.remaining().is_some_and(|left| left.is_zero())
    }

    /// `policy`, its total deadline cut to the time left for this call.
    pub fn bound(&self, policy: &RetryPolicy) -> RetryPolicy {
        match self.remaining() {
            Some(left) if left < policy.total_deadline() => policy.clone().deadline(left),
            _ => policy.clone(),
        }
    }

    /// Folds one attempt's outcome into the call (see
    /// [`Http::send_attempt`](crate::Http::send_attempt)).
    pub(crate) fn record(
        &self,
        outcome: Result<HttpResponse, TransportError>,
    ) -> Result<HttpResponse, TransportError> {
        match outcome {
            Ok(response) => {
                if response.status() != 429 {
                    self.reached.set(true);
                }
                Ok(response)
            }
            Err(mut error) => {
                if self.reached.get() {
                    error.mark_reached();
                }
                self.reached.set(error.may_have_reached_server());
                Err(error)
            }
        }
    }
}

impl fmt::Debug for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempts")
            .field("may_have_reached_server", &self.reached.get())
            .field("remaining", &self.remaining())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_without_deadline_is_unbounded() {
        let attempts = Attempts::new();
        assert_eq!(attempts.remaining(), None);
        assert!(!attempts.expired());
        let policy = RetryPolicy::default();
        assert_eq!(attempts.bound(&policy), policy);
    }

    #[test]
    fn a_deadline_cuts_the_retry_budget_and_expires() {
        let attempts = Attempts::within(Some(Deadline::within(Duration::from_secs(2))));
        let left = attempts.remaining().unwrap();
        assert!(left <= Duration::from_secs(2) && left > Duration::ZERO);
        assert!(attempts.bound(&RetryPolicy::default()).total_deadline() <= left);
        // A deadline longer than the policy's own budget leaves the policy alone.
        let long = Attempts::within(Some(Deadline::within(Duration::from_secs(3600))));
        assert_eq!(
            long.bound(&RetryPolicy::default()).total_deadline(),
            RetryPolicy::default().total_deadline()
        );
        let gone = Attempts::within(Some(Deadline::within(Duration::ZERO)));
        assert!(gone.expired());
        assert_eq!(gone.remaining(), Some(Duration::ZERO));
    }
}
