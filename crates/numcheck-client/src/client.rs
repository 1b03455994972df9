use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use payauth_core::{
    Attempts, Deadline, Http, HttpConfig, HttpRequest, HttpResponse, HttpSettings, Idempotency,
    RetryPolicy, SharedClock, Stage, SystemClock, TransportError, Verdict, require_secure_url,
    status_verdict, transport_verdict,
};

use crate::call::{Call, CallStatus, failure, parse_call, parse_status, valid_call_id};
use crate::error::{Error, Result};
use crate::input::{Description, Phone, ServiceSecret};

/// NumCheck's API base URL, [`Environment::Production`]'s.
pub const DEFAULT_BASE_URL: &str = "https://api.numcheckapi.com";

/// NumCheck's environments: production only (tests use `payauth-sandbox`). Named and read like
/// the other crates' environments (`production` or `prod`; serde too), and required like them:
/// a client is built for an environment or a base URL, never by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "Stage", into = "Stage")]
#[non_exhaustive]
pub enum Environment {
    /// `https://api.numcheckapi.com`, every call paid.
    Production,
}

impl Environment {
    /// The API base URL, without a trailing slash.
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Production => DEFAULT_BASE_URL,
        }
    }
}

impl TryFrom<Stage> for Environment {
    type Error = Error;

    fn try_from(stage: Stage) -> Result<Self> {
        match stage {
            Stage::Production => Ok(Environment::Production),
            Stage::Test => Err(Error::InvalidInput {
                field: "environment",
                rule: "NumCheck has no test environment: use payauth-sandbox for tests",
            }),
        }
    }
}

impl From<Environment> for Stage {
    fn from(environment: Environment) -> Self {
        match environment {
            Environment::Production => Stage::Production,
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Stage::from(*self).fmt(f)
    }
}

impl std::str::FromStr for Environment {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let stage = text.parse::<Stage>().map_err(|_| Error::InvalidInput {
            field: "environment",
            rule: "must be production (or prod)",
        })?;
        Environment::try_from(stage)
    }
}
/// The language segment of NumCheck's URLs (`/ru/init-call`).
pub const DEFAULT_LANGUAGE: &str = "ru";
/// The first pause between two `get-call-info` polls; each next one doubles.
pub const DEFAULT_POLL_INITIAL: Duration = Duration::from_secs(1);
/// The longest pause between two `get-call-info` polls.
pub const DEFAULT_POLL_MAX: Duration = Duration::from_secs(5);

/// A NumCheck client. Cheap to clone (an `Arc`), `Send + Sync`: build one per service and share
/// it between threads.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Bounds every call made through this handle (see [`Client::with_deadline`]).
    deadline: Option<Deadline>,
}

struct Inner {
    http: Http,
    base_url: String,
    language: String,
    secret: ServiceSecret,
    clock: SharedClock,
    retry: RetryPolicy,
    poll_initial: Duration,
    poll_max: Duration,
}

