//! Code / Function / FunctionItem node runtime tests (shapes from the golden cases).

use bumpalo::Bump;

use super::test_scope::TestScope;
use super::{JsErrorKind, JsRuntime};
use crate::engine::item::Item;
use crate::engine::node::{JsMode, JsOutput};
use crate::engine::value::Value;

fn items_text(items: &[Item<'_>]) -> String {
    let mut out = Vec::new();
    Value::Array(&[]).write_json(&mut out);
    out.clear();
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item.json.write_json(&mut out);
    }
    out.push(b']');
    String::from_utf8(out).expect("utf-8")
}

fn run_all(rt: &mut JsRuntime, input: &str, code: &str, mode: JsMode) -> String {
    let arena = Bump::new();
    let scope = TestScope::new(&arena, input);
    match rt.run_code(&scope, code, mode) {
        Ok(JsOutput::Items(items)) => items_text(items),
        Ok(JsOutput::Value(value)) => {
            let mut out = Vec::new();
            value.write_json(&mut out);
            String::from_utf8(out).expect("utf-8")
        }
        Err(error) => format!("ERR {}", error.into_node_error(mode, 0).message),
    }
}

/// Runs `code` once per input item; prints the jsons or the node error of the first
/// failing item.
fn run_each(rt: &mut JsRuntime, input: &str, code: &str, mode: JsMode) -> String {
    let arena = Bump::new();
    let scope = TestScope::new(&arena, input);
    let mut out = Vec::new();
    for i in 0..scope.input.len() {
        match rt.run_code(&scope.at(i), code, mode) {
            Ok(JsOutput::Items(items)) => out.extend_from_slice(items),
            Ok(JsOutput::Value(value)) => out.push(Item::new(value)),
            Err(error) => return format!("ERR {}", error.into_node_error(mode, i).message),
        }
    }
    items_text(&out)
}

#[test]
fn all_items_mode_reduces_input() {
    let mut rt = JsRuntime::new().expect("runtime");
    let code = "const rows = $input.all().map(i => i.json);\nconst total = rows.reduce((s, r) => s + (r.price || 0) * (r.qty || 0), 0);\nreturn [{ json: { count: rows.length, total, names: rows.map(r => r.name).join(', ') } }];";
    let input = r#"[{"name":"a","price":2.5,"qty":2},{"name":"b","price":1,"qty":3},{"name":"c"}]"#;
    assert_eq!(
        run_all(&mut rt, input, code, JsMode::AllItems),
        r#"[{"count":3,"total":8,"names":"a, b, c"}]"#
    );
}

