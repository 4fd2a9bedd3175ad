//! Edge-case tests of the node implementations (empty input, missing fields, type
//! mismatches, unicode), each node run alone behind a pinned trigger.

use bumpalo::Bump;
use serde_json::{json, Value as Json};

use crate::engine::execution::{Config, Effect, Execution, Outcome, Start};
use crate::engine::nodes::trigger::manual_item;
use linkflow_codec::plan::Plan;

use crate::engine::test_support::{access, archive, plan_from_workflow, set_param, FakeServices};

/// Outputs of the node under test (`None` when it did not run), or its error message.
type NodeRun = Result<Option<Vec<Vec<Json>>>, String>;

fn run_node_with(kind: &str, version: f64, params: Json, items: Json, extra: Json) -> NodeRun {
    run_node_edited(kind, version, params, items, extra, |_| {})
}

/// As [`run_node_with`], with `edit` applied to the compiled plan before it runs.
fn run_node_edited(
    kind: &str,
    version: f64,
    params: Json,
    items: Json,
    extra: Json,
    edit: impl FnOnce(&mut Plan),
) -> NodeRun {
    let mut node = json!({"name": "N", "type": format!("n8n-nodes-base.{kind}"), "typeVersion": version,
        "position": [200, 0], "parameters": params});
    for (k, v) in extra.as_object().into_iter().flatten() {
        node[k] = v.clone();
    }
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}},
            node],
        "pinData": {"Start": items.as_array().unwrap().iter().map(|j| json!({"json": j})).collect::<Vec<_>>()},
        "connections": {"Start": {"main": [[{"node": "N", "type": "main", "index": 0}]]}}});
    let mut plan = plan_from_workflow(&wf);
    edit(&mut plan);
    let bytes = archive(&plan);
    let plan = access(&bytes);
    let arena = Bump::new();
    // Manual mode: default limits, pinData applies.
    let config = Config::new("manual", "1", 0);
    let start = Start {
        node: 0,
        items: manual_item(&arena),
    };
    let mut exec = Execution::new(&arena, plan, start, FakeServices { now_ms: 0 }, config);
    let outcome = loop {
        if let Effect::Done(outcome) = exec.poll(0) {
            break outcome;
        }
    };
    if let Outcome::Failed(e) = outcome {
        return Err(e.message);
    }
    Ok(exec.runs(1).last().map(|run| {
        run.outputs
            .iter()
            .map(|o| {
                o.unwrap_or(&[])
                    .iter()
                    .map(|item| item.json.to_json())
                    .collect()
            })
            .collect()
    }))
}

fn run_node(kind: &str, version: f64, params: Json, items: Json) -> NodeRun {
    run_node_with(kind, version, params, items, json!({}))
}

fn out0(run: NodeRun) -> Vec<Json> {
    run.expect("node succeeds").expect("node ran").remove(0)
}

fn assignment(name: &str, value: Json, kind: &str) -> Json {
    json!({"id": name, "name": name, "value": value, "type": kind})
}

fn set34(assignments: Vec<Json>, extra: Json) -> Json {
    let mut params = json!({"assignments": {"assignments": assignments}, "options": {}});
    for (k, v) in extra.as_object().into_iter().flatten() {
        params[k] = v.clone();
    }
    params
}

// ---- Set ----

#[test]
fn set34_converts_strings_to_declared_types() {
    let params = set34(
        vec![
            assignment("n", json!("={{ $json.n }}"), "number"),
            assignment("b", json!("={{ $json.b }}"), "boolean"),
            assignment("a", json!("={{ $json.a }}"), "array"),
            assignment("o", json!("={{ $json.o }}"), "object"),
            assignment("s", json!("={{ $json.s }}"), "string"),
        ],
        json!({}),
    );
    let items =
        json!([{"n": " 12 ", "b": "true", "a": "[\"x\"]", "o": "{\"k\":2}", "s": {"z": 1}}]);
    assert_eq!(
        out0(run_node("set", 3.4, params, items)),
        vec![json!({"n": 12, "b": true, "a": ["x"], "o": {"k": 2}, "s": "{\"z\":1}"})]
    );
}

#[test]
fn set34_missing_fields_become_null() {
    let params = set34(
        vec![assignment("n", json!("={{ $json.missing }}"), "number")],
        json!({}),
    );
    assert_eq!(
        out0(run_node("set", 3.4, params, json!([{}]))),
        vec![json!({"n": null})]
    );
}

