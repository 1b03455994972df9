use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use payauth_core::{
    CredentialCell, Expiring, Http, HttpConfig, HttpRequest, SharedClock, SystemClock,
    require_secure_url,
};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::credentials::{Credentials, HmacSecret, SignerId};
use crate::envelope::{decode, resp_msg, result_object};
use crate::error::{Error, Result};
use crate::guard::LockoutGuard;
use crate::requests::{CardSaleManual, CardSaleResult, VoidResult, to_json_wiped};
use crate::secured::secured_header;
use crate::session::{Session, SessionData};

/// How long EasyPay keeps a session key.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(25 * 3600);
/// Default margin: re-authenticate 10 minutes before the 25 hours are up.
pub const DEFAULT_SESSION_MARGIN: Duration = Duration::from_secs(600);

/// EasyPay's REST environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// `https://easypay5.com/APIcardProcREST/v1.0.0/`.
    Production,
    /// `https://easypay5.com/APIcardProcRESTstaging/v1.0.0/` (seen in the vendor's request
    /// collections).
    Staging,
}

impl Environment {
    /// The base URL, with its trailing slash.
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Production => "https://easypay5.com/APIcardProcREST/v1.0.0/",
            Environment::Staging => "https://easypay5.com/APIcardProcRESTstaging/v1.0.0/",
        }
    }
}

/// An EasyPay REST client: one session key for every call and thread, re-authentication only when
/// EasyPay says the session ended, and a lockout guard in front of every authentication.
/// Cheap to clone (an `Arc`); `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: Http,
    base: String,
    credentials: Credentials,
    signer: Option<(HmacSecret, SignerId)>,
    guard: LockoutGuard,
    cell: CredentialCell<SessionData, Error>,
    clock: SharedClock,
}

impl Client {
    /// Starts a builder for `credentials`.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            credentials,
            base: Environment::Production.base_url().to_owned(),
            signer: None,
            guard: None,
            margin: DEFAULT_SESSION_MARGIN,
            clock: None,
            http: HttpConfig::new(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            )),
        }
    }

    /// The current session, authenticating first if there is none (or it is about to expire).
    /// Concurrent callers share one authentication.
    ///
    /// # Errors
    /// [`Error::CredentialsRejected`] (new credentials needed), [`Error::Guarded`] (refused
    /// locally, nothing sent), [`Error::Vendor`], [`Error::Transport`], ... Authentication is never
    /// retried automatically.
    pub fn session(&self) -> Result<Session> {
        let inner = &self.inner;
        Ok(Session(inner.cell.get(|| inner.authenticate())?))
    }

    /// Calls `operation` (`"CardSale/Manual"`, `"Query/Transaction"`, ...) with `body` and returns
    /// the `<Operation>Result` object, after the envelope checks. If EasyPay answers that the
    /// session expired (5030) or the caller's IP changed (5050), the client authenticates once
    /// (however many threads saw it) and repeats the call once. Nothing else is retried: a card
    /// sale must not run twice.
    ///
    /// A declined transaction (`TxApproved: false`) is a successful call.
    ///
    /// # Errors
    /// [`Error::Vendor`] for `FunctionOk: false` or a non-zero `ErrCode`, [`Error::BadRequest`],
    /// transport and decoding errors, and those of [`session`](Self::session).
    pub fn call<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        operation: &str,
        body: &B,
    ) -> Result<R> {
        check_operation(operation)?;
        // Wiped when the call returns; each request's copy is wiped when the request is dropped.
        let body = to_json_wiped(body).map_err(|_| Error::InvalidInput {
            field: "body",
            rule: "must serialise to JSON",
        })?;
        let url = format!("{}{operation}", self.inner.base);
        let mut retried = false;
        loop {
            let session = self.inner.cell.get(|| self.inner.authenticate())?;
            let request = HttpRequest::post(url.as_str())
                .header("accept", "application/json")
                .header("SessKey", self.inner.sess_key_header(&session))
                .body("application/json", body.to_vec());
            let response = self.inner.http.send(&request)?;
            match result_object(&response, true) {
                Err(e) if e.is_session_invalid() && !retried => {
                    self.inner.cell.invalidate(&session);
                    retried = true;
                }
                Err(e) => return Err(e),
                Ok(result) => return decode(result),
            }
        }
    }

    /// `CardSale/Manual`: a card-not-present sale with an encrypted card number.
    ///
    /// # Errors
    /// As for [`call`](Self::call).
    pub fn card_sale_manual(&self, sale: &CardSaleManual) -> Result<CardSaleResult> {
        self.call("CardSale/Manual", sale)
    }

    /// `CardSale/Void`: voids an unsettled charge.
    ///
    /// # Errors
    /// As for [`call`](Self::call).
    pub fn void(&self, transaction_id: i64) -> Result<VoidResult> {
        self.call("CardSale/Void", &json!({ "TxID": transaction_id }))
    }

    /// The lockout guard (to read its state or reset it after fixing the cause).
    pub fn lockout_guard(&self) -> &LockoutGuard {
        &self.inner.guard
    }
}

