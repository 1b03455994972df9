use std::borrow::Cow;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::time::Duration;

use ureq::http;
use ureq::tls::TlsConfig;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{ConnectionDetails, Connector, DefaultConnector, Transport};
use zeroize::Zeroize as _;

use crate::deadline::Attempts;
use crate::scrub::Scrubber;
use crate::settings::{HttpSettings, proxy_label};

/// Default time to establish a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for each step of an exchange after connecting: each write of the request,
/// waiting for the response head, reading the response body.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on a response body: larger bodies are refused, not buffered.
pub const DEFAULT_BODY_LIMIT: u64 = 1 << 20;

/// How a client's HTTP agent is set up: the crate's `User-Agent`, its body limit and the user's
/// [`HttpSettings`]. The defaults are the safe ones.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    user_agent: String,
    body_limit: u64,
    settings: HttpSettings,
}

impl HttpConfig {
    /// Safe defaults and `user_agent` (by convention `<crate>/<version>`).
    pub fn new(user_agent: impl Into<String>) -> Self {
        HttpConfig {
            user_agent: user_agent.into(),
            body_limit: DEFAULT_BODY_LIMIT,
            settings: HttpSettings::default(),
        }
    }

    /// The user's network settings: timeouts, proxy, trust, client certificate, user-agent
    /// suffix.
    #[must_use]
    pub fn settings(mut self, settings: HttpSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Time allowed to connect (see [`HttpSettings::connect_timeout`]).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings = self.settings.connect_timeout(timeout);
        self
    }

    /// Time allowed for each step of an exchange (see [`HttpSettings::timeout`]).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings = self.settings.timeout(timeout);
        self
    }

    /// Largest response body accepted, in bytes; default 1 MiB.
    #[must_use]
    pub fn body_limit(mut self, bytes: u64) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The per-step timeout (see [`HttpSettings::timeout`]).
    pub fn timeout_value(&self) -> Duration {
        self.settings.timeout
    }

    /// The agent. Redirects are never followed (a redirect would carry credentials to another
    /// URL), and HTTP error statuses are returned as responses so their bodies can be parsed.
    ///
    /// Requests to loopback addresses never go through a proxy, whatever the settings or
    /// `HTTP_PROXY`, `HTTPS_PROXY` or `ALL_PROXY` say: plain HTTP is only allowed there, and a
    /// proxy would receive the credentials in clear text. Other requests use the settings'
    /// [`Proxy`](crate::Proxy), by default the one from the environment, read here.
    pub fn build(&self) -> Http {
        let proxy = self.settings.proxy.resolve();
        Http {
            agent: self.agent(proxy.clone()),
            loopback: self.agent(None),
            proxy,
            body_limit: self.body_limit,
        }
    }

    fn agent(&self, proxy: Option<ureq::Proxy>) -> ureq::Agent {
        let settings = &self.settings;
        let mut tls = TlsConfig::builder().root_certs(settings.trust.root_certs());
        if let Some(certificate) = &settings.client_certificate {
            tls = tls.client_cert(Some(certificate.ureq()));
        }
        let config = ureq::Agent::config_builder()
            .proxy(proxy)
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .save_redirect_history(false)
            .user_agent(settings.user_agent(&self.user_agent))
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_per_write(Some(settings.timeout))
            .timeout_recv_response(Some(settings.timeout))
            .timeout_recv_body(Some(settings.timeout))
            .tls_config(tls.build())
            .build();
        ureq::Agent::with_parts(
            config,
            PreSendConnector(DefaultConnector::new()),
            PreSendResolver(DefaultResolver::default()),
        )
    }
}

/// Wraps ureq's connector chain (TCP connect, proxy `CONNECT`, TLS handshake; ureq completes the
/// handshake before it returns the connection) so that every failure in it is marked as having
/// happened before the first byte of the request was written.
#[derive(Debug)]
struct PreSendConnector(DefaultConnector);

