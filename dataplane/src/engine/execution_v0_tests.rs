//! Legacy (v0) execution order with Merge nodes whose branches are uneven: n8n forces
//! unrun producers of a waiting node's other inputs, and a node whose first input got no
//! items does not run. Expected orders are derived from n8n's `WorkflowExecute`
//! (`addNodeToBeExecuted`, `ensureInputData`, `prepareConnectionInputData`); the same
//! workflows under v1 show the difference.

use serde_json::json;

use super::execution_tests::{body, node, order, run, webhook};

/// `Webhook -> If(go)`; If true -> `Merge` input 0; If false -> `X` -> `Merge` input 1.
fn if_to_merge(order: &str) -> serde_json::Value {
    let mut x = node("X", "noOp", 400.0, 100.0, json!({}));
    x["typeVersion"] = json!(1);
    let mut merge = node("Merge", "merge", 600.0, 0.0, json!({}));
    merge["typeVersion"] = json!(2.1);
    json!({"settings": {"executionOrder": order},
        "nodes": [webhook("lastNode", "allEntries"),
            node("If", "if", 200.0, 0.0,
                json!({"conditions": {"boolean": [{"value1": "={{ $json.body.go }}", "value2": true}]}})),
            x, merge],
        "connections": {
            "Webhook": {"main": [[{"node": "If", "type": "main", "index": 0}]]},
            "If": {"main": [[{"node": "Merge", "type": "main", "index": 0}],
                            [{"node": "X", "type": "main", "index": 0}]]},
            "X": {"main": [[{"node": "Merge", "type": "main", "index": 1}]]}}})
}

fn bodies(run: &super::webhook::WebhookRun) -> serde_json::Value {
    let all: serde_json::Value = serde_json::from_str(&body(run)).expect("json body");
    // Keep only what the nodes add: the webhook item's body, or the forced empty item.
    json!(all
        .as_array()
        .expect("array")
        .iter()
        .map(|item| item.get("body").cloned().unwrap_or(json!({})))
        .collect::<Vec<_>>())
}

#[test]
fn v0_forces_the_unrun_branch_of_a_merge_with_an_empty_item() {
    let run = run(if_to_merge("v0"), r#"{"go":true}"#);
    // If's false output is empty, so X is not scheduled by it; when Merge waits for its
    // second input, n8n v0 runs X with one empty item.
    assert_eq!(order(&run), ["Webhook#0", "If#0", "X#0", "Merge#0"]);
    assert_eq!(bodies(&run), json!([{"go": true}, {}]));
}

#[test]
fn v1_runs_the_merge_with_the_input_it_has() {
    let run = run(if_to_merge("v1"), r#"{"go":true}"#);
    assert_eq!(order(&run), ["Webhook#0", "If#0", "Merge#0"]);
    assert_eq!(bodies(&run), json!([{"go": true}]));
}

#[test]
fn v0_merge_with_an_empty_first_input_does_not_run() {
    // All items go to X; Merge is released with input 0 empty, and v0 reads only the
    // first input: it does not run, X is the last node.
    let run = run(if_to_merge("v0"), r#"{"go":false}"#);
    assert_eq!(order(&run), ["Webhook#0", "If#0", "X#0"]);
    assert_eq!(bodies(&run), json!([{"go": false}]));
    // v1 runs it with the second input alone.
    let run = super::execution_tests::run(if_to_merge("v1"), r#"{"go":false}"#);
    assert_eq!(order(&run), ["Webhook#0", "If#0", "X#0", "Merge#0"]);
}

#[test]
fn v0_forces_a_node_without_inputs_feeding_a_merge() {
    // `Static` has no incoming connection: only v0's forcing ever runs it.
    let wf = |order: &str| {
        let mut merge = node("Merge", "merge", 400.0, 0.0, json!({}));
        merge["typeVersion"] = json!(2.1);
        json!({"settings": {"executionOrder": order},
            "nodes": [webhook("lastNode", "allEntries"), node("A", "noOp", 200.0, -100.0, json!({})),
                node("Static", "noOp", 200.0, 100.0, json!({})), merge],
            "connections": {
                "Webhook": {"main": [[{"node": "A", "type": "main", "index": 0}]]},
                "A": {"main": [[{"node": "Merge", "type": "main", "index": 0}]]},
                "Static": {"main": [[{"node": "Merge", "type": "main", "index": 1}]]}}})
    };
    let legacy = run(wf("v0"), r#"{"k":1}"#);
    assert_eq!(order(&legacy), ["Webhook#0", "A#0", "Static#0", "Merge#0"]);
    assert_eq!(bodies(&legacy), json!([{"k": 1}, {}]));
    let v1 = run(wf("v1"), r#"{"k":1}"#);
    assert_eq!(order(&v1), ["Webhook#0", "A#0", "Merge#0"]);
}

#[test]
fn v0_does_not_force_a_node_below_an_empty_output() {
    // If true -> Z -> Merge input 0 and If true -> Merge input 1. With go=false the true
    // output is empty: v0 still hands it to Merge's second input, but Z descends from If
    // through that empty output, so it is not forced, and Merge never gets data.
    let mut merge = node("Merge", "merge", 600.0, 0.0, json!({}));
    merge["typeVersion"] = json!(2.1);
    let wf = json!({"settings": {"executionOrder": "v0"},
        "nodes": [webhook("lastNode", "allEntries"),
            node("If", "if", 200.0, 0.0,
                json!({"conditions": {"boolean": [{"value1": "={{ $json.body.go }}", "value2": true}]}})),
            node("Z", "noOp", 400.0, -100.0, json!({})), merge],
        "connections": {
            "Webhook": {"main": [[{"node": "If", "type": "main", "index": 0}]]},
            "If": {"main": [[{"node": "Z", "type": "main", "index": 0},
                             {"node": "Merge", "type": "main", "index": 1}]]},
            "Z": {"main": [[{"node": "Merge", "type": "main", "index": 0}]]}}});
    let run = run(wf, r#"{"go":false}"#);
    assert_eq!(order(&run), ["Webhook#0", "If#0"]);
}

#[test]
fn v0_does_not_force_a_producer_already_on_the_stack() {
    // Webhook -> A -> Merge 0 and Webhook -> B -> C -> Merge 1: when A finishes, B is on
    // the stack, so C is not forced; C runs in its turn and Merge once, with both inputs.
    let mut merge = node("Merge", "merge", 600.0, 0.0, json!({}));
    merge["typeVersion"] = json!(2.1);
    let wf = json!({"settings": {"executionOrder": "v0"},
        "nodes": [webhook("lastNode", "allEntries"), node("A", "noOp", 200.0, -100.0, json!({})),
            node("B", "noOp", 200.0, 100.0, json!({})), node("C", "noOp", 400.0, 100.0, json!({})),
            merge],
        "connections": {
            "Webhook": {"main": [[{"node": "A", "type": "main", "index": 0},
                                  {"node": "B", "type": "main", "index": 0}]]},
            "A": {"main": [[{"node": "Merge", "type": "main", "index": 0}]]},
            "B": {"main": [[{"node": "C", "type": "main", "index": 0}]]},
            "C": {"main": [[{"node": "Merge", "type": "main", "index": 1}]]}}});
    let run = run(wf, r#"{"k":2}"#);
    assert_eq!(order(&run), ["Webhook#0", "A#0", "B#0", "C#0", "Merge#0"]);
    assert_eq!(bodies(&run), json!([{"k": 2}, {"k": 2}]));
}
