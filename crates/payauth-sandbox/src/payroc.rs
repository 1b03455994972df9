//! The Payroc emulator: the identity service's `POST /authorize` and
//! `POST /v1/processing-terminals/{id}/hosted-fields-sessions`, with Bearer checks, idempotency
//! keys (replay of the original answer, 409 for a reused key) and RFC 7807 problem details.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::http::{Request, Response};
use crate::state::Shared;

/// The API key `/authorize` accepts by default (sandbox test material, not a secret).
pub const DEFAULT_PAYROC_API_KEY: &str = "sandbox-payroc-api-key-6f1c2a";

const AUTHORIZE: &str = "/authorize";
const TERMINALS: &str = "/v1/processing-terminals/";
const SESSIONS: &str = "/hosted-fields-sessions";
const ERRORS: &str = "https://docs.payroc.com/api/errors#";

/// The Payroc emulator's settings and its control surface.
pub struct PayrocEmulator {
    settings: Mutex<Settings>,
    tokens: Mutex<HashMap<String, SystemTime>>,
    /// Answers by idempotency key, kept for replay.
    answers: Mutex<HashMap<String, Stored>>,
    attempts: Mutex<Vec<SessionAttempt>>,
}

/// A session request the emulator answered (requests a fault kept from the emulator are not
/// seen): which idempotency key it carried and the status it got.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionAttempt {
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// The status answered (a replayed answer has the original's status).
    pub status: u16,
}

struct Settings {
    api_keys: Vec<String>,
    token_lifetime: Duration,
    session_lifetime: Duration,
    /// `expiresAt` offset from UTC in minutes; 0 renders `Z`.
    offset_minutes: i32,
    /// The `libVersion`s accepted; empty accepts any well-formed one.
    lib_versions: Vec<String>,
    next_session: u64,
    /// `token_type` in `/authorize` answers.
    token_type: String,
    /// Leave `expiresAt` out of created sessions.
    omit_expires_at: bool,
    /// The status of a created session: 201 as documented, 200 as some SDK fixtures answer.
    created_status: u16,
}

/// An answer to a session request, as first given for its idempotency key.
struct Stored {
    /// The request path and its JSON body in canonical form: what "the same request" means.
    fingerprint: String,
    status: u16,
    content_type: &'static str,
    location: Option<String>,
    body: Vec<u8>,
}

impl Default for PayrocEmulator {
    fn default() -> Self {
        PayrocEmulator {
            settings: Mutex::new(Settings {
                api_keys: vec![DEFAULT_PAYROC_API_KEY.to_owned()],
                token_lifetime: Duration::from_secs(3600),
                session_lifetime: Duration::from_secs(600),
                offset_minutes: 0,
                lib_versions: Vec::new(),
                next_session: 1,
                token_type: "Bearer".to_owned(),
                omit_expires_at: false,
                created_status: 201,
            }),
            tokens: Mutex::new(HashMap::new()),
            answers: Mutex::new(HashMap::new()),
            attempts: Mutex::new(Vec::new()),
        }
    }
}

impl PayrocEmulator {
    /// Adds an API key `/authorize` accepts.
    pub fn add_api_key(&self, key: &str) {
        self.settings().api_keys.push(key.to_owned());
    }

