//! The typed fast paths must answer exactly what the generic node implementations answer:
//! every case runs the same plan twice, with and without the typed forms, and compares the
//! response and the trace. Cases cover the typed shapes and the values that must fall
//! back (conversions that fail, wrong types, case-insensitive compares).

use bumpalo::Bump;
use linkflow_codec::plan::typed::FastParams;
use serde_json::{json, Value as Json};

use super::execution::Config;
use super::services::EngineServices;
use super::test_support::{access, archive, json_value, plan_from_workflow};
use super::webhook::{find_webhook, run_webhook_traced, WebhookEnv, WebhookRequest};

/// Runs `workflow` for POST /webhook/t with `body`; `typed: false` strips the typed forms.
/// Returns (status, body, trace lines, number of typed nodes in the plan).
fn run(workflow: &Json, body: &str, typed: bool) -> (u16, String, Vec<String>, usize) {
    let mut plan = plan_from_workflow(workflow);
    if !typed {
        for node in &mut plan.nodes {
            node.fast = FastParams::None;
        }
    }
    let typed_nodes = plan
        .nodes
        .iter()
        .filter(|n| n.fast != FastParams::None)
        .count();
    let bytes = archive(&plan);
    let plan = access(&bytes);
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
        config: Config::new("webhook", "1", 0),
    };
    let run = run_webhook_traced(
        &arena,
        plan,
        trigger,
        &request,
        &params,
        EngineServices::fast_only(0),
        &env,
        &mut |_| None,
    );
    let trace = run
        .trace
        .iter()
        .map(|t| format!("{}#{} {:?} {:?}", t.node, t.run, t.outputs, t.error))
        .collect();
    (
        run.response.status,
        String::from_utf8(run.response.body).unwrap(),
        trace,
        typed_nodes,
    )
}

/// Webhook -> `middle` nodes in a chain -> Respond (`respond` parameters).
fn chain(middle: Vec<Json>, respond: Json) -> Json {
    let mut nodes = vec![
        json!({"name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
        "position": [0, 0], "parameters": {"httpMethod": "POST", "path": "t", "responseMode": "responseNode"}}),
    ];
    let mut connections = serde_json::Map::new();
    let mut previous = "Webhook".to_owned();
    for (i, mut node) in middle.into_iter().enumerate() {
        let name = format!("N{i}");
        node["name"] = json!(name);
        node["position"] = json!([200 * (i + 1), 0]);
        connections.insert(
            previous,
            json!({"main": [[{"node": name, "type": "main", "index": 0}]]}),
        );
        nodes.push(node);
        previous = name;
    }
    nodes.push(
        json!({"name": "Respond", "type": "n8n-nodes-base.respondToWebhook", "typeVersion": 1.1,
        "position": [5000, 0], "parameters": respond}),
    );
    connections.insert(
        previous,
        json!({"main": [[{"node": "Respond", "type": "main", "index": 0}]]}),
    );
    json!({"name": "w", "nodes": nodes, "connections": connections})
}

fn set(assignments: Json, include_other: bool) -> Json {
    json!({"type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {"mode": "manual",
        "includeOtherFields": include_other, "options": {}, "assignments": {"assignments": assignments}}})
}

fn filter(kind: &str, conditions: Json, options: Json) -> Json {
    json!({"type": format!("n8n-nodes-base.{kind}"), "typeVersion": 2.2, "parameters": {"options": {},
        "conditions": {"options": options, "combinator": "and", "conditions": conditions}}})
}

fn strict() -> Json {
    json!({"caseSensitive": true, "leftValue": "", "typeValidation": "strict", "version": 2})
}

fn all_items() -> Json {
    json!({"respondWith": "allIncomingItems", "options": {}})
}

/// Asserts that typed and generic runs agree and returns the typed run.
fn same(workflow: &Json, body: &str) -> (u16, String, Vec<String>, usize) {
    let typed = run(workflow, body, true);
    let generic = run(workflow, body, false);
    assert_eq!(generic.3, 0, "the generic run has no typed nodes");
    assert_eq!(
        (typed.0, &typed.1, &typed.2),
        (generic.0, &generic.1, &generic.2),
        "typed and generic answers differ for {body}"
    );
    typed
}

