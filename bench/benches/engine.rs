//! In-process engine throughput: executions per second on one core for the reference
//! workflow (`../shared/reference/workflows/webhook-bench.json`, body
//! `{"a":41,"name":"bench"}`) and for a 20-node transform workflow. No HTTP, no JSON
//! parsing of the request: a webhook request value goes in, the response bytes come out.
//!
//! Per execution the benchmark does what a shard does per request after HTTP parsing:
//! the route look-up in the data plane's [`Router`] with the path parameters collected in
//! the arena (as `shard::handler` does), the body as an arena value whose strings borrow
//! from the parsed request (`Value::borrow_json`; the shard's parser borrows from the
//! request buffer the same way), then `run_webhook` and the response bytes.
//!
//! Instruction counts: with `LINKFLOW_BENCH_ITERS=N` the binary skips criterion and runs
//! N executions of the reference workflow in a loop, so that
//!
//! ```text
//! LINKFLOW_BENCH_ITERS=10000 valgrind --tool=callgrind --toggle-collect='*execute_reference*' \
//!     target/release/deps/engine-<hash>
//! ```
//!
//! counts instructions per execution (total Ir / N; one warm-up execution runs first).
//! The same run also parses the reference body N times the way a shard's ingress does
//! (`ingress::body::parse_body`): `--toggle-collect='*parse_reference_body*'` counts
//! that request-side step, which the execution count leaves out.

use std::hint::black_box;
use std::path::PathBuf;

use bumpalo::Bump;
use criterion::{Criterion, Throughput};
use linkflow_bench::workflows::transform_workflow;
use linkflow_codec::plan::{ArchivedPlan, ArchivedTrigger};
use linkflow_codec::{compile_workflow, Export};
use linkflow_dataplane::engine::execution::Config;
use linkflow_dataplane::engine::services::EngineServices;
use linkflow_dataplane::engine::value::Value;
use linkflow_dataplane::engine::webhook::{run_webhook, WebhookEnv, WebhookRequest};
use linkflow_dataplane::ingress::body::{parse_body, BodyBuffers};
use linkflow_dataplane::router::{Lookup, Router};
use serde_json::{json, Value as Json};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BASE_URL: &str = "http://127.0.0.1:8080/";
const BENCH_BODY: &str = r#"{"a":41,"name":"bench"}"#;

fn reference_workflow() -> Json {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/workflows/webhook-bench.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).expect("webhook-bench.json is JSON"),
        // The same workflow, for checkouts without ../shared.
        Err(_) => json!({"name": "webhook-bench", "settings": {"executionOrder": "v1"}, "nodes": [
            {"name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2.1, "position": [0, 0],
             "parameters": {"httpMethod": "POST", "path": "bench", "responseMode": "responseNode", "options": {}}},
            {"name": "Edit Fields", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [220, 0],
             "parameters": {"mode": "manual", "includeOtherFields": true, "options": {}, "assignments": {"assignments": [
                 {"id": "b", "name": "b", "value": "={{ $json.body.a + 1 }}", "type": "number"}]}}},
            {"name": "If", "type": "n8n-nodes-base.if", "typeVersion": 2.2, "position": [440, 0],
             "parameters": {"options": {}, "conditions": {"options": {"caseSensitive": true, "leftValue": "", "typeValidation": "strict", "version": 2},
                 "combinator": "and", "conditions": [{"id": "c", "leftValue": "={{ $json.b }}", "rightValue": 10,
                 "operator": {"type": "number", "operation": "gt"}}]}}},
            {"name": "Respond True", "type": "n8n-nodes-base.respondToWebhook", "typeVersion": 1.5, "position": [660, -100],
             "parameters": {"respondWith": "json", "options": {},
                 "responseBody": "={{ { \"a\": $json.body.a, \"name\": $json.body.name, \"b\": $json.b } }}"}},
            {"name": "Respond False", "type": "n8n-nodes-base.respondToWebhook", "typeVersion": 1.5, "position": [660, 100],
             "parameters": {"respondWith": "json", "options": {"responseCode": 200},
                 "responseBody": "={{ { \"a\": $json.body.a, \"name\": $json.body.name, \"b\": $json.b } }}"}}],
            "connections": {
                "Webhook": {"main": [[{"node": "Edit Fields", "type": "main", "index": 0}]]},
                "Edit Fields": {"main": [[{"node": "If", "type": "main", "index": 0}]]},
                "If": {"main": [[{"node": "Respond True", "type": "main", "index": 0}],
                                [{"node": "Respond False", "type": "main", "index": 0}]]}}}),
    }
}

/// One compiled workflow ready to execute.
struct Prepared {
    bytes: rkyv::util::AlignedVec,
    path: &'static str,
    body: Json,
}

