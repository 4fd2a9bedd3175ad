//! Behaviour tests of the execution state machine and the webhook response rules, on
//! small workflows built by [`super::test_support`].

use bumpalo::Bump;
use serde_json::json;

use super::execution::{Config, Effect, Execution, Outcome, Start};
use super::limits::{self, Limits};
use super::node::EffectResult;
use super::test_support::{access, archive, json_value, plan_from_workflow, FakeServices};
use super::webhook::{find_webhook, run_webhook_traced, WebhookEnv, WebhookRequest, WebhookRun};

pub(super) fn node(
    name: &str,
    kind: &str,
    x: f64,
    y: f64,
    params: serde_json::Value,
) -> serde_json::Value {
    json!({"name": name, "type": format!("n8n-nodes-base.{kind}"), "typeVersion": 1, "position": [x, y], "parameters": params})
}

/// A `POST /webhook/t` Webhook node; `data` "" leaves `responseData` out (n8n exports none
/// in `responseNode` mode, and the codec refuses an empty one).
pub(super) fn webhook(mode: &str, data: &str) -> serde_json::Value {
    let mut node = json!({"name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
           "position": [0, 0], "parameters": {"httpMethod": "POST", "path": "t", "responseMode": mode}});
    if !data.is_empty() {
        node["parameters"]["responseData"] = json!(data);
    }
    node
}

pub(super) fn link(_from: &str, to: &[(&str, u32)]) -> serde_json::Value {
    json!([to
        .iter()
        .map(|(n, i)| json!({"node": n, "type": "main", "index": i}))
        .collect::<Vec<_>>()])
}

fn config(limits: Limits) -> Config<'static> {
    Config {
        limits,
        execution_id: "1",
        mode: "webhook",
        started_ms: 1_000,
        use_pin_data: true,
    }
}

fn run_with(workflow: serde_json::Value, body: &str, limits: Limits, now_ms: i64) -> WebhookRun {
    let bytes = archive(&plan_from_workflow(&workflow));
    run_plan(&bytes, body, limits, now_ms)
}

fn run_plan(bytes: &[u8], body: &str, limits: Limits, now_ms: i64) -> WebhookRun {
    let plan = access(bytes);
    let arena = Bump::new();
    let (trigger, params) = find_webhook(plan, "POST", "/webhook/t").expect("route");
    let request = WebhookRequest {
        method: "POST",
        path: "/webhook/t",
        query: "",
        headers: &[],
        body: json_value(&arena, body),
    };
    let env = WebhookEnv {
        base_url: "http://localhost/",
        webhook_url: None,
        config: config(limits),
    };
    run_webhook_traced(
        &arena,
        plan,
        trigger,
        &request,
        &params,
        FakeServices { now_ms },
        &env,
        &mut |_| None,
    )
}

pub(super) fn run(workflow: serde_json::Value, body: &str) -> WebhookRun {
    run_with(workflow, body, Limits::default(), 1_000)
}

pub(super) fn body(run: &WebhookRun) -> String {
    String::from_utf8(run.response.body.clone()).unwrap()
}

pub(super) fn order(run: &WebhookRun) -> Vec<String> {
    run.trace
        .iter()
        .map(|t| format!("{}#{}", t.node, t.run))
        .collect()
}

#[test]
fn last_node_all_entries_returns_output_zero_of_last_run() {
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        node("Pass", "noOp", 200.0, 0.0, json!({}))],
        "connections": {"Webhook": {"main": link("Webhook", &[("Pass", 0)])}}});
    let run = run(wf, r#"{"a":1}"#);
    assert_eq!(run.response.status, 200);
    assert!(body(&run).starts_with(r#"[{"headers":{},"params":{},"query":{},"body":{"a":1}"#));
    assert_eq!(run.last_node.as_deref(), Some("Pass"));
    assert_eq!(run.outcome, Outcome::Success);
}

#[test]
fn siblings_run_top_most_first_and_depth_first() {
    // Webhook -> Low (y=100) and High (y=-100); High -> After. v1 runs High, After, Low.
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        node("Low", "noOp", 200.0, 100.0, json!({})), node("High", "noOp", 200.0, -100.0, json!({})),
        node("After", "noOp", 400.0, -100.0, json!({}))],
        "connections": {"Webhook": {"main": link("Webhook", &[("Low", 0), ("High", 0)])},
                        "High": {"main": link("High", &[("After", 0)])}}});
    let run = run(wf, "{}");
    assert_eq!(order(&run), ["Webhook#0", "High#0", "After#0", "Low#0"]);
    assert_eq!(run.last_node.as_deref(), Some("Low"));
}