impl Connector<()> for PreSendConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        self.0.connect(details, chained).map_err(|error| {
            // The call's deadline (ureq's global timeout) ran out while connecting.
            let deadline = matches!(error, ureq::Error::Timeout(ureq::Timeout::Global));
            let (kind, detail) = classify(error);
            let kind = match kind {
                // A rustls error here is a handshake failure; anything else is a failed connect.
                TransportKind::Tls => TransportKind::Tls,
                TransportKind::InvalidRequest => TransportKind::InvalidRequest,
                _ if deadline => TransportKind::Timeout,
                _ => TransportKind::Connect,
            };
            ureq::Error::Io(io::Error::other(NotSent { kind, detail }))
        })
    }
}

/// Wraps ureq's resolver, which runs before the connector when no proxy is used: a name that
/// does not resolve is a connect failure before anything was sent, not an I/O error of the
/// exchange (getaddrinfo's errors reach ureq as uncategorised I/O errors).
#[derive(Debug)]
struct PreSendResolver(DefaultResolver);

impl Resolver for PreSendResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.0.resolve(uri, config, timeout).map_err(|error| {
            let (kind, detail) = match error {
                ureq::Error::Timeout(ureq::Timeout::Global) => {
                    (TransportKind::Timeout, "the call's deadline was reached")
                }
                ureq::Error::Timeout(_) => (TransportKind::Connect, "name resolution timed out"),
                _ => (TransportKind::Connect, "host not found"),
            };
            ureq::Error::Io(io::Error::other(NotSent {
                kind,
                detail: detail.to_owned(),
            }))
        })
    }
}

/// The marker [`PreSendConnector`] and [`PreSendResolver`] put around a failure before sending.
#[derive(Debug)]
struct NotSent {
    kind: TransportKind,
    detail: String,
}

impl fmt::Display for NotSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for NotSent {}

/// A configured HTTP agent: pooled connections, safe defaults. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    /// The same settings without any proxy, for loopback hosts.
    loopback: ureq::Agent,
    /// The proxy `agent` uses, to name it in errors.
    proxy: Option<ureq::Proxy>,
    body_limit: u64,
}

impl Http {
    /// Sends `request` and reads the whole response, up to the body limit. The response keeps
    /// the request's secrets (see [`HttpRequest::secret`]) so that its
    /// [`excerpt`](HttpResponse::excerpt) and [`server_text`](HttpResponse::server_text) never
    /// repeat them.
    ///
    /// # Errors
    /// [`TransportError`] for anything that is not an HTTP response: insecure URL, connection,
    /// timeout, TLS, a lost connection, an over-limit body. It names the host and the proxy the
    /// request went through, if any.
    pub fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.send_within(request, None)
    }

    /// [`send`](Self::send), the whole exchange (connecting included) bounded by `limit`.
    fn send_within(
        &self,
        request: &HttpRequest,
        limit: Option<Duration>,
    ) -> Result<HttpResponse, TransportError> {
        let uri = secure_uri(&request.url)?;
        let (agent, via) = if uri.host().is_some_and(is_loopback) {
            (&self.loopback, None)
        } else {
            let via = self.proxy.as_ref().filter(|proxy| !proxy.is_no_proxy(&uri));
            (&self.agent, via)
        };
        let place = |error: TransportError| error.at(&uri, via);
        let mut builder = http::Request::builder()
            .method(request.method.as_http())
            .uri(uri.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_ref(), value.as_str());
        }
        let built = builder.body(request.body.as_slice()).map_err(|_| {
            place(TransportError::new(
                TransportKind::InvalidRequest,
                "invalid header or URL",
            ))
        })?;
        let built = match limit {
            // Only a call with a deadline pays for ureq's re-armed socket timeouts.
            Some(limit) => agent
                .configure_request(built)
                .timeout_global(Some(limit))
                .build(),
            None => built,
        };
        let mut response = agent
            .run(built)
            .map_err(|e| place(TransportError::from_ureq(e)))?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let body = response
            .body_mut()
            .with_config()
            .limit(self.body_limit)
            .read_to_vec()
            .map_err(|e| place(TransportError::from_ureq(e)))?;
        Ok(HttpResponse {
            status,
            headers,
            body,
            secrets: request.secret_values(),
        })
    }

    /// [`send`](Self::send) as one attempt of a call that `attempts` follows across retries:
    /// once an attempt may have reached the server, a later failure that by itself would be
    /// "nothing was sent" is reported as may-have-reached too, so the error a retried call ends
    /// with is truthful about the whole call. A 429 answer counts as not acted on. When the call
    /// has a [`Deadline`](crate::Deadline), the attempt gets only the time left, and none is
    /// started once it has passed.
    ///
    /// # Errors
    /// As for [`send`](Self::send); [`TransportKind::Timeout`] when the call's deadline has
    /// passed or passes during the attempt.
    pub fn send_attempt(
        &self,
        request: &HttpRequest,
        attempts: &Attempts,
    ) -> Result<HttpResponse, TransportError> {
        let outcome = match attempts.remaining() {
            Some(left) if left.is_zero() => Err(TransportError::not_sent(
                TransportKind::Timeout,
                "the call's deadline passed before this attempt",
            )),
            limit => self.send_within(request, limit),
        };
        attempts.record(outcome)
    }

    /// The largest body [`send`](Self::send) accepts.
    pub fn body_limit(&self) -> u64 {
        self.body_limit
    }
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("proxy", &self.proxy.as_ref().map(proxy_label))
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

