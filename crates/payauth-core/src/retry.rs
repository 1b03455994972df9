use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;
use crate::http::{HttpResponse, TransportError, TransportKind};
use crate::logging::LogContext;

/// Whether sending a request twice can do harm. It decides which failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it has the same effect as sending it once: reads, and writes that carry an
    /// idempotency key the server honours.
    Idempotent,
    /// Repeating it may repeat its effect (place a second paid call, charge twice). Retried only
    /// when the failure proves the server never saw it.
    NotIdempotent,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again, after the server's `Retry-After` if it gave one, else after the back-off.
    Retry {
        /// The server's requested wait.
        retry_after: Option<Duration>,
        /// What failed, for the retry loop's log records.
        reason: RetryReason,
    },
    /// Give up and return this failure.
    Stop,
}

/// Why an attempt failed, as the retry loop logs it: our own fixed words and numbers only,
/// never text from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// The server answered with this HTTP status.
    Status(u16),
    /// No response: the transport failure's kind.
    Transport(TransportKind),
    /// Anything else, in fixed words.
    Other(&'static str),
}

impl std::fmt::Display for RetryReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetryReason::Status(status) => write!(f, "HTTP {status}"),
            RetryReason::Transport(kind) => write!(f, "{kind}"),
            RetryReason::Other(what) => f.write_str(what),
        }
    }
}

/// The retry rule for a failure that produced no response.
///
/// - The request never reached the server (connect, DNS, TLS): always retried.
/// - It may have (timeout, reset, bad response): retried only if `Idempotent`.
pub fn transport_verdict(error: &TransportError, idempotency: Idempotency) -> Verdict {
    if !error.may_have_reached_server() || idempotency == Idempotency::Idempotent {
        Verdict::Retry {
            retry_after: None,
            reason: RetryReason::Transport(error.kind()),
        }
    } else {
        Verdict::Stop
    }
}

/// The one rule for which HTTP statuses are worth another attempt: 408, 429, 500, 502, 503 and
/// 504. Every other status, 501 Not Implemented and 505 included, says the request itself will
/// not work. The retry loops ([`status_verdict`]) and every client's `is_retryable()` use it.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// The retry rule for an HTTP response.
///
/// - 429 Too Many Requests: the server refused the request without acting on it, so it is
///   retried whatever the idempotency, after `Retry-After`.
/// - The other [`retryable_status`] codes (408, 500, 502, 503, 504): retried only if
///   `Idempotent` (the server may have acted).
/// - Anything else, including every other 4xx and 501: not retried; the request itself is wrong.
pub fn status_verdict(
    response: &HttpResponse,
    idempotency: Idempotency,
    now: SystemTime,
) -> Verdict {
    let retry_after = response
        .header("retry-after")
        .and_then(|v| parse_retry_after(v, now));
    let status = response.status();
    let reason = RetryReason::Status(status);
    match status {
        429 => Verdict::Retry {
            retry_after,
            reason,
        },
        status if retryable_status(status) && idempotency == Idempotency::Idempotent => {
            Verdict::Retry {
                retry_after,
                reason,
            }
        }
        _ => Verdict::Stop,
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). A date in the past
/// means "now". `None` for anything else.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Bounded retries with exponential back-off, jitter, a cap, `Retry-After` and a total deadline.
///
/// Defaults: 3 attempts, back-off 200 ms doubling to at most 5 s, `Retry-After` honoured up to
/// 60 s, everything within 30 s (or within the client's timeout, when the client sets one and
/// the deadline was not set explicitly). Time comes from the caller's [`Clock`], so tests run
/// instantly.
///
/// A `Retry-After` is a floor under the back-off, never a shortcut: `Retry-After: 0` or a date
/// in the past waits the normal back-off. A wait that would pass the deadline, or a
/// `Retry-After` over [`max_retry_after`](Self::max_retry_after), is not taken: the attempt's
/// error is returned with the server's requested wait ([`Stopped::refused_wait`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    deadline: Duration,
    deadline_set: bool,
}

