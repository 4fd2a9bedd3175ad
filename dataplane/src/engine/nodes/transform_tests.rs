//! Tests of the transform and async nodes run through the engine: parameters as n8n
//! exports them, input pinned on a manual trigger, outputs (or the error) of the node
//! under test. Async nodes are driven through their effects with scripted answers.

use bumpalo::Bump;
use serde_json::{json, Value as Json};

use crate::engine::execution::{Config, Effect, Execution, Outcome, Start};
use crate::engine::item::Item;
use crate::engine::node::{EffectResult, HttpResponse};
use crate::engine::nodes::trigger::manual_item;
use linkflow_codec::plan::Plan;

use crate::engine::test_support::{access, archive, plan_from_workflow, FakeServices};

/// Outputs of the last run of the node named `N`, or the execution's error message.
pub(super) type NodeRun = Result<Vec<Vec<Json>>, String>;

/// What the scripted runtime answers to effects.
pub(super) enum Script {
    /// No effects expected.
    None,
    /// Fire every timer.
    Timers,
    /// Answer every HTTP call with this status, content type and body.
    Http(u16, &'static str, &'static str),
    /// Answer every sub-workflow call with its own items.
    EchoSubWorkflow,
}

pub(super) fn node(name: &str, kind: &str, version: f64, params: Json) -> Json {
    json!({"name": name, "type": format!("n8n-nodes-base.{kind}"), "typeVersion": version,
        "position": [200, 0], "parameters": params})
}

/// Runs `nodes` after a pinned trigger `Start` holding `items`; `connections` in n8n form.
pub(super) fn run_flow(
    nodes: Vec<Json>,
    connections: Json,
    items: Json,
    script: Script,
) -> NodeRun {
    run_flow_edited(nodes, connections, items, script, |_| {})
}

/// As [`run_flow`], with `edit` applied to the compiled plan before it runs (to reach the
/// engine's checks of parameters the codec refuses).
pub(super) fn run_flow_edited(
    nodes: Vec<Json>,
    connections: Json,
    items: Json,
    script: Script,
    edit: impl FnOnce(&mut Plan),
) -> NodeRun {
    let mut all = vec![
        json!({"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
        "position": [0, 0], "parameters": {}}),
    ];
    all.extend(nodes);
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": all,
        "pinData": {"Start": items.as_array().unwrap().iter().map(|j| json!({"json": j})).collect::<Vec<_>>()},
        "connections": connections});
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
        match (exec.poll(0), &script) {
            (Effect::Done(outcome), _) => break outcome,
            (Effect::Timer { node, .. }, Script::Timers) => {
                exec.complete(node, EffectResult::TimerFired)
            }
            (Effect::HttpCall { node, .. }, Script::Http(status, content_type, body)) => {
                let headers = arena.alloc_slice_copy(&[("content-type", *content_type)]);
                let response = HttpResponse {
                    status: *status,
                    headers,
                    body: body.as_bytes(),
                };
                exec.complete(node, EffectResult::Http(response));
            }
            (Effect::SubWorkflow { node, items, .. }, Script::EchoSubWorkflow) => {
                exec.complete(node, EffectResult::SubWorkflowDone(items))
            }
            (Effect::Respond(_), _) => {}
            (_, Script::None | Script::Timers | Script::Http(..) | Script::EchoSubWorkflow) => {
                return Err("unexpected effect".into())
            }
        }
    };
    if let Outcome::Failed(e) = outcome {
        return Err(e.message);
    }
    let index = plan
        .nodes
        .iter()
        .position(|n| n.name.as_str() == "N")
        .expect("node N") as u32;
    let run = exec.runs(index).last().ok_or("N did not run")?;
    if let Some(error) = &run.error {
        return Err(error.message.to_string());
    }
    Ok(run
        .outputs
        .iter()
        .map(|o| {
            o.unwrap_or(&[])
                .iter()
                .map(|i: &Item<'_>| i.json.to_json())
                .collect()
        })
        .collect())
}

pub(super) fn main_to(target: &str) -> Json {
    json!({"main": [[{"node": target, "type": "main", "index": 0}]]})
}

