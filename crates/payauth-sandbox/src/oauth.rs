//! The client-credentials emulator: Pledg's `POST /api/token` and any RFC 6749 token endpoint,
//! a Bearer-protected and a Basic-protected resource, and the HS256-signed purchase link.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::http::{Request, Response};
use crate::state::Shared;

/// How a client's id and secret are encoded in its `Authorization: Basic` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicEncoding {
    /// RFC 7617: `base64(id ":" secret)`, nothing escaped (Pledg's own example).
    Plain,
    /// RFC 6749 §2.3.1: id and secret form-urlencoded first (strict OAuth servers).
    FormEncoded,
    /// As a certified OpenID provider does: form-decoded, and a `%` that does not start an
    /// escape is refused with `invalid_request` ("not properly encoded") before the secret is
    /// compared, so plain Basic of a secret with `%` or `+` fails.
    Strict,
    /// As authlib does: decoded with Python's `unquote`, which reads `%XX` escapes and leaves
    /// `+` (and a stray `%`) as they are, so a space must come as `%20`.
    Unquote,
}

/// How a client authenticates, besides its Basic encoding.
#[derive(Clone)]
enum ClientAuth {
    /// The secret, in a Basic header (per its encoding) or in the form body.
    Secret { basic: bool, post: bool },
    /// An HS256 assertion signed with the secret (RFC 7523 `client_secret_jwt`).
    SecretJwt,
    /// An RS256 assertion verified with this public key (RFC 7523 `private_key_jwt`).
    PrivateKeyJwt(rsa::PublicKey),
}

/// The private key of the sandbox's `private_key_jwt` test client (PEM PKCS#8, RSA-2048); the
/// sandbox verifies with its public half ([`OAuthClient::private_key_jwt`]).
pub const JWT_CLIENT_PRIVATE_KEY_PEM: &str = include_str!("../keys/jwt-client-key.pem");
/// The public half of [`JWT_CLIENT_PRIVATE_KEY_PEM`].
pub const JWT_CLIENT_PUBLIC_KEY_PEM: &str = include_str!("../keys/jwt-client-public.pem");

/// A client the token endpoint knows.
#[derive(Clone)]
pub struct OAuthClient {
    id: String,
    secret: String,
    encoding: BasicEncoding,
    auth: ClientAuth,
}

impl OAuthClient {
    /// A client whose Basic header is plain RFC 7617.
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        OAuthClient {
            id: id.into(),
            secret: secret.into(),
            encoding: BasicEncoding::Plain,
            auth: ClientAuth::Secret {
                basic: true,
                post: true,
            },
        }
    }

    /// Expects this client's Basic header in the RFC 6749 form-urlencoded form.
    #[must_use]
    pub fn form_encoded(mut self) -> Self {
        self.encoding = BasicEncoding::FormEncoded;
        self
    }

    /// Decodes this client's Basic header as a certified OpenID provider does
    /// ([`BasicEncoding::Strict`]).
    #[must_use]
    pub fn strict(mut self) -> Self {
        self.encoding = BasicEncoding::Strict;
        self
    }

    /// Decodes this client's Basic header with `unquote`, as authlib does
    /// ([`BasicEncoding::Unquote`]).
    #[must_use]
    pub fn unquote(mut self) -> Self {
        self.encoding = BasicEncoding::Unquote;
        self
    }

    /// Accepts this client's secret only in the form body (`client_secret_post`).
    #[must_use]
    pub fn post_only(mut self) -> Self {
        self.auth = ClientAuth::Secret {
            basic: false,
            post: true,
        };
        self
    }

    /// A client that authenticates only with HS256 assertions signed with `secret`
    /// (`client_secret_jwt`).
    pub fn client_secret_jwt(id: impl Into<String>, secret: impl Into<String>) -> Self {
        let mut client = OAuthClient::new(id, secret);
        client.auth = ClientAuth::SecretJwt;
        client
    }

    /// A client that authenticates only with RS256 assertions verified with this public key
    /// (PEM SPKI), such as [`JWT_CLIENT_PUBLIC_KEY_PEM`].
    ///
    /// # Panics
    /// When the PEM is not an RSA public key (sandbox set-up code).
    #[allow(clippy::expect_used)]
    pub fn private_key_jwt(id: impl Into<String>, public_key_pem: &str) -> Self {
        use rsa::pkcs8::DecodePublicKey as _;
        let key = rsa::PublicKey::from_public_key_pem(public_key_pem)
            .expect("an RSA public key in PEM SPKI form");
        let mut client = OAuthClient::new(id, String::new());
        client.auth = ClientAuth::PrivateKeyJwt(key);
        client
    }

    /// The client id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client secret (sandbox test material).
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("id", &self.id)
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

