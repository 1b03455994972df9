//! The lockout guard: EasyPay locks the caller's IP after six failed authentications in a row,
//! and only its support team can lift the lock. The guard makes sure this process (and, with a
//! [`FileGuardStore`], every process on the host) never gets there.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use payauth_core::{CacheKey, SharedStore};

use crate::credentials::{AccountCode, Credentials};
use crate::error::{Error, GuardRefusal, Result};

/// Default cap on consecutive non-successful authentications: half of EasyPay's six, leaving
/// room for a person to try a corrected token after a reset.
pub const DEFAULT_FAILURE_CAP: u32 = 3;
/// The most the cap may be: one below EasyPay's lock at six.
pub const MAX_FAILURE_CAP: u32 = 5;
/// How many rejected fingerprints are remembered.
const REJECTED_REMEMBERED: usize = 32;
/// Default time an authentication in flight holds back the others: longer than an
/// authentication can take, and how long a process killed mid-authentication delays the rest.
pub const DEFAULT_IN_FLIGHT_TTL: Duration = Duration::from_secs(45);

/// What the guard remembers, as stored. It holds no token: only salted, keyed fingerprints of
/// rejected credentials.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardState {
    /// Hex key for the fingerprints, made on first use.
    #[serde(default)]
    salt: String,
    /// Authentications in a row that did not succeed, counting one in flight.
    #[serde(default)]
    consecutive_failures: u32,
    /// HMAC-SHA256 fingerprints (keyed with `salt`) of credentials EasyPay rejected, newest last.
    #[serde(default)]
    rejected: Vec<String>,
    /// The authentication in flight, if any: while it lasts, other processes wait for its
    /// outcome instead of sending their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    in_flight: Option<InFlight>,
}

/// An authentication in flight: a random owner id and when the hold ends by itself (wall-clock
/// milliseconds since the Unix epoch), should its process die.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct InFlight {
    owner: String,
    until_ms: u64,
}

impl GuardState {
    /// Authentications in a row that did not succeed (an attempt is counted when it starts, so a
    /// crash mid-request still counts).
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// How many rejected credentials are remembered.
    pub fn rejected_credentials(&self) -> usize {
        self.rejected.len()
    }

    /// Whether an authentication is in flight (and not past its hold).
    pub fn authentication_in_flight(&self) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|f| f.until_ms > now_ms())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl fmt::Debug for GuardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: the salt is the key of the fingerprints.
        f.debug_struct("GuardState")
            .field("consecutive_failures", &self.consecutive_failures)
            .field("rejected_credentials", &self.rejected.len())
            .field("in_flight", &self.in_flight.is_some())
            .finish_non_exhaustive()
    }
}

/// Where the guard keeps its [`GuardState`]. `update` must apply the change atomically: across
/// threads, and across processes for a store meant to be shared.
pub trait GuardStore: Send + Sync + fmt::Debug {
    /// Loads the state, lets `change` modify it, and saves it, all under one lock.
    ///
    /// # Errors
    /// A description of what failed; the guard then refuses to authenticate (fails closed).
    fn update(&self, change: &mut dyn FnMut(&mut GuardState)) -> std::result::Result<(), String>;
}

/// A store in this process's memory. Forgotten on restart: see the crate docs on crash loops.
#[derive(Debug, Default)]
pub struct MemoryGuardStore {
    state: Mutex<GuardState>,
}

impl MemoryGuardStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The store shared by every client in this process that was not given one: EasyPay counts
    /// failures per IP address, not per client object.
    pub fn process_wide() -> Arc<MemoryGuardStore> {
        static STORE: OnceLock<Arc<MemoryGuardStore>> = OnceLock::new();
        Arc::clone(STORE.get_or_init(|| Arc::new(MemoryGuardStore::new())))
    }
}

impl GuardStore for MemoryGuardStore {
    fn update(&self, change: &mut dyn FnMut(&mut GuardState)) -> std::result::Result<(), String> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut state);
        Ok(())
    }
}

