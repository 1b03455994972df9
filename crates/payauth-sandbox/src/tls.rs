//! The sandbox's TLS test PKI (see `keys/generate-tls.sh`).

use std::io;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub(crate) const CA_DER: &[u8] = include_bytes!("../keys/tls-ca.der");
const SERVER_CERT_PEM: &[u8] = include_bytes!("../keys/tls-server-cert.pem");
const SERVER_KEY_PEM: &[u8] = include_bytes!("../keys/tls-server-key.pem");

pub(crate) fn server_config() -> io::Result<Arc<rustls::ServerConfig>> {
    let cert = CertificateDer::from_pem_slice(SERVER_CERT_PEM).map_err(io::Error::other)?;
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY_PEM).map_err(io::Error::other)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert, CertificateDer::from(CA_DER.to_vec())], key)
        .map_err(io::Error::other)?;
    Ok(Arc::new(config))
}