    /// Sets the lifetime of Bearer tokens issued from now on (default 3600 s).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.settings().token_lifetime = lifetime;
    }

    /// Renders `expiresAt` at this offset from UTC, in minutes (`120` gives
    /// `...T02:10:00.000+02:00`); 0, the default, gives `...T00:10:00Z`.
    pub fn set_expires_at_offset(&self, minutes: i32) {
        self.settings().offset_minutes = minutes.clamp(-23 * 60 - 59, 23 * 60 + 59);
    }

    /// Accepts only these `libVersion`s from now on, as Payroc accepts only released Hosted
    /// Fields versions ("Invalid libVersion" otherwise); an empty list, the default, accepts any
    /// well-formed version.
    pub fn set_lib_versions(&self, versions: &[&str]) {
        self.settings().lib_versions = versions.iter().map(|v| (*v).to_owned()).collect();
    }

    /// Sets the `token_type` of `/authorize` answers (default `Bearer`).
    pub fn set_token_type(&self, token_type: &str) {
        self.settings().token_type = token_type.to_owned();
    }

    /// Leaves `expiresAt` out of created sessions (it is optional in every SDK model).
    pub fn set_omit_expires_at(&self, omit: bool) {
        self.settings().omit_expires_at = omit;
    }

    /// Answers a created session with this status: 201 (the default, as documented) or 200.
    pub fn set_created_status(&self, status: u16) {
        self.settings().created_status = status;
    }

    /// Answers as the official SDKs' wire fixtures do: `"token_type": "token_type"` from
    /// `/authorize` (`wiremock/wiremock-mappings.json`, `tests/wire/mockAuth.ts`), and created
    /// sessions with HTTP 200 and no `expiresAt` (`src/Payroc.Test/Unit/MockServer/HostedFields/
    /// CreateTest.cs` in the .NET SDK).
    pub fn use_sdk_fixture_shapes(&self) {
        let mut settings = self.settings();
        settings.token_type = "token_type".to_owned();
        settings.omit_expires_at = true;
        settings.created_status = 200;
    }

    /// The session requests answered so far, oldest first.
    pub fn session_attempts(&self) -> Vec<SessionAttempt> {
        self.attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets every issued Bearer token: the next API call with one gets a 401, as after a key
    /// rotation on Payroc's side.
    pub fn revoke_all_tokens(&self) {
        self.lock_tokens().clear();
    }

    /// Makes every issued Bearer token expire now on the sandbox clock, while the client still
    /// believes it valid (a client clock behind the server's).
    pub fn expire_all_tokens(&self, now: SystemTime) {
        for expires_at in self.lock_tokens().values_mut() {
            *expires_at = now;
        }
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_tokens(&self) -> MutexGuard<'_, HashMap<String, SystemTime>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a request on arrival, before any fault (see `Shared::arrived`).
    pub(crate) fn arrived(&self, _request: &Request, path: &str, shared: &Shared) {
        if path == AUTHORIZE {
            shared.counters.token_request();
        }
    }

    /// Answers the requests on this emulator's routes; `None` for any other path.
    pub(crate) fn route(&self, request: &Request, path: &str, shared: &Shared) -> Option<Response> {
        if path == AUTHORIZE {
            return Some(match request.method.as_str() {
                "POST" => self.authorize(request, shared),
                _ => method_not_allowed(path),
            });
        }
        let terminal = path
            .strip_prefix(TERMINALS)?
            .strip_suffix(SESSIONS)
            .filter(|id| !id.contains('/'))?;
        let response = match request.method.as_str() {
            "POST" => self.create_session(request, path, terminal, shared),
            _ => method_not_allowed(path),
        };
        self.attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(SessionAttempt {
                idempotency_key: request.header("idempotency-key").map(str::to_owned),
                status: response.status,
            });
        Some(response)
    }

    fn authorize(&self, request: &Request, shared: &Shared) -> Response {
        let (lifetime, token_type) = {
            let settings = self.settings();
            let known = request
                .header("x-api-key")
                .is_some_and(|key| settings.api_keys.iter().any(|k| k == key));
            if !known {
                shared.counters.auth(false);
                return problem(
                    401,
                    "not-authorized",
                    "Not authorized",
                    "The API key is missing or not valid",
                    AUTHORIZE,
                );
            }
            (settings.token_lifetime, settings.token_type.clone())
        };
        let token = random_hex(32);
        self.lock_tokens()
            .insert(token.clone(), shared.clock.now() + lifetime);
        shared.counters.auth(true);
        Response::json(
            200,
            &json!({
                "access_token": token,
                "expires_in": lifetime.as_secs(),
                "scope": "hosted-fields payments",
                "token_type": token_type,
            }),
        )
        .header("Cache-Control", "no-store")
    }

    fn create_session(
        &self,
        request: &Request,
        path: &str,
        terminal: &str,
        shared: &Shared,
    ) -> Response {
        let now = shared.clock.now();
        let authorized = request.authorization("bearer").is_some_and(|token| {
            self.lock_tokens()
                .get(token)
                .is_some_and(|expires_at| now < *expires_at)
        });
        if !authorized {
            return problem(
                401,
                "not-authorized",
                "Not authorized",
                "The Bearer token is missing, expired or not valid",
                path,
            );
        }
        let Some(key) = request.header("idempotency-key") else {
            return problem(
                400,
                "idempotency-key-missing",
                "Idempotency key missing",
                "The Idempotency-Key header is required on POST",
                path,
            );
        };
        if !is_uuid(key) {
            let errors = [(
                "Idempotency-Key",
                "Invalid format",
                "The key must be a UUID",
            )];
            return Response::raw(400, PROBLEM, bad_request(path, &errors).to_string());
        }
        let body: Option<Value> = serde_json::from_slice(&request.body).ok();
        let canonical = body.as_ref().map_or_else(
            || String::from_utf8_lossy(&request.body).into_owned(),
            Value::to_string,
        );
        let fingerprint = format!("{path}\n{canonical}");

        // Held across the check and the store, so concurrent requests with one key create one
        // session.
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stored) = answers.get(key) {
            if stored.fingerprint == fingerprint {
                return stored.replay();
            }
            let href = stored.location.clone().unwrap_or_else(|| path.to_owned());
            let body = json!({
                "type": format!("{ERRORS}idempotency-key-in-use"),
                "title": "Idempotency key in use",
                "status": 409,
                "detail": "The idempotency key was used with a different request",
                "instance": path,
                "errors": [{
                    "parameter": "Idempotency-Key",
                    "detail": "Key in use",
                    "message": "Use a new idempotency key for a new request",
                }],
                "link": { "rel": "previous", "method": "get", "href": href },
            });
            return Response::raw(409, PROBLEM, body.to_string());
        }
        let json_content = request
            .header("content-type")
            .is_some_and(|t| t.trim_start().starts_with("application/json"));
        let stored = if json_content {
            self.validate_and_create(body.as_ref(), terminal, path, now, shared)
        } else {
            Stored::problem(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                "Send the body as application/json",
                path,
            )
        };
        let response = stored.replay();
        answers.insert(
            key.to_owned(),
            Stored {
                fingerprint,
                ..stored
            },
        );
        response
    }

    fn lib_version_accepted(&self, version: &str) -> bool {
        let settings = self.settings();
        is_lib_version(version)
            && (settings.lib_versions.is_empty()
                || settings.lib_versions.iter().any(|v| v == version))
    }

    fn validate_and_create(
        &self,
        body: Option<&Value>,
        terminal: &str,
        path: &str,
        now: SystemTime,
        shared: &Shared,
    ) -> Stored {
        let mut errors = Vec::new();
        let terminal_len = terminal.chars().count();
        if !(4..=50).contains(&terminal_len) {
            errors.push((
                "processingTerminalId",
                "Invalid length",
                "The processing terminal id must have 4 to 50 characters",
            ));
        }
        let empty = json!({});
        let body = match body {
            Some(body @ Value::Object(_)) => body,
            _ => {
                errors.push(("body", "Invalid format", "The body must be a JSON object"));
                &empty
            }
        };
        match body.get("libVersion") {
            None => errors.push((
                "libVersion",
                "Required",
                "The 'libVersion' field is required",
            )),
            Some(Value::String(v)) if self.lib_version_accepted(v) => {}
            Some(_) => errors.push(("libVersion", "Invalid format", "Invalid libVersion")),
        }
        let scenario = body.get("scenario").and_then(Value::as_str);
        match (body.get("scenario"), scenario) {
            (None, _) => errors.push(("scenario", "Required", "The 'scenario' field is required")),
            (_, Some("payment" | "tokenization")) => {}
            _ => errors.push((
                "scenario",
                "Invalid value",
                "The 'scenario' field must be 'payment' or 'tokenization'",
            )),
        }
        match body.get("secureTokenId") {
            None => {}
            Some(Value::String(id)) if !(1..=200).contains(&id.chars().count()) => errors.push((
                "secureTokenId",
                "Invalid length",
                "The 'secureTokenId' field must have 1 to 200 characters",
            )),
            Some(Value::String(_)) if scenario == Some("payment") => errors.push((
                "secureTokenId",
                "Not allowed",
                "The 'secureTokenId' field is allowed only with the tokenization scenario",
            )),
            Some(Value::String(_)) => {}
            Some(_) => errors.push((
                "secureTokenId",
                "Invalid format",
                "The 'secureTokenId' field must be a string",
            )),
        }
        if !errors.is_empty() {
            return Stored {
                fingerprint: String::new(),
                status: 400,
                content_type: PROBLEM,
                location: None,
                body: bad_request(path, &errors).to_string().into_bytes(),
            };
        }

        let (lifetime, offset, number, omit_expires_at, status) = {
            let mut settings = self.settings();
            let number = settings.next_session;
            settings.next_session += 1;
            (
                settings.session_lifetime,
                settings.offset_minutes,
                number,
                settings.omit_expires_at,
                settings.created_status,
            )
        };
        shared.counters.session_created();
        let mut body = json!({
            "processingTerminalId": terminal,
            "token": random_hex(16),
        });
        if !omit_expires_at {
            body["expiresAt"] = json!(iso8601(now + lifetime, offset));
        }
        Stored {
            fingerprint: String::new(),
            status,
            content_type: "application/json",
            location: Some(format!("{path}/{number}")),
            body: body.to_string().into_bytes(),
        }
    }
}