/// A store in a JSON file, shared by every process on the host that names the same path, under an
/// OS file lock (released by the OS if a process dies). It survives restarts, which is what stops a
/// crash-looping service from locking the IP.
#[derive(Debug, Clone)]
pub struct FileGuardStore {
    path: PathBuf,
}

impl FileGuardStore {
    /// A store at `path` (created on first use; its folder must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileGuardStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn locked_update(
        &self,
        change: &mut dyn FnMut(&mut GuardState),
    ) -> std::io::Result<Option<String>> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        // Fully qualified: the std method of the same name needs a newer Rust than the MSRV.
        fs4::FileExt::lock(&file)?;
        let result = read_change_write(&mut file, change);
        let unlocked = fs4::FileExt::unlock(&file);
        let outcome = result?;
        unlocked?;
        Ok(outcome)
    }
}

/// Returns `Some(reason)` when the file holds something other than a guard state.
fn read_change_write(
    file: &mut File,
    change: &mut dyn FnMut(&mut GuardState),
) -> std::io::Result<Option<String>> {
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let mut state = if text.trim().is_empty() {
        GuardState::default()
    } else {
        match serde_json::from_str(&text) {
            Ok(state) => state,
            Err(e) => return Ok(Some(format!("unreadable contents ({e})"))),
        }
    };
    change(&mut state);
    let json = serde_json::to_vec_pretty(&state).map_err(std::io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&json)?;
    file.sync_all()?;
    Ok(None)
}

impl GuardStore for FileGuardStore {
    fn update(&self, change: &mut dyn FnMut(&mut GuardState)) -> std::result::Result<(), String> {
        match self.locked_update(change) {
            Ok(None) => Ok(()),
            Ok(Some(reason)) => Err(format!(
                "{} has {reason}; check with EasyPay that the IP is not locked before removing it",
                self.path.display()
            )),
            Err(e) => Err(format!("{}: {e}", self.path.display())),
        }
    }
}

/// A store in a [`SharedStore`] (`payauth_redis::RedisStore`), per EasyPay account and egress IP:
/// every process and host behind that IP shares one failure count, one list of rejected
/// credentials and one authentication in flight. Unreachable, it fails closed: the guard refuses
/// to authenticate with an error naming the store.
#[derive(Debug, Clone)]
pub struct SharedGuardStore {
    store: Arc<dyn SharedStore>,
    key: String,
}

impl SharedGuardStore {
    /// The guard record for `account` behind the egress IP called `egress_label` (any name you
    /// give the address your fleet reaches EasyPay from; EasyPay counts failures per IP).
    pub fn new(store: Arc<dyn SharedStore>, account: &str, egress_label: &str) -> Self {
        let key = CacheKey::new("easypay-guard")
            .part("account", account)
            .part("egress", egress_label)
            .finish();
        SharedGuardStore { store, key }
    }
}

impl GuardStore for SharedGuardStore {
    fn update(&self, change: &mut dyn FnMut(&mut GuardState)) -> std::result::Result<(), String> {
        let mut unreadable = false;
        self.store
            .update_record(&self.key, &mut |current| {
                let mut state = match current {
                    None => GuardState::default(),
                    Some(bytes) => match serde_json::from_slice(bytes) {
                        Ok(state) => state,
                        Err(_) => {
                            unreadable = true;
                            return None;
                        }
                    },
                };
                unreadable = false;
                change(&mut state);
                serde_json::to_vec(&state).ok()
            })
            .map_err(|e| e.to_string())?;
        if unreadable {
            return Err(format!(
                "{:?}: the guard record {} is unreadable; check with EasyPay that the IP is not locked before deleting it",
                self.store, self.key
            ));
        }
        Ok(())
    }
}

/// Refuses authentications that could lock the merchant out. See the crate documentation.
#[derive(Debug, Clone)]
pub struct LockoutGuard {
    store: Arc<dyn GuardStore>,
    cap: u32,
    in_flight_ttl: Duration,
}

/// An authentication the guard let through. Dropped without an outcome (a timeout, an
/// unreadable answer), it stays counted as a failure but stops holding back the others.
pub(crate) struct Attempt {
    fingerprint: String,
    owner: String,
    store: Arc<dyn GuardStore>,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        let owner = self.owner.clone();
        // A store failure here is harmless: the hold ends with its time to live.
        let _ = self.store.update(&mut |state| end_flight(state, &owner));
    }
}

