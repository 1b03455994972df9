#![doc = include_str!("../README.md")]

mod control_api;
mod easypay;
mod easypay_card;
mod faults;
mod http;
mod numcheck;
mod oauth;
mod payroc;
mod random;
mod server;
mod service;
mod state;
mod tls;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use payauth_core::{
    CaCertificate, ClientCertificate, HttpSettings, SharedClock, SystemClock, Trust,
};

pub use control_api::{CONTROL_PREFIX, RequestRecord};
pub use easypay::{
    DEFAULT_EASYPAY_ACCOUNT, EasyPayEmulator, LOCKOUT_AFTER, PCI_EASYPAY_ACCOUNT,
    PCI_EASYPAY_SIGNER,
};
pub use easypay_card::{CardKey, CardKeyError};
pub use faults::{Arrival, Fault};
pub use numcheck::{DEFAULT_NUMCHECK_SECRET, NumCheckEmulator};
pub use oauth::{
    BasicEncoding, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_DASHBOARD_USER,
    DEFAULT_SIGNING_SECRET, Discovery, ExpiresIn, JWT_CLIENT_PRIVATE_KEY_PEM,
    JWT_CLIENT_PUBLIC_KEY_PEM, OAuthClient, OAuthEmulator,
};
pub use payroc::{DEFAULT_PAYROC_API_KEY, PayrocEmulator, SessionAttempt};
pub use service::run_service;
pub use state::Counters;

use control_api::{ControlClock, RequestLog};
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
    client_auth: bool,
    port: u16,
    request_log: Option<RequestLog>,
}