/// Why [`RetryPolicy::execute`] gave up: the last attempt's error, and the server's
/// `Retry-After` when it asked for a wait the policy would not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped<E> {
    /// The last attempt's error.
    pub error: E,
    /// The wait the server asked for (`Retry-After`) that would have passed the deadline or the
    /// `max_retry_after` cap; `None` when retries stopped for another reason.
    pub refused_wait: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
            deadline: Duration::from_secs(30),
            deadline_set: false,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Total attempts, the first included (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first back-off; each next one doubles, up to `max`.
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The longest `Retry-After` obeyed; a server asking for more ends the retries.
    #[must_use]
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The time budget for all attempts and waits together; a wait that would overrun it is
    /// not started.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self.deadline_set = true;
        self
    }

    /// Sets the deadline to `deadline` unless [`deadline`](Self::deadline) was called: clients
    /// pass their timeout, so a caller who set a 1.5 s timeout is not held for a 29 s
    /// `Retry-After`.
    #[must_use]
    pub fn default_deadline(mut self, deadline: Duration) -> Self {
        if !self.deadline_set {
            self.deadline = deadline;
        }
        self
    }

    /// The time budget for all attempts and waits together.
    pub fn total_deadline(&self) -> Duration {
        self.deadline
    }

    /// The configured number of attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Runs `attempt` (given the 1-based attempt number) until it succeeds, `verdict` says
    /// stop, or attempts or time run out; returns the last outcome.
    ///
    /// # Errors
    /// The last attempt's error.
    pub fn run<T, E>(
        &self,
        clock: &dyn Clock,
        attempt: impl FnMut(u32) -> Result<T, E>,
        verdict: impl Fn(&E) -> Verdict,
    ) -> Result<T, E> {
        self.execute(clock, attempt, verdict)
            .map_err(|stopped| stopped.error)
    }

    /// As [`run`](Self::run), and says when the server asked for a wait that was not taken.
    /// Its log records go to payauth-core's target; clients use
    /// [`execute_as`](Self::execute_as).
    ///
    /// # Errors
    /// [`Stopped`]: the last attempt's error and the refused `Retry-After`, if any.
    pub fn execute<T, E>(
        &self,
        clock: &dyn Clock,
        attempt: impl FnMut(u32) -> Result<T, E>,
        verdict: impl Fn(&E) -> Verdict,
    ) -> Result<T, Stopped<E>> {
        self.execute_as(LogContext::default(), clock, attempt, verdict)
    }

    /// As [`execute`](Self::execute), logging under `log`'s target. This loop is the one place
    /// retry events are emitted:
    /// - INFO: a retry scheduled (`attempt n of m failed (reason); retrying in w ms`);
    /// - WARN: retries exhausted, or a wait refused because it would pass the deadline or the
    ///   `Retry-After` cap;
    /// - DEBUG: a failure the verdict does not retry.
    ///
    /// The reason is the status code or the transport failure's kind ([`RetryReason`]), never
    /// anything the server wrote.
    ///
    /// # Errors
    /// [`Stopped`]: the last attempt's error and the refused `Retry-After`, if any.
    pub fn execute_as<T, E>(
        &self,
        log: LogContext,
        clock: &dyn Clock,
        mut attempt: impl FnMut(u32) -> Result<T, E>,
        verdict: impl Fn(&E) -> Verdict,
    ) -> Result<T, Stopped<E>> {
        let (target, what) = (log.target(), log.operation());
        let max = self.max_attempts;
        let start = clock.now();
        let mut jitter = Jitter::new();
        let mut number: u32 = 1;
        let stop = |error, refused_wait| {
            Err(Stopped {
                error,
                refused_wait,
            })
        };
        loop {
            let error = match attempt(number) {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let (retry_after, reason) = match verdict(&error) {
                Verdict::Stop => {
                    log::debug!(target: target, "{what}: attempt {number} of {max} failed; not retryable");
                    return stop(error, None);
                }
                Verdict::Retry {
                    retry_after,
                    reason,
                } => (retry_after, reason),
            };
            if number >= max {
                log::warn!(
                    target: target,
                    "{what}: attempt {number} of {max} failed ({reason}); retries exhausted"
                );
                return stop(error, None);
            }
            let backoff = jitter.apply(self.backoff_for(number));
            let (wait, asked) = match retry_after {
                Some(after) if after > self.max_retry_after => {
                    log::warn!(
                        target: target,
                        "{what}: attempt {number} of {max} failed ({reason}); the server asked \
                         for a {} s wait, over the {} s cap: giving up",
                        after.as_secs(),
                        self.max_retry_after.as_secs()
                    );
                    return stop(error, Some(after));
                }
                // The server's wait is a floor under the back-off, never below it.
                Some(after) => (after.max(backoff), Some(after)),
                None => (backoff, None),
            };
            let elapsed = clock.now().duration_since(start).unwrap_or(Duration::ZERO);
            let overruns = elapsed
                .checked_add(wait)
                .is_none_or(|end| end > self.deadline);
            if overruns {
                log::warn!(
                    target: target,
                    "{what}: attempt {number} of {max} failed ({reason}); a {} ms wait would \
                     pass the {} ms deadline: giving up",
                    wait.as_millis(),
                    self.deadline.as_millis()
                );
                return stop(error, asked);
            }
            log::info!(
                target: target,
                "{what}: attempt {number} of {max} failed ({reason}); retrying in {} ms",
                wait.as_millis()
            );
            clock.sleep(wait);
            number = number.saturating_add(1);
        }
    }

    fn backoff_for(&self, failed_attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failed_attempt.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// "Equal jitter": a wait between half and all of the back-off, so clients that failed together
/// do not retry together, and no retry is immediate.
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        // RandomState is seeded from the OS per process and varies per instance: enough
        // randomness to spread retries, without a dependency.
        let seed = RandomState::new().build_hasher().finish() | 1;
        Jitter(seed)
    }

    fn apply(&mut self, backoff: Duration) -> Duration {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let fraction = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        let half = backoff / 2;
        // mul_f64 panics on overflow; the fraction is below 1, so this cannot exceed `half`,
        // but stay on the checked side anyway.
        let extra = Duration::try_from_secs_f64(half.as_secs_f64() * fraction).unwrap_or(half);
        half.saturating_add(extra.min(half))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::http::TransportKind;

    fn retry() -> Verdict {
        Verdict::Retry {
            retry_after: None,
            reason: RetryReason::Other("test"),
        }
    }

    fn retry_after(wait: Option<Duration>) -> Verdict {
        Verdict::Retry {
            retry_after: wait,
            reason: RetryReason::Other("test"),
        }
    }

    #[test]
    fn stops_after_max_attempts_with_growing_jittered_backoff() {
        let clock = ManualClock::fixed();
        let policy = RetryPolicy::default()
            .max_attempts(4)
            .backoff(Duration::from_millis(100), Duration::from_millis(300));
        let mut seen = Vec::new();
        let result: Result<(), u32> = policy.run(
            &clock,
            |n| {
                seen.push(n);
                Err(n)
            },
            |_| retry(),
        );
        assert_eq!(result, Err(4));
        assert_eq!(seen, [1, 2, 3, 4]);
        let sleeps = clock.sleeps();
        let bounds = [(50, 100), (100, 200), (150, 300)];
        assert_eq!(sleeps.len(), 3);
        for (sleep, (lo, hi)) in sleeps.iter().zip(bounds) {
            assert!(
                (Duration::from_millis(lo)..=Duration::from_millis(hi)).contains(sleep),
                "{sleep:?} not in {lo}..={hi} ms"
            );
        }
    }

    #[test]
    fn success_and_stop_end_early() {
        let clock = ManualClock::fixed();
        let ok: Result<u32, ()> = RetryPolicy::default().run(
            &clock,
            |n| if n == 2 { Ok(n) } else { Err(()) },
            |_| retry(),
        );
        assert_eq!(ok, Ok(2));
        let stopped: Result<(), u32> = RetryPolicy::default().run(&clock, Err, |_| Verdict::Stop);
        assert_eq!(stopped, Err(1));
    }

    #[test]
    fn retry_after_is_obeyed_up_to_its_cap_and_the_deadline() {
        let clock = ManualClock::fixed();
        let after = |secs| move |_: &()| retry_after(Some(Duration::from_secs(secs)));
        let policy = RetryPolicy::default().max_attempts(2);
        let _ = policy.run(&clock, |_| Err::<(), ()>(()), after(7));
        assert_eq!(clock.sleeps(), [Duration::from_secs(7)]);

        // Over the cap, or past the deadline: give up instead of waiting.
        let clock = ManualClock::fixed();
        let _ = policy.run(&clock, |_| Err::<(), ()>(()), after(61));
        let _ = policy.clone().deadline(Duration::from_secs(5)).run(
            &clock,
            |_| Err::<(), ()>(()),
            after(6),
        );
        assert!(clock.sleeps().is_empty());
    }

    #[test]
    fn retry_after_zero_or_past_keeps_the_backoff_as_a_floor() {
        let clock = ManualClock::fixed();
        let policy = RetryPolicy::default()
            .max_attempts(3)
            .backoff(Duration::from_millis(200), Duration::from_secs(5));
        let _ = policy.run(
            &clock,
            |_| Err::<(), ()>(()),
            |_| retry_after(Some(Duration::ZERO)),
        );
        let sleeps = clock.sleeps();
        assert_eq!(sleeps.len(), 2);
        assert!(sleeps[0] >= Duration::from_millis(100), "{sleeps:?}");
        assert!(sleeps[1] >= Duration::from_millis(200), "{sleeps:?}");
    }

    #[test]
    fn a_wait_past_the_deadline_is_refused_and_reported() {
        let clock = ManualClock::fixed();
        let policy = RetryPolicy::default().default_deadline(Duration::from_millis(1500));
        let stopped = policy
            .execute(
                &clock,
                |_| Err::<(), u32>(7),
                |_| retry_after(Some(Duration::from_secs(29))),
            )
            .unwrap_err();
        assert_eq!(
            stopped,
            Stopped {
                error: 7,
                refused_wait: Some(Duration::from_secs(29))
            }
        );
        assert!(clock.sleeps().is_empty());
        // An explicit deadline wins over the client's default.
        let explicit = RetryPolicy::default()
            .deadline(Duration::from_secs(40))
            .default_deadline(Duration::from_secs(1));
        assert_eq!(explicit.total_deadline(), Duration::from_secs(40));
        // Back-off alone stops without a refused wait.
        let stopped = RetryPolicy::default()
            .deadline(Duration::ZERO)
            .execute(&clock, |_| Err::<(), u32>(1), |_| retry())
            .unwrap_err();
        assert_eq!(stopped.refused_wait, None);
    }

    #[test]
    fn huge_waits_and_deadlines_do_not_overflow() {
        // The attempt itself takes a second, so elapsed + Retry-After overflows a Duration.
        let clock = ManualClock::fixed();
        let stopped = RetryPolicy::default()
            .max_retry_after(Duration::MAX)
            .deadline(Duration::MAX)
            .execute(
                &clock,
                |_| {
                    clock.advance(Duration::from_secs(1));
                    Err::<(), u32>(1)
                },
                |_| {
                    retry_after(parse_retry_after(
                        "18446744073709551615",
                        SystemTime::UNIX_EPOCH,
                    ))
                },
            )
            .unwrap_err();
        assert_eq!(stopped.refused_wait, Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn retry_after_formats() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn which_statuses_are_retried() {
        let now = SystemTime::UNIX_EPOCH;
        let response = |status, retry_after: Option<&str>| {
            let headers = retry_after
                .map(|v| vec![("Retry-After".to_owned(), v.to_owned())])
                .unwrap_or_default();
            HttpResponse::from_parts(status, headers, Vec::new())
        };
        let limited = response(429, Some("3"));
        let expect = Verdict::Retry {
            retry_after: Some(Duration::from_secs(3)),
            reason: RetryReason::Status(429),
        };
        assert_eq!(
            status_verdict(&limited, Idempotency::NotIdempotent, now),
            expect
        );
        for status in [408, 500, 502, 503, 504] {
            assert!(retryable_status(status));
            let r = response(status, None);
            let expect = Verdict::Retry {
                retry_after: None,
                reason: RetryReason::Status(status),
            };
            assert_eq!(status_verdict(&r, Idempotency::Idempotent, now), expect);
            assert_eq!(
                status_verdict(&r, Idempotency::NotIdempotent, now),
                Verdict::Stop
            );
        }
        for status in [400, 401, 403, 404, 409, 422, 501, 505] {
            assert!(!retryable_status(status));
            let r = response(status, None);
            assert_eq!(
                status_verdict(&r, Idempotency::Idempotent, now),
                Verdict::Stop,
                "{status}"
            );
        }
    }

    #[test]
    fn which_transport_failures_are_retried() {
        let connect = TransportError::new(TransportKind::Connect, "refused");
        let timeout = TransportError::new(TransportKind::Timeout, "global");
        let retry = |kind| Verdict::Retry {
            retry_after: None,
            reason: RetryReason::Transport(kind),
        };
        assert_eq!(
            transport_verdict(&connect, Idempotency::NotIdempotent),
            retry(TransportKind::Connect)
        );
        assert_eq!(
            transport_verdict(&timeout, Idempotency::NotIdempotent),
            Verdict::Stop
        );
        assert_eq!(
            transport_verdict(&timeout, Idempotency::Idempotent),
            retry(TransportKind::Timeout)
        );
        assert_eq!(RetryReason::Status(503).to_string(), "HTTP 503");
        assert_eq!(
            RetryReason::Transport(TransportKind::Timeout).to_string(),
            "timed out"
        );
    }

    #[test]
    fn the_loop_logs_retries_and_giving_up_under_the_clients_target() {
        use crate::logging::capture;
        capture::install();
        let log = LogContext::new("test_retry", "widget fetch");
        let clock = ManualClock::fixed();
        let status = |code| Verdict::Retry {
            retry_after: None,
            reason: RetryReason::Status(code),
        };
        let policy = RetryPolicy::default().max_attempts(2);
        let _ = policy.execute_as(log, &clock, |_| Err::<(), ()>(()), |_| status(503));
        let wait = clock.sleeps()[0].as_millis();
        let timeout = Verdict::Retry {
            retry_after: Some(Duration::from_secs(29)),
            reason: RetryReason::Transport(TransportKind::Timeout),
        };
        let _ = policy.clone().deadline(Duration::from_secs(5)).execute_as(
            log,
            &clock,
            |_| Err::<(), ()>(()),
            |_| timeout,
        );
        let _ = policy.execute_as(log, &clock, |_| Err::<(), ()>(()), |_| Verdict::Stop);
        let records = capture::take("test_retry");
        let expected = [
            (
                log::Level::Info,
                format!("widget fetch: attempt 1 of 2 failed (HTTP 503); retrying in {wait} ms"),
            ),
            (
                log::Level::Warn,
                "widget fetch: attempt 2 of 2 failed (HTTP 503); retries exhausted".to_owned(),
            ),
            (
                log::Level::Warn,
                "widget fetch: attempt 1 of 2 failed (timed out); a 29000 ms wait would pass the \
                 5000 ms deadline: giving up"
                    .to_owned(),
            ),
            (
                log::Level::Debug,
                "widget fetch: attempt 1 of 2 failed; not retryable".to_owned(),
            ),
        ];
        assert_eq!(records, expected);
    }
}
