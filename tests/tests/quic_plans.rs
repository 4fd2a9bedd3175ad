//! QUIC plan submission end to end: a real node with a real receiver (mutual TLS on
//! loopback), the controlplane's `PlanClient`, webhooks called over TCP.
//!
//! - submit a workflow, call its webhook; same plan again is a no-op;
//! - new versions while clients keep calling the webhook: no request fails;
//! - an older version is refused unless asked for; remove it: 404 after;
//! - unknown CA: handshake refused; truncated, garbled, oversized frames and plans with a
//!   flipped byte: clean error replies, and the node keeps serving.

mod dataplane_common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dataplane_common::*;
use linkflow_codec::envelope::{self, SealedBytes};
use linkflow_codec::wire::{self, codes, DeployOutcome, DeployRequest, Request};
use linkflow_controlplane::certs;
use linkflow_controlplane::quic::{
    ClientOptions, ClientTls, DeployOptions, PlanClient, QuicError, RetryPolicy,
};
use linkflow_dataplane::control::{spawn_quic_receiver, ReceiverHandle, ServerTlsFiles};
use linkflow_dataplane::ingress::Limits;
use linkflow_dataplane::node::Node;
use serde_json::{json, Value};

const WORKFLOW_ID: &str = "quic-wf";
const LOAD_CLIENTS: usize = 3;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lf-quic-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A webhook workflow answering `{"version": version, ...}`.
fn workflow(version: u64) -> Value {
    chain(
        WORKFLOW_ID,
        vec![
            webhook("quic", "POST", "lastNode", json!({})),
            set_node("Set", "version", &version.to_string(), "number"),
        ],
        json!({}),
    )
}

/// The workflow compiled by the codec and sealed, stamped with `version` as the control
/// plane does.
fn sealed(version: u64) -> (SealedBytes, String) {
    let text = workflow(version).to_string();
    let document = linkflow_codec::model::import(text.as_bytes()).expect("import");
    let mut compiled =
        linkflow_codec::plan::compiler::compile(&document.workflow).expect("compiles");
    compiled.plan.workflow_version = version;
    envelope::seal(&compiled.plan)
}

struct Fixture {
    node: Option<Node>,
    receiver: Option<ReceiverHandle>,
    certs: PathBuf,
    runtime: tokio::runtime::Runtime,
}

impl Fixture {
    fn start(tag: &str) -> Fixture {
        let certs = temp_dir(tag);
        certs::ensure_dev_certs(&certs).expect("certs");
        let node = start_node(2, Limits::default(), &[]);
        let receiver = spawn_quic_receiver(
            "127.0.0.1:0".parse().unwrap(),
            ServerTlsFiles::from_dir(&certs),
            node.link(),
        )
        .expect("receiver starts");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Fixture {
            node: Some(node),
            receiver: Some(receiver),
            certs,
            runtime,
        }
    }

    fn node(&self) -> &Node {
        self.node.as_ref().unwrap()
    }

    fn quic_addr(&self) -> String {
        self.receiver.as_ref().unwrap().addr().to_string()
    }

    fn client(&self) -> PlanClient {
        self.runtime
            .block_on(PlanClient::connect(
                &self.quic_addr(),
                &ClientTls::from_dir(&self.certs),
            ))
            .expect("client connects")
    }

