//! `linkflow controlplane --dataplane HOST:PORT --certs DIR` against real
//! `linkflow dataplane --quic` child processes (mutual TLS on loopback):
//!
//! - activate: the plan runs on both nodes, their webhooks answer, and the executions of
//!   both nodes are listed through `--dataplane-admin`, merged newest first; deactivate: 404;
//! - restart: a control plane started again (with one node replaced by an empty one)
//!   deploys the active workflow again; the webhooks answer without re-activation; a node
//!   restarted while the control plane runs gets it back by itself; a workflow a node runs
//!   that the database does not hold active (submitted by hand) is removed;
//! - a node down: activation is refused with `DEPLOY_FAILED` naming the node and its
//!   `LF-QUIC-*` code, the node that installed the plan is rolled back (404 again), and
//!   nothing is recorded active.

mod dataplane_common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dataplane_common::api::{call_webhook, Api};
use dataplane_common::process::{linkflow_bin, Process};
use dataplane_common::{bench_workflow, chain, webhook, WAIT_MAX};
use linkflow_controlplane::certs::ensure_dev_certs;
use serde_json::json;

const NODE_READY: &str = "plans (QUIC, mTLS) on ";
const CONTROLPLANE_READY: &str = "linkflow controlplane: API on http://";

struct Node {
    process: Process,
    webhook: SocketAddr,
    admin: SocketAddr,
    quic: String,
}

fn start_node(bin: &PathBuf, certs: &Path, journal: &Path) -> Node {
    start_node_at(bin, certs, journal, "127.0.0.1:0", "127.0.0.1:0")
}