/// Where [`Sandbox::write_certificates`] put the public test certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateFiles {
    /// The TLS test CA, PEM (`payauth-sandbox-ca.pem`): what clients trust for `--tls`.
    pub ca_pem: PathBuf,
    /// The TLS test CA, DER (`payauth-sandbox-ca.der`).
    pub ca_der: PathBuf,
    /// EasyPay's card-encryption certificate for the sandbox, PEM (`easypay-card-cert.pem`).
    pub card_pem: PathBuf,
    /// EasyPay's card-encryption certificate for the sandbox, DER (`easypay-card-cert.der`).
    pub card_der: PathBuf,
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
            client_auth: false,
            port: 0,
            request_log: None,
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

    /// Network settings that trust the sandbox's test CA and nothing else, for clients under
    /// test: `.http(Sandbox::http_settings())`.
    pub fn http_settings() -> HttpSettings {
        HttpSettings::new().trust(Sandbox::trust())
    }

    /// Trust in the sandbox's test CA alone.
    pub fn trust() -> Trust {
        Trust::only(Sandbox::ca_certificate())
    }

    /// The test CA as a [`CaCertificate`], for [`Trust::public_roots_and`] or [`Trust::only`].
    pub fn ca_certificate() -> Option<CaCertificate> {
        CaCertificate::from_der(tls::CA_DER).ok()
    }

    /// The test client certificate and key a sandbox started with
    /// [`require_client_certificate`](SandboxBuilder::require_client_certificate) accepts, as
    /// PEM: `(chain, key)`. Public test material.
    pub fn client_certificate_pem() -> (&'static [u8], &'static [u8]) {
        (tls::CLIENT_CERT_PEM, tls::CLIENT_KEY_PEM)
    }

    /// [`client_certificate_pem`](Self::client_certificate_pem) ready for
    /// [`HttpSettings::client_certificate`].
    pub fn client_certificate() -> Option<ClientCertificate> {
        ClientCertificate::from_pem(tls::CLIENT_CERT_PEM, tls::CLIENT_KEY_PEM).ok()
    }

    /// Writes the public test certificates into `dir` (created if missing): the TLS test CA and
    /// EasyPay's card-encryption certificate, each as PEM and DER. No private key is written.
    ///
    /// # Errors
    /// When `dir` cannot be created or a file cannot be written.
    pub fn write_certificates(dir: &Path) -> io::Result<CertificateFiles> {
        std::fs::create_dir_all(dir)?;
        let card = CardKey::bundled().map_err(io::Error::other)?;
        let files = CertificateFiles {
            ca_pem: dir.join("payauth-sandbox-ca.pem"),
            ca_der: dir.join("payauth-sandbox-ca.der"),
            card_pem: dir.join("easypay-card-cert.pem"),
            card_der: dir.join("easypay-card-cert.der"),
        };
        std::fs::write(&files.ca_der, tls::CA_DER)?;
        std::fs::write(&files.ca_pem, certificate_pem(tls::CA_DER))?;
        std::fs::write(&files.card_der, card.certificate_der())?;
        std::fs::write(&files.card_pem, certificate_pem(card.certificate_der()))?;
        Ok(files)
    }

    /// Every test credential and endpoint of this sandbox, one per line, for a person to read
    /// (all of it is public test material).
    pub fn credentials_summary(&self) -> String {
        let url = self.url();
        let (ep_code, ep_token) = DEFAULT_EASYPAY_ACCOUNT;
        let (pci_code, pci_token) = PCI_EASYPAY_ACCOUNT;
        let (pci_secret, pci_user) = PCI_EASYPAY_SIGNER;
        let (dash_user, dash_password) = DEFAULT_DASHBOARD_USER;
        let thumbprint = CardKey::bundled()
            .map(|k| k.thumbprint().to_owned())
            .unwrap_or_default();
        [
            "client credentials (Pledg, RFC 6749)".to_owned(),
            format!("  token URL        POST {url}/api/token"),
            format!("  client id        {DEFAULT_CLIENT_ID}"),
            format!("  client secret    {DEFAULT_CLIENT_SECRET}"),
            format!("  bearer resource  GET  {url}/api/resource"),
            format!("  dashboard Basic  GET  {url}/api/dashboard  {dash_user} / {dash_password}"),
            format!("  signed link      POST {url}/api/purchase_link/?signature=<HS256 JWT>  secret {DEFAULT_SIGNING_SECRET}"),
            "EasyPay REST".to_owned(),
            format!("  base path        {url}/APIcardProcREST/v1.0.0/"),
            format!("  account code     {ep_code}"),
            format!("  token            {ep_token}"),
            format!("  PCI account      {pci_code}  token {pci_token}"),
            format!("  PCI HMAC secret  {pci_secret}  user id {pci_user}"),
            format!("  card certificate thumbprint {thumbprint}"),
            format!("  lockout          {LOCKOUT_AFTER} failed authentications lock the IP; POST {url}{CONTROL_PREFIX}/easypay/unlock"),
            "NumCheck".to_owned(),
            format!("  base URL         {url}  (POST /ru/init-call?phone=..., /ru/get-call-info?callId=...)"),
            format!("  X-AUTH-Token     {DEFAULT_NUMCHECK_SECRET}"),
            "Payroc Hosted Fields".to_owned(),
            format!("  identity URL     POST {url}/authorize"),
            format!("  API base         {url}/v1"),
            format!("  x-api-key        {DEFAULT_PAYROC_API_KEY}"),
            "  terminal id      any of 4 to 50 characters, such as 1234001".to_owned(),
            format!("control API        {url}{CONTROL_PREFIX}/  (clock, faults, counters, unlock, reset)"),
        ]
        .join("\n")
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
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Serve HTTPS with the test certificate (see [`Sandbox::ca_certificate_der`]).
    #[must_use]
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Serve HTTPS (as [`tls`](Self::tls)) and refuse, during the handshake, any client that
    /// does not present a certificate signed by the test client CA (see
    /// [`Sandbox::client_certificate_pem`]): mutual TLS.
    #[must_use]
    pub fn require_client_certificate(mut self) -> Self {
        self.tls = true;
        self.client_auth = true;
        self
    }

    /// Listen on this port instead of an ephemeral one.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Calls `log` once per request, after the answer is decided (or the connection dropped),
    /// with a [`RequestRecord`]: method, path, status, emulator, fault. Records hold no headers,
    /// query or body, so no credential reaches the log.
    #[must_use]
    pub fn request_log(mut self, log: impl Fn(&RequestRecord) + Send + Sync + 'static) -> Self {
        self.request_log = Some(Arc::new(log));
        self
    }

    /// Starts the server.
    ///
    /// # Errors
    /// When the port cannot be bound or the bundled TLS material does not load.
    pub fn start(self) -> io::Result<Sandbox> {
        let control_clock = Arc::new(ControlClock::new(self.clock));
        let shared = Arc::new(Shared {
            clock: control_clock.clone(),
            control_clock,
            request_log: self.request_log,
            counters: CounterCells::default(),
            faults: faults::FaultScript::default(),
            oauth: OAuthEmulator::default(),
            easypay: EasyPayEmulator::default(),
            numcheck: NumCheckEmulator::default(),
            payroc: PayrocEmulator::default(),
        });
        let tls_config = if self.tls {
            Some(tls::server_config(self.client_auth)?)
        } else {
            None
        };
        let server = Server::start(Arc::clone(&shared), tls_config, self.port)?;
        let scheme = if self.tls { "https" } else { "http" };
        shared
            .oauth
            .set_base_url(format!("{scheme}://{}", server.addr()));
        Ok(Sandbox {
            shared,
            tls: self.tls,
            server,
        })
    }
}

/// PEM text of a DER certificate.
fn certificate_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}