/// How `expires_in` appears in token responses: real servers disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresIn {
    /// `"expires_in": 600` (RFC 6749).
    Number,
    /// `"expires_in": "600"` (PayPal and others).
    String,
    /// No `expires_in` at all.
    Missing,
}

/// The client-credentials emulator's settings and its control surface.
pub struct OAuthEmulator {
    settings: Mutex<Settings>,
    tokens: Mutex<HashMap<String, Issued>>,
}

struct Settings {
    clients: Vec<OAuthClient>,
    lifetime: Duration,
    expires_in: ExpiresIn,
    token_type: String,
    dashboard: Vec<(String, String)>,
    signing_secret: String,
    client_credentials_grant: bool,
    /// The sandbox's own URL, for the token endpoint's audience and the discovery documents.
    base_url: String,
    discovery: Discovery,
    auth_methods_supported: Option<Vec<String>>,
    token_endpoint_override: Option<String>,
    /// Assertion ids seen, so a replayed assertion is refused.
    seen_jti: Vec<String>,
    /// What each successful token request authenticated with, oldest first.
    methods_used: Vec<&'static str>,
    /// Accepted client assertions, oldest first.
    assertions: Vec<String>,
}

/// Which discovery documents the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    /// Both RFC 8414 `/.well-known/oauth-authorization-server` and OpenID
    /// `/.well-known/openid-configuration` (the default).
    Both,
    /// Only the OpenID document, as many OpenID providers.
    OpenIdOnly,
    /// Neither.
    None,
}

struct Issued {
    client_id: String,
    /// The `scope` parameter of the token request, echoed by `/api/resource`.
    scope: Option<String>,
    expires_at: SystemTime,
}

/// The default client id.
pub const DEFAULT_CLIENT_ID: &str = "sandbox-client";
/// The default client secret; it contains every character the two Basic encodings disagree on.
pub const DEFAULT_CLIENT_SECRET: &str = "s3cr+t/=:%&ok";
/// The dashboard user of the vendor's Basic-auth example.
pub const DEFAULT_DASHBOARD_USER: (&str, &str) = ("random@domain.com", "john123");
/// The default secret for HS256-signed parameters.
pub const DEFAULT_SIGNING_SECRET: &str = "sandbox-signing-secret";

impl Default for OAuthEmulator {
    fn default() -> Self {
        OAuthEmulator {
            settings: Mutex::new(Settings {
                clients: vec![OAuthClient::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)],
                lifetime: Duration::from_secs(600),
                expires_in: ExpiresIn::Number,
                token_type: "Bearer".to_owned(),
                dashboard: vec![(
                    DEFAULT_DASHBOARD_USER.0.to_owned(),
                    DEFAULT_DASHBOARD_USER.1.to_owned(),
                )],
                signing_secret: DEFAULT_SIGNING_SECRET.to_owned(),
                client_credentials_grant: true,
                base_url: String::new(),
                discovery: Discovery::Both,
                auth_methods_supported: None,
                token_endpoint_override: None,
                seen_jti: Vec::new(),
                methods_used: Vec::new(),
                assertions: Vec::new(),
            }),
            tokens: Mutex::new(HashMap::new()),
        }
    }
}

impl OAuthEmulator {
    /// Adds a client the token endpoint accepts.
    pub fn add_client(&self, client: OAuthClient) {
        self.settings().clients.push(client);
    }