#[test]
fn set34_type_mismatch_fails_with_item_index() {
    let params = set34(
        vec![assignment("num", json!("={{ $json.v }}"), "number")],
        json!({}),
    );
    let error = run_node("set", 3.4, params, json!([{"v": 1}, {"v": "abc"}])).unwrap_err();
    assert_eq!(error, "'num' expects a number but we got 'abc' [item 1]");
}

#[test]
fn set34_ignore_conversion_errors_keeps_the_value() {
    let mut params = set34(
        vec![assignment("num", json!("={{ $json.v }}"), "number")],
        json!({}),
    );
    params["options"] = json!({"ignoreConversionErrors": true});
    assert_eq!(
        out0(run_node("set", 3.4, params, json!([{"v": "abc"}]))),
        vec![json!({"num": "abc"})]
    );
}

#[test]
fn set34_continue_on_fail_emits_error_items_with_lineage_in_json() {
    let params = set34(
        vec![assignment("num", json!("={{ $json.v }}"), "number")],
        json!({}),
    );
    let out = out0(run_node_with(
        "set",
        3.4,
        params,
        json!([{"v": "x"}]),
        json!({"continueOnFail": true}),
    ));
    assert_eq!(
        out,
        vec![
            json!({"error": "'num' expects a number but we got 'x' [item 0]", "pairedItem": {"item": 0}})
        ]
    );
}

#[test]
fn set34_include_except_and_selected() {
    let params = set34(
        vec![assignment("added", json!(true), "boolean")],
        json!({"includeOtherFields": true, "include": "except", "excludeFields": "secret, tmp"}),
    );
    let items = json!([{"keep": 1, "secret": 2, "tmp": 3}]);
    assert_eq!(
        out0(run_node("set", 3.4, params, items.clone())),
        vec![json!({"keep": 1, "added": true})]
    );
    let params = set34(
        vec![],
        json!({"includeOtherFields": true, "include": "selected", "includeFields": "tmp"}),
    );
    assert_eq!(
        out0(run_node("set", 3.4, params, items)),
        vec![json!({"tmp": 3})]
    );
}

#[test]
fn set34_dot_notation_nests_unless_disabled() {
    let params = set34(vec![assignment("a.b", json!("ü"), "string")], json!({}));
    assert_eq!(
        out0(run_node("set", 3.4, params, json!([{}]))),
        vec![json!({"a": {"b": "ü"}})]
    );
    let mut params = set34(vec![assignment("a.b", json!("😀"), "string")], json!({}));
    params["options"] = json!({"dotNotation": false});
    assert_eq!(
        out0(run_node("set", 3.4, params, json!([{}]))),
        vec![json!({"a.b": "😀"})]
    );
}

#[test]
fn set_raw_mode_parses_json_text() {
    let params = json!({"mode": "raw", "jsonOutput": "{\"x\": [1, 2]}", "includeOtherFields": true, "options": {}});
    assert_eq!(
        out0(run_node("set", 3.4, params, json!([{"y": 0}]))),
        vec![json!({"y": 0, "x": [1, 2]})]
    );
    let params = json!({"mode": "raw", "jsonOutput": "{oops", "options": {}});
    assert_eq!(
        run_node("set", 3.4, params, json!([{}])).unwrap_err(),
        "The 'JSON Output' in item 0 contains invalid JSON"
    );
}

#[test]
fn set_v1_groups_fields_by_type_and_keeps_values() {
    let params = json!({"keepOnlySet": true, "values": {
        "string": [{"name": "s", "value": "x"}], "number": [{"name": "n", "value": "={{ $json.v }}"}],
        "boolean": [{"name": "b", "value": "yes"}]}});
    assert_eq!(
        out0(run_node("set", 1.0, params, json!([{"v": "7"}]))),
        vec![json!({"b": true, "n": "7", "s": "x"})]
    );
}

#[test]
fn set_on_empty_input_does_not_run() {
    let params = set34(vec![assignment("a", json!(1), "number")], json!({}));
    assert_eq!(run_node("set", 3.4, params, json!([])), Ok(None));
}

// ---- If / Filter ----

fn filter_params(conditions: Vec<Json>, combinator: &str, type_validation: &str) -> Json {
    json!({"conditions": {"options": {"caseSensitive": true, "leftValue": "", "typeValidation": type_validation, "version": 2},
        "conditions": conditions, "combinator": combinator}, "options": {}})
}

