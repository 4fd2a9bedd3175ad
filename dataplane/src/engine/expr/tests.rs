//! Evaluator tests: JavaScript semantics, n8n's template and error rules, and the golden
//! cases' expressions with n8n's recorded answers.

use bumpalo::Bump;
use linkflow_codec::expr::{compile, ArchivedCompiledExpression};
use serde_json::json;

use super::mock::MockScope;
use super::{evaluate, EvalError, CODE_ENV_DENIED, CODE_NODE_REFERENCE};
use crate::engine::item::Item;
use crate::engine::value::Value;

/// Compiles `source`, archives it as a plan would, and evaluates the archived form.
pub(crate) fn run_with(
    source: &str,
    setup: impl for<'a> FnOnce(&mut MockScope<'a>),
) -> Result<serde_json::Value, EvalError> {
    let compiled = compile(source).expect("expression compiles");
    assert!(
        compiled.fast,
        "{source} should be fast-path: {:?}",
        compiled.js_reasons
    );
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&compiled).expect("archives");
    let archived = rkyv::access::<ArchivedCompiledExpression, rkyv::rancor::Error>(&bytes)
        .expect("valid archive");
    let arena = Bump::new();
    let mut scope = MockScope::new(&arena);
    setup(&mut scope);
    evaluate(archived, &scope).map(|v| v.to_json())
}

/// Evaluates `source` with `$json` = `input`.
pub(crate) fn run(source: &str, input: serde_json::Value) -> serde_json::Value {
    run_with(source, |scope| {
        let value = Value::from_json(scope.arena, &input);
        scope.input = scope.arena.alloc_slice_copy(&[Item::new(value)]);
    })
    .expect("evaluates")
}

fn value(source: &str) -> serde_json::Value {
    run(source, json!({}))
}

#[test]
fn reference_workflow_expressions() {
    let input = json!({"body": {"a": 41, "b": "x"}});
    assert_eq!(run("={{ $json.body.a + 1 }}", input.clone()), json!(42));
    assert_eq!(
        run(
            r#"={{ { "a": $json.body.a, "b": $json.body.b, "n": [1, 2] } }}"#,
            input
        ),
        json!({"a": 41, "b": "x", "n": [1, 2]})
    );
}

#[test]
fn javascript_number_semantics() {
    assert_eq!(value("={{ 0.1 + 0.2 }}"), json!(0.30000000000000004));
    assert_eq!(value("={{ 2 ** 53 + 1 }}"), json!(9007199254740992u64));
    assert_eq!(value("={{ 1 / 0 }}"), json!(null));
    assert_eq!(value("={{ String(1 / 0) }}"), json!("Infinity"));
    assert_eq!(value("={{ String(0 / 0) }}"), json!("NaN"));
    assert_eq!(value("={{ -7 % 3 }}"), json!(-1));
    assert_eq!(value("={{ 7 & 3 | 8 }}"), json!(11));
    assert_eq!(value("={{ -1 >>> 28 }}"), json!(15));
    assert_eq!(value("={{ String(1e21) }}"), json!("1e+21"));
    assert_eq!(value("={{ (123.456).toFixed(1) }}"), json!("123.5"));
    assert_eq!(value("={{ (1.005).toFixed(2) }}"), json!("1.00"));
    assert_eq!(value("={{ (2.5).toFixed(0) }}"), json!("3"));
}

#[test]
fn plus_concatenates_when_either_side_is_a_string() {
    assert_eq!(value("={{ 1 + '2' }}"), json!("12"));
    assert_eq!(value("={{ '3' * '4' }}"), json!(12));
    assert_eq!(value("={{ [1, 2] + 1 }}"), json!("1,21"));
    assert_eq!(value("={{ ({}) + 'x' }}"), json!("[object Object]x"));
    assert_eq!(value("={{ null + 1 }}"), json!(1));
    assert_eq!(value("={{ true + 1 }}"), json!(2));
    assert_eq!(value("={{ String(undefined + 1) }}"), json!("NaN"));
}

#[test]
fn loose_and_strict_equality() {
    assert_eq!(value("={{ 1 == '1' }}"), json!(true));
    assert_eq!(value("={{ 1 === '1' }}"), json!(false));
    assert_eq!(value("={{ null == undefined }}"), json!(true));
    assert_eq!(value("={{ null === undefined }}"), json!(false));
    assert_eq!(value("={{ 0 == '' }}"), json!(true));
    assert_eq!(value("={{ '0' == false }}"), json!(true));
    assert_eq!(value("={{ null == 0 }}"), json!(false));
    assert_eq!(value("={{ [1] == 1 }}"), json!(true));
    assert_eq!(value("={{ NaN == NaN }}"), json!(false));
    assert_eq!(
        value("={{ 'b' > 'a' && '10' < '9' && 10 > '9' }}"),
        json!(true)
    );
}

