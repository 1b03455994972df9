use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::clock::SharedClock;
use crate::logging::LogContext;
use crate::rfc3339::Rfc3339;

/// After a refresh-ahead fails while the current value is still valid, callers keep using that
/// value for this long before one of them tries again, so an outage of the token endpoint is
/// not met with one request per API call.
const RETRY_AHEAD_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// A credential and the time it stops being accepted, as a refresh produces it.
#[derive(Clone)]
pub struct Expiring<T> {
    /// The credential (token, session key, ...).
    pub value: T,
    /// When the issuer stops accepting it.
    pub expires_at: SystemTime,
}

impl<T: fmt::Debug> fmt::Debug for Expiring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expiring")
            .field("value", &self.value)
            .field("expires_at", &crate::Rfc3339(self.expires_at))
            .finish()
    }
}

/// A cached credential shared by every thread of a client: one token, one refresh at a time.
///
/// - While the value is valid beyond the refresh margin, [`get`](Self::get) returns it with no
///   network call and no waiting beyond a mutex.
/// - Inside the margin, exactly one caller runs the refresh; the others keep getting the
///   still-valid value without waiting.
/// - Once the value has expired (or was [invalidated](Self::invalidate)), callers wait for the
///   single refresh in flight instead of starting their own.
/// - A failed refresh is returned to the caller that ran it and to the callers waiting for it;
///   nothing retries it in a loop. After a failed refresh-ahead, the still-valid value is served
///   for a few seconds before the next attempt.
///
/// The margin never exceeds half the credential's lifetime, so a short-lived credential is not
/// refreshed on every call.
pub struct CredentialCell<T, E> {
    state: Mutex<State<T, E>>,
    refreshed: Condvar,
    clock: SharedClock,
    margin: Duration,
    log: LogContext,
}

struct State<T, E> {
    current: Option<Entry<T>>,
    refreshing: bool,
    /// Counts finished refreshes, so waiters can tell theirs has ended.
    generation: u64,
    /// The error of the last finished refresh, if it failed.
    last_error: Option<E>,
    failed_ahead_at: Option<SystemTime>,
}

struct Entry<T> {
    value: Arc<T>,
    refresh_at: SystemTime,
    expires_at: SystemTime,
}

enum Freshness<T> {
    Fresh(Arc<T>),
    /// Valid, but inside the refresh margin.
    Ageing(Arc<T>),
    Expired,
}

/// The `timed_out` of a wait without limit: never called.
fn unreachable_timeout<E>() -> E {
    unreachable!("a wait without a limit does not time out")
}

impl<T, E: Clone> CredentialCell<T, E> {
    /// An empty cell that refreshes `margin` before expiry, reading time from `clock`.
    pub fn new(clock: SharedClock, margin: Duration) -> Self {
        CredentialCell {
            state: Mutex::new(State {
                current: None,
                refreshing: false,
                generation: 0,
                last_error: None,
                failed_ahead_at: None,
            }),
            refreshed: Condvar::new(),
            clock,
            margin,
            log: LogContext::new("payauth_core", "credential"),
        }
    }

    /// Logs this cell's events under `log`'s target, naming the credential by its operation
    /// (`"bearer token"`). The events:
    /// - INFO, once per credential: fetched, with its expiry (RFC 3339) and lifetime, never the
    ///   value;
    /// - DEBUG: a refresh-ahead started on a background thread, a fetch that failed (the error
    ///   goes to the callers);
    /// - WARN: a refresh-ahead that failed (the current value stays in use until it expires).
    ///
    /// A cached value served logs nothing.
    #[must_use]
    pub fn with_log(mut self, log: LogContext) -> Self {
        self.log = log;
        self
    }

    /// The cached value, refreshed through `refresh` when needed (see the type's documentation
    /// for who refreshes and who waits).
    ///
    /// # Errors
    /// The error of the refresh this call ran or waited for.
    pub fn get(&self, refresh: impl FnOnce() -> Result<Expiring<T>, E>) -> Result<Arc<T>, E> {
        self.get_within(refresh, None, || unreachable_timeout())
    }

