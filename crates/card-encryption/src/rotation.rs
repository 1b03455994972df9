use std::path::Path;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use crate::certificate::Thumbprint;
use crate::error::Result;
use crate::key::{EncryptionKey, KeyLoader};

/// The current encryption key of a long-running service, replaceable while requests are being
/// served.
///
/// Readers take a clone of the current [`EncryptionKey`] (an `Arc` copy under a read lock held
/// for nanoseconds), so a replacement never waits for an encryption in progress and an
/// encryption never sees half a key. A failed reload leaves the current key in place.
#[derive(Debug)]
pub struct RotatingKey {
    current: RwLock<EncryptionKey>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reload {
    changed: bool,
    previous: Option<Thumbprint>,
    current: Option<Thumbprint>,
}

impl Reload {
    /// Whether a different key or certificate is now in use.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Thumbprint of the certificate in use before the reload.
    pub fn previous(&self) -> Option<&Thumbprint> {
        self.previous.as_ref()
    }

    /// Thumbprint of the certificate in use after the reload.
    pub fn current(&self) -> Option<&Thumbprint> {
        self.current.as_ref()
    }
}

impl RotatingKey {
    /// Starts with `key` as the current key.
    pub fn new(key: EncryptionKey) -> Self {
        RotatingKey {
            current: RwLock::new(key),
        }
    }

    /// The key to encrypt with now.
    pub fn current(&self) -> EncryptionKey {
        // The lock only ever guards a whole, valid key (replacement is one assignment), so a
        // panic elsewhere while it was held cannot have left it inconsistent.
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes `key` the current key and returns the previous one.
    pub fn replace(&self, key: EncryptionKey) -> EncryptionKey {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, key)
    }

    /// Loads the file at `path` with `loader` and, if it holds a different key or certificate,
    /// makes it current. Call it on a schedule or when your deployment replaces the file.
    ///
    /// # Errors
    /// Those of [`KeyLoader::load_file`]; the current key stays in use.
    pub fn reload_from_file(&self, path: impl AsRef<Path>, loader: &KeyLoader) -> Result<Reload> {
        Ok(self.install(loader.load_file(path)?))
    }

    /// Like [`reload_from_file`](Self::reload_from_file), from bytes (for a certificate fetched
    /// over HTTP by your own client).
    ///
    /// # Errors
    /// Those of [`KeyLoader::load_bytes`]; the current key stays in use.
    pub fn reload_from_bytes(&self, bytes: &[u8], loader: &KeyLoader) -> Result<Reload> {
        Ok(self.install(loader.load_bytes(bytes)?))
    }

    fn install(&self, key: EncryptionKey) -> Reload {
        let thumbprint = |k: &EncryptionKey| k.certificate().map(|c| *c.thumbprint());
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let previous = thumbprint(&current);
        let changed = !current.same_as(&key);
        if changed {
            *current = key;
        }
        Reload {
            changed,
            previous,
            current: thumbprint(&current),
        }
    }

    /// How long the current certificate stays valid after `at`; `None` for a bare public key,
    /// which carries no dates.
    pub fn remaining_at(&self, at: SystemTime) -> Option<Duration> {
        self.current().certificate().map(|c| c.remaining_at(at))
    }
}
