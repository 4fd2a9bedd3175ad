use super::*;

fn deploy_frame(plan: &[u8]) -> Vec<u8> {
    let mut frame = encode_request(&Request::Deploy(DeployRequest {
        plan_bytes: plan.len() as u64,
        activate: true,
        allow_older: false,
    }))
    .unwrap();
    frame.extend_from_slice(plan);
    frame
}

fn sample_reply() -> Reply {
    Reply::Deployed(DeployReply {
        plan: PlanRef {
            workflow_id: "wf".into(),
            version: 3,
            plan_id: "00112233aabbccdd".into(),
        },
        outcome: DeployOutcome::Installed,
        replaced: Some(PlanRef {
            workflow_id: "wf".into(),
            version: 2,
            plan_id: "ffeeddccbbaa9988".into(),
        }),
        shards: vec![
            ShardVersion {
                shard: 0,
                generation: 4,
            },
            ShardVersion {
                shard: 1,
                generation: 4,
            },
        ],
    })
}

#[test]
fn every_request_round_trips() {
    let requests = [
        Request::Hello(HelloRequest {
            protocol_version: PROTOCOL_VERSION,
            client: "test".into(),
        }),
        Request::Undeploy(UndeployRequest {
            target: "wf".into(),
        }),
        Request::List,
        Request::Stats,
    ];
    for request in requests {
        let frame = encode_request(&request).unwrap();
        let (decoded, body) = decode_request_frame(&frame).unwrap();
        assert_eq!(decoded, request);
        assert!(body.is_empty());
    }
}

#[test]
fn deploy_body_arrives_aligned_and_whole() {
    let plan: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let frame = deploy_frame(&plan);
    let (request, body) = decode_request_frame(&frame).unwrap();
    assert!(matches!(request, Request::Deploy(d) if d.plan_bytes == 1000 && d.activate));
    assert_eq!(body.as_slice(), plan.as_slice());
    assert_eq!(body.as_ptr() as usize % crate::envelope::ALIGNMENT_BYTES, 0);
}

#[test]
fn reply_round_trips() {
    let reply = sample_reply();
    assert_eq!(
        decode_reply_frame(&encode_reply(&reply).unwrap()).unwrap(),
        reply
    );
    let error = Reply::Error(ErrorReply {
        code: codes::PLAN_REFUSED.into(),
        message: "no".into(),
    });
    assert_eq!(
        decode_reply_frame(&encode_reply(&error).unwrap()).unwrap(),
        error
    );
}

#[test]
fn frames_assemble_from_one_byte_chunks() {
    let plan = vec![7u8; 300];
    let frame = deploy_frame(&plan);
    let mut reader = FrameReader::new(FrameKind::Request);
    for byte in &frame {
        assert!(!reader.is_complete());
        assert_eq!(reader.push(std::slice::from_ref(byte)).unwrap(), 1);
    }
    assert!(reader.is_complete());
    assert_eq!(reader.received(), frame.len() as u64);
    let done = reader.finish().unwrap();
    assert_eq!(done.body.as_slice(), plan.as_slice());
    assert!(matches!(
        decode_request(&done.header, &done.meta).unwrap(),
        Request::Deploy(_)
    ));
}

#[test]
fn every_truncation_is_a_truncated_error() {
    let frame = deploy_frame(&[1, 2, 3, 4, 5]);
    for cut in 0..frame.len() {
        let error = decode_request_frame(&frame[..cut]).unwrap_err();
        assert_eq!(error.code(), "LF-WIRE-001", "cut at {cut}: {error}");
    }
}

#[test]
fn bytes_after_the_frame_are_refused() {
    let mut frame = encode_request(&Request::List).unwrap();
    frame.extend_from_slice(b"xx");
    let error = decode_request_frame(&frame).unwrap_err();
    assert_eq!(error, WireError::Trailing { bytes: 2 });
    let mut reader = FrameReader::new(FrameKind::Request);
    assert_eq!(reader.push(&frame).unwrap(), frame.len() - 2);
    assert!(reader.is_complete());
}

#[test]
fn bad_magic_version_and_kind_are_refused() {
    let frame = encode_request(&Request::List).unwrap();
    let mut bad = frame.clone();
    bad[0] ^= 0xff;
    assert_eq!(decode_request_frame(&bad).unwrap_err(), WireError::BadMagic);
    let mut bad = frame.clone();
    bad[4] = 9;
    assert_eq!(
        decode_request_frame(&bad).unwrap_err().code(),
        "LF-WIRE-003"
    );
    // A reply where a request belongs.
    let reply = encode_reply(&sample_reply()).unwrap();
    assert_eq!(
        decode_request_frame(&reply).unwrap_err(),
        WireError::Kind { found: 2 }
    );
}

#[test]
fn oversized_lengths_are_refused_before_any_payload() {
    let mut header = encode_request(&Request::List).unwrap()[..HEADER_BYTES].to_vec();
    header[8..12].copy_from_slice(&(META_BYTES_MAX as u32 + 1).to_le_bytes());
    let mut reader = FrameReader::new(FrameKind::Request);
    let error = reader.push(&header).unwrap_err();
    assert_eq!(error.code(), "LF-WIRE-004");
    let mut header = encode_request(&Request::List).unwrap()[..HEADER_BYTES].to_vec();
    header[12..16].copy_from_slice(&(PLAN_BYTES_MAX as u32 + 1).to_le_bytes());
    assert!(matches!(
        decode_request_frame(&header).unwrap_err(),
        WireError::Oversized { what: "plan", .. }
    ));
    // A reply never has a body.
    let mut reply = encode_reply(&sample_reply()).unwrap();
    reply[12] = 1;
    assert_eq!(
        decode_reply_frame(&reply).unwrap_err().code(),
        "LF-WIRE-004"
    );
    // The encoder refuses too.
    let huge = Request::Deploy(DeployRequest {
        plan_bytes: PLAN_BYTES_MAX as u64 + 1,
        activate: true,
        allow_older: false,
    });
    assert_eq!(encode_request(&huge).unwrap_err().code(), "LF-WIRE-004");
}

#[test]
fn garbled_messages_are_malformed_not_panics() {
    let frame = encode_reply(&sample_reply()).unwrap();
    let mut malformed = 0;
    for index in HEADER_BYTES..frame.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = frame.clone();
            bad[index] ^= flip;
            // Either still a valid reply (a flipped byte inside a string) or a clean error.
            if let Err(error) = decode_reply_frame(&bad) {
                assert_eq!(error.code(), "LF-WIRE-005", "{error}");
                malformed += 1;
            }
        }
    }
    assert!(malformed > 0);
}

#[test]
fn body_must_match_the_message() {
    let mut frame = encode_request(&Request::List).unwrap();
    frame[12..16].copy_from_slice(&3u32.to_le_bytes());
    frame.extend_from_slice(&[1, 2, 3]);
    assert_eq!(
        decode_request_frame(&frame).unwrap_err().code(),
        "LF-WIRE-008"
    );
    let mut frame = deploy_frame(&[1, 2, 3, 4]);
    frame[12..16].copy_from_slice(&3u32.to_le_bytes());
    frame.pop();
    assert_eq!(
        decode_request_frame(&frame).unwrap_err().code(),
        "LF-WIRE-008"
    );
}

#[test]
fn empty_message_is_malformed() {
    let mut header = encode_request(&Request::List).unwrap()[..HEADER_BYTES].to_vec();
    header[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(
        decode_request_frame(&header).unwrap_err().code(),
        "LF-WIRE-005"
    );
}
