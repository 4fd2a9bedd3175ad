//! Fuzz target: QUIC plan frames (`codec::wire`), as a node and a client receive them.
//!
//! Byte 0 picks the frame kind (even: request, odd: reply), byte 1 the chunk size (1..=256)
//! the bytes are fed to [`FrameReader`] in, so the reader's state machine sees every split
//! of a frame. What must hold for any input:
//! - no panic, no unbounded allocation (the header limits are checked before reserving);
//! - `received()` equals the bytes `push` took;
//! - a decoded message re-encodes to a frame that decodes to the same message (a Deploy's
//!   credentials passed the bounds on decoding, so the encoder takes them too);
//! - a Deploy's body is opened as a sealed plan: it opens, or fails with an `LF-ENV-*` code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkflow_codec::envelope;
use linkflow_codec::wire::{self, FrameKind, FrameReader, Request};

fuzz_target!(|data: &[u8]| {
    let (Some(&kind), Some(&chunk)) = (data.first(), data.get(1)) else {
        return;
    };
    let kind = if kind % 2 == 0 {
        FrameKind::Request
    } else {
        FrameKind::Reply
    };
    let chunk = usize::from(chunk) + 1;
    let frame = &data[2..];

    let mut reader = FrameReader::new(kind);
    let mut taken = 0usize;
    for piece in frame.chunks(chunk) {
        match reader.push(piece) {
            Ok(used) => {
                assert!(used <= piece.len());
                taken += used;
                assert_eq!(reader.received(), taken as u64);
                if used < piece.len() {
                    assert!(reader.is_complete(), "bytes left over before the frame ended");
                    break;
                }
            }
            Err(error) => {
                assert!(error.code().starts_with("LF-WIRE-"), "{error}");
                return;
            }
        }
    }
    let frame = match reader.finish() {
        Ok(frame) => frame,
        Err(error) => {
            assert_eq!(error.code(), "LF-WIRE-001", "{error}");
            return;
        }
    };
    match kind {
        FrameKind::Request => {
            let Ok(request) = wire::decode_request(&frame.header, &frame.meta) else {
                return;
            };
            let mut again = wire::encode_request(&request).expect("a decoded request re-encodes");
            again.extend_from_slice(&frame.body);
            let (decoded, body) =
                wire::decode_request_frame(&again).expect("a re-encoded request decodes");
            assert_eq!(decoded, request);
            assert_eq!(body.as_slice(), frame.body.as_slice());
            if let Request::Deploy(_) = request {
                if let Err(error) = envelope::open(&frame.body) {
                    assert!(error.to_string().starts_with("LF-ENV-"), "{error}");
                }
            } else {
                assert!(frame.body.is_empty());
            }
        }
        FrameKind::Reply => {
            let Ok(reply) = wire::decode_reply(&frame.meta) else {
                return;
            };
            let again = wire::encode_reply(&reply).expect("a decoded reply re-encodes");
            assert_eq!(wire::decode_reply_frame(&again).expect("re-encoded reply decodes"), reply);
        }
    }
});