impl Prepared {
    fn new(workflow: &Json, path: &'static str) -> Self {
        Prepared {
            bytes: compile_workflow(Export::Json(workflow))
                .expect("workflow compiles")
                .archive(),
            path,
            body: serde_json::from_str(BENCH_BODY).unwrap(),
        }
    }

    fn plan(&self) -> &ArchivedPlan {
        rkyv::access::<ArchivedPlan, rkyv::rancor::Error>(&self.bytes).expect("plan bytes")
    }
}

/// One execution: builds the request value in the arena, runs, returns the response
/// status and body length (so the work cannot be optimised away).
#[inline(never)]
fn execute_reference(
    prepared: &Prepared,
    plan: &ArchivedPlan,
    router: &Router,
    services: &mut EngineServices<'static>,
    arena: &mut Bump,
) -> (u16, usize) {
    arena.reset();
    let arena: &Bump = arena;
    let Lookup::Found(route) = router.lookup("POST", prepared.path, false) else {
        panic!("{} must be routed", prepared.path);
    };
    let route = router.route(route);
    let ArchivedTrigger::Webhook(trigger) = &plan.triggers[route.trigger] else {
        unreachable!("the router only indexes webhook triggers");
    };
    let params = route.params_in(arena, prepared.path);
    let headers = [("content-type", "application/json")];
    let request = WebhookRequest {
        method: "POST",
        path: prepared.path,
        query: "",
        headers: &headers,
        body: Value::borrow_json(arena, &prepared.body),
    };
    let env = WebhookEnv {
        base_url: BASE_URL,
        webhook_url: Some(route.webhook_url()),
        config: Config::new("webhook", "1", 0),
    };
    let run = run_webhook(
        arena,
        plan,
        trigger,
        &request,
        params,
        &mut *services,
        &env,
        &mut |_| None,
    );
    (run.response.status, run.response.body.len())
}

/// The shard's ingress step for the reference body: the bytes as received (copied into
/// the arena, as the connection's buffer holds them) parsed into an arena value. Returns
/// the member count, so the parse is not optimised away. Never in line: callgrind
/// counts it by name.
#[inline(never)]
fn parse_reference_body(body: &str, buffers: &mut BodyBuffers, arena: &mut Bump) -> usize {
    arena.reset();
    let arena: &Bump = arena;
    let bytes = arena.alloc_slice_copy(body.as_bytes());
    match parse_body(arena, "application/json", bytes, buffers) {
        Ok(Value::Object(members)) => members.len(),
        other => panic!("the reference body is a JSON object, got {other:?}"),
    }
}

fn main() {
    let reference = Prepared::new(&reference_workflow(), "/webhook/bench");
    let transform = Prepared::new(&transform_workflow(20, 0), "/webhook/t20");
    let mut arena = Bump::with_capacity(64 * 1024);
    // One set of services for every execution, lent to each: a shard keeps its services
    // (and their JavaScript runtime) for as long as it runs.
    let mut services = EngineServices::fast_only(0);
    // Plans are validated and routed once when they arrive (as a shard does), not per
    // execution.
    let (reference_plan, transform_plan) = (reference.plan(), transform.plan());
    let reference_router = Router::build([reference_plan], BASE_URL);
    let transform_router = Router::build([transform_plan], BASE_URL);
    for (prepared, plan, router) in [
        (&reference, reference_plan, &reference_router),
        (&transform, transform_plan, &transform_router),
    ] {
        let (status, len) = execute_reference(prepared, plan, router, &mut services, &mut arena);
        assert_eq!(status, 200, "{} must answer 200", prepared.path);
        assert!(len > 0, "{} must answer a body", prepared.path);
    }
    if let Some(iterations) = std::env::var("LINKFLOW_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        let mut sink = 0usize;
        for _ in 0..iterations {
            sink += execute_reference(
                black_box(&reference),
                reference_plan,
                &reference_router,
                &mut services,
                &mut arena,
            )
            .1;
        }
        println!("ran {iterations} reference executions ({sink} body bytes)");
        let mut buffers = BodyBuffers::default();
        let mut members = 0usize;
        for _ in 0..iterations {
            members += parse_reference_body(black_box(BENCH_BODY), &mut buffers, &mut arena);
        }
        println!("parsed the reference body {iterations} times ({members} members)");
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("reference_webhook_bench", |b| {
        b.iter(|| {
            execute_reference(
                black_box(&reference),
                reference_plan,
                &reference_router,
                &mut services,
                &mut arena,
            )
        })
    });
    group.bench_function("transform_20_nodes", |b| {
        b.iter(|| {
            execute_reference(
                black_box(&transform),
                transform_plan,
                &transform_router,
                &mut services,
                &mut arena,
            )
        })
    });
    group.finish();
    criterion.final_summary();
}