fn end_flight(state: &mut GuardState, owner: &str) {
    if state.in_flight.as_ref().is_some_and(|f| f.owner == owner) {
        state.in_flight = None;
    }
}

enum Decision {
    Proceed(String),
    Refuse(GuardRefusal),
    Wait,
}

impl LockoutGuard {
    /// A guard over `store` allowing at most `cap` consecutive non-successful authentications.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] unless `1 <= cap <= 5`.
    pub fn new(store: Arc<dyn GuardStore>, cap: u32) -> Result<Self> {
        if !(1..=MAX_FAILURE_CAP).contains(&cap) {
            return Err(Error::InvalidInput {
                field: "failure cap",
                rule: "must be 1 to 5: EasyPay locks the IP at six",
            });
        }
        Ok(LockoutGuard {
            store,
            cap,
            in_flight_ttl: DEFAULT_IN_FLIGHT_TTL,
        })
    }

    /// A guard over a [`SharedGuardStore`] (`payauth_redis::RedisStore`, say) for `account`
    /// behind the egress IP called `egress_label`, cap 3: one guard for the whole fleet.
    pub fn shared(store: Arc<dyn SharedStore>, account: &AccountCode, egress_label: &str) -> Self {
        LockoutGuard {
            store: Arc::new(SharedGuardStore::new(store, account.as_str(), egress_label)),
            cap: DEFAULT_FAILURE_CAP,
            in_flight_ttl: DEFAULT_IN_FLIGHT_TTL,
        }
    }

    /// How long an authentication in flight holds back the others at most (if its process
    /// dies); default [`DEFAULT_IN_FLIGHT_TTL`]. Make it longer than an authentication can take.
    #[must_use]
    pub fn in_flight_ttl(mut self, ttl: Duration) -> Self {
        self.in_flight_ttl = ttl;
        self
    }

    /// The default: the process-wide memory store, cap 3.
    pub fn process_wide() -> Self {
        LockoutGuard {
            store: MemoryGuardStore::process_wide(),
            cap: DEFAULT_FAILURE_CAP,
            in_flight_ttl: DEFAULT_IN_FLIGHT_TTL,
        }
    }

