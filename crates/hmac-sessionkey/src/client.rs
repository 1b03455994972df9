use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use payauth_core::{
    Attempts, CacheKey, CredentialCell, DEFAULT_LEASE_TTL, Deadline, Expiring, Http, HttpConfig,
    HttpRequest, HttpSettings, SharedCache, SharedClock, SharedStore, Stage, SystemClock,
    TransportError, require_secure_url,
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

/// EasyPay's REST environments. Reads from configuration as `test` (or `staging`, `uat`) and
/// `production` (or `prod`): `"staging".parse()`, or serde.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(from = "Stage", into = "Stage")]
#[non_exhaustive]
pub enum Environment {
    /// EasyPay's staging API, `https://easypay5.com/APIcardProcRESTstaging/v1.0.0/` (seen in the
    /// vendor's request collections).
    Test,
    /// `https://easypay5.com/APIcardProcREST/v1.0.0/`.
    Production,
}

impl Environment {
    /// The base URL, with its trailing slash.
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Production => "https://easypay5.com/APIcardProcREST/v1.0.0/",
            Environment::Test => "https://easypay5.com/APIcardProcRESTstaging/v1.0.0/",
        }
    }
}

payauth_core::two_stage_environment!(Environment);

/// An EasyPay REST client: one session key for every call and thread, re-authentication only when
/// EasyPay says the session ended, and a lockout guard in front of every authentication.
/// Cheap to clone (an `Arc`); `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Bounds every call made through this handle (see [`Client::with_deadline`]).
    deadline: Option<Deadline>,
}

struct Inner {
    http: Http,
    base: String,
    credentials: Credentials,
    signer: Option<(HmacSecret, SignerId)>,
    guard: LockoutGuard,
    cell: Arc<CredentialCell<SessionData, Error>>,
    /// The fleet-wide layer behind the in-process cell, when a shared store is plugged in.
    shared: Option<SharedCache>,
    clock: SharedClock,
}

