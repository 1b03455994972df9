use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::KeyInit;
use hmac::{Hmac, Mac as _};
use secrecy::zeroize::Zeroizing;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::call::{Call, valid_call_id};
use crate::error::{Error, Result};

/// Separates this MAC from any other use of the application's key.
const DOMAIN: &[u8] = b"numcheck-client/v1";
const MAC_BYTES: usize = 32;

/// Default number of codes a user may try: 5, as Twilio Verify allows.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Default lifetime of a pending verification: 5 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// The longest lifetime a policy gives a verification: one day. A code read out on a phone call
/// is meant for minutes; a longer [`VerificationPolicy::ttl`] is clamped to this.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The latest expiry a verification can have, stored or made: the last second of year 9999
/// (Unix time 253402300799), which every platform's `SystemTime` represents.
const LATEST_EXPIRY: u64 = 253_402_300_799;

/// The application's secret for [`PendingVerification`]: at least 32 random bytes, kept out of
/// the session store (configuration, a secrets manager). Never shown by `Debug`. Cheap to clone
/// and `Send + Sync`.
///
/// Rotating it invalidates the verifications pending at that moment: their codes no longer
/// match.
#[derive(Clone)]
pub struct VerificationKey(Hmac<Sha256>);

impl VerificationKey {
    /// Takes the key bytes. Only HMAC-SHA256's keyed state is kept, not the bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for fewer than 32 bytes.
    pub fn new(bytes: impl AsRef<[u8]>) -> Result<Self> {
        let invalid = |rule| Error::InvalidInput {
            field: "verification key",
            rule,
        };
        let bytes = bytes.as_ref();
        if bytes.len() < 32 {
            return Err(invalid("must be at least 32 bytes"));
        }
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(bytes)
            .map_err(|_| invalid("is not a usable HMAC-SHA256 key"))?;
        Ok(VerificationKey(keyed))
    }

    /// A new random key (32 bytes from the operating system), for one process that keeps its
    /// pending verifications in memory. To check verifications after a restart or in another
    /// process, make the key once with [`generate_base64`](Self::generate_base64), keep that
    /// text as a secret, and load it with [`from_base64`](Self::from_base64).
    ///
    /// # Errors
    /// [`Error::RandomSource`] when the operating system has no randomness to give.
    pub fn generate() -> Result<Self> {
        VerificationKey::new(random_key()?)
    }

    /// A new random key as standard Base64 text (44 characters), to store in configuration or a
    /// secrets manager and load with [`from_base64`](Self::from_base64). The text is wiped when
    /// dropped.
    ///
    /// # Errors
    /// [`Error::RandomSource`] when the operating system has no randomness to give.
    pub fn generate_base64() -> Result<Zeroizing<String>> {
        Ok(Zeroizing::new(STANDARD.encode(random_key()?)))
    }

    /// A key from standard Base64 text (padding optional, surrounding whitespace ignored) of at
    /// least 32 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for text that is not Base64 or too short; the text is never quoted.
    pub fn from_base64(text: &str) -> Result<Self> {
        let text = text.trim().trim_end_matches('=');
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(text)
                .map_err(|_| Error::InvalidInput {
                    field: "verification key",
                    rule: "must be standard Base64",
                })?,
        );
        VerificationKey::new(&*bytes)
    }

    /// A key from hexadecimal text (either case, surrounding whitespace ignored) of at least 32
    /// bytes (64 digits).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for text that is not an even number of hex digits or too short;
    /// the text is never quoted.
    pub fn from_hex(text: &str) -> Result<Self> {
        let text = text.trim().as_bytes();
        let not_hex = Error::InvalidInput {
            field: "verification key",
            rule: "must be an even number of hexadecimal digits",
        };
        if !text.len().is_multiple_of(2) {
            return Err(not_hex);
        }
        let digit = |b: u8| char::from(b).to_digit(16);
        let mut bytes = Zeroizing::new(Vec::with_capacity(text.len() / 2));
        for pair in text.chunks_exact(2) {
            match (digit(pair[0]), digit(pair[1])) {
                // Both digits are below 16, so the byte fits.
                (Some(high), Some(low)) => bytes.push((high * 16 + low) as u8),
                _ => return Err(not_hex),
            }
        }
        VerificationKey::new(&*bytes)
    }

    fn mac(&self, call_id: &str, code: &str) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        // Length-prefixed, so no (call id, code) pair can collide with another.
        mac.update(DOMAIN);
        mac.update(&(call_id.len() as u64).to_be_bytes());
        mac.update(call_id.as_bytes());
        mac.update(code.as_bytes());
        mac
    }
}

