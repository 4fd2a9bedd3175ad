//! The bare reference server: LinkFlow's shards, SO_REUSEPORT listeners and HTTP/1.1
//! layer answering every request with the reference workflow's response, without running
//! a workflow. Benchmarks compare the data plane's CPU per request against it.
//!
//! `bare_server [--addr 127.0.0.1:8081] [--shards N] [--unbound]
//! [--echo | --stall-ms MS --stall-every-ms MS | --workflow FILE[:COPIES]...]`
//!
//! `--echo` answers every request with its own body and content type (the local server
//! the `http-request-echo` scenario's HTTP Request node calls). `--stall-ms 100
//! --stall-every-ms 1000` answers the fixed response but stops each shard for 100 ms once
//! a second (the `stall` scenario: coordinated omission made visible).
//!
//! With `--workflow FILE.json[:COPIES]` (repeatable) it runs the full data-plane node instead
//! (what `linkflow dataplane --workflow` runs), so both sides of a comparison come from one
//! build with the same flags. `:COPIES` installs that many copies of the workflow, copy `i`
//! with workflow id `ID-i` and every webhook path suffixed with `i` (`bench` -> `bench7`):
//! how the harness deploys 10,000 workflows or 1,000 schedules without 10,000 files.
//! With `--journal DIR [--durability none|batch|sync] [--record-level all|summary|none]`
//! the node records every execution in a journal there, as `linkflow dataplane --journal`
//! does (the `reference-journal` scenario measures what that costs).

use std::net::SocketAddr;

use std::time::Duration;

use clap::Parser;
use linkflow_bench::servers::{Echo, Stalling, STALL_MS_MAX};
use linkflow_dataplane::ingress::fixed::{start_fixed_server, start_handler_server, FixedResponse};

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
    /// Run the LinkFlow data plane with this n8n workflow (`FILE[:COPIES]`, repeatable)
    /// instead of the fixed response.
    #[arg(long, conflicts_with_all = ["echo", "stall_ms"])]
    workflow: Vec<String>,
    /// Answer every request with its own body and content type.
    #[arg(long, conflicts_with = "stall_ms")]
    echo: bool,
    /// Stop each shard for this many milliseconds once per `--stall-every-ms`.
    #[arg(long, requires = "stall_every_ms")]
    stall_ms: Option<u64>,
    /// Period of the stalls, milliseconds.
    #[arg(long, requires = "stall_ms")]
    stall_every_ms: Option<u64>,
    /// Record executions in a journal in this directory (with `--workflow`).
    #[arg(long, requires = "workflow")]
    journal: Option<std::path::PathBuf>,
    /// Journal durability: none, batch or sync.
    #[arg(long, default_value = "batch", requires = "journal")]
    durability: linkflow_dataplane::journal::Durability,
    /// Journal level of workflows that leave it to the node: all, summary or none.
    #[arg(long, default_value = "all", requires = "journal")]
    record_level: linkflow_dataplane::journal::RecordLevel,
}

/// Most copies of one workflow. Why: bounds start-up time and memory of a benchmark run;
/// the largest scenario deploys 10,000.
const COPIES_MAX: usize = 100_000;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shards = args
        .shards
        .unwrap_or_else(|| linkflow_dataplane::node::affinity_cpus().len().max(1));
    if !args.workflow.is_empty() {
        return run_node(&args, shards);
    }
    let response = FixedResponse {
        status: 200,
        content_type: "application/json; charset=utf-8".into(),
        body: REFERENCE_BODY.to_vec(),
    };
    let (addr, executors, what) = if args.echo {
        let (addr, executors) = start_handler_server(args.addr, shards, args.unbound, || Echo)?;
        (addr, executors, "echo".to_owned())
    } else if let (Some(stall_ms), Some(every_ms)) = (args.stall_ms, args.stall_every_ms) {
        anyhow::ensure!(
            (1..=STALL_MS_MAX).contains(&stall_ms) && stall_ms < every_ms,
            "stall_out_of_range: --stall-ms must be 1..={STALL_MS_MAX} and below --stall-every-ms"
        );
        let (stall, every) = (
            Duration::from_millis(stall_ms),
            Duration::from_millis(every_ms),
        );
        let (addr, executors) = start_handler_server(args.addr, shards, args.unbound, move || {
            Stalling::new(response.clone(), stall, every)
        })?;
        (
            addr,
            executors,
            format!("fixed response, stalling {stall_ms} ms every {every_ms} ms"),
        )
    } else {
        let (addr, executors) = start_fixed_server(args.addr, shards, args.unbound, response)?;
        (addr, executors, "fixed response".to_owned())
    };
    println!("bare_server: {what} on http://{addr} with {shards} shard(s)");
    for executor in executors {
        let _ = executor.join();
    }
    Ok(())
}

/// Runs the data-plane node with the `--workflow` plans until SIGTERM.
fn run_node(args: &Args, shards: usize) -> anyhow::Result<()> {
    use anyhow::Context;
    use linkflow_dataplane::node::{Node, NodeConfig, Placement};
    use linkflow_dataplane::shard::PlanBytes;
    let mut plans = Vec::new();
    for spec in &args.workflow {
        let (path, copies) = match spec.rsplit_once(':') {
            Some((path, n)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
                (path, n.parse::<usize>().context("copies")?)
            }
            _ => (spec.as_str(), 1),
        };
        anyhow::ensure!(
            (1..=COPIES_MAX).contains(&copies),
            "copies_out_of_range: {spec}: 1..={COPIES_MAX} copies"
        );
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
        if copies == 1 {
            plans.push(PlanBytes::from_workflow_json(&text)?);
            continue;
        }
        let workflow: serde_json::Value = serde_json::from_str(&text)?;
        for i in 0..copies {
            plans.push(PlanBytes::from_workflow_json(
                &copy_of(&workflow, i).to_string(),
            )?);
        }
    }
    let mut config = NodeConfig::new(args.addr);
    config.shards = shards;
    if args.unbound {
        config.placement = Placement::Unbound;
    }
    if let Some(dir) = &args.journal {
        let mut journal = linkflow_dataplane::journal::JournalConfig::new(dir);
        journal.durability = args.durability;
        journal.record_level = args.record_level;
        config.journal = Some(journal);
    }
    let node = Node::start(config)?;
    let count = plans.len();
    for plan in plans {
        node.install(plan);
    }
    let journal = match &args.journal {
        Some(dir) => format!(
            ", journal {} ({}, level {})",
            dir.display(),
            args.durability.as_str(),
            args.record_level.as_str()
        ),
        None => String::new(),
    };
    println!(
        "bare_server: LinkFlow data plane on http://{} with {shards} shard(s), {count} plan(s){journal}",
        node.webhook_addr()
    );
    node.run_until_signal()?;
    Ok(())
}

/// Copy `i` of a workflow: id `ID-i` (or `NAME-i`) and webhook paths suffixed with `i`.
fn copy_of(workflow: &serde_json::Value, i: usize) -> serde_json::Value {
    let mut copy = workflow.clone();
    let base = workflow["id"]
        .as_str()
        .or(workflow["name"].as_str())
        .unwrap_or("workflow");
    copy["id"] = format!("{base}-{i}").into();
    if let Some(nodes) = copy["nodes"].as_array_mut() {
        for node in nodes {
            if node["type"] == "n8n-nodes-base.webhook" {
                if let Some(path) = node["parameters"]["path"].as_str() {
                    node["parameters"]["path"] = format!("{path}{i}").into();
                }
            }
        }
    }
    copy
}
