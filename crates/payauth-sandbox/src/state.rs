//! What every connection thread shares: the clock, the counters, the fault script and the
//! emulators, and the routing between them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use payauth_core::SharedClock;

use crate::control_api::{ControlClock, RequestLog};
use crate::easypay::EasyPayEmulator;
use crate::faults::FaultScript;
use crate::http::{Request, Response};
use crate::numcheck::NumCheckEmulator;
use crate::oauth::OAuthEmulator;
use crate::payroc::PayrocEmulator;

pub(crate) struct Shared {
    pub(crate) clock: SharedClock,
    pub(crate) counters: CounterCells,
    pub(crate) faults: FaultScript,
    pub(crate) oauth: OAuthEmulator,
    pub(crate) easypay: EasyPayEmulator,
    pub(crate) numcheck: NumCheckEmulator,
    pub(crate) payroc: PayrocEmulator,
    /// The same clock as `clock`, with the offset the control API moves.
    pub(crate) control_clock: Arc<ControlClock>,
    pub(crate) request_log: Option<RequestLog>,
}

impl Shared {
    /// Counts a request by route as it arrives, before any fault, so a test sees every attempt a
    /// client made, including those the fault script answered.
    pub(crate) fn arrived(&self, request: &Request) {
        let path = request.path.trim_end_matches('/');
        if self.oauth.is_token_path(path) {
            self.counters.token_request();
        }
        self.easypay.arrived(request, path, self);
        self.numcheck.arrived(request, path, self);
        self.payroc.arrived(request, path, self);
    }

    /// Each emulator owns distinct paths; the first that recognises the path answers.
    pub(crate) fn route(&self, request: &Request) -> Response {
        let path = request.path.trim_end_matches('/');
        self.oauth
            .route(request, path, self)
            .or_else(|| self.easypay.route(request, path, self))
            .or_else(|| self.numcheck.route(request, path, self))
            .or_else(|| self.payroc.route(request, path, self))
            .unwrap_or_else(Response::not_found)
    }
}

/// What the sandbox has seen so far, as plain numbers (see [`Sandbox::counters`]).
///
/// [`Sandbox::counters`]: crate::Sandbox::counters
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// TCP connections accepted (connection reuse shows as a low number).
    pub connections_accepted: u64,
    /// HTTP requests read, on every route, faults included.
    pub requests: u64,
    /// Requests to a token or authentication endpoint, whatever their outcome.
    pub token_requests: u64,
    /// Authentications that issued a credential.
    pub auth_successes: u64,
    /// Authentications refused (bad credentials, bad grant).
    pub auth_failures: u64,
    /// Sessions or resources created by a create call.
    pub sessions_created: u64,
    /// Paid phone calls placed (NumCheck `init-call`).
    pub calls_placed: u64,
}

#[derive(Default)]
pub(crate) struct CounterCells {
    connections_accepted: AtomicU64,
    requests: AtomicU64,
    token_requests: AtomicU64,
    auth_successes: AtomicU64,
    auth_failures: AtomicU64,
    sessions_created: AtomicU64,
    calls_placed: AtomicU64,
}

impl CounterCells {
    pub(crate) fn connection_accepted(&self) {
        self.connections_accepted.fetch_add(1, Ordering::SeqCst);
    }
    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
    }
    pub(crate) fn token_request(&self) {
        self.token_requests.fetch_add(1, Ordering::SeqCst);
    }
    pub(crate) fn auth(&self, success: bool) {
        let cell = if success {
            &self.auth_successes
        } else {
            &self.auth_failures
        };
        cell.fetch_add(1, Ordering::SeqCst);
    }
    pub(crate) fn session_created(&self) {
        self.sessions_created.fetch_add(1, Ordering::SeqCst);
    }
    pub(crate) fn call_placed(&self) {
        self.calls_placed.fetch_add(1, Ordering::SeqCst);
    }

    /// Every counter back to zero (the control API's reset).
    pub(crate) fn reset(&self) {
        for cell in [
            &self.connections_accepted,
            &self.requests,
            &self.token_requests,
            &self.auth_successes,
            &self.auth_failures,
            &self.sessions_created,
            &self.calls_placed,
        ] {
            cell.store(0, Ordering::SeqCst);
        }
    }

    pub(crate) fn snapshot(&self) -> Counters {
        Counters {
            connections_accepted: self.connections_accepted.load(Ordering::SeqCst),
            requests: self.requests.load(Ordering::SeqCst),
            token_requests: self.token_requests.load(Ordering::SeqCst),
            auth_successes: self.auth_successes.load(Ordering::SeqCst),
            auth_failures: self.auth_failures.load(Ordering::SeqCst),
            sessions_created: self.sessions_created.load(Ordering::SeqCst),
            calls_placed: self.calls_placed.load(Ordering::SeqCst),
        }
    }
}
