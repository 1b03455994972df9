//! The sandbox's TLS test PKI (see `keys/generate-tls.sh`).

use std::io;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

pub(crate) const CA_DER: &[u8] = include_bytes!("../keys/tls-ca.der");
const SERVER_CERT_PEM: &[u8] = include_bytes!("../keys/tls-server-cert.pem");
const SERVER_KEY_PEM: &[u8] = include_bytes!("../keys/tls-server-key.pem");
const CLIENT_CA_DER: &[u8] = include_bytes!("../keys/tls-client-ca.der");
pub(crate) const CLIENT_CERT_PEM: &[u8] = include_bytes!("../keys/tls-client-cert.pem");
pub(crate) const CLIENT_KEY_PEM: &[u8] = include_bytes!("../keys/tls-client-key.pem");

/// The server's TLS configuration; with `client_auth`, a client must present a certificate
/// signed by the test client CA.
pub(crate) fn server_config(client_auth: bool) -> io::Result<Arc<rustls::ServerConfig>> {
    let cert = CertificateDer::from_pem_slice(SERVER_CERT_PEM).map_err(io::Error::other)?;
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY_PEM).map_err(io::Error::other)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?;
    let builder = if client_auth {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(CLIENT_CA_DER))
            .map_err(io::Error::other)?;
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(io::Error::other)?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(vec![cert, CertificateDer::from(CA_DER.to_vec())], key)
        .map_err(io::Error::other)?;
    Ok(Arc::new(config))
}
