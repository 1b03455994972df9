use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use payauth_core::{
    Attempts, CacheKey, CredentialCell, DEFAULT_LEASE_TTL, Deadline, Expiring, Http, HttpConfig,
    HttpRequest, HttpResponse, HttpSettings, Idempotency, LogContext, RetryPolicy, SharedCache,
    SharedClock, SharedStore, Stage, Stopped, SystemClock, TransportError, redact_url,
    require_secure_url, status_verdict, transport_verdict,
};

use crate::error::{Error, Result};
use crate::problem::parse_problem;
use crate::request::{ApiKey, IdempotencyKey, LibVersion, SessionRequest};
use crate::session::{HostedFieldsSession, parse_session};
use crate::token::{BearerToken, TokenData, parse_token};

/// This crate's log target (see the README's "Logs").
const TARGET: &str = env!("CARGO_CRATE_NAME");

/// Default refresh-ahead margin: the Bearer token is replaced 120 s before it expires, as
/// Payroc's own SDKs do.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(120);

/// Payroc's environments. Test and production have different API keys and different Hosted
/// Fields library versions. Reads from configuration as `test` (or `uat`, `staging`) and
/// `production` (or `prod`): `"uat".parse()`, or serde.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(from = "Stage", into = "Stage")]
#[non_exhaustive]
pub enum Environment {
    /// Payroc's test environment (UAT).
    Test,
    /// Production.
    Production,
}

payauth_core::two_stage_environment!(Environment);

impl Environment {
    /// The identity service's token endpoint.
    pub fn identity_url(self) -> &'static str {
        match self {
            Environment::Test => "https://identity.uat.payroc.com/authorize",
            Environment::Production => "https://identity.payroc.com/authorize",
        }
    }

    /// The API base URL, without a trailing slash.
    pub fn api_base(self) -> &'static str {
        match self {
            Environment::Test => "https://api.uat.payroc.com/v1",
            Environment::Production => "https://api.payroc.com/v1",
        }
    }

    /// The Hosted Fields library version known to be current in this environment when this
    /// crate was released (UAT `1.7.0.261457`, production `1.7.0.261471`). Set your own with
    /// [`ClientBuilder::lib_version`] when your pages load another.
    pub fn lib_version(self) -> LibVersion {
        let version = match self {
            Environment::Test => "1.7.0.261457",
            Environment::Production => "1.7.0.261471",
        };
        LibVersion(version.to_owned())
    }
}

/// A Payroc client: one cached Bearer token for all threads, and Hosted Fields sessions created
/// exactly once per request however the network behaves. Cheap to clone (an `Arc`),
/// `Send + Sync`: build one per API key and share it.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Bounds every call made through this handle (see [`Client::with_deadline`]).
    deadline: Option<Deadline>,
}

struct Inner {
    http: Http,
    identity_url: String,
    api_base: String,
    lib_version: LibVersion,
    api_key: ApiKey,
    cell: Arc<CredentialCell<TokenData, Error>>,
    /// The fleet-wide layer behind the in-process cell, when a shared store is plugged in.
    shared: Option<SharedCache>,
    clock: SharedClock,
    retry: RetryPolicy,
}

impl Client {
    /// Starts a builder for `api_key`.
    pub fn builder(api_key: ApiKey) -> ClientBuilder {
        ClientBuilder {
            api_key,
            environment: None,
            identity_url: None,
            api_base: None,
            lib_version: None,
            margin: DEFAULT_REFRESH_MARGIN,
            clock: None,
            http: HttpSettings::default(),
            retry: RetryPolicy::default(),
            shared_store: None,
            lease_ttl: DEFAULT_LEASE_TTL,
        }
    }