/// Start -> N.
pub(super) fn run_single(kind: &str, version: f64, params: Json, items: Json) -> NodeRun {
    run_flow(
        vec![node("N", kind, version, params)],
        json!({"Start": main_to("N")}),
        items,
        Script::None,
    )
}

pub(super) fn out0(run: NodeRun) -> Vec<Json> {
    run.expect("node succeeds").remove(0)
}

/// Start -> split `a` -> N input 0, Start -> split `b` -> N input 1.
fn run_merge(version: f64, params: Json, a: Json, b: Json) -> NodeRun {
    let split = |name: &str, field: &str| {
        let mut n = node(
            name,
            "splitOut",
            1.0,
            json!({"fieldToSplitOut": field, "options": {}}),
        );
        n["position"] = json!([100, if field == "a" { 0 } else { 200 }]);
        n
    };
    let mut merge = node("N", "merge", version, params);
    merge["position"] = json!([300, 100]);
    let connections = json!({
        "Start": {"main": [[{"node": "A", "type": "main", "index": 0}, {"node": "B", "type": "main", "index": 0}]]},
        "A": {"main": [[{"node": "N", "type": "main", "index": 0}]]},
        "B": {"main": [[{"node": "N", "type": "main", "index": 1}]]}});
    run_flow(
        vec![split("A", "a"), split("B", "b"), merge],
        connections,
        json!([{"a": a, "b": b}]),
        Script::None,
    )
}

// ---- Merge ----

#[test]
fn merge3_append_concatenates_inputs_in_order() {
    let out = out0(run_merge(
        3.0,
        json!({}),
        json!([{"x": 1}, {"x": 2}]),
        json!([{"y": "é"}]),
    ));
    assert_eq!(
        out,
        vec![json!({"x": 1}), json!({"x": 2}), json!({"y": "é"})]
    );
}

#[test]
fn merge21_multiplex_pairs_every_item() {
    let params = json!({"mode": "combine", "combinationMode": "multiplex", "options": {}});
    let out = out0(run_merge(
        2.1,
        params,
        json!([{"x": 1}, {"x": 2}]),
        json!([{"y": 1}, {"y": 2}]),
    ));
    assert_eq!(
        out,
        vec![
            json!({"x":1,"y":1}),
            json!({"x":1,"y":2}),
            json!({"x":2,"y":1}),
            json!({"x":2,"y":2})
        ]
    );
}

#[test]
fn merge3_fields_keep_matches_from_input1() {
    let params = json!({"mode": "combine", "fieldsToMatchString": "id", "outputDataFrom": "input1", "options": {}});
    let out = out0(run_merge(
        3.0,
        params,
        json!([{"id": 1, "a": 1}, {"id": 2}]),
        json!([{"id": 1, "b": 1}]),
    ));
    assert_eq!(out, vec![json!({"id": 1, "a": 1})]);
}

#[test]
fn merge3_without_fields_to_match_is_an_error() {
    let params = json!({"mode": "combine", "options": {}});
    let error = run_merge(3.0, params, json!([{"id": 1}]), json!([{"id": 1}])).unwrap_err();
    assert!(error.contains("Fields to Match"), "{error}");
}

#[test]
fn merge1_merge_by_key_overwrites_from_input2() {
    let params = json!({"mode": "mergeByKey", "propertyName1": "id", "propertyName2": "id"});
    let out = out0(run_merge(
        1.0,
        params,
        json!([{"id": 1, "v": "a"}, {"id": 3}]),
        json!([{"id": "1", "v": "b"}]),
    ));
    assert_eq!(out, vec![json!({"id": "1", "v": "b"}), json!({"id": 3})]);
}

#[test]
fn merge3_choose_branch_empty_emits_one_empty_item() {
    let params = json!({"mode": "chooseBranch", "output": "empty"});
    let out = out0(run_merge(3.0, params, json!([{"x": 1}]), json!([{"y": 1}])));
    assert_eq!(out, vec![json!({})]);
}

