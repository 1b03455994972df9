#![doc = include_str!("../README.md")]

mod easypay;
mod easypay_card;
mod faults;
mod http;
mod numcheck;
mod oauth;
mod payroc;
mod random;
mod server;
mod state;
mod tls;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use payauth_core::{SharedClock, SystemClock};

pub use easypay::{
    DEFAULT_EASYPAY_ACCOUNT, EasyPayEmulator, LOCKOUT_AFTER, PCI_EASYPAY_ACCOUNT,
    PCI_EASYPAY_SIGNER,
};
pub use easypay_card::{CardKey, CardKeyError};
pub use faults::{Arrival, Fault};
pub use numcheck::{DEFAULT_NUMCHECK_SECRET, NumCheckEmulator};
pub use oauth::{
    BasicEncoding, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_DASHBOARD_USER,
    DEFAULT_SIGNING_SECRET, ExpiresIn, OAuthClient, OAuthEmulator,
};
pub use payroc::{DEFAULT_PAYROC_API_KEY, PayrocEmulator, SessionAttempt};
pub use state::Counters;

use server::Server;
use state::{CounterCells, Shared};

/// A running sandbox: a real HTTP (or HTTPS) server on `127.0.0.1` and an ephemeral port,
/// stopped when dropped.
pub struct Sandbox {
    // First, so it is dropped first: the server stops before the state is released.
    server: Server,
    shared: Arc<Shared>,
    tls: bool,
}

/// Settings for [`Sandbox`] before it starts.
pub struct SandboxBuilder {
    clock: SharedClock,
    tls: bool,
    port: u16,
}

impl Sandbox {
    /// A plain-HTTP sandbox on the system clock with the default emulator settings.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub fn start() -> io::Result<Sandbox> {
        Sandbox::builder().start()
    }

    /// Settings: clock, TLS, port.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder {
            clock: SystemClock::shared(),
            tls: false,
            port: 0,
        }
    }

    /// The base URL without a trailing slash: `http://127.0.0.1:<port>` or
    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.server.addr())
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The test CA (DER) that signed the sandbox's TLS certificate: clients trust it instead of
    /// the public roots in TLS tests.
    pub fn ca_certificate_der() -> &'static [u8] {
        tls::CA_DER
    }

    /// The clock the emulators read (token and session expiry).
    pub fn clock(&self) -> &SharedClock {
        &self.shared.clock
    }

    /// What the sandbox has counted so far.
    pub fn counters(&self) -> Counters {
        self.shared.counters.snapshot()
    }

    /// Applies `fault` to the next request on `path` (trailing slash ignored, query not part of
    /// the path).
    pub fn inject(&self, path: &str, fault: Fault) {
        self.shared.faults.push(path, fault, 1);
    }

    /// Every request read so far, in order, before any fault was applied (at most 100,000):
    /// how many attempts of a call reached the server, and which idempotency keys they carried.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.shared.faults.arrivals()
    }

    /// Applies `fault` to the next `times` requests on `path`.
    pub fn inject_times(&self, path: &str, fault: Fault, times: usize) {
        self.shared.faults.push(path, fault, times);
    }

    /// The client-credentials emulator (`/api/token`, `/api/resource`, `/api/dashboard`,
    /// `/api/purchase_link/`).
    pub fn oauth(&self) -> &OAuthEmulator {
        &self.shared.oauth
    }

    /// The EasyPay REST emulator (under `/APIcardProcREST/v1.0.0/`).
    pub fn easypay(&self) -> &EasyPayEmulator {
        &self.shared.easypay
    }

    /// The NumCheck emulator (`/{lang}/init-call`, `/{lang}/get-call-info`).
    pub fn numcheck(&self) -> &NumCheckEmulator {
        &self.shared.numcheck
    }

    /// The Payroc emulator (identity `/authorize`, API under `/v1/`).
    pub fn payroc(&self) -> &PayrocEmulator {
        &self.shared.payroc
    }
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl SandboxBuilder {
    /// The clock the emulators read; share a `ManualClock` with the client under test to move
    /// both at once. Default: the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Serve HTTPS with the test certificate (see [`Sandbox::ca_certificate_der`]).
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Listen on this port instead of an ephemeral one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Starts the server.
    ///
    /// # Errors
    /// When the port cannot be bound or the bundled TLS material does not load.
    pub fn start(self) -> io::Result<Sandbox> {
        let shared = Arc::new(Shared {
            clock: self.clock,
            counters: CounterCells::default(),
            faults: faults::FaultScript::default(),
            oauth: OAuthEmulator::default(),
            easypay: EasyPayEmulator::default(),
            numcheck: NumCheckEmulator::default(),
            payroc: PayrocEmulator::default(),
        });
        let tls_config = if self.tls {
            Some(tls::server_config()?)
        } else {
            None
        };
        let server = Server::start(Arc::clone(&shared), tls_config, self.port)?;
        Ok(Sandbox {
            shared,
            tls: self.tls,
            server,
        })
    }
}
