//! NATS export test of the journal (issue #7), against the JetStream server named by
//! `LINKFLOW_TEST_NATS_URL`. The exporter reaches NATS through a proxy the test can cut:
//! records made while NATS is unreachable stay in the journal and are published when it
//! comes back; a drained node publishes what is left before it stops, and a restart resumes
//! from the persisted cursor; a consumer restarted mid-stream misses nothing. The stream
//! itself is read back message by message, so a record the exporter never published is told
//! apart from one a consumer never got. Every execution arrives at least once, and any duplicate
//! carries the same execution id.

#[path = "dataplane_common/mod.rs"]
mod common;
mod journal_common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linkflow_dataplane::journal::{Durability, JournalConfig};
use linkflow_dataplane::node::{Node, NodeConfig, Placement};
use linkflow_dataplane::shard::PlanBytes;

use common::{bench_workflow, wait_for_plans, Client};
use journal_common::temp_dir;

/// Longest any wait on the exporter or the consumer may take.
const WAIT_MAX: Duration = Duration::from_secs(60);

/// A TCP proxy to NATS that can refuse and cut every connection.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (accept_up, accept_open) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !accept_up.load(Ordering::Relaxed) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let mut open = accept_open.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Proxy { addr, up, open }
    }

    /// Cuts every connection and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::Relaxed);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::Relaxed);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

fn prefix() -> String {
    format!("lftest{}", std::process::id())
}

fn start(journal: &std::path::Path, nats: &str, stream: &str) -> Node {
    let mut config = NodeConfig::new("127.0.0.1:0".parse().unwrap());
    config.shards = 2;
    config.placement = Placement::Unbound;
    config.admin_addr = Some("127.0.0.1:0".parse().unwrap());
    let mut journal = JournalConfig::new(journal);
    journal.durability = Durability::Batch;
    journal.nats_url = Some(nats.to_owned());
    journal.nats_stream = stream.to_owned();
    journal.nats_subject_prefix = prefix();
    config.journal = Some(journal);
    let node = Node::start(config).expect("node starts");
    node.install(PlanBytes::from_workflow_json(&bench_workflow().to_string()).unwrap());
    wait_for_plans(&node, 1);
    node
}