impl Client {
    /// Starts a builder for the service with this secret.
    pub fn builder(secret: ServiceSecret) -> ClientBuilder {
        ClientBuilder {
            secret,
            base_url: None,
            language: DEFAULT_LANGUAGE.to_owned(),
            http: HttpConfig::new(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            )),
            clock: None,
            retry: RetryPolicy::default(),
            poll_initial: DEFAULT_POLL_INITIAL,
            poll_max: DEFAULT_POLL_MAX,
        }
    }

    /// This client with every call bounded by `deadline`, retries and waits included (for
    /// [`wait_for_call`](Self::wait_for_call): all its polls together): a cheap handle on the
    /// same client. A call that runs out of time ends with the last attempt's error, or
    /// [`Error::Transport`] of kind [`Timeout`](payauth_core::TransportKind::Timeout) when no
    /// attempt could start. An `init-call` the deadline cuts short may have been placed, and
    /// says so ([`Error::CallMayHaveBeenPlaced`]).
    #[must_use]
    pub fn with_deadline(&self, deadline: Deadline) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            deadline: Some(deadline),
        }
    }

    /// `init-call`: asks NumCheck to call `phone`. NumCheck bills every call placed.
    ///
    /// Retried only when the request provably never reached NumCheck (a failure before its first
    /// byte was written: name, connection or TLS handshake) or NumCheck refused it with 429; never
    /// after a timeout, a lost connection, a TLS failure while reading the answer or a 5xx, since
    /// the call may have been placed.
    ///
    /// # Errors
    /// [`Error::CallMayHaveBeenPlaced`] when that is unknown (do not call again automatically);
    /// [`Error::Api`] when NumCheck refused (invalid phone, no balance, ...);
    /// [`Error::Unauthorized`] for a wrong secret; [`Error::CodeMismatch`] when the code is not
    /// the caller number's last 4 digits; [`Error::Transport`] when nothing was sent;
    /// [`Error::InvalidResponse`] or [`Error::UnexpectedStatus`] otherwise.
    pub fn init_call(&self, phone: &Phone, description: Option<&Description>) -> Result<Call> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("phone", phone.as_str());
        if let Some(description) = description {
            query.append_pair("description", description.as_str());
        }
        let request = self
            .inner
            .request("init-call", &query.finish())
            .secret(phone.as_str());
        let attempts = Attempts::within(self.deadline);
        match self
            .inner
            .send(&request, Idempotency::NotIdempotent, &attempts)
        {
            Ok(response) => parse_call(&response),
            Err(Failure::RetryLater(r, retry_after)) => Err(Error::RetryLater {
                status: r.status(),
                retry_after,
                cause: Box::new(failure(&r)),
            }),
            Err(Failure::Transport(e)) if e.may_have_reached_server() => {
                Err(Error::CallMayHaveBeenPlaced {
                    cause: Box::new(Error::Transport(e)),
                })
            }
            Err(Failure::Transport(e)) => Err(Error::Transport(e)),
            // 429 means refused unprocessed; 408 and 5xx say nothing about what happened.
            Err(Failure::Status(r)) if r.status() == 429 => Err(failure(&r)),
            Err(Failure::Status(r)) => Err(Error::CallMayHaveBeenPlaced {
                cause: Box::new(failure(&r)),
            }),
        }
    }

    /// `get-call-info`: the call's status. Read-only, so transport failures, 408, 429 and 5xx
    /// are retried with the client's [`RetryPolicy`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed id; [`Error::Api`] for an unknown call;
    /// [`Error::Unauthorized`], [`Error::Transport`], [`Error::UnexpectedStatus`] or
    /// [`Error::InvalidResponse`] after the retries.
    pub fn call_status(&self, call_id: &str) -> Result<CallStatus> {
        self.call_status_within(call_id, &Attempts::within(self.deadline))
    }

    fn call_status_within(&self, call_id: &str, attempts: &Attempts) -> Result<CallStatus> {
        if !valid_call_id(call_id) {
            return Err(Error::InvalidInput {
                field: "call id",
                rule: "must be 1 to 64 visible ASCII characters",
            });
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("callId", call_id);
        let request = self.inner.request("get-call-info", &query.finish());
        match self.inner.send(&request, Idempotency::Idempotent, attempts) {
            Ok(response) => parse_status(&response),
            Err(Failure::RetryLater(r, retry_after)) => Err(Error::RetryLater {
                status: r.status(),
                retry_after,
                cause: Box::new(failure(&r)),
            }),
            Err(Failure::Transport(e)) => Err(Error::Transport(e)),
            Err(Failure::Status(r)) => Err(failure(&r)),
        }
    }

    /// Polls [`call_status`](Self::call_status) until the status is final
    /// ([`CallStatus::is_final`]) or `deadline` has passed by the client's clock, pausing 1 s,
    /// 2 s, 4 s, then 5 s between polls (see [`ClientBuilder::poll_backoff`]). The last poll
    /// happens at the deadline. `progress` sees every status polled; pass `|_| {}` to ignore
    /// them.
    ///
    /// An undocumented status ([`CallStatus::Unknown`]) is not final: polling goes on.
    ///
    /// # Errors
    /// [`Error::WaitDeadline`] with the last status when the deadline passes; any error of
    /// [`call_status`](Self::call_status) at once.
    pub fn wait_for_call(
        &self,
        call_id: &str,
        deadline: Duration,
        mut progress: impl FnMut(CallStatus),
    ) -> Result<CallStatus> {
        let clock = self.inner.clock.as_ref();
        let start = clock.now();
        let attempts = Attempts::within(self.deadline);
        let deadline = attempts
            .remaining()
            .map_or(deadline, |left| left.min(deadline));
        let mut pause = self.inner.poll_initial;
        loop {
            let status = self.call_status_within(call_id, &attempts)?;
            progress(status);
            if status.is_final() {
                return Ok(status);
            }
            let waited = clock.now().duration_since(start).unwrap_or(Duration::ZERO);
            if waited >= deadline {
                return Err(Error::WaitDeadline {
                    waited,
                    last: status,
                });
            }
            clock.sleep(pause.min(deadline - waited));
            pause = pause.saturating_mul(2).min(self.inner.poll_max);
        }
    }

    /// The time by the client's clock, for
    /// [`PendingVerification`](crate::PendingVerification).
    pub fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }
}