    /// [`get`](Self::get), waiting at most `wait` for a refresh another caller runs; past it,
    /// the error `timed_out` makes. For a call with a [`Deadline`](crate::Deadline): the refresh
    /// this caller runs itself is bounded by its own requests.
    ///
    /// # Errors
    /// The error of the refresh this call ran or waited for, or `timed_out()`.
    pub fn get_within(
        &self,
        refresh: impl FnOnce() -> Result<Expiring<T>, E>,
        wait: Option<Duration>,
        timed_out: impl FnOnce() -> E,
    ) -> Result<Arc<T>, E> {
        let until = wait.and_then(|wait| Instant::now().checked_add(wait));
        let mut state = self.lock();
        loop {
            let now = self.clock.now();
            match state.freshness(now) {
                Freshness::Fresh(value) => return Ok(value),
                Freshness::Ageing(value)
                    if state.refreshing || state.recently_failed_ahead(now) =>
                {
                    return Ok(value);
                }
                Freshness::Expired if state.refreshing => {
                    let generation = state.generation;
                    while state.refreshing && state.generation == generation {
                        state = match until {
                            None => self
                                .refreshed
                                .wait(state)
                                .unwrap_or_else(PoisonError::into_inner),
                            Some(until) => {
                                let left = until.saturating_duration_since(Instant::now());
                                if left.is_zero() {
                                    return Err(timed_out());
                                }
                                self.refreshed
                                    .wait_timeout(state, left)
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .0
                            }
                        };
                    }
                    if let Some(error) = &state.last_error {
                        return Err(error.clone());
                    }
                    // The refresh succeeded (or its runner panicked): look again.
                }
                Freshness::Ageing(_) | Freshness::Expired => break,
            }
        }
        state.refreshing = true;
        drop(state);

        // Resets `refreshing` and wakes the waiters even if `refresh` panics.
        let mut guard = RefreshGuard {
            cell: self,
            outcome: None,
        };
        match self.entry(refresh(), false) {
            Ok(entry) => {
                let value = Arc::clone(&entry.value);
                guard.outcome = Some(Ok(entry));
                Ok(value)
            }
            Err(error) => {
                log::debug!(
                    target: self.log.target(),
                    "{} fetch failed; the error goes to the callers waiting for it",
                    self.log.operation()
                );
                guard.outcome = Some(Err(error.clone()));
                Err(error)
            }
        }
    }

    /// Like [`get`](Self::get), but inside the refresh margin the refresh runs on a background
    /// thread and every caller, the one that noticed included, gets the still-valid value at
    /// once. Callers wait only when there is no valid value. `refresh` is told whether it runs
    /// ahead (`true`: a valid value exists) or for waiting callers (`false`).
    ///
    /// # Errors
    /// The error of the refresh this call ran or waited for (never that of a refresh-ahead,
    /// which the value it replaces covers).
    pub fn get_ahead<F>(self: &Arc<Self>, refresh: F) -> Result<Arc<T>, E>
    where
        F: FnOnce(bool) -> Result<Expiring<T>, E> + Send + 'static,
        T: Send + Sync + 'static,
        E: Send + 'static,
    {
        self.get_ahead_within(refresh, None, unreachable_timeout)
    }

    /// [`get_ahead`](Self::get_ahead), waiting at most `wait` for a refresh another caller
    /// runs (see [`get_within`](Self::get_within)).
    ///
    /// # Errors
    /// As for [`get_ahead`](Self::get_ahead), or `timed_out()`.
    pub fn get_ahead_within<F>(
        self: &Arc<Self>,
        refresh: F,
        wait: Option<Duration>,
        timed_out: impl FnOnce() -> E,
    ) -> Result<Arc<T>, E>
    where
        F: FnOnce(bool) -> Result<Expiring<T>, E> + Send + 'static,
        T: Send + Sync + 'static,
        E: Send + 'static,
    {
        let value = {
            let mut state = self.lock();
            let now = self.clock.now();
            match state.freshness(now) {
                Freshness::Fresh(value) => return Ok(value),
                Freshness::Ageing(value)
                    if !state.refreshing && !state.recently_failed_ahead(now) =>
                {
                    state.refreshing = true;
                    value
                }
                Freshness::Ageing(value) => return Ok(value),
                Freshness::Expired => {
                    drop(state);
                    return self.get_within(|| refresh(false), wait, timed_out);
                }
            }
        };
        log::debug!(
            target: self.log.target(),
            "{} inside its refresh margin: refreshing ahead on a background thread",
            self.log.operation()
        );
        let cell = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("payauth-refresh".to_owned())
            .spawn(move || {
                let mut guard = RefreshGuard {
                    cell: &cell,
                    outcome: None,
                };
                let result = refresh(true);
                let entry = cell.entry(result, true);
                if entry.is_err() {
                    log::warn!(
                        target: cell.log.target(),
                        "{} refresh-ahead failed; the current one stays in use until it expires, \
                         next try in {} s",
                        cell.log.operation(),
                        RETRY_AHEAD_AFTER_FAILURE.as_secs()
                    );
                }
                guard.outcome = Some(entry);
            });
        if spawned.is_err() {
            // No thread: the next caller inside the margin tries again.
            self.lock().refreshing = false;
        }
        Ok(value)
    }