    /// A guard over a [`FileGuardStore`] at `path`, cap 3: survives restarts, shared by processes.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        LockoutGuard {
            store: Arc::new(FileGuardStore::new(path)),
            cap: DEFAULT_FAILURE_CAP,
            in_flight_ttl: DEFAULT_IN_FLIGHT_TTL,
        }
    }

    /// The stored state (for monitoring).
    ///
    /// # Errors
    /// [`Error::GuardStore`].
    pub fn state(&self) -> Result<GuardState> {
        let mut copy = GuardState::default();
        self.update(&mut |state| copy = state.clone())?;
        Ok(copy)
    }

    /// Forgets failures and rejected credentials. Call it after fixing the cause, never in a loop:
    /// EasyPay still counts the failures it saw.
    ///
    /// # Errors
    /// [`Error::GuardStore`].
    pub fn reset(&self) -> Result<()> {
        self.update(&mut |state| {
            state.consecutive_failures = 0;
            state.rejected.clear();
            state.in_flight = None;
        })
    }

    /// Decides whether `credentials` may be sent, and if so counts the attempt as a failure until
    /// it is known to have succeeded, so that a crash in between still counts. While another
    /// authentication is in flight (in this process or, with a shared store, any other), waits
    /// for its outcome first: a rejected token is then refused without being sent again.
    pub(crate) fn begin(&self, credentials: &Credentials) -> Result<Attempt> {
        let cap = self.cap;
        let owner = payauth_core::random_owner();
        let hold_ms = u64::try_from(self.in_flight_ttl.as_millis()).unwrap_or(u64::MAX);
        // Bounded: a hold ends by itself after its time to live.
        let deadline = Instant::now() + self.in_flight_ttl * 2 + Duration::from_secs(1);
        loop {
            let mut decision = Decision::Refuse(GuardRefusal::TooManyFailures { failures: cap });
            self.update(&mut |state| {
                if state.salt.is_empty() {
                    state.salt = new_salt();
                }
                let fingerprint = fingerprint(&state.salt, credentials);
                let now = now_ms();
                decision = if state.rejected.contains(&fingerprint) {
                    Decision::Refuse(GuardRefusal::RejectedCredentials)
                } else if state.consecutive_failures >= cap {
                    Decision::Refuse(GuardRefusal::TooManyFailures {
                        failures: state.consecutive_failures,
                    })
                } else if state.in_flight.as_ref().is_some_and(|f| f.until_ms > now) {
                    Decision::Wait
                } else {
                    state.consecutive_failures += 1;
                    state.in_flight = Some(InFlight {
                        owner: owner.clone(),
                        until_ms: now.saturating_add(hold_ms),
                    });
                    Decision::Proceed(fingerprint)
                };
            })?;
            match decision {
                Decision::Proceed(fingerprint) => {
                    return Ok(Attempt {
                        fingerprint,
                        owner,
                        store: Arc::clone(&self.store),
                    });
                }
                Decision::Refuse(refusal) => return Err(Error::Guarded(refusal)),
                Decision::Wait if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20 + u64::from(jitter_ms())));
                }
                Decision::Wait => {
                    return Err(Error::GuardStore(
                        "an authentication in flight never ended; refusing to send another"
                            .to_owned(),
                    ));
                }
            }
        }
    }

    /// EasyPay accepted the credentials: its count for this IP is back to zero.
    pub(crate) fn succeeded(&self, attempt: Attempt) -> Result<()> {
        self.update(&mut |state| {
            state.consecutive_failures = 0;
            end_flight(state, &attempt.owner);
        })
    }

    /// The attempt failed before its first byte was written (connection refused, connect
    /// timeout, TLS handshake): EasyPay cannot have counted it, so neither does the guard.
    pub(crate) fn not_sent(&self, attempt: Attempt) -> Result<()> {
        self.update(&mut |state| {
            state.consecutive_failures = state.consecutive_failures.saturating_sub(1);
            end_flight(state, &attempt.owner);
        })
    }

    /// EasyPay rejected the credentials: never send them again.
    pub(crate) fn rejected(&self, attempt: Attempt) -> Result<()> {
        self.update(&mut |state| {
            if !state.rejected.contains(&attempt.fingerprint) {
                state.rejected.push(attempt.fingerprint.clone());
            }
            let excess = state.rejected.len().saturating_sub(REJECTED_REMEMBERED);
            state.rejected.drain(..excess);
            end_flight(state, &attempt.owner);
        })
    }

    fn update(&self, change: &mut dyn FnMut(&mut GuardState)) -> Result<()> {
        self.store.update(change).map_err(Error::GuardStore)
    }
}

fn jitter_ms() -> u8 {
    let mut byte = [0u8; 1];
    let _ = getrandom::getrandom(&mut byte);
    byte[0] % 64
}

fn new_salt() -> String {
    let mut salt = [0u8; 32];
    // Without randomness the fingerprints would still work, only be guessable from the file;
    // getrandom failing at all means the OS is unusable, and the store write will report it.
    let _ = getrandom::getrandom(&mut salt);
    hex(&salt)
}