#[test]
fn arrays_and_objects_compare_by_identity_empty_ones_too() {
    // Every literal is a new object; `=== []` is a common (always false) emptiness test.
    assert_eq!(value("={{ [] === [] }}"), json!(false));
    assert_eq!(value("={{ ({}) === ({}) }}"), json!(false));
    assert_eq!(value("={{ [] == [] }}"), json!(false));
    assert_eq!(value("={{ [1] === [1] }}"), json!(false));
    let input = json!({"tags": [], "other": [], "meta": {}});
    assert_eq!(run("={{ $json.tags === [] }}", input.clone()), json!(false));
    assert_eq!(
        run("={{ $json.tags === $json.other }}", input.clone()),
        json!(false)
    );
    assert_eq!(
        run("={{ $json.meta === $json.meta }}", input.clone()),
        json!(true)
    );
    assert_eq!(run("={{ $json.tags === $json.tags }}", input), json!(true));
}

#[test]
fn truthiness_and_logical_operators() {
    assert_eq!(value("={{ '' || 'fallback' }}"), json!("fallback"));
    assert_eq!(value("={{ 0 ?? 'fallback' }}"), json!(0));
    assert_eq!(value("={{ null ?? 'fallback' }}"), json!("fallback"));
    assert_eq!(value("={{ 'a' && 0 }}"), json!(0));
    assert_eq!(value("={{ !![] && !!{} && !'' }}"), json!(true));
    assert_eq!(
        value("={{ typeof null + typeof 1 + typeof 'x' + typeof undefined }}"),
        json!("objectnumberstringundefined")
    );
}

#[test]
fn utf16_length_and_unicode() {
    assert_eq!(value("={{ '😀'.length }}"), json!(2));
    assert_eq!(value("={{ 'straße'.toUpperCase() }}"), json!("STRASSE"));
    assert_eq!(value("={{ 'a😀b'.slice(1, 3) }}"), json!("😀"));
    assert_eq!(value("={{ 'é😀x'.indexOf('x') }}"), json!(3));
}

#[test]
fn templates_stringify_like_javascript_string() {
    let input = json!({"body": {"name": "Ann", "count": 3, "obj": {"a": 1}, "arr": [1, "x", null], "nothing": null, "flag": false}});
    assert_eq!(
        run(
            "=Hello {{ $json.body.name }}, you have {{ $json.body.count }} new",
            input.clone()
        ),
        json!("Hello Ann, you have 3 new")
    );
    assert_eq!(
        run("=data: {{ $json.body.obj }}", input.clone()),
        json!("data: [object Object]")
    );
    assert_eq!(
        run("=list: {{ $json.body.arr }}", input.clone()),
        json!("list: 1,x,")
    );
    assert_eq!(
        run("=null: {{ $json.body.nothing }}", input.clone()),
        json!("null: ")
    );
    assert_eq!(
        run("=missing: [{{ $json.body.missing }}]", input.clone()),
        json!("missing: []")
    );
    assert_eq!(
        run("=flag={{ $json.body.flag }}", input.clone()),
        json!("flag=false")
    );
    assert_eq!(
        run("=a{{ 1 + 1 }}b{{ 'c' }}d{{ [1,2].length }}", input.clone()),
        json!("a2bcd2")
    );
    assert_eq!(run("=just text", input), json!("just text"));
}

#[test]
fn template_literals_print_null_as_null() {
    assert_eq!(value("={{ `a${null}b${1 + 1}` }}"), json!("anullb2"));
}

#[test]
fn single_segment_keeps_type() {
    assert_eq!(value("={{ [1, 'x'] }}"), json!([1, "x"]));
    assert_eq!(value("={{ 5 }}"), json!(5));
    assert_eq!(value("={{ }}"), json!(null));
}

#[test]
fn type_errors_become_null_and_node_goes_on() {
    let input = json!({"body": {"other": 1}});
    assert_eq!(
        run("={{ $json.body.user.name }}", input.clone()),
        json!(null)
    );
    // Calling a method the value does not have is a TypeError too.
    assert_eq!(
        run("={{ $json.body.other.toUpperCase() }}", input.clone()),
        json!(null)
    );
    // An unknown method name is left to the JavaScript evaluator, which behaves the same.
    assert!(
        !compile("={{ $json.body.other.notAFunction() }}")
            .unwrap()
            .fast
    );
    assert_eq!(run("={{ $json.body.other }}", input.clone()), json!(1));
    assert_eq!(run("=x{{ $json.body.user.name }}y", input), json!("xy"));
}

