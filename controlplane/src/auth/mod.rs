//! Authentication: argon2id passwords, JWT access tokens, rotating refresh tokens, API keys.
//!
//! - Passwords are hashed with argon2id (PHC strings, salt per user).
//! - Access tokens are HS256 JWTs that expire after [`ACCESS_TTL_S`] seconds.
//! - Refresh tokens and API keys are 256-bit random strings; only their SHA-256 is stored
//!   (a fast hash suffices for high-entropy secrets, and lookups stay one indexed read).
//!   Refresh tokens rotate on every use; see [`crate::storage::AuthStore::rotate_refresh`].

pub mod identity;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::storage::{Role, User};

/// Lifetime of an access token, in seconds (one hour).
pub const ACCESS_TTL_S: i64 = 3600;
/// Lifetime of a refresh token, in seconds (thirty days).
pub const REFRESH_TTL_S: i64 = 30 * 24 * 3600;
/// Shortest password accepted, in characters.
pub const PASSWORD_CHARS_MIN: usize = 8;
/// Longest password accepted, in bytes (bounds hashing work per request).
pub const PASSWORD_BYTES_MAX: usize = 1024;
/// Random bytes in refresh tokens and API keys.
const TOKEN_BYTES: usize = 32;
/// Prefix of API keys, so leaked keys are recognisable by secret scanners.
pub const API_KEY_PREFIX: &str = "lfk_";

/// Why a credential was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// Token signature, shape or expiry is wrong.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The password hash could not be computed (random source or parameters).
    #[error("password hashing failed")]
    Hash,
}

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Role at issue time (authorisation re-reads the user, this is informative).
    pub role: Role,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(<redacted>)")
    }
}

impl TokenSigner {
    /// A signer with the HMAC secret `secret`.
    pub fn new(secret: &[u8]) -> TokenSigner {
        TokenSigner {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Issues an access token for `user`, valid from `now_s` for [`ACCESS_TTL_S`].
    pub fn issue(&self, user: &User, now_s: i64) -> Result<String, AuthError> {
        let claims = Claims {
            sub: user.id.clone(),
            role: user.role,
            iat: now_s,
            exp: now_s + ACCESS_TTL_S,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| AuthError::InvalidToken)
    }

    /// Checks a token's signature and expiry against the system clock (no leeway: an
    /// expired token is refused at once).
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| AuthError::InvalidToken)
    }
}

/// Hashes a password with argon2id and a fresh salt. CPU-heavy: call off the async runtime.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|_| AuthError::Hash)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| AuthError::Hash)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AuthError::Hash)
}

/// Checks a password against a stored PHC string. CPU-heavy: call off the async runtime.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A new random secret (refresh token or API key body), URL-safe.
pub fn random_secret() -> Result<String, AuthError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::getrandom(&mut bytes).map_err(|_| AuthError::Hash)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a secret, hex: what the database stores instead of the secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "u1".into(),
            email: "a@b.c".into(),
            password_hash: String::new(),
            role: Role::Member,
            tier: "authenticated".into(),
            created_at: 0,
        }
    }

    fn now_s() -> i64 {
        crate::storage::now_ms() / 1000
    }

    #[test]
    fn password_verifies_only_itself() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("correct horse", "not a phc string"));
    }

    #[test]
    fn fresh_token_verifies_and_carries_the_user() {
        let signer = TokenSigner::new(b"secret");
        let claims = signer
            .verify(&signer.issue(&user(), now_s()).unwrap())
            .unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.exp - claims.iat, ACCESS_TTL_S);
    }

    #[test]
    fn expired_token_is_refused() {
        let signer = TokenSigner::new(b"secret");
        let token = signer.issue(&user(), now_s() - ACCESS_TTL_S - 1).unwrap();
        assert_eq!(signer.verify(&token), Err(AuthError::InvalidToken));
    }

    #[test]
    fn token_signed_with_another_secret_is_refused() {
        let token = TokenSigner::new(b"other").issue(&user(), now_s()).unwrap();
        assert_eq!(
            TokenSigner::new(b"secret").verify(&token),
            Err(AuthError::InvalidToken)
        );
    }

    #[test]
    fn secrets_are_unique_and_hashed_deterministically() {
        let a = random_secret().unwrap();
        assert_ne!(a, random_secret().unwrap());
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_eq!(secret_hash(&a).len(), 64);
    }
}