#[test]
fn reference_shape_is_typed_and_answers_like_the_generic_nodes() {
    let workflow = chain(
        vec![
            set(
                json!([{"id": "b", "name": "b", "value": "={{ $json.body.a + 1 }}", "type": "number"}]),
                true,
            ),
            filter(
                "if",
                json!([{"id": "c", "leftValue": "={{ $json.b }}", "rightValue": 10,
                    "operator": {"type": "number", "operation": "gt"}}]),
                strict(),
            ),
        ],
        json!({"respondWith": "json", "options": {"responseCode": 201},
            "responseBody": "={{ { \"a\": $json.body.a, \"name\": $json.body.name, \"b\": $json.b } }}"}),
    );
    let (status, body, _, typed_nodes) = same(&workflow, r#"{"a":41,"name":"bench"}"#);
    assert_eq!(typed_nodes, 3, "Set, If and Respond are typed");
    assert_eq!(
        (status, body.as_str()),
        (201, r#"{"a":41,"name":"bench","b":42}"#)
    );
    // b = 4 fails the If: the Respond node after the true branch does not run.
    let (status, body, _, _) = same(&workflow, r#"{"a":3,"name":"x"}"#);
    assert_eq!((status, body.as_str()), (200, ""));
}

#[test]
fn set_conversions_that_fail_fall_back_to_the_generic_error() {
    let workflow = chain(
        vec![set(
            json!([{"id": "n", "name": "n", "value": "={{ $json.body.v }}", "type": "number"},
                   {"id": "s", "name": "s", "value": "={{ $json.body.flag }}", "type": "string"}]),
            false,
        )],
        all_items(),
    );
    let (status, body, _, _) = same(&workflow, r#"{"v":"12.5","flag":true}"#);
    assert_eq!((status, body.as_str()), (200, r#"[{"n":12.5,"s":"true"}]"#));
    // "abc" is not a number: n8n's type error fails the workflow (generic path).
    let (status, _, trace, _) = same(&workflow, r#"{"v":"abc","flag":false}"#);
    assert_eq!(status, 500);
    assert!(
        trace.iter().any(|t| t.contains("expects a number")),
        "{trace:?}"
    );
    // Objects become JSON text in a string field only on the generic path; same answer.
    same(&workflow, r#"{"v":1,"flag":{"x":[1]}}"#);
    // Missing values become null.
    let (_, body, _, _) = same(&workflow, r#"{}"#);
    assert_eq!(body, r#"[{"n":null,"s":null}]"#);
}

#[test]
fn set_repeated_names_replace_in_place_over_the_input() {
    let workflow = chain(
        vec![set(
            json!([{"id": "1", "name": "a", "value": 1, "type": "number"},
                   {"id": "2", "name": "z", "value": "x", "type": "string"},
                   {"id": "3", "name": "a", "value": 2, "type": "number"}]),
            true,
        )],
        all_items(),
    );
    let (_, body, _, typed_nodes) = same(&workflow, r#"{"q":0}"#);
    assert_eq!(typed_nodes, 2);
    assert!(body.ends_with(r#""webhookUrl":"http://localhost/webhook/t","executionMode":"production","a":2,"z":"x"}]"#), "{body}");
}

#[test]
fn filter_string_and_boolean_operators_agree_with_the_generic_path() {
    let condition = |left: &str, op_type: &str, operation: &str, right: Json| {
        json!({"leftValue": left, "rightValue": right,
            "operator": {"type": op_type, "operation": operation, "singleValue": true}})
    };
    let bodies = [
        r#"{"s":"Hello","t":"ell","b":true}"#,
        r#"{"s":"","t":"","b":false}"#,
        r#"{"s":5,"t":"5","b":"true"}"#,
        r#"{"t":null}"#,
    ];
    let cases = [
        condition("={{ $json.body.s }}", "string", "notEmpty", json!("")),
        condition(
            "={{ $json.body.s }}",
            "string",
            "contains",
            json!("={{ $json.body.t }}"),
        ),
        condition("={{ $json.body.s }}", "string", "startsWith", json!("He")),
        condition("={{ $json.body.s }}", "string", "notEndsWith", json!("lo")),
        condition("={{ $json.body.b }}", "boolean", "true", json!("")),
        condition("={{ $json.body.b }}", "boolean", "equals", json!(false)),
        condition("={{ $json.body.s }}", "number", "lte", json!(5)),
    ];
    for kind in ["if", "filter"] {
        for case in &cases {
            for options in [
                strict(),
                json!({"caseSensitive": false, "typeValidation": "loose"}),
            ] {
                let workflow = chain(vec![filter(kind, json!([case]), options)], all_items());
                for body in bodies {
                    same(&workflow, body);
                }
            }
        }
    }
}

#[test]
fn respond_item_modes_and_fallbacks_agree() {
    for respond in [
        json!({"respondWith": "firstIncomingItem", "options": {"responseCode": 202}}),
        json!({"options": {}}),
        all_items(),
        // A JSON text body is parsed by the generic path.
        json!({"respondWith": "json", "responseBody": "={{ JSON.stringify($json.body) }}"}),
        // Headers keep the node generic.
        json!({"respondWith": "json", "responseBody": "={{ $json.body }}",
            "options": {"responseHeaders": {"entries": [{"name": "X-A", "value": "1"}]}}}),
    ] {
        let workflow = chain(Vec::new(), respond);
        same(&workflow, r#"{"a":[1,"x",{"k":null}]}"#);
    }
}

/// A Set with no assignments and without the input's fields builds a new `{}` each time:
/// two of them are different objects for `===` (JavaScript identity), typed or generic.
#[test]
fn set_empty_objects_have_addresses_of_their_own() {
    let workflow = chain(
        vec![set(json!([]), false), set(json!([]), false)],
        json!({"respondWith": "json", "options": {},
            "responseBody": "={{ { \"same\": $('N0').item.json === $json, \"json\": $json } }}"}),
    );
    let (status, body, _, typed_nodes) = same(&workflow, r#"{"a":1}"#);
    assert!(typed_nodes >= 2, "both Sets are typed: {typed_nodes}");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"same":false,"json":{}}"#)
    );
}
