//! Sealed plans: deterministic bytes, validation of received bytes, and the validation codes
//! that an author sees.

use linkflow_codec::{compile_export, envelope, model, validate};
use serde_json::json;

fn reference_workflow() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/workflows/webhook-bench.json"
    );
    std::fs::read(path).unwrap_or_else(|_| {
        // Without ../shared, an equivalent small workflow keeps the test meaningful.
        serde_json::to_vec(&webhook_workflow(json!([]), json!({}))).unwrap()
    })
}

fn webhook_workflow(
    extra_nodes: serde_json::Value,
    connections: serde_json::Value,
) -> serde_json::Value {
    let mut nodes = vec![json!({
        "id": "1", "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
        "position": [0, 0], "parameters": {"httpMethod": "POST", "path": "t", "responseMode": "lastNode"}
    })];
    nodes.extend(extra_nodes.as_array().cloned().unwrap_or_default());
    json!({"name": "t", "nodes": nodes, "connections": connections, "settings": {"executionOrder": "v1"}})
}

fn codes(workflow: &serde_json::Value) -> Vec<&'static str> {
    let document = model::import_value(workflow.clone()).expect("imports");
    validate::validate(&document.workflow, validate::Stage::Compile)
        .into_iter()
        .filter(|d| d.severity == validate::Severity::Error)
        .map(|d| d.code)
        .collect()
}

#[test]
fn compiling_twice_gives_identical_bytes_and_plan_id() {
    let bytes = reference_workflow();
    let first = compile_export(&bytes).expect("the reference workflow compiles");
    let second = compile_export(&bytes).expect("the reference workflow compiles");
    assert_eq!(&first.bytes[..], &second.bytes[..]);
    assert_eq!(first.plan_id, second.plan_id);
    assert_eq!(envelope::plan_id(&first.bytes).unwrap(), first.plan_id);
}

#[test]
fn a_flipped_byte_anywhere_is_rejected_never_a_panic() {
    let sealed = compile_export(&reference_workflow()).unwrap();
    assert!(envelope::open(&sealed.bytes).is_ok());
    for position in 0..sealed.bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut corrupted = envelope::aligned(&sealed.bytes);
            corrupted[position] ^= mask;
            let error = envelope::open(&corrupted)
                .err()
                .unwrap_or_else(|| panic!("byte {position} ^ {mask:#x} was accepted"));
            assert!(!error.to_string().is_empty());
        }
    }
}

#[test]
fn truncated_and_extended_plans_are_rejected() {
    let sealed = compile_export(&reference_workflow()).unwrap();
    for length in [
        0,
        1,
        8,
        envelope::HEADER_BYTES - 1,
        envelope::HEADER_BYTES,
        sealed.bytes.len() - 1,
    ] {
        let cut = envelope::aligned(&sealed.bytes[..length]);
        assert!(
            envelope::open(&cut).is_err(),
            "length {length} was accepted"
        );
    }
    let mut longer = sealed.bytes.to_vec();
    longer.push(0);
    assert!(envelope::open(&envelope::aligned(&longer)).is_err());
}

#[test]
fn duplicate_node_names_are_reported() {
    let wf = webhook_workflow(
        json!([
            {"name": "A", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [1, 0], "parameters": {}},
            {"name": "A", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [2, 0], "parameters": {}}
        ]),
        json!({}),
    );
    assert!(codes(&wf).contains(&validate::DUPLICATE_NAME));
}

#[test]
fn connections_to_missing_nodes_are_reported() {
    let wf = webhook_workflow(
        json!([]),
        json!({"Webhook": {"main": [[{"node": "Nowhere", "type": "main", "index": 0}]]}}),
    );
    assert!(codes(&wf).contains(&validate::UNKNOWN_TARGET));
}

#[test]
fn a_workflow_without_trigger_is_reported() {
    let wf = json!({"name": "t", "nodes": [
        {"name": "A", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [0, 0], "parameters": {}}
    ], "connections": {}});
    assert!(codes(&wf).contains(&validate::NO_TRIGGER));
}

#[test]
fn unknown_node_types_are_errors_at_compile_and_warnings_at_import() {
    let wf = webhook_workflow(
        json!([{"name": "X", "type": "n8n-nodes-base.doesNotExist", "typeVersion": 1, "position": [1, 0], "parameters": {}}]),
        json!({"Webhook": {"main": [[{"node": "X", "type": "main", "index": 0}]]}}),
    );
    assert!(codes(&wf).contains(&validate::UNKNOWN_TYPE));
    let document = model::import_value(wf).unwrap();
    let at_import = validate::validate(&document.workflow, validate::Stage::Import);
    assert!(at_import
        .iter()
        .any(|d| d.code == validate::UNKNOWN_TYPE && d.severity == validate::Severity::Warning));
}