impl Method {
    fn as_http(self) -> http::Method {
        match self {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Delete => http::Method::DELETE,
        }
    }
}

/// A request that can be sent again unchanged (retries, a retry after a 401).
///
/// `Debug` shows the method, the URL without its query and the header names: header values
/// and query strings carry credentials (`Authorization`, `?signature=`), bodies carry secrets.
#[derive(Clone)]
pub struct HttpRequest {
    method: Method,
    url: String,
    // Names are nearly always literals: borrowed, not copied per request.
    headers: Vec<(Cow<'static, str>, String)>,
    body: Vec<u8>,
    secrets: Vec<String>,
}

impl HttpRequest {
    /// A request with no headers and an empty body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        HttpRequest {
            method,
            url: url.into(),
            headers: Vec::with_capacity(4),
            body: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// A GET request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A POST request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// Adds a header (a second one of the same name is added, not replaced).
    #[must_use]
    pub fn header(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a header whose value is a secret (an API key, a token): see [`secret`](Self::secret).
    #[must_use]
    pub fn secret_header(
        self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Self {
        let value = value.into();
        self.secret(value.clone()).header(name, value)
    }

    /// Declares a secret this request carries (in a header, the query or the body): text the
    /// server sends back is scrubbed of it, in every form it may have been sent or echoed, before
    /// an error keeps it (see [`Scrubber`]). The value of an `Authorization` header is always
    /// treated as a secret.
    #[must_use]
    pub fn secret(mut self, value: impl Into<String>) -> Self {
        self.secrets.push(value.into());
        self
    }

    /// The declared secrets and the `Authorization` value with its credential part. Only
    /// collected per request; the [`Scrubber`] is built when an error needs server text.
    fn secret_values(&self) -> Vec<String> {
        let mut secrets = self.secrets.clone();
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("authorization") {
                secrets.push(value.clone());
                if let Some((_, credential)) = value.split_once(' ') {
                    secrets.push(credential.trim().to_owned());
                }
            }
        }
        secrets
    }

    /// Sets or replaces the header `name` (case-insensitive).
    pub fn set_header(&mut self, name: &'static str, value: impl Into<String>) {
        // The replaced value may be a credential (a rejected Bearer token): wiped, not dropped.
        for (n, old) in &mut self.headers {
            if n.eq_ignore_ascii_case(name) {
                old.zeroize();
            }
        }
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((Cow::Borrowed(name), value.into()));
    }

    /// Sets the body and its `Content-Type`.
    #[must_use]
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.set_header("content-type", content_type);
        self.body = body.into();
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The URL (may carry credentials in its query: do not log it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The value of header `name` (case-insensitive), if set.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body bytes.
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }
}

/// Header values, the URL (`?signature=`) and the body carry credentials: their buffers are
/// wiped when the request is dropped.
impl Drop for HttpRequest {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl HttpRequest {
    fn wipe(&mut self) {
        self.url.zeroize();
        for (_, value) in &mut self.headers {
            value.zeroize();
        }
        self.body.zeroize();
        self.secrets.zeroize();
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = crate::redact_url(&self.url);
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_ref()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &url)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A complete response: status, headers and the body read up to the limit.
///
/// `Debug` shows the status, header names and the body's length: response bodies carry tokens.
#[derive(Clone)]
pub struct HttpResponse {
    status: u16,
    headers: http::HeaderMap,
    body: Vec<u8>,
    secrets: Vec<String>,
}

impl HttpResponse {
    /// A response built by hand (tests, adapters for other HTTP stacks).
    /// Headers whose name or value is not valid HTTP are left out.
    pub fn from_parts(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        let headers = headers
            .into_iter()
            .filter_map(|(name, value)| {
                let name = http::HeaderName::from_bytes(name.as_bytes()).ok()?;
                Some((name, http::HeaderValue::from_str(&value).ok()?))
            })
            .collect();
        HttpResponse {
            status,
            headers,
            body,
            secrets: Vec::new(),
        }
    }

