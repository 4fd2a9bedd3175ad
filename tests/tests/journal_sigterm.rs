//! SIGTERM on a node whose executions come from schedules (no webhook connection holds the
//! drain open): the node exits with success within a bound, and a schedule fire that was
//! running when the signal came finishes and is journaled, so the journal agrees with the
//! effects the node had (every HTTP call a fire made belongs to a journaled execution).
//! Runs the real `linkflow dataplane` binary, with and without a NATS exporter configured.

#[path = "dataplane_common/mod.rs"]
mod common;
mod journal_common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Duration;

use common::process::{linkflow_bin, Process};
use common::{chain, every_second_trigger, set_node, webhook};
use journal_common::{http_get, temp_dir};
use serde_json::{json, Value};

/// Longest a node may take to exit after SIGTERM here: the drain waits for the fire in
/// flight, which the peer answers [`PEER_HOLD_AFTER_SIGNAL`] after the signal.
const EXIT_MAX: Duration = Duration::from_secs(10);
/// How long the peer keeps the fire's HTTP call open after the signal was sent.
const PEER_HOLD_AFTER_SIGNAL: Duration = Duration::from_millis(300);
/// Longest the test waits for the first fire to reach the peer (fires every second).
const FIRE_WAIT_MAX: Duration = Duration::from_secs(30);

/// An HTTP peer that holds every request until released, then answers 200 JSON.
struct HoldingPeer {
    addr: SocketAddr,
    /// Requests read so far (each one is a fire's HTTP call).
    received: Arc<AtomicUsize>,
    /// One message per request read.
    arrivals: mpsc::Receiver<()>,
    released: Arc<(Mutex<bool>, Condvar)>,
}

impl HoldingPeer {
    fn start() -> HoldingPeer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(AtomicUsize::new(0));
        let released = Arc::new((Mutex::new(false), Condvar::new()));
        let (arrived, arrivals) = mpsc::channel();
        let (count, gate) = (received.clone(), released.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (count, gate, arrived) = (count.clone(), gate.clone(), arrived.clone());
                std::thread::spawn(move || hold_then_answer(stream, &count, &gate, &arrived));
            }
        });
        HoldingPeer {
            addr,
            received,
            arrivals,
            released,
        }
    }

    fn release(&self) {
        open(&self.released);
    }
}

/// Lets every held request (and every later one) be answered.
fn open(gate: &(Mutex<bool>, Condvar)) {
    let (flag, wake) = gate;
    *flag.lock().unwrap() = true;
    wake.notify_all();
}

fn hold_then_answer(
    mut stream: TcpStream,
    count: &AtomicUsize,
    gate: &(Mutex<bool>, Condvar),
    arrived: &mpsc::Sender<()>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    count.fetch_add(1, Ordering::SeqCst);
    let _ = arrived.send(());
    let (flag, wake) = gate;
    let mut released = flag.lock().unwrap();
    while !*released {
        released = wake.wait(released).unwrap();
    }
    drop(released);
    let body = r#"{"ok":true}"#;
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn write(dir: &Path, name: &str, workflow: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, workflow.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

fn every_second(id: &str, action: Value) -> Value {
    chain(id, vec![every_second_trigger(), action], json!({}))
}

fn start(bin: &std::path::PathBuf, journal: &str, workflows: &[&str], extra: &[&str]) -> Process {
    let mut args = vec!["dataplane", "--shards", "2", "--unbound"];
    args.extend(["--webhook", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
    args.extend(["--journal", journal]);
    for workflow in workflows {
        args.extend(["--workflow", workflow]);
    }
    args.extend(extra);
    Process::start(bin, &args, &[], "webhooks on http://")
}

/// `(id, status)` of every journaled execution of `workflow`.
fn executions(admin: SocketAddr, workflow: &str) -> Vec<(String, String)> {
    let (status, body) = http_get(
        admin,
        &format!("/executions?workflowId={workflow}&limit=200"),
    );
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    assert!(page["nextCursor"].is_null(), "one page holds them: {page}");
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (field("id"), field("status"))
        })
        .collect()
}

fn sigterm_with_a_fire_in_flight(name: &str, extra: &[&str]) {
    let Some(bin) = linkflow_bin() else {
        println!("skipped: the linkflow binary is not built (cargo build --workspace, or set LINKFLOW_BIN)");
        return;
    };
    let dir = temp_dir(name);
    let journal = dir.join("journal").to_string_lossy().into_owned();
    let peer = HoldingPeer::start();
    let calling = write(
        &dir,
        "calling.json",
        &every_second(
            "cron-calling",
            json!({"name": "Call", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
                   "position": [200, 0],
                   "parameters": {"url": format!("http://{}/slow", peer.addr), "options": {}}}),
        ),
    );
    let plain = write(
        &dir,
        "plain.json",
        &every_second("cron-plain", set_node("Set", "fired", "true", "boolean")),
    );
    let mut node = start(&bin, &journal, &[&calling, &plain], extra);
    peer.arrivals
        .recv_timeout(FIRE_WAIT_MAX)
        .expect("a fire calls the peer");
    // The fire now waits on the peer: SIGTERM, then answer it while the node drains.
    let release = {
        let released = peer.released.clone();
        std::thread::spawn(move || {
            std::thread::sleep(PEER_HOLD_AFTER_SIGNAL);
            open(&released);
        })
    };
    let exit = node.terminate_within(EXIT_MAX);
    release.join().unwrap();
    peer.release();
    let (status, took) = exit.unwrap_or_else(|| {
        panic!(
            "no exit within {EXIT_MAX:?} of SIGTERM; log:\n{}",
            node.output()
        )
    });
    println!("{name}: exited {status} {took:?} after SIGTERM");
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        node.output()
    );
    drop(node);
    let called = peer.received.load(Ordering::SeqCst);
    assert!(called >= 1);

    // The journal as the next start recovers it: every call the fires made belongs to a
    // successful execution on record (a fire cut off by the exit would be missing).
    let idle = write(
        &dir,
        "idle.json",
        &chain(
            "idle",
            vec![webhook("idle", "GET", "onReceived", json!({}))],
            json!({}),
        ),
    );
    let restarted = start(&bin, &journal, &[&idle], &[]);
    let admin = restarted.addr_after("admin on http://");
    let calls = executions(admin, "cron-calling");
    assert_eq!(
        calls.len(),
        called,
        "journaled executions of the calling schedule vs. calls the peer received: {calls:?}"
    );
    assert!(calls.iter().all(|(_, s)| s == "success"), "{calls:?}");
    let plain_fires = executions(admin, "cron-plain");
    assert!(
        plain_fires.iter().all(|(_, s)| s == "success"),
        "{plain_fires:?}"
    );
    assert!(
        restarted.stop(),
        "the restarted node exits cleanly on SIGTERM"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_drains_a_schedule_fire_in_flight_and_exits() {
    sigterm_with_a_fire_in_flight("sigterm-schedule", &[]);
}

#[test]
fn sigterm_with_an_unreachable_nats_exporter_still_exits_promptly() {
    // A port that was free a moment ago: connecting is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("nats://127.0.0.1:{port}");
    sigterm_with_a_fire_in_flight("sigterm-schedule-nats", &["--nats-url", &url]);
}