/// A fan-out wider than the scheduler's inline child list (8) takes the arena path; both
/// must order children as n8n does (v1: top-most first; v0: connection order).
#[test]
fn wide_fan_out_orders_children_like_a_narrow_one() {
    for width in [3usize, 12] {
        let names: Vec<String> = (0..width).map(|i| format!("C{i}")).collect();
        // Distinct heights in a scrambled order: v1 must sort them.
        let y = |i: usize| ((i * 7) % width) as f64 * 10.0 - 60.0;
        let mut nodes = vec![webhook("lastNode", "allEntries")];
        nodes.extend((0..width).map(|i| node(&names[i], "noOp", 200.0, y(i), json!({}))));
        let targets: Vec<(&str, u32)> = names.iter().map(|n| (n.as_str(), 0)).collect();
        let mut by_height: Vec<usize> = (0..width).collect();
        by_height.sort_by(|&a, &b| y(a).total_cmp(&y(b)));
        for (order_setting, expected) in [("v1", by_height), ("v0", (0..width).collect())] {
            let wf = json!({"settings": {"executionOrder": order_setting}, "nodes": nodes,
                "connections": {"Webhook": {"main": link("Webhook", &targets)}}});
            let run = run(wf, "{}");
            let mut want = vec!["Webhook#0".to_owned()];
            want.extend(expected.iter().map(|&i| format!("{}#0", names[i])));
            assert_eq!(order(&run), want, "{order_setting}, {width} children");
        }
    }
}

#[test]
fn legacy_order_runs_breadth_first() {
    let wf = json!({"settings": {"executionOrder": "v0"}, "nodes": [webhook("lastNode", "allEntries"),
        node("Low", "noOp", 200.0, 100.0, json!({})), node("High", "noOp", 200.0, -100.0, json!({})),
        node("After", "noOp", 400.0, -100.0, json!({}))],
        "connections": {"Webhook": {"main": link("Webhook", &[("Low", 0), ("High", 0)])},
                        "High": {"main": link("High", &[("After", 0)])}}});
    let run = run(wf, "{}");
    assert_eq!(order(&run), ["Webhook#0", "Low#0", "High#0", "After#0"]);
}

#[test]
fn single_input_node_fed_twice_runs_twice() {
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        node("A", "noOp", 200.0, -100.0, json!({})), node("B", "noOp", 200.0, 100.0, json!({})),
        node("Join", "noOp", 400.0, 0.0, json!({}))],
        "connections": {"Webhook": {"main": link("Webhook", &[("A", 0), ("B", 0)])},
                        "A": {"main": link("A", &[("Join", 0)])}, "B": {"main": link("B", &[("Join", 0)])}}});
    let run = run(wf, "{}");
    assert_eq!(order(&run), ["Webhook#0", "A#0", "Join#0", "B#0", "Join#1"]);
}

/// A Merge node (3.0, append): a node with two inputs.
fn merge(name: &str, x: f64, y: f64) -> serde_json::Value {
    let mut merge = node(name, "merge", x, y, json!({}));
    merge["typeVersion"] = json!(3);
    merge
}

#[test]
fn multi_input_node_waits_for_both_inputs() {
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        node("A", "noOp", 200.0, -100.0, json!({})), node("B", "noOp", 200.0, 100.0, json!({})),
        merge("Both", 400.0, 0.0)],
        "connections": {"Webhook": {"main": link("Webhook", &[("A", 0), ("B", 0)])},
                        "A": {"main": link("A", &[("Both", 0)])}, "B": {"main": link("B", &[("Both", 1)])}}});
    let run = run(wf, "{}");
    assert_eq!(order(&run), ["Webhook#0", "A#0", "B#0", "Both#0"]);
}