    /// The same response, scrubbing `secret` from its excerpts too (tests, adapters).
    #[must_use]
    pub fn with_secret(mut self, secret: &str) -> Self {
        self.secrets.push(secret.to_owned());
        self
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (case-insensitive), if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// A bounded, printable excerpt of the body for error messages (see [`excerpt`]), scrubbed
    /// of the request's secrets before it is cut.
    pub fn excerpt(&self) -> String {
        let region = &self.body[..self.body.len().min(EXCERPT_CHARS * 4 + SCRUB_MARGIN)];
        let scrubbed = self.scrubber().scrub(&String::from_utf8_lossy(region));
        let mut cut = excerpt(scrubbed.as_bytes(), EXCERPT_CHARS);
        if self.body.len() > region.len() && !cut.ends_with('…') {
            cut.push('…');
        }
        cut
    }

    /// Server text taken from the body (an error message, a description) made fit for an error:
    /// scrubbed of the request's secrets, then cut to [`EXCERPT_CHARS`] printable characters.
    /// Every piece of server text a client keeps in an error goes through here or
    /// [`excerpt`](Self::excerpt).
    pub fn server_text(&self, text: &str) -> String {
        let region: String = text
            .chars()
            .take(EXCERPT_CHARS * 4 + SCRUB_MARGIN)
            .collect();
        let cut_early = region.len() < text.len();
        let scrubbed = self.scrubber().scrub(&region);
        let mut out = excerpt(scrubbed.as_bytes(), EXCERPT_CHARS);
        if cut_early && !out.ends_with('…') {
            out.push('…');
        }
        out
    }

    /// A scrubber for the secrets of the request this response answers.
    pub fn scrubber(&self) -> Scrubber {
        let mut scrubber = Scrubber::new();
        for secret in &self.secrets {
            scrubber.add(secret);
        }
        scrubber
    }
}

/// Response bodies carry tokens and session keys, and a response keeps copies of its request's
/// secrets for scrubbing: both are wiped when the response is dropped.
impl Drop for HttpResponse {
    fn drop(&mut self) {
        self.body.zeroize();
        self.secrets.zeroize();
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(http::HeaderName::as_str).collect();
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// How many characters of a body an error message keeps.
pub const EXCERPT_CHARS: usize = 200;
/// Extra bytes scrubbed beyond what an excerpt keeps, so a secret cut by the excerpt's end is
/// still recognised whole.
const SCRUB_MARGIN: usize = 1024;

/// The first `max_chars` characters of `body` as text: invalid UTF-8 replaced, control
/// characters shown as spaces, `…` appended when cut. Error messages use it for bodies that did
/// not parse, so a 50 MB HTML page from a proxy becomes one readable line.
pub fn excerpt(body: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max_chars * 4)]);
    let mut out: String = text
        .chars()
        .take(max_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > max_chars || body.len() > max_chars * 4 {
        out.push('…');
    }
    out
}

/// Refuses URLs that would send credentials in the clear or that carry credentials themselves:
/// only `https://`, or `http://` to a loopback address (`127.0.0.0/8`, `[::1]`, `localhost`), and
/// no `user:password@`.
///
/// # Errors
/// [`TransportKind::InsecureUrl`] or [`TransportKind::InvalidRequest`], naming the rule.
pub fn require_secure_url(url: &str) -> Result<(), TransportError> {
    secure_uri(url).map(drop)
}

fn secure_uri(url: &str) -> Result<http::Uri, TransportError> {
    let uri: http::Uri = url.parse().map_err(|_| {
        TransportError::new(TransportKind::InvalidRequest, "not a valid absolute URL")
    })?;
    let authority = uri
        .authority()
        .ok_or_else(|| TransportError::new(TransportKind::InvalidRequest, "the URL has no host"))?;
    if authority.as_str().contains('@') {
        return Err(TransportError::new(
            TransportKind::InsecureUrl,
            "credentials in the URL (user:password@) are refused; pass them to the client",
        ));
    }
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback(authority.host()) => Ok(uri),
        Some("http") => Err(TransportError::new(
            TransportKind::InsecureUrl,
            "plain http:// is allowed only to loopback addresses; use https://",
        )),
        _ => Err(TransportError::new(
            TransportKind::InvalidRequest,
            "the URL scheme must be https",
        )),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What kind of failure kept a request from producing an HTTP response. The kind describes the
/// failure; whether the request may have reached the server is decided by *when* it happened
/// ([`TransportError::may_have_reached_server`]), not by the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// The URL is not https (or loopback http), or carries credentials. Nothing was sent.
    InsecureUrl,
    /// The request could not be formed (bad URL or header). Nothing was sent.
    InvalidRequest,
    /// Name resolution, connecting or a proxy's `CONNECT` failed. Nothing reached the server.
    Connect,
    /// The exchange took longer than its timeout.
    Timeout,
    /// The connection was reset or closed mid-exchange.
    ConnectionLost,
    /// TLS failed: during the handshake (a refused certificate; nothing was sent) or afterwards
    /// (a corrupt record or a fatal alert while the response was read; the request was sent).
    Tls,
    /// The response body exceeded the limit. The server did process the request.
    BodyTooLarge,
    /// The server's response was not valid HTTP.
    Protocol,
    /// A setting cannot be used: a proxy URL, a CA certificate, a client certificate or key.
    /// Nothing was sent.
    InvalidSettings,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::InsecureUrl => "insecure URL",
            TransportKind::InvalidRequest => "invalid request",
            TransportKind::Connect => "connection failed",
            TransportKind::Timeout => "timed out",
            TransportKind::ConnectionLost => "connection lost",
            TransportKind::Tls => "TLS failure",
            TransportKind::BodyTooLarge => "response body too large",
            TransportKind::Protocol => "invalid HTTP response",
            TransportKind::InvalidSettings => "invalid network setting",
            TransportKind::Other => "transport error",
        })
    }
}

/// A request that produced no HTTP response. Its message names the host (`host:port`) and the
/// proxy (`scheme://host:port`) the request went through, and never contains the URL's path or
/// query (which may carry a signature), a proxy password, any header, or text the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    kind: TransportKind,
    detail: String,
    reached: bool,
    host: Option<String>,
    proxy: Option<String>,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)?;
        match (&self.host, &self.proxy) {
            (Some(host), Some(proxy)) => write!(f, " (to {host} through proxy {proxy})")?,
            (Some(host), None) => write!(f, " (to {host})")?,
            (None, Some(proxy)) => write!(f, " (through proxy {proxy})")?,
            (None, None) => {}
        }
        if !self.reached {
            f.write_str(" (nothing was sent)")?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {}

impl TransportError {
    /// A transport error of `kind` that happened after the request may have been written, except
    /// for [`TransportKind::InsecureUrl`], [`TransportKind::InvalidRequest`],
    /// [`TransportKind::InvalidSettings`] and [`TransportKind::Connect`], which can only happen
    /// before.
    pub fn new(kind: TransportKind, detail: impl Into<String>) -> Self {
        TransportError {
            kind,
            detail: detail.into(),
            reached: !matches!(
                kind,
                TransportKind::InsecureUrl
                    | TransportKind::InvalidRequest
                    | TransportKind::InvalidSettings
                    | TransportKind::Connect
            ),
            host: None,
            proxy: None,
        }
    }

    /// A transport error of `kind` known to have happened before the first byte of the request
    /// was written (a refused connection, a failed TLS handshake).
    pub fn not_sent(kind: TransportKind, detail: impl Into<String>) -> Self {
        TransportError {
            kind,
            detail: detail.into(),
            reached: false,
            host: None,
            proxy: None,
        }
    }

    /// The error of a call whose [`Deadline`](crate::Deadline) passed before it could send
    /// (`while_doing` says what it was doing, such as "waiting for a token"). Nothing was sent
    /// by this step.
    pub fn deadline_passed(while_doing: &str) -> Self {
        TransportError::not_sent(
            TransportKind::Timeout,
            format!("the call's deadline passed while {while_doing}"),
        )
    }

    /// Names where the request was going: the URI's `host:port` and the proxy, if any.
    fn at(mut self, uri: &http::Uri, proxy: Option<&ureq::Proxy>) -> Self {
        self.host = uri.authority().map(|authority| {
            let port = authority
                .port_u16()
                .unwrap_or(if uri.scheme_str() == Some("http") {
                    80
                } else {
                    443
                });
            format!("{}:{port}", authority.host())
        });
        self.proxy = proxy.map(proxy_label);
        self
    }

    /// The `host:port` the request was for, when it got as far as having one.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The proxy the request went through (`scheme://host:port`, without credentials), if any.
    pub fn proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
    }

    /// Marks the error as having happened after an earlier attempt of the same call may have
    /// reached the server.
    pub(crate) fn mark_reached(&mut self) {
        self.reached = true;
    }

    /// What went wrong.
    pub fn kind(&self) -> TransportKind {
        self.kind
    }

    /// Whether the server may have received and acted on the request. `false` only when the
    /// failure happened before the first byte of the request was written: the URL was refused,
    /// the name did not resolve, the connection (or a proxy's `CONNECT`) failed or timed out, or
    /// the TLS handshake failed. Every later failure, whatever its kind (a timeout, a reset, a
    /// TLS alert or corrupt record while reading the response), may have reached the server.
    /// Only when this is `false` is it safe to repeat a request that is not idempotent.
    pub fn may_have_reached_server(&self) -> bool {
        self.reached
    }

    /// Whether the same request may succeed if sent again later: connection failures, timeouts,
    /// lost connections and TLS failures; never a refused URL, an invalid request or an
    /// over-limit body. Whether it is *safe* to send again is
    /// [`may_have_reached_server`](Self::may_have_reached_server)'s question.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            TransportKind::Connect
                | TransportKind::Timeout
                | TransportKind::ConnectionLost
                | TransportKind::Tls
                | TransportKind::Protocol
        )
    }

    fn from_ureq(error: ureq::Error) -> Self {
        if let ureq::Error::Io(e) = &error
            && let Some(not_sent) = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<NotSent>())
        {
            return TransportError::not_sent(not_sent.kind, not_sent.detail.clone());
        }
        let (kind, detail) = classify(error);
        // Not from the connector: the request may have been written.
        TransportError {
            kind,
            detail,
            reached: !matches!(
                kind,
                TransportKind::InsecureUrl | TransportKind::InvalidRequest
            ),
            host: None,
            proxy: None,
        }
    }
}

