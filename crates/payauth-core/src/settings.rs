//! The network settings every client builder takes: timeouts, proxy, trust, client certificate
//! and user-agent suffix, in one value.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts};
use zeroize::Zeroizing;

use crate::http::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, TransportError, TransportKind};

/// How a client reaches its server: timeouts, proxy, trusted roots, a client certificate and a
/// suffix for the `User-Agent`. Every client builder takes one (`.http(settings)`), so a service
/// builds it once from its configuration and gives it to each client.
///
/// ```
/// use std::time::Duration;
/// use payauth_core::{HttpSettings, Proxy, Trust};
///
/// let settings = HttpSettings::new()
///     .connect_timeout(Duration::from_secs(2))
///     .timeout(Duration::from_secs(5))
///     .proxy(Proxy::url("http://proxy.internal:3128")?)
///     .trust(Trust::public_roots())
///     .user_agent_suffix("shop-backend/4.2");
/// # Ok::<(), payauth_core::TransportError>(())
/// ```
#[derive(Clone)]
pub struct HttpSettings {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) proxy: Proxy,
    pub(crate) trust: Trust,
    pub(crate) client_certificate: Option<ClientCertificate>,
    pub(crate) user_agent_suffix: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            proxy: Proxy::from_env(),
            trust: Trust::public_roots(),
            client_certificate: None,
            user_agent_suffix: None,
        }
    }
}

impl HttpSettings {
    /// The defaults: connect within 10 s, 30 s for each step of an exchange, the proxy from the
    /// environment, the public (Mozilla) roots, no client certificate.
    pub fn new() -> Self {
        HttpSettings::default()
    }

    /// Time allowed to connect (TCP, a proxy's `CONNECT` and the TLS handshake); default 10 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for each step of an exchange after connecting: every write of the request,
    /// waiting for the response head, reading the response body; default 30 s. It is also the
    /// default retry budget of a client whose [`RetryPolicy`](crate::RetryPolicy) has no
    /// explicit deadline. To bound a whole call, retries included, use a
    /// [`Deadline`](crate::Deadline).
    ///
    /// Why not one overall timeout per request: ureq 3 re-arms the socket timeouts with the time
    /// left on every read and write, a system call each time, which made a loopback call about
    /// three times slower. A fixed per-step timeout is set once per connection.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Which proxy to use; default [`Proxy::from_env`].
    #[must_use]
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// Which certificates a server may chain to; default [`Trust::public_roots`].
    #[must_use]
    pub fn trust(mut self, trust: Trust) -> Self {
        self.trust = trust;
        self
    }

    /// Presents this certificate when a server asks for one (mutual TLS).
    #[must_use]
    pub fn client_certificate(mut self, certificate: ClientCertificate) -> Self {
        self.client_certificate = Some(certificate);
        self
    }

    /// Appended to the `User-Agent` after the crate's own `<crate>/<version>`, such as
    /// `shop-backend/4.2`, so a vendor's support can tell your service's calls apart. Characters
    /// that cannot appear in a header (controls, non-ASCII) are dropped.
    #[must_use]
    pub fn user_agent_suffix(mut self, suffix: &str) -> Self {
        let clean: String = suffix
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .collect();
        let clean = clean.trim();
        self.user_agent_suffix = (!clean.is_empty()).then(|| clean.to_owned());
        self
    }

    /// The per-step timeout set by [`timeout`](Self::timeout).
    pub fn timeout_value(&self) -> Duration {
        self.timeout
    }

    /// The connect timeout set by [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout_value(&self) -> Duration {
        self.connect_timeout
    }

    /// `User-Agent` for a crate: `base`, then the suffix if one was set.
    pub(crate) fn user_agent(&self, base: &str) -> String {
        match &self.user_agent_suffix {
            Some(suffix) => format!("{base} {suffix}"),
            None => base.to_owned(),
        }
    }
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("proxy", &self.proxy)
            .field("trust", &self.trust)
            .field("client_certificate", &self.client_certificate)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .finish()
    }
}

/// Which proxy requests go through. Requests to loopback addresses never use one, whatever is
/// set here: plain HTTP is allowed only there, and a proxy would see the credentials.
///
/// `Debug` and every error show a proxy as `scheme://host:port`, never its user name or password.
#[derive(Clone)]
pub struct Proxy {
    choice: ProxyChoice,
}

