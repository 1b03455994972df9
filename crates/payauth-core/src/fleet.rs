//! A credential shared by a fleet of processes through a [`SharedStore`]: the layer between a
//! client's in-process [`CredentialCell`](crate::CredentialCell) and its token endpoint.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::cell::Expiring;
use crate::clock::SharedClock;
use crate::seal::Sealer;
use crate::store::{Lease, SharedStore, StoreError, Stored};

/// How long a process may hold the refresh lease before the others take over: a process killed
/// mid-refresh delays the others by at most this.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(15);

/// A credential that can travel through a shared store (sealed first, see [`Sealer`]).
pub trait SharedValue: Sized {
    /// The bytes to seal.
    fn to_bytes(&self) -> Zeroizing<Vec<u8>>;
    /// Back from [`to_bytes`](Self::to_bytes); `None` if they do not parse.
    fn from_bytes(bytes: &[u8]) -> Option<Self>;
}

impl SharedValue for String {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.as_bytes().to_vec())
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok()
    }
}

/// The name of a cached credential in a shared store: a hash of every parameter that changes the
/// credential, so two clients share a value only if they would have fetched the same one (the
/// CVE-2025-26620 mistake, a token for one scope served for another, cannot happen). The
/// parameters themselves never reach the store.
#[derive(Clone)]
pub struct CacheKey {
    kind: String,
    hash: Sha256,
}

impl CacheKey {
    /// A key for a credential of `kind` (`oauth`, `payroc`, `easypay`).
    pub fn new(kind: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"payauth cache key v1\0");
        hash.update(kind.as_bytes());
        CacheKey {
            kind: kind.to_owned(),
            hash,
        }
    }

    /// Adds a parameter. Names and values are length-prefixed, so no two lists of parts collide.
    #[must_use]
    pub fn part(mut self, name: &str, value: &str) -> Self {
        for text in [name, value] {
            self.hash.update((text.len() as u64).to_be_bytes());
            self.hash.update(text.as_bytes());
        }
        self
    }

    /// Adds a parameter that is a secret (an API key, a token): only a one-way HKDF-SHA256
    /// derivation of it enters the hash, so the key cannot serve to test guesses of the secret
    /// quickly.
    #[must_use]
    pub fn secret_part(self, name: &str, secret: &[u8]) -> Self {
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(b"payauth cache key secret part v1"), secret);
        let mut derived = Zeroizing::new([0u8; 32]);
        if hkdf
            .expand(name.as_bytes(), derived.as_mut_slice())
            .is_err()
        {
            unreachable!("32 bytes is within HKDF-SHA256's output limit");
        }
        let hex: String = derived.iter().map(|b| format!("{b:02x}")).collect();
        self.part(name, &hex)
    }

    /// The key as stored: `payauth:<kind>:<hex SHA-256 of the parts>`.
    pub fn finish(&self) -> String {
        let digest = self.hash.clone().finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("payauth:{}:{hex}", self.kind)
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CacheKey").field(&self.finish()).finish()
    }
}

/// One credential shared through a store by every process that builds the same [`CacheKey`]
/// with the same secret.
///
/// [`fetch`](Self::fetch) is what a client's [`CredentialCell`](crate::CredentialCell) calls
/// instead of the token endpoint:
/// - a value in the store valid beyond the margin is used as it is, with the store's remaining
///   time to live as its expiry (no host's clock decides alone);
/// - otherwise the process that takes the lease fetches and publishes; the others keep a valid
///   value, or wait for the new one (polling with jitter, bounded by the lease's time to live)
///   and take over if the holder died;
/// - when the store fails, the credential is fetched locally and a `log` warning says so
///   (token caches fail open: a token fetch cannot lock anyone out).
pub struct SharedCache {
    store: Arc<dyn SharedStore>,
    key: String,
    lease: String,
    sealer: Sealer,
    margin: Duration,
    lease_ttl: Duration,
    clock: SharedClock,
    /// The digest of the last value read or written, and its generation, for `invalidate`.
    seen: Mutex<Option<([u8; 32], u64)>>,
}

