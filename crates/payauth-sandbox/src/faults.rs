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
}

/// Faults waiting for their request, by exact path.
#[derive(Default)]
pub(crate) struct FaultScript {
    queued: Mutex<HashMap<String, VecDeque<Fault>>>,
}

impl FaultScript {
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
