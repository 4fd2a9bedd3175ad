//! JavaScript engine micro benchmarks: one expression through QuickJS (reused runtime,
//! compiled-function cache warm) and one Code node run over 10 items.
//!
//! Run: `cargo bench -p linkflow-bench --bench js`.

use bumpalo::Bump;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use linkflow_dataplane::engine::expr::mock::MockScope;
use linkflow_dataplane::engine::item::Item;
use linkflow_dataplane::engine::js::JsRuntime;
use linkflow_dataplane::engine::node::{JsMode, JsOutput};
use linkflow_dataplane::engine::value::Value;

/// Items in the Code node benchmark.
const CODE_ITEMS: usize = 10;

fn items(arena: &Bump, count: usize) -> &[Item<'_>] {
    let json = serde_json::json!({
        "body": {"name": "Ann", "price": 2.5, "qty": 3, "tags": ["a", "b"]}
    });
    let value = Value::from_json(arena, &json);
    arena.alloc_slice_fill_iter((0..count).map(|_| Item::new(value)))
}

fn expressions(c: &mut Criterion) {
    let mut rt = JsRuntime::new().expect("runtime");
    let arena = Bump::new();
    let mut scope = MockScope::new(&arena);
    scope.input = items(&arena, 1);
    c.bench_function("js_expression_member_add", |b| {
        b.iter(|| {
            let value = rt
                .eval_expression(&scope, black_box("$json.body.price * $json.body.qty + 1"))
                .expect("evaluates");
            black_box(value)
        })
    });
    c.bench_function("js_template_two_segments", |b| {
        b.iter(|| {
            let value = rt
                .eval_template(
                    &scope,
                    black_box(
                        "Hi {{ $json.body.name.toUpperCase() }}: {{ $json.body.tags.join(',') }}",
                    ),
                )
                .expect("evaluates");
            black_box(value)
        })
    });
}

fn code_node(c: &mut Criterion) {
    let mut rt = JsRuntime::new().expect("runtime");
    let arena = Bump::new();
    let input = items(&arena, CODE_ITEMS);
    let code = "return $input.all().map(i => ({ json: { name: i.json.body.name, total: i.json.body.price * i.json.body.qty } }));";
    c.bench_function("js_code_all_items_10", |b| {
        b.iter(|| {
            // A fresh arena per run, as per execution in the engine, so memory stays flat.
            let scratch = Bump::with_capacity(16 * 1024);
            let mut scope = MockScope::new(&scratch);
            scope.input = input;
            let output = rt.run_code(&scope, code, JsMode::AllItems).expect("runs");
            black_box(matches!(output, JsOutput::Items(items) if items.len() == CODE_ITEMS))
        })
    });
}

fn runtime_setup(c: &mut Criterion) {
    // What a shard pays once: QuickJS runtime, context and the prelude.
    c.bench_function("js_runtime_new", |b| {
        b.iter(|| black_box(JsRuntime::new().expect("runtime")))
    });
}

criterion_group!(benches, expressions, code_node, runtime_setup);
criterion_main!(benches);
