//! Mutual TLS of the plan receiver: the node presents its certificate and accepts only
//! clients whose certificate chains to the configured CA. There is no plaintext mode.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use linkflow_codec::wire::ALPN;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::ControlError;

/// The node's certificate files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// CA certificate(s) that client certificates must chain to.
    pub ca: PathBuf,
    /// The node's certificate chain.
    pub cert: PathBuf,
    /// The node's private key.
    pub key: PathBuf,
}

impl ServerTlsFiles {
    /// The files `linkflow certs init DIR` writes: `ca.pem`, `node.pem`, `node-key.pem`.
    pub fn from_dir(dir: &Path) -> Self {
        ServerTlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("node.pem"),
            key: dir.join("node-key.pem"),
        }
    }
}

fn tls_error(path: &Path, why: impl std::fmt::Display) -> ControlError {
    ControlError::Tls(format!("{}: {why}", path.display()))
}

/// Every certificate in a PEM file (at least one).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ControlError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(path, e))?;
    if certs.is_empty() {
        return Err(tls_error(path, "no certificate in the file"));
    }
    Ok(certs)
}

/// The private key in a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, ControlError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| tls_error(path, e))
}

/// The ring crypto provider, passed explicitly so the process needs no global default.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The quinn server configuration: TLS 1.3, client certificates required and verified
/// against the CA, the plan ALPN.
pub fn server_config(files: &ServerTlsFiles) -> Result<quinn::ServerConfig, ControlError> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in load_certs(&files.ca)? {
        roots.add(ca).map_err(|e| tls_error(&files.ca, e))?;
    }
    let provider = provider();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| tls_error(&files.ca, e))?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ControlError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(&files.cert)?, load_key(&files.key)?)
        .map_err(|e| tls_error(&files.cert, e))?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| ControlError::Tls(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport.max_concurrent_bidi_streams(super::STREAMS_PER_CONNECTION_MAX.into());
    transport.max_concurrent_uni_streams(0u8.into());
    transport.max_idle_timeout(Some(
        quinn::IdleTimeout::try_from(super::IDLE_TIMEOUT)
            .map_err(|e| ControlError::Tls(e.to_string()))?,
    ));
    config.transport_config(Arc::new(transport));
    Ok(config)
}