    /// Sets the lifetime of tokens issued from now on (default 600 s).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.settings().lifetime = lifetime;
    }

    /// Sets how `expires_in` is rendered (default a number).
    pub fn set_expires_in(&self, style: ExpiresIn) {
        self.settings().expires_in = style;
    }

    /// Sets the `token_type` text (default `Bearer`; try `bearer`).
    pub fn set_token_type(&self, token_type: &str) {
        self.settings().token_type = token_type.to_owned();
    }

    /// Sets the HS256 secret that signed parameters are verified with.
    pub fn set_signing_secret(&self, secret: &str) {
        self.settings().signing_secret = secret.to_owned();
    }

    /// Turns the client-credentials grant off or on: while off, token requests get
    /// `unsupported_grant_type`, as from a server that offers only other grants.
    pub fn set_client_credentials_grant(&self, enabled: bool) {
        self.settings().client_credentials_grant = enabled;
    }

    /// Which discovery documents are served (default both).
    pub fn set_discovery(&self, discovery: Discovery) {
        self.settings().discovery = discovery;
    }

    /// The `token_endpoint_auth_methods_supported` the discovery documents list; `None` (the
    /// default) lists all four the emulator takes.
    pub fn set_auth_methods_supported(&self, methods: Option<&[&str]>) {
        self.settings().auth_methods_supported =
            methods.map(|m| m.iter().map(|s| (*s).to_owned()).collect());
    }

    /// The `token_endpoint` the discovery documents give, instead of the sandbox's own (to
    /// test that a client refuses an insecure one).
    pub fn set_discovered_token_endpoint(&self, url: Option<&str>) {
        self.settings().token_endpoint_override = url.map(str::to_owned);
    }

    /// How each successful token request authenticated so far, oldest first:
    /// `client_secret_basic`, `client_secret_post`, `client_secret_jwt` or `private_key_jwt`.
    pub fn methods_used(&self) -> Vec<&'static str> {
        self.settings().methods_used.clone()
    }

    /// The client assertions accepted so far (compact JWTs), oldest first: for checking them
    /// with an independent verifier.
    pub fn assertions_accepted(&self) -> Vec<String> {
        self.settings().assertions.clone()
    }

    pub(crate) fn set_base_url(&self, url: String) {
        self.settings().base_url = url;
    }

    /// Forgets every issued token: the next API call with one gets a 401, as after a key
    /// rotation on the vendor's side.
    pub fn revoke_all_tokens(&self) {
        self.lock_tokens().clear();
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_tokens(&self) -> MutexGuard<'_, HashMap<String, Issued>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn route(&self, request: &Request, path: &str, shared: &Shared) -> Option<Response> {
        let response = match (request.method.as_str(), path) {
            ("POST", "/api/token") => self.token(request, shared),
            ("GET", "/api/resource") => self.bearer_resource(request, shared),
            ("GET", "/api/dashboard") => self.basic_resource(request),
            ("POST", "/api/purchase_link") => self.purchase_link(request, shared),
            ("GET", "/.well-known/oauth-authorization-server") => self.metadata(false),
            ("GET", "/.well-known/openid-configuration") => self.metadata(true),
            (_, "/api/token" | "/api/resource" | "/api/dashboard" | "/api/purchase_link") => {
                Response::json(405, &json!({ "error": "method_not_allowed" }))
            }
            _ => return None,
        };
        Some(response)
    }

    pub(crate) fn is_token_path(&self, path: &str) -> bool {
        path == "/api/token"
    }

    fn token(&self, request: &Request, shared: &Shared) -> Response {
        let form = request.form();
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut settings = self.settings();

        let basic = request.authorization("basic");
        let posted = field("client_id").zip(field("client_secret"));
        let assertion = field("client_assertion_type").zip(field("client_assertion"));
        let methods = [basic.is_some(), posted.is_some(), assertion.is_some()];
        if methods.iter().filter(|m| **m).count() > 1 {
            shared.counters.auth(false);
            return oauth_error(
                400,
                "invalid_request",
                "use one client authentication method, not two",
            );
        }
        let authenticated = if let Some(encoded) = basic {
            basic_client(&settings.clients, encoded).map(|c| c.map(|c| (c, "client_secret_basic")))
        } else if let Some((id, secret)) = posted {
            Ok(settings
                .clients
                .iter()
                .find(|c| {
                    c.id == id
                        && c.secret == secret
                        && matches!(c.auth, ClientAuth::Secret { post: true, .. })
                })
                .map(|c| (c, "client_secret_post")))
        } else if let Some((kind, jwt)) = assertion {
            let audience = format!("{}/api/token", settings.base_url);
            verify_assertion(
                &settings.clients,
                &settings.seen_jti,
                field("client_id"),
                kind,
                jwt,
                &audience,
                shared.clock.now(),
            )
        } else {
            Ok(None)
        };
        let client = match authenticated {
            Ok(client) => client,
            Err(description) => {
                shared.counters.auth(false);
                return oauth_error(400, "invalid_request", description);
            }
        };
        let Some((client, method)) = client else {
            shared.counters.auth(false);
            return oauth_error(401, "invalid_client", "client authentication failed")
                .header("WWW-Authenticate", "Basic realm=\"payauth-sandbox\"");
        };
        match field("grant_type") {
            Some("client_credentials") if settings.client_credentials_grant => {}
            Some(_) => {
                shared.counters.auth(false);
                return oauth_error(
                    400,
                    "unsupported_grant_type",
                    "only client_credentials is supported",
                );
            }
            None => {
                shared.counters.auth(false);
                return oauth_error(400, "invalid_request", "grant_type is required");
            }
        }

        let client_id = client.id.clone();
        if method.ends_with("_jwt") {
            let jwt = field("client_assertion").unwrap_or_default();
            if let Some(jti) = assertion_jti(jwt) {
                settings.seen_jti.push(jti);
            }
            settings.assertions.push(jwt.to_owned());
        }
        settings.methods_used.push(method);
        let token = random_token();
        let lifetime = settings.lifetime;
        self.lock_tokens().insert(
            token.clone(),
            Issued {
                client_id,
                scope: field("scope").map(str::to_owned),
                expires_at: shared.clock.now() + lifetime,
            },
        );
        shared.counters.auth(true);
        let mut body = json!({ "access_token": token, "token_type": settings.token_type });
        match settings.expires_in {
            ExpiresIn::Number => body["expires_in"] = json!(lifetime.as_secs()),
            ExpiresIn::String => body["expires_in"] = json!(lifetime.as_secs().to_string()),
            ExpiresIn::Missing => {}
        }
        Response::json(200, &body)
            .header("Cache-Control", "no-store")
            .header("Pragma", "no-cache")
    }

    /// RFC 8414 (`openid` false) or OpenID Connect Discovery metadata.
    fn metadata(&self, openid: bool) -> Response {
        let settings = self.settings();
        let served = match settings.discovery {
            Discovery::Both => true,
            Discovery::OpenIdOnly => openid,
            Discovery::None => false,
        };
        if !served {
            return Response::json(404, &json!({ "error": "not_found" }));
        }
        let base = &settings.base_url;
        let methods = settings.auth_methods_supported.clone().unwrap_or_else(|| {
            [
                "client_secret_basic",
                "client_secret_post",
                "client_secret_jwt",
                "private_key_jwt",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
        });
        let token_endpoint = settings
            .token_endpoint_override
            .clone()
            .unwrap_or_else(|| format!("{base}/api/token"));
        Response::json(
            200,
            &json!({
                "issuer": base,
                "token_endpoint": token_endpoint,
                "token_endpoint_auth_methods_supported": methods,
                "token_endpoint_auth_signing_alg_values_supported": ["HS256", "RS256"],
                "grant_types_supported": ["client_credentials"],
            }),
        )
    }

    fn bearer_resource(&self, request: &Request, shared: &Shared) -> Response {
        let challenge = |error: Option<&str>| {
            let value = match error {
                Some(e) => format!("Bearer realm=\"payauth-sandbox\", error=\"{e}\""),
                None => "Bearer realm=\"payauth-sandbox\"".to_owned(),
            };
            Response::json(401, &json!({ "error": error.unwrap_or("unauthorized") }))
                .header("WWW-Authenticate", value)
        };
        let Some(token) = request.authorization("bearer") else {
            return challenge(None);
        };
        let tokens = self.lock_tokens();
        match tokens.get(token) {
            Some(issued) if shared.clock.now() < issued.expires_at => Response::json(
                200,
                &json!({ "resource": "ok", "client_id": issued.client_id, "scope": issued.scope }),
            ),
            _ => challenge(Some("invalid_token")),
        }
    }

    fn basic_resource(&self, request: &Request) -> Response {
        let user = request
            .authorization("basic")
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|text| {
                let (email, password) = text.split_once(':')?;
                let settings = self.settings();
                settings
                    .dashboard
                    .iter()
                    .any(|(e, p)| e == email && p == password)
                    .then(|| email.to_owned())
            });
        match user {
            Some(email) => Response::json(200, &json!({ "user": email })),
            None => Response::json(401, &json!({ "error": "unauthorized" }))
                .header("WWW-Authenticate", "Basic realm=\"payauth-sandbox\""),
        }
    }

    fn purchase_link(&self, request: &Request, shared: &Shared) -> Response {
        let Some(jwt) = request.query_param("signature") else {
            return Response::json(400, &json!({ "error": "signature is required" }));
        };
        let secret = self.settings().signing_secret.clone();
        match verify_hs256(&jwt, secret.as_bytes(), shared.clock.now()) {
            Ok(payload) => {
                shared.counters.session_created();
                Response::json(
                    201,
                    &json!({ "purchase_link": "https://sandbox.invalid/purchase/1", "payload": payload }),
                )
            }
            Err(JwtError::Expired) => Response::json(401, &json!({ "error": "signature expired" })),
            Err(JwtError::Invalid(why)) => {
                Response::json(403, &json!({ "error": "invalid signature", "detail": why }))
            }
        }
    }
}

