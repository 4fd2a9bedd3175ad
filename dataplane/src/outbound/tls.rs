//! TLS for outbound calls: a rustls client configuration with the ring provider named
//! explicitly (the process may hold more than one provider; relying on the global default
//! would panic then), roots from the system bundle plus any the operator adds.

use std::sync::Arc;

use base64::Engine as _;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// Where Debian-family systems keep the CA bundle.
pub const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Largest CA bundle read.
const CA_FILE_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Builds the client configuration: certificates from `ca_file` (PEM; skipped when it
/// does not exist) and `extra_roots` (DER).
pub fn client_config(
    ca_file: Option<&std::path::Path>,
    extra_roots: &[Vec<u8>],
) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    if let Some(path) = ca_file {
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.len() > CA_FILE_BYTES_MAX {
                return Err(format!("CA file {} is larger than 16 MiB", path.display()));
            }
            let pem = std::fs::read_to_string(path)
                .map_err(|e| format!("reading CA file {}: {e}", path.display()))?;
            // Bundles hold a few certificates some verifier versions reject; skip those.
            let (_added, _ignored) = roots.add_parsable_certificates(pem_certificates(&pem));
        }
    }
    for der in extra_roots {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| format!("extra root certificate: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The DER certificates of a PEM text (`-----BEGIN CERTIFICATE-----` blocks).
pub fn pem_certificates(pem: &str) -> Vec<CertificateDer<'static>> {
    let mut certificates = Vec::new();
    let mut block: Option<String> = None;
    for line in pem.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            block = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            if let Some(text) = block.take() {
                if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(text) {
                    certificates.push(CertificateDer::from(der));
                }
            }
        } else if let Some(text) = &mut block {
            text.push_str(line);
        }
    }
    certificates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_decode_and_junk_is_skipped() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n\
                   -----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        let certificates = pem_certificates(pem);
        assert_eq!(certificates.len(), 1);
        assert_eq!(certificates[0].as_ref(), &[0, 1, 2, 3]);
    }

    #[test]
    fn system_bundle_loads_when_present() {
        let config = client_config(Some(std::path::Path::new(SYSTEM_CA_FILE)), &[]);
        assert!(config.is_ok(), "{:?}", config.err());
        assert!(client_config(None, &[b"not der".to_vec()]).is_err());
    }
}
