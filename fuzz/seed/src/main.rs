//! Writes the seed corpora for the codec fuzz targets.
//!
//! ```text
//! cargo run --release --manifest-path fuzz/Cargo.toml -p linkflow-fuzz-seed -- \
//!     [--corpus ../shared/corpus/n8n-workflows] [--reference ../shared/reference/workflows] [--out fuzz/corpus]
//! ```
//!
//! - `workflow_import/`: every `*.json` export under the corpus and reference folders, plus
//!   generated chain workflows (1..=64 nodes) so the fuzzer starts from inputs that compile;
//! - `expr_parse/`: every distinct `=...` parameter string found in those workflows;
//! - `envelope_open/`: the sealed plan of every workflow that compiles;
//! - `wire_frame/`: request frames (hello, list, stats, undeploy, deploy carrying each sealed
//!   plan) and reply frames, each prefixed with the target's kind and chunk-size bytes.
//!
//! File names are the blake3 hash of the content (as libFuzzer names its own finds), so
//! re-running adds nothing twice. The corpora are not checked in (see .gitignore).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use linkflow_codec::wire::{
    self, DeployCredential, DeployRequest, ErrorReply, HelloRequest, Reply, Request,
    UndeployRequest,
};
use linkflow_codec::{compile_export, model, validate};
use serde_json::{json, Value};

/// Largest generated chain. Why: big enough to reach the compiler's multi-node paths, small
/// enough that libFuzzer's per-input time stays in microseconds.
const GENERATED_NODES_MAX: usize = 64;
/// Directory depth searched for `*.json`. Why: the corpus is two levels deep; a bound keeps a
/// mistyped `--corpus /` from walking the whole disk.
const WALK_DEPTH_MAX: usize = 4;
/// Longest seed written. Why: libFuzzer runs are started with `-max_len` of this order.
const SEED_BYTES_MAX: usize = 256 * 1024;

fn main() {
    let mut corpus = PathBuf::from("../shared/corpus/n8n-workflows");
    let mut reference = PathBuf::from("../shared/reference/workflows");
    let mut out = PathBuf::from("fuzz/corpus");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--corpus" => corpus = value.into(),
            "--reference" => reference = value.into(),
            "--out" => out = value.into(),
            other => usage(&format!("unknown flag {other}")),
        }
    }

    let mut workflows: Vec<Vec<u8>> = Vec::new();
    for root in [&corpus, &reference] {
        let mut files = Vec::new();
        walk(root, 0, &mut files);
        if files.is_empty() {
            eprintln!("note: no *.json under {} (skipped)", root.display());
        }
        files.sort();
        for file in files {
            match fs::read(&file) {
                Ok(bytes) => workflows.push(bytes),
                Err(error) => eprintln!("note: {}: {error}", file.display()),
            }
        }
    }
    for nodes in 1..=GENERATED_NODES_MAX {
        workflows.push(serde_json::to_vec_pretty(&chain(nodes)).expect("generated JSON"));
    }

    let mut expressions = BTreeSet::new();
    let mut plans = Vec::new();
    for bytes in &workflows {
        if let Ok(document) = model::import(bytes) {
            for node in &document.workflow.nodes {
                let Some(parameters) = &node.parameters else {
                    continue;
                };
                let parameters = Value::Object(parameters.clone());
                let mut path = String::new();
                validate::walk_expressions(&parameters, &mut path, &mut |_, s| {
                    expressions.insert(s.to_owned());
                });
            }
        }
        if let Ok(sealed) = compile_export(bytes) {
            plans.push(sealed.bytes.to_vec());
        }
    }

    let frames = wire_frames(&plans);
    let written = [
        (
            "wire_frame",
            write_all(&out.join("wire_frame"), frames.iter().map(Vec::as_slice)),
        ),
        (
            "workflow_import",
            write_all(
                &out.join("workflow_import"),
                workflows.iter().map(Vec::as_slice),
            ),
        ),
        (
            "expr_parse",
            write_all(
                &out.join("expr_parse"),
                expressions.iter().map(String::as_bytes),
            ),
        ),
        (
            "envelope_open",
            write_all(&out.join("envelope_open"), plans.iter().map(Vec::as_slice)),
        ),
    ];
    for (target, count) in written {
        println!("{target}: {count} seeds in {}", out.join(target).display());
    }
}