    fn entry(&self, result: Result<Expiring<T>, E>, ahead: bool) -> Result<Entry<T>, E> {
        let now = self.clock.now();
        result.map(|fresh| {
            let lifetime = fresh
                .expires_at
                .duration_since(now)
                .unwrap_or(Duration::ZERO);
            log::info!(
                target: self.log.target(),
                "{} fetched{}: expires {} (lifetime {} s)",
                self.log.operation(),
                if ahead { " ahead of expiry" } else { "" },
                Rfc3339(fresh.expires_at),
                lifetime.as_secs()
            );
            Entry {
                value: Arc::new(fresh.value),
                refresh_at: self.refresh_point(now, fresh.expires_at),
                expires_at: fresh.expires_at,
            }
        })
    }

    /// Drops `value` if it is still the current one, so the next [`get`](Self::get) refreshes.
    /// Returns whether it did. Many threads that saw the same credential rejected (an HTTP 401)
    /// all call this, and only the first drops it: one refresh, not many.
    pub fn invalidate(&self, value: &Arc<T>) -> bool {
        let mut state = self.lock();
        let is_current = state
            .current
            .as_ref()
            .is_some_and(|entry| Arc::ptr_eq(&entry.value, value));
        if is_current {
            state.current = None;
        }
        is_current
    }

    /// The current value and its expiry, without refreshing; `None` when empty.
    pub fn peek(&self) -> Option<(Arc<T>, SystemTime)> {
        self.lock()
            .current
            .as_ref()
            .map(|entry| (Arc::clone(&entry.value), entry.expires_at))
    }

    /// Empties the cell.
    pub fn clear(&self) {
        self.lock().current = None;
    }

    fn refresh_point(&self, now: SystemTime, expires_at: SystemTime) -> SystemTime {
        let lifetime = expires_at.duration_since(now).unwrap_or(Duration::ZERO);
        expires_at - self.margin.min(lifetime / 2)
    }

    fn lock(&self) -> MutexGuard<'_, State<T, E>> {
        // Every update of the state is a single assignment under the lock, and the refresh
        // itself runs outside it, so a poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T, E> State<T, E> {
    fn freshness(&self, now: SystemTime) -> Freshness<T> {
        match &self.current {
            Some(entry) if now < entry.refresh_at => Freshness::Fresh(Arc::clone(&entry.value)),
            Some(entry) if now < entry.expires_at => Freshness::Ageing(Arc::clone(&entry.value)),
            _ => Freshness::Expired,
        }
    }

    fn recently_failed_ahead(&self, now: SystemTime) -> bool {
        self.failed_ahead_at.is_some_and(|at| {
            now.duration_since(at)
                .is_ok_and(|since| since < RETRY_AHEAD_AFTER_FAILURE)
        })
    }
}

struct RefreshGuard<'a, T, E: Clone> {
    cell: &'a CredentialCell<T, E>,
    /// `None` if the refresh panicked.
    outcome: Option<Result<Entry<T>, E>>,
}

impl<T, E: Clone> Drop for RefreshGuard<'_, T, E> {
    fn drop(&mut self) {
        let now = self.cell.clock.now();
        let mut state = self.cell.lock();
        state.refreshing = false;
        state.generation = state.generation.wrapping_add(1);
        match self.outcome.take() {
            Some(Ok(entry)) => {
                state.current = Some(entry);
                state.last_error = None;
                state.failed_ahead_at = None;
            }
            Some(Err(error)) => {
                let still_valid = state.current.as_ref().is_some_and(|e| now < e.expires_at);
                state.failed_ahead_at = still_valid.then_some(now);
                state.last_error = Some(error);
            }
            None => state.last_error = None,
        }
        drop(state);
        self.cell.refreshed.notify_all();
    }
}

