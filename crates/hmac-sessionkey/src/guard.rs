//! The lockout guard: EasyPay locks the caller's IP after six failed authentications in a row,
//! and only its support team can lift the lock. The guard makes sure this process (and, with a
//! [`FileGuardStore`], every process on the host) never gets there.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use payauth_core::{CacheKey, SharedStore};

use crate::TARGET;
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

/// The version of the stored form this release writes and reads.
pub const GUARD_STATE_VERSION: u32 = 1;

/// What the guard remembers, as stored. It holds no token: only salted, keyed fingerprints of
/// rejected credentials.
///
/// Its serde form is versioned and strict, so a damaged or foreign store fails closed instead of
/// reading as a fresh state:
/// `{"version":1,"salt":"<64 hex>","consecutive_failures":N,"rejected":["<64 hex>",...]}`. Every
/// field is required, no other field is accepted, the salt is 32 bytes in lowercase hex (empty
/// only while no fingerprint is stored), and at most 32 fingerprints of 32 bytes each are kept.
/// Deserialisation errors name the field and the rule, never the stored content.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value", into = "StoredState")]
pub struct GuardState {
    /// Hex key for the fingerprints, made on first use.
    salt: String,
    /// Authentications in a row that did not succeed, counting one in flight.
    consecutive_failures: u32,
    /// HMAC-SHA256 fingerprints (keyed with `salt`) of credentials EasyPay rejected, newest last.
    rejected: Vec<String>,
    /// The authentication in flight, if any: while it lasts, other processes wait for its
    /// outcome instead of sending their own.
    in_flight: Option<InFlight>,
}

/// An authentication in flight: a random owner id and when the hold ends by itself (wall-clock
/// milliseconds since the Unix epoch), should its process die.
#[derive(Clone, PartialEq, Eq, Serialize)]
struct InFlight {
    owner: String,
    until_ms: u64,
}

/// The stored form, as written.
#[derive(Serialize)]
struct StoredState {
    version: u32,
    salt: String,
    consecutive_failures: u32,
    rejected: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_flight: Option<InFlight>,
}

impl From<GuardState> for StoredState {
    fn from(state: GuardState) -> Self {
        StoredState {
            version: GUARD_STATE_VERSION,
            salt: state.salt,
            consecutive_failures: state.consecutive_failures,
            rejected: state.rejected,
            in_flight: state.in_flight,
        }
    }
}

/// Why stored bytes are not a guard state. Names fields and rules, never the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidGuardState(String);

impl fmt::Display for InvalidGuardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidGuardState {}

const FIELDS: [&str; 4] = ["version", "salt", "consecutive_failures", "rejected"];
/// Present only while an authentication is in flight.
const OPTIONAL_FIELDS: [&str; 1] = ["in_flight"];
const HEX_KEY_CHARS: usize = 64;

impl TryFrom<serde_json::Value> for GuardState {
    type Error = InvalidGuardState;

