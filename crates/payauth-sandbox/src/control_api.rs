//! The control API under `/_sandbox/`, the adjustable clock behind it, and the request log.
//!
//! Tests written in any language drive a running sandbox over HTTP with it: move the clock, script
//! a fault, read the counters, unlock EasyPay IPs, steer NumCheck calls, reset.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use payauth_core::{Clock, SharedClock};
use serde_json::{Value, json};

use crate::faults::Fault;
use crate::http::{Request, Response};
use crate::state::Shared;

/// The reserved path prefix of the control API. No vendor route starts with it.
pub const CONTROL_PREFIX: &str = "/_sandbox";

/// The longest real-time delay a fault may ask for over the control API.
const MAX_FAULT_DELAY: Duration = Duration::from_secs(600);

/// The sandbox's clock: its source clock (the system clock, or the clock given to the builder)
/// moved by an offset the control API sets.
pub(crate) struct ControlClock {
    source: SharedClock,
    /// Nanoseconds added to the source's time (negative: behind it).
    offset_nanos: Mutex<i128>,
}

impl ControlClock {
    pub(crate) fn new(source: SharedClock) -> Self {
        ControlClock {
            source,
            offset_nanos: Mutex::new(0),
        }
    }

    fn offset(&self) -> std::sync::MutexGuard<'_, i128> {
        // A plain number: a panic while holding the lock cannot break it.
        self.offset_nanos
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn advance(&self, nanos: i128) {
        let mut offset = self.offset();
        *offset = offset.saturating_add(nanos);
    }

    fn set(&self, to: SystemTime) {
        let source = nanos_since_epoch(self.source.now());
        *self.offset() = nanos_since_epoch(to) - source;
    }

    fn reset(&self) {
        *self.offset() = 0;
    }

    fn offset_seconds(&self) -> f64 {
        // Precision beyond microseconds does not matter to a reader of the offset.
        (*self.offset() / 1_000) as f64 / 1e6
    }
}

impl Clock for ControlClock {
    fn now(&self) -> SystemTime {
        from_nanos(nanos_since_epoch(self.source.now()).saturating_add(*self.offset()))
    }

    fn sleep(&self, duration: Duration) {
        self.source.sleep(duration);
    }
}

impl fmt::Debug for ControlClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlClock")
            .field("source", &self.source)
            .field("offset_seconds", &self.offset_seconds())
            .finish()
    }
}

fn nanos_since_epoch(at: SystemTime) -> i128 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

fn from_nanos(nanos: i128) -> SystemTime {
    let magnitude = Duration::from_nanos(u64::try_from(nanos.unsigned_abs()).unwrap_or(u64::MAX));
    if nanos >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// One request the sandbox served (or dropped), as the request log reports it. Holds no header,
/// query or body, so no credential can reach the log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The status sent; `None` when the connection was reset or dropped without an answer.
    pub status: Option<u16>,
    /// Which emulator owns the path: `oauth`, `easypay`, `numcheck`, `payroc`, `control` or `-`.
    pub emulator: &'static str,
    /// The scripted fault applied to the request, as its `Debug` form.
    pub fault: Option<String>,
}

impl fmt::Display for RequestRecord {
    /// `POST /api/token 502 oauth fault=HtmlError(502)`; `-` for a connection closed without an
    /// answer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.method, self.path)?;
        match self.status {
            Some(status) => write!(f, "{status}")?,
            None => f.write_str("-")?,
        }
        write!(f, " {}", self.emulator)?;
        if let Some(fault) = &self.fault {
            write!(f, " fault={fault}")?;
        }
        Ok(())
    }
}

/// The callback that receives each [`RequestRecord`].
pub(crate) type RequestLog = Arc<dyn Fn(&RequestRecord) + Send + Sync>;

/// Reports a request to the log when dropped, so requests that end in a reset are logged too.
pub(crate) struct Logged<'a> {
    log: Option<&'a RequestLog>,
    record: RequestRecord,
}

impl<'a> Logged<'a> {
    pub(crate) fn new(shared: &'a Shared, request: &Request, fault: Option<&Fault>) -> Self {
        Logged {
            log: shared.request_log.as_ref(),
            record: RequestRecord {
                method: request.method.clone(),
                path: request.path.clone(),
                status: None,
                emulator: emulator_of(&request.path),
                fault: fault.map(|f| format!("{f:?}")),
            },
        }
    }

    pub(crate) fn status(&mut self, status: u16) {
        self.record.status = Some(status);
    }
}

impl Drop for Logged<'_> {
    fn drop(&mut self) {
        if let Some(log) = self.log {
            log(&self.record);
        }
    }
}