fn run_executions(node: &Node, n: usize) -> Vec<String> {
    let mut client = Client::connect(node.webhook_addr());
    (0..n)
        .map(|i| {
            let body = format!(r#"{{"a":{i},"name":"nats"}}"#);
            let response = client.request("POST", "/webhook/bench", Some(&body));
            assert_eq!(response.status, 200);
            let id = response.header("x-correlation-id").unwrap();
            id.strip_prefix("lf-").unwrap().to_owned()
        })
        .collect()
}

/// The executions of each phase and the exporter's counters after it.
#[derive(Default)]
struct Phases(Vec<String>);

impl Phases {
    fn run(&mut self, phase: &str, node: &Node, n: usize) -> BTreeSet<String> {
        let ids = run_executions(node, n);
        let (first, last) = (&ids[0], &ids[ids.len() - 1]);
        self.0.push(format!("{phase}: {first} … {last}"));
        ids.into_iter().collect()
    }

    fn exporter(&mut self, phase: &str, node: &Node) {
        let stats = node.journal_export().expect("export runs").stats();
        let count = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        self.0.push(format!(
            "{phase}: published {} (duplicates {}), failures {}, segments skipped {}",
            count(&stats.published),
            count(&stats.duplicates),
            count(&stats.failures),
            count(&stats.segments_skipped)
        ));
    }

    fn describe(&self) -> String {
        self.0.join("; ")
    }
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < WAIT_MAX, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads messages of `node_id` with a durable pull consumer into `counts` (execution id ->
/// copies received) until `stop_after` messages were taken (then the consumer is dropped
/// mid-stream) or, without it, until every id of `expected` arrived or [`WAIT_MAX`]
/// passed. Transient errors of the pull stream are reported and read past: only what never
/// arrives counts as missing. Returns the messages taken.
async fn consume(
    url: &str,
    stream: &str,
    node_id: &str,
    stop_after: Option<usize>,
    expected: &BTreeSet<String>,
    counts: &mut BTreeMap<String, usize>,
) -> usize {
    use async_nats::jetstream::consumer::{pull, AckPolicy};
    use futures_lite::StreamExt;
    let client = async_nats::connect(url).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let stream = jetstream.get_stream(stream).await.unwrap();
    let consumer = stream
        .get_or_create_consumer(
            "journal-test",
            pull::Config {
                durable_name: Some("journal-test".to_owned()),
                ack_policy: AckPolicy::Explicit,
                // Messages the stopped consumer had pulled but not acknowledged come back
                // to the restarted one after this.
                ack_wait: Duration::from_secs(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut messages = consumer
        .stream()
        .expires(Duration::from_millis(500))
        .messages()
        .await
        .unwrap();
    let started = Instant::now();
    let mut taken = 0;
    loop {
        let done = match stop_after {
            Some(n) => taken >= n,
            None => expected.iter().all(|id| counts.contains_key(id)),
        };
        if done || started.elapsed() > WAIT_MAX {
            return taken;
        }
        let message = match tokio::time::timeout(Duration::from_secs(1), messages.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(error))) => {
                println!("consumer: pull error (read past): {error}");
                continue;
            }
            Ok(None) => return taken,
            Err(_) => continue,
        };
        let event: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
        message.ack().await.unwrap();
        taken += 1;
        if event["nodeId"] != node_id {
            continue;
        }
        let id = event["execution"]["id"].as_str().unwrap().to_owned();
        let header = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.to_string())
            .unwrap();
        assert_eq!(
            header,
            format!("{node_id}:{id}"),
            "dedup id is the execution id"
        );
        assert_eq!(
            message.subject.as_str(),
            format!("{}.execution.completed", prefix())
        );
        assert_eq!(event["event"], "linkflow.execution.completed");
        *counts.entry(id).or_default() += 1;
    }
}

/// Execution ids of `node_id` stored in the stream, read message by message (direct get by
/// sequence): what the exporter put there, whatever any consumer saw.
async fn stored_ids(url: &str, stream: &str, node_id: &str) -> BTreeSet<String> {
    let client = async_nats::connect(url).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream.get_stream(stream).await.unwrap();
    let state = stream.info().await.unwrap().state.clone();
    let mut ids = BTreeSet::new();
    for sequence in state.first_sequence..=state.last_sequence {
        let Ok(message) = stream.get_raw_message(sequence).await else {
            continue;
        };
        let event: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
        if event["nodeId"] == node_id {
            ids.insert(event["execution"]["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

#[test]
fn export_survives_a_nats_outage_a_restart_and_a_consumer_restart() {
    let Ok(url) = std::env::var("LINKFLOW_TEST_NATS_URL") else {
        println!("skipped: LINKFLOW_TEST_NATS_URL is not set");
        return;
    };
    let target: SocketAddr = url
        .trim_start_matches("nats://")
        .parse()
        .expect("LINKFLOW_TEST_NATS_URL is nats://HOST:PORT");
    let proxy = Proxy::start(target);
    let proxied = format!("nats://{}", proxy.addr);
    let dir = temp_dir("journal-nats");
    let stream = format!("LF_TEST_{}", std::process::id());

    // What each phase ran and what the exporter counted, for the failure message.
    let mut phases = Phases::default();
    let node = start(&dir, &proxied, &stream);
    let mut expected: BTreeSet<String> = phases.run("before the outage", &node, 40);
    let published = |node: &Node| -> u64 {
        node.journal_export()
            .map_or(0, |e| e.stats().published.load(Ordering::Relaxed))
    };
    wait_until("first records exported", || published(&node) >= 40);
    phases.exporter("exported before the outage", &node);

    // NATS unreachable: executions go on, the journal keeps them, export stalls.
    proxy.cut();
    expected.extend(phases.run("during the outage", &node, 40));
    wait_until("the exporter notices the outage", || {
        node.journal_export()
            .is_some_and(|e| e.stats().connected.load(Ordering::Relaxed) == 0)
    });
    proxy.restore();
    wait_until("export resumes after the outage", || published(&node) >= 80);
    phases.exporter("exported after the outage", &node);

    // Restart: the drain published what was left and the cursor persisted, so only new
    // records are published (a re-sent one is acknowledged as a duplicate).
    node.drain();
    let node = start(&dir, &proxied, &stream);
    expected.extend(phases.run("after the restart", &node, 20));
    wait_until("export resumes after a restart", || published(&node) >= 20);
    phases.exporter("exported after the restart", &node);
    let resent = node
        .journal_export()
        .map_or(0, |e| e.stats().duplicates.load(Ordering::Relaxed));
    assert_eq!(
        resent,
        0,
        "re-sent after the restart; {}",
        phases.describe()
    );
    // The last executions go out during the drain, without waiting for them here.
    expected.extend(phases.run("before the last drain", &node, 10));
    node.drain();

    let node_id = std::fs::read_to_string(dir.join("node-id"))
        .unwrap()
        .trim()
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut counts = BTreeMap::new();
    let stored = runtime.block_on(async {
        let stored = stored_ids(&url, &stream, &node_id).await;
        // A consumer stopped mid-stream and restarted (same durable name) misses nothing.
        let first = consume(&url, &stream, &node_id, Some(30), &expected, &mut counts).await;
        assert_eq!(first, 30);
        consume(&url, &stream, &node_id, None, &expected, &mut counts).await;
        let client = async_nats::connect(url.as_str()).await.unwrap();
        let _ = async_nats::jetstream::new(client)
            .delete_stream(&stream)
            .await;
        stored
    });
    let not_stored: Vec<_> = expected.difference(&stored).collect();
    let received: BTreeSet<String> = counts.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&received).collect();
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    println!(
        "nats: {} executions, {} stored, {} received, {} missing, {duplicates} duplicate deliveries (same execution id)",
        expected.len(),
        stored.len(),
        received.len(),
        missing.len()
    );
    assert!(
        not_stored.is_empty(),
        "not exported (absent from the stream): {not_stored:?}; {}",
        phases.describe()
    );
    assert_eq!(
        stored, expected,
        "nothing foreign or invented in the stream"
    );
    assert!(
        missing.is_empty(),
        "stored but never delivered to the consumer: {missing:?}"
    );
    assert_eq!(received, expected, "nothing foreign or invented");
    let _ = std::fs::remove_dir_all(&dir);
}