#[test]
fn multi_input_node_runs_with_partial_input_when_the_stack_is_empty() {
    // Drop (If-less): pinData gives B no items, so Both only ever gets input 0.
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        node("A", "noOp", 200.0, -100.0, json!({})), node("B", "noOp", 200.0, 100.0, json!({})),
        merge("Both", 400.0, 0.0)],
        "pinData": {"B": []},
        "connections": {"Webhook": {"main": link("Webhook", &[("A", 0), ("B", 0)])},
                        "A": {"main": link("A", &[("Both", 0)])}, "B": {"main": link("B", &[("Both", 1)])}}});
    let run = run(wf, "{}");
    assert_eq!(order(&run), ["Webhook#0", "A#0", "B#0", "Both#0"]);
    assert_eq!(run.trace[2].outputs, vec![Some(0)]);
}

#[test]
fn pinned_data_replaces_node_output() {
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        node("Pinned", "noOp", 200.0, 0.0, json!({}))],
        "pinData": {"Pinned": [{"json": {"x": 1}}, {"json": {"x": 2}}]},
        "connections": {"Webhook": {"main": link("Webhook", &[("Pinned", 0)])}}});
    assert_eq!(body(&run(wf, "{}")), r#"[{"x":1},{"x":2}]"#);
}

#[test]
fn disabled_node_passes_input_through() {
    let mut stop = node(
        "Stop",
        "stopAndError",
        200.0,
        0.0,
        json!({"errorMessage": "never"}),
    );
    stop["disabled"] = json!(true);
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"), stop],
        "pinData": {"Webhook": [{"json": {"k": "v"}}]},
        "connections": {"Webhook": {"main": link("Webhook", &[("Stop", 0)])}}});
    let run = run(wf, "{}");
    assert_eq!(body(&run), r#"[{"k":"v"}]"#);
    assert_eq!(run.outcome, Outcome::Success);
}

#[test]
fn always_output_data_turns_no_items_into_one_empty_item() {
    let mut pass = node("Pass", "noOp", 400.0, 0.0, json!({}));
    pass["alwaysOutputData"] = json!(true);
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        node("Empty", "noOp", 200.0, 0.0, json!({})), pass],
        "pinData": {"Empty": []},
        "connections": {"Webhook": {"main": link("Webhook", &[("Empty", 0)])},
                        "Empty": {"main": link("Empty", &[("Pass", 0)])}}});
    // Empty emits no items, so Pass never runs: the response is Empty's (empty) output.
    let run = run(wf, "{}");
    assert_eq!(body(&run), "[]");
    assert_eq!(order(&run), ["Webhook#0", "Empty#0"]);
}

#[test]
fn execute_once_uses_the_first_item_only() {
    let mut set = node(
        "Set",
        "set",
        400.0,
        0.0,
        json!({"keepOnlySet": true, "values": {"number": [{"name": "i", "value": "={{ $itemIndex }}"}]}}),
    );
    set["executeOnce"] = json!(true);
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        node("Many", "noOp", 200.0, 0.0, json!({})), set],
        "pinData": {"Many": [{"json": {}}, {"json": {}}, {"json": {}}]},
        "connections": {"Webhook": {"main": link("Webhook", &[("Many", 0)])},
                        "Many": {"main": link("Many", &[("Set", 0)])}}});
    assert_eq!(body(&run(wf, "{}")), r#"[{"i":0}]"#);
}

#[test]
fn continue_regular_output_passes_input_but_fails_when_last() {
    let mut stop = node(
        "Stop",
        "stopAndError",
        200.0,
        0.0,
        json!({"errorMessage": "stop here"}),
    );
    stop["onError"] = json!("continueRegularOutput");
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"), stop],
        "connections": {"Webhook": {"main": link("Webhook", &[("Stop", 0)])}}});
    let run = run(wf, "{}");
    assert_eq!(run.response.status, 500);
    assert_eq!(body(&run), r#"{"message":"Error in workflow"}"#);
    assert_eq!(run.trace[1].outputs, vec![Some(1)]);
    assert_eq!(run.trace[1].error.as_deref(), Some("stop here"));
}

