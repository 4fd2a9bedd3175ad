//! The bare reference server: LinkFlow's shards, SO_REUSEPORT listeners and HTTP/1.1
//! layer answering every request with the reference workflow's response, without running
//! a workflow. Benchmarks compare the data plane's CPU per request against it.
//!
//! `bare_server [--addr 127.0.0.1:8081] [--shards N] [--unbound]`
//!
//! With `--workflow FILE.json` it runs the full data-plane node instead (what
//! `linkflow dataplane --workflow` runs), so both sides of a comparison come from one
//! build with the same flags.

use std::net::SocketAddr;

use clap::Parser;
use linkflow_dataplane::ingress::fixed::{start_fixed_server, FixedResponse};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The reference workflow's answer to `{"a":41,"name":"bench"}`.
const REFERENCE_BODY: &[u8] = br#"{"a":41,"name":"bench","b":42}"#;

/// Arguments of the bare server.
#[derive(Debug, Parser)]
#[command(about = "Bare reference HTTP server (same port handling as the data plane)")]
struct Args {
    /// Listener address.
    #[arg(long, default_value = "127.0.0.1:8081")]
    addr: SocketAddr,
    /// Shards (default: one per CPU of the affinity mask).
    #[arg(long)]
    shards: Option<usize>,
    /// Do not pin shards to CPUs.
    #[arg(long)]
    unbound: bool,
    /// Run the LinkFlow data plane with this n8n workflow instead of the fixed response.
    #[arg(long)]
    workflow: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shards = args
        .shards
        .unwrap_or_else(|| linkflow_dataplane::node::affinity_cpus().len().max(1));
    if let Some(path) = &args.workflow {
        return run_node(&args, shards, path);
    }
    let response = FixedResponse {
        status: 200,
        content_type: "application/json; charset=utf-8".into(),
        body: REFERENCE_BODY.to_vec(),
    };
    let (addr, executors) = start_fixed_server(args.addr, shards, args.unbound, response)?;
    println!("bare_server: listening on http://{addr} with {shards} shard(s)");
    for executor in executors {
        let _ = executor.join();
    }
    Ok(())
}

/// Runs the data-plane node with one workflow until SIGTERM.
fn run_node(args: &Args, shards: usize, path: &std::path::Path) -> anyhow::Result<()> {
    use linkflow_dataplane::node::{Node, NodeConfig, Placement};
    use linkflow_dataplane::shard::PlanBytes;
    let plan = PlanBytes::from_workflow_json(&std::fs::read_to_string(path)?)?;
    let mut config = NodeConfig::new(args.addr);
    config.shards = shards;
    if args.unbound {
        config.placement = Placement::Unbound;
    }
    let node = Node::start(config)?;
    node.install(plan);
    println!(
        "bare_server: LinkFlow data plane on http://{} with {shards} shard(s)",
        node.webhook_addr()
    );
    node.run_until_signal()?;
    Ok(())
}