/// The client a Basic header names, `Ok(None)` when none matches, or `Err` with a description
/// for a header a strict server refuses as malformed.
fn basic_client<'a>(
    clients: &'a [OAuthClient],
    encoded: &str,
) -> Result<Option<&'a OAuthClient>, &'static str> {
    let Some(raw) = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
    else {
        return Ok(None);
    };
    let Some((id, secret)) = raw.split_once(':') else {
        return Ok(None);
    };
    let mut strict_refusal = None;
    let found = clients.iter().find(|client| {
        if !matches!(client.auth, ClientAuth::Secret { basic: true, .. }) {
            return false;
        }
        match client.encoding {
            BasicEncoding::Plain => client.id == id && client.secret == secret,
            BasicEncoding::FormEncoded => {
                form_decode(id).as_deref() == Some(client.id.as_str())
                    && form_decode(secret).as_deref() == Some(client.secret.as_str())
            }
            BasicEncoding::Strict => {
                let (Some(id), Some(secret)) = (strict_decode(id), strict_decode(secret)) else {
                    strict_refusal = Some("client credentials are not properly encoded");
                    return false;
                };
                client.id == id && client.secret == secret
            }
            BasicEncoding::Unquote => unquote(id) == client.id && unquote(secret) == client.secret,
        }
    });
    match (found, strict_refusal) {
        (Some(client), _) => Ok(Some(client)),
        (None, Some(refusal)) => Err(refusal),
        (None, None) => Ok(None),
    }
}

