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
}

/// A client the token endpoint knows.
#[derive(Clone)]
pub struct OAuthClient {
    id: String,
    secret: String,
    encoding: BasicEncoding,
}

impl OAuthClient {
    /// A client whose Basic header is plain RFC 7617.
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        OAuthClient {
            id: id.into(),
            secret: secret.into(),
            encoding: BasicEncoding::Plain,
        }
    }

    /// Expects this client's Basic header in the RFC 6749 form-urlencoded form.
    pub fn form_encoded(mut self) -> Self {
        self.encoding = BasicEncoding::FormEncoded;
        self
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
}

struct Issued {
    client_id: String,
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
        let settings = self.settings();

        let basic = request.authorization("basic");
        let posted = field("client_id").zip(field("client_secret"));
        let client = match (basic, posted) {
            (Some(_), Some(_)) => {
                shared.counters.auth(false);
                return oauth_error(
                    400,
                    "invalid_request",
                    "use one client authentication method, not two",
                );
            }
            (Some(encoded), None) => basic_client(&settings.clients, encoded),
            (None, Some((id, secret))) => settings
                .clients
                .iter()
                .find(|c| c.id == id && c.secret == secret),
            (None, None) => None,
        };
        let Some(client) = client else {
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

        let token = random_token();
        let lifetime = settings.lifetime;
        self.lock_tokens().insert(
            token.clone(),
            Issued {
                client_id: client.id.clone(),
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
                &json!({ "resource": "ok", "client_id": issued.client_id }),
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

fn basic_client<'a>(clients: &'a [OAuthClient], encoded: &str) -> Option<&'a OAuthClient> {
    let raw = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = raw.split_once(':')?;
    clients.iter().find(|client| match client.encoding {
        BasicEncoding::Plain => client.id == id && client.secret == secret,
        BasicEncoding::FormEncoded => {
            form_decode(id).as_deref() == Some(client.id.as_str())
                && form_decode(secret).as_deref() == Some(client.secret.as_str())
        }
    })
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