fn condition(left: &str, right: Json, kind: &str, operation: &str) -> Json {
    json!({"id": "c", "leftValue": left, "rightValue": right, "operator": {"type": kind, "operation": operation}})
}

#[test]
fn if_routes_items_to_true_and_false() {
    let params = filter_params(
        vec![condition("={{ $json.n }}", json!(10), "number", "gt")],
        "and",
        "strict",
    );
    let outputs = run_node("if", 2.2, params, json!([{"n": 11}, {"n": 3}, {"n": 10}]))
        .unwrap()
        .unwrap();
    assert_eq!(
        outputs,
        vec![
            vec![json!({"n": 11})],
            vec![json!({"n": 3}), json!({"n": 10})]
        ]
    );
}

#[test]
fn if_strict_type_mismatch_fails_and_loose_converts() {
    let params = filter_params(
        vec![condition("={{ $json.n }}", json!(5), "number", "gt")],
        "and",
        "strict",
    );
    assert_eq!(
        run_node("if", 2.2, params, json!([{"n": "10"}])).unwrap_err(),
        "Wrong type: '10' is a string but was expecting a number [condition 0, item 0]"
    );
    let params = filter_params(
        vec![condition("={{ $json.n }}", json!(5), "number", "gt")],
        "and",
        "loose",
    );
    assert_eq!(
        run_node("if", 2.2, params, json!([{"n": "10"}]))
            .unwrap()
            .unwrap()[0],
        vec![json!({"n": "10"})]
    );
}

#[test]
fn if_error_output_sends_invalid_items_to_false() {
    let params = filter_params(
        vec![condition("={{ $json.n }}", json!(5), "number", "gt")],
        "and",
        "strict",
    );
    let outputs = run_node_with(
        "if",
        2.2,
        params,
        json!([{"n": "x"}]),
        json!({"onError": "continueErrorOutput"}),
    )
    .unwrap()
    .unwrap();
    assert_eq!(outputs, vec![vec![], vec![json!({"n": "x"})], vec![]]);
}

#[test]
fn if_without_condition_options_crashes_like_n8n() {
    let params = json!({"conditions": {"conditions": [], "combinator": "and"}});
    assert_eq!(
        run_node("if", 2.2, params, json!([{}])).unwrap_err(),
        "Cannot read properties of undefined (reading 'caseSensitive')"
    );
}