impl Inner {
    fn request(&self, method: &str, query: &str) -> HttpRequest {
        let url = format!("{}/{}/{method}?{query}", self.base_url, self.language);
        HttpRequest::post(url)
            .secret_header("x-auth-token", self.secret.expose())
            .header("accept", "application/json")
    }

    fn send(
        &self,
        request: &HttpRequest,
        idempotency: Idempotency,
        attempts: &Attempts,
    ) -> std::result::Result<HttpResponse, Failure> {
        attempts
            .bound(&self.retry)
            .execute(
                self.clock.as_ref(),
                |_| {
                    let response = self.http.send_attempt(request, attempts)?;
                    if matches!(response.status(), 408 | 429) || response.status() >= 500 {
                        // Kept as the error so the verdict can read `Retry-After`.
                        return Err(Failure::Status(Box::new(response)));
                    }
                    Ok(response)
                },
                |failure| match failure {
                    Failure::Transport(e) => transport_verdict(e, idempotency),
                    Failure::Status(r) => status_verdict(r, idempotency, self.clock.now()),
                    Failure::RetryLater(..) => Verdict::Stop,
                },
            )
            .map_err(|stopped| match (stopped.error, stopped.refused_wait) {
                (Failure::Status(r), Some(wait)) => Failure::RetryLater(r, wait),
                (error, _) => error,
            })
    }
}

enum Failure {
    Transport(TransportError),
    // Boxed: a response is large next to a transport error, and this travels in every Result.
    Status(Box<HttpResponse>),
    /// A response whose `Retry-After` asked for a wait past the call's deadline.
    RetryLater(Box<HttpResponse>, Duration),
}

impl From<TransportError> for Failure {
    fn from(e: TransportError) -> Self {
        Failure::Transport(e)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("language", &self.inner.language)
            .field("secret", &self.inner.secret)
            .field("retry", &self.inner.retry)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`].
pub struct ClientBuilder {
    secret: ServiceSecret,
    base_url: Option<String>,
    language: String,
    http: HttpConfig,
    clock: Option<SharedClock>,
    retry: RetryPolicy,
    poll_initial: Duration,
    poll_max: Duration,
}

impl ClientBuilder {
    /// Uses an environment's base URL. There is no default: an environment or a base URL must
    /// be set, as in every client of this workspace.
    #[must_use]
    pub fn environment(mut self, environment: Environment) -> Self {
        self.base_url = Some(environment.base_url().to_owned());
        self
    }

    /// The API base URL (`https://`, or `http://` to loopback only).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The language segment of the URLs; default `ru`.
    #[must_use]
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = language.into();
        self
    }

    /// Retries of the requests that may be retried (see [`Client::init_call`] and
    /// [`Client::call_status`]). Default: [`RetryPolicy::default`]; [`RetryPolicy::never`] to
    /// fail fast.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The first and the longest pause between polls in [`Client::wait_for_call`]; default 1 s
    /// doubling up to 5 s.
    #[must_use]
    pub fn poll_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.poll_initial = initial;
        self.poll_max = max.max(initial);
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

    /// The clock for polling, retry waits and [`Client::now`]; default the system clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds the client. Nothing is sent.
    ///
    /// # Errors
    /// [`Error::Transport`] for an insecure or malformed base URL; [`Error::InvalidInput`] for a
    /// base URL with a query, a language that is not 1 to 16 ASCII letters, digits or `-`, or a
    /// zero poll pause.
    pub fn build(self) -> Result<Client> {
        let base_url = self
            .base_url
            .ok_or(Error::InvalidInput {
                field: "environment",
                rule: "set an environment or a base URL (there is no default)",
            })?
            .trim_end_matches('/')
            .to_owned();
        require_secure_url(&base_url)?;
        if base_url.contains(['?', '#']) {
            return Err(Error::InvalidInput {
                field: "base_url",
                rule: "must not have a query or a fragment",
            });
        }
        let language = self.language;
        if !(1..=16).contains(&language.len())
            || !language
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Error::InvalidInput {
                field: "language",
                rule: "must be 1 to 16 ASCII letters, digits or '-'",
            });
        }
        if self.poll_initial.is_zero() {
            return Err(Error::InvalidInput {
                field: "poll_backoff",
                rule: "the pause between polls must be positive",
            });
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http: self.http.build(),
                base_url,
                language,
                secret: self.secret,
                clock: self.clock.unwrap_or_else(SystemClock::shared),
                retry: self.retry.default_deadline(self.http.timeout_value()),
                poll_initial: self.poll_initial,
                poll_max: self.poll_max,
            }),
            deadline: None,
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("language", &self.language)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}