/// The emulator that owns `path`, for the request log.
fn emulator_of(path: &str) -> &'static str {
    if is_control_path(path) {
        "control"
    } else if path.starts_with("/api/") || path == "/api" {
        "oauth"
    } else if path.starts_with("/APIcardProcREST/") {
        "easypay"
    } else if path == "/authorize" || path.starts_with("/v1/") {
        "payroc"
    } else if path.ends_with("/init-call") || path.ends_with("/get-call-info") {
        "numcheck"
    } else {
        "-"
    }
}

/// Whether `path` belongs to the control API.
pub(crate) fn is_control_path(path: &str) -> bool {
    path == CONTROL_PREFIX
        || path
            .strip_prefix(CONTROL_PREFIX)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Answers a control request. Control requests are not counted, not faulted and never reach an
/// emulator's routes.
pub(crate) fn handle(request: &Request, shared: &Shared) -> Response {
    let route = request.path[CONTROL_PREFIX.len()..].trim_end_matches('/');
    let body = if request.body.iter().all(u8::is_ascii_whitespace) {
        Ok(json!({}))
    } else {
        serde_json::from_slice::<Value>(&request.body)
    };
    let Ok(body) = body else {
        return bad_request("the body must be a JSON object");
    };
    match (request.method.as_str(), route) {
        ("GET", "") => Response::json(200, &index()),
        ("GET", "/counters") => Response::json(200, &counters_json(shared)),
        ("GET", "/clock") => Response::json(200, &clock_json(shared)),
        ("POST", "/clock/advance") => match body.get("seconds").and_then(Value::as_f64) {
            Some(seconds) if seconds.is_finite() && seconds.abs() < 1e12 => {
                shared.control_clock.advance((seconds * 1e9) as i128);
                Response::json(200, &clock_json(shared))
            }
            _ => bad_request("expected {\"seconds\": <number>}"),
        },
        ("POST", "/clock/set") => match body.get("unix").and_then(Value::as_f64) {
            Some(unix) if unix.is_finite() && unix.abs() < 1e12 => {
                shared.control_clock.set(from_nanos((unix * 1e9) as i128));
                Response::json(200, &clock_json(shared))
            }
            _ => bad_request("expected {\"unix\": <seconds since 1970>}"),
        },
        ("POST", "/faults") => inject(&body, shared),
        ("POST", "/easypay/unlock") => {
            shared.easypay.unlock_ips();
            Response::json(200, &json!({ "unlocked": true }))
        }
        ("POST", "/numcheck") => numcheck(&body, shared),
        ("POST", "/reset") => {
            reset(shared);
            Response::json(200, &json!({ "reset": true }))
        }
        (_, "" | "/counters" | "/clock") => method_not_allowed("GET"),
        (
            _,
            "/clock/advance" | "/clock/set" | "/faults" | "/easypay/unlock" | "/numcheck"
            | "/reset",
        ) => method_not_allowed("POST"),
        _ => Response::json(
            404,
            &json!({ "error": "not_found", "hint": format!("GET {CONTROL_PREFIX}/ lists the routes") }),
        ),
    }
}

fn index() -> Value {
    json!({
        "routes": [
            "GET  /_sandbox/counters",
            "GET  /_sandbox/clock",
            "POST /_sandbox/clock/advance {\"seconds\": 3600}",
            "POST /_sandbox/clock/set {\"unix\": 1767225600}",
            "POST /_sandbox/faults {\"path\": \"/api/token\", \"fault\": \"html_error\", \"status\": 502, \"times\": 1}",
            "POST /_sandbox/easypay/unlock",
            "POST /_sandbox/numcheck {\"next_caller\": \"37166000042\", \"never_answer\": false, \"answer_after_seconds\": 20, \"ring_timeout_seconds\": 60}",
            "POST /_sandbox/reset",
        ],
        "faults": [
            "reset", "delay {ms}", "html_error {status}", "malformed_json", "oversized_body {bytes}",
            "too_many_requests {retry_after}", "process_then_drop", "process_then_delay {ms}",
            "tls_garbage", "tls_fatal_alert", "echo_json {status}", "echo_html {status}",
            "raw_member {name, raw}", "continue_flood {count}", "drip_head {ms}", "drip_body {ms}",
            "poison_keep_alive", "huge_err_msg {bytes}", "unavailable {retry_after}",
        ],
    })
}

fn counters_json(shared: &Shared) -> Value {
    let c = shared.counters.snapshot();
    json!({
        "connections_accepted": c.connections_accepted,
        "requests": c.requests,
        "token_requests": c.token_requests,
        "auth_successes": c.auth_successes,
        "auth_failures": c.auth_failures,
        "sessions_created": c.sessions_created,
        "calls_placed": c.calls_placed,
        "easypay_ip_locked": shared.easypay.is_ip_locked(),
        "easypay_failures": shared.easypay.failure_count(),
    })
}

fn clock_json(shared: &Shared) -> Value {
    let now = nanos_since_epoch(shared.clock.now());
    json!({
        "unix": now.div_euclid(1_000_000_000),
        "offset_seconds": shared.control_clock.offset_seconds(),
    })
}

fn inject(body: &Value, shared: &Shared) -> Response {
    let Some(path) = body.get("path").and_then(Value::as_str) else {
        return bad_request("expected \"path\": the route to fault, such as \"/api/token\"");
    };
    if !path.starts_with('/') || is_control_path(path) {
        return bad_request("\"path\" must start with / and not be under /_sandbox");
    }
    let times = match body.get("times") {
        None => 1,
        Some(times) => match times.as_u64().and_then(|t| usize::try_from(t).ok()) {
            Some(t @ 1..=1000) => t,
            _ => return bad_request("\"times\" must be 1 to 1000"),
        },
    };
    let fault = match parse_fault(body) {
        Ok(fault) => fault,
        Err(message) => return bad_request(&message),
    };
    let described = format!("{fault:?}");
    shared.faults.push(path, fault, times);
    Response::json(
        200,
        &json!({ "path": path, "fault": described, "times": times }),
    )
}

fn parse_fault(body: &Value) -> Result<Fault, String> {
    let millis = |name: &str| -> Result<Duration, String> {
        let wait = body
            .get("ms")
            .and_then(Value::as_u64)
            .map(Duration::from_millis)
            .ok_or_else(|| format!("fault {name} needs \"ms\""))?;
        if wait > MAX_FAULT_DELAY {
            return Err(format!("\"ms\" is at most {}", MAX_FAULT_DELAY.as_millis()));
        }
        Ok(wait)
    };
    let status = |name: &str| -> Result<u16, String> {
        body.get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| format!("fault {name} needs \"status\" (100 to 599)"))
    };
    let count = |name: &str, field: &str, max: usize| -> Result<usize, String> {
        body.get(field)
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("fault {name} needs \"{field}\" (at most {max})"))
    };
    let retry_after = || match body.get("retry_after") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "1".to_owned(),
    };
    let kind = body.get("fault").and_then(Value::as_str).unwrap_or("");
    Ok(match kind {
        "reset" => Fault::Reset,
        "delay" => Fault::Delay(millis(kind)?),
        "html_error" => Fault::HtmlError(status(kind)?),
        "malformed_json" => Fault::MalformedJson,
        "oversized_body" => Fault::OversizedBody(count(kind, "bytes", 64 << 20)?),
        "too_many_requests" => Fault::TooManyRequests {
            retry_after: retry_after(),
        },
        "process_then_drop" => Fault::ProcessThenDrop,
        "process_then_delay" => Fault::ProcessThenDelay(millis(kind)?),
        "tls_garbage" => Fault::TlsGarbage,
        "tls_fatal_alert" => Fault::TlsFatalAlert,
        "echo_json" => Fault::EchoJson(status(kind)?),
        "echo_html" => Fault::EchoHtml(status(kind)?),
        "raw_member" => {
            let text = |field: &str| {
                body.get(field)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("fault raw_member needs \"{field}\" (a string)"))
            };
            Fault::RawMember {
                name: text("name")?,
                raw: text("raw")?,
            }
        }
        "continue_flood" => Fault::ContinueFlood(count(kind, "count", 100_000)?),
        "drip_head" => Fault::DripHead(millis(kind)?),
        "drip_body" => Fault::DripBody(millis(kind)?),
        "poison_keep_alive" => Fault::PoisonKeepAlive,
        "huge_err_msg" => Fault::HugeErrMsg(count(kind, "bytes", 64 << 20)?),
        "unavailable" => Fault::Unavailable {
            retry_after: retry_after(),
        },
        _ => {
            return Err(format!(
                "unknown fault {kind:?}; GET {CONTROL_PREFIX}/ lists the faults"
            ));
        }
    })
}

