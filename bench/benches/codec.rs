//! Codec micro benchmarks: compiling n8n exports into sealed plans, and reading a plan
//! validated (what a data-plane node does once, when a plan arrives) versus unchecked (what
//! a shard does on every request afterwards).
//!
//! ```text
//! cargo bench -p linkflow-bench --bench codec
//! ```
//!
//! Workflows are generated deterministically (no files needed): a webhook, then a chain of
//! Set / If / Filter / NoOp nodes with one or two `={{ }}` expressions each, then a Respond
//! to Webhook node; 20 and 500 nodes in total.
//!
//! - `compile/N_nodes`: export bytes -> import -> validate -> compile -> seal
//!   (`linkflow_codec::compile_export`), i.e. what `linkflow compile` and the control plane do.
//! - `open/checked/N_nodes`: `envelope::open` (header, blake3 of the archive, rkyv bytecheck).
//! - `open/bytecheck_only/N_nodes`: rkyv's bytecheck without the hash, to split the cost.
//! - `open/unchecked/N_nodes`: `envelope::open_unchecked`, the per-request access path.
//!
//! Each `open` variant also reads every node's name length and kind so the access is real.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use linkflow_codec::envelope::{self, HEADER_BYTES};
use linkflow_codec::plan::ArchivedPlan;
use serde_json::{json, Value};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Workflow sizes measured (total nodes, trigger and response included).
const NODE_COUNTS: [usize; 2] = [20, 500];

/// Webhook -> `nodes - 2` transform nodes in rotation -> Respond to Webhook.
fn chain_workflow(nodes: usize) -> Value {
    assert!(nodes >= 3, "a chain needs a trigger, a step and a response");
    let mut list = vec![
        json!({"name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
        "position": [0, 0], "webhookId": "00000000-0000-4000-8000-000000000000",
        "parameters": {"httpMethod": "POST", "path": format!("chain{nodes}"), "responseMode": "responseNode", "options": {}}}),
    ];
    let mut connections = serde_json::Map::new();
    let mut previous = "Webhook".to_owned();
    for i in 0..nodes - 2 {
        let mut node = match i % 4 {
            0 => {
                json!({"type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {"mode": "manual",
                "includeOtherFields": true, "options": {}, "assignments": {"assignments": [
                {"id": format!("n{i}"), "name": format!("n{i}"), "value": format!("={{{{ ($json.body.a || 0) + {i} }}}}"), "type": "number"},
                {"id": format!("s{i}"), "name": format!("s{i}"), "value": "={{ $json.body.name.toUpperCase() + '-' + $json.body.a }}", "type": "string"}]}}})
            }
            1 => {
                json!({"type": "n8n-nodes-base.if", "typeVersion": 2.2, "parameters": {"options": {}, "conditions": {
                "options": {"caseSensitive": true, "leftValue": "", "typeValidation": "strict", "version": 2}, "combinator": "and",
                "conditions": [{"id": format!("c{i}"), "leftValue": format!("={{{{ $json.n{} }}}}", i - 1), "rightValue": 0,
                    "operator": {"type": "number", "operation": "gte"}}]}}})
            }
            2 => {
                json!({"type": "n8n-nodes-base.filter", "typeVersion": 2.2, "parameters": {"options": {}, "conditions": {
                "options": {"caseSensitive": true, "leftValue": "", "typeValidation": "strict", "version": 2}, "combinator": "and",
                "conditions": [{"id": format!("f{i}"), "leftValue": "={{ $json.body.name }}", "rightValue": "",
                    "operator": {"type": "string", "operation": "notEmpty", "singleValue": true}}]}}})
            }
            _ => json!({"type": "n8n-nodes-base.noOp", "typeVersion": 1, "parameters": {}}),
        };
        let name = format!("Step {i}");
        node["name"] = json!(name);
        node["id"] = json!(format!("00000000-0000-4000-8000-{:012}", i + 1));
        node["position"] = json!([200 * (i + 1), 0]);
        list.push(node);
        connections.insert(
            previous,
            json!({"main": [[{"node": name, "type": "main", "index": 0}]]}),
        );
        previous = name;
    }
    list.push(json!({"name": "Respond", "type": "n8n-nodes-base.respondToWebhook", "typeVersion": 1.1,
        "position": [200 * nodes, 0], "parameters": {"respondWith": "allIncomingItems", "options": {}}}));
    connections.insert(
        previous,
        json!({"main": [[{"node": "Respond", "type": "main", "index": 0}]]}),
    );
    json!({"name": format!("chain-{nodes}"), "settings": {"executionOrder": "v1"}, "nodes": list, "connections": connections})
}

/// Touches every node so the access cannot be optimised away.
fn read_nodes(plan: &ArchivedPlan) -> usize {
    plan.nodes
        .iter()
        .map(|node| node.name.len() + node.type_name.len() + node.input_count.to_native() as usize)
        .sum()
}

fn main() {
    let exports: Vec<(usize, Vec<u8>)> = NODE_COUNTS
        .iter()
        .map(|&n| {
            (
                n,
                serde_json::to_vec(&chain_workflow(n)).expect("generated JSON"),
            )
        })
        .collect();
    let sealed: Vec<(usize, envelope::SealedBytes)> = exports
        .iter()
        .map(|(n, bytes)| {
            let plan = linkflow_codec::compile_export(bytes)
                .unwrap_or_else(|e| panic!("the {n}-node workflow compiles: {e:?}"));
            assert_eq!(envelope::open(&plan.bytes).map(|p| p.nodes.len()), Ok(*n));
            // Same input, same bytes: a second compile must agree.
            let again = linkflow_codec::compile_export(bytes).expect("compiles twice");
            assert_eq!(&plan.bytes[..], &again.bytes[..]);
            eprintln!(
                "{n} nodes: export {} bytes, sealed plan {} bytes",
                bytes.len(),
                plan.bytes.len()
            );
            (*n, plan.bytes)
        })
        .collect();

    let mut criterion = Criterion::default().configure_from_args();
    let mut compile = criterion.benchmark_group("compile");
    for (n, bytes) in &exports {
        compile.throughput(Throughput::Bytes(bytes.len() as u64));
        compile.bench_with_input(
            BenchmarkId::from_parameter(format!("{n}_nodes")),
            bytes,
            |b, bytes| {
                b.iter(|| linkflow_codec::compile_export(black_box(bytes)).map(|p| p.bytes.len()))
            },
        );
    }
    compile.finish();

    let mut open = criterion.benchmark_group("open");
    for (n, bytes) in &sealed {
        open.throughput(Throughput::Bytes(bytes.len() as u64));
        open.bench_with_input(
            BenchmarkId::new("checked", format!("{n}_nodes")),
            bytes,
            |b, bytes| b.iter(|| envelope::open(black_box(bytes)).map(read_nodes)),
        );
        open.bench_with_input(
            BenchmarkId::new("bytecheck_only", format!("{n}_nodes")),
            bytes,
            |b, bytes| {
                b.iter(|| {
                    rkyv::access::<ArchivedPlan, rkyv::rancor::Error>(black_box(
                        &bytes[HEADER_BYTES..],
                    ))
                    .map(read_nodes)
                })
            },
        );
        open.bench_with_input(
            BenchmarkId::new("unchecked", format!("{n}_nodes")),
            bytes,
            |b, bytes| {
                // SAFETY: `envelope::open` accepted these exact bytes above (the assert in main).
                b.iter(|| read_nodes(unsafe { envelope::open_unchecked(black_box(bytes)) }))
            },
        );
    }
    open.finish();
    criterion.final_summary();
}
