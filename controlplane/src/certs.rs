//! Development certificates for mutual TLS between control plane and data-plane nodes.
//!
//! `linkflow certs init DIR` (and `linkflow serve` on first start, through
//! [`ensure_dev_certs`]) writes a fresh CA and two leaf certificates signed by it:
//!
//! | file             | what                                                        |
//! |------------------|-------------------------------------------------------------|
//! | `ca.pem`         | the CA certificate both sides trust                         |
//! | `node.pem`       | the data-plane node's certificate (`localhost`, 127.0.0.1, ::1) |
//! | `node-key.pem`   | its private key (mode 0600)                                 |
//! | `client.pem`     | the client certificate the node requires (`linkflow-client`)|
//! | `client-key.pem` | its private key (mode 0600)                                 |
//!
//! The CA's private key is deliberately not kept: a dev directory can authenticate the two
//! parties it was made for and cannot mint more. Production deployments bring their own PKI
//! and point `--ca/--cert/--key` at it.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// File name of the CA certificate.
pub const CA_FILE: &str = "ca.pem";
/// File name of the node certificate.
pub const NODE_CERT_FILE: &str = "node.pem";
/// File name of the node key.
pub const NODE_KEY_FILE: &str = "node-key.pem";
/// File name of the client certificate.
pub const CLIENT_CERT_FILE: &str = "client.pem";
/// File name of the client key.
pub const CLIENT_KEY_FILE: &str = "client-key.pem";
/// Names the node certificate is valid for (clients connect to `localhost` by default).
pub const NODE_NAMES_DEFAULT: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Why certificates could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Generating or signing failed.
    #[error("LF-CERT-001: generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    /// Writing a file failed.
    #[error("LF-CERT-002: writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// Some of the files exist and others do not: refusing to mix certificates of two CAs.
    #[error("LF-CERT-003: {dir} holds only part of a certificate set (missing: {missing}); remove the directory or pass --force")]
    Partial {
        /// The directory.
        dir: PathBuf,
        /// The missing files.
        missing: String,
    },
}

/// The five files of a certificate directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    /// `ca.pem`.
    pub ca: PathBuf,
    /// `node.pem`.
    pub node_cert: PathBuf,
    /// `node-key.pem`.
    pub node_key: PathBuf,
    /// `client.pem`.
    pub client_cert: PathBuf,
    /// `client-key.pem`.
    pub client_key: PathBuf,
}

impl CertPaths {
    /// The files under `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        CertPaths {
            ca: dir.join(CA_FILE),
            node_cert: dir.join(NODE_CERT_FILE),
            node_key: dir.join(NODE_KEY_FILE),
            client_cert: dir.join(CLIENT_CERT_FILE),
            client_key: dir.join(CLIENT_KEY_FILE),
        }
    }

    fn all(&self) -> [&PathBuf; 5] {
        [
            &self.ca,
            &self.node_cert,
            &self.node_key,
            &self.client_cert,
            &self.client_key,
        ]
    }
}

/// What [`ensure_dev_certs`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevCerts {
    /// The files.
    pub paths: CertPaths,
    /// `true` when they were written now, `false` when they existed.
    pub created: bool,
}

/// Creates a dev certificate set in `dir` unless all five files exist already.
pub fn ensure_dev_certs(dir: &Path) -> Result<DevCerts, CertError> {
    let paths = CertPaths::in_dir(dir);
    let missing: Vec<String> = paths
        .all()
        .iter()
        .filter(|p| !p.exists())
        .map(|p| {
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        })
        .collect();
    if missing.is_empty() {
        return Ok(DevCerts {
            paths,
            created: false,
        });
    }
    if missing.len() < paths.all().len() {
        return Err(CertError::Partial {
            dir: dir.to_owned(),
            missing: missing.join(", "),
        });
    }
    let paths = write_dev_certs(dir, &NODE_NAMES_DEFAULT.map(str::to_owned))?;
    Ok(DevCerts {
        paths,
        created: true,
    })
}

/// Writes a fresh dev set into `dir` (created if needed), replacing existing files. The node
/// certificate is valid for `node_names` (DNS names or IP addresses).
pub fn write_dev_certs(dir: &Path, node_names: &[String]) -> Result<CertPaths, CertError> {
    let paths = CertPaths::in_dir(dir);
    std::fs::create_dir_all(dir).map_err(|source| CertError::Write {
        path: dir.to_owned(),
        source,
    })?;

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name = name("LinkFlow dev CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let node_key = KeyPair::generate()?;
    let mut node_params = CertificateParams::new(node_names.to_vec())?;
    node_params.distinguished_name = name("linkflow-node");
    node_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    node_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let node_cert = node_params.signed_by(&node_key, &issuer)?;

    let client_key = KeyPair::generate()?;
    let mut client_params = CertificateParams::new(vec!["linkflow-client".to_owned()])?;
    client_params.distinguished_name = name("linkflow-client");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    client_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let client_cert = client_params.signed_by(&client_key, &issuer)?;

    write(&paths.ca, &ca_cert.pem(), false)?;
    write(&paths.node_cert, &node_cert.pem(), false)?;
    write(&paths.node_key, &node_key.serialize_pem(), true)?;
    write(&paths.client_cert, &client_cert.pem(), false)?;
    write(&paths.client_key, &client_key.serialize_pem(), true)?;
    Ok(paths)
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(DnType::OrganizationName, "LinkFlow");
    name
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), CertError> {
    let error = |source| CertError::Write {
        path: path.to_owned(),
        source,
    };
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        // Keys are created 0600 from the first byte on, never world-readable for a moment.
        let mode = if secret { 0o600 } else { 0o644 };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
            .map_err(error)?;
        file.write_all(text.as_bytes()).map_err(error)?;
    }
    #[cfg(not(unix))]
    {
        let _ = secret;
        std::fs::write(path, text).map_err(error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lf-certs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn ensure_creates_once_and_keeps_existing_files() {
        let dir = temp_dir("once");
        let first = ensure_dev_certs(&dir).unwrap();
        assert!(first.created);
        let ca = std::fs::read_to_string(&first.paths.ca).unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        let key = std::fs::read_to_string(&first.paths.client_key).unwrap();
        assert!(key.contains("PRIVATE KEY"));
        let second = ensure_dev_certs(&dir).unwrap();
        assert!(!second.created);
        assert_eq!(std::fs::read_to_string(&second.paths.ca).unwrap(), ca);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first.paths.node_key)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_partial_set_is_refused() {
        let dir = temp_dir("partial");
        let made = ensure_dev_certs(&dir).unwrap();
        std::fs::remove_file(&made.paths.client_key).unwrap();
        let error = ensure_dev_certs(&dir).unwrap_err();
        assert!(error.to_string().starts_with("LF-CERT-003"), "{error}");
        assert!(error.to_string().contains(CLIENT_KEY_FILE));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