// ---- Split Out, Aggregate, Limit, Sort, Remove Duplicates, Summarize, Rename Keys ----

#[test]
fn split_out_all_other_fields_skips_missing_and_empty_lists() {
    let params = json!({"fieldToSplitOut": "tags", "include": "allOtherFields", "options": {}});
    let items = json!([{"id": 1, "tags": ["a", "😀"]}, {"id": 2, "tags": []}, {"id": 3}, {"id": 4, "tags": "solo"}]);
    let out = out0(run_single("splitOut", 1.0, params, items));
    assert_eq!(
        out,
        vec![
            json!({"id":1,"tags":"a"}),
            json!({"id":1,"tags":"😀"}),
            json!({"id":4,"tags":"solo"})
        ]
    );
}

#[test]
fn aggregate_all_item_data_wraps_jsons() {
    let params = json!({"aggregate": "aggregateAllItemData", "options": {}});
    let out = out0(run_single(
        "aggregate",
        1.0,
        params,
        json!([{"id": 1}, {"id": 2}]),
    ));
    assert_eq!(out, vec![json!({"data": [{"id": 1}, {"id": 2}]})]);
}

#[test]
fn limit_keeps_last_items() {
    let out = out0(run_single(
        "limit",
        1.0,
        json!({"maxItems": 2, "keep": "lastItems"}),
        json!([{"i":1},{"i":2},{"i":3}]),
    ));
    assert_eq!(out, vec![json!({"i": 2}), json!({"i": 3})]);
}

#[test]
fn sort_orders_by_field_descending() {
    let params = json!({"sortFieldsUi": {"sortField": [{"fieldName": "n", "order": "descending"}]}, "options": {}});
    let out = out0(run_single(
        "sort",
        1.0,
        params,
        json!([{"n": 1}, {"n": 3}, {}, {"n": 2}]),
    ));
    assert_eq!(out.len(), 4);
    assert_eq!(&out[..2], &[json!({"n": 3}), json!({"n": 2})]);
}

#[test]
fn sort_by_code_goes_through_the_engine_javascript() {
    // The unit-test host has no JavaScript; its refusal shows the code was handed over.
    let error = run_single(
        "sort",
        1.0,
        json!({"type": "code", "code": "return 0"}),
        json!([{}]),
    )
    .unwrap_err();
    assert_eq!(error, "no JavaScript in unit tests");
}

#[test]
fn remove_duplicates_v2_reports_type_mismatches() {
    let error = run_single(
        "removeDuplicates",
        2.0,
        json!({"options": {}}),
        json!([{"b": 2}, {"b": "2"}]),
    )
    .unwrap_err();
    assert_eq!(error, "'b' isn't always the same type");
}

#[test]
fn remove_duplicates_selected_fields_can_drop_other_fields() {
    let params = json!({"compare": "selectedFields", "fieldsToCompare": "k", "options": {"removeOtherFields": true}});
    let out = out0(run_single(
        "removeDuplicates",
        1.1,
        params,
        json!([{"k": 1, "x": 1}, {"k": 1, "x": 2}]),
    ));
    assert_eq!(out, vec![json!({"k": 1})]);
}

#[test]
fn summarize_splits_by_a_field_and_names_outputs() {
    let params = json!({"fieldsToSummarize": {"values": [{"aggregation": "sum", "field": "amount"}, {"field": "id"}]},
        "fieldsToSplitBy": "category", "options": {}});
    let items = json!([{"id":1,"category":"a","amount":10},{"id":2,"category":"b","amount":"7"},{"id":3,"category":"a","amount":5}]);
    let out = out0(run_single("summarize", 1.1, params, items));
    assert_eq!(
        out,
        vec![
            json!({"sum_amount":15,"count_id":2,"category":"a"}),
            json!({"sum_amount":0,"count_id":1,"category":"b"})
        ]
    );
}

#[test]
fn summarize_fails_when_a_field_is_in_no_item() {
    let params = json!({"fieldsToSummarize": {"values": [{"aggregation": "sum", "field": "nope"}]}, "options": {}});
    let error = run_single("summarize", 1.1, params, json!([{"a": 1}])).unwrap_err();
    assert_eq!(error, "The field 'nope' does not exist in any items");
}

