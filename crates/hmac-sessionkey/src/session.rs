use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use payauth_core::Rfc3339;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::envelope::ms_json_date;
use crate::error::{Error, Result};
use secrecy::SecretString;

/// An authenticated session: the merchants the account may charge for and the user record.
/// The session key itself is never shown by `Debug`.
#[derive(Clone)]
pub struct Session(pub(crate) Arc<SessionData>);

pub(crate) struct SessionData {
    pub(crate) key: SecretString,
    merchants: Vec<Merchant>,
    user: Option<User>,
    pub(crate) expires_at: SystemTime,
    /// `SessKey`, `MerchantList` and `ThisUser` as EasyPay sent them: what a shared store holds
    /// (sealed), so another process rebuilds the same session.
    wire: SecretString,
}

impl Session {
    /// The merchants (`MerchantList`); their `id` is the `MerchID` transactions need.
    pub fn merchants(&self) -> &[Merchant] {
        &self.0.merchants
    }

    /// The authenticated user (`ThisUser`), when EasyPay sent it.
    pub fn user(&self) -> Option<&User> {
        self.0.user.as_ref()
    }

    /// When the client will consider the session over (25 h after authentication).
    pub fn expires_at(&self) -> SystemTime {
        self.0.expires_at
    }

    /// Whether both are the same session (not a comparison of keys).
    pub fn same_as(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("key", &"[redacted]")
            .field("merchants", &self.0.merchants)
            .field("user", &self.0.user)
            .field("expires_at", &Rfc3339(self.0.expires_at))
            .finish()
    }
}

impl SessionData {
    pub(crate) fn from_result(result: &Map<String, Value>, expires_at: SystemTime) -> Result<Self> {
        let key = result
            .get("SessKey")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric()))
            .ok_or_else(|| Error::InvalidResponse {
                reason: "AuthSuccess is true but SessKey is missing or malformed".into(),
            })?;
        let merchants = match result.get("MerchantList") {
            Some(list @ Value::Array(_)) => {
                serde_json::from_value(list.clone()).map_err(|e| Error::InvalidResponse {
                    reason: format!("MerchantList: {e}"),
                })?
            }
            _ => Vec::new(),
        };
        // The user record is informative; a shape EasyPay changes must not cost the session.
        let user = result
            .get("ThisUser")
            .and_then(|u| serde_json::from_value(u.clone()).ok());
        let wire = serde_json::json!({
            "SessKey": key,
            "MerchantList": result.get("MerchantList"),
            "ThisUser": result.get("ThisUser"),
        });
        Ok(SessionData {
            wire: SecretString::from(wire.to_string()),
            key: SecretString::from(key.to_owned()),
            merchants,
            user,
            expires_at,
        })
    }
}

impl SessionData {
    /// The same session with the expiry a shared store gave it (its time to live there).
    pub(crate) fn with_expiry(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = expires_at;
        self
    }
}

impl payauth_core::SharedValue for SessionData {
    fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        use secrecy::ExposeSecret as _;
        zeroize::Zeroizing::new(self.wire.expose_secret().as_bytes().to_vec())
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let result: Map<String, Value> = serde_json::from_slice(bytes).ok()?;
        SessionData::from_result(&result, SystemTime::UNIX_EPOCH).ok()
    }
}

/// A merchant the account may charge for (`MerchantList[]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Merchant {
    /// `ID`: the `MerchID` of transaction requests.
    #[serde(rename = "ID")]
    pub id: i64,
    /// `Descrip`.
    #[serde(rename = "Descrip", default)]
    pub description: String,
    /// `TermID`.
    #[serde(rename = "TermID", default)]
    pub terminal_id: String,
    /// `Address`.
    #[serde(rename = "Address", default)]
    pub address: String,
    /// `Location`.
    #[serde(rename = "Location", default)]
    pub location: String,
}

/// The authenticated user (`ThisUser`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// `ID`: the user id the secured header signs.
    #[serde(rename = "ID")]
    pub id: i64,
    /// `AcctID`.
    #[serde(rename = "AcctID", default)]
    pub account_id: i64,
    /// `AccountCode`.
    #[serde(rename = "AccountCode", default)]
    pub account_code: String,
    /// `IsLockedOut`.
    #[serde(rename = "IsLockedOut", default)]
    pub is_locked_out: bool,
    /// `IsExpired`.
    #[serde(rename = "IsExpired", default)]
    pub is_expired: bool,
    /// `ExpirationDate`, a Microsoft JSON date: the instant, whatever zone EasyPay wrote it in
    /// (see [`parse_ms_json_date`](crate::parse_ms_json_date)).
    #[serde(
        rename = "ExpirationDate",
        default,
        deserialize_with = "ms_json_date::option::deserialize"
    )]
    pub expiration_date: Option<SystemTime>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("account_code", &self.account_code)
            .field("is_locked_out", &self.is_locked_out)
            .field("is_expired", &self.is_expired)
            .field("expiration_date", &self.expiration_date.map(Rfc3339))
            .finish()
    }
}
