//! The NumCheck emulator: `POST /{lang}/init-call` and `POST /{lang}/get-call-info` with the
//! `X-AUTH-Token` secret, parameters in the query string, and a call lifecycle on the sandbox
//! clock.
//!
//! Errors follow the shape of NumCheck's success responses (`success`, `statusCode`,
//! `errorCode`, `message`). NumCheck publishes no list of error codes, so the sandbox's codes are
//! its own: see [`NumCheckEmulator`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::http::{Request, Response};
use crate::state::Shared;

/// The default service secret: 32 characters, as NumCheck issues them.
pub const DEFAULT_NUMCHECK_SECRET: &str = "sandbox-numcheck-secret-32-chars";

/// The numbers calls come from, in turn. Deterministic so tests can rely on them; the second
/// and fourth end in `0042`, whose code has leading zeros that a JSON number loses.
const CALLER_POOL: &[&str] = &[
    "37166004953",
    "79990000042",
    "4915112345678",
    "74950010042",
    "447700900123",
];

/// The first call id handed out (the vendor's example).
const FIRST_CALL_ID: u64 = 33168;

const ERROR_UNAUTHORIZED: i64 = 1;
const ERROR_INVALID_PHONE: i64 = 2;
const ERROR_INVALID_DESCRIPTION: i64 = 3;
const ERROR_UNKNOWN_CALL: i64 = 4;

/// The NumCheck emulator's settings and its control surface.
///
/// - A missing or wrong `X-AUTH-Token` gets HTTP 401 with `errorCode` 1.
/// - An invalid `phone` (not 8 to 15 digits) or `description` (over 64 characters) gets HTTP 400
///   with `success: false` and `errorCode` 2 or 3; nothing is placed.
/// - An unknown `callId` gets HTTP 404 with `errorCode` 4.
/// - A placed call is answered [`set_answer_after`](Self::set_answer_after) later (status 1), or
///   with [`set_never_answer`](Self::set_never_answer) stops ringing after the ring timeout
///   (status -1); until then its status is 0. Each placed call counts in
///   [`Counters::calls_placed`](crate::Counters::calls_placed).
pub struct NumCheckEmulator {
    settings: Mutex<Settings>,
    calls: Mutex<Calls>,
}

struct Settings {
    secret: String,
    answer_after: Duration,
    never_answer: bool,
    ring_timeout: Duration,
    fields_as_strings: bool,
    next_caller: Option<String>,
}

struct Calls {
    next_id: u64,
    pool_index: usize,
    placed: HashMap<u64, PlacedCall>,
}

struct PlacedCall {
    caller: String,
    placed_at: SystemTime,
    /// When the user picks up; `None` if they never do.
    answer_after: Option<Duration>,
    ring_timeout: Duration,
}

impl PlacedCall {
    fn status(&self, now: SystemTime) -> i64 {
        let elapsed = now.duration_since(self.placed_at).unwrap_or(Duration::ZERO);
        match self.answer_after {
            Some(after) if elapsed >= after => 1,
            _ if elapsed >= self.ring_timeout => -1,
            _ => 0,
        }
    }

    fn code(&self) -> &str {
        // The pool and `set_next_caller` only hold ASCII digit strings of 4 or more.
        &self.caller[self.caller.len().saturating_sub(4)..]
    }
}

impl Default for NumCheckEmulator {
    fn default() -> Self {
        NumCheckEmulator {
            settings: Mutex::new(Settings {
                secret: DEFAULT_NUMCHECK_SECRET.to_owned(),
                answer_after: Duration::from_secs(20),
                never_answer: false,
                ring_timeout: Duration::from_secs(60),
                fields_as_strings: false,
                next_caller: None,
            }),
            calls: Mutex::new(Calls {
                next_id: FIRST_CALL_ID,
                pool_index: 0,
                placed: HashMap::new(),
            }),
        }
    }
}

impl NumCheckEmulator {
    /// Sets the service secret expected in `X-AUTH-Token` (default
    /// [`DEFAULT_NUMCHECK_SECRET`]).
    pub fn set_secret(&self, secret: &str) {
        self.settings().secret = secret.to_owned();
    }

    /// Calls placed from now on are answered this long after they were placed, by the sandbox
    /// clock (default 20 s).
    pub fn set_answer_after(&self, delay: Duration) {
        self.settings().answer_after = delay;
    }

    /// Calls placed from now on are never answered: their status turns to -1 after the ring
    /// timeout.
    pub fn set_never_answer(&self, never: bool) {
        self.settings().never_answer = never;
    }

    /// How long an unanswered call rings before its status is -1 (default 60 s).
    pub fn set_ring_timeout(&self, timeout: Duration) {
        self.settings().ring_timeout = timeout;
    }

    /// Renders `callId`, `callerId` and `code` as JSON strings instead of numbers, as some
    /// integrations have seen them.
    pub fn set_fields_as_strings(&self, as_strings: bool) {
        self.settings().fields_as_strings = as_strings;
    }