#[derive(Clone)]
enum ProxyChoice {
    Environment,
    Direct,
    Fixed(ureq::Proxy),
}

impl Proxy {
    /// The proxy named by the environment, as curl reads it: `ALL_PROXY`, then `HTTPS_PROXY`,
    /// then `HTTP_PROXY` (each also in lower case), except for hosts listed in `NO_PROXY`. Read
    /// once, when the client is built. This is the default.
    pub fn from_env() -> Proxy {
        Proxy {
            choice: ProxyChoice::Environment,
        }
    }

    /// No proxy, whatever the environment says.
    pub fn none() -> Proxy {
        Proxy {
            choice: ProxyChoice::Direct,
        }
    }

    /// This proxy for every request (`NO_PROXY` is not read): `http://host:port` (`CONNECT`
    /// tunnel), `https://host:port` (TLS to the proxy), optionally with `user:password@` for
    /// proxy authentication.
    ///
    /// # Errors
    /// [`TransportKind::InvalidSettings`] when `url` is not a proxy URL of those schemes. The
    /// message does not repeat the URL, which may carry a password.
    pub fn url(url: &str) -> Result<Proxy, TransportError> {
        let invalid = || {
            TransportError::not_sent(
                TransportKind::InvalidSettings,
                "the proxy URL is not http://host:port or https://host:port",
            )
        };
        let proxy = ureq::Proxy::new(url).map_err(|_| invalid())?;
        if !matches!(
            proxy.protocol(),
            ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
        ) {
            return Err(invalid());
        }
        Ok(Proxy {
            choice: ProxyChoice::Fixed(proxy),
        })
    }

    /// The ureq proxy this choice means now (the environment is read here).
    pub(crate) fn resolve(&self) -> Option<ureq::Proxy> {
        match &self.choice {
            ProxyChoice::Environment => ureq::Proxy::try_from_env(),
            ProxyChoice::Direct => None,
            ProxyChoice::Fixed(proxy) => Some(proxy.clone()),
        }
    }
}

/// `scheme://host:port` of a proxy: what errors and `Debug` say, never the credentials.
pub(crate) fn proxy_label(proxy: &ureq::Proxy) -> String {
    let scheme = match proxy.protocol() {
        ureq::ProxyProtocol::Https => "https",
        ureq::ProxyProtocol::Http => "http",
        _ => "socks",
    };
    format!("{scheme}://{}:{}", proxy.host(), proxy.port())
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.choice {
            ProxyChoice::Environment => f.write_str("Proxy::from_env()"),
            ProxyChoice::Direct => f.write_str("Proxy::none()"),
            ProxyChoice::Fixed(proxy) => write!(f, "Proxy::url({:?})", proxy_label(proxy)),
        }
    }
}

/// Which certificate authorities a server's certificate may chain to.
///
/// | choice | trusts |
/// |---|---|
/// | [`Trust::public_roots`] (default) | Mozilla's root program, built in: the same on every machine |
/// | [`Trust::public_roots_and`] | those, plus your CAs (a corporate CA, a TLS-inspecting proxy's CA) |
/// | [`Trust::only`] | your CAs and nothing else (a private API, the sandbox) |
/// | `Trust::platform()` (feature `platform-verifier`) | the operating system's verifier and trust store |
#[derive(Clone)]
pub struct Trust {
    choice: TrustChoice,
}

#[derive(Clone)]
enum TrustChoice {
    Public,
    PublicAnd(Arc<Vec<CaCertificate>>),
    Only(Arc<Vec<CaCertificate>>),
    #[cfg(feature = "platform-verifier")]
    Platform,
}

impl Trust {
    /// Mozilla's root certificates, as compiled into this build (`webpki-roots`). The default.
    pub fn public_roots() -> Trust {
        Trust {
            choice: TrustChoice::Public,
        }
    }

    /// Mozilla's root certificates and `extra` besides: the public roots are kept, not
    /// replaced.
    pub fn public_roots_and(extra: impl IntoIterator<Item = CaCertificate>) -> Trust {
        Trust {
            choice: TrustChoice::PublicAnd(Arc::new(extra.into_iter().collect())),
        }
    }

    /// Only `roots`: a server whose certificate chains to anything else is refused.
    pub fn only(roots: impl IntoIterator<Item = CaCertificate>) -> Trust {
        Trust {
            choice: TrustChoice::Only(Arc::new(roots.into_iter().collect())),
        }
    }