    fn try_from(value: serde_json::Value) -> std::result::Result<Self, InvalidGuardState> {
        use serde_json::Value;
        let invalid = |reason: &str| Err(InvalidGuardState(reason.to_owned()));
        let Value::Object(object) = value else {
            return invalid("not a JSON object");
        };
        if object
            .keys()
            .any(|key| !FIELDS.contains(&key.as_str()) && !OPTIONAL_FIELDS.contains(&key.as_str()))
        {
            return invalid(
                "an unknown field (a guard state has exactly version, salt, consecutive_failures and rejected, and in_flight while an authentication is in flight)",
            );
        }
        if let Some(missing) = FIELDS.iter().find(|field| !object.contains_key(**field)) {
            return Err(InvalidGuardState(format!(
                "the required field {missing} is missing"
            )));
        }
        match object["version"].as_u64() {
            Some(version) if version == u64::from(GUARD_STATE_VERSION) => {}
            Some(_) => {
                return invalid("an unsupported version (this release reads version 1)");
            }
            None => return invalid("version is not a whole number"),
        }
        let is_key = |text: &str| {
            text.len() == HEX_KEY_CHARS
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let Some(consecutive_failures) = object["consecutive_failures"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
        else {
            return invalid("consecutive_failures is not a whole number from 0 to 4294967295");
        };
        let Some(list) = object["rejected"].as_array() else {
            return invalid("rejected is not a list");
        };
        if list.len() > REJECTED_REMEMBERED {
            return invalid("rejected holds more than 32 fingerprints");
        }
        let mut rejected = Vec::with_capacity(list.len());
        for item in list {
            match item.as_str() {
                Some(fingerprint) if is_key(fingerprint) => rejected.push(fingerprint.to_owned()),
                _ => return invalid("rejected holds something other than 64 lowercase hex digits"),
            }
        }
        let salt = match object["salt"].as_str() {
            Some(salt) if is_key(salt) => salt.to_owned(),
            // No salt yet: only possible before the first fingerprint.
            Some("") if rejected.is_empty() => String::new(),
            Some("") => {
                return invalid(
                    "salt is empty while fingerprints are stored (they would never match)",
                );
            }
            _ => return invalid("salt is not 64 lowercase hex digits"),
        };
        let in_flight = match object.get("in_flight") {
            None | Some(Value::Null) => None,
            Some(Value::Object(hold)) => {
                let owner = hold.get("owner").and_then(Value::as_str);
                let until_ms = hold.get("until_ms").and_then(Value::as_u64);
                match (owner, until_ms) {
                    (Some(owner), Some(until_ms)) if hold.len() == 2 && owner.len() <= 64 => {
                        Some(InFlight {
                            owner: owner.to_owned(),
                            until_ms,
                        })
                    }
                    _ => {
                        return invalid(
                            "in_flight is not exactly an owner (at most 64 characters) and until_ms",
                        );
                    }
                }
            }
            Some(_) => return invalid("in_flight is not an object"),
        };
        Ok(GuardState {
            salt,
            consecutive_failures,
            rejected,
            in_flight,
        })
    }
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

    /// Reads a stored state (the JSON a [`FileGuardStore`] writes), strictly: see the type's
    /// documentation for the rules.
    ///
    /// # Errors
    /// [`InvalidGuardState`], naming the rule broken (and a line and column for broken JSON),
    /// never quoting the bytes.
    pub fn from_json(bytes: &[u8]) -> std::result::Result<Self, InvalidGuardState> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            // Syntax errors name a position; data errors cannot happen for a `Value`. Neither
            // quotes content, but only the position is kept, to be certain.
            InvalidGuardState(format!(
                "not complete JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        GuardState::try_from(value)
    }

    /// The stored form: versioned JSON, one line.
    pub fn to_json(&self) -> Vec<u8> {
        let stored = StoredState::from(self.clone());
        // Serialising strings and integers into memory cannot fail.
        serde_json::to_vec(&stored).unwrap_or_default()
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

/// A store in a file, shared by every process on the host that names the same path, under an
/// OS file lock (released by the OS if a process dies). It survives restarts, which is what stops a
/// crash-looping service from locking the IP.
///
/// The file's rules (see the crate documentation):
/// - **Atomic writes.** A change is written to `<file>.tmp`, flushed to disk, and renamed over
///   the file, under an exclusive lock on `<file>.lock`; a process killed at any point leaves
///   the previous or the new state, never a partial one. A read that changes nothing writes
///   nothing.
/// - **Fail closed.** A file that is not a complete [`GuardState`] of the current version (empty,
///   truncated, `{}`, unknown fields, an emptied salt) is an error, never a fresh state. Only a
///   missing file is a fresh state.
/// - **Private.** Files are created with mode 0600. Symbolic links are never followed (the file,
///   its `.lock` and `.tmp`). A file writable by group or others, or owned by another user, is
///   refused: anyone who can write it can reset the count.
#[derive(Debug, Clone)]
pub struct FileGuardStore {
    path: PathBuf,
}

/// The most a guard file can hold: 32 fingerprints and a salt are about 2.5 KiB.
const MAX_FILE_BYTES: u64 = 64 * 1024;

impl FileGuardStore {
    /// A store at `path` (created on first write; its folder must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileGuardStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<file>` plus `suffix`, in the same folder (a rename is atomic only within a file system).
    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    /// Reads the state without locking or writing anything (for monitoring): a rename is atomic,
    /// so the file holds a whole state at every instant.
    ///
    /// # Errors
    /// As for [`GuardStore::update`].
    pub fn load(&self) -> std::result::Result<GuardState, String> {
        Ok(self.read()?.unwrap_or_default())
    }

    fn read(&self) -> std::result::Result<Option<GuardState>, String> {
        let mut file = match open_private(&self.path, Access::Read) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.describe(&self.path, &e)),
        };
        check_private(&self.path, &file)?;
        let mut bytes = Vec::new();
        (&mut file)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.describe(&self.path, &e))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(self.damaged("more bytes than any guard state"));
        }
        GuardState::from_json(&bytes)
            .map(Some)
            .map_err(|reason| self.damaged(&reason.to_string()))
    }

    fn write(&self, state: &GuardState) -> std::io::Result<()> {
        let temporary = self.sibling(".tmp");
        // Left by a writer that was killed; it never became the state. `remove_file` removes a
        // link, not its target.
        match std::fs::remove_file(&temporary) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = open_private(&temporary, Access::CreateNew)?;
        file.write_all(&state.to_json())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, &self.path)?;
        sync_folder(&self.path)
    }

