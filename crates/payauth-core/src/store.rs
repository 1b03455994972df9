//! What a fleet of processes may share: cached credentials, leases and small records, behind
//! traits so a client can use the in-process [`MemoryStore`] or a shared one (`payauth-redis`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A shared store could not be used. It names the store and says what failed; it never carries
/// a stored value or a password from a connection URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shared store {store}: {reason}")]
pub struct StoreError {
    /// Which store (`redis 127.0.0.1:6379`, `memory`, a file path).
    pub store: String,
    /// What failed.
    pub reason: String,
}

impl StoreError {
    /// An error of `store` for `reason`.
    pub fn new(store: impl Into<String>, reason: impl Into<String>) -> Self {
        StoreError {
            store: store.into(),
            reason: reason.into(),
        }
    }
}

/// A value read from a [`CredentialStore`].
#[derive(Clone, PartialEq, Eq)]
pub struct Stored {
    /// The stored bytes (sealed by the client before they were written).
    pub value: Vec<u8>,
    /// Changes on every write, so writers can compare-and-set and invalidate only what they saw.
    pub generation: u64,
    /// How long the store keeps the value: the store's own clock decides, not the reader's.
    pub ttl: Duration,
}

impl fmt::Debug for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stored")
            .field("bytes", &self.value.len())
            .field("generation", &self.generation)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// A cache of credentials with an expiry, shared by whoever uses the same store.
///
/// Generations are never 0: 0 stands for "no value" in [`compare_and_set`](Self::compare_and_set).
pub trait CredentialStore: Send + Sync + fmt::Debug {
    /// The value under `key` and its remaining time to live; `None` if absent or expired.
    ///
    /// # Errors
    /// The store cannot be reached or answered nonsense.
    fn get(&self, key: &str) -> Result<Option<Stored>, StoreError>;

    /// Writes `value` under `key` for `ttl`, whatever was there; returns the new generation.
    ///
    /// # Errors
    /// As for [`get`](Self::get).
    fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<u64, StoreError>;

    /// Writes `value` only if the current generation is `expected` (0: only if absent); returns
    /// the new generation, or `None` if someone else wrote first.
    ///
    /// # Errors
    /// As for [`get`](Self::get).
    fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError>;

    /// Deletes the value only if its generation is still `generation`; returns whether it did.
    /// Many processes that saw the same credential rejected call this, and only the first wins.
    ///
    /// # Errors
    /// As for [`get`](Self::get).
    fn invalidate_if(&self, key: &str, generation: u64) -> Result<bool, StoreError>;
}