#[test]
fn json_paths_brackets_and_optional_chaining() {
    let input = json!({"body": {"user": {"name": "Ann", "address": {"zip": 1234}}, "a b": "spaced", "list": ["x", "y"]}});
    assert_eq!(
        run("={{ $json.body.user.name }}", input.clone()),
        json!("Ann")
    );
    assert_eq!(
        run(r#"={{ $json.body["a b"] }}"#, input.clone()),
        json!("spaced")
    );
    assert_eq!(run("={{ $json.body.list[1] }}", input.clone()), json!("y"));
    assert_eq!(
        run("={{ $json.body.user.address.zip }}", input.clone()),
        json!(1234)
    );
    assert_eq!(
        run(
            "={{ $json.body.user?.nope?.x ?? 'fallback' }}",
            input.clone()
        ),
        json!("fallback")
    );
    assert_eq!(run("={{ $json.body.nope }}", input), json!(null));
}

#[test]
fn syntax_error_fails_at_run_time() {
    let err = compile("={{ $json.body.a + }}").unwrap_err();
    let invalid = linkflow_codec::expr::CompiledExpression::invalid("={{ $json.body.a + }}", &err);
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&invalid).unwrap();
    let archived = rkyv::access::<ArchivedCompiledExpression, rkyv::rancor::Error>(&bytes).unwrap();
    let arena = Bump::new();
    let scope = MockScope::new(&arena);
    let e = evaluate(archived, &scope).unwrap_err();
    assert_eq!(e.code, linkflow_codec::expr::CODE_SYNTAX);
}

#[test]
fn missing_node_fails_the_node() {
    let e = run_with("={{ $('Nope').item.json.x }}", |_| {}).unwrap_err();
    assert_eq!(e.code, CODE_NODE_REFERENCE);
    let e = run_with("={{ $node['Nope'].json.x }}", |_| {}).unwrap_err();
    assert_eq!(e.code, CODE_NODE_REFERENCE);
}

#[test]
fn env_access_follows_policy() {
    let e = run_with("={{ $env.HOME }}", |_| {}).unwrap_err();
    assert_eq!(e.code, CODE_ENV_DENIED);
    let v = run_with("={{ $env.HOME }}", |s| {
        s.env = Some(vec![("HOME", "/root")])
    })
    .unwrap();
    assert_eq!(v, json!("/root"));
}

fn node_scope(scope: &mut MockScope<'_>) {
    let arena = scope.arena;
    let item = |j: serde_json::Value| Item::new(Value::from_json(arena, &j));
    let items = arena.alloc_slice_copy(&[item(json!({"name": "a"})), item(json!({"name": "b"}))]);
    let webhook = arena.alloc_slice_copy(&[item(json!({"body": {"label": "L2"}}))]);
    let changed = arena.alloc_slice_copy(&[
        item(json!({"name": "a-changed"})),
        item(json!({"name": "b-changed"})),
    ]);
    scope.nodes = vec![
        ("Items", Some(items)),
        ("Webhook", Some(webhook)),
        ("Never", None),
    ];
    scope.input = changed;
    scope.item_index = 1;
}

#[test]
fn node_references_after_set() {
    let v = |s: &str| run_with(s, node_scope).unwrap();
    assert_eq!(v("={{ $json.name }}"), json!("b-changed"));
    assert_eq!(v("={{ $('Items').item.json.name }}"), json!("b"));
    assert_eq!(
        v("={{ $('Webhook').first().json.body.label }}"),
        json!("L2")
    );
    assert_eq!(
        v("={{ $input.all().map(i => i.json.name).join('|') }}"),
        json!("a-changed|b-changed")
    );
    assert_eq!(
        v("={{ $('Items').all().map(i => i.json.name) }}"),
        json!(["a", "b"])
    );
    assert_eq!(v("={{ $node['Items'].json.name }}"), json!("b"));
    assert_eq!(v("={{ $node.Items.json.name }}"), json!("b"));
    assert_eq!(v("={{ $('Never').isExecuted }}"), json!(false));
    assert_eq!(v("={{ $input.item.json.name }}"), json!("b-changed"));
    assert_eq!(
        v("={{ $input.first().json.name + $input.last().json.name }}"),
        json!("a-changedb-changed")
    );
    assert_eq!(
        v("={{ $itemIndex + 1 }} of {{ $input.all().length }}"),
        json!("2 of 2")
    );
}