impl Inner {
    fn authenticate(&self) -> Result<Expiring<SessionData>> {
        let attempt = self.guard.begin(&self.credentials)?;
        #[derive(Serialize)]
        struct Authenticate<'a> {
            #[serde(rename = "AcctCode")]
            account: &'a str,
            #[serde(rename = "Token")]
            token: &'a str,
        }
        // Borrowed into a buffer of exact size that moves into the request, which wipes it.
        let mut body = to_json_wiped(&Authenticate {
            account: self.credentials.account.as_str(),
            token: self.credentials.token.expose(),
        })
        .map_err(|_| Error::InvalidInput {
            field: "body",
            rule: "must serialise to JSON",
        })?;
        let request = HttpRequest::post(format!("{}Authenticate", self.base))
            .header("accept", "application/json")
            .body("application/json", std::mem::take(&mut *body));
        // Whatever goes wrong from here on leaves the attempt counted as a failure.
        let response = self.http.send(&request)?;
        let result = result_object(&response, false)?;
        if result.get("AuthSuccess").and_then(Value::as_bool) != Some(true) {
            self.guard.rejected(attempt)?;
            return Err(Error::CredentialsRejected {
                message: resp_msg(&result),
            });
        }
        // EasyPay accepted the credentials and reset its count: so does the guard, before
        // anything else is read from the answer, so that an answer the client cannot use never
        // counts as a failed authentication.
        self.guard.succeeded(attempt)?;
        let expires_at = self
            .clock
            .now()
            .checked_add(SESSION_LIFETIME)
            .ok_or_else(|| Error::InvalidResponse {
                reason: "the clock is too close to the end of time for a 25-hour session".into(),
            })?;
        let data = SessionData::from_result(&result, expires_at)?;
        let expires_at = data.expires_at;
        Ok(Expiring {
            value: data,
            expires_at,
        })
    }

    fn sess_key_header(&self, session: &SessionData) -> String {
        let key = session.key.expose_secret();
        match &self.signer {
            None => key.to_owned(),
            Some((secret, id)) => {
                let epoch = self
                    .clock
                    .now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                secured_header(key, secret.expose(), epoch, id.as_str())
            }
        }
    }
}

fn check_operation(operation: &str) -> Result<()> {
    let valid = !operation.is_empty()
        && !operation.starts_with('/')
        && operation
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            field: "operation",
            rule: "must look like Group/Operation (letters, digits, '_' and '/')",
        })
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("account", &self.inner.credentials.account)
            .field("secured_header", &self.inner.signer.is_some())
            .field("guard", &self.inner.guard)
            .field("session", &self.inner.cell)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`].
pub struct ClientBuilder {
    credentials: Credentials,
    base: String,
    signer: Option<(HmacSecret, SignerId)>,
    guard: Option<LockoutGuard>,
    margin: Duration,
    clock: Option<SharedClock>,
    http: HttpConfig,
}

impl ClientBuilder {
    /// Uses an EasyPay environment (default: production).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.base = environment.base_url().to_owned();
        self
    }

    /// Uses any base URL (a trailing slash is added when missing).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base = url.into();
        if !self.base.ends_with('/') {
            self.base.push('/');
        }
        self
    }

    /// Sends the HMAC-secured `SessKey` header on every call (required for PCI merchants passing
    /// cardholder data), signed with `secret` for `id` (the user id, `ThisUser.ID`, or the device
    /// id).
    pub fn secured_header(mut self, secret: HmacSecret, id: SignerId) -> Self {
        self.signer = Some((secret, id));
        self
    }

    /// The lockout guard; default [`LockoutGuard::process_wide`]. Use [`LockoutGuard::file`] for a
    /// service that a supervisor restarts, so a rejected token is remembered across restarts.
    pub fn lockout_guard(mut self, guard: LockoutGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Re-authenticate this long before the 25 hours are up; default 10 minutes.
    pub fn session_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Time allowed for each phase of an exchange; default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.timeout(timeout);
        self
    }

    /// Time allowed to connect; default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.connect_timeout(timeout);
        self
    }

    /// Trusts this root certificate (DER) instead of the public roots.
    pub fn trust_root(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.http = self.http.trust_root(der);
        self
    }

    /// The clock for session expiry and the secured header's epoch; default the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds the client. Nothing is sent until the first call.
    ///
    /// # Errors
    /// [`Error::Transport`] for an insecure or malformed base URL.
    pub fn build(self) -> Result<Client> {
        require_secure_url(&self.base)?;
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        Ok(Client {
            inner: Arc::new(Inner {
                http: self.http.build(),
                base: self.base,
                credentials: self.credentials,
                signer: self.signer,
                guard: self.guard.unwrap_or_else(LockoutGuard::process_wide),
                cell: CredentialCell::new(Arc::clone(&clock), self.margin),
                clock,
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base", &self.base)
            .field("account", &self.credentials.account)
            .finish_non_exhaustive()
    }
}