    /// A valid Bearer token: the cached one, or a new one from `/authorize` when it is missing
    /// or expired. However many threads ask at once, one fetches. Inside the refresh margin the
    /// cached token is returned at once and a background thread replaces it, so no caller waits
    /// while a valid token exists (see
    /// [`CredentialCell::get_ahead`](payauth_core::CredentialCell::get_ahead)). With a
    /// [shared store](ClientBuilder::shared_store), one process of the fleet fetches for all.
    ///
    /// # Errors
    /// [`Error::Problem`] when the identity service refuses the key (`NotAuthorized`),
    /// [`Error::Transport`], or an unusable answer. Transport failures, 408, 429 and 5xx are
    /// retried first with the client's [`RetryPolicy`]; other statuses never are.
    pub fn bearer(&self) -> Result<BearerToken> {
        self.bearer_within(&Attempts::within(self.deadline))
    }

    /// This client with every call bounded by `deadline`, retries and waits included: a cheap
    /// handle on the same token cache. A call that runs out of time ends with the last
    /// attempt's error, or [`Error::Transport`] of kind
    /// [`Timeout`](payauth_core::TransportKind::Timeout) when no attempt could start.
    ///
    /// ```no_run
    /// # fn page(client: &payroc_hostedfields::Client, request: &payroc_hostedfields::SessionRequest)
    /// # -> payroc_hostedfields::Result<()> {
    /// use std::time::Duration;
    /// use payauth_core::Deadline;
    ///
    /// let session = client
    ///     .with_deadline(Deadline::within(Duration::from_secs(3)))
    ///     .create_session(request)?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_deadline(&self, deadline: Deadline) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            deadline: Some(deadline),
        }
    }

    /// [`bearer`](Self::bearer) as part of the call `attempts` follows: a token fetched for
    /// waiting callers is bounded by the call's time left.
    fn bearer_within(&self, attempts: &Attempts) -> Result<BearerToken> {
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
            || {
                Error::Transport(TransportError::deadline_passed(
                    "waiting for a Bearer token",
                ))
            },
        )?;
        Ok(BearerToken { inner: data })
    }

    /// Drops `token` from the cache if it is still the current one; returns whether it did.
    /// For a 401 on a request you sent yourself; [`create_session`](Self::create_session) does
    /// this on its own.
    pub fn invalidate(&self, token: &BearerToken) -> bool {
        let dropped = self.inner.cell.invalidate(&token.inner);
        if dropped && let Some(shared) = &self.inner.shared {
            shared.invalidate(&*token.inner);
        }
        dropped
    }

    /// Creates a Hosted Fields session token: `POST
    /// {api}/processing-terminals/{id}/hosted-fields-sessions`. Call it for every page load.
    ///
    /// One idempotency key (the request's, or a fresh UUID v4) is used for every attempt, so
    /// Payroc creates at most one session whatever is retried:
    /// - transport failures (connect, timeout, reset), 408, 429 (after `Retry-After`) and 5xx are
    ///   retried with the client's [`RetryPolicy`];
    /// - a 401 drops the cached Bearer token, fetches one new token and sends again, once;
    /// - a 409 (key in use with a different request) and any other 4xx are returned at once.
    ///
    /// # Errors
    /// [`Error::Problem`] with Payroc's problem details, [`Error::Transport`] when the last
    /// attempt got no answer, [`Error::UnexpectedResponse`], [`Error::InvalidResponse`],
    /// [`Error::RandomSource`] when no key could be made, and the errors of
    /// [`bearer`](Self::bearer).
    pub fn create_session(&self, request: &SessionRequest) -> Result<HostedFieldsSession> {
        let inner = &self.inner;
        let key = match request.idempotency_key {
            Some(key) => key,
            None => IdempotencyKey::generate()?,
        };
        let mut http_request = inner.session_request(request, key);
        let mut reauthorized = false;
        let attempts = Attempts::within(self.deadline);
        let outcome = attempts.bound(&inner.retry).execute_as(
            LogContext::new(TARGET, "session create"),
            inner.clock.as_ref(),
            |number| {
                if number > 1 {
                    // The key is not secret; it lets an operator match the attempts in Payroc's logs.
                    log::info!(
                        target: TARGET,
                        "session create: attempt {number} reuses idempotency key {key}"
                    );
                }
                self.send_authorized(&mut http_request, &mut reauthorized, &attempts)
            },
            |failure| match failure {
                // The idempotency key makes a repeat harmless: Payroc answers it with the
                // original result instead of acting again.
                Failure::Transport(e) => transport_verdict(e, Idempotency::Idempotent),
                Failure::Status(r) => status_verdict(r, Idempotency::Idempotent, inner.clock.now()),
                Failure::Final(_) => payauth_core::Verdict::Stop,
            },
        );
        match outcome {
            Ok(response) => parse_session(&response, &request.terminal, key, inner.clock.now()),
            Err(stopped) => Err(Failure::stopped(stopped)),
        }
    }

    /// One attempt: the cached token, and on the first 401 of this logical request one new
    /// token and one more send, at once (a rejected token is not a reason to back off).
    fn send_authorized(
        &self,
        request: &mut HttpRequest,
        reauthorized: &mut bool,
        attempts: &Attempts,
    ) -> std::result::Result<HttpResponse, Failure> {
        let mut token = self.bearer_within(attempts).map_err(Failure::Final)?;
        loop {
            request.set_header("authorization", token.header_value());
            let response = self.inner.http.send_attempt(request, attempts)?;
            if response.is_success() {
                return Ok(response);
            }
            if response.status() == 401 && !*reauthorized {
                *reauthorized = true;
                log::info!(
                    target: TARGET,
                    "session create: HTTP 401 with the cached bearer token; dropping it, fetching \
                     a new one and sending again with the same idempotency key"
                );
                self.invalidate(&token);
                token = self.bearer_within(attempts).map_err(Failure::Final)?;
                continue;
            }
            return Err(Failure::Status(Box::new(response)));
        }
    }

    /// The HTTP agent, for other Payroc requests you build yourself (with
    /// [`bearer`](Self::bearer)).
    pub fn http(&self) -> &Http {
        &self.inner.http
    }

    /// The API base URL the client uses, without a trailing slash.
    pub fn api_base(&self) -> &str {
        &self.inner.api_base
    }

    /// The `libVersion` sent when a request names none.
    pub fn lib_version(&self) -> &LibVersion {
        &self.inner.lib_version
    }
}

