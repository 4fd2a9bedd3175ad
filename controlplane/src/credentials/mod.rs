//! Credential secrets sealed with AES-256-GCM.
//!
//! The key comes from `LINKFLOW_ENCRYPTION_KEY` (32 bytes as 64 hex digits or base64).
//! Each secret is sealed with a fresh random 96-bit nonce and the credential's id as
//! associated data, so a ciphertext copied onto another row fails to open. Stored form:
//! `base64(nonce || ciphertext || tag)`. Plaintext secrets exist only in memory, are never
//! logged ([`EncryptionKey`]'s `Debug` is redacted) and never returned by the API.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Key length of AES-256, in bytes.
pub const KEY_BYTES: usize = 32;
/// GCM nonce length, in bytes.
const NONCE_BYTES: usize = 12;

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The configured key is not 32 bytes of hex or base64.
    #[error("LINKFLOW_ENCRYPTION_KEY must be 32 bytes as 64 hex digits or base64")]
    BadKey,
    /// The ciphertext is damaged, belongs to another row or was sealed under another key.
    #[error("credential cannot be decrypted (wrong key or damaged data)")]
    Open,
    /// The operating system's random source failed.
    #[error("random source unavailable")]
    Random,
}

/// The AES-256-GCM key for credentials.
#[derive(Clone)]
pub struct EncryptionKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

impl EncryptionKey {
    /// Parses a key given as 64 hex digits or as base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<EncryptionKey, CryptoError> {
        let text = text.trim();
        let bytes = if text.len() == 2 * KEY_BYTES {
            hex::decode(text).map_err(|_| CryptoError::BadKey)?
        } else {
            STANDARD.decode(text).map_err(|_| CryptoError::BadKey)?
        };
        EncryptionKey::from_bytes(&bytes)
    }

    /// Builds a key from raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<EncryptionKey, CryptoError> {
        if bytes.len() != KEY_BYTES {
            return Err(CryptoError::BadKey);
        }
        let cipher = Aes256Gcm::new_from_slice(bytes).map_err(|_| CryptoError::BadKey)?;
        Ok(EncryptionKey { cipher })
    }

    /// A new random key, hex-encoded (for first-start key files).
    pub fn generate_hex() -> Result<String, CryptoError> {
        let mut bytes = [0u8; KEY_BYTES];
        getrandom::getrandom(&mut bytes).map_err(|_| CryptoError::Random)?;
        Ok(hex::encode(bytes))
    }

    /// Seals `secret`, bound to `row_id`.
    pub fn seal(&self, row_id: &str, secret: &[u8]) -> Result<String, CryptoError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::getrandom(&mut nonce).map_err(|_| CryptoError::Random)?;
        let payload = Payload {
            msg: secret,
            aad: row_id.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| CryptoError::Open)?;
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    /// Opens a secret sealed for `row_id`.
    pub fn open(&self, row_id: &str, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| CryptoError::Open)?;
        if bytes.len() < NONCE_BYTES {
            return Err(CryptoError::Open);
        }
        let (nonce, body) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| CryptoError::Open)?;
        let payload = Payload {
            msg: body,
            aad: row_id.as_bytes(),
        };
        self.cipher
            .decrypt(&Nonce::from(nonce), payload)
            .map_err(|_| CryptoError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EncryptionKey {
        EncryptionKey::parse(&"ab".repeat(KEY_BYTES)).unwrap()
    }

    #[test]
    fn sealed_secret_opens_for_its_row_only() {
        let sealed = key().seal("row-1", b"{\"token\":\"s3cret\"}").unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(
            key().open("row-1", &sealed).unwrap(),
            b"{\"token\":\"s3cret\"}"
        );
        assert_eq!(key().open("row-2", &sealed), Err(CryptoError::Open));
    }

    #[test]
    fn other_key_cannot_open() {
        let sealed = key().seal("row", b"x").unwrap();
        let other = EncryptionKey::from_bytes(&[7u8; KEY_BYTES]).unwrap();
        assert_eq!(other.open("row", &sealed), Err(CryptoError::Open));
    }

    #[test]
    fn same_secret_seals_differently_each_time() {
        assert_ne!(
            key().seal("r", b"x").unwrap(),
            key().seal("r", b"x").unwrap()
        );
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert_eq!(
            EncryptionKey::parse("short").unwrap_err(),
            CryptoError::BadKey
        );
        assert_eq!(
            EncryptionKey::parse(&"zz".repeat(KEY_BYTES)).unwrap_err(),
            CryptoError::BadKey
        );
        let b64 = STANDARD.encode([1u8; KEY_BYTES]);
        assert!(EncryptionKey::parse(&b64).is_ok());
    }

    #[test]
    fn debug_output_hides_the_key() {
        assert_eq!(format!("{:?}", key()), "EncryptionKey(<redacted>)");
    }
}
