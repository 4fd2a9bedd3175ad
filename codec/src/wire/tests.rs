use super::*;

fn deploy_frame(plan: &[u8]) -> Vec<u8> {
    let mut frame = encode_request(&Request::Deploy(DeployRequest {
        plan_bytes: plan.len() as u64,
        activate: true,
        allow_older: false,
        credentials: Vec::new(),
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
        credentials: Vec::new(),
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

fn header_credential(id: &str, secret: &str) -> DeployCredential {
    DeployCredential {
        kind: "httpHeaderAuth".into(),
        id: id.into(),
        name: format!("Key {id}"),
        fields: vec![
            ("name".into(), "X-Api-Key".into()),
            ("value".into(), secret.into()),
        ],
    }
}

fn deploy_with(credentials: Vec<DeployCredential>, plan: &[u8]) -> Request {
    Request::Deploy(DeployRequest {
        plan_bytes: plan.len() as u64,
        activate: true,
        allow_older: false,
        credentials,
    })
}

/// A request frame built without the sender's checks (a hostile or broken client).
fn unchecked_frame(request: &Request, plan: &[u8]) -> Vec<u8> {
    let meta = rkyv::to_bytes::<rkyv::rancor::Error>(request).unwrap();
    let mut frame = encode_header(FrameKind::Request, meta.len(), plan.len())
        .unwrap()
        .to_vec();
    frame.extend_from_slice(&meta);
    frame.extend_from_slice(plan);
    frame
}

#[test]
fn deploy_credentials_round_trip_with_the_plan() {
    let plan = [9u8; 40];
    let credentials = vec![
        header_credential("7", "s3cret-value"),
        header_credential("8", ""),
    ];
    let request = deploy_with(credentials.clone(), &plan);
    let mut frame = encode_request(&request).unwrap();
    frame.extend_from_slice(&plan);
    let (decoded, body) = decode_request_frame(&frame).unwrap();
    assert_eq!(decoded, request);
    assert_eq!(body.as_slice(), &plan[..]);
    let Request::Deploy(deploy) = decoded else {
        panic!("a deploy")
    };
    assert_eq!(deploy.credentials, credentials);
}

#[test]
fn credentials_never_show_in_debug_or_json() {
    let request = deploy_with(vec![header_credential("7", "s3cret-value")], &[1]);
    let debug = format!("{request:?}");
    assert!(!debug.contains("s3cret-value"), "{debug}");
    assert!(
        debug.contains("X-Api-Key") || debug.contains("\"value\""),
        "{debug}"
    );
    let json = serde_json::to_string(&request).unwrap();
    assert!(
        !json.contains("s3cret-value") && !json.contains("credentials"),
        "{json}"
    );
}

#[test]
fn credentials_beyond_their_bounds_are_refused_on_both_sides() {
    let many = (0..=DEPLOY_CREDENTIALS_MAX)
        .map(|i| header_credential(&i.to_string(), "v"))
        .collect();
    let mut wide = header_credential("1", "v");
    wide.fields = (0..=CREDENTIAL_FIELDS_MAX)
        .map(|i| (format!("f{i}"), "v".to_owned()))
        .collect();
    let mut long_value = header_credential("1", "v");
    long_value.fields[1].1 = "x".repeat(CREDENTIAL_VALUE_BYTES_MAX + 1);
    let mut long_id = header_credential("1", "s3cret");
    long_id.id = "i".repeat(CREDENTIAL_LABEL_BYTES_MAX + 1);
    let mut no_type = header_credential("1", "s3cret");
    no_type.kind.clear();
    let mut empty_key = header_credential("1", "s3cret");
    empty_key.fields[0].0.clear();
    let cases: Vec<(Vec<DeployCredential>, &str)> = vec![
        (many, "at most 1024"),
        (vec![wide], "65 fields"),
        (vec![long_value], "field `value` of 65537 bytes"),
        (vec![long_id], "id of 257 bytes"),
        (vec![no_type], "has no type"),
        (vec![empty_key], "field name of 0 bytes"),
        (
            vec![
                header_credential("1", "s3cret"),
                header_credential("1", "s3cret"),
            ],
            "given twice",
        ),
    ];
    for (credentials, expected) in cases {
        let request = deploy_with(credentials, &[1, 2]);
        let sent = encode_request(&request).unwrap_err();
        assert_eq!(sent.code(), "LF-WIRE-009", "{sent}");
        let received = decode_request_frame(&unchecked_frame(&request, &[1, 2])).unwrap_err();
        assert_eq!(received, sent);
        let message = received.to_string();
        assert!(message.contains(expected), "{message} lacks {expected}");
        assert!(!message.contains("s3cret"), "{message}");
    }
}

#[test]
fn credentials_at_their_bounds_are_accepted() {
    let mut full = header_credential(&"i".repeat(CREDENTIAL_LABEL_BYTES_MAX), "v");
    full.name = "n".repeat(CREDENTIAL_LABEL_BYTES_MAX);
    full.fields = (0..CREDENTIAL_FIELDS_MAX)
        .map(|i| (format!("f{i}"), String::new()))
        .collect();
    full.fields[0].1 = "x".repeat(CREDENTIAL_VALUE_BYTES_MAX);
    let request = deploy_with(vec![full], &[1]);
    let mut frame = encode_request(&request).unwrap();
    frame.push(1);
    assert_eq!(decode_request_frame(&frame).unwrap().0, request);
}