impl<T, E> fmt::Debug for CredentialCell<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the value: it is a secret in every use of this type.
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("CredentialCell")
            .field("cached", &state.current.is_some())
            .field("refreshing", &state.refreshing)
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock as _, ManualClock};
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const LIFE: Duration = Duration::from_secs(600);
    const MARGIN: Duration = Duration::from_secs(60);

    fn cell(clock: &ManualClock) -> CredentialCell<String, String> {
        CredentialCell::new(clock.shared(), MARGIN)
    }

    fn token(clock: &ManualClock, name: &str) -> Result<Expiring<String>, String> {
        Ok(Expiring {
            value: name.to_owned(),
            expires_at: clock.now() + LIFE,
        })
    }

    #[test]
    fn valid_value_is_served_without_refresh() {
        let clock = ManualClock::fixed();
        let cell = cell(&clock);
        assert_eq!(*cell.get(|| token(&clock, "a")).unwrap(), "a");
        clock.advance(LIFE - MARGIN - Duration::from_secs(1));
        let value = cell.get(|| panic!("must not refresh")).unwrap();
        assert_eq!(*value, "a");
    }

    #[test]
    fn inside_the_margin_one_caller_refreshes_and_others_do_not_wait() {
        let clock = ManualClock::fixed();
        let cell = cell(&clock);
        cell.get(|| token(&clock, "a")).unwrap();
        clock.advance(LIFE - Duration::from_secs(30));

        let (entered, release) = (Barrier::new(2), Barrier::new(2));
        std::thread::scope(|s| {
            let refresher = s.spawn(|| {
                cell.get(|| {
                    entered.wait();
                    release.wait();
                    token(&clock, "b")
                })
            });
            entered.wait();
            // The refresh is in flight: another caller gets the old value at once.
            assert_eq!(*cell.get(|| panic!("second refresh")).unwrap(), "a");
            release.wait();
            assert_eq!(*refresher.join().unwrap().unwrap(), "b");
        });
        assert_eq!(*cell.get(|| panic!("must not refresh")).unwrap(), "b");
    }

    #[test]
    fn refresh_ahead_runs_in_the_background_and_nobody_waits() {
        let clock = ManualClock::fixed();
        let cell = Arc::new(cell(&clock));
        cell.get(|| token(&clock, "a")).unwrap();
        clock.advance(LIFE - Duration::from_secs(30));

        let (started, finish) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        let runs = Arc::new(AtomicUsize::new(0));
        let refresh = {
            let (started, finish, runs, clock) = (
                Arc::clone(&started),
                Arc::clone(&finish),
                Arc::clone(&runs),
                clock.clone(),
            );
            move |ahead: bool| {
                assert!(ahead);
                runs.fetch_add(1, Ordering::SeqCst);
                started.wait();
                finish.wait();
                token(&clock, "b")
            }
        };
        // The caller that notices the margin gets the old value while the refresh is blocked.
        assert_eq!(*cell.get_ahead(refresh).unwrap(), "a");
        started.wait();
        assert_eq!(
            *cell
                .get_ahead(|_| -> Result<Expiring<String>, String> { panic!("second refresh") })
                .unwrap(),
            "a"
        );
        finish.wait();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let value = cell
                .get_ahead(|_| token(&ManualClock::fixed(), "c"))
                .unwrap();
            if *value == "b" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "background refresh never landed"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn get_ahead_waits_when_there_is_no_valid_value() {
        let clock = ManualClock::fixed();
        let cell = Arc::new(cell(&clock));
        let c = clock.clone();
        let value = cell
            .get_ahead(move |ahead| {
                assert!(!ahead);
                token(&c, "first")
            })
            .unwrap();
        assert_eq!(*value, "first");
        let failed = cell.get_ahead(|_| Err::<Expiring<String>, _>("down".to_owned()));
        assert_eq!(*failed.unwrap(), "first", "a fresh value needs no refresh");
        clock.advance(LIFE);
        let failed = cell.get_ahead(|_| Err::<Expiring<String>, _>("down".to_owned()));
        assert_eq!(
            failed,
            Err("down".to_owned()),
            "expired: the caller sees the failure"
        );
    }

    #[test]
    fn expired_value_makes_callers_wait_for_one_refresh() {
        let clock = ManualClock::fixed();
        let cell = cell(&clock);
        let refreshes = AtomicUsize::new(0);
        let refresh = || {
            refreshes.fetch_add(1, Ordering::SeqCst);
            // Long enough that every thread arrives while it is in flight.
            std::thread::sleep(Duration::from_millis(200));
            token(&clock, "t")
        };
        let start = Barrier::new(16);
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    start.wait();
                    assert_eq!(*cell.get(refresh).unwrap(), "t");
                });
            }
        });
        assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn failed_refresh_reaches_its_waiters_and_is_not_retried() {
        let clock = ManualClock::fixed();
        let cell = cell(&clock);
        let calls = AtomicUsize::new(0);
        let failing = || {
            calls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(200));
            Err::<Expiring<String>, _>("token endpoint down".to_owned())
        };
        let start = Barrier::new(8);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        cell.get(failing)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for result in &results {
            assert_eq!(
                result.as_ref().err().map(String::as_str),
                Some("token endpoint down")
            );
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the waiters must share the one failure"
        );
        // The next call is a new attempt.
        assert_eq!(*cell.get(|| token(&clock, "back")).unwrap(), "back");
    }

    #[test]
    fn failed_refresh_ahead_serves_the_old_value_for_a_while() {
        let clock = ManualClock::fixed();
        let cell = cell(&clock);
        cell.get(|| token(&clock, "a")).unwrap();
        clock.advance(LIFE - Duration::from_secs(50));
        assert_eq!(cell.get(|| Err("down".to_owned())), Err("down".to_owned()));
        assert_eq!(*cell.get(|| panic!("retried too soon")).unwrap(), "a");
        clock.advance(RETRY_AHEAD_AFTER_FAILURE);
        assert_eq!(*cell.get(|| token(&clock, "b")).unwrap(), "b");
    }

    #[test]
    fn invalidate_drops_only_the_current_value() {
        let clock = ManualClock::fixed();
        let cell = cell(&clock);
        let a = cell.get(|| token(&clock, "a")).unwrap();
        assert!(cell.invalidate(&a));
        assert!(!cell.invalidate(&a));
        let b = cell.get(|| token(&clock, "b")).unwrap();
        assert!(
            !cell.invalidate(&a),
            "a stale 401 must not drop the new value"
        );
        assert_eq!(*cell.peek().unwrap().0, *b);
    }

    #[test]
    fn short_lifetimes_are_not_refreshed_on_every_call() {
        let clock = ManualClock::fixed();
        let cell = cell(&clock);
        let short = || {
            Ok::<_, String>(Expiring {
                value: "short".to_owned(),
                expires_at: clock.now() + Duration::from_secs(30),
            })
        };
        cell.get(short).unwrap();
        clock.advance(Duration::from_secs(14));
        cell.get(|| panic!("refreshed a 30 s credential after 14 s"))
            .unwrap();
    }

    #[test]
    fn a_panicking_refresh_does_not_strand_waiters() {
        let clock = ManualClock::fixed();
        let cell = cell(&clock);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cell.get(|| panic!("refresh bug"))
        }));
        assert!(panicked.is_err());
        assert_eq!(*cell.get(|| token(&clock, "ok")).unwrap(), "ok");
    }

    #[test]
    fn debug_shows_no_value() {
        let clock = ManualClock::fixed();
        let cell = cell(&clock);
        cell.get(|| token(&clock, "secret-token-value")).unwrap();
        assert!(!format!("{cell:?}").contains("secret-token-value"));
    }

    #[test]
    fn fetches_and_refresh_ahead_are_logged_and_a_cached_value_is_not() {
        use crate::logging::capture;
        capture::install();
        let clock = ManualClock::fixed();
        let cell = Arc::new(
            CredentialCell::<String, String>::new(clock.shared(), MARGIN)
                .with_log(LogContext::new("test_cell", "widget token")),
        );
        let start = clock.now();
        let first = Expiring {
            value: "secret-value-1".to_owned(),
            expires_at: start + LIFE,
        };
        cell.get_ahead(move |_| Ok(first)).unwrap();
        cell.get_ahead(|_| panic!("must not refresh")).unwrap();
        clock.advance(LIFE - Duration::from_secs(30));
        let (failed, done) = std::sync::mpsc::channel();
        cell.get_ahead(move |ahead| {
            assert!(ahead);
            let _ = failed.send(());
            Err("refused".to_owned())
        })
        .unwrap();
        done.recv_timeout(Duration::from_secs(60)).unwrap();
        // The background refresh has run; wait until its guard has finished (bounded).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while cell.lock().refreshing && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        let records = capture::take("test_cell");
        let expected = [
            (
                log::Level::Info,
                format!(
                    "widget token fetched: expires {} (lifetime 600 s)",
                    Rfc3339(start + LIFE)
                ),
            ),
            (
                log::Level::Debug,
                "widget token inside its refresh margin: refreshing ahead on a background thread"
                    .to_owned(),
            ),
            (
                log::Level::Warn,
                "widget token refresh-ahead failed; the current one stays in use until it \
                 expires, next try in 5 s"
                    .to_owned(),
            ),
        ];
        assert_eq!(records, expected);
        assert!(
            records
                .iter()
                .all(|(_, text)| !text.contains("secret-value"))
        );
    }
}