    fn webhook_status(&self) -> (u16, Value) {
        let mut client = Client::connect(self.node().webhook_addr());
        let response = client.request("POST", "/webhook/quic", Some(r#"{"a":1}"#));
        let body = if response.status == 200 {
            response.json()
        } else {
            Value::Null
        };
        (response.status, body)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(receiver) = self.receiver.take() {
            receiver.stop();
        }
        if let Some(node) = self.node.take() {
            node.drain();
        }
        let _ = std::fs::remove_dir_all(&self.certs);
    }
}

#[test]
fn submit_call_swap_under_load_and_remove() {
    let fixture = Fixture::start("e2e");
    let client = fixture.client();
    let rt = &fixture.runtime;

    let hello = rt.block_on(client.hello()).unwrap();
    assert_eq!(hello.shards, 2);
    assert_eq!(hello.protocol_version, wire::PROTOCOL_VERSION);

    // Submit, and the webhook answers on the first try after the reply.
    let (v1, v1_id) = sealed(1);
    let reply = rt
        .block_on(client.deploy(&v1, DeployOptions::default()))
        .unwrap();
    assert_eq!(reply.outcome, DeployOutcome::Installed);
    assert_eq!(reply.plan.plan_id, v1_id);
    assert_eq!(reply.plan.version, 1);
    assert_eq!(reply.shards.len(), 2);
    let (status, body) = fixture.webhook_status();
    assert_eq!(status, 200);
    assert_eq!(body["version"], 1);

    // Same plan again: no-op, shard generations unchanged.
    let again = rt
        .block_on(client.deploy(&v1, DeployOptions::default()))
        .unwrap();
    assert_eq!(again.outcome, DeployOutcome::Unchanged);
    assert_eq!(again.shards, reply.shards);

    // Validate only: nothing changes.
    let (v9, _) = sealed(9);
    let dry = rt
        .block_on(client.deploy(
            &v9,
            DeployOptions {
                activate: false,
                allow_older: false,
            },
        ))
        .unwrap();
    assert_eq!(dry.outcome, DeployOutcome::Validated);
    assert_eq!(fixture.webhook_status().1["version"], 1);

    // New versions while clients keep calling: every request answered 200.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let newest = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let addr = fixture.node().webhook_addr();
    let load: Vec<_> = (0..LOAD_CLIENTS)
        .map(|_| {
            let (stop, answered, newest, failures) = (
                stop.clone(),
                answered.clone(),
                newest.clone(),
                failures.clone(),
            );
            std::thread::spawn(move || {
                let mut http = Client::connect(addr);
                while !stop.load(Ordering::Relaxed) {
                    let r = http.request("POST", "/webhook/quic", Some(r#"{"a":1}"#));
                    match (r.status, r.json()["version"].as_u64()) {
                        (200, Some(v)) => {
                            newest.fetch_max(v, Ordering::Relaxed);
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => failures.lock().unwrap().push(format!(
                            "{} {}",
                            r.status,
                            String::from_utf8_lossy(&r.body)
                        )),
                    }
                }
            })
        })
        .collect();
    wait_until("load running", || answered.load(Ordering::Relaxed) > 20);
    let mut last = reply;
    for version in 2..=4 {
        let (plan, id) = sealed(version);
        let before = answered.load(Ordering::Relaxed);
        last = rt
            .block_on(client.deploy(&plan, DeployOptions::default()))
            .unwrap();
        assert_eq!(last.outcome, DeployOutcome::Installed);
        assert_eq!(last.plan.plan_id, id);
        assert_eq!(last.replaced.as_ref().map(|p| p.version), Some(version - 1));
        wait_until("requests on the new plan", || {
            answered.load(Ordering::Relaxed) > before + 20
        });
    }
    stop.store(true, Ordering::Relaxed);
    for thread in load {
        thread.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "failed requests during swaps: {failures:?}"
    );
    assert_eq!(newest.load(Ordering::Relaxed), 4);

    // Every shard runs v4 only.
    let listing = rt.block_on(client.list()).unwrap();
    assert_eq!(listing.shards.len(), 2);
    for shard in &listing.shards {
        assert_eq!(shard.plans.len(), 1);
        assert_eq!(shard.plans[0].version, 4);
        assert_eq!(shard.plans[0].plan_id, last.plan.plan_id);
    }

    // An older version is refused unless asked for.
    let (v3, v3_id) = sealed(3);
    let refused = rt
        .block_on(client.deploy(&v3, DeployOptions::default()))
        .unwrap_err();
    assert_eq!(refused.code(), codes::OLDER_VERSION, "{refused}");
    assert_eq!(fixture.webhook_status().1["version"], 4);
    let rollback = rt
        .block_on(client.deploy(
            &v3,
            DeployOptions {
                activate: true,
                allow_older: true,
            },
        ))
        .unwrap();
    assert_eq!(rollback.plan.plan_id, v3_id);
    assert_eq!(fixture.webhook_status().1["version"], 3);

    let stats = rt.block_on(client.stats()).unwrap();
    assert_eq!(stats.shards.len(), 2);
    assert!(stats.shards.iter().map(|s| s.requests).sum::<u64>() > 60);

    // Remove: 404 afterwards; removing again is a clean not-found.
    let removed = rt.block_on(client.undeploy(WORKFLOW_ID)).unwrap();
    assert_eq!(removed.removed.len(), 1);
    assert_eq!(removed.removed[0].plan_id, v3_id);
    assert_eq!(fixture.webhook_status().0, 404);
    let missing = rt.block_on(client.undeploy(WORKFLOW_ID)).unwrap_err();
    assert_eq!(missing.code(), codes::NOT_FOUND);
    rt.block_on(client.close());
}

#[test]
fn client_of_another_ca_is_refused_at_the_handshake() {
    let fixture = Fixture::start("ca");
    let stranger = temp_dir("stranger");
    certs::ensure_dev_certs(&stranger).unwrap();
    let options = ClientOptions {
        retry: RetryPolicy::none(),
        ..ClientOptions::default()
    };
    // A client whose certificate the node's CA did not sign (it also does not trust the
    // node's certificate): refused during the handshake.
    let error = fixture
        .runtime
        .block_on(PlanClient::connect_with(
            &fixture.quic_addr(),
            &ClientTls::from_dir(&stranger),
            options,
        ))
        .unwrap_err();
    assert!(matches!(error, QuicError::Handshake(_)), "{error:?}");
    assert_eq!(error.code(), codes::CONNECT);
    // A client trusting the node but presenting a foreign certificate: refused too.
    let mixed = ClientTls::new(
        fixture.certs.join(certs::CA_FILE),
        stranger.join(certs::CLIENT_CERT_FILE),
        stranger.join(certs::CLIENT_KEY_FILE),
    );
    let refused = fixture.runtime.block_on(async {
        let client = PlanClient::connect_with(&fixture.quic_addr(), &mixed, options).await?;
        client.list().await
    });
    assert!(
        refused.is_err(),
        "a foreign client certificate was accepted"
    );
    // The node still serves a proper client.
    let client = fixture.client();
    let listing = fixture.runtime.block_on(client.list()).unwrap();
    assert_eq!(listing.shards.len(), 2);
    let _ = std::fs::remove_dir_all(&stranger);
}

#[test]
fn bad_frames_and_corrupted_plans_get_clean_errors_and_the_node_keeps_serving() {
    let fixture = Fixture::start("bad");
    let client = fixture.client();
    let rt = &fixture.runtime;
    let (v1, v1_id) = sealed(1);
    rt.block_on(client.deploy(&v1, DeployOptions::default()))
        .unwrap();

    let refusal = |bytes: Vec<u8>| -> String {
        match rt.block_on(client.send_raw(&bytes)) {
            Ok(wire::Reply::Error(error)) => error.code,
            other => panic!("expected an error reply, got {other:?}"),
        }
    };
    let deploy_head = |plan_bytes: u64| {
        wire::encode_request(&Request::Deploy(DeployRequest {
            plan_bytes,
            activate: true,
            allow_older: false,
            credentials: Vec::new(),
        }))
        .unwrap()
    };

    // Truncated: the frame announces more than the stream carries.
    let mut truncated = deploy_head(v1.len() as u64);
    truncated.extend_from_slice(&v1[..v1.len() / 2]);
    assert_eq!(refusal(truncated), "LF-WIRE-001");
    let head_only = deploy_head(10)[..7].to_vec();
    assert_eq!(refusal(head_only), "LF-WIRE-001");
    // Garbled: not a frame at all.
    assert_eq!(refusal(b"GET / HTTP/1.1\r\n\r\n".to_vec()), "LF-WIRE-002");
    // Garbled message inside a valid header.
    let mut garbled = wire::encode_request(&Request::List).unwrap();
    for byte in &mut garbled[wire::HEADER_BYTES..] {
        *byte = 0xff;
    }
    assert_eq!(refusal(garbled), "LF-WIRE-005");
    // Oversized: refused from the header, before the body is read.
    let mut oversized = deploy_head(16);
    oversized[12..16].copy_from_slice(&(wire::PLAN_BYTES_MAX as u32 + 1).to_le_bytes());
    assert_eq!(refusal(oversized), "LF-WIRE-004");
    // Trailing bytes after a complete frame.
    let mut trailing = wire::encode_request(&Request::List).unwrap();
    trailing.extend_from_slice(b"junk");
    assert_eq!(refusal(trailing), "LF-WIRE-007");

    // Plans with a flipped byte: in the header, in the hash, in the archive.
    let (v2, _) = sealed(2);
    for index in [0, 20, envelope::HEADER_BYTES + 5, v2.len() - 1] {
        let mut corrupted = v2.to_vec();
        corrupted[index] ^= 0x40;
        let error = rt
            .block_on(client.deploy(&corrupted, DeployOptions::default()))
            .unwrap_err();
        assert_eq!(
            error.code(),
            codes::PLAN_REFUSED,
            "flip at {index}: {error}"
        );
        assert!(error.to_string().contains("LF-ENV-"), "{error}");
    }

    // The node still serves v1 and still accepts requests.
    let (status, body) = fixture.webhook_status();
    assert_eq!(status, 200);
    assert_eq!(body["version"], 1);
    let listing = rt.block_on(client.list()).unwrap();
    assert!(listing
        .shards
        .iter()
        .all(|s| s.plans.len() == 1 && s.plans[0].plan_id == v1_id));
    rt.block_on(client.close());
}
