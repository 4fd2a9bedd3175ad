//! Client side of mutual TLS: trust the CA, present the client certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use linkflow_codec::wire::ALPN;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::QuicError;
use crate::certs;

/// Name the node certificate of `linkflow certs init` is valid for.
pub const SERVER_NAME_DEFAULT: &str = "localhost";

/// Where the client's certificates are and which name the node must prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// CA certificate(s) the node's certificate must chain to.
    pub ca: PathBuf,
    /// The client certificate chain.
    pub cert: PathBuf,
    /// The client private key.
    pub key: PathBuf,
    /// Name checked against the node certificate (`localhost` for dev certificates).
    pub server_name: String,
}

impl ClientTls {
    /// The files `linkflow certs init DIR` writes: `ca.pem`, `client.pem`, `client-key.pem`.
    pub fn from_dir(dir: &Path) -> Self {
        let paths = certs::CertPaths::in_dir(dir);
        ClientTls {
            ca: paths.ca,
            cert: paths.client_cert,
            key: paths.client_key,
            server_name: SERVER_NAME_DEFAULT.to_owned(),
        }
    }

    /// Explicit files.
    pub fn new(ca: PathBuf, cert: PathBuf, key: PathBuf) -> Self {
        ClientTls {
            ca,
            cert,
            key,
            server_name: SERVER_NAME_DEFAULT.to_owned(),
        }
    }

    /// The quinn client configuration (TLS 1.3, client certificate, plan ALPN).
    pub fn client_config(&self) -> Result<quinn::ClientConfig, QuicError> {
        let mut roots = rustls::RootCertStore::empty();
        for ca in load_certs(&self.ca)? {
            roots.add(ca).map_err(|e| tls_error(&self.ca, e))?;
        }
        // The provider is passed explicitly: no process-wide default needs installing.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| QuicError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(load_certs(&self.cert)?, load_key(&self.key)?)
            .map_err(|e| tls_error(&self.cert, e))?;
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
            .map_err(|e| QuicError::Tls(e.to_string()))?;
        Ok(quinn::ClientConfig::new(Arc::new(crypto)))
    }
}

fn tls_error(path: &Path, why: impl std::fmt::Display) -> QuicError {
    QuicError::Tls(format!("{}: {why}", path.display()))
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, QuicError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(path, e))?;
    if certs.is_empty() {
        return Err(tls_error(path, "no certificate in the file"));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, QuicError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| tls_error(path, e))
}