/// Leases: at most one owner of a name at a time, for at most its time to live.
pub trait LeaseStore: Send + Sync + fmt::Debug {
    /// Takes `name` for `owner` if nobody holds it (`SET NX PX` semantics); returns whether it
    /// did. A lease nobody releases ends by itself after `ttl`.
    ///
    /// # Errors
    /// The store cannot be reached.
    fn try_acquire(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Releases `name` only if `owner` still holds it; returns whether it did.
    ///
    /// # Errors
    /// The store cannot be reached.
    fn release(&self, name: &str, owner: &str) -> Result<bool, StoreError>;
}

/// The change [`RecordStore::update_record`] applies: the current bytes in, the new bytes out
/// (`None` to leave the record as it is).
pub type RecordChange<'a> = dyn FnMut(Option<&[u8]>) -> Option<Vec<u8>> + 'a;

/// Small records changed atomically (the EasyPay lockout guard's state).
pub trait RecordStore: Send + Sync + fmt::Debug {
    /// Reads the record under `key` (`None` if absent), lets `change` compute the new contents,
    /// and writes them, atomically with respect to every other user of the store. `change` may
    /// run more than once (optimistic stores retry on conflict); returning `None` leaves the
    /// record as it is.
    ///
    /// # Errors
    /// The store cannot be reached, or the update kept conflicting.
    fn update_record(&self, key: &str, change: &mut RecordChange<'_>) -> Result<(), StoreError>;
}

/// Everything a client needs from a shared store. Implemented for every type that has all three.
pub trait SharedStore: CredentialStore + LeaseStore + RecordStore {}

impl<S: CredentialStore + LeaseStore + RecordStore> SharedStore for S {}

/// A lease taken with [`Lease::acquire`]: a name and a random owner id.
#[derive(Debug)]
pub struct Lease {
    name: String,
    owner: String,
}

impl Lease {
    /// Tries to take `name` for `ttl` under a fresh random owner id; `None` if someone holds it.
    ///
    /// # Errors
    /// The store cannot be reached.
    pub fn acquire(
        store: &dyn LeaseStore,
        name: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let owner = random_owner();
        Ok(store.try_acquire(name, &owner, ttl)?.then(|| Lease {
            name: name.to_owned(),
            owner,
        }))
    }

    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The random owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Releases the lease if this owner still holds it; returns whether it did.
    ///
    /// # Errors
    /// The store cannot be reached (the lease then ends with its time to live).
    pub fn release(self, store: &dyn LeaseStore) -> Result<bool, StoreError> {
        store.release(&self.name, &self.owner)
    }
}

/// 128 random bits in hex.
pub fn random_owner() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        // Unique enough without the OS generator: time and a process-wide counter.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes[..8].copy_from_slice(&(nanos as u64).to_le_bytes());
        bytes[8..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        bytes[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The in-process store: what a single process uses, and the reference the shared stores are
/// tested against. Time to live is measured on the monotonic clock, like a server's.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    values: HashMap<String, (Vec<u8>, u64, Instant)>,
    leases: HashMap<String, (String, Instant)>,
    records: HashMap<String, Vec<u8>>,
    generation: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store as a shared trait object.
    pub fn shared() -> Arc<dyn SharedStore> {
        Arc::new(Self::new())
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        // Every change is a single insert or remove: a panic cannot leave it half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MemoryState {
    fn live(&mut self, key: &str) -> Option<&(Vec<u8>, u64, Instant)> {
        let now = Instant::now();
        if self
            .values
            .get(key)
            .is_some_and(|(_, _, until)| *until <= now)
        {
            self.values.remove(key);
        }
        self.values.get(key)
    }

    fn write(&mut self, key: &str, value: &[u8], ttl: Duration) -> u64 {
        self.generation += 1;
        let generation = self.generation;
        self.values.insert(
            key.to_owned(),
            (value.to_vec(), generation, Instant::now() + ttl),
        );
        generation
    }
}

impl CredentialStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Stored>, StoreError> {
        let mut state = self.lock();
        Ok(state.live(key).map(|(value, generation, until)| Stored {
            value: value.clone(),
            generation: *generation,
            ttl: until.saturating_duration_since(Instant::now()),
        }))
    }

    fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<u64, StoreError> {
        Ok(self.lock().write(key, value, ttl))
    }

    fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let mut state = self.lock();
        let current = state.live(key).map_or(0, |(_, generation, _)| *generation);
        Ok((current == expected).then(|| state.write(key, value, ttl)))
    }

    fn invalidate_if(&self, key: &str, generation: u64) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let matches = state.live(key).is_some_and(|(_, g, _)| *g == generation);
        if matches {
            state.values.remove(key);
        }
        Ok(matches)
    }
}

impl LeaseStore for MemoryStore {
    fn try_acquire(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let now = Instant::now();
        let free = state
            .leases
            .get(name)
            .is_none_or(|(_, until)| *until <= now);
        if free {
            state
                .leases
                .insert(name.to_owned(), (owner.to_owned(), now + ttl));
        }
        Ok(free)
    }

    fn release(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let now = Instant::now();
        let held = state
            .leases
            .get(name)
            .is_some_and(|(holder, until)| holder == owner && *until > now);
        if held {
            state.leases.remove(name);
        }
        Ok(held)
    }
}

impl RecordStore for MemoryStore {
    fn update_record(&self, key: &str, change: &mut RecordChange<'_>) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(new) = change(state.records.get(key).map(Vec::as_slice)) {
            state.records.insert(key.to_owned(), new);
        }
        Ok(())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("MemoryStore")
            .field("values", &state.values.len())
            .field("leases", &state.leases.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn compare_and_set_and_invalidate_follow_generations() {
        let store = MemoryStore::new();
        assert_eq!(store.get("k").unwrap(), None);
        let first = store.compare_and_set("k", 0, b"a", TTL).unwrap().unwrap();
        assert_eq!(store.compare_and_set("k", 0, b"b", TTL).unwrap(), None);
        let second = store
            .compare_and_set("k", first, b"b", TTL)
            .unwrap()
            .unwrap();
        assert_ne!(first, second);
        assert!(!store.invalidate_if("k", first).unwrap());
        assert_eq!(store.get("k").unwrap().unwrap().value, b"b");
        assert!(store.invalidate_if("k", second).unwrap());
        assert_eq!(store.get("k").unwrap(), None);
    }

    #[test]
    fn values_and_leases_expire() {
        let store = MemoryStore::new();
        store.put("k", b"a", Duration::from_millis(30)).unwrap();
        assert!(
            store
                .try_acquire("l", "me", Duration::from_millis(30))
                .unwrap()
        );
        assert!(!store.try_acquire("l", "you", TTL).unwrap());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(store.get("k").unwrap(), None);
        assert!(store.try_acquire("l", "you", TTL).unwrap());
        assert!(
            !store.release("l", "me").unwrap(),
            "only the owner releases"
        );
        assert!(store.release("l", "you").unwrap());
    }

    #[test]
    fn lease_owner_ids_are_random() {
        let store = MemoryStore::new();
        let lease = Lease::acquire(&store, "l", TTL).unwrap().unwrap();
        assert_eq!(lease.owner().len(), 32);
        assert!(Lease::acquire(&store, "l", TTL).unwrap().is_none());
        assert_ne!(lease.owner(), random_owner());
        assert!(lease.release(&store).unwrap());
        assert!(Lease::acquire(&store, "l", TTL).unwrap().is_some());
    }
}