#[test]
fn if_string_and_exists_operations_handle_missing_and_unicode() {
    let params = filter_params(
        vec![
            condition("={{ $json.name }}", json!("É"), "string", "startsWith"),
            condition("={{ $json.nick }}", json!(""), "string", "exists"),
        ],
        "and",
        "strict",
    );
    let outputs = run_node(
        "if",
        2.2,
        params,
        json!([{"name": "Émile", "nick": ""}, {"name": "Émile"}]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(outputs[0], vec![json!({"name": "Émile", "nick": ""})]);
    assert_eq!(outputs[1], vec![json!({"name": "Émile"})]);
}

#[test]
fn if_v1_combines_all_rules() {
    let params = json!({"conditions": {"string": [{"value1": "={{ $json.s }}", "value2": "active"}],
        "number": [{"value1": "={{ $json.q }}", "operation": "larger", "value2": 3}]}});
    let outputs = run_node(
        "if",
        1.0,
        params,
        json!([{"s": "active", "q": 4}, {"s": "active", "q": 2}]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        outputs,
        vec![
            vec![json!({"s": "active", "q": 4})],
            vec![json!({"s": "active", "q": 2})]
        ]
    );
}

#[test]
fn filter_keeps_matching_items_only() {
    let params = filter_params(
        vec![condition(
            "={{ $json.tags }}",
            json!("vip"),
            "array",
            "contains",
        )],
        "or",
        "loose",
    );
    let mut params = params;
    params["conditions"]["conditions"][0]["operator"]["rightType"] = json!("any");
    let outputs = run_node(
        "filter",
        2.2,
        params,
        json!([{"tags": ["vip"]}, {"tags": []}, {}]),
    )
    .unwrap()
    .unwrap();
    // v2 always has the discarded list as a second output.
    assert_eq!(
        outputs,
        vec![
            vec![json!({"tags": ["vip"]})],
            vec![json!({"tags": []}), json!({})]
        ]
    );
}

// ---- Switch ----

#[test]
fn switch_rules_use_fallback_output() {
    let rule = |value: &str| {
        json!({"conditions": {"options": {"caseSensitive": true, "typeValidation": "strict"},
        "conditions": [condition("={{ $json.s }}", json!(value), "string", "equals")], "combinator": "and"}})
    };
    let params = json!({"rules": {"values": [rule("a"), rule("b")]}, "options": {"fallbackOutput": "extra"}});
    let outputs = run_node(
        "switch",
        3.2,
        params,
        json!([{"s": "b"}, {"s": "z"}, {"s": "a"}]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        outputs,
        vec![
            vec![json!({"s": "a"})],
            vec![json!({"s": "b"})],
            vec![json!({"s": "z"})]
        ]
    );
}

#[test]
fn switch_all_matching_outputs_sends_to_every_match() {
    let rule = |kind: &str, op: &str, right: Json| {
        json!({"conditions": {"options": {"caseSensitive": true, "typeValidation": "strict"},
        "conditions": [condition("={{ $json.n }}", right, kind, op)], "combinator": "and"}})
    };
    let params = json!({"rules": {"values": [rule("number", "gt", json!(1)), rule("number", "lt", json!(10))]},
        "options": {"allMatchingOutputs": true}});
    let outputs = run_node("switch", 3.2, params, json!([{"n": 5}]))
        .unwrap()
        .unwrap();
    assert_eq!(outputs, vec![vec![json!({"n": 5})], vec![json!({"n": 5})]]);
}

#[test]
fn switch_expression_mode_rejects_out_of_range_outputs() {
    let params = json!({"mode": "expression", "numberOutputs": 2, "output": "={{ $json.o }}"});
    let outputs = run_node("switch", 3.2, params.clone(), json!([{"o": 1}, {"o": 0}]))
        .unwrap()
        .unwrap();
    assert_eq!(outputs, vec![vec![json!({"o": 0})], vec![json!({"o": 1})]]);
    assert_eq!(
        run_node("switch", 3.2, params, json!([{"o": 2}])).unwrap_err(),
        "The output 2 is not allowed. It has to be between 0 and 1!"
    );
}

// ---- Respond / Stop and Error / NoOp ----

#[test]
fn stop_and_error_uses_the_message() {
    assert_eq!(
        run_node(
            "stopAndError",
            1.0,
            json!({"errorMessage": "Fehler ü"}),
            json!([{}])
        )
        .unwrap_err(),
        "Fehler ü"
    );
    let params =
        json!({"errorType": "errorObject", "errorObject": "{\"message\": \"from object\"}"});
    assert_eq!(
        run_node("stopAndError", 1.0, params, json!([{}])).unwrap_err(),
        "from object"
    );
}

#[test]
fn respond_passes_items_through() {
    let params = json!({"respondWith": "allIncomingItems", "options": {}});
    assert_eq!(
        out0(run_node(
            "respondToWebhook",
            1.1,
            params,
            json!([{"a": 1}, {"a": 2}])
        )),
        vec![json!({"a": 1}), json!({"a": 2})]
    );
}

#[test]
fn respond_binary_is_a_clear_error() {
    let params = json!({"respondWith": "binary", "options": {}});
    assert!(run_node("respondToWebhook", 1.1, params, json!([{}]))
        .unwrap_err()
        .contains("LF-NODE-RESPOND-002"));
}

#[test]
fn respond_invalid_json_body_fails() {
    let params = json!({"respondWith": "json", "responseBody": "{nope", "options": {}});
    assert_eq!(
        run_node("respondToWebhook", 1.1, params, json!([{}])).unwrap_err(),
        "Invalid JSON in 'Response Body' field"
    );
}

#[test]
fn noop_passes_unicode_items_unchanged() {
    assert_eq!(
        out0(run_node("noOp", 1.0, json!({}), json!([{"k": "日本"}]))),
        vec![json!({"k": "日本"})]
    );
}

#[test]
fn code_without_js_runtime_fails_cleanly() {
    let error = run_node("code", 2.0, json!({"jsCode": "return items;"}), json!([{}])).unwrap_err();
    assert_eq!(error, "no JavaScript in unit tests");
    // The codec refuses Python; a plan that holds it anyway fails the node cleanly.
    let error = run_node_edited(
        "code",
        2.0,
        json!({"language": "javaScript", "jsCode": "x"}),
        json!([{}]),
        json!({}),
        |plan| set_param(plan, "N", "language", "python"),
    )
    .unwrap_err();
    assert!(error.contains("LF-NODE-CODE-001"));
}