/// A value opened from the store.
struct Found<T> {
    value: T,
    lifetime: Duration,
    ttl: Duration,
}

impl SharedCache {
    /// A shared credential under `key` in `store`, sealed under a key derived from `secret`,
    /// refreshed `margin` before it expires (at most half its lifetime), timed by `clock`.
    pub fn new(
        store: Arc<dyn SharedStore>,
        key: &CacheKey,
        secret: &[u8],
        margin: Duration,
        clock: SharedClock,
    ) -> Self {
        let key = key.finish();
        SharedCache {
            store,
            sealer: Sealer::derive(secret, &key),
            lease: format!("{key}:lease"),
            key,
            margin,
            lease_ttl: DEFAULT_LEASE_TTL,
            clock,
            seen: Mutex::new(None),
        }
    }

    /// How long the refresh lease lasts; default [`DEFAULT_LEASE_TTL`]. Make it longer than a
    /// token request can take.
    #[must_use]
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// The store key (a hash; no parameter in clear).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The credential: from the store, or from `local` (the token endpoint) by the one process
    /// that holds the lease. `ahead` says the current value is still valid (a background
    /// refresh-ahead): then a process without the lease waits for the new value rather than
    /// returning the ageing one.
    ///
    /// # Errors
    /// The error of `local`, when it ran.
    pub fn fetch<T: SharedValue, E>(
        &self,
        ahead: bool,
        local: impl FnOnce() -> Result<Expiring<T>, E>,
    ) -> Result<Expiring<T>, E> {
        self.fetch_within(ahead, None, local)
    }

    /// [`fetch`](Self::fetch), waiting for another process's refresh at most `wait` (a call's
    /// [`Deadline`](crate::Deadline)) before fetching itself.
    ///
    /// # Errors
    /// The error of `local`, when it ran.
    pub fn fetch_within<T: SharedValue, E>(
        &self,
        ahead: bool,
        wait: Option<Duration>,
        local: impl FnOnce() -> Result<Expiring<T>, E>,
    ) -> Result<Expiring<T>, E> {
        let mut local = Some(local);
        match self.fetch_shared(ahead, wait, &mut local) {
            Ok(result) => result,
            Err(error) => {
                log::warn!(
                    "{error}; fetching the credential without the shared store (token caches fail open)"
                );
                match local.take() {
                    Some(local) => local(),
                    None => unreachable!("the store fails only before the local fetch"),
                }
            }
        }
    }

    /// Drops `value` from the store if it is still the value this process last saw there (an
    /// API rejected it). A store failure is logged and otherwise ignored.
    pub fn invalidate<T: SharedValue>(&self, value: &T) {
        let digest = digest(&value.to_bytes());
        let seen = *self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((seen_digest, generation)) = seen
            && seen_digest == digest
            && let Err(error) = self.store.invalidate_if(&self.key, generation)
        {
            log::warn!("{error}; a rejected credential stays in the shared store until it expires");
        }
    }

