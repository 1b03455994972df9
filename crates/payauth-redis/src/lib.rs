#![doc = include_str!("../README.md")]

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use payauth_core::{
    CredentialStore, LeaseStore, RecordChange, RecordStore, SharedStore, StoreError, Stored,
};
use redis::{Client, Connection, IntoConnectionInfo as _, Script, TlsCertificates};

mod local;
pub use local::LocalRedis;

/// Default time allowed to connect to Redis.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default time allowed for each read and write on a Redis connection.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Default number of idle connections kept for reuse.
pub const DEFAULT_POOL_SIZE: usize = 4;
/// How often a record update is retried when another process changed the record meanwhile.
const RECORD_ATTEMPTS: usize = 64;

/// Reads a value, its generation and its remaining time to live in one step.
const GET: &str = r"
local v = redis.call('HMGET', KEYS[1], 'v', 'g')
if not v[1] then return false end
return {v[1], v[2], redis.call('PTTL', KEYS[1])}
";

/// Writes a value under a new generation (from a counter that outlives the value).
const PUT: &str = r"
local n = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'g', n)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
";

/// Writes only if the generation is the expected one (0: absent).
const COMPARE_AND_SET: &str = r"
local g = tonumber(redis.call('HGET', KEYS[1], 'g') or '0')
if g ~= tonumber(ARGV[1]) then return 0 end
local n = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'g', n)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return n
";

/// Deletes only the generation that was seen.
const INVALIDATE_IF: &str = r"
if redis.call('HGET', KEYS[1], 'g') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

/// Releases a lease only for its owner.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Settings for a [`RedisStore`].
pub struct RedisStoreBuilder {
    url: String,
    root_pem: Option<Vec<u8>>,
    connect_timeout: Duration,
    io_timeout: Duration,
    pool_size: usize,
}

impl RedisStoreBuilder {
    /// Trusts this root certificate (PEM) for `rediss://` instead of the system's roots.
    #[must_use]
    pub fn trust_root_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_pem = Some(pem.into());
        self
    }

    /// Time allowed to connect; default [`DEFAULT_CONNECT_TIMEOUT`].
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for each read and write; default [`DEFAULT_IO_TIMEOUT`].
    #[must_use]
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// Idle connections kept for reuse; default [`DEFAULT_POOL_SIZE`]. More threads than this
    /// still work: extra connections are opened and closed as needed.
    #[must_use]
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// Builds the store. Nothing is connected until the first use, so a process starts even while
    /// Redis is down (the token caches then fail open, the lockout guard fails closed).
    ///
    /// # Errors
    /// A [`StoreError`] for a URL that does not parse, a scheme other than `redis://`,
    /// `rediss://` or `unix://`, or an unusable root certificate. The error never repeats the URL,
    /// which may hold a password.
    pub fn build(self) -> Result<RedisStore, StoreError> {
        let invalid = |reason: &str| StoreError::new("redis", reason.to_owned());
        let info = self
            .url
            .as_str()
            .into_connection_info()
            .map_err(|_| invalid("the URL does not parse as redis://, rediss:// or unix://"))?;
        let name = format!("redis {}", info.addr());
        let client = match self.root_pem {
            Some(pem) => Client::build_with_tls(
                info,
                TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                },
            ),
            None => Client::open(info),
        }
        .map_err(|e| StoreError::new(&name, describe(&e)))?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                client,
                name,
                idle: Mutex::new(Vec::new()),
                connect_timeout: self.connect_timeout,
                io_timeout: self.io_timeout,
                pool_size: self.pool_size,
                scripts: Scripts {
                    get: Script::new(GET),
                    put: Script::new(PUT),
                    compare_and_set: Script::new(COMPARE_AND_SET),
                    invalidate_if: Script::new(INVALIDATE_IF),
                    release: Script::new(RELEASE),
                },
            }),
        })
    }
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may carry a password.
        f.debug_struct("RedisStoreBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("io_timeout", &self.io_timeout)
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

/// Credentials, leases and records on a Redis server, shared by every process that uses it.
/// Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    name: String,
    idle: Mutex<Vec<Connection>>,
    connect_timeout: Duration,
    io_timeout: Duration,
    pool_size: usize,
    scripts: Scripts,
}

struct Scripts {
    get: Script,
    put: Script,
    compare_and_set: Script,
    invalidate_if: Script,
    release: Script,
}