#[test]
fn all_items_mode_accepts_plain_objects_and_empty_arrays() {
    let mut rt = JsRuntime::new().expect("runtime");
    assert_eq!(
        run_all(&mut rt, r#"[{"a":1}]"#, "return [];", JsMode::AllItems),
        "[]"
    );
    assert_eq!(
        run_all(
            &mut rt,
            r#"[{"a":1}]"#,
            "return [{x: 1}, {json: {y: 2}}];",
            JsMode::AllItems
        ),
        r#"[{"x":1},{"y":2}]"#
    );
    assert_eq!(
        run_all(&mut rt, r#"[{"a":1}]"#, "return {x: 1};", JsMode::AllItems),
        r#"[{"x":1}]"#
    );
    let bad = run_all(&mut rt, r#"[{"a":1}]"#, "return 5;", JsMode::AllItems);
    assert_eq!(bad, "ERR Code doesn't return items properly");
}

#[test]
fn legacy_items_can_be_mutated_in_place() {
    let mut rt = JsRuntime::new().expect("runtime");
    let code = "for (const item of items) {\n  item.json.seen = true;\n  item.json.keys = Object.keys(item.json).length;\n}\nreturn items;";
    let input = r#"[{"a":1},{"a":2,"b":3}]"#;
    let expected = r#"[{"a":1,"seen":true,"keys":2},{"a":2,"b":3,"seen":true,"keys":3}]"#;
    assert_eq!(run_all(&mut rt, input, code, JsMode::AllItems), expected);
    assert_eq!(
        run_all(&mut rt, input, code, JsMode::LegacyFunction),
        expected
    );
}

#[test]
fn legacy_function_maps_items() {
    let mut rt = JsRuntime::new().expect("runtime");
    let code = "return items.map((item, index) => ({ json: { ...item.json, doubled: item.json.n * 2, index } }));";
    assert_eq!(
        run_all(
            &mut rt,
            r#"[{"n":1},{"n":2.5}]"#,
            code,
            JsMode::LegacyFunction
        ),
        r#"[{"n":1,"doubled":2,"index":0},{"n":2.5,"doubled":5,"index":1}]"#
    );
}

#[test]
fn function_item_returns_new_json_per_item() {
    let mut rt = JsRuntime::new().expect("runtime");
    let code = "return { id: item.id, upper: String(item.name).toUpperCase() };";
    assert_eq!(
        run_each(
            &mut rt,
            r#"[{"id":1,"name":"ann"},{"id":2,"name":"émile"}]"#,
            code,
            JsMode::LegacyFunctionItem
        ),
        r#"[{"id":1,"upper":"ANN"},{"id":2,"upper":"ÉMILE"}]"#
    );
    let mutate = "item.extra = true;\nreturn item;";
    assert_eq!(
        run_each(&mut rt, r#"[{"id":1}]"#, mutate, JsMode::LegacyFunctionItem),
        r#"[{"id":1,"extra":true}]"#
    );
}

#[test]
fn each_item_mode_errors_carry_line_and_item() {
    let mut rt = JsRuntime::new().expect("runtime");
    let code = "if ($json.bad) { throw new Error('bad item ' + $json.id); }\nreturn { json: { id: $json.id, ok: true } };";
    let input = r#"[{"id":1},{"id":2,"bad":true},{"id":3}]"#;
    assert_eq!(
        run_each(&mut rt, input, code, JsMode::EachItem),
        "ERR bad item 2 [line 1, for item 1]"
    );
    let ok = run_each(&mut rt, r#"[{"id":1},{"id":3}]"#, code, JsMode::EachItem);
    assert_eq!(ok, r#"[{"id":1,"ok":true},{"id":3,"ok":true}]"#);
    let third_line = "const a = 1;\nconst b = 2;\nnull.x;";
    assert_eq!(
        run_each(&mut rt, r#"[{}]"#, third_line, JsMode::EachItem),
        "ERR cannot read property 'x' of null [line 3, for item 0]"
    );
}

#[test]
fn each_item_mode_sees_item_aliases_and_pairs_output() {
    let mut rt = JsRuntime::new().expect("runtime");
    let code = "$input.item.json.seen = $itemIndex;\nreturn item;";
    assert_eq!(
        run_each(&mut rt, r#"[{"a":1},{"a":2}]"#, code, JsMode::EachItem),
        r#"[{"a":1,"seen":0},{"a":2,"seen":1}]"#
    );
    let arena = Bump::new();
    let scope = TestScope::new(&arena, r#"[{"a":1},{"a":2}]"#);
    let Ok(JsOutput::Items(items)) =
        rt.run_code(&scope.at(1), "return $input.item;", JsMode::EachItem)
    else {
        panic!("items expected");
    };
    assert_eq!(items[0].paired[0].item, 1);
    let not_object = rt
        .run_code(&scope, "return 3;", JsMode::EachItem)
        .expect_err("not an object");
    assert_eq!(not_object.message, "Code doesn't return an object");
    assert_eq!(not_object.kind, JsErrorKind::Result);
}

#[test]
fn all_items_lineage_follows_n8n_fallbacks() {
    let mut rt = JsRuntime::new().expect("runtime");
    let arena = Bump::new();
    let scope = TestScope::new(&arena, r#"[{"a":1},{"a":2},{"a":3}]"#);
    let Ok(JsOutput::Items(same)) = rt.run_code(
        &scope,
        "return $input.all().map(i => ({v: i.json.a}));",
        JsMode::AllItems,
    ) else {
        panic!("items expected");
    };
    assert_eq!(
        same.iter().map(|i| i.paired[0].item).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    let Ok(JsOutput::Items(explicit)) = rt.run_code(
        &scope,
        "return [{json: {}, pairedItem: {item: 2}}];",
        JsMode::AllItems,
    ) else {
        panic!("items expected");
    };
    assert_eq!(explicit[0].paired[0].item, 2);
    let Ok(JsOutput::Items(kept)) =
        rt.run_code(&scope, "return [$input.last()];", JsMode::AllItems)
    else {
        panic!("items expected");
    };
    assert_eq!(kept[0].paired[0].item, 2);
}

#[test]
fn code_may_await() {
    let mut rt = JsRuntime::new().expect("runtime");
    let code = "const v = await Promise.resolve(41);\nreturn [{json: {v: v + 1}}];";
    assert_eq!(
        run_all(&mut rt, r#"[{}]"#, code, JsMode::AllItems),
        r#"[{"v":42}]"#
    );
}

#[test]
fn endless_async_code_hits_the_deadline() {
    let limits = super::JsLimits {
        deadline_ms: 100,
        ..Default::default()
    };
    let mut rt = JsRuntime::with_limits(limits).expect("runtime");
    let arena = Bump::new();
    let scope = TestScope::new(&arena, "[{}]");
    let error = rt
        .run_code(&scope, "await null;\nwhile (true) {}", JsMode::AllItems)
        .expect_err("must stop");
    assert_eq!(error.kind, JsErrorKind::TimeLimit);
    let never = rt
        .run_code(
            &scope,
            "await new Promise(() => {});\nreturn [];",
            JsMode::AllItems,
        )
        .expect_err("never settles");
    assert_eq!(never.kind, JsErrorKind::Result);
    assert_eq!(
        run_all(&mut rt, "[{}]", "return [{ok: 1}];", JsMode::AllItems),
        r#"[{"ok":1}]"#
    );
}

#[test]
fn syntax_errors_and_throws_are_clean_errors() {
    let mut rt = JsRuntime::new().expect("runtime");
    let arena = Bump::new();
    let scope = TestScope::new(&arena, "[{}]");
    let syntax = rt
        .run_code(&scope, "return [;", JsMode::AllItems)
        .expect_err("syntax");
    assert_eq!(syntax.kind, JsErrorKind::Syntax);
    let thrown = rt
        .run_code(&scope, "\n\nthrow 'plain text';", JsMode::AllItems)
        .expect_err("thrown");
    assert_eq!(
        (thrown.kind, thrown.message.as_str()),
        (JsErrorKind::Thrown, "plain text")
    );
    // The runtime keeps working after both.
    assert_eq!(
        run_all(&mut rt, "[{}]", "return [{ok: 1}];", JsMode::AllItems),
        r#"[{"ok":1}]"#
    );
}