    fn locked_update(
        &self,
        change: &mut dyn FnMut(&mut GuardState),
    ) -> std::result::Result<(), String> {
        let lock_path = self.sibling(".lock");
        let lock =
            open_private(&lock_path, Access::Lock).map_err(|e| self.describe(&lock_path, &e))?;
        check_private(&lock_path, &lock)?;
        // Fully qualified: the std method of the same name needs a newer Rust than the MSRV.
        fs4::FileExt::lock(&lock).map_err(|e| self.describe(&lock_path, &e))?;
        let result = self.read().and_then(|stored| {
            let before = stored.unwrap_or_default();
            let mut state = before.clone();
            change(&mut state);
            if state == before {
                return Ok(());
            }
            self.write(&state)
                .map_err(|e| self.describe(&self.path, &e))
        });
        // Closing the file releases the lock too; unlocking first keeps the order explicit.
        let _ = fs4::FileExt::unlock(&lock);
        result
    }

    fn damaged(&self, reason: &str) -> String {
        format!(
            "{} is not a guard state of version {GUARD_STATE_VERSION} ({reason}); failing closed. \
             Check with EasyPay that the IP address is not locked, then delete the file",
            self.path.display()
        )
    }

    fn describe(&self, path: &Path, error: &std::io::Error) -> String {
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if is_link {
            format!(
                "{} is a symbolic link; the guard never follows links (one could point it at \
                 another file): give the store the real path",
                path.display()
            )
        } else {
            format!("{}: {error}", path.display())
        }
    }
}

impl GuardStore for FileGuardStore {
    fn update(&self, change: &mut dyn FnMut(&mut GuardState)) -> std::result::Result<(), String> {
        self.locked_update(change)
    }
}

#[derive(Clone, Copy)]
enum Access {
    Read,
    Lock,
    CreateNew,
}

/// Opens without following a symbolic link at the last component, creating with mode 0600.
fn open_private(path: &Path, access: Access) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    match access {
        Access::Read => options.read(true),
        Access::Lock => options.read(true).write(true).create(true).truncate(false),
        Access::CreateNew => options.write(true).create_new(true),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
        // `c_int` on every Unix; the flag's bits fit.
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options.open(path)
}

/// Refuses a file that is not a regular file, is writable by group or others, or belongs to
/// another user: whoever can write it can reset the count.
#[cfg(unix)]
fn check_private(path: &Path, file: &File) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let metadata = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !metadata.is_file() {
        return Err(format!(
            "{} is not a regular file; give the store the path of a file",
            path.display()
        ));
    }
    ownership_problem(
        path,
        metadata.uid(),
        metadata.mode(),
        rustix::process::geteuid().as_raw(),
    )
    .map_or(Ok(()), Err)
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _file: &File) -> std::result::Result<(), String> {
    Ok(())
}

