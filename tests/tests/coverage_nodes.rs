//! Node kinds added for corpus coverage, run the way `linkflow run` runs a workflow: the
//! codec's validating compiler, the real expression engine, the manual trigger. These
//! cover what needs the compiler (the HTML node's `{{ }}` template segments, the Interval
//! trigger's schedule, operations rejected at compile time) beside the engine-level unit
//! tests in `dataplane/src/engine/nodes/coverage_tests.rs`.

use linkflow_codec::{compile_workflow, Export};
use linkflow_dataplane::engine::runner::{run_workflow, RunOutput};
use linkflow_dataplane::engine::services::EngineServices;
use serde_json::{json, Value as Json};

const NOW_MS: i64 = 1_700_000_000_000;

/// Manual trigger -> Set (raw JSON `fields`) -> `node`; the last node's items.
fn run_after_set(fields: Json, node: Json) -> Result<Vec<Json>, String> {
    run_chain(fields, vec![node])
}

/// Manual trigger -> Set (raw JSON `fields`) -> each of `nodes` in turn.
fn run_chain(fields: Json, nodes: Vec<Json>) -> Result<Vec<Json>, String> {
    let mut all = vec![
        json!({"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0], "parameters": {}}),
        json!({"name": "Fields", "type": "n8n-nodes-base.set", "typeVersion": 3.4,
             "position": [200, 0],
             "parameters": {"mode": "raw", "jsonOutput": fields.to_string(), "options": {}}}),
    ];
    all.extend(nodes);
    let mut connections = serde_json::Map::new();
    for pair in all.windows(2) {
        let (from, to) = (
            pair[0]["name"].as_str().unwrap(),
            pair[1]["name"].as_str().unwrap(),
        );
        connections.insert(
            from.to_owned(),
            json!({"main": [[{"node": to, "type": "main", "index": 0}]]}),
        );
    }
    let workflow = json!({
        "name": "coverage",
        "settings": {"executionOrder": "v1"},
        "nodes": all,
        "connections": connections,
    });
    let services = EngineServices::with_js(NOW_MS).map_err(|e| e.to_string())?;
    match run_workflow(&workflow, None, services, "http://localhost:5678", NOW_MS)? {
        RunOutput::Manual(run) => {
            let items: Json = serde_json::from_slice(&run.items_json).map_err(|e| e.to_string())?;
            Ok(items.as_array().cloned().unwrap_or_default())
        }
        RunOutput::Webhook(_) => Err("webhook run for a manual workflow".to_owned()),
    }
}

fn n(kind: &str, version: f64, parameters: Json) -> Json {
    json!({"name": "N", "type": format!("n8n-nodes-base.{kind}"), "typeVersion": version,
        "position": [400, 0], "parameters": parameters})
}

#[test]
fn html_template_replaces_each_double_brace_segment_with_its_string_value() {
    let html =
        "<h1>{{ $json.name }}</h1><p>{{ $json.n + 1 }} {{ $json.tags }} {{ $json.missing }}</p>";
    let items = run_after_set(
        json!({"name": "Zoë ☃", "n": 41, "tags": ["a", "b"]}),
        n("html", 1.2, json!({"html": html})),
    )
    .unwrap();
    assert_eq!(
        items,
        vec![json!({"html": "<h1>Zoë ☃</h1><p>42 a,b undefined</p>"})]
    );
}

#[test]
fn html_template_without_segments_is_the_text_itself() {
    let items = run_after_set(
        json!({"a": 1}),
        n(
            "html",
            1.0,
            json!({"operation": "generateHtmlTemplate", "html": "<b>plain</b>"}),
        ),
    )
    .unwrap();
    assert_eq!(items, vec![json!({"html": "<b>plain</b>"})]);
}

#[test]
fn html_table_lists_keys_in_first_seen_order_with_checkboxes() {
    let items = run_after_set(
        json!({"first_name": "Ada", "ok": true}),
        n(
            "html",
            1.2,
            json!({"operation": "convertToHtmlTable",
                "options": {"customStyling": true, "capitalize": true, "caption": "T"}}),
        ),
    )
    .unwrap();
    assert_eq!(
        items,
        vec![
            json!({"table": "<table  ><caption>T</caption><thead  ><tr><th>First Name</th><th>Ok</th></tr></thead><tbody><tr  ><td  >Ada</td><td  ><input type=\"checkbox\" checked=\"checked\"/></td></tr></tbody></table>"})
        ]
    );
}

#[test]
fn html_extract_is_rejected_at_compile_time() {
    let workflow = json!({
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0], "parameters": {}},
            n("html", 1.2, json!({"operation": "extractHtmlContent",
                "extractionValues": {"values": [{"key": "t", "cssSelector": "h1"}]}})),
        ],
        "connections": {"Start": {"main": [[{"node": "N", "type": "main", "index": 0}]]}}
    });
    let error = compile_workflow(Export::Json(&workflow))
        .unwrap_err()
        .one_per_line();
    assert!(error.contains("LF-CMP-002"), "{error}");
    assert!(error.contains("extractHtmlContent"), "{error}");
}

#[test]
fn interval_trigger_compiles_to_a_schedule_and_odd_periods_do_not() {
    let workflow = |interval: u64| {
        json!({
            "nodes": [
                {"name": "Every", "type": "n8n-nodes-base.interval", "typeVersion": 1,
                 "position": [0, 0], "parameters": {"interval": interval, "unit": "minutes"}},
                n("noOp", 1.0, json!({})),
            ],
            "connections": {"Every": {"main": [[{"node": "N", "type": "main", "index": 0}]]}}
        })
    };
    assert!(compile_workflow(Export::Json(&workflow(15))).is_ok());
    let error = compile_workflow(Export::Json(&workflow(7)))
        .unwrap_err()
        .one_per_line();
    assert!(error.contains("LF-CMP-003"), "{error}");
}

#[test]
fn crypto_generate_gives_distinct_uuids_per_item() {
    let split = json!({"name": "Split", "type": "n8n-nodes-base.splitOut", "typeVersion": 1,
        "position": [300, 0], "parameters": {"fieldToSplitOut": "list", "options": {}}});
    let items = run_chain(
        json!({"list": [{"a": 1}, {"a": 2}]}),
        vec![
            split,
            n(
                "crypto",
                1.0,
                json!({"action": "generate", "dataPropertyName": "id"}),
            ),
        ],
    )
    .unwrap();
    assert_eq!(items.len(), 2);
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_ne!(ids[0], ids[1]);
    for id in ids {
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }
}

#[test]
fn item_lists_and_xml_compile_through_the_codec() {
    let items = run_after_set(
        json!({"xml": "<a><b>1</b><b>2</b></a>"}),
        n(
            "xml",
            1.0,
            json!({"dataPropertyName": "xml", "options": {}}),
        ),
    )
    .unwrap();
    assert_eq!(items, vec![json!({"a": {"b": ["1", "2"]}})]);
    let items = run_after_set(
        json!({"list": [1, 2]}),
        n(
            "itemLists",
            3.1,
            json!({"fieldToSplitOut": "list", "options": {}}),
        ),
    )
    .unwrap();
    assert_eq!(items, vec![json!({"list": 1}), json!({"list": 2})]);
}
