use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use payauth_core::{
    CredentialCell, Expiring, Http, HttpConfig, HttpRequest, HttpResponse, Idempotency,
    RetryPolicy, SharedClock, SystemClock, require_secure_url, status_verdict, transport_verdict,
};
use secrecy::ExposeSecret as _;

use crate::credentials::{AuthMethod, Credentials};
use crate::error::{Error, Result};
use crate::token::{AccessToken, TokenData, parse_error, parse_token};

/// Default refresh-ahead margin: a token is replaced 60 s before it expires.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime assumed when a token response has no `expires_in` (Pledg's tokens live 600 s).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// Pledg's environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// `https://staging.back.ecard.pledg.co` (some behaviours mocked by Pledg).
    PledgStaging,
    /// `https://back.ecard.pledg.co`.
    PledgProduction,
}

impl Environment {
    /// The API base URL, without a trailing slash.
    pub fn api_base(self) -> &'static str {
        match self {
            Environment::PledgStaging => "https://staging.back.ecard.pledg.co",
            Environment::PledgProduction => "https://back.ecard.pledg.co",
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
}

struct Inner {
    http: Http,
    token_url: String,
    credentials: Credentials,
    method: AuthMethod,
    form: Vec<(String, String)>,
    cell: CredentialCell<TokenData, Error>,
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
        }
    }

    /// A valid access token: the cached one, or a new one if it is missing, expired or inside
    /// the refresh margin (see [`payauth_core::CredentialCell`] for who fetches and who waits).
    ///
    /// # Errors
    /// The token endpoint's refusal ([`Error::OAuth`]), a transport failure, or an unusable
    /// response. Transport failures, 429 and 5xx are retried first with the client's
    /// [`RetryPolicy`]; a 4xx never is.
    pub fn bearer(&self) -> Result<AccessToken> {
        let inner = &self.inner;
        let data = inner.cell.get(|| inner.fetch())?;
        Ok(AccessToken { inner: data })
    }

    /// Drops `token` from the cache if it is still the current one; returns whether it did.
    /// Call it when the API rejects the token (HTTP 401) on a request you built yourself; many
    /// threads doing so at once cause one fetch.
    pub fn invalidate(&self, token: &AccessToken) -> bool {
        self.inner.cell.invalidate(&token.inner)
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
        let token = self.bearer()?;
        request.set_header("authorization", token.header_value());
        let response = self.inner.http.send(&request)?;
        if response.status() != 401 {
            return Ok(response);
        }
        self.invalidate(&token);
        let fresh = self.bearer()?;
        request.set_header("authorization", fresh.header_value());
        Ok(self.inner.http.send(&request)?)
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
}

impl Inner {
    fn fetch(&self) -> Result<Expiring<TokenData>> {
        let request = self.token_request();
        let response = self.retry.run(
            self.clock.as_ref(),
            |_| {
                let response = self.http.send(&request)?;
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
            },
        );
        let response = match response {
            Ok(response) => response,
            Err(Failure::Transport(e)) => return Err(Error::Transport(e)),
            Err(Failure::Status(r)) => return Err(parse_error(&r)),
        };
        let data = parse_token(&response, self.clock.now(), self.default_lifetime)?;
        let expires_at = data.expires_at;
        Ok(Expiring {
            value: data,
            expires_at,
        })
    }

    fn token_request(&self) -> HttpRequest {
        // Sized for the worst case (every byte percent-encoded), so the buffer holding the
        // client secret never reallocates and leaves a copy behind; the request wipes it on drop.
        let capacity = [("grant_type", "client_credentials")]
            .into_iter()
            .chain(self.form.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            .chain([
                ("client_id", self.credentials.id.as_str()),
                ("client_secret", self.credentials.secret.expose()),
            ])
            .map(|(name, value)| 3 * (name.len() + value.len()) + 2)
            .sum();
        let mut form = form_urlencoded::Serializer::new(String::with_capacity(capacity));
        form.append_pair("grant_type", "client_credentials");
        for (name, value) in &self.form {
            form.append_pair(name, value);
        }
        let mut request = HttpRequest::post(&self.token_url).header("accept", "application/json");
        match self.credentials.basic_header(self.method) {
            Some(header) => request = request.header("authorization", header.expose_secret()),
            None => {
                form.append_pair("client_id", self.credentials.id.as_str());
                form.append_pair("client_secret", self.credentials.secret.expose());
            }
        }
        request.body("application/x-www-form-urlencoded", form.finish())
    }
}

enum Failure {
    Transport(payauth_core::TransportError),
    // Boxed: a response is large next to a transport error, and this travels in every Result.
    Status(Box<HttpResponse>),
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
            .field("token_url", &self.inner.token_url)
            .field("client_id", &self.inner.credentials.id)
            .field("auth_method", &self.inner.method)
            .field("form_parameters", &form_names)
            .field("cache", &self.inner.cell)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`].
pub struct ClientBuilder {
    credentials: Credentials,
    token_url: Option<String>,
    method: AuthMethod,
    scope: Option<String>,
    params: Vec<(String, String)>,
    margin: Duration,
    default_lifetime: Duration,
    clock: Option<SharedClock>,
    http: HttpConfig,
    retry: RetryPolicy,
}

impl ClientBuilder {
    /// Uses a Pledg environment's token endpoint.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.token_url = Some(environment.token_url());
        self
    }

    /// Uses any RFC 6749 token endpoint (`https://`, or `http://` to loopback only).
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// How the client authenticates; default [`AuthMethod::BasicPlain`].
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.method = method;
        self
    }

    /// Requests this `scope`.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Adds a form parameter to token requests (`audience`, `resource`, ...).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Replace the token this long before it expires; default 60 s. Capped at half the token's
    /// lifetime.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Lifetime assumed when the server sends no `expires_in`; default 600 s.
    pub fn default_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_lifetime = lifetime;
        self
    }

    /// Retries of the token request (transport failures, 429, 5xx; never a 4xx). Default:
    /// [`RetryPolicy::default`]; [`RetryPolicy::never`] to fail fast.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Time allowed for each phase of an exchange (send, wait for the response, read it);
    /// default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.timeout(timeout);
        self
    }

    /// Time allowed to connect; default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.connect_timeout(timeout);
        self
    }

    /// Trusts this root certificate (DER) instead of the public roots (a private CA, the
    /// sandbox's test CA).
    pub fn trust_root(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.http = self.http.trust_root(der);
        self
    }

    /// The clock for token expiry and retry waits; default the system clock.
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
        if let Some(scope) = self.scope {
            form.insert(0, ("scope".to_owned(), scope));
        }
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        Ok(Client {
            inner: Arc::new(Inner {
                http: self.http.build(),
                token_url,
                credentials: self.credentials,
                method: self.method,
                form,
                cell: CredentialCell::new(Arc::clone(&clock), self.margin),
                clock,
                default_lifetime: self.default_lifetime,
                retry: self.retry,
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("token_url", &self.token_url)
            .field("client_id", &self.credentials.id)
            .field("auth_method", &self.method)
            .finish_non_exhaustive()
    }
}