#[test]
fn workflow_execution_and_prev_node() {
    let v = |s: &str| run_with(s, |_| {}).unwrap();
    assert_eq!(
        v("={{ $workflow.name }}/{{ $workflow.id }}/{{ $workflow.active }}"),
        json!("Mock workflow/wf1/true")
    );
    assert_eq!(
        v("={{ $execution.id }} {{ $execution.mode }}"),
        json!("1 test")
    );
    assert_eq!(v("={{ $prevNode.name }}"), json!("Previous"));
    assert_eq!(v("={{ $runIndex }}"), json!(0));
}

#[test]
fn json_stringify_and_parse() {
    let input = json!({"body": {"obj": {"a": 1, "b": [true, null], "c": "é"}, "raw": "{\"x\": [1, 2], \"y\": {\"z\": \"w\"}}", "n": 1.5, "u": "quote\" and ☃"}});
    assert_eq!(
        run("={{ JSON.stringify($json.body.obj) }}", input.clone()),
        json!("{\"a\":1,\"b\":[true,null],\"c\":\"é\"}")
    );
    assert_eq!(
        run(
            "={{ JSON.stringify($json.body.obj, null, 2) }}",
            input.clone()
        ),
        json!("{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null\n  ],\n  \"c\": \"é\"\n}")
    );
    assert_eq!(
        run("={{ JSON.parse($json.body.raw) }}", input.clone()),
        json!({"x": [1, 2], "y": {"z": "w"}})
    );
    assert_eq!(
        run("={{ $json.body.obj.toJsonString() }}", input.clone()),
        json!("{\"a\":1,\"b\":[true,null],\"c\":\"é\"}")
    );
    assert_eq!(
        run("={{ JSON.stringify($json.body.n) }}", input.clone()),
        json!("1.5")
    );
    assert_eq!(
        run("={{ JSON.stringify($json.body.u) }}", input.clone()),
        json!("\"quote\\\" and ☃\"")
    );
    assert_eq!(run("={{ JSON.parse('{bad') }}", input), json!(null));
}

#[test]
fn luxon_fixed_dates() {
    let input = json!({"body": {"date": "2024-03-15T12:00:00Z", "start": "2024-01-01T00:00:00Z", "end": "2024-01-11T12:00:00Z"}});
    let r = |s: &str| run(s, input.clone());
    assert_eq!(
        r("={{ DateTime.fromISO('2024-01-02T03:04:05Z').toFormat('yyyy-MM-dd HH:mm:ss') }}"),
        json!("2024-01-02 03:04:05")
    );
    assert_eq!(
        r("={{ DateTime.fromISO('2024-01-31T00:00:00Z').plus({ months: 1 }).toISODate() }}"),
        json!("2024-02-29")
    );
    assert_eq!(
        r("={{ DateTime.fromISO('2024-01-02T03:04:05Z').toISO() }}"),
        json!("2024-01-02T03:04:05.000Z")
    );
    assert_eq!(
        r("={{ DateTime.fromISO('2024-01-02T03:04:05Z').toMillis() }}"),
        json!(1704164645000u64)
    );
    assert_eq!(
        r("={{ DateTime.fromISO($json.body.date).toFormat('cccc, LLLL d yyyy') }}"),
        json!("Friday, March 15 2024")
    );
    assert_eq!(
        r("={{ DateTime.fromISO($json.body.end).diff(DateTime.fromISO($json.body.start), 'days').days }}"),
        json!(10.5)
    );
    assert_eq!(
        r("={{ $json.body.date.toDateTime().format('yyyy/MM/dd') }}"),
        json!("2024/03/15")
    );
    assert_eq!(
        r("={{ DateTime.fromISO('2024-01-02T03:04:05Z') }}"),
        json!("2024-01-02T03:04:05.000Z")
    );
    assert_eq!(
        r("={{ $now > DateTime.fromISO('2020-01-01T00:00:00Z') }}"),
        json!(true)
    );
    assert_eq!(
        r("={{ $today.hour === 0 && $today.minute === 0 }}"),
        json!(true)
    );
}

#[test]
fn now_uses_the_injected_clock_and_zone() {
    assert_eq!(
        run_with("={{ $now.toISO() }}", |_| {}).unwrap(),
        json!("2024-01-02T03:04:05.000Z")
    );
    let berlin = run_with("={{ $now.toISO() }}", |s| s.timezone = "Europe/Berlin").unwrap();
    assert_eq!(berlin, json!("2024-01-02T04:04:05.000+01:00"));
    assert_eq!(
        run_with("={{ $today.toISO() }}", |_| {}).unwrap(),
        json!("2024-01-02T00:00:00.000Z")
    );
    assert_eq!(
        run_with("={{ $now.minus(1, 'day').toFormat('yyyy-MM-dd') }}", |_| {}).unwrap(),
        json!("2024-01-01")
    );
    assert_eq!(
        run_with("={{ new Date().toISOString() }}", |_| {}).unwrap(),
        json!("2024-01-02T03:04:05.000Z")
    );
    assert_eq!(
        run_with("={{ Date.now() }}", |_| {}).unwrap(),
        json!(1704164645000u64)
    );
}