    fn fetch_shared<T: SharedValue, E, F: FnOnce() -> Result<Expiring<T>, E>>(
        &self,
        ahead: bool,
        wait: Option<Duration>,
        local: &mut Option<F>,
    ) -> Result<Result<Expiring<T>, E>, StoreError> {
        let started = Instant::now();
        let mut deadline = started + self.lease_ttl + jitter(self.lease_ttl / 4);
        if let Some(call_ends) = wait.and_then(|wait| started.checked_add(wait)) {
            deadline = deadline.min(call_ends);
        }
        loop {
            let (generation, found) = self.read::<T>()?;
            if let Some(found) = found {
                if self.is_fresh(&found) {
                    return Ok(Ok(self.expiring(found)));
                }
                if !ahead && found.ttl > Duration::ZERO {
                    // Valid, only ageing: use it now. The cell refreshes it ahead, in the
                    // background, where waiting for the lease holder costs no caller anything.
                    return Ok(Ok(self.expiring(found)));
                }
            }
            let lease = if Instant::now() >= deadline {
                // The holder died or is stuck past its lease: take over.
                None
            } else {
                match Lease::acquire(self.store.as_ref(), &self.lease, self.lease_ttl)? {
                    Some(lease) => Some(lease),
                    None => {
                        std::thread::sleep(
                            Duration::from_millis(20) + jitter(Duration::from_millis(60)),
                        );
                        continue;
                    }
                }
            };
            // Someone may have published between our read and the lease.
            let (generation, found) = match lease {
                Some(_) => self.read::<T>()?,
                None => (generation, None),
            };
            if let Some(found) = found
                && self.is_fresh(&found)
            {
                self.release(lease);
                return Ok(Ok(self.expiring(found)));
            }
            let Some(local) = local.take() else {
                unreachable!("the local fetch runs once, then this returns");
            };
            let result = local();
            if let Ok(fresh) = &result {
                self.publish(generation, fresh);
            }
            self.release(lease);
            return Ok(result);
        }
    }

    fn is_fresh<T>(&self, found: &Found<T>) -> bool {
        found.ttl > self.margin.min(found.lifetime / 2)
    }

    fn expiring<T: SharedValue>(&self, found: Found<T>) -> Expiring<T> {
        Expiring {
            value: found.value,
            expires_at: self.clock.now() + found.ttl,
        }
    }

    /// The stored generation (0 if none) and the value if it opens and parses.
    fn read<T: SharedValue>(&self) -> Result<(u64, Option<Found<T>>), StoreError> {
        let Some(Stored {
            value,
            generation,
            ttl,
        }) = self.store.get(&self.key)?
        else {
            return Ok((0, None));
        };
        let found = self.open::<T>(&value).map(|(value, lifetime, plain)| {
            self.remember(&plain, generation);
            Found {
                value,
                lifetime,
                ttl,
            }
        });
        Ok((generation, found))
    }

    fn open<T: SharedValue>(&self, sealed: &[u8]) -> Option<(T, Duration, Zeroizing<Vec<u8>>)> {
        let plain = self.sealer.open(self.key.as_bytes(), sealed)?;
        let (lifetime, rest) = plain.split_first_chunk::<8>()?;
        let lifetime = Duration::from_millis(u64::from_be_bytes(*lifetime));
        let value = T::from_bytes(rest)?;
        Some((value, lifetime, Zeroizing::new(rest.to_vec())))
    }

    fn publish<T: SharedValue>(&self, expected: u64, fresh: &Expiring<T>) {
        let Ok(ttl) = fresh.expires_at.duration_since(self.clock.now()) else {
            return;
        };
        if ttl < Duration::from_millis(1) {
            return;
        }
        let bytes = fresh.value.to_bytes();
        let mut plain = Zeroizing::new(Vec::with_capacity(8 + bytes.len()));
        plain.extend_from_slice(&(ttl.as_millis() as u64).to_be_bytes());
        plain.extend_from_slice(&bytes);
        let Ok(sealed) = self.sealer.seal(self.key.as_bytes(), &plain) else {
            log::warn!("no randomness for sealing; the credential is not shared");
            return;
        };
        match self
            .store
            .compare_and_set(&self.key, expected, &sealed, ttl)
        {
            Ok(Some(generation)) => self.remember(&bytes, generation),
            // Another process published first; both values are valid.
            Ok(None) => {}
            Err(error) => log::warn!("{error}; the new credential is not shared"),
        }
    }

    fn release(&self, lease: Option<Lease>) {
        if let Some(lease) = lease
            && let Err(error) = lease.release(self.store.as_ref())
        {
            log::warn!("{error}; the refresh lease ends with its time to live");
        }
    }

