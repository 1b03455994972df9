//! The Payroc emulator: identity /authorize and Hosted Fields sessions with idempotency keys and RFC 7807 problems.

use crate::http::{Request, Response};
use crate::state::Shared;

/// The Payroc emulator's settings and its control surface.
#[derive(Default)]
pub struct PayrocEmulator {}

impl PayrocEmulator {
    /// Counts a request on arrival, before any fault (see `Shared::arrived`).
    pub(crate) fn arrived(&self, _request: &Request, _path: &str, _shared: &Shared) {}

    /// Answers the requests on this emulator's routes; `None` for any other path.
    pub(crate) fn route(
        &self,
        _request: &Request,
        _path: &str,
        _shared: &Shared,
    ) -> Option<Response> {
        None
    }
}