#[test]
fn rename_keys_with_regex_renames_every_matching_key() {
    let params = json!({"keys": {"key": []}, "additionalOptions": {"regexReplacement": {"replacements": [
        {"searchRegex": "^old_", "replaceRegex": "new_", "options": {}}]}}});
    let out = out0(run_single(
        "renameKeys",
        1.0,
        params,
        json!([{"old_a": 1, "keep": {"old_b": 2}}]),
    ));
    assert_eq!(out, vec![json!({"new_a": 1, "keep": {"new_b": 2}})]);
}

// ---- Crypto, Date & Time ----

#[test]
fn crypto_hashes_expression_values_into_the_property() {
    let params = json!({"type": "SHA256", "value": "={{ $json.text }}", "dataPropertyName": "sha"});
    let out = out0(run_single("crypto", 1.0, params, json!([{"text": ""}])));
    assert_eq!(
        out,
        vec![
            json!({"text": "", "sha": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})
        ]
    );
}

#[test]
fn date_time_formats_and_extracts() {
    let params = json!({"operation": "formatDate", "date": "={{ $json.when }}", "format": "custom",
        "customFormat": "yyyy-MM-dd HH:mm", "outputFieldName": "formatted", "options": {}});
    let out = out0(run_single(
        "dateTime",
        2.0,
        params,
        json!([{"when": "2024-07-15T23:30:00+02:00"}]),
    ));
    assert_eq!(out, vec![json!({"formatted": "2024-07-15 23:30"})]);
    let params = json!({"operation": "addToDate", "magnitude": "={{ $json.when }}", "timeUnit": "hours", "duration": 2,
        "options": {"includeInputFields": true}});
    let out = out0(run_single(
        "dateTime",
        2.0,
        params,
        json!([{"when": "2024-01-01T23:00:00-01:00"}]),
    ));
    assert_eq!(
        out,
        vec![json!({"when": "2024-01-01T23:00:00-01:00", "newDate": "2024-01-02T02:00:00.000Z"})]
    );
}

#[test]
fn date_time_invalid_dates_fail_the_node() {
    let params = json!({"operation": "extractDate", "date": "={{ $json.when }}", "part": "month", "options": {}});
    let error = run_single("dateTime", 2.0, params, json!([{"when": "never"}])).unwrap_err();
    assert_eq!(error, "Invalid date format");
}

// ---- Loop Over Items ----

#[test]
fn loop_over_items_emits_batches_then_everything_on_done() {
    let nodes = vec![
        node(
            "N",
            "splitInBatches",
            3.0,
            json!({"batchSize": 2, "options": {}}),
        ),
        node("Body", "noOp", 1.0, json!({})),
    ];
    let connections = json!({
        "Start": main_to("N"),
        "N": {"main": [[], [{"node": "Body", "type": "main", "index": 0}]]},
        "Body": main_to("N")});
    let outputs = run_flow(
        nodes,
        connections,
        json!([{"i":1},{"i":2},{"i":3}]),
        Script::None,
    )
    .unwrap();
    assert_eq!(
        outputs[0],
        vec![json!({"i":1}), json!({"i":2}), json!({"i":3})]
    );
    assert!(outputs[1].is_empty());
}

// ---- Wait, HTTP Request, Execute Workflow ----

#[test]
fn wait_resumes_on_its_timer_and_passes_items() {
    let params = json!({"resume": "timeInterval", "amount": 5, "unit": "seconds"});
    let nodes = vec![node("N", "wait", 1.1, params)];
    let out = run_flow(
        nodes,
        json!({"Start": main_to("N")}),
        json!([{"k": "é"}]),
        Script::Timers,
    )
    .unwrap();
    assert_eq!(out[0], vec![json!({"k": "é"})]);
}