#[test]
fn many_errors_are_reported_at_once() {
    let wf = webhook_workflow(
        json!([
            {"name": "A", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [1, 0], "parameters": {}},
            {"name": "A", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [2, 0], "parameters": {}},
            {"name": "X", "type": "n8n-nodes-base.doesNotExist", "typeVersion": 1, "position": [3, 0], "parameters": {}}
        ]),
        json!({"Webhook": {"main": [[{"node": "Nowhere", "type": "main", "index": 0}]]}}),
    );
    let found = codes(&wf);
    for code in [
        validate::DUPLICATE_NAME,
        validate::UNKNOWN_TARGET,
        validate::UNKNOWN_TYPE,
    ] {
        assert!(found.contains(&code), "{code} missing from {found:?}");
    }
}

#[test]
fn a_malformed_expression_names_node_and_path_and_still_compiles() {
    // n8n activates such a workflow and fails the node at run time (golden `expr_syntax_error`).
    let wf = webhook_workflow(
        json!([{"name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [1, 0],
                "parameters": {"assignments": {"assignments": [
                    {"id": "1", "name": "x", "value": "={{ $json.a + }}", "type": "string"}]}}}]),
        json!({"Webhook": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}}),
    );
    let document = model::import_value(wf.clone()).unwrap();
    let findings = validate::validate(&document.workflow, validate::Stage::Compile);
    let finding = findings
        .iter()
        .find(|d| d.code == validate::BAD_EXPRESSION)
        .expect("the malformed expression is reported");
    assert_eq!(finding.node.as_deref(), Some("Set"));
    assert!(
        finding.path.starts_with("parameters.assignments"),
        "{}",
        finding.path
    );
    assert!(compile_export(&serde_json::to_vec(&wf).unwrap()).is_ok());
}

#[test]
fn garbage_input_is_an_import_error_with_a_code() {
    for input in [
        &b""[..],
        b"not json",
        b"[]",
        b"{\"nodes\": 5}",
        b"{\"workflow\": null}",
    ] {
        let error = model::import(input).expect_err("garbage is refused");
        assert!(error.code.starts_with("LF-"), "{error}");
    }
}

/// `sole_targets` names an output's child only when a stack entry is all it needs: one
/// link, into input 0 of a node with no other connected input.
#[test]
fn sole_targets_name_only_the_children_that_need_no_link_walk() {
    let noop = |name: &str, y: i32| {
        json!({"id": name, "name": name, "type": "n8n-nodes-base.noOp", "typeVersion": 1,
               "position": [400, y], "parameters": {}})
    };
    let to = |node: &str, index: u32| json!({"node": node, "type": "main", "index": index});
    let workflow = webhook_workflow(
        json!([
            {"id": "s", "name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3.4,
             "position": [200, 0], "parameters": {"mode": "manual", "assignments": {"assignments": []}}},
            {"id": "if", "name": "If", "type": "n8n-nodes-base.if", "typeVersion": 2.2,
             "position": [300, 0], "parameters": {"conditions": {"conditions": [], "combinator": "and"}}},
            noop("A", 0), noop("B", 100), noop("C", 200), noop("D", 300),
            {"id": "m", "name": "Merge", "type": "n8n-nodes-base.merge", "typeVersion": 3,
             "position": [600, 0], "parameters": {}}
        ]),
        json!({
            "Webhook": {"main": [[to("Set", 0)]]},
            "Set": {"main": [[to("If", 0)]]},
            "If": {"main": [[to("A", 0)], [to("B", 0), to("C", 0)]]},
            "A": {"main": [[to("Merge", 0)]]},
            "B": {"main": [[to("Merge", 1)]]},
            "C": {"main": [[to("D", 0)]]}
        }),
    );
    let sealed = compile_export(&serde_json::to_vec(&workflow).unwrap()).expect("compiles");
    let plan = envelope::open(&sealed.bytes).expect("opens");
    let index = |name: &str| {
        plan.nodes
            .iter()
            .position(|n| n.name.as_str() == name)
            .unwrap_or_else(|| panic!("node {name}")) as u32
    };
    let sole = |name: &str, output: usize| {
        let slot = plan.outgoing.slot_start[index(name) as usize].to_native() as usize + output;
        plan.sole_targets[slot].to_native()
    };
    assert_eq!(
        plan.sole_targets.len(),
        plan.outgoing.link_start.len() - 1,
        "one entry per output slot"
    );
    assert_eq!(sole("Webhook", 0), index("Set"));
    assert_eq!(sole("Set", 0), index("If"));
    assert_eq!(sole("If", 0), index("A"));
    // Two children: ordered by position at run time.
    assert_eq!(sole("If", 1), linkflow_codec::plan::SEVERAL_CHILDREN);
    // Merge has two connected inputs: it waits, whichever input its parent feeds.
    assert_eq!(sole("A", 0), linkflow_codec::plan::SEVERAL_CHILDREN);
    assert_eq!(sole("B", 0), linkflow_codec::plan::SEVERAL_CHILDREN);
    assert_eq!(sole("C", 0), index("D"));
    assert_eq!(sole("D", 0), linkflow_codec::plan::NO_CHILD);
    assert_eq!(sole("Merge", 0), linkflow_codec::plan::NO_CHILD);
}

