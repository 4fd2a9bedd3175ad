//! Schedules: a cron trigger fires on exactly one shard (the rendezvous owner of the
//! workflow id), also across plan swaps.

mod dataplane_common;

use dataplane_common::*;
use linkflow_dataplane::ingress::Limits;
use linkflow_dataplane::schedule::owner_shard;
use linkflow_dataplane::shard::PlanBytes;
use serde_json::json;

const SHARDS: usize = 2;

fn every_second() -> serde_json::Value {
    chain(
        "cron-wf",
        vec![
            every_second_trigger(),
            set_node("Set", "fired", "true", "boolean"),
        ],
        json!({}),
    )
}

/// Schedule fires per shard label of the workflow.
fn fires(node: &linkflow_dataplane::node::Node) -> Vec<(usize, f64)> {
    let (_, text) = admin_get(node, "/metrics");
    let prefix = "schedule_fires_total{workflow=\"cron-wf\",shard=\"";
    text.lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .filter_map(|rest| {
            let (shard, value) = rest.split_once("\"} ")?;
            Some((shard.parse().ok()?, value.parse().ok()?))
        })
        .collect()
}

#[test]
fn schedule_fires_on_the_owner_shard_only_across_swaps() {
    let node = start_node(SHARDS, Limits::default(), &[every_second()]);
    let owner = owner_shard("cron-wf", SHARDS);
    wait_until("two fires", || {
        fires(&node).iter().map(|f| f.1).sum::<f64>() >= 2.0
    });
    for _ in 0..3 {
        node.install(PlanBytes::from_workflow_json(&every_second().to_string()).unwrap());
    }
    let before: f64 = fires(&node).iter().map(|f| f.1).sum();
    wait_until("fires after the swaps", || {
        fires(&node).iter().map(|f| f.1).sum::<f64>() >= before + 2.0
    });
    let per_shard = fires(&node);
    assert_eq!(per_shard.len(), 1, "fires on several shards: {per_shard:?}");
    assert_eq!(per_shard[0].0, owner);
    let (_, text) = admin_get(&node, "/metrics");
    let successes = metric(
        &text,
        "workflow_executions_total{workflow=\"cron-wf\",status=\"success\"}",
    )
    .unwrap();
    assert_eq!(successes, per_shard[0].1);
    node.drain();
}
