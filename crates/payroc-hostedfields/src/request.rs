//! The validated inputs of a session request. Each rule is checked when the value is made, so a
//! bad value fails before anything is sent, with an error naming the field and the rule.

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A Payroc API key: sent in `x-api-key` to the identity service, never shown by `Debug`,
/// wiped on drop.
pub struct ApiKey(SecretString);

/// The variable [`ApiKey::from_env`] reads.
pub const API_KEY_VAR: &str = "PAYAUTH_PAYROC_API_KEY";

impl ApiKey {
    /// Reads `PAYAUTH_PAYROC_API_KEY`, the name the `payauth` CLI reads, and validates it as
    /// [`new`](Self::new) does.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the variable is unset or empty, or the rule the value breaks;
    /// never the value.
    pub fn from_env() -> Result<Self> {
        let key = payauth_core::secret_from_env(API_KEY_VAR).ok_or(Error::InvalidInput {
            field: API_KEY_VAR,
            rule: "is not set",
        })?;
        ApiKey::new(key.trim())
    }

    /// Validates the key: 1 to 1024 bytes, no spaces or control characters (it travels in a
    /// header).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the rule; never the value.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = SecretString::from(key.into());
        let value = key.expose_secret();
        let field = "api_key";
        if value.is_empty() {
            return Err(Error::InvalidInput {
                field,
                rule: "must not be empty",
            });
        }
        if value.len() > 1024 {
            return Err(Error::InvalidInput {
                field,
                rule: "must be at most 1024 bytes",
            });
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidInput {
                field,
                rule: "must be printable ASCII without spaces",
            });
        }
        Ok(ApiKey(key))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// A processing terminal id: 4 to 50 ASCII letters, digits, `-` or `_` (Payroc's look like
/// `1234001`). It becomes a URL path segment, so nothing that could change the path is accepted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TerminalId(String);

impl TerminalId {
    /// Validates the id.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a length outside 4..=50 or another character.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let field = "processing_terminal_id";
        if !(4..=50).contains(&id.len()) {
            return Err(Error::InvalidInput {
                field,
                rule: "must have 4 to 50 characters",
            });
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::InvalidInput {
                field,
                rule: "must be ASCII letters, digits, '-' or '_'",
            });
        }
        Ok(TerminalId(id))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TerminalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TerminalId").field(&self.0).finish()
    }
}

impl fmt::Display for TerminalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The version of the Hosted Fields JavaScript library the page loads, such as `1.7.0.261457`.
/// It must match the script tag, or Payroc answers "Invalid libVersion" when the page runs.
/// Payroc documents no format (its SDKs take any string), so any non-empty printable value of up
/// to 64 characters is accepted and Payroc decides.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LibVersion(pub(crate) String);

impl LibVersion {
    /// Validates the version.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty or over-long value or one with control characters.
    pub fn new(version: impl Into<String>) -> Result<Self> {
        let version = version.into();
        let field = "lib_version";
        if !(1..=64).contains(&version.chars().count()) {
            return Err(Error::InvalidInput {
                field,
                rule: "must have 1 to 64 characters",
            });
        }
        if version.chars().any(char::is_control) {
            return Err(Error::InvalidInput {
                field,
                rule: "must not contain control characters",
            });
        }
        Ok(LibVersion(version))
    }

    /// The version.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LibVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LibVersion").field(&self.0).finish()
    }
}

impl fmt::Display for LibVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of an existing secure token whose card a tokenization session updates: 1 to 200
/// characters, no control characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecureTokenId(String);

impl SecureTokenId {
    /// Validates the id.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty or over-long id, or control characters.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let field = "secure_token_id";
        if !(1..=200).contains(&id.chars().count()) {
            return Err(Error::InvalidInput {
                field,
                rule: "must have 1 to 200 characters",
            });
        }
        if id.chars().any(char::is_control) {
            return Err(Error::InvalidInput {
                field,
                rule: "must not contain control characters",
            });
        }
        Ok(SecureTokenId(id))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecureTokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SecureTokenId").field(&self.0).finish()
    }
}

/// What the Hosted Fields instance will do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scenario {
    /// Take a payment (`payment`).
    Payment,
    /// Save a card, or update the card behind a secure token (`tokenization`).
    Tokenization,
    /// A value Payroc added after this crate was released, sent as it is. Make it with
    /// [`Scenario::parse`], which checks it and maps the known values to their variants.
    Other(String),
}

