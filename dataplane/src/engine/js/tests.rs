//! Runtime, limits, value bridge and expression context tests.

use bumpalo::Bump;

use super::test_scope::{json, TestScope};
use super::{JsErrorKind, JsLimits, JsRuntime};
use crate::engine::value::Value;

fn text(value: Value<'_>) -> String {
    let mut out = Vec::new();
    value.write_json(&mut out);
    String::from_utf8(out).expect("utf-8")
}

/// Evaluates `code` as one expression segment over `input[0]` and prints the result.
fn eval(rt: &mut JsRuntime, input: &str, code: &str) -> String {
    let arena = Bump::new();
    let scope = TestScope::new(&arena, input)
        .node("Items", r#"[{"name":"orig-a"},{"name":"orig-b"}]"#)
        .node("Webhook", r#"[{"body":{"label":"L"}}]"#);
    match rt.eval_expression(&scope, code) {
        Ok(value) => text(value),
        Err(error) => format!("ERR {}: {}", error.code(), error.message),
    }
}

fn small_limits() -> JsLimits {
    JsLimits {
        memory_bytes: 16 * 1024 * 1024,
        deadline_ms: 100,
        stack_bytes: 128 * 1024,
    }
}

#[test]
fn infinite_loop_hits_deadline_and_runtime_stays_usable() {
    let mut rt = JsRuntime::with_limits(small_limits()).expect("runtime");
    let arena = Bump::new();
    let scope = TestScope::new(&arena, "[{}]");
    let error = rt
        .eval_expression(&scope, "(() => { while (true) {} })()")
        .expect_err("loop must stop");
    assert_eq!(error.kind, JsErrorKind::TimeLimit);
    assert_eq!(error.code(), "LF-JS-002");
    // A `try/catch` in user code must not swallow the interrupt either.
    let error = rt
        .eval_expression(
            &scope,
            "(() => { for(;;) { try { while(true){} } catch (e) {} } })()",
        )
        .expect_err("loop must stop");
    assert_eq!(error.kind, JsErrorKind::TimeLimit);
    assert_eq!(eval(&mut rt, "[{}]", "1 + 1"), "2");
}

#[test]
fn allocation_bomb_hits_memory_limit_and_runtime_stays_usable() {
    // A generous deadline: the memory limit must be what stops this.
    let limits = JsLimits {
        deadline_ms: 10_000,
        ..small_limits()
    };
    let mut rt = JsRuntime::with_limits(limits).expect("runtime");
    let arena = Bump::new();
    let scope = TestScope::new(&arena, "[{}]");
    let error = rt
        .eval_expression(
            &scope,
            "(() => { const a = []; for (;;) a.push(new Array(100000).fill(a.length)); })()",
        )
        .expect_err("allocation must fail");
    assert_eq!(error.kind, JsErrorKind::MemoryLimit, "{error:?}");
    assert_eq!(error.code(), "LF-JS-001");
    assert_eq!(
        eval(&mut rt, r#"[{"a":[1,2]}]"#, "$json.a.map(x => x * 2)"),
        "[2,4]"
    );
}

#[test]
fn deep_recursion_hits_stack_limit_and_runtime_stays_usable() {
    let mut rt = JsRuntime::with_limits(small_limits()).expect("runtime");
    let arena = Bump::new();
    let scope = TestScope::new(&arena, "[{}]");
    let error = rt
        .eval_expression(&scope, "(function f(n) { return f(n + 1) + 1; })(0)")
        .expect_err("recursion must fail");
    assert_eq!(error.kind, JsErrorKind::StackLimit, "{error:?}");
    assert_eq!(error.code(), "LF-JS-003");
    assert_eq!(eval(&mut rt, "[{}]", "'ok'"), "\"ok\"");
}

#[test]
fn bridge_keeps_key_order_negative_zero_and_unicode() {
    let mut rt = JsRuntime::new().expect("runtime");
    let input = r#"[{"z":1,"a":{"y":[1,{"b":null}],"x":"é😀"},"m":-0.0,"e":1e300}]"#;
    assert_eq!(
        eval(&mut rt, input, "$json"),
        r#"{"z":1,"a":{"y":[1,{"b":null}],"x":"é😀"},"m":0,"e":1e+300}"#
    );
    assert_eq!(eval(&mut rt, input, "Object.is($json.m, -0)"), "true");
    assert_eq!(eval(&mut rt, input, "$json.a.x.length"), "3");
    assert_eq!(eval(&mut rt, input, "$json.a.x.codePointAt(1)"), "128512");
    // -0 survives the way back too (printed as 0, kept as a sign inside the value).
    let arena = Bump::new();
    let scope = TestScope::new(&arena, "[{}]");
    let value = rt.eval_expression(&scope, "-0").expect("value");
    assert!(matches!(value, Value::Number(n) if n == 0.0 && n.is_sign_negative()));
}

#[test]
fn bridge_applies_json_rules_to_results() {
    let mut rt = JsRuntime::new().expect("runtime");
    assert_eq!(
        eval(&mut rt, "[{}]", "({a: undefined, b: 1, f() {}})"),
        r#"{"b":1}"#
    );
    assert_eq!(
        eval(&mut rt, "[{}]", "[undefined, () => 1, NaN, Infinity]"),
        "[null,null,null,null]"
    );
    assert_eq!(
        eval(&mut rt, "[{}]", "({2: 'b', 1: 'a', x: 'c'})"),
        r#"{"1":"a","2":"b","x":"c"}"#
    );
    assert_eq!(
        eval(&mut rt, "[{}]", "new Date(0)"),
        r#""1970-01-01T00:00:00.000Z""#
    );
    assert_eq!(eval(&mut rt, "[{}]", "'\\ud83d'"), "\"\u{fffd}\"");
    assert_eq!(eval(&mut rt, "[{}]", "'\\ud83d\\ude00'"), "\"😀\"");
}

#[test]
fn bridge_rejects_cycles_and_excess_depth() {
    let mut rt = JsRuntime::new().expect("runtime");
    let cyclic = eval(
        &mut rt,
        "[{}]",
        "(() => { const a = {}; a.self = a; return a; })()",
    );
    assert!(cyclic.starts_with("ERR LF-JS-006"), "{cyclic}");
    let deep = "(() => { let a = 1; for (let i = 0; i < 1000; i++) a = [a]; return a; })()";
    assert!(eval(&mut rt, "[{}]", deep).starts_with("ERR LF-JS-006"));
    // Deep input is refused before it reaches JavaScript.
    let arena = Bump::new();
    let mut value = Value::Number(1.0);
    for _ in 0..1000 {
        value = Value::Array(arena.alloc_slice_copy(&[value]));
    }
    let items = arena.alloc_slice_copy(&[crate::engine::item::Item::new(value)]);
    let mut scope = TestScope::new(&arena, "[]");
    scope.input = items;
    let error = rt.eval_expression(&scope, "$json").expect_err("too deep");
    assert_eq!(error.kind, JsErrorKind::Thrown);
    assert!(error.message.contains("LF-JS-006"), "{error:?}");
}

#[test]
fn context_exposes_input_nodes_and_indices() {
    let mut rt = JsRuntime::new().expect("runtime");
    let input = r#"[{"name":"a"},{"name":"b"}]"#;
    assert_eq!(
        eval(
            &mut rt,
            input,
            "$input.all().map(i => i.json.name).join('|')"
        ),
        r#""a|b""#
    );
    assert_eq!(
        eval(
            &mut rt,
            input,
            "$input.first().json.name + $input.last().json.name"
        ),
        r#""ab""#
    );
    assert_eq!(eval(&mut rt, input, "$input.item.json === $json"), "true");
    assert_eq!(
        eval(
            &mut rt,
            input,
            "[$json === $input.all()[0].json, $input.all()[0] === $input.item]"
        ),
        "[true,true]"
    );
    assert_eq!(
        eval(
            &mut rt,
            input,
            "[$input.all()[0] === $input.item, $input.item.json === $json]"
        ),
        "[true,true]"
    );
    assert_eq!(
        eval(&mut rt, input, "$('Items').item.json.name"),
        r#""orig-a""#
    );
    assert_eq!(eval(&mut rt, input, "$('Items').all().length"), "2");
    assert_eq!(
        eval(&mut rt, input, "$('Webhook').first().json.body.label"),
        r#""L""#
    );
    assert_eq!(
        eval(&mut rt, input, "$node['Webhook'].json.body.label"),
        r#""L""#
    );
    assert_eq!(eval(&mut rt, input, "[$itemIndex, $runIndex]"), "[0,0]");
    assert_eq!(
        eval(&mut rt, input, "$workflow.name + '/' + $execution.id"),
        r#""Test workflow/42""#
    );
    assert_eq!(eval(&mut rt, input, "$vars.region"), r#""eu""#);
    assert_eq!(eval(&mut rt, input, "$env.ALLOWED"), r#""yes""#);
    assert_eq!(eval(&mut rt, input, "$prevNode.name"), r#""Prev""#);
    let denied = eval(&mut rt, input, "$env.DENIED");
    assert!(denied.contains("access to env vars denied"), "{denied}");
    let missing = eval(&mut rt, input, "$('Nope').item.json");
    assert!(
        missing.contains("Referenced node doesn't exist"),
        "{missing}"
    );
}

#[test]
fn context_follows_the_item_index() {
    let mut rt = JsRuntime::new().expect("runtime");
    let arena = Bump::new();
    let scope =
        TestScope::new(&arena, r#"[{"n":1},{"n":2}]"#).node("Items", r#"[{"v":"x"},{"v":"y"}]"#);
    let second = scope.at(1);
    let first = rt
        .eval_expression(&scope, "$json.n + $('Items').item.json.v")
        .expect("first");
    let other = rt
        .eval_expression(&second, "$json.n + $('Items').item.json.v")
        .expect("second");
    assert_eq!(
        (text(first), text(other)),
        (r#""1x""#.to_owned(), r#""2y""#.to_owned())
    );
}

#[test]
fn type_errors_become_null_other_errors_fail() {
    let mut rt = JsRuntime::new().expect("runtime");
    let input = r#"[{"body":{"other":1}}]"#;
    assert_eq!(eval(&mut rt, input, "$json.body.user.name"), "null");
    assert_eq!(
        eval(&mut rt, input, "$json.body.other.notAFunction()"),
        "null"
    );
    let thrown = eval(&mut rt, input, "(() => { throw new Error('boom') })()");
    assert_eq!(thrown, "ERR LF-JS-005: boom");
    assert!(eval(&mut rt, input, "1 +").starts_with("ERR LF-JS-004"));
}

#[test]
fn templates_join_segments_like_n8n() {
    let mut rt = JsRuntime::new().expect("runtime");
    let arena = Bump::new();
    let scope = TestScope::new(
        &arena,
        r#"[{"name":"Ann","obj":{"a":1},"arr":[1,"x",null],"nothing":null,"flag":false}]"#,
    );
    let mut t = |template: &str| text(rt.eval_template(&scope, template).expect("template"));
    assert_eq!(t("Hello {{ $json.name }}!"), r#""Hello Ann!""#);
    assert_eq!(t("data: {{ $json.obj }}"), r#""data: [object Object]""#);
    assert_eq!(t("list: {{ $json.arr }}"), r#""list: 1,x,""#);
    assert_eq!(
        t("null: {{ $json.nothing }}|{{ $json.missing }}"),
        r#""null: |""#
    );
    assert_eq!(t("flag={{ $json.flag }}"), r#""flag=false""#);
    assert_eq!(t("a{{ 1 + 1 }}b{{ '}}' }}d"), r#""a2b}}d""#);
    assert_eq!(t("{{ $json.obj }}"), r#"{"a":1}"#);
    assert_eq!(t("x{{ $json.a.b.c }}y"), r#""xy""#);
    assert_eq!(t("just text"), r#""just text""#);
    assert!(rt.eval_template(&scope, "{{ open").is_err());
}

#[test]
fn extension_methods_match_n8n_cases() {
    let mut rt = JsRuntime::new().expect("runtime");
    let input = r#"[{"nums":[3,1,2,5],"dups":[1,1,"a","a",2],"people":[{"name":"x"},{"name":"y"}],
        "holes":[0,null,"","a",false,1],"none":[],"kv":[{"k":"a","v":1},{"k":"b","v":2}],
        "obj":{"a":1,"b":[true,null],"c":"é"},"s":"42","e":"mail me: a.b@example.com now"}]"#;
    let cases = [
        ("$json.nums.first()", "3"),
        ("$json.nums.last()", "5"),
        ("$json.dups.unique()", r#"[1,"a",2]"#),
        ("$json.nums.sum()", "11"),
        (
            "[$json.nums.max(), $json.nums.min(), $json.nums.average()]",
            "[5,1,2.75]",
        ),
        ("$json.people.pluck('name')", r#"["x","y"]"#),
        ("$json.nums.chunk(2)", "[[3,1],[2,5]]"),
        ("$json.holes.compact()", r#"[0,"a",false,1]"#),
        (
            "[$json.none.isEmpty(), $json.nums.isNotEmpty()]",
            "[true,true]",
        ),
        ("$json.nums.difference([1, 2])", "[3,5]"),
        ("$json.nums.intersection([2, 3, 99])", "[3,2]"),
        ("$json.nums.union([99])", "[3,1,2,5,99]"),
        ("$json.kv.smartJoin('k', 'v')", r#"{"a":1,"b":2}"#),
        (
            "$json.obj.toJsonString()",
            r#""{\"a\":1,\"b\":[true,null],\"c\":\"é\"}""#,
        ),
        ("$json.s.toNumber() + 1", "43"),
        ("'{\"x\":[1]}'.parseJson().x", "[1]"),
        ("$json.e.extractEmail()", r#""a.b@example.com""#),
        ("$json.obj.isEmpty()", "false"),
        ("Object.keys($json.obj)", r#"["a","b","c"]"#),
        ("(1.256).round(2)", "1.26"),
        ("$ifEmpty($json.none, 'fallback')", r#""fallback""#),
        ("$ifEmpty($json.s, 'fallback')", r#""42""#),
        ("$jmespath($json.people, '[*].name')", r#"["x","y"]"#),
        ("$jmespath($json, 'kv[1].k')", r#""b""#),
    ];
    for (code, expected) in cases {
        assert_eq!(eval(&mut rt, input, code), expected, "{code}");
    }
}

#[test]
fn luxon_subset_matches_n8n_cases() {
    let mut rt = JsRuntime::new().expect("runtime");
    let input = r#"[{"date":"2024-03-15T12:00:00Z","start":"2024-01-01T00:00:00Z","end":"2024-01-11T12:00:00Z"}]"#;
    let cases = [
        (
            "DateTime.fromISO('2024-01-02T03:04:05Z').toFormat('yyyy-MM-dd HH:mm:ss')",
            r#""2024-01-02 03:04:05""#,
        ),
        (
            "DateTime.fromISO('2024-01-31T00:00:00Z').plus({ months: 1 }).toISODate()",
            r#""2024-02-29""#,
        ),
        (
            "DateTime.fromISO('2024-01-02T03:04:05Z').toISO()",
            r#""2024-01-02T03:04:05.000Z""#,
        ),
        (
            "DateTime.fromISO('2024-01-02T03:04:05Z').toMillis()",
            "1704164645000",
        ),
        (
            "DateTime.fromISO($json.date).toFormat('cccc, LLLL d yyyy')",
            r#""Friday, March 15 2024""#,
        ),
        (
            "DateTime.fromISO($json.end).diff(DateTime.fromISO($json.start), 'days').days",
            "10.5",
        ),
        (
            "$json.date.toDateTime().format('yyyy/MM/dd')",
            r#""2024/03/15""#,
        ),
        (
            "DateTime.fromISO('2024-01-02T03:04:05Z')",
            r#""2024-01-02T03:04:05.000Z""#,
        ),
        ("$now > DateTime.fromISO('2020-01-01T00:00:00Z')", "true"),
        ("$today.hour === 0 && $today.minute === 0", "true"),
        ("$now.toISO()", r#""2024-05-06T07:08:09.010Z""#),
        (
            "$now.minus({ days: 6 }).startOf('month').toISODate()",
            r#""2024-04-01""#,
        ),
        (
            "DateTime.fromISO('2024-01-02T03:04:05Z').setZone('Europe/Berlin').hour",
            "4",
        ),
        ("DateTime.fromISO('nope').isValid", "false"),
        (
            "[$now.year, $now.month, $now.day, $now.weekday]",
            "[2024,5,6,1]",
        ),
    ];
    for (code, expected) in cases {
        assert_eq!(eval(&mut rt, input, code), expected, "{code}");
    }
}

#[test]
fn console_is_captured_not_printed() {
    let mut rt = JsRuntime::new().expect("runtime");
    assert_eq!(eval(&mut rt, "[{}]", "(console.log('hi', {a: 1}), 7)"), "7");
    let console = rt.take_console();
    assert_eq!(console.lines, vec![r#"hi {"a":1}"#.to_owned()]);
    let big =
        "(() => { for (let i = 0; i < 2000; i++) console.log('x'.repeat(100)); return 1; })()";
    assert_eq!(eval(&mut rt, "[{}]", big), "1");
    let console = rt.take_console();
    assert!(console.bytes <= super::host::CONSOLE_BYTES_MAX);
    assert!(console.dropped > 0);
}

#[test]
fn no_require_or_host_access() {
    let mut rt = JsRuntime::new().expect("runtime");
    let required = eval(&mut rt, "[{}]", "require('fs')");
    assert_eq!(required, "ERR LF-JS-005: Cannot find module 'fs'");
    assert_eq!(
        eval(&mut rt, "[{}]", "typeof process + typeof std + typeof os"),
        r#""undefinedundefinedundefined""#
    );
}

#[test]
fn evaluations_do_not_leak_state_between_items() {
    let mut rt = JsRuntime::new().expect("runtime");
    let arena = Bump::new();
    let scope = TestScope::new(&arena, r#"[{"n":1},{"n":2}]"#);
    let code = "($json.n = $json.n * 10, $json.n)";
    let a = rt.eval_expression(&scope, code).expect("a");
    let b = rt.eval_expression(&scope, code).expect("b");
    assert_eq!((text(a), text(b)), ("10".to_owned(), "10".to_owned()));
    let _ = json(&arena, "{}");
}

#[test]
fn compiled_cache_is_bounded() {
    let mut rt = JsRuntime::new().expect("runtime");
    let arena = Bump::new();
    let scope = TestScope::new(&arena, "[{}]");
    for i in 0..super::runtime::COMPILED_ENTRIES_MAX + 10 {
        let value = rt
            .eval_expression(&scope, &format!("{i} + 1"))
            .expect("evaluates");
        assert!(matches!(value, Value::Number(n) if n == (i + 1) as f64));
    }
    assert!(rt.compiled_len() <= super::runtime::COMPILED_ENTRIES_MAX);
}

#[test]
fn binary_and_luxon_values_cross_the_bridge() {
    let mut rt = JsRuntime::new().expect("runtime");
    let arena = Bump::new();
    let mut scope = TestScope::new(&arena, "[]");
    let item = crate::engine::item::Item {
        json: json(&arena, r#"{"a":1}"#),
        binary: json(
            &arena,
            r#"{"data":{"fileName":"f.txt","mimeType":"text/plain"}}"#,
        ),
        paired: &[],
    };
    scope.input = arena.alloc_slice_copy(&[item]);
    let name = rt
        .eval_expression(&scope, "$binary.data.fileName")
        .expect("binary");
    assert_eq!(text(name), r#""f.txt""#);
    let nested = rt
        .eval_expression(
            &scope,
            "({when: DateTime.fromISO('2024-01-02T03:04:05Z'), keys: Object.keys($now)})",
        )
        .expect("object");
    assert_eq!(
        text(nested),
        r#"{"when":"2024-01-02T03:04:05.000Z","keys":["ts","zoneName"]}"#
    );
}

#[test]
fn legacy_item_function_matches_n8n() {
    let mut rt = JsRuntime::new().expect("runtime");
    let input = r#"[{"n":"a"},{"n":"b"}]"#;
    assert_eq!(eval(&mut rt, input, "$item(1).$json.n"), r#""b""#);
    assert_eq!(eval(&mut rt, input, "$item('0').$json.n"), r#""a""#);
    assert_eq!(
        eval(&mut rt, input, "$item(1).$node['Items'].json.name"),
        r#""orig-b""#
    );
    assert_eq!(
        eval(&mut rt, input, "$item(0, 0).$node.Webhook.json.body.label"),
        r#""L""#
    );
    assert_eq!(eval(&mut rt, input, "$item(0).$node.Webhook.binary"), "{}");
    assert_eq!(eval(&mut rt, input, "$item('1').$itemIndex"), r#""1""#);
    // Other members are the ordinary globals.
    assert_eq!(
        eval(&mut rt, input, "$item(1).$workflow.name"),
        r#""Test workflow""#
    );
    // Past the end fails the node; no array index reads undefined (a TypeError: null).
    let past = eval(&mut rt, input, "$item(1).$node['Webhook'].json");
    assert!(
        past.contains("\"Webhook\" node has 1 item(s) but you're trying to access item 1"),
        "{past}"
    );
    assert!(eval(&mut rt, input, "$item(2).$json").starts_with("ERR"));
    assert_eq!(eval(&mut rt, input, "$item(-1).$json"), "null");
    assert!(eval(&mut rt, input, "$item(0).$node['Nope'].json").starts_with("ERR"));
}