fn random_key() -> Result<Zeroizing<[u8; 32]>> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(&mut *bytes).map_err(|_| Error::RandomSource)?;
    Ok(bytes)
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationKey([redacted])")
    }
}

/// How many codes a user may try, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationPolicy {
    max_attempts: u32,
    ttl: Duration,
}

impl Default for VerificationPolicy {
    fn default() -> Self {
        VerificationPolicy {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            ttl: DEFAULT_TTL,
        }
    }
}

impl VerificationPolicy {
    /// Codes a user may try (at least 1); default 5.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// How long after creation a code is accepted; default 5 minutes, at most [`MAX_TTL`] (a
    /// longer one, up to `Duration::MAX`, is clamped).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.min(MAX_TTL);
        self
    }
}

/// The result of [`PendingVerification::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The code is right. The verification is now used up.
    Verified,
    /// The code is wrong; the user may try `attempts_left` more times (0: that was the last).
    Wrong {
        /// Attempts remaining.
        attempts_left: u32,
    },
    /// The verification expired before this attempt; start a new call.
    Expired,
    /// Every attempt has been used; start a new call.
    TooManyAttempts,
    /// The verification already succeeded once; a code is accepted only once, so this attempt
    /// proves nothing.
    AlreadyUsed,
}

impl Outcome {
    /// Whether the user proved they received the call. `true` for [`Outcome::Verified`] only.
    pub fn is_verified(self) -> bool {
        self == Outcome::Verified
    }
}

/// A code waiting for the user, to keep in the session between the request that placed the call
/// and the ones that submit digits.
///
/// It serialises (serde) to a small object holding the call id, a keyed hash of the code
/// (HMAC-SHA256 under a [`VerificationKey`] only the application holds), the attempts left and
/// the expiry. Someone who reads the session store learns nothing that helps them verify:
/// without the key, the hash cannot be checked against the 10,000 possible codes.
///
/// The state does not protect itself from being **replaced**: whoever can write an older copy
/// back resets the attempt counter. Keep it server-side (a session store the user cannot write),
/// not in a cookie the user holds.
///
/// No `PartialEq`: it would compare the code's hash in variable time.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "Stored", into = "Stored")]
pub struct PendingVerification {
    call_id: String,
    mac: [u8; MAC_BYTES],
    attempts_left: u32,
    expires_at: u64,
    used: bool,
}

/// The serialised form: field names are part of the stored format; change them only with a new
/// domain version.
///
/// A field of the wrong type is an error naming the field and the type, never quoting the
/// stored value (serde's own message would: `invalid type: string "..."`).
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(deserialize_with = "typed::call_id")]
    call_id: String,
    #[serde(deserialize_with = "typed::mac")]
    mac: String,
    #[serde(deserialize_with = "typed::attempts_left")]
    attempts_left: u32,
    #[serde(deserialize_with = "typed::expires_at")]
    expires_at: u64,
    #[serde(deserialize_with = "typed::used")]
    used: bool,
}

/// Each stored field read with a message of our own in place of serde's, which quotes values.
mod typed {
    use serde::de::{Deserialize, Deserializer, Error as _};

    fn read<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
        rule: &'static str,
    ) -> Result<T, D::Error> {
        T::deserialize(d).map_err(|_| D::Error::custom(rule))
    }

    pub(super) fn call_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        read(d, "stored verification: call_id must be a string")
    }

    pub(super) fn mac<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        read(d, "stored verification: mac must be a string")
    }

    pub(super) fn attempts_left<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        read(
            d,
            "stored verification: attempts_left must be a whole number from 0 to 4294967295",
        )
    }

    pub(super) fn expires_at<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        read(
            d,
            "stored verification: expires_at must be a whole number of seconds",
        )
    }

    pub(super) fn used<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        read(d, "stored verification: used must be true or false")
    }
}