/// The ownership and mode rule, given the file's owner and mode and this process's user.
#[cfg(unix)]
fn ownership_problem(path: &Path, owner: u32, mode: u32, user: u32) -> Option<String> {
    let path = path.display();
    if owner != user {
        return Some(format!(
            "{path} belongs to user id {owner}, not to this process's user id {user}; anyone \
             who can write it can reset the failure count. Give it to this user \
             (chown {user} {path}) or use a path of this user's"
        ));
    }
    if mode & 0o022 != 0 {
        return Some(format!(
            "{path} is writable by group or others (mode {:03o}); anyone who can write it can \
             reset the failure count. Run chmod 600 {path}",
            mode & 0o777
        ));
    }
    None
}

/// Makes the rename itself durable.
#[cfg(unix)]
fn sync_folder(path: &Path) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(folder)?.sync_all()
}

#[cfg(not(unix))]
fn sync_folder(_path: &Path) -> std::io::Result<()> {
    Ok(())
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
        let mut waited = false;
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
                    log::debug!(
                        target: TARGET,
                        "lockout guard: authentication allowed (counted as a failure until it \
                         succeeds; cap {cap})"
                    );
                    return Ok(Attempt {
                        fingerprint,
                        owner,
                        store: Arc::clone(&self.store),
                    });
                }
                Decision::Refuse(refusal) => {
                    match &refusal {
                        GuardRefusal::RejectedCredentials => log::warn!(
                            target: TARGET,
                            "lockout guard: authentication refused unsent, EasyPay already \
                             rejected these credentials"
                        ),
                        GuardRefusal::TooManyFailures { failures } => log::warn!(
                            target: TARGET,
                            "lockout guard: authentication refused unsent, {failures} failures in \
                             a row (cap {cap}); reset the guard once the cause is fixed"
                        ),
                    }
                    return Err(Error::Guarded(refusal));
                }
                Decision::Wait if Instant::now() < deadline => {
                    if !waited {
                        waited = true;
                        log::debug!(
                            target: TARGET,
                            "lockout guard: another authentication is in flight; waiting for its \
                             outcome"
                        );
                    }
                    std::thread::sleep(Duration::from_millis(20 + u64::from(jitter_ms())));
                }
                Decision::Wait => {
                    log::warn!(
                        target: TARGET,
                        "lockout guard: authentication refused, the one in flight never ended"
                    );
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
        log::debug!(target: TARGET, "lockout guard: authentication succeeded, failure count reset");
        self.update(&mut |state| {
            state.consecutive_failures = 0;
            end_flight(state, &attempt.owner);
        })
    }

    /// The attempt failed before its first byte was written (connection refused, connect
    /// timeout, TLS handshake): EasyPay cannot have counted it, so neither does the guard.
    pub(crate) fn not_sent(&self, attempt: Attempt) -> Result<()> {
        log::debug!(
            target: TARGET,
            "lockout guard: the authentication was never sent; its attempt is taken back"
        );
        self.update(&mut |state| {
            state.consecutive_failures = state.consecutive_failures.saturating_sub(1);
            end_flight(state, &attempt.owner);
        })
    }

    /// EasyPay rejected the credentials: never send them again.
    pub(crate) fn rejected(&self, attempt: Attempt) -> Result<()> {
        log::warn!(
            target: TARGET,
            "lockout guard: EasyPay rejected the credentials; failure recorded, they are never \
             sent again"
        );
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

    fn state(n: u32) -> GuardState {
        GuardState {
            salt: format!("{:064x}", 0xfeed_u32),
            consecutive_failures: n,
            rejected: (0..n.min(REJECTED_REMEMBERED as u32))
                .map(|i| format!("{:064x}", u128::from(n) * 64 + u128::from(i)))
                .collect(),
            in_flight: None,
        }
    }

    #[test]
    fn an_authentication_in_flight_is_stored_and_read_back() {
        let mut held = state(2);
        held.in_flight = Some(InFlight {
            owner: "0123456789abcdef0123456789abcdef".to_owned(),
            until_ms: 1_767_225_600_000,
        });
        let json = held.to_json();
        assert!(String::from_utf8_lossy(&json).contains("\"in_flight\""));
        assert_eq!(GuardState::from_json(&json).unwrap(), held);
        // Absent when nothing is in flight, so a file without a hold reads as before.
        assert!(!String::from_utf8_lossy(&state(2).to_json()).contains("in_flight"));
        let bad = br#"{"version":1,"salt":"","consecutive_failures":0,"rejected":[],"in_flight":{"owner":"x"}}"#;
        assert!(GuardState::from_json(bad).is_err());
    }

    #[test]
    fn stored_state_round_trips_and_is_versioned() {
        for n in [0, 1, 5, 40] {
            let stored = state(n);
            let json = stored.to_json();
            let text = String::from_utf8(json.clone()).unwrap();
            assert!(text.starts_with(r#"{"version":1,"#), "{text}");
            assert_eq!(GuardState::from_json(&json).unwrap(), stored);
            assert_eq!(serde_json::from_slice::<GuardState>(&json).unwrap(), stored);
            assert_eq!(serde_json::to_vec(&stored).unwrap(), json);
        }
        // A state before the first salt is complete too.
        let fresh = GuardState::default();
        assert_eq!(GuardState::from_json(&fresh.to_json()).unwrap(), fresh);
    }

    #[test]
    fn anything_but_a_complete_state_of_this_version_is_refused_without_quoting_it() {
        let salt = "5ec7e75a17000000000000000000000000000000000000000000000000000000";
        let print = "ab12cd34ab12cd34ab12cd34ab12cd34ab12cd34ab12cd34ab12cd34ab12cd34";
        let cases = [
            String::new(),
            "   ".into(),
            "{}".into(),
            "[]".into(),
            "null".into(),
            r#""SECRET-CONTENT""#.into(),
            // The unversioned form of 0.1.0.
            format!(r#"{{"salt":"{salt}","consecutive_failures":2,"rejected":[]}}"#),
            format!(r#"{{"version":2,"salt":"{salt}","consecutive_failures":2,"rejected":[]}}"#),
            format!(r#"{{"version":"1","salt":"{salt}","consecutive_failures":2,"rejected":[]}}"#),
            format!(r#"{{"version":1,"salt":"{salt}","consecutive_failures":2}}"#),
            format!(r#"{{"version":1,"salt":"{salt}","rejected":[]}}"#),
            r#"{"version":1,"consecutive_failures":2,"rejected":[]}"#.into(),
            format!(
                r#"{{"version":1,"salt":"{salt}","consecutive_failures":2,"rejected":[],"SECRET-CONTENT":1}}"#
            ),
            format!(r#"{{"version":1,"salt":"{salt}","consecutive_faliures":2,"rejected":[]}}"#),
            format!(r#"{{"version":1,"salt":"","consecutive_failures":2,"rejected":["{print}"]}}"#),
            r#"{"version":1,"salt":"SECRET-CONTENT","consecutive_failures":2,"rejected":[]}"#
                .into(),
            format!(
                r#"{{"version":1,"salt":"{}","consecutive_failures":2,"rejected":[]}}"#,
                salt.to_uppercase()
            ),
            format!(r#"{{"version":1,"salt":"{salt}","consecutive_failures":-1,"rejected":[]}}"#),
            format!(
                r#"{{"version":1,"salt":"{salt}","consecutive_failures":4294967296,"rejected":[]}}"#
            ),
            format!(
                r#"{{"version":1,"salt":"{salt}","consecutive_failures":2,"rejected":"SECRET-CONTENT"}}"#
            ),
            format!(
                r#"{{"version":1,"salt":"{salt}","consecutive_failures":2,"rejected":["SECRET-CONTENT"]}}"#
            ),
            format!(
                r#"{{"version":1,"salt":"{salt}","consecutive_failures":2,"rejected":[{}]}}"#,
                vec![format!("\"{print}\""); 33].join(",")
            ),
            format!(r#"{{"version":1,"salt":"{salt}","consecutive_failures":2,"rejected":["#),
        ];
        for case in &cases {
            let err = GuardState::from_json(case.as_bytes()).expect_err(case);
            let text = format!("{err} {err:?}");
            for quoted in ["SECRET", "5ec7e75a17", "ab12cd34", "faliures"] {
                assert!(!text.contains(quoted), "{case}: {text}");
            }
            assert!(serde_json::from_str::<GuardState>(case).is_err(), "{case}");
        }
    }

    mod file {
        use super::*;
        use std::io::{BufRead as _, BufReader};
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        use std::process::{Command, Stdio};
        use std::sync::atomic::{AtomicUsize, Ordering};

        /// A fresh path in the temporary folder, with its `.lock` and `.tmp` siblings removed.
        pub(super) fn path() -> PathBuf {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let path = std::env::temp_dir().join(format!(
                "hmac-sessionkey-unit-{}-{n}.json",
                std::process::id()
            ));
            for suffix in ["", ".lock", ".tmp"] {
                let mut name = path.as_os_str().to_owned();
                name.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(name));
            }
            path
        }

        fn set(store: &FileGuardStore, n: u32) -> std::result::Result<(), String> {
            store.update(&mut |s| *s = state(n))
        }

        #[test]
        fn writes_are_whole_and_reads_write_nothing() {
            let path = path();
            let store = FileGuardStore::new(&path);
            let guard = LockoutGuard::new(Arc::new(store.clone()), 3).unwrap();
            // Reading a store that does not exist yet creates no state file.
            assert_eq!(guard.state().unwrap(), GuardState::default());
            guard.reset().unwrap();
            assert!(!path.exists());
            guard.begin(&credentials(GOOD)).unwrap();
            let written = std::fs::read(&path).unwrap();
            let stored = GuardState::from_json(&written).unwrap();
            assert_eq!(stored.consecutive_failures(), 1);
            #[cfg(unix)]
            let inode = std::fs::metadata(&path).unwrap().ino();
            // Reads, and changes that change nothing, leave the very same file in place.
            for _ in 0..3 {
                assert_eq!(guard.state().unwrap().consecutive_failures(), 1);
                assert_eq!(store.load().unwrap(), stored);
            }
            assert_eq!(std::fs::read(&path).unwrap(), written);
            #[cfg(unix)]
            assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode);
            // A leftover temporary file from a killed writer is neither read nor in the way.
            let mut temporary = path.as_os_str().to_owned();
            temporary.push(".tmp");
            std::fs::write(PathBuf::from(&temporary), "{\"version\":1,").unwrap();
            assert_eq!(guard.state().unwrap().consecutive_failures(), 1);
            guard.begin(&credentials(GOOD)).unwrap();
            assert_eq!(guard.state().unwrap().consecutive_failures(), 2);
            assert!(!PathBuf::from(&temporary).exists());
        }

        #[test]
        fn a_damaged_file_fails_closed_without_quoting_it() {
            let salt = "5ec7e75a17000000000000000000000000000000000000000000000000000000";
            for content in [
                String::new(),
                "{}".into(),
                "[]".into(),
                r#"{"version":1,"salt":"#.into(),
                format!(r#"{{"salt":"{salt}","consecutive_failures":0,"rejected":[]}}"#),
                format!(
                    r#"{{"version":1,"salt":"","consecutive_failures":0,"rejected":["{salt}"]}}"#
                ),
                r#"{"version":1,"salt":"SECRET","consecutive_failures":0,"rejected":[]}"#.into(),
            ] {
                let path = path();
                std::fs::write(&path, &content).unwrap();
                let guard = LockoutGuard::new(Arc::new(FileGuardStore::new(&path)), 3).unwrap();
                let err = guard.begin(&credentials(GOOD)).err().unwrap();
                let text = format!("{err} {err:?}");
                assert!(matches!(err, Error::GuardStore(_)), "{content}: {text}");
                assert!(text.contains("failing closed"), "{text}");
                assert!(
                    !text.contains("SECRET") && !text.contains("5ec7e75a17"),
                    "{text}"
                );
                assert!(guard.state().is_err());
                assert!(guard.reset().is_err(), "a reset does not paper over it");
                // Untouched: the evidence stays for a person to look at.
                assert_eq!(std::fs::read(&path).unwrap(), content.as_bytes());
            }
        }

        #[cfg(unix)]
        #[test]
        fn the_ownership_rule() {
            let p = Path::new("/var/lib/app/guard.json");
            assert_eq!(ownership_problem(p, 1000, 0o100600, 1000), None);
            assert_eq!(ownership_problem(p, 1000, 0o100644, 1000), None);
            let other = ownership_problem(p, 0, 0o100600, 1000).unwrap();
            assert!(
                other.contains("chown 1000 /var/lib/app/guard.json"),
                "{other}"
            );
            for mode in [0o100666, 0o100620, 0o100602] {
                let writable = ownership_problem(p, 1000, mode, 1000).unwrap();
                assert!(writable.contains("chmod 600"), "{writable}");
            }
        }

        /// Run by `a_writer_killed_mid_write_leaves_the_state_intact` in a child process: writes
        /// state after state until killed.
        #[test]
        #[ignore = "a child process of a_writer_killed_mid_write_leaves_the_state_intact"]
        fn killed_writer_child() {
            let path = std::env::var_os(CHILD_PATH).unwrap();
            let store = FileGuardStore::new(PathBuf::from(path));
            let mut announced = false;
            loop {
                store
                    .update(&mut |s| *s = state(s.consecutive_failures + 1))
                    .unwrap();
                if !announced {
                    println!("{READY}");
                    announced = true;
                }
            }
        }

        const CHILD_PATH: &str = "HMAC_SESSIONKEY_KILLED_WRITER_PATH";
        const READY: &str = "killed-writer: writing";

        /// Kills the child if the test fails before it does.
        struct Reaper(std::process::Child);

        impl Drop for Reaper {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }

        /// A real process, killed with SIGKILL while it rewrites the state in a loop: whenever
        /// it dies, even with its temporary file half written, the file holds a whole state, no
        /// count is lost, and the lock is free.
        #[test]
        fn a_writer_killed_mid_write_leaves_the_state_intact() {
            let path = path();
            let store = FileGuardStore::new(&path);
            set(&store, 1).unwrap();
            let mut temporary = path.as_os_str().to_owned();
            temporary.push(".tmp");
            let temporary = PathBuf::from(temporary);
            let mut last = 1;
            let mut killed_mid_write = 0;
            let mut rounds = 0;
            let mut jitter: u64 = 0x9e37_79b9;
            while rounds < 5 || (killed_mid_write < 3 && rounds < 200) {
                rounds += 1;
                let mut child = Reaper(
                    Command::new(std::env::current_exe().unwrap())
                        .args([
                            "guard::tests::file::killed_writer_child",
                            "--exact",
                            "--ignored",
                            "--nocapture",
                            "--test-threads=1",
                        ])
                        .env(CHILD_PATH, &path)
                        .stdout(Stdio::piped())
                        .stderr(Stdio::null())
                        .spawn()
                        .unwrap(),
                );
                let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
                // Wait until the child is in its write loop.
                loop {
                    let line = lines
                        .next()
                        .expect("the child died before writing")
                        .unwrap();
                    if line.contains(READY) {
                        break;
                    }
                }
                jitter = jitter
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                std::thread::sleep(std::time::Duration::from_micros((jitter >> 33) % 20_000));
                child.0.kill().unwrap(); // SIGKILL
                child.0.wait().unwrap();
                if temporary.exists() {
                    killed_mid_write += 1;
                }
                let now = store
                    .load()
                    .unwrap_or_else(|e| panic!("round {rounds}: {e}"));
                let n = now.consecutive_failures();
                assert_eq!(now, state(n), "round {rounds}: a whole state");
                assert!(
                    n > last,
                    "round {rounds}: {n} after {last}: a count was lost"
                );
                last = n;
                // The dead writer's lock is gone.
                set(&store, n).unwrap();
            }
            assert!(
                killed_mid_write > 0,
                "no kill in {rounds} rounds landed while the temporary file existed"
            );
        }
    }
}