fn numcheck(body: &Value, shared: &Shared) -> Response {
    let emulator = &shared.numcheck;
    let seconds = |name: &str| body.get(name).and_then(Value::as_u64);
    if let Some(caller) = body.get("next_caller").and_then(Value::as_str) {
        if !(4..=15).contains(&caller.len()) || !caller.bytes().all(|b| b.is_ascii_digit()) {
            return bad_request("\"next_caller\" must be 4 to 15 digits");
        }
        emulator.set_next_caller(caller);
    }
    if let Some(never) = body.get("never_answer").and_then(Value::as_bool) {
        emulator.set_never_answer(never);
    }
    if let Some(after) = seconds("answer_after_seconds") {
        emulator.set_answer_after(Duration::from_secs(after));
    }
    if let Some(timeout) = seconds("ring_timeout_seconds") {
        emulator.set_ring_timeout(Duration::from_secs(timeout));
    }
    Response::json(200, &json!({ "updated": true }))
}

/// Back to a fresh start where a test can see it: no queued faults, zero counters, the clock on
/// its source, EasyPay IPs unlocked, NumCheck's call settings at their defaults.
fn reset(shared: &Shared) {
    shared.faults.clear();
    shared.counters.reset();
    shared.control_clock.reset();
    shared.easypay.unlock_ips();
    let numcheck = &shared.numcheck;
    numcheck.set_never_answer(false);
    numcheck.set_answer_after(Duration::from_secs(20));
    numcheck.set_ring_timeout(Duration::from_secs(60));
    numcheck.set_next_caller("");
}