    /// The operating system's certificate verifier (`rustls-platform-verifier`): the system
    /// trust store, its revocation checks and enterprise policies. On Linux the store is the
    /// distribution's CA bundle (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured).
    #[cfg(feature = "platform-verifier")]
    #[cfg_attr(docsrs, doc(cfg(feature = "platform-verifier")))]
    pub fn platform() -> Trust {
        Trust {
            choice: TrustChoice::Platform,
        }
    }

    pub(crate) fn root_certs(&self) -> RootCerts {
        match &self.choice {
            TrustChoice::Public => RootCerts::WebPki,
            TrustChoice::PublicAnd(extra) => {
                let mut all: Vec<Certificate<'static>> = public_root_certificates();
                all.extend(extra.iter().map(|ca| ca.0.clone()));
                RootCerts::Specific(Arc::new(all))
            }
            TrustChoice::Only(roots) => {
                RootCerts::Specific(Arc::new(roots.iter().map(|ca| ca.0.clone()).collect()))
            }
            #[cfg(feature = "platform-verifier")]
            TrustChoice::Platform => RootCerts::PlatformVerifier,
        }
    }
}

/// The Mozilla roots as whole certificates: `webpki-roots` (what ureq uses by default) has only
/// their trust anchors, which ureq cannot combine with other certificates.
fn public_root_certificates() -> Vec<Certificate<'static>> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()))
        .collect()
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.choice {
            TrustChoice::Public => f.write_str("Trust::public_roots()"),
            TrustChoice::PublicAnd(extra) => {
                write!(f, "Trust::public_roots_and({} CAs)", extra.len())
            }
            TrustChoice::Only(roots) => write!(f, "Trust::only({} CAs)", roots.len()),
            #[cfg(feature = "platform-verifier")]
            TrustChoice::Platform => f.write_str("Trust::platform()"),
        }
    }
}

impl Default for Trust {
    fn default() -> Self {
        Trust::public_roots()
    }
}

/// A certificate authority to trust, checked when it is made: a certificate rustls can use as a
/// trust anchor.
#[derive(Clone)]
pub struct CaCertificate(Certificate<'static>);

impl CaCertificate {
    /// A CA certificate in DER.
    ///
    /// # Errors
    /// [`TransportKind::InvalidSettings`] when `der` is not a certificate usable as a trust
    /// anchor.
    pub fn from_der(der: impl Into<Vec<u8>>) -> Result<CaCertificate, TransportError> {
        let der = der.into();
        webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice())).map_err(|_| {
            TransportError::not_sent(
                TransportKind::InvalidSettings,
                "a trusted CA is not a usable X.509 certificate",
            )
        })?;
        Ok(CaCertificate(Certificate::from_der(&der).to_owned()))
    }

    /// Every certificate in a PEM bundle (one CA or a whole `ca-certificates.crt`); other PEM
    /// sections are skipped.
    ///
    /// # Errors
    /// [`TransportKind::InvalidSettings`] when the text holds no certificate or a malformed one.
    pub fn from_pem(pem: &[u8]) -> Result<Vec<CaCertificate>, TransportError> {
        let mut found = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => found.push(CaCertificate::from_der(cert.der())?),
                Ok(_) => {}
                Err(_) => return Err(invalid_pem("the CA PEM text is malformed")),
            }
        }
        if found.is_empty() {
            return Err(invalid_pem("the CA PEM text holds no certificate"));
        }
        Ok(found)
    }

    /// The certificate, DER-encoded.
    pub fn der(&self) -> &[u8] {
        self.0.der()
    }
}

impl fmt::Debug for CaCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaCertificate({} bytes)", self.0.der().len())
    }
}

fn invalid_pem(detail: &'static str) -> TransportError {
    TransportError::not_sent(TransportKind::InvalidSettings, detail)
}

/// A certificate chain and its private key, presented to servers that ask for a client
/// certificate (mutual TLS). `Debug` shows the chain's length only.
///
/// The key is copied into rustls's configuration, which keeps it for the life of the client;
/// the PEM text given here is not kept.
#[derive(Clone)]
pub struct ClientCertificate(ClientCert);

