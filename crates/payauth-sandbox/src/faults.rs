use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// A scripted misbehaviour, applied to the next request on a path.
///
/// Faults are what real networks and vendors do to clients: each one lets a test show that a
/// client reacts correctly (retries, does not retry, reports a typed error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Reset the TCP connection (RST) as soon as the request is read, without processing it.
    Reset,
    /// Wait this long (real time) before processing the request normally.
    Delay(Duration),
    /// Answer with this status and an HTML body, as a proxy in front of the vendor does.
    HtmlError(u16),
    /// Answer 200 with a truncated JSON body.
    MalformedJson,
    /// Answer 200 with a JSON body of this many bytes.
    OversizedBody(usize),
    /// Answer 429 with this `Retry-After` value, without processing the request.
    TooManyRequests {
        /// The `Retry-After` header value (seconds or an HTTP-date).
        retry_after: String,
    },
    /// Process the request (its effects happen and are counted), then drop the connection
    /// without answering.
    ProcessThenDrop,
    /// Process the request, then wait this long (real time) before answering: a client with a
    /// shorter timeout gives up after the server has acted.
    ProcessThenDelay(Duration),
    /// Answer with this status and JSON body without processing the request: an answer the
    /// emulator would never give by itself (a date at the end of the calendar, an `expires_in`
    /// of `u64::MAX`), to show that a client survives it.
    Answer {
        /// The HTTP status.
        status: u16,
        /// The body, sent as `application/json`.
        body: String,
    },
    /// Process the request, then write bytes that are not a TLS record on the raw connection
    /// (on plain HTTP: bytes that are not an HTTP response) and close it: a corrupt record
    /// arriving while the client reads the response.
    TlsGarbage,
    /// Process the request, then send a fatal TLS alert record (`internal_error`) on the raw
    /// connection and close it.
    TlsFatalAlert,
    /// Answer with this status and a JSON body that echoes the request's headers, query and
    /// body into every member a client quotes in errors: `ErrMsg`/`RespMsg` (inside a
    /// `FaultResult` envelope), `error_description`, `message`, `title`, `detail`. A server or a
    /// proxy that reflects the request.
    EchoJson(u16),
    /// Answer with this status and an HTML page that echoes the request's headers, query and
    /// body.
    EchoHtml(u16),
    /// Process the request normally, then replace the top-level member `name` of the JSON
    /// answer with `raw`, written as-is (`9223372036854775807`, `1e400`, `-5`, `"abc"`): a token
    /// or session response with an unusable number.
    RawMember {
        /// The member (`expires_in`, `expiresAt`, ...).
        name: String,
        /// The JSON text written for its value.
        raw: String,
    },
    /// Process the request, and write this many `100 Continue` interim responses before the
    /// answer.
    ContinueFlood(usize),
    /// Process the request, then write the answer's head one byte per interval.
    DripHead(Duration),
    /// Process the request, write the answer's head, then its body one byte per interval.
    DripBody(Duration),
    /// Answer normally and keep the connection alive, then answer the next request on it (which
    /// is processed) with garbage and a reset.
    PoisonKeepAlive,
    /// Answer 200 with an error envelope whose `ErrMsg` is this many bytes long (the other
    /// quoted members of [`Fault::EchoJson`] hold up to 16 KiB each).
    HugeErrMsg(usize),
    /// Answer 503 with this `Retry-After` value, without processing the request.
    Unavailable {
        /// The `Retry-After` header value (seconds or an HTTP-date).
        retry_after: String,
    },
}

/// A request as it arrived, before any fault (see `Sandbox::arrivals`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Arrival {
    /// The method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// The query string, without `?`.
    pub query: String,
    /// Every header, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Faults waiting for their request, by exact path.
#[derive(Default)]
pub(crate) struct FaultScript {
    queued: Mutex<HashMap<String, VecDeque<Fault>>>,
    arrivals: Mutex<Vec<Arrival>>,
}

/// The arrival log keeps at most this many requests.
const ARRIVALS_KEPT: usize = 100_000;

impl FaultScript {
    pub(crate) fn arrived(&self, arrival: Arrival) {
        let mut arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        if arrivals.len() < ARRIVALS_KEPT {
            arrivals.push(arrival);
        }
    }

    pub(crate) fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn push(&self, path: &str, fault: Fault, times: usize) {
        let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = queued.entry(normalise(path)).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    pub(crate) fn take(&self, path: &str) -> Option<Fault> {
        let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        queued.get_mut(&normalise(path))?.pop_front()
    }

    /// Drops every queued fault.
    pub(crate) fn clear(&self) {
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// `/api/purchase_link/` and `/api/purchase_link` are one route.
fn normalise(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}