#[test]
fn stop_workflow_error_ends_the_execution() {
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        node("Stop", "stopAndError", 200.0, 0.0, json!({"errorMessage": "boom"})),
        node("After", "noOp", 400.0, 0.0, json!({}))],
        "connections": {"Webhook": {"main": link("Webhook", &[("Stop", 0)])}, "Stop": {"main": link("Stop", &[("After", 0)])}}});
    let run = run(wf, "{}");
    assert_eq!(run.response.status, 500);
    assert_eq!(order(&run), ["Webhook#0", "Stop#0"]);
    match run.outcome {
        Outcome::Failed(e) => assert_eq!(
            (e.message.as_str(), e.node.as_deref()),
            ("boom", Some("Stop"))
        ),
        Outcome::Success => panic!("expected failure"),
    }
}

#[test]
fn error_items_move_to_the_error_output() {
    let mut pass = node("Pass", "noOp", 200.0, 0.0, json!({}));
    pass["onError"] = json!("continueErrorOutput");
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"), pass,
        node("Errors", "noOp", 400.0, 100.0, json!({}))],
        "pinData": {"Pass": [{"json": {"ok": 1}}, {"json": {"error": "bad"}}, {"json": {"error": "x", "message": "y"}}]},
        "connections": {"Webhook": {"main": link("Webhook", &[("Pass", 0)])},
                        "Pass": {"main": [[], [{"node": "Errors", "type": "main", "index": 0}]]}}});
    let run = run(wf, "{}");
    assert_eq!(run.trace[1].outputs, vec![Some(1), Some(2)]);
    // Error items are merged over the input item they pair with (here the trigger item).
    let text = body(&run);
    assert!(
        text.contains(r#""executionMode":"production","error":"bad"}"#),
        "{text}"
    );
    assert!(
        text.ends_with(r#""executionMode":"production","error":"x","message":"y"}]"#),
        "{text}"
    );
}

#[test]
fn paired_item_lineage_resolves_earlier_nodes() {
    let set = node(
        "Set",
        "set",
        400.0,
        0.0,
        json!({"keepOnlySet": true, "values": {"string": [{"name": "from", "value": "={{ $('Webhook').item.json.body.name }}"}]}}),
    );
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        node("Pass", "noOp", 200.0, 0.0, json!({})), set],
        "connections": {"Webhook": {"main": link("Webhook", &[("Pass", 0)])}, "Pass": {"main": link("Pass", &[("Set", 0)])}}});
    assert_eq!(body(&run(wf, r#"{"name":"Ada"}"#)), r#"[{"from":"Ada"}]"#);
}

#[test]
fn response_node_without_respond_answers_200_empty() {
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("responseNode", ""), node("Pass", "noOp", 200.0, 0.0, json!({}))],
        "connections": {"Webhook": {"main": link("Webhook", &[("Pass", 0)])}}});
    let run = run(wf, "{}");
    assert_eq!((run.response.status, body(&run)), (200, String::new()));
}

#[test]
fn first_respond_node_answers() {
    let respond = |name: &str, y: f64, key: &str| {
        let mut n = node(
            name,
            "respondToWebhook",
            200.0,
            y,
            json!({"respondWith": "firstIncomingItem", "options": {"responseKey": key, "responseCode": 201}}),
        );
        n["typeVersion"] = json!(1.1);
        n
    };
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("responseNode", ""), respond("R1", -50.0, "first"), respond("R2", 50.0, "second")],
        "pinData": {"Webhook": [{"json": {"v": 1}}]},
        "connections": {"Webhook": {"main": link("Webhook", &[("R1", 0), ("R2", 0)])}}});
    let run = run(wf, "{}");
    assert_eq!(
        (run.response.status, body(&run)),
        (201, r#"{"first":{"v":1}}"#.to_owned())
    );
}

#[test]
fn first_entry_json_without_items_is_500() {
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "firstEntryJson"), node("Empty", "noOp", 200.0, 0.0, json!({}))],
        "pinData": {"Empty": []},
        "connections": {"Webhook": {"main": link("Webhook", &[("Empty", 0)])}}});
    let run = run(wf, "{}");
    assert_eq!(run.response.status, 500);
    assert!(body(&run).contains("No item to return was found"));
}

#[test]
fn items_per_output_limit_fails_cleanly() {
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"), node("Many", "noOp", 200.0, 0.0, json!({}))],
        "pinData": {"Many": [{"json": {}}, {"json": {}}, {"json": {}}]},
        "connections": {"Webhook": {"main": link("Webhook", &[("Many", 0)])}}});
    let run = run_with(
        wf,
        "{}",
        Limits {
            items_per_output: 2,
            ..Limits::default()
        },
        1_000,
    );
    assert_eq!(run.response.status, 500);
    assert!(matches!(run.outcome, Outcome::Failed(ref e) if e.code == limits::CODE_ITEMS));
}

