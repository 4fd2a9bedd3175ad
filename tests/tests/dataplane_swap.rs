//! Plan swaps under load: requests keep flowing on keep-alive connections while the plan
//! of their workflow is replaced several times; none fails, and each sees one version.

mod dataplane_common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dataplane_common::*;
use linkflow_dataplane::ingress::Limits;
use linkflow_dataplane::shard::PlanBytes;
use serde_json::json;

const CLIENTS: usize = 4;
const SWAPS: u64 = 4;

fn versioned(version: u64) -> serde_json::Value {
    chain(
        "swap-wf",
        vec![
            webhook("swap", "POST", "lastNode", json!({})),
            set_node("Set", "version", &version.to_string(), "number"),
        ],
        json!({}),
    )
}

#[test]
fn plan_swap_under_load_fails_no_request() {
    let node = start_node(2, Limits::default(), &[versioned(0)]);
    let addr = node.webhook_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let newest_seen = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let answered = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (stop, newest_seen, failures, answered) = (
                stop.clone(),
                newest_seen.clone(),
                failures.clone(),
                answered.clone(),
            );
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                while !stop.load(Ordering::Relaxed) {
                    let r = client.request("POST", "/webhook/swap", Some(r#"{"a":1}"#));
                    let version = r.json()["version"].as_u64();
                    match (r.status, version) {
                        (200, Some(v)) if v <= SWAPS => {
                            newest_seen.fetch_max(v, Ordering::Relaxed);
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
    wait_until("load flowing", || answered.load(Ordering::Relaxed) > 50);
    for version in 1..=SWAPS {
        node.install(PlanBytes::from_workflow_json(&versioned(version).to_string()).unwrap());
        wait_until("clients see the new version", || {
            newest_seen.load(Ordering::Relaxed) >= version
        });
    }
    let before = answered.load(Ordering::Relaxed);
    wait_until("load continues after the swaps", || {
        answered.load(Ordering::Relaxed) > before + 50
    });
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    assert_eq!(*failures.lock().unwrap(), Vec::<String>::new());
    let (_, text) = admin_get(&node, "/metrics");
    assert_eq!(
        metric(&text, "http_requests_total{status=\"200\"}"),
        Some(answered.load(Ordering::Relaxed) as f64)
    );
    node.drain();
}
