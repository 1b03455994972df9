use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use payauth_core::{
    Attempts, CacheKey, CredentialCell, DEFAULT_LEASE_TTL, Deadline, Expiring, Http, HttpConfig,
    HttpRequest, HttpResponse, HttpSettings, Idempotency, RetryPolicy, SharedCache, SharedClock,
    SharedStore, Stage, SystemClock, TransportError, redact_url, require_secure_url,
    status_verdict, transport_verdict,
};
use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use crate::assertion::{ASSERTION_TYPE, Signer, assertion};
use crate::credentials::{AuthMethod, Credentials};
use crate::discovery::{Metadata, discover};
use crate::error::{Error, Result};
use crate::token::{AccessToken, TokenData, parse_error, parse_token};

/// Default refresh-ahead margin: a token is replaced 60 s before it expires.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime assumed when a token response has no `expires_in` (Pledg's tokens live 600 s).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// Pledg's environments (any other RFC 6749 server: [`ClientBuilder::token_url`]). Reads from
/// configuration as `test` (or `staging`, `uat`) and `production` (or `prod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(from = "Stage", into = "Stage")]
#[non_exhaustive]
pub enum Environment {
    /// Pledg's staging, `https://staging.back.ecard.pledg.co` (some behaviours mocked by Pledg).
    Test,
    /// Pledg's production, `https://back.ecard.pledg.co`.
    Production,
}

payauth_core::two_stage_environment!(Environment);

impl Environment {
    /// The API base URL, without a trailing slash.
    pub fn api_base(self) -> &'static str {
        match self {
            Environment::Test => "https://staging.back.ecard.pledg.co",
            Environment::Production => "https://back.ecard.pledg.co",
        }
    }

    /// The token endpoint, `{api_base}/api/token`.
    pub fn token_url(self) -> String {
        format!("{}/api/token", self.api_base())
    }
}

/// A client-credentials client: fetches a token when needed, caches it, and attaches it to your
/// requests. Cheap to clone (an `Arc`), `Send + Sync`: build one per set of credentials and share
/// it between threads.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Bounds every call made through this handle (see [`Client::with_deadline`]).
    deadline: Option<Deadline>,
}

struct Inner {
    http: Http,
    token_url: String,
    credentials: Credentials,
    method: AuthMethod,
    /// The methods a discovered server lists (`token_endpoint_auth_methods_supported`).
    supported: Option<Vec<String>>,
    /// The method that worked, kept for the life of the client.
    settled: Mutex<Option<AuthMethod>>,
    scope: Option<String>,
    form: Vec<(String, String)>,
    cell: Arc<CredentialCell<TokenData, Error>>,
    /// The fleet-wide layer behind the in-process cell, when a shared store is plugged in.
    shared: Option<SharedCache>,
    clock: SharedClock,
    default_lifetime: Duration,
    retry: RetryPolicy,
}