/// An object-literal expression carries its keys rendered as JSON (`"key":`), escaped as
/// `JSON.stringify` escapes them; computed or repeated keys leave the rendering empty.
#[test]
fn object_literal_keys_are_rendered_as_json_once_at_compile_time() {
    use linkflow_codec::expr::compile;
    let rendered = |source: &str| -> Vec<String> {
        let keys = compile(source).expect("compiles").object_keys_json;
        keys.into_iter().map(String::from).collect()
    };
    assert_eq!(
        rendered(
            r#"={{ { "a": $json.a, "q\"b\\": 1, "t\tn\n": 2, "\u0001": 3, "é😀": 4, "": 5 } }}"#
        ),
        [
            r#""a":"#,
            r#""q\"b\\":"#,
            r#""t\tn\n":"#,
            r#""\u0001":"#,
            r#""é😀":"#,
            r#""":"#
        ]
    );
    assert!(rendered(r#"={{ { "a": 1, "a": 2 } }}"#).is_empty());
    assert!(rendered(r#"={{ { ["a"]: 1 } }}"#).is_empty());
    assert!(rendered(r#"={{ { ...$json } }}"#).is_empty());
    assert!(rendered(r#"={{ {} }}"#).is_empty());
    assert!(rendered(r#"={{ $json.a }}"#).is_empty());
    assert!(rendered(r#"=x {{ { "a": 1 } }}"#).is_empty());
}

/// Plan format 5 stores `$json` path keys and rendered object keys as boxed strings (read as
/// pointer and length, no scan for an inline string's end): a sealed, validated plan reads
/// every key back as written, whatever its length (the inline/out-of-line boundary of an
/// archived string is 8 bytes), escapes and unicode included.
#[test]
fn path_and_object_keys_read_back_from_a_sealed_plan() {
    use linkflow_codec::expr::ast::ArchivedExpr;
    use linkflow_codec::expr::ArchivedBody;
    // Identifiers for the path, any string for the object literal.
    let path_keys = [
        "a",
        "abcdefgh",
        "abcdefghi",
        "sixteen_bytes_16",
        "seventeen_bytes17",
        "héllo",
        "$_x",
    ];
    let object_keys = [
        "",
        "a",
        "abcdefgh",
        "abcdefghi",
        "sixteen_bytes_16",
        "seventeen_bytes17",
        "é😀",
        "q\"b\\",
        "t\tn\n",
    ];
    let path: String = path_keys.iter().map(|k| format!(".{k}")).collect();
    let object: String = object_keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{}: {i}", json!(k)))
        .collect::<Vec<_>>()
        .join(", ");
    let workflow = webhook_workflow(
        json!([{
            "id": "2", "name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3.4,
            "position": [200, 0],
            "parameters": {"mode": "manual", "includeOtherFields": true, "assignments": {"assignments": [
                {"id": "p", "name": "p", "type": "string", "value": format!("={{{{ $json.body{path} }}}}")},
                {"id": "o", "name": "o", "type": "object", "value": format!("={{{{ {{ {object} }} }}}}")}
            ]}}
        }]),
        json!({"Webhook": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}}),
    );
    let sealed = compile_export(&serde_json::to_vec(&workflow).unwrap()).expect("compiles");
    let bytes = envelope::aligned(&sealed.bytes);
    let plan = envelope::open(&bytes).expect("a sealed plan opens");
    let mut paths = Vec::new();
    let mut rendered = Vec::new();
    for expression in plan.expressions.iter() {
        if let ArchivedBody::Single(segment) = &expression.body {
            if let ArchivedExpr::Path { keys, .. } = &segment.expr {
                paths.push(keys.iter().map(|k| k.get().to_owned()).collect::<Vec<_>>());
            }
        }
        if !expression.object_keys_json.is_empty() {
            rendered.push(
                expression
                    .object_keys_json
                    .iter()
                    .map(|k| k.get().to_owned())
                    .collect::<Vec<_>>(),
            );
        }
    }
    let mut expected_path = vec!["body".to_owned()];
    expected_path.extend(path_keys.iter().map(|k| (*k).to_owned()));
    assert_eq!(paths, [expected_path]);
    let expected_rendered: Vec<String> = object_keys
        .iter()
        .map(|k| format!("{}:", linkflow_codec::expr::json_string(k)))
        .collect();
    assert_eq!(rendered, [expected_rendered]);
}

/// A plan sealed by another format version is refused with LF-ENV-003 before anything in
/// it is read (format 4 laid path keys out as strings).
#[test]
fn a_plan_of_another_format_version_is_refused() {
    let sealed = compile_export(&reference_workflow()).unwrap();
    for version in [envelope::FORMAT_VERSION - 1, envelope::FORMAT_VERSION + 1] {
        let mut bytes = envelope::aligned(&sealed.bytes);
        bytes[8..12].copy_from_slice(&version.to_le_bytes());
        let Err(error) = envelope::open(&bytes) else {
            panic!("version {version} was accepted");
        };
        assert_eq!(error, envelope::EnvelopeError::Version { found: version });
        assert!(error.to_string().starts_with("LF-ENV-003"), "{error}");
    }
    assert_eq!(envelope::FORMAT_VERSION, 5);
}