/// A keyed hash of the credentials: recognises them again without storing the token.
fn fingerprint(salt: &str, credentials: &Credentials) -> String {
    let mut mac = match <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(salt.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
    };
    mac.update(b"hmac-sessionkey/v1\0");
    mac.update(credentials.account.as_str().as_bytes());
    mac.update(b"\0");
    mac.update(credentials.token.expose().as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(token: &str) -> Credentials {
        Credentials::new("EP9116875", token).unwrap()
    }

    const GOOD: &str = "2148B239CF6846BDA5D141BF4A4CFBE8";
    const BAD: &str = "0000B239CF6846BDA5D141BF4A4CFBE8";

    fn guard() -> LockoutGuard {
        LockoutGuard::new(Arc::new(MemoryGuardStore::new()), 3).unwrap()
    }

    #[test]
    fn a_rejected_token_is_never_sent_again_but_a_new_one_is() {
        let guard = guard();
        let attempt = guard.begin(&credentials(BAD)).unwrap();
        guard.rejected(attempt).unwrap();
        assert!(matches!(
            guard.begin(&credentials(BAD)),
            Err(Error::Guarded(GuardRefusal::RejectedCredentials))
        ));
        let fixed = guard.begin(&credentials(GOOD)).unwrap();
        guard.succeeded(fixed).unwrap();
        assert_eq!(guard.state().unwrap().consecutive_failures(), 0);
        assert!(
            guard.begin(&credentials(BAD)).is_err(),
            "still rejected after a success"
        );
    }

    #[test]
    fn uncertain_outcomes_count_up_to_the_cap() {
        let guard = guard();
        for _ in 0..3 {
            // Started, never concluded: a timeout, a 5xx, a crash.
            guard.begin(&credentials(GOOD)).unwrap();
        }
        assert!(matches!(
            guard.begin(&credentials(GOOD)),
            Err(Error::Guarded(GuardRefusal::TooManyFailures {
                failures: 3
            }))
        ));
        guard.reset().unwrap();
        assert!(guard.begin(&credentials(GOOD)).is_ok());
    }

    #[test]
    fn others_wait_for_the_authentication_in_flight_and_learn_its_outcome() {
        let guard = guard();
        let first = guard.begin(&credentials(BAD)).unwrap();
        assert!(guard.state().unwrap().authentication_in_flight());
        std::thread::scope(|s| {
            let waiter = s.spawn(|| guard.begin(&credentials(BAD)).map(drop));
            std::thread::sleep(std::time::Duration::from_millis(100));
            assert!(!waiter.is_finished(), "must wait for the attempt in flight");
            guard.rejected(first).unwrap();
            assert!(matches!(
                waiter.join().unwrap(),
                Err(Error::Guarded(GuardRefusal::RejectedCredentials))
            ));
        });
        assert!(!guard.state().unwrap().authentication_in_flight());
        assert_eq!(
            guard.state().unwrap().consecutive_failures(),
            1,
            "one attempt sent"
        );
    }

    #[test]
    fn a_dead_holder_delays_the_others_by_at_most_the_hold() {
        let guard = guard().in_flight_ttl(std::time::Duration::from_millis(300));
        let crashed = guard.begin(&credentials(GOOD)).unwrap();
        // A process killed mid-authentication: no outcome, no drop.
        std::mem::forget(crashed);
        let started = std::time::Instant::now();
        let next = guard.begin(&credentials(GOOD)).unwrap();
        assert!(started.elapsed() >= std::time::Duration::from_millis(250));
        guard.succeeded(next).unwrap();
        assert_eq!(guard.state().unwrap().consecutive_failures(), 0);
    }

    #[test]
    fn attempts_that_were_not_sent_are_taken_back() {
        let guard = guard();
        for _ in 0..10 {
            let attempt = guard.begin(&credentials(GOOD)).unwrap();
            guard.not_sent(attempt).unwrap();
        }
        assert_eq!(guard.state().unwrap().consecutive_failures(), 0);
        guard.begin(&credentials(GOOD)).unwrap();
        assert_eq!(guard.state().unwrap().consecutive_failures(), 1);
    }

    #[test]
    fn cap_must_stay_below_six() {
        let store: Arc<dyn GuardStore> = Arc::new(MemoryGuardStore::new());
        assert!(LockoutGuard::new(Arc::clone(&store), 0).is_err());
        assert!(LockoutGuard::new(Arc::clone(&store), 6).is_err());
        assert!(LockoutGuard::new(store, 5).is_ok());
    }

    #[test]
    fn stored_state_holds_no_token() {
        let guard = guard();
        let attempt = guard.begin(&credentials(BAD)).unwrap();
        guard.rejected(attempt).unwrap();
        let json = serde_json::to_string(&guard.state().unwrap()).unwrap();
        assert!(!json.to_uppercase().contains(BAD), "{json}");
        assert!(!json.contains("B239CF68"), "{json}");
    }
}