impl PendingVerification {
    /// Starts a verification of `call`'s code, as of `now` (take it from the client's clock:
    /// [`Client::now`](crate::Client::now)).
    pub fn new(
        call: &Call,
        key: &VerificationKey,
        now: SystemTime,
        policy: VerificationPolicy,
    ) -> Self {
        let mac = key.mac(call.id(), call.code()).finalize().into_bytes();
        PendingVerification {
            call_id: call.id().to_owned(),
            mac: mac.into(),
            attempts_left: policy.max_attempts,
            expires_at: unix_secs(now)
                .saturating_add(policy.ttl.as_secs())
                .min(LATEST_EXPIRY),
            used: false,
        }
    }

    /// Checks the digits the user typed, in constant time, and records the attempt.
    ///
    /// Checks run in this order: already used, expired, out of attempts, then the input. An
    /// input that is not exactly 4 ASCII digits once surrounding whitespace is trimmed (`"12a4"`,
    /// `"123"`) is an error and **costs no attempt**: it cannot be the code, so refusing it leaks
    /// nothing, and a typo in the form should not lock the user out.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for input that is not 4 digits.
    pub fn verify(
        &mut self,
        input: &str,
        key: &VerificationKey,
        now: SystemTime,
    ) -> Result<Outcome> {
        if self.used {
            return Ok(Outcome::AlreadyUsed);
        }
        if unix_secs(now) >= self.expires_at {
            return Ok(Outcome::Expired);
        }
        if self.attempts_left == 0 {
            return Ok(Outcome::TooManyAttempts);
        }
        let input = input.trim();
        if input.len() != 4 || !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidInput {
                field: "code",
                rule: "must be exactly 4 digits",
            });
        }
        self.attempts_left -= 1;
        if key
            .mac(&self.call_id, input)
            .verify_slice(&self.mac)
            .is_ok()
        {
            self.used = true;
            return Ok(Outcome::Verified);
        }
        Ok(Outcome::Wrong {
            attempts_left: self.attempts_left,
        })
    }

    /// The call this verification belongs to.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Codes the user may still try.
    pub fn attempts_left(&self) -> u32 {
        self.attempts_left
    }

    /// When the code stops being accepted (whole seconds).
    pub fn expires_at(&self) -> SystemTime {
        // `expires_at` is at most LATEST_EXPIRY, by construction and when read back.
        UNIX_EPOCH
            .checked_add(Duration::from_secs(self.expires_at.min(LATEST_EXPIRY)))
            .unwrap_or(UNIX_EPOCH)
    }

    /// Whether the code has been verified already.
    pub fn is_used(&self) -> bool {
        self.used
    }
}

impl fmt::Debug for PendingVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingVerification")
            .field("call_id", &self.call_id)
            .field("attempts_left", &self.attempts_left)
            .field("expires_at", &payauth_core::Rfc3339(self.expires_at()))
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

impl From<PendingVerification> for Stored {
    fn from(p: PendingVerification) -> Self {
        Stored {
            call_id: p.call_id,
            mac: URL_SAFE_NO_PAD.encode(p.mac),
            attempts_left: p.attempts_left,
            expires_at: p.expires_at,
            used: p.used,
        }
    }
}

impl TryFrom<Stored> for PendingVerification {
    type Error = Error;

    fn try_from(s: Stored) -> Result<Self> {
        let invalid = |rule| Error::InvalidInput {
            field: "stored verification",
            rule,
        };
        if !valid_call_id(&s.call_id) {
            return Err(invalid("call_id must be 1 to 64 visible ASCII characters"));
        }
        let mac = URL_SAFE_NO_PAD
            .decode(&s.mac)
            .ok()
            .and_then(|bytes| <[u8; MAC_BYTES]>::try_from(bytes).ok())
            .ok_or_else(|| invalid("mac must be 32 bytes in unpadded base64url"))?;
        if s.expires_at > LATEST_EXPIRY {
            return Err(invalid(
                "expires_at must be a Unix time no later than year 9999",
            ));
        }
        Ok(PendingVerification {
            call_id: s.call_id,
            mac,
            attempts_left: s.attempts_left,
            expires_at: s.expires_at,
            used: s.used,
        })
    }
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