fn bad_request(message: &str) -> Response {
    Response::json(400, &json!({ "error": "bad_request", "message": message }))
}

fn method_not_allowed(allowed: &str) -> Response {
    Response::json(405, &json!({ "error": "method_not_allowed" })).header("Allow", allowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use payauth_core::ManualClock;

    #[test]
    fn offset_clock_advances_sets_and_resets() {
        let source = ManualClock::fixed();
        let clock = ControlClock::new(source.shared());
        let start = source.now();
        clock.advance(3_600_000_000_000);
        assert_eq!(clock.now(), start + Duration::from_secs(3600));
        source.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), start + Duration::from_secs(3605));
        clock.set(UNIX_EPOCH + Duration::from_secs(10));
        assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(10));
        clock.reset();
        assert_eq!(clock.now(), source.now());
    }

    #[test]
    fn paths_map_to_emulators() {
        assert_eq!(emulator_of("/api/token"), "oauth");
        assert_eq!(
            emulator_of("/APIcardProcREST/v1.0.0/Authenticate"),
            "easypay"
        );
        assert_eq!(emulator_of("/ru/init-call"), "numcheck");
        assert_eq!(emulator_of("/authorize"), "payroc");
        assert_eq!(emulator_of("/_sandbox/clock"), "control");
        assert_eq!(emulator_of("/_sandboxed"), "-");
    }

    #[test]
    fn faults_parse_from_json() {
        let parse = |v: Value| parse_fault(&v);
        assert_eq!(
            parse(json!({"fault": "html_error", "status": 502})),
            Ok(Fault::HtmlError(502))
        );
        assert_eq!(
            parse(json!({"fault": "delay", "ms": 250})),
            Ok(Fault::Delay(Duration::from_millis(250)))
        );
        assert_eq!(
            parse(json!({"fault": "too_many_requests", "retry_after": 3})),
            Ok(Fault::TooManyRequests {
                retry_after: "3".into()
            })
        );
        assert_eq!(
            parse(json!({"fault": "raw_member", "name": "expires_in", "raw": "1e400"})),
            Ok(Fault::RawMember {
                name: "expires_in".into(),
                raw: "1e400".into()
            })
        );
        assert_eq!(
            parse(json!({"fault": "unavailable", "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"})),
            Ok(Fault::Unavailable {
                retry_after: "Wed, 21 Oct 2015 07:28:00 GMT".into()
            })
        );
        assert_eq!(
            parse(json!({"fault": "echo_html", "status": 400})),
            Ok(Fault::EchoHtml(400))
        );
        assert_eq!(
            parse(json!({"fault": "huge_err_msg", "bytes": 900_000})),
            Ok(Fault::HugeErrMsg(900_000))
        );
        assert_eq!(
            parse(json!({"fault": "tls_garbage"})),
            Ok(Fault::TlsGarbage)
        );
        assert!(parse(json!({"fault": "raw_member", "name": "expires_in"})).is_err());
        assert!(parse(json!({"fault": "continue_flood", "count": 1_000_000})).is_err());
        assert!(parse(json!({"fault": "html_error"})).is_err());
        assert!(parse(json!({"fault": "delay", "ms": 700_000})).is_err());
        assert!(parse(json!({"fault": "explode"})).is_err());
    }

    #[test]
    fn record_lines() {
        let record = RequestRecord {
            method: "POST".into(),
            path: "/api/token".into(),
            status: Some(502),
            emulator: "oauth",
            fault: Some("HtmlError(502)".into()),
        };
        assert_eq!(
            record.to_string(),
            "POST /api/token 502 oauth fault=HtmlError(502)"
        );
        let dropped = RequestRecord {
            status: None,
            fault: None,
            ..record
        };
        assert_eq!(dropped.to_string(), "POST /api/token - oauth");
    }
}