impl Scenario {
    /// The scenario for a wire value: the known ones, or [`Scenario::Other`] for a new one.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty value, one over 64 characters or one with control
    /// characters.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "payment" => Ok(Scenario::Payment),
            "tokenization" => Ok(Scenario::Tokenization),
            _ if !(1..=64).contains(&value.chars().count())
                || value.chars().any(char::is_control) =>
            {
                Err(Error::InvalidInput {
                    field: "scenario",
                    rule: "must have 1 to 64 characters and no control characters",
                })
            }
            _ => Ok(Scenario::Other(value.to_owned())),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Scenario::Payment => "payment",
            Scenario::Tokenization => "tokenization",
            Scenario::Other(value) => value,
        }
    }
}

/// An `Idempotency-Key`: a UUID. Payroc asks for a v4 and [`generate`](Self::generate) makes
/// one; a UUID of another version that you keep is accepted too (Payroc's SDKs do not check).
/// The same key with the same request gets the original answer back; with a different request,
/// a 409.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(Uuid);

impl IdempotencyKey {
    /// A new random key (122 random bits from the operating system).
    ///
    /// # Errors
    /// [`Error::RandomSource`] in the unlikely case the operating system's random source fails.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).map_err(|_| Error::RandomSource)?;
        Ok(IdempotencyKey(
            uuid::Builder::from_random_bytes(bytes).into_uuid(),
        ))
    }

    /// Parses a key you keep (to retry a request later without creating a second session). It
    /// is sent in the lowercase hyphenated form.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] unless it is a UUID in the hyphenated form (any version).
    pub fn new(key: &str) -> Result<Self> {
        let invalid = Error::InvalidInput {
            field: "idempotency_key",
            rule: "must be a UUID (8-4-4-4-12 hex digits); Payroc asks for a v4",
        };
        if key.len() != 36 {
            return Err(invalid);
        }
        Uuid::try_parse(key)
            .map(IdempotencyKey)
            .map_err(|_| invalid)
    }

    /// Uses a UUID you made (a v4, ideally).
    pub fn from_uuid(uuid: Uuid) -> Self {
        IdempotencyKey(uuid)
    }

    /// The key as a UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.0.hyphenated())
    }
}

/// Lowercase hyphenated, as sent in the header.
impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// A request for a Hosted Fields session token: the terminal, the scenario, and optionally the
/// secure token to update, a `libVersion` other than the client's default and your own
/// idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRequest {
    pub(crate) terminal: TerminalId,
    pub(crate) scenario: Scenario,
    pub(crate) secure_token_id: Option<SecureTokenId>,
    pub(crate) lib_version: Option<LibVersion>,
    pub(crate) idempotency_key: Option<IdempotencyKey>,
}

impl SessionRequest {
    /// A session that takes a payment on `terminal`.
    pub fn payment(terminal: TerminalId) -> Self {
        Self::new(terminal, Scenario::Payment)
    }

    /// A session that saves a card on `terminal` (or updates one: see
    /// [`secure_token_id`](Self::secure_token_id)).
    pub fn tokenization(terminal: TerminalId) -> Self {
        Self::new(terminal, Scenario::Tokenization)
    }

    /// A session for `scenario` on `terminal`.
    pub fn new(terminal: TerminalId, scenario: Scenario) -> Self {
        SessionRequest {
            terminal,
            scenario,
            secure_token_id: None,
            lib_version: None,
            idempotency_key: None,
        }
    }

    /// Updates the card behind this secure token. Documented for tokenization sessions; sent
    /// with any scenario, and Payroc decides (its SDKs allow it with any scenario too).
    #[must_use]
    pub fn secure_token_id(mut self, id: SecureTokenId) -> Self {
        self.secure_token_id = Some(id);
        self
    }

    /// The Hosted Fields library version of this page, instead of the client's default.
    #[must_use]
    pub fn lib_version(mut self, version: LibVersion) -> Self {
        self.lib_version = Some(version);
        self
    }