/// Form decoding that refuses a `%` not followed by two hex digits.
fn strict_decode(component: &str) -> Option<String> {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Python's `urllib.parse.unquote`: `%XX` decoded, anything else (`+`, a stray `%`) kept.
fn unquote(component: &str) -> String {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks an RFC 7523 client assertion: type, signature (HS256 with the client's secret or
/// RS256 with its public key), `iss` = `sub` = the client id (and `client_id`, when sent),
/// `aud` = the token endpoint, `exp` in the future and at most an hour ahead, a `jti` not seen
/// before.
fn verify_assertion<'a>(
    clients: &'a [OAuthClient],
    seen_jti: &[String],
    client_id: Option<&str>,
    kind: &str,
    jwt: &str,
    audience: &str,
    now: SystemTime,
) -> Result<Option<(&'a OAuthClient, &'static str)>, &'static str> {
    if kind != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return Err("client_assertion_type must be jwt-bearer");
    }
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("client_assertion is not a compact JWT");
    };
    let decode_json = |part: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let (Some(header_json), Some(claims), Ok(signature)) = (
        decode_json(header),
        decode_json(payload),
        URL_SAFE_NO_PAD.decode(signature),
    ) else {
        return Err("client_assertion is not base64url JSON");
    };
    let Some(iss) = claims["iss"].as_str() else {
        return Err("client_assertion has no iss");
    };
    if claims["sub"].as_str() != Some(iss) || client_id.is_some_and(|id| id != iss) {
        return Err("client_assertion: iss, sub and client_id must agree");
    }
    let Some(client) = clients.iter().find(|c| c.id == iss) else {
        return Ok(None);
    };
    let signing_input = format!("{header}.{payload}");
    let method = match (&client.auth, header_json["alg"].as_str()) {
        (ClientAuth::SecretJwt, Some("HS256")) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(client.secret.as_bytes())
                .map_err(|_| "bad secret")?;
            mac.update(signing_input.as_bytes());
            if mac.verify_slice(&signature).is_err() {
                return Ok(None);
            }
            "client_secret_jwt"
        }
        (ClientAuth::PrivateKeyJwt(key), Some("RS256")) => {
            use rsa::signature::Verifier as _;
            let verifying = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone());
            let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature.as_slice()) else {
                return Ok(None);
            };
            if verifying
                .verify(signing_input.as_bytes(), &signature)
                .is_err()
            {
                return Ok(None);
            }
            "private_key_jwt"
        }
        _ => return Ok(None),
    };
    let aud_ok = match &claims["aud"] {
        Value::String(aud) => aud == audience,
        Value::Array(list) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err("client_assertion: aud must be the token endpoint");
    }
    let Some(exp) = claims["exp"].as_u64() else {
        return Err("client_assertion has no exp");
    };
    let exp = UNIX_EPOCH + Duration::from_secs(exp);
    if exp <= now || exp > now + Duration::from_secs(3600) {
        return Err("client_assertion: exp must be in the coming hour");
    }
    match claims["jti"].as_str() {
        None => return Err("client_assertion has no jti"),
        Some(jti) if seen_jti.iter().any(|seen| seen == jti) => {
            return Err("client_assertion: jti was already used");
        }
        Some(_) => {}
    }
    Ok(Some((client, method)))
}

