//! Sealed plans: an rkyv archive of a [`Plan`] behind a fixed header.
//!
//! Layout (integers little-endian), 64-byte header so the archive starts 16-byte aligned
//! whenever the buffer is:
//!
//! | bytes  | content                                  |
//! |--------|------------------------------------------|
//! | 0..8   | [`MAGIC`]                                |
//! | 8..12  | [`FORMAT_VERSION`]                       |
//! | 12..16 | reserved, zero                           |
//! | 16..48 | blake3 hash of the archive               |
//! | 48..56 | archive length in bytes                  |
//! | 56..64 | reserved, zero                           |
//! | 64..   | the rkyv archive of the [`Plan`]         |
//!
//! A plan is validated once when it is received ([`open`]: header, hash, then rkyv's
//! bytecheck) and read zero-copy afterwards ([`open_unchecked`]). The plan id is the hex of
//! the first [`PLAN_ID_BYTES`] of the hash, so identical plans share an id.

use rkyv::util::AlignedVec;

use crate::plan::{ArchivedPlan, Plan};

/// First bytes of every sealed plan. `\r\n` catches transfers that rewrite line endings.
pub const MAGIC: [u8; 8] = *b"LFPLAN\r\n";
/// Version of the plan layout ([`crate::plan::types`]); bump on any change there.
pub const FORMAT_VERSION: u32 = 5;
/// Size of the header before the archive.
pub const HEADER_BYTES: usize = 64;
/// Bytes of the hash that make the plan id (16 hex digits).
pub const PLAN_ID_BYTES: usize = 8;
/// Alignment the archive needs: the buffer handed to [`open`] must start at it.
pub const ALIGNMENT_BYTES: usize = 16;

/// A buffer aligned for [`open`].
pub type SealedBytes = AlignedVec<ALIGNMENT_BYTES>;

/// Why sealed bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Fewer bytes than the header, or than the header says.
    #[error("LF-ENV-001: truncated plan: {0}")]
    Truncated(String),
    /// Not a LinkFlow plan.
    #[error("LF-ENV-002: not a LinkFlow plan (bad magic)")]
    BadMagic,
    /// Written by another version of the codec.
    #[error("LF-ENV-003: plan format version {found}, this build reads {FORMAT_VERSION}")]
    Version {
        /// The version in the header.
        found: u32,
    },
    /// Reserved header bytes are not zero, or bytes follow the archive.
    #[error("LF-ENV-004: malformed header: {0}")]
    Header(String),
    /// The archive does not match the hash in the header.
    #[error("LF-ENV-005: content hash mismatch (corrupted plan)")]
    Hash,
    /// The archive passed the hash check but is not a valid plan (bytecheck).
    #[error("LF-ENV-006: invalid plan archive: {0}")]
    Archive(String),
    /// The buffer does not start at a 16-byte boundary.
    #[error("LF-ENV-007: plan buffer is not {ALIGNMENT_BYTES}-byte aligned; copy it with `envelope::aligned`")]
    Misaligned,
}

/// The plan as a bare rkyv archive (no envelope), aligned for `rkyv::access`: what
/// [`seal`] wraps and a data plane installs.
pub fn archive(plan: &Plan) -> rkyv::util::AlignedVec {
    // Serialising an in-memory plan cannot fail: the only error sources of rkyv's default
    // serializer are allocation failures, which abort anyway.
    match rkyv::to_bytes::<rkyv::rancor::Error>(plan) {
        Ok(archive) => archive,
        Err(error) => unreachable!("serialising a plan in memory failed: {error}"),
    }
}

/// Seals a plan: returns the bytes and the plan id.
pub fn seal(plan: &Plan) -> (SealedBytes, String) {
    let archive = archive(plan);
    let hash = blake3::hash(&archive);
    let mut out = SealedBytes::with_capacity(HEADER_BYTES + archive.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(hash.as_bytes());
    out.extend_from_slice(&(archive.len() as u64).to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&archive);
    (out, plan_id_of(hash.as_bytes()))
}

fn plan_id_of(hash: &[u8]) -> String {
    hex::encode(&hash[..PLAN_ID_BYTES])
}

/// Copies bytes (e.g. read from a file) into a buffer aligned for [`open`].
pub fn aligned(bytes: &[u8]) -> SealedBytes {
    let mut out = SealedBytes::with_capacity(bytes.len());
    out.extend_from_slice(bytes);
    out
}

/// The plan id recorded in a sealed plan's header (the header is checked, not the archive).
pub fn plan_id(bytes: &[u8]) -> Result<String, EnvelopeError> {
    let (hash, _) = header(bytes)?;
    Ok(plan_id_of(hash))
}

/// Checks the header; returns the hash and the archive.
fn header(bytes: &[u8]) -> Result<(&[u8], &[u8]), EnvelopeError> {
    if bytes.len() < HEADER_BYTES {
        return Err(EnvelopeError::Truncated(format!(
            "{} bytes, the header alone is {HEADER_BYTES}",
            bytes.len()
        )));
    }
    if bytes[..8] != MAGIC {
        return Err(EnvelopeError::BadMagic);
    }
    let found = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if found != FORMAT_VERSION {
        return Err(EnvelopeError::Version { found });
    }
    if bytes[12..16].iter().chain(&bytes[56..64]).any(|&b| b != 0) {
        return Err(EnvelopeError::Header(
            "reserved bytes are not zero".to_owned(),
        ));
    }
    let mut length = [0; 8];
    length.copy_from_slice(&bytes[48..56]);
    let length = u64::from_le_bytes(length);
    let available = (bytes.len() - HEADER_BYTES) as u64;
    if length > available {
        return Err(EnvelopeError::Truncated(format!(
            "the header announces {length} archive bytes, {available} follow"
        )));
    }
    if length < available {
        return Err(EnvelopeError::Header(format!(
            "{} bytes follow the {length}-byte archive",
            available - length
        )));
    }
    Ok((&bytes[16..48], &bytes[HEADER_BYTES..]))
}

/// Validates sealed bytes (header, hash, archive structure) and returns the plan.
pub fn open(bytes: &[u8]) -> Result<&ArchivedPlan, EnvelopeError> {
    if !(bytes.as_ptr() as usize).is_multiple_of(ALIGNMENT_BYTES) {
        return Err(EnvelopeError::Misaligned);
    }
    let (hash, archive) = header(bytes)?;
    if blake3::hash(archive).as_bytes() != hash {
        return Err(EnvelopeError::Hash);
    }
    rkyv::access::<ArchivedPlan, rkyv::rancor::Error>(archive)
        .map_err(|e| EnvelopeError::Archive(e.to_string()))
}

/// Returns the plan of bytes that [`open`] has accepted before, without checking them.
///
/// # Safety
/// `bytes` must be exactly a buffer that [`open`] returned `Ok` for (same contents, same
/// alignment). Anything else is undefined behaviour: rkyv reads offsets without bounds checks.
pub unsafe fn open_unchecked(bytes: &[u8]) -> &ArchivedPlan {
    // SAFETY: the caller guarantees `open` validated these bytes, so the header is
    // well-formed and the archive passed bytecheck.
    unsafe { rkyv::access_unchecked::<ArchivedPlan>(&bytes[HEADER_BYTES..]) }
}