impl RedisStore {
    /// Starts a builder for `url`: `redis://[user:password@]host[:port][/db]`,
    /// `rediss://...` (TLS with rustls) or `unix:///path`.
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            root_pem: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            io_timeout: DEFAULT_IO_TIMEOUT,
            pool_size: DEFAULT_POOL_SIZE,
        }
    }

    /// A store at `url` with the default settings (see [`builder`](Self::builder)).
    ///
    /// # Errors
    /// As for [`RedisStoreBuilder::build`].
    pub fn open(url: impl Into<String>) -> Result<Self, StoreError> {
        Self::builder(url).build()
    }

    /// This store as the trait object the client builders take (`.shared_store(..)`).
    pub fn shared(&self) -> Arc<dyn SharedStore> {
        Arc::new(self.clone())
    }

    /// `redis host:port`, as errors name the store.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Sends `PING`; for health checks and tests.
    ///
    /// # Errors
    /// The server cannot be reached.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.with(|con| redis::cmd("PING").query::<String>(con).map(drop))
    }

    fn with<T>(
        &self,
        op: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let inner = &self.inner;
        let pooled = inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut con = match pooled {
            Some(con) => con,
            None => self.connect()?,
        };
        match op(&mut con) {
            Ok(value) => {
                let mut idle = inner.idle.lock().unwrap_or_else(PoisonError::into_inner);
                if idle.len() < inner.pool_size {
                    idle.push(con);
                }
                Ok(value)
            }
            // The connection may be broken or mid-reply: drop it; the next call reconnects.
            Err(e) => Err(self.error(&e)),
        }
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let inner = &self.inner;
        let con = inner
            .client
            .get_connection_with_timeout(inner.connect_timeout)
            .map_err(|e| self.error(&e))?;
        con.set_read_timeout(Some(inner.io_timeout))
            .and_then(|()| con.set_write_timeout(Some(inner.io_timeout)))
            .map_err(|e| self.error(&e))?;
        Ok(con)
    }

    fn error(&self, e: &redis::RedisError) -> StoreError {
        StoreError::new(&self.inner.name, describe(e))
    }
}

/// What went wrong, without anything the server might have echoed from a stored value.
fn describe(e: &redis::RedisError) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connection_refusal() {
        "connection refused".to_owned()
    } else if e.is_io_error() || e.is_connection_dropped() {
        "connection failed or dropped".to_owned()
    } else {
        // The kind and the server's error code (`NOAUTH`, `WRONGPASS`, ...), not its message.
        match e.code() {
            Some(code) => format!("server error {code}"),
            None => format!("{:?} error", e.kind()),
        }
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn generation_key(key: &str) -> String {
    format!("{key}:gen")
}

impl CredentialStore for RedisStore {
    fn get(&self, key: &str) -> Result<Option<Stored>, StoreError> {
        let found: Option<(Vec<u8>, u64, i64)> =
            self.with(|con| self.inner.scripts.get.key(key).invoke(con))?;
        Ok(found.and_then(|(value, generation, pttl)| {
            // PTTL: -2 gone, -1 no expiry (never written by us).
            let ttl = Duration::from_millis(u64::try_from(pttl).ok()?);
            Some(Stored {
                value,
                generation,
                ttl,
            })
        }))
    }

    fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<u64, StoreError> {
        self.with(|con| {
            self.inner
                .scripts
                .put
                .key(key)
                .key(generation_key(key))
                .arg(value)
                .arg(millis(ttl))
                .invoke(con)
        })
    }

    fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let generation: u64 = self.with(|con| {
            self.inner
                .scripts
                .compare_and_set
                .key(key)
                .key(generation_key(key))
                .arg(expected)
                .arg(value)
                .arg(millis(ttl))
                .invoke(con)
        })?;
        Ok((generation != 0).then_some(generation))
    }

    fn invalidate_if(&self, key: &str, generation: u64) -> Result<bool, StoreError> {
        self.with(|con| {
            self.inner
                .scripts
                .invalidate_if
                .key(key)
                .arg(generation)
                .invoke(con)
        })
    }
}

impl LeaseStore for RedisStore {
    fn try_acquire(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        let set: Option<String> = self.with(|con| {
            redis::cmd("SET")
                .arg(name)
                .arg(owner)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query(con)
        })?;
        Ok(set.is_some())
    }

    fn release(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        self.with(|con| self.inner.scripts.release.key(name).arg(owner).invoke(con))
    }
}

impl RecordStore for RedisStore {
    fn update_record(&self, key: &str, change: &mut RecordChange<'_>) -> Result<(), StoreError> {
        for _ in 0..RECORD_ATTEMPTS {
            // WATCH, read, change, MULTI/EXEC: EXEC answers nil if anyone wrote the key meanwhile.
            let done = self.with(|con| {
                redis::cmd("WATCH").arg(key).exec(con)?;
                let current: Option<Vec<u8>> = redis::cmd("GET").arg(key).query(con)?;
                let Some(new) = change(current.as_deref()) else {
                    redis::cmd("UNWATCH").exec(con)?;
                    return Ok(true);
                };
                let applied: Option<()> = redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg(key)
                    .arg(new)
                    .ignore()
                    .query(con)?;
                Ok(applied.is_some())
            })?;
            if done {
                return Ok(());
            }
        }
        Err(StoreError::new(
            &self.inner.name,
            "the record kept changing under concurrent updates",
        ))
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.inner.name)
            .field("pool_size", &self.inner.pool_size)
            .finish_non_exhaustive()
    }
}