fn start_node_at(bin: &PathBuf, certs: &Path, journal: &Path, webhook: &str, quic: &str) -> Node {
    let process = Process::start(
        bin,
        &[
            "dataplane",
            "--shards",
            "1",
            "--unbound",
            "--webhook",
            webhook,
            "--admin",
            "127.0.0.1:0",
            "--quic",
            quic,
            "--certs",
            certs.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
        &[],
        NODE_READY,
    );
    Node {
        webhook: process.addr_after("webhooks on http://"),
        admin: process.addr_after("admin on http://"),
        quic: process.addr_after(NODE_READY).to_string(),
        process,
    }
}

fn start_controlplane(bin: &PathBuf, data: &Path, certs: &Path, nodes: &[&Node]) -> (Process, Api) {
    let mut args = vec![
        "controlplane".to_owned(),
        "--data-dir".to_owned(),
        data.to_str().unwrap().to_owned(),
        "--api".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--certs".to_owned(),
        certs.to_str().unwrap().to_owned(),
    ];
    for node in nodes {
        args.extend(["--dataplane".to_owned(), node.quic.clone()]);
        args.extend([
            "--dataplane-admin".to_owned(),
            format!("http://{}", node.admin),
        ]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let process = Process::start(bin, &args, &[], CONTROLPLANE_READY);
    let api = Api::new(process.addr_after(CONTROLPLANE_READY));
    (process, api)
}

#[tokio::test]
async fn controlplane_deploys_over_quic_restores_and_refuses_with_a_node_down() {
    let Some(bin) = linkflow_bin() else {
        println!("skipped: the linkflow binary is not built (cargo test --workspace builds it, or set LINKFLOW_BIN)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("lf-cp-quic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let certs = dir.join("certs");
    ensure_dev_certs(&certs).expect("dev certificates");
    let data = dir.join("data");
    let request = json!({"a": 41, "name": "bench"});
    let expected = json!({"a": 41, "name": "bench", "b": 42});

    let a = start_node(&bin, &certs, &dir.join("journal-a"));
    let b = start_node(&bin, &certs, &dir.join("journal-b"));
    let (controlplane, mut api) = start_controlplane(&bin, &data, &certs, &[&a, &b]);
    let (status, ready) = api.get("/health/ready").await;
    assert_eq!((status, &ready["dataplanes"]), (200, &json!(2)), "{ready}");
    api.owner().await;
    let id = api.create_workflow(&bench_workflow()).await;

    // Activate: both nodes run version 1 and answer.
    let (status, activated) = api.set_active(&id, true).await;
    assert_eq!(status, 200, "{activated}");
    let targets: Vec<(&str, &str, i64)> = activated["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap(),
                t["status"].as_str().unwrap(),
                t["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        vec![
            (a.quic.as_str(), "installed", 1),
            (b.quic.as_str(), "installed", 1)
        ]
    );
    for node in [&a, &b] {
        assert_eq!(
            call_webhook(node.webhook, "bench", &request).await,
            (200, expected.clone())
        );
    }
    // Both nodes' executions, listed through their admin ports, newest first (ISO times
    // compare as text); paging one at a time walks both nodes.
    let listed = api.executions(&id, 2).await;
    let ids: Vec<&str> = listed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{listed:?}");
    let mut nodes: Vec<&str> = ids.iter().map(|i| &i[..2]).collect();
    nodes.sort_unstable();
    assert_eq!(nodes, vec!["0~", "1~"], "{ids:?}");
    assert!(
        listed[0]["startedAt"].as_str() >= listed[1]["startedAt"].as_str(),
        "{listed:?}"
    );
    let (status, first) = api
        .get(&format!("/api/v1/executions?workflowId={id}&limit=1"))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["data"][0]["id"], ids[0]);
    let cursor = first["nextCursor"].as_str().expect("a second page");
    let (status, second) = api
        .get(&format!(
            "/api/v1/executions?workflowId={id}&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["data"][0]["id"], ids[1]);
    let (status, one) = api.get(&format!("/api/v1/executions/{}", ids[1])).await;
    assert_eq!((status, &one["status"]), (200, &json!("success")), "{one}");

    // Deactivate: gone from both.
    let (status, off) = api.set_active(&id, false).await;
    assert_eq!(status, 200, "{off}");
    for node in [&a, &b] {
        assert_eq!(call_webhook(node.webhook, "bench", &request).await.0, 404);
    }

    // Active again, then the control plane restarts while node a is replaced by an empty
    // node: the restarted control plane deploys the active workflow to both on start.
    let (status, again) = api.set_active(&id, true).await;
    assert_eq!(status, 200, "{again}");
    assert!(controlplane.stop(), "controlplane exits cleanly on SIGTERM");
    assert!(a.process.stop(), "dataplane exits cleanly on SIGTERM");
    let a = start_node(&bin, &certs, &dir.join("journal-a2"));
    assert_eq!(call_webhook(a.webhook, "bench", &request).await.0, 404);
    // A plan the control plane never activated, installed on node a by hand.
    let stray = dir.join("stray.json");
    let stray_workflow = chain(
        "strayWorkflow001",
        vec![webhook("stray", "POST", "lastNode", json!({}))],
        json!({}),
    );
    std::fs::write(&stray, stray_workflow.to_string()).unwrap();
    let submitted = std::process::Command::new(&bin)
        .args(["plan", "submit", stray.to_str().unwrap(), "--to", &a.quic])
        .args(["--certs", certs.to_str().unwrap()])
        .output()
        .expect("linkflow plan submit runs");
    assert!(
        submitted.status.success(),
        "{}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    assert_eq!(call_webhook(a.webhook, "stray", &request).await.0, 200);
    let (controlplane, mut api) = start_controlplane(&bin, &data, &certs, &[&a, &b]);
    for node in [&a, &b] {
        assert_eq!(
            call_webhook(node.webhook, "bench", &request).await,
            (200, expected.clone())
        );
    }
    let deadline = Instant::now() + WAIT_MAX;
    while call_webhook(a.webhook, "stray", &request).await.0 != 404 {
        assert!(
            Instant::now() < deadline,
            "the workflow nobody activated still answers after {WAIT_MAX:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api.login().await;

    // Node b restarts on the same addresses while the control plane runs: the watcher
    // reaches it over a new connection and deploys the active workflow again.
    let (b_webhook, b_quic) = (b.webhook.to_string(), b.quic.clone());
    assert!(b.process.stop(), "dataplane exits cleanly on SIGTERM");
    let b = start_node_at(&bin, &certs, &dir.join("journal-b2"), &b_webhook, &b_quic);
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let (status, body) = call_webhook(b.webhook, "bench", &request).await;
        if status == 200 {
            assert_eq!(body, expected);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted node did not get its workflow back within {WAIT_MAX:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (status, off) = api.set_active(&id, false).await;
    assert_eq!(status, 200, "{off}");

    // Node b down: the activation is refused, a is rolled back, nothing is active.
    let b_quic = b.quic.clone();
    assert!(b.process.stop(), "dataplane exits cleanly on SIGTERM");
    let (status, refused) = api.set_active(&id, true).await;
    assert_eq!(status, 502, "{refused}");
    let error = &refused["error"];
    assert_eq!(error["code"], "DEPLOY_FAILED");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(&b_quic), "{message}");
    let failed = &error["details"]["targets"][1];
    assert_eq!(failed["target"], b_quic.as_str());
    assert!(
        failed["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("LF-QUIC-")),
        "{failed}"
    );
    assert_eq!(error["details"]["rollback"][0]["target"], a.quic.as_str());
    assert_eq!(error["details"]["rollback"][0]["status"], "removed");
    assert!(!api.is_active(&id).await);
    assert_eq!(call_webhook(a.webhook, "bench", &request).await.0, 404);

    assert!(controlplane.stop(), "controlplane exits cleanly on SIGTERM");
    assert!(a.process.stop(), "dataplane exits cleanly on SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}