#[test]
fn http_request_maps_json_arrays_to_items_per_input_item() {
    let params = json!({"method": "GET", "url": "https://api.test/items", "options": {}});
    let nodes = vec![node("N", "httpRequest", 4.2, params)];
    let script = Script::Http(200, "application/json", r#"[{"a":1},{"a":2}]"#);
    let out = run_flow(
        nodes,
        json!({"Start": main_to("N")}),
        json!([{}, {}]),
        script,
    )
    .unwrap();
    assert_eq!(out[0].len(), 4);
    assert_eq!(out[0][1], json!({"a": 2}));
}

#[test]
fn http_request_error_status_fails_unless_never_error() {
    let params = json!({"url": "https://api.test/x", "options": {}});
    let nodes = vec![node("N", "httpRequest", 4.2, params)];
    let error = run_flow(
        nodes,
        json!({"Start": main_to("N")}),
        json!([{}]),
        Script::Http(404, "text/plain", "gone"),
    )
    .unwrap_err();
    assert!(
        error.starts_with("The resource you are requesting could not be found"),
        "{error}"
    );
    let params = json!({"url": "https://api.test/x", "options": {"response": {"response": {"neverError": true}}}});
    let nodes = vec![node("N", "httpRequest", 4.2, params)];
    let out = run_flow(
        nodes,
        json!({"Start": main_to("N")}),
        json!([{}]),
        Script::Http(404, "text/plain", "gone"),
    )
    .unwrap();
    assert_eq!(out[0], vec![json!({"data": "gone"})]);
}

#[test]
fn execute_workflow_each_item_collects_sub_workflow_outputs() {
    let params = json!({"workflowId": {"__rl": true, "value": "wf1", "mode": "id"}, "mode": "each", "options": {}});
    let nodes = vec![node("N", "executeWorkflow", 1.1, params)];
    let out = run_flow(
        nodes,
        json!({"Start": main_to("N")}),
        json!([{"n": 1}, {"n": 2}]),
        Script::EchoSubWorkflow,
    )
    .unwrap();
    assert_eq!(out[0], vec![json!({"n": 1}), json!({"n": 2})]);
}

#[test]
fn date_time_v1_formats_with_moment_tokens_into_the_property() {
    let params = json!({"value": "={{ $json.when }}", "dataPropertyName": "out", "custom": true,
        "toFormat": "YYYY/MM/DD [at] HH:mm", "options": {}});
    let out = out0(run_single(
        "dateTime",
        1.0,
        params,
        json!([{"when": "2024-03-04T05:06:07Z"}]),
    ));
    assert_eq!(
        out,
        vec![json!({"when": "2024-03-04T05:06:07Z", "out": "2024/03/04 at 05:06"})]
    );
}

#[test]
fn http_request_v1_reads_legacy_parameters_and_string_responses() {
    let params = json!({"url": "https://api.test/x", "responseFormat": "string", "dataPropertyName": "page",
        "queryParametersUi": {"parameter": [{"name": "q", "value": "é"}]}, "options": {}});
    let nodes = vec![node("N", "httpRequest", 1.0, params)];
    let script = Script::Http(200, "text/html", "<p>hi</p>");
    let out = run_flow(nodes, json!({"Start": main_to("N")}), json!([{}]), script).unwrap();
    assert_eq!(out[0], vec![json!({"page": "<p>hi</p>"})]);
}

#[test]
fn http_request_with_credentials_is_a_clear_error() {
    let params = json!({"method": "GET", "url": "https://api.test/x", "authentication": "genericCredentialType",
        "options": {}});
    let nodes = vec![node("N", "httpRequest", 3.0, params)];
    let error = run_flow(
        nodes,
        json!({"Start": main_to("N")}),
        json!([{}]),
        Script::None,
    )
    .unwrap_err();
    assert!(error.contains("has no 'genericAuthType'"), "{error}");
}

#[test]
fn merge3_fields_missing_from_an_input_fail_like_n8n() {
    let params = json!({"mode": "combine", "fieldsToMatchString": "sku", "options": {}});
    let error = run_merge(3.0, params, json!([{"sku": 1}]), json!([{"id": 1}])).unwrap_err();
    assert_eq!(
        error,
        "Field 'sku' is not present in any of items in 'Input 2'"
    );
}