fn assertion_jti(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims["jti"].as_str().map(str::to_owned)
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(component: &str) -> Option<String> {
    if component.contains(['&', '=']) {
        return None;
    }
    let (key, _) = form_urlencoded::parse(component.as_bytes()).next()?;
    Some(key.into_owned())
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(
        status,
        &json!({
            "error": error,
            "error_description": description,
            "error_uri": "https://www.rfc-editor.org/rfc/rfc6749#section-5.2",
        }),
    )
    .header("Cache-Control", "no-store")
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    crate::random::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

enum JwtError {
    Expired,
    Invalid(&'static str),
}

fn verify_hs256(jwt: &str, secret: &[u8], now: SystemTime) -> Result<Value, JwtError> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Invalid("a JWT has three parts"));
    };
    let decode_json = |part: &str| -> Result<Value, JwtError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JwtError::Invalid("not base64url without padding"))?;
        serde_json::from_slice(&bytes).map_err(|_| JwtError::Invalid("not JSON"))
    };
    let header_json = decode_json(header)?;
    if header_json["alg"] != "HS256" {
        return Err(JwtError::Invalid("alg must be HS256"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Invalid("signature is not base64url"))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).map_err(|_| JwtError::Invalid("bad secret"))?;
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| JwtError::Invalid("signature mismatch"))?;
    let claims = decode_json(payload)?;
    if let Some(exp) = claims.get("exp") {
        let exp = exp
            .as_u64()
            .ok_or(JwtError::Invalid("exp must be a number"))?;
        if now >= UNIX_EPOCH + Duration::from_secs(exp) {
            return Err(JwtError::Expired);
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_basic_decodings() {
        // Certified provider: form decoding, a stray `%` refused.
        assert_eq!(strict_decode("a%2Bb+c").as_deref(), Some("a+b c"));
        assert_eq!(strict_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(strict_decode("50%"), None);
        assert_eq!(strict_decode("%zz"), None);
        // authlib's `unquote`: escapes decoded, `+` and a stray `%` kept.
        assert_eq!(unquote("a%2Bb+c"), "a+b+c");
        assert_eq!(unquote("a%20b"), "a b");
        assert_eq!(unquote("50%"), "50%");
        assert_eq!(unquote("%zz"), "%zz");
    }

    #[test]
    fn strict_clients_refuse_a_malformed_escape_as_invalid_request() {
        let clients = [OAuthClient::new("id", "p%zz").strict()];
        let header = STANDARD.encode("id:p%zz");
        assert!(basic_client(&clients, &header).is_err());
        let header = STANDARD.encode("id:p%25zz");
        assert!(basic_client(&clients, &header).unwrap().is_some());
        let jwt_only = [OAuthClient::client_secret_jwt("id", "s")];
        let header = STANDARD.encode("id:s");
        assert!(basic_client(&jwt_only, &header).unwrap().is_none());
    }
}