impl Client {
    /// Starts a builder for `credentials`.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            credentials,
            token_url: None,
            supported: None,
            method: AuthMethod::default(),
            scope: None,
            params: Vec::new(),
            margin: DEFAULT_REFRESH_MARGIN,
            default_lifetime: DEFAULT_LIFETIME,
            clock: None,
            http: HttpConfig::new(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            )),
            retry: RetryPolicy::default(),
            shared_store: None,
            lease_ttl: DEFAULT_LEASE_TTL,
        }
    }

    /// A valid access token: the cached one, or a new one if it is missing or expired. Inside the
    /// refresh margin the cached token is returned at once and a background thread replaces it,
    /// so no caller waits while a valid token exists (see
    /// [`CredentialCell::get_ahead`](payauth_core::CredentialCell::get_ahead)). With a
    /// [shared store](ClientBuilder::shared_store), a missing token is read from the store before
    /// the token endpoint is asked, and one process of the fleet refreshes for all.
    ///
    /// # Errors
    /// The token endpoint's refusal ([`Error::OAuth`]), a transport failure, or an unusable
    /// response. Transport failures, 429 and 5xx are retried first with the client's
    /// [`RetryPolicy`]; a 4xx never is.
    pub fn bearer(&self) -> Result<AccessToken> {
        self.bearer_within(&Attempts::within(self.deadline))
    }

    /// This client with every call bounded by `deadline`, retries and waits included: a cheap
    /// handle on the same token cache. A call that runs out of time ends with the last
    /// attempt's error, or [`Error::Transport`] of kind
    /// [`Timeout`](payauth_core::TransportKind::Timeout) when no attempt could start.
    #[must_use]
    pub fn with_deadline(&self, deadline: Deadline) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            deadline: Some(deadline),
        }
    }

    /// [`bearer`](Self::bearer) as part of the call `attempts` follows.
    fn bearer_within(&self, attempts: &Attempts) -> Result<AccessToken> {
        let inner = Arc::clone(&self.inner);
        let left = attempts.remaining();
        let data = self.inner.cell.get_ahead_within(
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
            || Error::Transport(TransportError::deadline_passed("waiting for a token")),
        )?;
        Ok(AccessToken { inner: data })
    }

    /// Drops `token` from the cache if it is still the current one; returns whether it did.
    /// Call it when the API rejects the token (HTTP 401) on a request you built yourself; many
    /// threads doing so at once cause one fetch.
    pub fn invalidate(&self, token: &AccessToken) -> bool {
        let dropped = self.inner.cell.invalidate(&token.inner);
        if dropped && let Some(shared) = &self.inner.shared {
            shared.invalidate(&*token.inner);
        }
        dropped
    }

    /// Sends `request` with `Authorization: Bearer <token>`. On a 401 the token is dropped, a
    /// new one fetched (once, however many threads saw the 401) and the request sent once more;
    /// any other response is returned as it is. The request itself is not retried on transport
    /// errors: only you know whether it is safe to repeat.
    ///
    /// # Errors
    /// Token errors as for [`bearer`](Self::bearer); [`Error::Transport`] when the request got
    /// no response.
    pub fn send(&self, mut request: HttpRequest) -> Result<HttpResponse> {
        let attempts = Attempts::within(self.deadline);
        let token = self.bearer_within(&attempts)?;
        request.set_header("authorization", token.header_value());
        let response = self.inner.http.send_attempt(&request, &attempts)?;
        if response.status() != 401 {
            return Ok(response);
        }
        self.invalidate(&token);
        let fresh = self.bearer_within(&attempts)?;
        request.set_header("authorization", fresh.header_value());
        Ok(self.inner.http.send_attempt(&request, &attempts)?)
    }

    /// `GET url` through [`send`](Self::send).
    ///
    /// # Errors
    /// As for [`send`](Self::send).
    pub fn get(&self, url: &str) -> Result<HttpResponse> {
        self.send(HttpRequest::get(url))
    }

    /// The HTTP agent, for requests that need no token (a Basic-auth endpoint, say).
    pub fn http(&self) -> &Http {
        &self.inner.http
    }

    /// The authentication method in use: the one configured, or, with [`AuthMethod::Auto`],
    /// the one the server accepted (`None` until a token has been fetched).
    pub fn auth_method_in_use(&self) -> Option<AuthMethod> {
        match self.inner.method {
            AuthMethod::Auto => *self.inner.lock_settled(),
            method => Some(method),
        }
    }

    /// The token endpoint (from the builder or discovery).
    pub fn token_url(&self) -> &str {
        &self.inner.token_url
    }
}

impl Inner {
    /// A new token: through the shared store when there is one, else from the token endpoint.
    fn refresh(&self, ahead: bool, deadline: Option<Deadline>) -> Result<Expiring<TokenData>> {
        let attempts = Attempts::within(deadline);
        let Some(shared) = &self.shared else {
            return self.fetch(&attempts);
        };
        let fresh = shared.fetch_within(ahead, attempts.remaining(), || self.fetch(&attempts))?;
        Ok(Expiring {
            value: fresh.value.with_expiry(fresh.expires_at),
            expires_at: fresh.expires_at,
        })
    }