    fn remember(&self, plain: &[u8], generation: u64) {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((digest(plain), generation));
    }
}

impl fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedCache")
            .field("store", &self.store)
            .field("key", &self.key)
            .field("lease_ttl", &self.lease_ttl)
            .finish_non_exhaustive()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A random duration in `[0, up_to)`.
fn jitter(up_to: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    let _ = getrandom::getrandom(&mut bytes);
    let nanos = up_to.as_nanos().max(1) as u64;
    Duration::from_nanos(u64::from_le_bytes(bytes) % nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock as _, ManualClock};
    use crate::store::CredentialStore;
    use crate::store::{LeaseStore, MemoryStore, RecordChange, RecordStore};
    use std::sync::atomic::{AtomicUsize, Ordering};

    const LIFE: Duration = Duration::from_secs(600);
    const MARGIN: Duration = Duration::from_secs(60);

    fn cache(store: &Arc<dyn SharedStore>, clock: &ManualClock, scope: &str) -> SharedCache {
        let key = CacheKey::new("test").part("scope", scope);
        SharedCache::new(Arc::clone(store), &key, b"secret", MARGIN, clock.shared())
    }

    fn fetcher<'a>(
        clock: &'a ManualClock,
        count: &'a AtomicUsize,
        value: &'a str,
    ) -> impl FnOnce() -> Result<Expiring<String>, String> + 'a {
        move || {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(Expiring {
                value: value.to_owned(),
                expires_at: clock.now() + LIFE,
            })
        }
    }

    #[test]
    fn processes_share_one_fetch_and_expiry_comes_from_the_store() {
        let store = MemoryStore::shared();
        let clock = ManualClock::fixed();
        let count = AtomicUsize::new(0);
        let a = cache(&store, &clock, "read");
        let first = a.fetch(false, fetcher(&clock, &count, "t1")).unwrap();
        // Another process, its clock 30 s ahead: the store's TTL decides, not its clock.
        let skewed = ManualClock::new(clock.now() + Duration::from_secs(30));
        let b = cache(&store, &skewed, "read");
        let second = b.fetch(false, fetcher(&skewed, &count, "t2")).unwrap();
        assert_eq!(second.value, "t1");
        assert_eq!(count.load(Ordering::SeqCst), 1);
        let left = second.expires_at.duration_since(skewed.now()).unwrap();
        assert!(
            left > LIFE - Duration::from_secs(5) && left <= LIFE,
            "{left:?}"
        );
        assert_eq!(first.value, "t1");
    }

    #[test]
    fn secret_parts_change_the_key_without_showing() {
        let a = CacheKey::new("t")
            .secret_part("api_key", b"key-one")
            .finish();
        let b = CacheKey::new("t")
            .secret_part("api_key", b"key-two")
            .finish();
        assert_ne!(a, b);
        assert_eq!(
            a,
            CacheKey::new("t")
                .secret_part("api_key", b"key-one")
                .finish()
        );
        assert!(!a.contains("key-one"));
        assert_ne!(
            CacheKey::new("t").part("a", "bc").finish(),
            CacheKey::new("t").part("ab", "c").finish()
        );
    }

    #[test]
    fn different_parameters_never_share() {
        let store = MemoryStore::shared();
        let clock = ManualClock::fixed();
        let count = AtomicUsize::new(0);
        cache(&store, &clock, "read")
            .fetch(false, fetcher(&clock, &count, "read-token"))
            .unwrap();
        let write = cache(&store, &clock, "write")
            .fetch(false, fetcher(&clock, &count, "write-token"))
            .unwrap();
        assert_eq!(write.value, "write-token");
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn stored_bytes_are_sealed_and_need_the_secret() {
        let store = MemoryStore::shared();
        let clock = ManualClock::fixed();
        let count = AtomicUsize::new(0);
        let a = cache(&store, &clock, "read");
        a.fetch(false, fetcher(&clock, &count, "plain-access-token"))
            .unwrap();
        let stored = store.get(a.key()).unwrap().unwrap();
        assert!(!stored.value.windows(5).any(|w| w == b"plain"));
        assert!(
            !a.key().contains("read"),
            "parameters are hashed: {}",
            a.key()
        );
        let key = CacheKey::new("test").part("scope", "read");
        let other = SharedCache::new(Arc::clone(&store), &key, b"another", MARGIN, clock.shared());
        let got = other.fetch(false, fetcher(&clock, &count, "own")).unwrap();
        assert_eq!(
            got.value, "own",
            "a value sealed under another secret is not used"
        );
    }

    #[test]
    fn invalidate_drops_only_the_value_seen() {
        let store = MemoryStore::shared();
        let clock = ManualClock::fixed();
        let count = AtomicUsize::new(0);
        let a = cache(&store, &clock, "read");
        let old = a.fetch(false, fetcher(&clock, &count, "old")).unwrap();
        a.invalidate(&old.value);
        let b = cache(&store, &clock, "read");
        let new = b.fetch(false, fetcher(&clock, &count, "new")).unwrap();
        assert_eq!(new.value, "new");
        a.invalidate(&old.value);
        assert_eq!(
            b.fetch(false, fetcher(&clock, &count, "x")).unwrap().value,
            "new"
        );
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn waiters_take_over_when_the_lease_holder_vanishes() {
        let store = MemoryStore::shared();
        let clock = ManualClock::fixed();
        let count = AtomicUsize::new(0);
        let a = cache(&store, &clock, "read").with_lease_ttl(Duration::from_millis(300));
        // A holder that died without releasing.
        assert!(
            store
                .try_acquire(
                    &format!("{}:lease", a.key()),
                    "dead",
                    Duration::from_millis(300)
                )
                .unwrap()
        );
        let started = Instant::now();
        let got = a.fetch(false, fetcher(&clock, &count, "t")).unwrap();
        assert_eq!(got.value, "t");
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert!(started.elapsed() < Duration::from_secs(10), "did not hang");
    }

    #[derive(Debug)]
    struct Down;
    fn down() -> StoreError {
        StoreError::new("test store", "connection refused")
    }
    impl CredentialStore for Down {
        fn get(&self, _: &str) -> Result<Option<Stored>, StoreError> {
            Err(down())
        }
        fn put(&self, _: &str, _: &[u8], _: Duration) -> Result<u64, StoreError> {
            Err(down())
        }
        fn compare_and_set(
            &self,
            _: &str,
            _: u64,
            _: &[u8],
            _: Duration,
        ) -> Result<Option<u64>, StoreError> {
            Err(down())
        }
        fn invalidate_if(&self, _: &str, _: u64) -> Result<bool, StoreError> {
            Err(down())
        }
    }
    impl LeaseStore for Down {
        fn try_acquire(&self, _: &str, _: &str, _: Duration) -> Result<bool, StoreError> {
            Err(down())
        }
        fn release(&self, _: &str, _: &str) -> Result<bool, StoreError> {
            Err(down())
        }
    }
    impl RecordStore for Down {
        fn update_record(&self, _: &str, _: &mut RecordChange<'_>) -> Result<(), StoreError> {
            Err(down())
        }
    }

    #[test]
    fn an_unreachable_store_fails_open() {
        let store: Arc<dyn SharedStore> = Arc::new(Down);
        let clock = ManualClock::fixed();
        let count = AtomicUsize::new(0);
        let a = cache(&store, &clock, "read");
        assert_eq!(
            a.fetch(false, fetcher(&clock, &count, "local"))
                .unwrap()
                .value,
            "local"
        );
        assert_eq!(count.load(Ordering::SeqCst), 1);
        a.invalidate(&"local".to_owned());
    }
}
