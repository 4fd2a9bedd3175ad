//! Crypto v1: hash (MD5, SHA1, SHA256, SHA384, SHA512), HMAC with the same digests, and
//! generate (UUID or random string). Output encodings hex and base64.
//!
//! "generate" needs randomness, which the sans-IO engine keeps deterministic: values
//! derive from the execution id the runtime assigns, the execution clock, the node, the
//! run and the item through SHA-256, so two executions never share a value while a run
//! stays reproducible for a given id and clock. Signing (private keys) is not supported.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Digest;

use super::coerce::string_of;
use super::split_out::write_field;
use crate::engine::item::Item;
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_ALGORITHM: &str = "LF-NODE-CRYPTO-001";
const CODE_UNSUPPORTED: &str = "LF-NODE-CRYPTO-002";
/// Longest random string "generate" makes: bounds arena use per item.
const RANDOM_STRING_CHARS_MAX: usize = 1 << 16;

/// Runs a Crypto node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let mut out = ctx.items_with_capacity(input.len());
    for (i, item) in input.iter().enumerate() {
        let action = ctx.param_str("action", i, "hash")?;
        let property = ctx.param_str("dataPropertyName", i, "data")?;
        let value = match action {
            "hash" | "hmac" => {
                let algorithm = ctx.param_str("type", i, "MD5")?;
                let data = string_of(ctx.param("value", i)?);
                let encoding = ctx.param_str("encoding", i, "hex")?;
                let digest = if action == "hash" {
                    hash(algorithm, data.as_bytes())
                } else {
                    let secret = string_of(ctx.param("secret", i)?);
                    hmac(algorithm, secret.as_bytes(), data.as_bytes())
                }
                .map_err(|e| e.at_item(i))?;
                encode(&digest, encoding)
            }
            "generate" => {
                let kind = ctx.param_str("encodingType", i, "uuid")?;
                let length = ctx.param_f64("stringLength", i, 32.0)?;
                // Unique per execution (the runtime's id), node, run and item; the same
                // inputs give the same value, so tests stay deterministic.
                let seed = format!(
                    "{}:{}:{}:{}:{}",
                    ctx.host.execution_id(),
                    ctx.now_ms,
                    ctx.node_index,
                    ctx.run_index,
                    i
                );
                generate(kind, length, seed.as_bytes())
            }
            other => {
                return Err(NodeError::new(
                    CODE_UNSUPPORTED,
                    format!("Crypto action '{other}' is not supported"),
                )
                .at_item(i))
            }
        };
        let value = Value::String(ctx.alloc_str(&value));
        let json = write_field(ctx.arena, item.json, property, value, true);
        out.push(Item {
            json,
            binary: item.binary,
            paired: ctx.paired(i),
        });
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

/// The digest of `data` with n8n's algorithm name.
pub fn hash(algorithm: &str, data: &[u8]) -> Result<Vec<u8>, NodeError> {
    Ok(match algorithm.to_ascii_uppercase().as_str() {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA1" => sha1::Sha1::digest(data).to_vec(),
        "SHA256" => sha2::Sha256::digest(data).to_vec(),
        "SHA384" => sha2::Sha384::digest(data).to_vec(),
        "SHA512" => sha2::Sha512::digest(data).to_vec(),
        other => return Err(unknown_algorithm(other)),
    })
}

/// The HMAC of `data` under `secret`.
pub fn hmac(algorithm: &str, secret: &[u8], data: &[u8]) -> Result<Vec<u8>, NodeError> {
    fn run<M: Mac + hmac::digest::KeyInit>(secret: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
        match <M as hmac::digest::KeyInit>::new_from_slice(secret) {
            Ok(mut mac) => {
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
    Ok(match algorithm.to_ascii_uppercase().as_str() {
        "MD5" => run::<Hmac<md5::Md5>>(secret, data),
        "SHA1" => run::<Hmac<sha1::Sha1>>(secret, data),
        "SHA256" => run::<Hmac<sha2::Sha256>>(secret, data),
        "SHA384" => run::<Hmac<sha2::Sha384>>(secret, data),
        "SHA512" => run::<Hmac<sha2::Sha512>>(secret, data),
        other => return Err(unknown_algorithm(other)),
    })
}

fn unknown_algorithm(name: &str) -> NodeError {
    NodeError::new(
        CODE_ALGORITHM,
        format!("Unsupported hash algorithm '{name}'"),
    )
}

/// Digest bytes as hex (default) or base64.
pub fn encode(bytes: &[u8], encoding: &str) -> String {
    if encoding == "base64" {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    } else {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A UUID v4 or a random string (`ascii`, `hex`, `base64`) derived from `seed`.
pub fn generate(kind: &str, length: f64, seed: &[u8]) -> String {
    let length = if length.is_finite() && length > 0.0 {
        (length as usize).min(RANDOM_STRING_CHARS_MAX)
    } else {
        0
    };
    let mut bytes = Vec::new();
    let mut block = sha2::Sha256::digest(seed).to_vec();
    let needed = if kind == "uuid" { 16 } else { length };
    while bytes.len() < needed {
        bytes.extend_from_slice(&block);
        block = sha2::Sha256::digest(&block).to_vec();
    }
    match kind {
        "uuid" => {
            bytes[6] = (bytes[6] & 0x0f) | 0x40;
            bytes[8] = (bytes[8] & 0x3f) | 0x80;
            let hex = encode(&bytes[..16], "hex");
            format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )
        }
        "hex" => encode(&bytes, "hex").chars().take(length).collect(),
        "base64" => encode(&bytes, "base64").chars().take(length).collect(),
        // ascii: printable characters.
        _ => bytes[..length]
            .iter()
            .map(|b| char::from(b'!' + b % 94))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_known_vectors_including_unicode() {
        assert_eq!(
            encode(&hash("SHA256", "n8n rocks!".as_bytes()).unwrap(), "hex"),
            "c858757abcd2f32c88369dc2b65ab957baebb6c7e9d6cc6d6149dde64bd418a0"
        );
        assert_eq!(
            encode(&hash("MD5", "été ☃".as_bytes()).unwrap(), "base64"),
            "ESGPHxJlch8H7qWNDYVw7A=="
        );
        assert_eq!(
            encode(&hash("MD5", b"").unwrap(), "base64"),
            "1B2M2Y8AsgTpgAmY7PhCfg=="
        );
        assert_eq!(
            encode(&hash("SHA1", b"abc").unwrap(), "hex"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hash("SHA384", b"").unwrap().len(), 48);
        assert_eq!(hash("sha512", b"").unwrap().len(), 64);
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac("SHA256", b"Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(
            encode(&mac, "hex"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn unknown_algorithms_are_errors() {
        assert_eq!(hash("CRC32", b"x").unwrap_err().code, CODE_ALGORITHM);
        assert!(hmac("SHA3-256", b"k", b"x").is_err());
    }

    #[test]
    fn generated_values_have_the_requested_shape_and_are_reproducible() {
        let uuid = generate("uuid", 0.0, b"seed");
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert_eq!(uuid, generate("uuid", 0.0, b"seed"));
        assert_ne!(uuid, generate("uuid", 0.0, b"other"));
        assert_eq!(generate("hex", 70.0, b"s").len(), 70);
        assert_eq!(generate("ascii", 10.0, b"s").chars().count(), 10);
        assert_eq!(generate("base64", 5.0, b"s").len(), 5);
        assert_eq!(generate("ascii", -1.0, b"s"), "");
    }
}
