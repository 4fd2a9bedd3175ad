//! Fuzz target: sealed-plan validation (`codec::envelope::open`).
//!
//! A random mutation of a sealed plan almost always breaks its blake3 hash, which would stop
//! the fuzzer at the cheapest check. So each input is opened twice:
//! 1. as given, which exercises the header checks (magic, version, reserved bytes, length);
//! 2. with the header rewritten to match the bytes after it (correct length and hash), which
//!    hands arbitrary archive bytes to rkyv's bytecheck: the check that stands between the
//!    network and zero-copy access.
//!
//! Whatever `open` accepts must be safe to read: the target deserialises the whole plan and
//! checks that `open_unchecked` sees the same plan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkflow_codec::envelope::{self, SealedBytes, HEADER_BYTES, MAGIC};
use linkflow_codec::plan::{ArchivedPlan, Plan};

fuzz_target!(|data: &[u8]| {
    let raw = envelope::aligned(data);
    if let Ok(plan) = envelope::open(&raw) {
        read_all(plan, &raw);
    }

    let archive = data.get(HEADER_BYTES..).unwrap_or(data);
    let resealed = reseal(archive);
    match envelope::open(&resealed) {
        Ok(plan) => read_all(plan, &resealed),
        Err(error) => assert!(
            error.to_string().starts_with("LF-ENV-006"),
            "a correct header was refused: {error}"
        ),
    }
});

/// A header that matches `archive`: the bytes `open` checks before bytecheck.
fn reseal(archive: &[u8]) -> SealedBytes {
    let mut out = SealedBytes::with_capacity(HEADER_BYTES + archive.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&envelope::FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(blake3::hash(archive).as_bytes());
    out.extend_from_slice(&(archive.len() as u64).to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(archive);
    out
}

/// Reads every byte of an accepted plan, the way a shard eventually will.
fn read_all(plan: &ArchivedPlan, bytes: &[u8]) {
    let owned: Plan = rkyv::deserialize::<Plan, rkyv::rancor::Error>(plan)
        .expect("a plan that passed bytecheck deserialises");
    // SAFETY: `open` accepted exactly these bytes just before.
    let unchecked = unsafe { envelope::open_unchecked(bytes) };
    let again: Plan = rkyv::deserialize::<Plan, rkyv::rancor::Error>(unchecked)
        .expect("the unchecked view deserialises");
    assert_eq!(format!("{owned:?}"), format!("{again:?}"));
    let (sealed, _) = envelope::seal(&owned);
    assert!(
        envelope::open(&sealed).is_ok(),
        "a deserialised plan re-seals"
    );
}