const PROBLEM: &str = "application/problem+json";

impl Stored {
    fn problem(status: u16, fragment: &str, title: &str, detail: &str, instance: &str) -> Self {
        Stored {
            fingerprint: String::new(),
            status,
            content_type: PROBLEM,
            location: None,
            body: problem_body(status, fragment, title, detail, instance)
                .to_string()
                .into_bytes(),
        }
    }

    /// The stored answer, with a new `X-Request-Id` (each request has its own id).
    fn replay(&self) -> Response {
        let response = Response::raw(self.status, self.content_type, self.body.clone())
            .header("X-Request-Id", random_hex(8));
        match &self.location {
            Some(location) => response.header("Location", location.as_str()),
            None => response,
        }
    }
}

fn problem_body(status: u16, fragment: &str, title: &str, detail: &str, instance: &str) -> Value {
    json!({
        "type": format!("{ERRORS}{fragment}"),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    })
}

fn problem(status: u16, fragment: &str, title: &str, detail: &str, instance: &str) -> Response {
    let body = problem_body(status, fragment, title, detail, instance);
    Response::raw(status, PROBLEM, body.to_string())
}

fn bad_request(instance: &str, errors: &[(&str, &str, &str)]) -> Value {
    let mut body = problem_body(
        400,
        "bad-request",
        "Bad request",
        "One or more validation errors occurred, see error section for more info",
        instance,
    );
    body["errors"] = errors
        .iter()
        .map(|(parameter, detail, message)| {
            json!({ "parameter": parameter, "detail": detail, "message": message })
        })
        .collect();
    body
}

