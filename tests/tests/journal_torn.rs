//! Torn-write test of the journal (issue #7): a segment truncated in the middle of its last
//! record is cut back to the last valid record at start, the cut is reported, and every
//! other execution is still there (and the node goes on recording after it).

#[path = "dataplane_common/mod.rs"]
mod common;
mod journal_common;

use std::collections::BTreeSet;

use linkflow_dataplane::journal::scan;
use linkflow_dataplane::journal::{segment_file_name, Durability, JournalConfig};
use linkflow_dataplane::node::{Node, NodeConfig, Placement};
use linkflow_dataplane::shard::PlanBytes;

use common::{bench_workflow, wait_for_plans, Client};
use journal_common::{journal_ids, temp_dir};

const EXECUTIONS: usize = 30;

fn start(journal: &std::path::Path) -> Node {
    let mut config = NodeConfig::new("127.0.0.1:0".parse().unwrap());
    config.shards = 1;
    config.placement = Placement::Unbound;
    config.admin_addr = Some("127.0.0.1:0".parse().unwrap());
    let mut journal = JournalConfig::new(journal);
    journal.durability = Durability::Batch;
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
            let body = format!(r#"{{"a":{i},"name":"torn"}}"#);
            let response = client.request("POST", "/webhook/bench", Some(&body));
            assert_eq!(response.status, 200);
            let id = response.header("x-correlation-id").unwrap();
            id.strip_prefix("lf-").unwrap().to_owned()
        })
        .collect()
}

#[test]
fn a_segment_cut_mid_record_recovers_every_other_execution_and_reports_the_cut() {
    let dir = temp_dir("journal-torn");
    let node = start(&dir);
    let ids = run_executions(&node, EXECUTIONS);
    // Drain writes every pending record.
    node.drain();

    // Cut the newest segment of shard 0 in the middle of its last record.
    let segment = dir.join("shard-0").join(segment_file_name(0));
    let bytes = std::fs::read(&segment).unwrap();
    let found = scan::scan(&bytes).unwrap();
    assert_eq!(found.records.len(), EXECUTIONS);
    let last = *found.records.last().unwrap();
    let cut_at = last.offset + u64::from(last.frame_bytes) / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(cut_at)
        .unwrap();

    let node = start(&dir);
    let journal = node.link().journal().unwrap().clone();
    let stats = journal.stats();
    assert_eq!(stats.len(), 1);
    let torn = &stats[0].recovery.torn;
    assert_eq!(torn.len(), 1, "the cut is reported");
    assert_eq!(torn[0].offset, last.offset);
    assert_eq!(torn[0].cut_bytes, cut_at - last.offset);
    assert_eq!(stats[0].recovery.records, EXECUTIONS - 1);

    let admin = node.admin_addr().unwrap();
    let recorded = journal_ids(admin, "");
    let expected: BTreeSet<String> = ids[..EXECUTIONS - 1].iter().cloned().collect();
    assert_eq!(
        recorded, expected,
        "everything before the torn record is kept"
    );
    assert!(!recorded.contains(&ids[EXECUTIONS - 1]));
    let (status, body) = journal_common::http_get(admin, "/metrics");
    assert_eq!(status, 200);
    assert!(body.contains("linkflow_journal_torn_tails_total{shard=\"0\"} 1"));

    // Writing continues after the cut, and the new records are readable in full.
    let more = run_executions(&node, 3);
    for id in &more {
        let (status, body) = journal_common::http_get(admin, &format!("/executions/{id}"));
        assert_eq!(status, 200, "{id}: {body}");
        let record: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(record["status"], "success");
        let item = &record["data"]["resultData"]["runData"]["Edit Fields"][0]["data"]["main"][0][0];
        let a = item["json"]["body"]["a"].as_i64().unwrap();
        assert_eq!(
            item["json"]["b"].as_i64(),
            Some(a + 1),
            "node data kept: {item}"
        );
    }
    node.drain();
    let node = start(&dir);
    let recorded = journal_ids(node.admin_addr().unwrap(), "");
    assert_eq!(recorded.len(), EXECUTIONS - 1 + 3);
    let stats = node.link().journal().unwrap().stats();
    assert!(
        stats[0].recovery.torn.is_empty(),
        "the second start finds a clean journal"
    );
    node.drain();
    let _ = std::fs::remove_dir_all(&dir);
}