    /// The next call comes from `caller` instead of the next number in the pool.
    /// A `caller` that is not 4 to 15 ASCII digits is ignored and the pool is used.
    pub fn set_next_caller(&self, caller: &str) {
        let valid = (4..=15).contains(&caller.len()) && caller.bytes().all(|b| b.is_ascii_digit());
        self.settings().next_caller = valid.then(|| caller.to_owned());
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn calls(&self) -> MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Nothing is counted on arrival: a call is counted when it is placed, which is what tests
    /// of init-call retries need to see.
    pub(crate) fn arrived(&self, _request: &Request, _path: &str, _shared: &Shared) {}

    /// Answers the requests on this emulator's routes; `None` for any other path.
    pub(crate) fn route(&self, request: &Request, path: &str, shared: &Shared) -> Option<Response> {
        let method = route_of(path)?;
        if request.method != "POST" {
            return Some(failure(405, 405, "use POST"));
        }
        // Lock order, everywhere: settings, then calls.
        let mut settings = self.settings();
        if request.header("x-auth-token") != Some(settings.secret.as_str()) {
            return Some(failure(
                401,
                ERROR_UNAUTHORIZED,
                "X-AUTH-Token is missing or wrong",
            ));
        }
        Some(match method {
            Method::InitCall => self.init_call(request, &mut settings, shared),
            Method::GetCallInfo => self.get_call_info(request, &settings, shared),
        })
    }

    fn init_call(&self, request: &Request, settings: &mut Settings, shared: &Shared) -> Response {
        let phone = request.query_param("phone").unwrap_or_default();
        if !(8..=15).contains(&phone.len()) || !phone.bytes().all(|b| b.is_ascii_digit()) {
            return failure(
                400,
                ERROR_INVALID_PHONE,
                "phone must be 8 to 15 digits, country code first",
            );
        }
        if let Some(description) = request.query_param("description")
            && description.chars().count() > 64
        {
            return failure(
                400,
                ERROR_INVALID_DESCRIPTION,
                "description must be at most 64 characters",
            );
        }
        let mut calls = self.calls();
        let caller = match settings.next_caller.take() {
            Some(caller) => caller,
            None => {
                let caller = CALLER_POOL[calls.pool_index % CALLER_POOL.len()];
                calls.pool_index += 1;
                caller.to_owned()
            }
        };
        let id = calls.next_id;
        calls.next_id += 1;
        let call = PlacedCall {
            caller,
            placed_at: shared.clock.now(),
            answer_after: (!settings.never_answer).then_some(settings.answer_after),
            ring_timeout: settings.ring_timeout,
        };
        let body = render(id, &call, None, settings.fields_as_strings);
        calls.placed.insert(id, call);
        shared.counters.call_placed();
        Response::json(200, &body)
    }

    fn get_call_info(&self, request: &Request, settings: &Settings, shared: &Shared) -> Response {
        let id = request
            .query_param("callId")
            .and_then(|id| id.trim().parse::<u64>().ok());
        let calls = self.calls();
        match id.and_then(|id| calls.placed.get(&id).map(|call| (id, call))) {
            Some((id, call)) => {
                let status = call.status(shared.clock.now());
                Response::json(
                    200,
                    &render(id, call, Some(status), settings.fields_as_strings),
                )
            }
            None => failure(404, ERROR_UNKNOWN_CALL, "unknown callId"),
        }
    }
}

enum Method {
    InitCall,
    GetCallInfo,
}

/// `/{lang}/init-call` or `/{lang}/get-call-info`, where `lang` is 2 to 8 ASCII letters.
fn route_of(path: &str) -> Option<Method> {
    let rest = path.strip_prefix('/')?;
    let (lang, method) = rest.split_once('/')?;
    if !(2..=8).contains(&lang.len()) || !lang.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    match method {
        "init-call" => Some(Method::InitCall),
        "get-call-info" => Some(Method::GetCallInfo),
        _ => None,
    }
}

fn render(id: u64, call: &PlacedCall, status: Option<i64>, as_strings: bool) -> Value {
    let mut body = if as_strings {
        json!({ "callId": id.to_string(), "callerId": call.caller, "code": call.code() })
    } else {
        // As NumCheck sends them: numbers, so a code of `0042` arrives as 42.
        let number = |digits: &str| digits.parse::<u64>().map_or(Value::Null, Value::from);
        json!({ "callId": id, "callerId": number(&call.caller), "code": number(call.code()) })
    };
    if let Some(status) = status {
        body["status"] = json!(status);
    }
    body["statusCode"] = json!(200);
    body["errorCode"] = json!(0);
    body["message"] = Value::Null;
    body["success"] = json!(true);
    body
}

fn failure(status: u16, error_code: i64, message: &str) -> Response {
    Response::json(
        status,
        &json!({
            "callId": null,
            "statusCode": status,
            "errorCode": error_code,
            "message": message,
            "success": false,
        }),
    )
}