fn method_not_allowed(path: &str) -> Response {
    problem(
        405,
        "method-not-allowed",
        "Method not allowed",
        "Use POST",
        path,
    )
}

fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    crate::random::fill(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// `8-4-4-4-12` hex digits. Payroc asks for a v4; what it does with another version is not
/// documented, so the emulator takes any UUID and refuses only what is not one.
fn is_uuid(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Four dot-separated groups of digits, like `1.7.0.261457`.
fn is_lib_version(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 10 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `at` as ISO 8601 with milliseconds: `Z` when `offset_minutes` is 0, else `±hh:mm` with the
/// local time at that offset (both forms appear in Payroc's examples).
fn iso8601(at: SystemTime, offset_minutes: i32) -> String {
    let utc = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let local = utc + i64::from(offset_minutes) * 60_000;
    let (days, ms_of_day) = (local.div_euclid(86_400_000), local.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let (secs, millis) = (ms_of_day / 1000, ms_of_day % 1000);
    let time = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if offset_minutes == 0 {
        format!("{time}Z")
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let abs = offset_minutes.unsigned_abs();
        format!("{time}{sign}{:02}:{:02}", abs / 60, abs % 60)
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in range by construction (day 1..=31, month 1..=12).
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_both_forms() {
        // 2026-01-01T00:00:00Z, the ManualClock's fixed start.
        let start = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        assert_eq!(
            iso8601(start + Duration::from_secs(600), 0),
            "2026-01-01T00:10:00.000Z"
        );
        assert_eq!(
            iso8601(start + Duration::from_millis(600_250), 120),
            "2026-01-01T02:10:00.250+02:00"
        );
        assert_eq!(iso8601(start, -330), "2025-12-31T18:30:00.000-05:30");
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_secs(951_782_400), 0),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn idempotency_keys_and_versions() {
        assert!(is_uuid("3b241101-e2bb-4255-8caf-4136c566a962"));
        assert!(is_uuid("3B241101-E2BB-4255-8CAF-4136C566A962"));
        assert!(is_uuid("3b241101-e2bb-1255-8caf-4136c566a962"));
        assert!(!is_uuid("idempotencyKey"));
        assert!(!is_uuid("3b241101e2bb42558caf4136c566a962"));
        assert!(is_lib_version("1.7.0.261457"));
        assert!(!is_lib_version("1.7"));
        assert!(!is_lib_version("1.7.0.x"));
        assert!(!is_lib_version("1.7.0.1.2"));
    }
}