impl ClientCertificate {
    /// From PEM: `chain` holds the client certificate first, then any intermediates; `key` its
    /// private key (PKCS#8, PKCS#1 or SEC1), unencrypted.
    ///
    /// # Errors
    /// [`TransportKind::InvalidSettings`] when `chain` holds no certificate or `key` no private
    /// key. The messages never quote the input.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<ClientCertificate, TransportError> {
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(chain) {
            match item {
                Ok(PemItem::Certificate(cert)) => certs.push(cert),
                Ok(_) => {}
                Err(_) => return Err(invalid_pem("the client certificate PEM is malformed")),
            }
        }
        if certs.is_empty() {
            return Err(invalid_pem(
                "the client certificate PEM holds no certificate",
            ));
        }
        // The parsed key is the only copy kept; the caller's PEM is theirs to wipe.
        let key = Zeroizing::new(key.to_vec());
        let private_key = ureq::tls::parse_pem(&key)
            .find_map(|item| match item {
                Ok(PemItem::PrivateKey(key)) => Some(key),
                _ => None,
            })
            .ok_or_else(|| invalid_pem("the client key PEM holds no private key"))?;
        Ok(ClientCertificate::new(&certs, private_key))
    }

    fn new(chain: &[Certificate<'static>], key: PrivateKey<'static>) -> ClientCertificate {
        ClientCertificate(ClientCert::new_with_certs(chain, key))
    }

    pub(crate) fn ureq(&self) -> ClientCert {
        self.0.clone()
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ClientCertificate({} certificates, key [redacted])",
            self.0.certs().len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_roots_and_keeps_every_public_root_and_adds_the_extra() {
        let public = public_root_certificates();
        assert!(public.len() > 100, "{} public roots", public.len());
        let extra = CaCertificate::from_der(public[0].der().to_vec()).unwrap();
        let RootCerts::Specific(all) = Trust::public_roots_and([extra.clone()]).root_certs() else {
            panic!("public roots and an extra CA must be a specific list");
        };
        assert_eq!(all.len(), public.len() + 1);
        let ders: Vec<&[u8]> = all.iter().map(Certificate::der).collect();
        assert!(public.iter().all(|root| ders.contains(&root.der())));
        let RootCerts::Specific(only) = Trust::only([extra]).root_certs() else {
            panic!("only must be a specific list");
        };
        assert_eq!(only.len(), 1);
        assert!(matches!(
            Trust::public_roots().root_certs(),
            RootCerts::WebPki
        ));
    }

    #[test]
    fn a_malformed_ca_is_refused_when_made() {
        let error = CaCertificate::from_der(b"not a certificate".to_vec()).unwrap_err();
        assert_eq!(error.kind(), TransportKind::InvalidSettings);
        assert!(!error.may_have_reached_server());
        let error = CaCertificate::from_pem(b"no pem here").unwrap_err();
        assert_eq!(error.kind(), TransportKind::InvalidSettings);
        let bad_body = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(CaCertificate::from_pem(bad_body).is_err());
    }

    #[test]
    fn proxy_urls_are_checked_and_never_shown_with_credentials() {
        let proxy = Proxy::url("http://alice:s3cr3t-pw@proxy.internal:3128").unwrap();
        let debug = format!("{proxy:?}");
        assert_eq!(debug, "Proxy::url(\"http://proxy.internal:3128\")");
        let settings = format!("{:?}", HttpSettings::new().proxy(proxy));
        assert!(
            !settings.contains("s3cr3t") && !settings.contains("alice"),
            "{settings}"
        );
        for bad in ["socks5://proxy:1080", "ftp://proxy", "http://[::1"] {
            let error = Proxy::url(bad).unwrap_err();
            assert_eq!(error.kind(), TransportKind::InvalidSettings, "{bad}");
        }
        let error = Proxy::url("http://bob:pw-in-url@[bad").unwrap_err();
        assert!(!error.to_string().contains("pw-in-url"), "{error}");
    }

    #[test]
    fn user_agent_suffix_is_appended_clean() {
        let settings = HttpSettings::new().user_agent_suffix(" shop/1.2\r\nX-Evil: 1 ");
        assert_eq!(
            settings.user_agent("crate/0.1"),
            "crate/0.1 shop/1.2X-Evil: 1"
        );
        assert_eq!(
            HttpSettings::new()
                .user_agent_suffix("\n")
                .user_agent("c/1"),
            "c/1"
        );
    }
}