/// The kind of a ureq error and a fixed or library-made message (never server text, a URL or a
/// header).
fn classify(error: ureq::Error) -> (TransportKind, String) {
    use ureq::Error as U;
    use ureq::Timeout as T;
    match error {
        U::HostNotFound => (TransportKind::Connect, "host not found".to_owned()),
        U::ConnectionFailed => (
            TransportKind::Connect,
            "connection refused or unreachable".to_owned(),
        ),
        U::Timeout(T::Resolve | T::Connect) => {
            (TransportKind::Connect, "connect timed out".to_owned())
        }
        // Only a call's deadline sets the global timeout.
        U::Timeout(T::Global) => (
            TransportKind::Timeout,
            "the call's deadline was reached".to_owned(),
        ),
        U::Timeout(which) => (TransportKind::Timeout, format!("{which} timeout reached")),
        U::Io(e) => (io_kind(&e), io_detail(&e)),
        U::BodyExceedsLimit(limit) => (
            TransportKind::BodyTooLarge,
            format!("over the {limit}-byte limit"),
        ),
        U::Tls(message) => (TransportKind::Tls, message.to_owned()),
        U::Rustls(e) => (TransportKind::Tls, rustls_detail(&e)),
        // ureq-proto's messages may quote what the server sent: keep the variant only.
        U::Protocol(_) => (
            TransportKind::Protocol,
            "malformed HTTP response".to_owned(),
        ),
        U::LargeResponseHeader(..) => (
            TransportKind::Protocol,
            "response headers too large".to_owned(),
        ),
        U::BodyStalled => (TransportKind::Timeout, "response body stalled".to_owned()),
        // Variants that can echo the URL (BadUri, RequireHttpsOnly) or are not expected
        // with this configuration get a fixed message.
        other => (TransportKind::Other, variant_name(&other)),
    }
}