impl Client {
    /// Starts a builder for `credentials`.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            credentials,
            base: None,
            signer: None,
            guard: None,
            shared_store: None,
            egress_label: None,
            lease_ttl: DEFAULT_LEASE_TTL,
            margin: DEFAULT_SESSION_MARGIN,
            clock: None,
            http: HttpConfig::new(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            )),
        }
    }

    /// The current session, authenticating first if there is none. Concurrent callers share one
    /// authentication; inside the margin before the 25 hours are up the current session is
    /// returned at once and a background thread authenticates. With a
    /// [shared store](ClientBuilder::shared_store), one process of the fleet authenticates for all.
    ///
    /// # Errors
    /// [`Error::CredentialsRejected`] (new credentials needed), [`Error::Guarded`] (refused
    /// locally, nothing sent), [`Error::Vendor`], [`Error::Transport`], ... Authentication is never
    /// retried automatically.
    pub fn session(&self) -> Result<Session> {
        Ok(Session(
            self.inner.current(&Attempts::within(self.deadline))?,
        ))
    }

    /// This client with every call bounded by `deadline`, the authentication it may need
    /// included: a cheap handle on the same session. A call that runs out of time ends with
    /// [`Error::Transport`] of kind [`Timeout`](payauth_core::TransportKind::Timeout). An
    /// authentication the deadline cuts short may have reached EasyPay, so the lockout guard
    /// counts it as a failure: keep deadlines longer than an authentication takes.
    #[must_use]
    pub fn with_deadline(&self, deadline: Deadline) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            deadline: Some(deadline),
        }
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
        let attempts = Attempts::within(self.deadline);
        let mut retried = false;
        loop {
            let session = self.inner.current(&attempts)?;
            let mut request = HttpRequest::post(url.as_str())
                .header("accept", "application/json")
                .secret(session.key.expose_secret());
            if let Some((secret, _)) = &self.inner.signer {
                request = request.secret(secret.expose());
            }
            let request = request
                .secret_header("SessKey", self.inner.sess_key_header(&session))
                .body("application/json", body.to_vec());
            let response = self.inner.http.send_attempt(&request, &attempts)?;
            match result_object(&response, true) {
                Err(e) if e.is_session_invalid() && !retried => {
                    if self.inner.cell.invalidate(&session)
                        && let Some(shared) = &self.inner.shared
                    {
                        shared.invalidate(&*session);
                    }
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
    /// The session for the call `attempts` follows: waiting for another caller's
    /// authentication, and one this call runs, are bounded by the call's time left.
    fn current(self: &Arc<Self>, attempts: &Attempts) -> Result<Arc<SessionData>> {
        let inner = Arc::clone(self);
        let left = attempts.remaining();
        self.cell.get_ahead_within(
            move |ahead| {
                // A refresh ahead runs in the background, where no caller waits for it.
                let bound = if ahead {
                    None
                } else {
                    left.map(Deadline::within)
                };
                inner.refresh(ahead, bound)
            },
            left,
            || Error::Transport(TransportError::deadline_passed("waiting for a session")),
        )
    }

    /// A new session: through the shared store when there is one, else by authenticating.
    fn refresh(&self, ahead: bool, deadline: Option<Deadline>) -> Result<Expiring<SessionData>> {
        let attempts = Attempts::within(deadline);
        let Some(shared) = &self.shared else {
            return self.authenticate(&attempts);
        };
        let fresh =
            shared.fetch_within(ahead, attempts.remaining(), || self.authenticate(&attempts))?;
        Ok(Expiring {
            value: fresh.value.with_expiry(fresh.expires_at),
            expires_at: fresh.expires_at,
        })
    }

    fn authenticate(&self, attempts: &Attempts) -> Result<Expiring<SessionData>> {
        if attempts.expired() {
            // Before the guard counts anything: nothing will be sent.
            return Err(Error::Transport(TransportError::deadline_passed(
                "waiting to authenticate",
            )));
        }
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
            .secret(self.credentials.token.expose())
            .body("application/json", std::mem::take(&mut *body));
        // Counted before sending, so a crash mid-request still counts. It is taken back only when
        // the request provably never left this process (refused, connect timeout, handshake);
        // whatever else goes wrong leaves the attempt counted as a failure.
        let response = match self.http.send_attempt(&request, attempts) {
            Ok(response) => response,
            Err(e) if !e.may_have_reached_server() => {
                self.guard.not_sent(attempt)?;
                return Err(Error::Transport(e));
            }
            Err(e) => return Err(Error::Transport(e)),
        };
        let result = result_object(&response, false)?;
        if result.get("AuthSuccess").and_then(Value::as_bool) != Some(true) {
            self.guard.rejected(attempt)?;
            return Err(Error::CredentialsRejected {
                message: response.server_text(&resp_msg(&result)),
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
            .field("shared", &self.inner.shared)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`].
pub struct ClientBuilder {
    credentials: Credentials,
    base: Option<String>,
    signer: Option<(HmacSecret, SignerId)>,
    guard: Option<LockoutGuard>,
    shared_store: Option<Arc<dyn SharedStore>>,
    egress_label: Option<String>,
    lease_ttl: Duration,
    margin: Duration,
    clock: Option<SharedClock>,
    http: HttpConfig,
}

impl ClientBuilder {
    /// Uses an EasyPay environment. There is no default: an environment or a base URL must be
    /// set, so test and production credentials cannot be mixed up.
    #[must_use]
    pub fn environment(mut self, environment: Environment) -> Self {
        self.base = Some(environment.base_url().to_owned());
        self
    }

    /// Uses any base URL (a trailing slash is added when missing).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        let mut base = url.into();
        if !base.ends_with('/') {
            base.push('/');
        }
        self.base = Some(base);
        self
    }

    /// Sends the HMAC-secured `SessKey` header on every call (required for PCI merchants passing
    /// cardholder data), signed with `secret` for `id` (the user id, `ThisUser.ID`, or the device
    /// id).
    #[must_use]
    pub fn secured_header(mut self, secret: HmacSecret, id: SignerId) -> Self {
        self.signer = Some((secret, id));
        self
    }

    /// The lockout guard; default [`LockoutGuard::process_wide`]. Use [`LockoutGuard::file`] for a
    /// service that a supervisor restarts, so a rejected token is remembered across restarts.
    #[must_use]
    pub fn lockout_guard(mut self, guard: LockoutGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Shares the session key with every process using the same store
    /// (`payauth_redis::RedisStore`, say), base URL, account, token and
    /// [egress label](Self::egress_label) (EasyPay binds a session to the caller's IP), and,
    /// unless a [guard](Self::lockout_guard) is given, guards authentications with
    /// [`LockoutGuard::shared`] on the same store. The in-process cache stays in front, so a call
    /// with a cached session never touches the store. What is stored is the session (key,
    /// merchants, user), sealed with ChaCha20-Poly1305 under a key derived from the token; the
    /// token and the HMAC secret are never stored. When the store is unreachable, the session
    /// cache fails open (authenticates locally, through the guard) and the shared guard fails
    /// closed (refuses to authenticate, naming the store).
    #[must_use]
    pub fn shared_store(mut self, store: Arc<dyn SharedStore>) -> Self {
        self.shared_store = Some(store);
        self
    }

    /// A name for the IP address this process reaches EasyPay from (`"nat-eu-1"`); processes
    /// behind one address share a session and a guard only when they use the same label.
    /// Default `"default"`.
    #[must_use]
    pub fn egress_label(mut self, label: impl Into<String>) -> Self {
        self.egress_label = Some(label.into());
        self
    }

    /// How long the fleet's authentication lease lasts (a process that dies while
    /// authenticating delays the others by at most this); default [`DEFAULT_LEASE_TTL`].
    #[must_use]
    pub fn shared_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Re-authenticate this long before the 25 hours are up; default 10 minutes.
    #[must_use]
    pub fn session_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Network settings: timeouts, proxy, trusted roots, client certificate, user-agent
    /// suffix; default [`HttpSettings::default`] (10 s to connect, 30 s per step, the proxy
    /// from the environment, the public roots).
    #[must_use]
    pub fn http(mut self, settings: HttpSettings) -> Self {
        self.http = self.http.settings(settings);
        self
    }

    /// The clock for session expiry and the secured header's epoch; default the system clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds the client. Nothing is sent until the first call.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when neither an environment nor a base URL was set;
    /// [`Error::Transport`] for an insecure or malformed base URL.
    pub fn build(self) -> Result<Client> {
        let base = self.base.ok_or(Error::InvalidInput {
            field: "environment",
            rule: "set an environment or a base URL (there is no default, so test and production cannot be mixed up)",
        })?;
        require_secure_url(&base)?;
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        let egress = self.egress_label.unwrap_or_else(|| "default".to_owned());
        let guard = match (self.guard, &self.shared_store) {
            (Some(guard), _) => guard,
            (None, Some(store)) => {
                LockoutGuard::shared(Arc::clone(store), &self.credentials.account, &egress)
            }
            (None, None) => LockoutGuard::process_wide(),
        };
        let shared = self.shared_store.map(|store| {
            let token = self.credentials.token.expose().as_bytes();
            let key = CacheKey::new("easypay")
                .part("base_url", &base)
                .part("account", self.credentials.account.as_str())
                .part("egress", &egress)
                .secret_part("token", token);
            SharedCache::new(store, &key, token, self.margin, Arc::clone(&clock))
                .with_lease_ttl(self.lease_ttl)
        });
        Ok(Client {
            inner: Arc::new(Inner {
                http: self.http.build(),
                base,
                credentials: self.credentials,
                signer: self.signer,
                guard,
                cell: Arc::new(CredentialCell::new(Arc::clone(&clock), self.margin)),
                shared,
                clock,
            }),
            deadline: None,
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

#[cfg(test)]
mod environment_tests {
    #[test]
    fn a_client_is_never_built_for_an_environment_by_default() {
        let credentials =
            crate::Credentials::new("EP9116875", "0123456789abcdef0123456789abcdef").unwrap();
        let err = super::Client::builder(credentials).build().unwrap_err();
        assert!(
            matches!(
                err,
                crate::Error::InvalidInput {
                    field: "environment",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
