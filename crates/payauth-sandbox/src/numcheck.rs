//! The NumCheck emulator: init-call and get-call-info with X-AUTH-Token, a call lifecycle on the sandbox clock.

use crate::http::{Request, Response};
use crate::state::Shared;

/// The NumCheck emulator's settings and its control surface.
#[derive(Default)]
pub struct NumCheckEmulator {}

impl NumCheckEmulator {
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