fn io_kind(error: &io::Error) -> TransportKind {
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
    {
        return TransportKind::Tls;
    }
    match error.kind() {
        io::ErrorKind::ConnectionRefused | io::ErrorKind::AddrNotAvailable => {
            TransportKind::Connect
        }
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportKind::Timeout,
        io::ErrorKind::InvalidData => TransportKind::Protocol,
        _ => TransportKind::ConnectionLost,
    }
}

fn io_detail(error: &io::Error) -> String {
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(tls) => rustls_detail(tls),
        // The OS's description of the error kind, never a message built from peer data.
        None => error.kind().to_string(),
    }
}

fn rustls_detail(error: &rustls::Error) -> String {
    // rustls's messages name the failure (alert, certificate problem); they carry no peer text
    // beyond fixed enums, but keep them short anyway.
    error.to_string().chars().take(EXCERPT_CHARS).collect()
}

fn variant_name(error: &ureq::Error) -> String {
    let debug = format!("{error:?}");
    let name: String = debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("ureq error {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_request_wipes_url_header_values_and_body() {
        let mut request = HttpRequest::post("https://h/x?signature=SECRETSIG")
            .secret("SECRETDECLARED")
            .header("authorization", "Basic SECRETBASIC")
            .body(
                "application/x-www-form-urlencoded",
                "client_secret=SECRETFORM",
            );
        let clone = request.clone();
        // What `Drop` runs, observed before the memory is released.
        request.wipe();
        assert_eq!(request.url(), "");
        assert_eq!(request.header_value("authorization"), Some(""));
        assert!(request.body_bytes().is_empty());
        assert!(request.secret_values().iter().all(String::is_empty));
        // A clone owns its own buffers.
        assert_eq!(clone.body_bytes(), b"client_secret=SECRETFORM");
    }

    #[test]
    fn secure_urls() {
        for ok in [
            "https://back.ecard.pledg.co/api/token",
            "http://127.0.0.1:8080/api/token",
            "http://127.5.6.7/x",
            "http://localhost:1/x",
            "http://[::1]:9/x",
        ] {
            assert!(require_secure_url(ok).is_ok(), "{ok}");
        }
        for (bad, kind) in [
            (
                "http://back.ecard.pledg.co/api/token",
                TransportKind::InsecureUrl,
            ),
            ("http://10.0.0.1/x", TransportKind::InsecureUrl),
            ("http://localhost.evil.com/x", TransportKind::InsecureUrl),
            ("https://user:pass@host/x", TransportKind::InsecureUrl),
            ("ftp://host/x", TransportKind::InvalidRequest),
            ("/relative", TransportKind::InvalidRequest),
            ("not a url", TransportKind::InvalidRequest),
        ] {
            assert_eq!(require_secure_url(bad).unwrap_err().kind(), kind, "{bad}");
        }
    }

    #[test]
    fn insecure_url_error_does_not_echo_the_url() {
        let err = require_secure_url("http://example.com/p?signature=SECRETJWT").unwrap_err();
        assert!(!err.to_string().contains("SECRETJWT"));
    }

    #[test]
    fn debug_hides_header_values_query_and_body() {
        let request = HttpRequest::post("https://h/api/purchase_link/?signature=SECRETJWT")
            .header("Authorization", "Bearer SECRETTOKEN")
            .body("application/json", "{\"password\":\"SECRETPW\"}");
        let debug = format!("{request:?}");
        for secret in ["SECRETJWT", "SECRETTOKEN", "SECRETPW"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("Authorization"));
    }

    #[test]
    fn excerpts_are_bounded_and_printable() {
        assert_eq!(
            excerpt(b"<html>\r\n<h1>502</h1>", 200),
            "<html>  <h1>502</h1>"
        );
        let long = vec![b'x'; 10_000];
        let cut = excerpt(&long, 200);
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt(&[0xff, b'a'], 10), "\u{fffd}a");
    }

    #[test]
    fn only_failures_before_sending_are_not_sent() {
        assert!(!TransportError::new(TransportKind::Connect, "x").may_have_reached_server());
        assert!(TransportError::new(TransportKind::Tls, "x").may_have_reached_server());
        assert!(!TransportError::not_sent(TransportKind::Tls, "x").may_have_reached_server());
        assert!(TransportError::new(TransportKind::Timeout, "x").may_have_reached_server());
        assert!(TransportError::new(TransportKind::ConnectionLost, "x").may_have_reached_server());
    }

    #[test]
    fn excerpts_and_server_text_are_scrubbed_before_they_are_cut() {
        let key = "k3y-0123456789abcdefghijklmnop";
        let request = HttpRequest::post("https://h/x")
            .secret_header("x-api-key", key)
            .header("authorization", "Basic aWQ6c2VjcmV0LXNlY3JldC1zZWNyZXQ=");
        let body = format!(
            "{}{{\"echo\":\"{key}\",\"auth\":\"Basic aWQ6c2VjcmV0LXNlY3JldC1zZWNyZXQ=\"}}",
            "x".repeat(190)
        );
        let response = HttpResponse {
            status: 500,
            headers: http::HeaderMap::new(),
            body: body.into_bytes(),
            secrets: request.secret_values(),
        };
        let cut = response.excerpt();
        assert!(!cut.contains("k3y-0123"), "{cut}");
        let text = response.server_text(&format!("echo {key} and {}", &key[..20]));
        assert!(!text.contains("0123456789"), "{text}");
        assert!(
            !response
                .server_text("aWQ6c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
                .contains("c2Vj")
        );
        assert!(response.server_text(&"y".repeat(5000)).chars().count() <= EXCERPT_CHARS + 1);
    }
}