/// Wire frames with the `wire_frame` target's two prefix bytes (kind, chunk size - 1).
fn wire_frames(plans: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut push = |kind: u8, chunk: u8, frame: Vec<u8>| {
        let mut seed = vec![kind, chunk];
        seed.extend_from_slice(&frame);
        frames.push(seed);
    };
    let requests = [
        Request::Hello(HelloRequest {
            protocol_version: wire::PROTOCOL_VERSION,
            client: "seed".into(),
        }),
        Request::List,
        Request::Stats,
        Request::Undeploy(UndeployRequest {
            target: "0123456789abcdef".into(),
        }),
    ];
    for (i, request) in requests.iter().enumerate() {
        push(
            0,
            (i * 37) as u8,
            wire::encode_request(request).expect("encode"),
        );
    }
    for (i, plan) in plans.iter().take(16).enumerate() {
        let deploy = Request::Deploy(DeployRequest {
            plan_bytes: plan.len() as u64,
            activate: i % 2 == 0,
            allow_older: false,
            // Every other deploy carries credentials, so the fuzzer starts from frames
            // with the credentials section filled.
            credentials: (0..i % 2 * 2)
                .map(|k| DeployCredential {
                    kind: "httpHeaderAuth".into(),
                    id: k.to_string(),
                    name: format!("seed {k}"),
                    fields: vec![("name".into(), "X-Key".into()), ("value".into(), "v".into())],
                })
                .collect(),
        });
        let mut frame = wire::encode_request(&deploy).expect("encode");
        frame.extend_from_slice(plan);
        push(0, 255, frame);
    }
    let error = Reply::Error(ErrorReply {
        code: "LF-QUIC-004".into(),
        message: "seed".into(),
    });
    push(1, 3, wire::encode_reply(&error).expect("encode"));
    frames
}

fn usage(problem: &str) -> ! {
    eprintln!("{problem}\nusage: linkflow-fuzz-seed [--corpus DIR] [--reference DIR] [--out DIR]");
    std::process::exit(2)
}

fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && depth < WALK_DEPTH_MAX {
            walk(&path, depth + 1, files);
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
}

fn write_all<'a>(dir: &Path, seeds: impl Iterator<Item = &'a [u8]>) -> usize {
    fs::create_dir_all(dir).unwrap_or_else(|e| usage(&format!("{}: {e}", dir.display())));
    let mut count = 0;
    for seed in seeds.filter(|s| s.len() <= SEED_BYTES_MAX) {
        let name = blake3::hash(seed).to_hex();
        fs::write(dir.join(&name[..40]), seed)
            .unwrap_or_else(|e| usage(&format!("{}: {e}", dir.display())));
        count += 1;
    }
    count
}

/// A webhook followed by `nodes - 1` alternating Set/If/Filter nodes, answered by a Respond
/// node: a workflow that compiles, with an expression per node.
fn chain(nodes: usize) -> Value {
    assert!(nodes >= 1);
    let mut list = vec![json!({
        "id": "n0", "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
        "position": [0, 0],
        "parameters": {"httpMethod": "POST", "path": format!("chain{nodes}"), "responseMode": "lastNode", "options": {}}
    })];
    for i in 1..nodes {
        let name = format!("Step {i}");
        let node = match i % 3 {
            0 => {
                json!({"id": format!("n{i}"), "name": name, "type": "n8n-nodes-base.if", "typeVersion": 2,
                "position": [i * 200, 0], "parameters": {"conditions": {"options": {"caseSensitive": true, "leftValue": "", "typeValidation": "loose"},
                "conditions": [{"id": format!("c{i}"), "leftValue": format!("={{{{ $json.v{} }}}}", i - 1), "rightValue": i,
                "operator": {"type": "number", "operation": "gte"}}], "combinator": "and"}, "options": {}}})
            }
            _ => {
                json!({"id": format!("n{i}"), "name": name, "type": "n8n-nodes-base.set", "typeVersion": 3.4,
                "position": [i * 200, 0], "parameters": {"mode": "manual", "includeOtherFields": true, "options": {},
                "assignments": {"assignments": [{"id": format!("a{i}"), "name": format!("v{i}"),
                "value": format!("={{{{ ($json.body?.a ?? {i}) * {i} + '{i}'.length }}}}"), "type": "number"}]}}})
            }
        };
        list.push(node);
    }
    let mut connections = serde_json::Map::new();
    for i in 0..nodes.saturating_sub(1) {
        let from = if i == 0 {
            "Webhook".to_owned()
        } else {
            format!("Step {i}")
        };
        connections.insert(
            from,
            json!({"main": [[{"node": format!("Step {}", i + 1), "type": "main", "index": 0}]]}),
        );
    }
    json!({"name": format!("chain-{nodes}"), "nodes": list, "connections": connections, "settings": {"executionOrder": "v1"}})
}