#[test]
fn node_runs_limit_stops_endless_loops() {
    // Loop Over Items with `reset` queues its input afresh on every run, so feeding its
    // loop output back into it never finishes (a real n8n pitfall; the codec accepts it
    // because the cycle has a loop node).
    let mut looped = node(
        "Loop",
        "splitInBatches",
        200.0,
        0.0,
        json!({"options": {"reset": true}}),
    );
    looped["typeVersion"] = json!(3);
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"),
        looped, node("A", "noOp", 400.0, 0.0, json!({}))],
        "connections": {"Webhook": {"main": link("Webhook", &[("Loop", 0)])},
                        "Loop": {"main": [[], [{"node": "A", "type": "main", "index": 0}]]},
                        "A": {"main": link("A", &[("Loop", 0)])}}});
    let run = run_with(
        wf,
        "{}",
        Limits {
            node_runs: 50,
            ..Limits::default()
        },
        1_000,
    );
    assert!(matches!(run.outcome, Outcome::Failed(ref e) if e.code == limits::CODE_NODE_RUNS));
    assert_eq!(run.trace.len(), 50);
}

#[test]
fn arena_limit_fails_cleanly() {
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"), node("A", "noOp", 200.0, 0.0, json!({}))],
        "connections": {"Webhook": {"main": link("Webhook", &[("A", 0)])}}});
    let run = run_with(
        wf,
        "{}",
        Limits {
            arena_bytes: 16,
            ..Limits::default()
        },
        1_000,
    );
    assert!(matches!(run.outcome, Outcome::Failed(ref e) if e.code == limits::CODE_ARENA));
}

#[test]
fn execution_time_limit_fails_cleanly() {
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"), node("A", "noOp", 200.0, 0.0, json!({}))],
        "connections": {"Webhook": {"main": link("Webhook", &[("A", 0)])}}});
    // The services' clock says the execution started 10 minutes ago.
    let run = run_with(
        wf,
        "{}",
        Limits {
            execution_time_ms: 1_000,
            ..Limits::default()
        },
        601_000,
    );
    assert!(matches!(run.outcome, Outcome::Failed(ref e) if e.code == limits::CODE_TIME));
    assert_eq!(run.response.status, 500);
}

#[test]
fn retry_waits_with_a_timer_effect_between_tries() {
    let mut stop = node(
        "Stop",
        "stopAndError",
        200.0,
        0.0,
        json!({"errorMessage": "flaky"}),
    );
    stop["retryOnFail"] = json!(true);
    stop["maxTries"] = json!(2);
    stop["waitBetweenTries"] = json!(500);
    let wf = json!({"settings": {"executionOrder": "v1"}, "nodes": [webhook("lastNode", "allEntries"), stop],
        "connections": {"Webhook": {"main": link("Webhook", &[("Stop", 0)])}}});
    let bytes = archive(&plan_from_workflow(&wf));
    let plan = access(&bytes);
    let arena = Bump::new();
    let items =
        arena.alloc_slice_copy(&[super::item::Item::new(super::value::Value::EMPTY_OBJECT)]);
    let mut exec = Execution::new(
        &arena,
        plan,
        Start { node: 0, items },
        FakeServices { now_ms: 1_000 },
        config(Limits::default()),
    );
    match exec.poll(1_000) {
        Effect::Timer { node, at_ms } => {
            assert_eq!((node, at_ms), (1, 1_500));
            // Polling again before the timer fired hands out the same effect.
            assert!(matches!(
                exec.poll(1_200),
                Effect::Timer { at_ms: 1_500, .. }
            ));
            exec.complete(node, EffectResult::TimerFired);
        }
        other => panic!("expected a retry timer, got {other:?}"),
    }
    match exec.poll(1_500) {
        Effect::Done(Outcome::Failed(e)) => assert_eq!(e.message, "flaky"),
        other => panic!("expected failure after the last try, got {other:?}"),
    }
    assert_eq!(exec.trace().len(), 2);
}