    /// Sends this key instead of a fresh one. Every call with this request then uses it: use it
    /// to retry later, after [`Client::create_session`](crate::Client::create_session) gave up,
    /// without creating a second session. Never reuse a key for a different request (Payroc
    /// answers 409).
    #[must_use]
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// The terminal.
    pub fn terminal(&self) -> &TerminalId {
        &self.terminal
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(err: Error) -> &'static str {
        match err {
            Error::InvalidInput { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn terminal_ids() {
        assert_eq!(TerminalId::new("1234001").unwrap().as_str(), "1234001");
        TerminalId::new("abcd").unwrap();
        TerminalId::new("x".repeat(50)).unwrap();
        for bad in [
            "123",
            &"x".repeat(51),
            "12/4001",
            "1234 01",
            "12%2F01",
            "ab..",
            "1234é",
        ] {
            assert_eq!(
                field(TerminalId::new(bad).unwrap_err()),
                "processing_terminal_id",
                "{bad}"
            );
        }
    }

    #[test]
    fn lib_versions() {
        LibVersion::new("1.7.0.261457").unwrap();
        // The SDK fixtures send `libVersion: "libVersion"`; Payroc documents no format.
        LibVersion::new("libVersion").unwrap();
        LibVersion::new("x".repeat(64)).unwrap();
        for bad in [String::new(), "x".repeat(65), "1.7\n".to_owned()] {
            assert_eq!(
                field(LibVersion::new(bad.clone()).unwrap_err()),
                "lib_version",
                "{bad}"
            );
        }
    }

    #[test]
    fn scenarios_known_and_new() {
        assert_eq!(Scenario::parse("payment").unwrap(), Scenario::Payment);
        assert_eq!(
            Scenario::parse("tokenization").unwrap(),
            Scenario::Tokenization
        );
        let new = Scenario::parse("subscription").unwrap();
        assert_eq!(new, Scenario::Other("subscription".into()));
        assert_eq!(new.as_str(), "subscription");
        for bad in ["", "a\nb"] {
            assert_eq!(field(Scenario::parse(bad).unwrap_err()), "scenario");
        }
        assert_eq!(
            field(Scenario::parse(&"x".repeat(65)).unwrap_err()),
            "scenario"
        );
    }

    #[test]
    fn secure_token_ids() {
        SecureTokenId::new("a").unwrap();
        SecureTokenId::new("é".repeat(200)).unwrap();
        for bad in [String::new(), "x".repeat(201), "a\nb".to_owned()] {
            assert_eq!(
                field(SecureTokenId::new(bad).unwrap_err()),
                "secure_token_id"
            );
        }
        let terminal = TerminalId::new("1234001").unwrap();
        let id = SecureTokenId::new("tok-1").unwrap();
        // Any scenario: the API decides.
        let payment = SessionRequest::payment(terminal.clone()).secure_token_id(id.clone());
        assert_eq!(payment.secure_token_id, Some(id.clone()));
        let tokenization = SessionRequest::tokenization(terminal).secure_token_id(id.clone());
        assert_eq!(tokenization.secure_token_id, Some(id));
    }

    #[test]
    fn idempotency_keys() {
        let a = IdempotencyKey::generate().unwrap();
        let b = IdempotencyKey::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_uuid().get_version_num(), 4);
        assert_eq!(IdempotencyKey::new(&a.to_string()).unwrap(), a);
        let upper = "3B241101-E2BB-4255-8CAF-4136C566A962";
        assert_eq!(
            IdempotencyKey::new(upper).unwrap().to_string(),
            upper.to_lowercase()
        );
        // Any UUID version is accepted (a v1 here); Payroc asks for v4, generate() makes one.
        let v1 = "3b241101-e2bb-1255-8caf-4136c566a962";
        assert_eq!(
            IdempotencyKey::new(v1).unwrap().as_uuid().get_version_num(),
            1
        );
        assert_eq!(IdempotencyKey::from_uuid(a.as_uuid()), a);
        for bad in [
            "idempotencyKey",
            "3b241101e2bb42558caf4136c566a962",
            "{3b241101-e2bb-4255-8caf-4136c566a962}",
            "not a key",
        ] {
            assert_eq!(
                field(IdempotencyKey::new(bad).unwrap_err()),
                "idempotency_key"
            );
        }
    }

    #[test]
    fn api_keys() {
        ApiKey::new("k").unwrap();
        for bad in [String::new(), "a b".into(), "a\nb".into(), "x".repeat(1025)] {
            assert_eq!(field(ApiKey::new(bad).unwrap_err()), "api_key");
        }
        let key = ApiKey::new("very-secret-key").unwrap();
        assert!(!format!("{key:?}").contains("very-secret"));
    }
}