    fn lock_settled(&self) -> std::sync::MutexGuard<'_, Option<AuthMethod>> {
        self.settled.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The methods to try, in order: the settled one, the configured one, or `Auto`'s list.
    fn candidates(&self) -> Vec<AuthMethod> {
        if self.method != AuthMethod::Auto {
            return vec![self.method];
        }
        if let Some(settled) = *self.lock_settled() {
            return vec![settled];
        }
        auto_candidates(&self.credentials, self.supported.as_deref())
    }

    fn fetch(&self, attempts: &Attempts) -> Result<Expiring<TokenData>> {
        let candidates = self.candidates();
        let mut first_refusal = None;
        for method in &candidates {
            match self.fetch_with(*method, attempts) {
                Ok(data) => {
                    if self.method == AuthMethod::Auto {
                        *self.lock_settled() = Some(*method);
                    }
                    let expires_at = data.expires_at;
                    return Ok(Expiring {
                        value: data,
                        expires_at,
                    });
                }
                Err(e) if candidates.len() > 1 && refuses_the_method(&e) => {
                    first_refusal.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(first_refusal.unwrap_or(Error::Discovery {
            reason: "no client authentication method left to try",
        }))
    }

    fn fetch_with(&self, method: AuthMethod, attempts: &Attempts) -> Result<TokenData> {
        let response = attempts.bound(&self.retry).execute(
            self.clock.as_ref(),
            |_| {
                // Built per attempt: an assertion's `jti` must not be sent twice.
                let request = self
                    .token_request(method)
                    .map_err(|e| Failure::Final(Box::new(e)))?;
                let response = self.http.send_attempt(&request, attempts)?;
                if response.status() == 429 || response.status() >= 500 {
                    // Kept as the error so the verdict can read `Retry-After`.
                    return Err(Failure::Status(Box::new(response)));
                }
                Ok(response)
            },
            |failure| match failure {
                // Asking for a token twice is harmless: idempotent.
                Failure::Transport(e) => transport_verdict(e, Idempotency::Idempotent),
                Failure::Status(r) => status_verdict(r, Idempotency::Idempotent, self.clock.now()),
                Failure::Final(_) => payauth_core::Verdict::Stop,
            },
        );
        let response = match response {
            Ok(response) => response,
            Err(stopped) => {
                return Err(match (stopped.error, stopped.refused_wait) {
                    (Failure::Transport(e), _) => Error::Transport(e),
                    (Failure::Status(r), Some(retry_after)) => Error::RetryLater {
                        status: r.status(),
                        retry_after,
                        cause: Box::new(parse_error(&r)),
                    },
                    (Failure::Status(r), None) => parse_error(&r),
                    (Failure::Final(e), _) => *e,
                });
            }
        };
        parse_token(
            &response,
            self.clock.now(),
            self.default_lifetime,
            self.scope.as_deref(),
        )
    }

    fn token_request(&self, method: AuthMethod) -> Result<HttpRequest> {
        let mut request = HttpRequest::post(&self.token_url).header("accept", "application/json");
        let credentials = &self.credentials;
        let missing_secret = || Error::InvalidInput {
            field: "client_secret",
            rule: "this authentication method needs a client secret",
        };
        // The members after `grant_type` and the configured form: the credentials or an
        // assertion, in buffers wiped when dropped.
        let owned = |value: &str| Zeroizing::new(value.to_owned());
        let mut members: Vec<(&str, Zeroizing<String>)> = Vec::new();
        match method {
            AuthMethod::BasicPlain | AuthMethod::BasicFormEncoded => {
                let header = credentials
                    .basic_header(method)
                    .ok_or_else(missing_secret)?;
                request = request.header("authorization", header.expose_secret());
            }
            AuthMethod::ClientSecretPost => {
                let secret = credentials.secret.as_ref().ok_or_else(missing_secret)?;
                members.push(("client_id", owned(credentials.id.as_str())));
                members.push(("client_secret", owned(secret.expose())));
            }
            AuthMethod::ClientSecretJwt | AuthMethod::PrivateKeyJwt => {
                let signer =
                    if method == AuthMethod::ClientSecretJwt {
                        Signer::Secret(
                            credentials
                                .secret
                                .as_ref()
                                .ok_or_else(missing_secret)?
                                .expose(),
                        )
                    } else {
                        Signer::Key(credentials.private_key.as_ref().ok_or(
                            Error::InvalidInput {
                                field: "private_key",
                                rule: "private_key_jwt needs Credentials::with_private_key",
                            },
                        )?)
                    };
                let jwt = assertion(
                    &signer,
                    credentials.id.as_str(),
                    &self.token_url,
                    self.clock.now(),
                )?;
                members.push(("client_id", owned(credentials.id.as_str())));
                members.push(("client_assertion_type", owned(ASSERTION_TYPE)));
                members.push(("client_assertion", owned(jwt.expose_secret())));
                request = request.secret(jwt.expose_secret());
            }
            AuthMethod::Auto => {
                return Err(Error::InvalidInput {
                    field: "auth_method",
                    rule: "Auto is resolved before a request is made",
                });
            }
        }
        // Server text kept in errors is scrubbed of these, in every form they were sent.
        if let Some(secret) = &credentials.secret {
            request = request.secret(secret.expose());
        }
        // Sized for the worst case (every byte percent-encoded), so the buffer holding the
        // secret never reallocates and leaves a copy behind; the request wipes it on drop.
        let capacity = [("grant_type", "client_credentials")]
            .into_iter()
            .chain(self.form.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            .chain(members.iter().map(|(n, v)| (*n, v.as_str())))
            .map(|(name, value)| 3 * (name.len() + value.len()) + 2)
            .sum();
        let mut form = form_urlencoded::Serializer::new(String::with_capacity(capacity));
        form.append_pair("grant_type", "client_credentials");
        for (name, value) in &self.form {
            form.append_pair(name, value);
        }
        for (name, value) in &members {
            form.append_pair(name, value);
        }
        Ok(request.body("application/x-www-form-urlencoded", form.finish()))
    }
}

/// `Auto`'s order for these credentials, narrowed to what a discovered server lists.
fn auto_candidates(credentials: &Credentials, supported: Option<&[String]>) -> Vec<AuthMethod> {
    let has_secret = credentials.secret.is_some();
    let mut candidates = if !has_secret {
        vec![AuthMethod::PrivateKeyJwt]
    } else if credentials.basic_schools_agree() {
        vec![AuthMethod::BasicPlain]
    } else {
        vec![
            AuthMethod::BasicFormEncoded,
            AuthMethod::BasicPlain,
            AuthMethod::ClientSecretPost,
        ]
    };
    if credentials.id.as_str().contains(':') {
        candidates.retain(|m| *m != AuthMethod::BasicPlain);
    }
    let Some(supported) = supported else {
        return candidates;
    };
    let listed = |m: &AuthMethod| {
        m.registered_name()
            .is_some_and(|name| supported.iter().any(|s| s == name))
    };
    candidates.retain(listed);
    if candidates.is_empty() {
        // The server lists none of the usual ones: the others it lists that we can use.
        candidates = [
            AuthMethod::ClientSecretPost,
            AuthMethod::ClientSecretJwt,
            AuthMethod::PrivateKeyJwt,
        ]
        .into_iter()
        .filter(listed)
        .filter(|m| match m {
            AuthMethod::PrivateKeyJwt => credentials.private_key.is_some(),
            _ => has_secret,
        })
        .collect();
    }
    candidates
}

/// Whether a refusal says "not this way of authenticating" (try the next method), as opposed
/// to a server or network failure, which says nothing about the method.
fn refuses_the_method(error: &Error) -> bool {
    match error {
        Error::OAuth { status, error, .. } => {
            *status == 401 || error == "invalid_client" || error == "invalid_request"
        }
        Error::UnexpectedStatus { status, .. } => *status == 401,
        _ => false,
    }
}

enum Failure {
    Transport(payauth_core::TransportError),
    // Boxed: a response is large next to a transport error, and this travels in every Result.
    Status(Box<HttpResponse>),
    /// Not retried: the request could not be made. Boxed, as `Status` is.
    Final(Box<Error>),
}

impl From<payauth_core::TransportError> for Failure {
    fn from(e: payauth_core::TransportError) -> Self {
        Failure::Transport(e)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form_names: Vec<&str> = self.inner.form.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Client")
            .field("token_url", &redact_url(&self.inner.token_url))
            .field("client_id", &self.inner.credentials.id)
            .field("auth_method", &self.inner.method)
            .field("auth_method_in_use", &self.auth_method_in_use())
            .field("form_parameters", &form_names)
            .field("cache", &self.inner.cell)
            .field("shared", &self.inner.shared)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`].
pub struct ClientBuilder {
    credentials: Credentials,
    token_url: Option<String>,
    supported: Option<Vec<String>>,
    method: AuthMethod,
    scope: Option<String>,
    params: Vec<(String, String)>,
    margin: Duration,
    default_lifetime: Duration,
    clock: Option<SharedClock>,
    http: HttpConfig,
    retry: RetryPolicy,
    shared_store: Option<Arc<dyn SharedStore>>,
    lease_ttl: Duration,
}

impl ClientBuilder {
    /// Shares tokens with every process using the same store (`payauth_redis::RedisStore`, say)
    /// and the same token URL, client id, auth method and form parameters (scope, audience, ...).
    /// The in-process cache stays in front, so a cached [`Client::bearer`] never touches the
    /// store. What is stored is the access token alone, sealed with ChaCha20-Poly1305 under a key
    /// derived from the client secret; the secret itself is never stored. When the store is
    /// unreachable the client fetches its own token and logs a warning (it fails open).
    #[must_use]
    pub fn shared_store(mut self, store: Arc<dyn SharedStore>) -> Self {
        self.shared_store = Some(store);
        self
    }

    /// How long the fleet's refresh lease lasts (a process that dies while refreshing delays
    /// the others by at most this); default [`DEFAULT_LEASE_TTL`].
    #[must_use]
    pub fn shared_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Uses a Pledg environment's token endpoint.
    #[must_use]
    pub fn environment(mut self, environment: Environment) -> Self {
        self.token_url = Some(environment.token_url());
        self
    }

    /// Uses any RFC 6749 token endpoint (`https://`, or `http://` to loopback only).
    #[must_use]
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Reads the server's metadata from `issuer` (RFC 8414
    /// `/.well-known/oauth-authorization-server`, then OpenID
    /// `/.well-known/openid-configuration`): the token endpoint, and the authentication methods
    /// it supports, which narrow [`AuthMethod::Auto`]. Every URL in the document must pass the
    /// HTTPS rule, and its `issuer` must be the one asked for. Set
    /// [`http`](Self::http) settings before this call; they are used for it.
    ///
    /// # Errors
    /// [`Error::Transport`] when the issuer URL is insecure or no answer came,
    /// [`Error::Discovery`] for a missing or unusable document.
    pub fn discover(mut self, issuer: &str) -> Result<Self> {
        let Metadata {
            token_endpoint,
            auth_methods,
        } = discover(&self.http.build(), issuer)?;
        self.token_url = Some(token_endpoint);
        self.supported = Some(auth_methods);
        Ok(self)
    }

    /// How the client authenticates; default [`AuthMethod::Auto`].
    #[must_use]
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.method = method;
        self
    }

    /// Requests this `scope`.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Adds a form parameter to token requests (`audience`, `resource`, ...).
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Replace the token this long before it expires; default 60 s. Capped at half the token's
    /// lifetime.
    #[must_use]
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Lifetime assumed when the server sends no `expires_in`; default 600 s.
    #[must_use]
    pub fn default_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_lifetime = lifetime;
        self
    }

    /// Retries of the token request (transport failures, 429, 5xx; never a 4xx). Default:
    /// [`RetryPolicy::default`]; [`RetryPolicy::never`] to fail fast.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
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

    /// The clock for token expiry and retry waits; default the system clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds the client. Nothing is sent until the first token is needed.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] without a token URL, for a `:` in the id with
    /// [`AuthMethod::BasicPlain`], or for a zero lifetime; [`Error::Transport`] for an insecure
    /// or malformed token URL.
    pub fn build(self) -> Result<Client> {
        let token_url = self.token_url.ok_or(Error::InvalidInput {
            field: "token_url",
            rule: "set an environment or a token URL",
        })?;
        require_secure_url(&token_url)?;
        if self.credentials.secret.is_none()
            && !matches!(self.method, AuthMethod::Auto | AuthMethod::PrivateKeyJwt)
        {
            return Err(Error::InvalidInput {
                field: "client_secret",
                rule: "this authentication method needs a client secret",
            });
        }
        if self.method == AuthMethod::PrivateKeyJwt && self.credentials.private_key.is_none() {
            return Err(Error::InvalidInput {
                field: "private_key",
                rule: "private_key_jwt needs Credentials::with_private_key or Credentials::private_key",
            });
        }
        if self.method == AuthMethod::Auto
            && auto_candidates(&self.credentials, self.supported.as_deref()).is_empty()
        {
            return Err(Error::Discovery {
                reason: "the server supports no authentication method these credentials allow",
            });
        }
        if self.method == AuthMethod::BasicPlain && self.credentials.id.as_str().contains(':') {
            return Err(Error::InvalidInput {
                field: "client_id",
                rule: "contains ':', which plain Basic cannot carry; use BasicFormEncoded or ClientSecretPost",
            });
        }
        if self.default_lifetime.is_zero() {
            return Err(Error::InvalidInput {
                field: "default_lifetime",
                rule: "must be positive",
            });
        }
        let mut form = self.params;
        if let Some(scope) = &self.scope {
            form.insert(0, ("scope".to_owned(), scope.clone()));
        }
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        let shared = match self.shared_store {
            None => None,
            Some(store) => {
                // Tokens are sealed under a key derived from the secret: without one there is
                // nothing to seal them with, so they are not shared.
                let secret = self.credentials.secret.as_ref().ok_or(Error::InvalidInput {
                    field: "shared_store",
                    rule: "needs a client secret: shared tokens are sealed under a key derived from it",
                })?;
                let mut key = CacheKey::new("oauth")
                    .part("token_url", &token_url)
                    .part("client_id", self.credentials.id.as_str())
                    .part("auth_method", &format!("{:?}", self.method));
                for (name, value) in &form {
                    key = key.part(name, value);
                }
                Some(
                    SharedCache::new(
                        store,
                        &key,
                        secret.expose().as_bytes(),
                        self.margin,
                        Arc::clone(&clock),
                    )
                    .with_lease_ttl(self.lease_ttl),
                )
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http: self.http.build(),
                token_url,
                credentials: self.credentials,
                method: self.method,
                supported: self.supported,
                settled: Mutex::new(None),
                scope: self.scope,
                form,
                cell: Arc::new(CredentialCell::new(Arc::clone(&clock), self.margin)),
                shared,
                clock,
                default_lifetime: self.default_lifetime,
                retry: self.retry.default_deadline(self.http.timeout_value()),
            }),
            deadline: None,
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("token_url", &self.token_url.as_deref().map(redact_url))
            .field("client_id", &self.credentials.id)
            .field("auth_method", &self.method)
            .finish_non_exhaustive()
    }
}
