//! Codec micro benchmarks: compiling n8n exports into sealed plans, and reading a plan
//! validated (what a data-plane node does once, when a plan arrives) versus unchecked (what
//! a shard does on every request afterwards).
//!
//! ```text
//! cargo bench -p linkflow-bench --bench codec
//! ```
//!
//! Workflows are generated deterministically (no files needed) by
//! `linkflow_bench::workflows::transform_workflow`: a webhook, then a chain of Set / If /
//! Filter / NoOp nodes with one or two `={{ }}` expressions each, then a Respond to Webhook
//! node; 20 and 500 nodes in total.
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
use linkflow_bench::workflows::transform_workflow;
use linkflow_codec::envelope::{self, HEADER_BYTES};
use linkflow_codec::plan::ArchivedPlan;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Workflow sizes measured (total nodes, trigger and response included).
const NODE_COUNTS: [usize; 2] = [20, 500];

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
                serde_json::to_vec(&transform_workflow(n, 0)).expect("generated JSON"),
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