impl Inner {
    /// A new token: through the shared store when there is one, else from `/authorize`.
    fn refresh(&self, ahead: bool, deadline: Option<Deadline>) -> Result<Expiring<TokenData>> {
        let attempts = Attempts::within(deadline);
        let Some(shared) = &self.shared else {
            return self.fetch_token(&attempts);
        };
        let fresh =
            shared.fetch_within(ahead, attempts.remaining(), || self.fetch_token(&attempts))?;
        Ok(Expiring {
            value: fresh.value.with_expiry(fresh.expires_at),
            expires_at: fresh.expires_at,
        })
    }

    fn fetch_token(&self, attempts: &Attempts) -> Result<Expiring<TokenData>> {
        // No body: the key is the whole request.
        let request = HttpRequest::post(&self.identity_url)
            .header("accept", "application/json")
            .secret_header("x-api-key", self.api_key.expose());
        let response = attempts.bound(&self.retry).execute_as(
            LogContext::new(TARGET, "bearer token request"),
            self.clock.as_ref(),
            |_| {
                let response = self.http.send_attempt(&request, attempts)?;
                if response.is_success() {
                    Ok(response)
                } else {
                    Err(Failure::Status(Box::new(response)))
                }
            },
            |failure| match failure {
                // Asking for a token twice is harmless.
                Failure::Transport(e) => transport_verdict(e, Idempotency::Idempotent),
                Failure::Status(r) => status_verdict(r, Idempotency::Idempotent, self.clock.now()),
                Failure::Final(_) => payauth_core::Verdict::Stop,
            },
        );
        let response = response.map_err(Failure::stopped)?;
        let data = parse_token(&response, self.clock.now())?;
        let expires_at = data.expires_at;
        Ok(Expiring {
            value: data,
            expires_at,
        })
    }