#[test]
fn deep_arrow_recursion_is_bounded() {
    // Nested maps are bounded by the AST; this checks the call-depth guard does not trip
    // on ordinary nesting.
    assert_eq!(
        value("={{ [[1, 2], [3]].map(a => a.map(x => x * 2)) }}"),
        json!([[2, 4], [6]])
    );
}

/// Prints the cost of the reference workflow's expressions (no assertion on time: run it
/// with `cargo test --release -p linkflow-dataplane expression_cost -- --ignored --nocapture`).
#[test]
#[ignore = "measurement, run on demand in release mode"]
fn expression_cost() {
    let sources = [
        "={{ $json.body.a + 1 }}",
        r#"={{ { "a": $json.body.a, "b": $json.body.b, "sum": $json.body.a + 1 } }}"#,
    ];
    for source in sources {
        let compiled = compile(source).unwrap();
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&compiled).unwrap();
        let archived =
            rkyv::access::<ArchivedCompiledExpression, rkyv::rancor::Error>(&bytes).unwrap();
        let mut arena = Bump::new();
        const ROUNDS: u32 = 1_000_000;
        let start = std::time::Instant::now();
        for _ in 0..ROUNDS {
            arena.reset();
            let mut scope = MockScope::new(&arena);
            let json = [("a", Value::Number(41.0)), ("b", Value::String("x"))];
            let body = arena.alloc_slice_copy(&json);
            let root = arena.alloc_slice_copy(&[("body", Value::Object(body))]);
            scope.input = arena.alloc_slice_copy(&[Item::new(Value::Object(root))]);
            std::hint::black_box(evaluate(archived, &scope).unwrap());
        }
        println!(
            "{source}: {:?} per evaluation (scope setup included)",
            start.elapsed() / ROUNDS
        );
    }
}

/// Evaluates every fast-path expression of the corpus against an item with a few fields
/// and every node reference resolving: none may panic. Prints outcome counts.
/// Run with `cargo test -p linkflow-dataplane corpus_expressions_evaluate -- --ignored --nocapture`.
#[test]
#[ignore = "reads the shared corpus; run on demand"]
fn corpus_expressions_evaluate() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/n8n-workflows");
    let mut files = Vec::new();
    let mut pending = vec![dir];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if s.starts_with('=') => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let (mut ok, mut failed, mut total) = (0, 0, 0);
    let mut codes: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let input = json!({"body": {"a": 1, "text": "Hello", "items": [1, 2]}, "id": "x", "date": "2024-01-02T03:04:05Z"});
    for path in files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(workflow) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let names: Vec<String> = workflow["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["name"].as_str().map(str::to_owned))
            .collect();
        let mut sources = Vec::new();
        for node in workflow["nodes"].as_array().into_iter().flatten() {
            walk(&node["parameters"], &mut sources);
        }
        for source in sources {
            let Ok(compiled) = compile(&source) else {
                continue;
            };
            if !compiled.fast {
                continue;
            }
            total += 1;
            let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&compiled).unwrap();
            let archived =
                rkyv::access::<ArchivedCompiledExpression, rkyv::rancor::Error>(&bytes).unwrap();
            let arena = Bump::new();
            let mut scope = MockScope::new(&arena);
            let item = Item::new(Value::from_json(&arena, &input));
            scope.input = arena.alloc_slice_copy(&[item]);
            let items: &[Item<'_>] = arena.alloc_slice_copy(&[item]);
            scope.nodes = names
                .iter()
                .map(|n| (&*arena.alloc_str(n), Some(items)))
                .collect();
            scope.env = Some(Vec::new());
            match evaluate(archived, &scope) {
                Ok(_) => ok += 1,
                Err(e) => {
                    failed += 1;
                    let key = format!(
                        "{} {}",
                        e.code,
                        e.message.chars().take(60).collect::<String>()
                    );
                    *codes.entry(key).or_default() += 1;
                }
            }
        }
    }
    println!("fast expressions evaluated: {total}, ok: {ok}, node-failing errors: {failed}");
    for (code, count) in codes {
        println!("  {count:5} {code}");
    }
}
