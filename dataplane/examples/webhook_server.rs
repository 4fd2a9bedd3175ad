//! A data-plane node serving one workflow, for CPU-per-request measurements of the shard
//! runtime alone (no control plane in the binary):
//!
//! ```sh
//! cargo build --release -p linkflow-dataplane --example webhook_server
//! taskset -c 1 target/release/examples/webhook_server WORKFLOW.json 127.0.0.1:19400 &
//! taskset -c 0 wrk -t1 -c32 -d10s --latency -s post.lua http://127.0.0.1:19400/webhook/bench
//! ```
//!
//! `webhook_server --bare ADDR` serves the same shards and HTTP layer with a fixed
//! response and no workflow (the bare server of the comparison). Shards: one per CPU of
//! the affinity mask (`taskset`), pinned. SIGTERM drains.

use linkflow_dataplane::ingress::fixed::{start_fixed_server, FixedResponse};
use linkflow_dataplane::node::{Node, NodeConfig};
use linkflow_dataplane::shard::PlanBytes;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let workflow = args
        .next()
        .ok_or("usage: webhook_server (WORKFLOW.json | --bare) [ADDR]")?;
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:19400".into());
    if workflow == "--bare" {
        let response = FixedResponse {
            status: 200,
            content_type: "application/json; charset=utf-8".into(),
            body: br#"{"a":41,"name":"bench","b":42}"#.to_vec(),
        };
        let shards = linkflow_dataplane::node::affinity_cpus().len().max(1);
        let (bound, executors) = start_fixed_server(addr.parse()?, shards, false, response)?;
        println!("bare server on {bound}");
        for executor in executors {
            let _ = executor.join();
        }
        return Ok(());
    }
    let text = std::fs::read_to_string(&workflow)?;
    let plan = PlanBytes::from_workflow_json(&text).map_err(|e| format!("{workflow}: {e}"))?;
    let node = Node::start(NodeConfig::new(addr.parse()?))?;
    node.install(plan);
    println!("serving {workflow} on {}", node.webhook_addr());
    node.run_until_signal()?;
    Ok(())
}