    fn session_request(&self, request: &SessionRequest, key: IdempotencyKey) -> HttpRequest {
        let lib_version = request.lib_version.as_ref().unwrap_or(&self.lib_version);
        // Written directly, each value JSON-escaped into one buffer: the order of members stays
        // fixed, and a page load costs one allocation for the body.
        let mut body = Vec::with_capacity(128);
        body.extend_from_slice(br#"{"libVersion":"#);
        json_string(&mut body, lib_version.as_str());
        body.extend_from_slice(br#","scenario":"#);
        json_string(&mut body, request.scenario.as_str());
        if let Some(id) = &request.secure_token_id {
            body.extend_from_slice(br#","secureTokenId":"#);
            json_string(&mut body, id.as_str());
        }
        body.push(b'}');
        let url = format!(
            "{}/processing-terminals/{}/hosted-fields-sessions",
            self.api_base, request.terminal
        );
        HttpRequest::post(url)
            .header("accept", "application/json")
            .header("idempotency-key", key.to_string())
            .body("application/json", body)
    }
}

/// Appends `value` as a JSON string. Writing to a `Vec` cannot fail.
fn json_string(out: &mut Vec<u8>, value: &str) {
    let _ = serde_json::to_writer(out, value);
}

/// Why an attempt did not produce a success, kept whole so the retry verdict can read the
/// status and `Retry-After`.
enum Failure {
    Transport(TransportError),
    // Boxed: a response is large next to the other variants, and this travels in every Result.
    Status(Box<HttpResponse>),
    /// Not retried here: a token fetch that already ran its own retries.
    Final(Error),
}

impl Failure {
    /// The error for a retry loop that gave up: [`Error::RetryLater`] when the server asked for
    /// a wait past the deadline.
    fn stopped(stopped: Stopped<Failure>) -> Error {
        match (stopped.error, stopped.refused_wait) {
            (Failure::Status(response), Some(retry_after)) => Error::RetryLater {
                status: response.status(),
                retry_after,
                cause: Box::new(parse_problem(&response)),
            },
            (failure, _) => failure.into_error(),
        }
    }

    fn into_error(self) -> Error {
        match self {
            Failure::Transport(e) => Error::Transport(e),
            Failure::Status(response) => parse_problem(&response),
            Failure::Final(e) => e,
        }
    }
}

impl From<TransportError> for Failure {
    fn from(e: TransportError) -> Self {
        Failure::Transport(e)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("identity_url", &redact_url(&self.inner.identity_url))
            .field("api_base", &redact_url(&self.inner.api_base))
            .field("lib_version", &self.inner.lib_version)
            .field("api_key", &self.inner.api_key)
            .field("cache", &self.inner.cell)
            .field("shared", &self.inner.shared)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`].
pub struct ClientBuilder {
    api_key: ApiKey,
    environment: Option<Environment>,
    identity_url: Option<String>,
    api_base: Option<String>,
    lib_version: Option<LibVersion>,
    margin: Duration,
    clock: Option<SharedClock>,
    http: HttpSettings,
    retry: RetryPolicy,
    shared_store: Option<Arc<dyn SharedStore>>,
    lease_ttl: Duration,
}

impl ClientBuilder {
    /// Shares the Bearer token with every process using the same store
    /// (`payauth_redis::RedisStore`, say), the same identity URL and the same API key. The
    /// in-process cache stays in front, so a cached [`Client::bearer`] never touches the store.
    /// What is stored is the Bearer token alone, sealed with ChaCha20-Poly1305 under a key
    /// derived from the API key; the API key itself is never stored. When the store is
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

    /// Uses an environment's identity URL, API base and current `libVersion`. Any of them can
    /// still be overridden.
    #[must_use]
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Uses this token endpoint (`https://`, or `http://` to loopback only), such as
    /// `https://identity.uat.payroc.com/authorize`.
    #[must_use]
    pub fn identity_url(mut self, url: impl Into<String>) -> Self {
        self.identity_url = Some(url.into());
        self
    }

    /// Uses this API base (`https://`, or `http://` to loopback only), such as
    /// `https://api.uat.payroc.com/v1`. A trailing slash is ignored.
    #[must_use]
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = Some(url.into());
        self
    }

    /// The `libVersion` sent when a request names none; default the environment's.
    #[must_use]
    pub fn lib_version(mut self, version: LibVersion) -> Self {
        self.lib_version = Some(version);
        self
    }

    /// Replace the Bearer token this long before it expires; default 120 s. Capped at half the
    /// token's lifetime.
    #[must_use]
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Retries of token and session requests (transport failures, 408, 429, 5xx; never another
    /// 4xx). Default: [`RetryPolicy::default`] (3 attempts); [`RetryPolicy::never`] to fail
    /// fast. The one new token after a 401 is not counted as a retry.
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
        self.http = settings;
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
    /// [`Error::InvalidInput`] when an identity URL, API base or `libVersion` is neither set
    /// nor given by an environment; [`Error::Transport`] for an insecure or malformed URL.
    pub fn build(self) -> Result<Client> {
        let env = self.environment;
        let identity_url = self
            .identity_url
            .or_else(|| env.map(|e| e.identity_url().to_owned()))
            .ok_or(Error::InvalidInput {
                field: "identity_url",
                rule: "set an environment or an identity URL",
            })?;
        let api_base = self
            .api_base
            .or_else(|| env.map(|e| e.api_base().to_owned()))
            .ok_or(Error::InvalidInput {
                field: "api_base",
                rule: "set an environment or an API base URL",
            })?;
        let api_base = api_base.trim_end_matches('/').to_owned();
        let lib_version = self
            .lib_version
            .or_else(|| env.map(Environment::lib_version))
            .ok_or(Error::InvalidInput {
                field: "lib_version",
                rule: "set an environment or a default libVersion",
            })?;
        require_secure_url(&identity_url)?;
        require_secure_url(&api_base)?;
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        let shared = self.shared_store.map(|store| {
            // The API key decides the token: two keys never share one (and the key itself
            // never reaches the store, only a one-way derivation of it).
            let key = CacheKey::new("payroc")
                .part("identity_url", &identity_url)
                .secret_part("api_key", self.api_key.expose().as_bytes());
            SharedCache::new(
                store,
                &key,
                self.api_key.expose().as_bytes(),
                self.margin,
                Arc::clone(&clock),
            )
            .with_lease_ttl(self.lease_ttl)
        });
        Ok(Client {
            inner: Arc::new(Inner {
                http: HttpConfig::new(concat!(
                    env!("CARGO_PKG_NAME"),
                    "/",
                    env!("CARGO_PKG_VERSION")
                ))
                .settings(self.http.clone())
                .build(),
                identity_url,
                api_base,
                lib_version,
                api_key: self.api_key,
                cell: Arc::new(
                    CredentialCell::new(Arc::clone(&clock), self.margin)
                        .with_log(LogContext::new(TARGET, "bearer token")),
                ),
                shared,
                clock,
                retry: self.retry.default_deadline(self.http.timeout_value()),
            }),
            deadline: None,
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("environment", &self.environment)
            .field(
                "identity_url",
                &self.identity_url.as_deref().map(redact_url),
            )
            .field("api_base", &self.api_base.as_deref().map(redact_url))
            .field("lib_version", &self.lib_version)
            .field("api_key", &self.api_key)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_secure() {
        for environment in [Environment::Test, Environment::Production] {
            let version = environment.lib_version();
            assert_eq!(LibVersion::new(version.as_str()).unwrap(), version);
            require_secure_url(environment.identity_url()).unwrap();
            require_secure_url(environment.api_base()).unwrap();
            assert!(!environment.api_base().ends_with('/'));
        }
        assert_ne!(
            Environment::Test.lib_version(),
            Environment::Production.lib_version()
        );
    }
}
