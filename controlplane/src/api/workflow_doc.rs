//! Checks on an n8n workflow export before it is stored: the shape the API relies on
//! (name, nodes, connections, tags) and node types the engine knows. Deeper validation
//! (parameters, expressions) is the compiler's, at activation.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::error::{code, ApiError};
use crate::deploy::NodeType;

/// Nodes accepted in one workflow.
pub const NODES_MAX: usize = 2_000;
/// Tags accepted on one workflow.
pub const TAGS_MAX: usize = 50;
/// Longest workflow name or tag, in bytes.
pub const NAME_BYTES_MAX: usize = 256;

/// What the API extracts from a workflow document.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowDoc {
    /// `name` (required, non-empty).
    pub name: String,
    /// Tag names (`tags` as strings or `{ "name": ... }` objects, as n8n exports them).
    pub tags: Vec<String>,
    /// The document as given, re-serialised only when the caller changes nothing.
    pub body: String,
}

/// Parses and checks a workflow document; `known` is the engine's node catalogue.
pub fn parse(bytes: &[u8], known: &[NodeType]) -> Result<WorkflowDoc, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            code::INVALID_JSON,
            "workflow is not valid JSON",
        )
        .with_details(json!({ "line": e.line(), "column": e.column() }))
    })?;
    let body = String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::validation("body", "workflow is not UTF-8"))?;
    check(&value, known).map(|(name, tags)| WorkflowDoc { name, tags, body })
}

/// Checks an already parsed document (bulk import); the body is re-serialised.
pub fn from_value(value: &Value, known: &[NodeType]) -> Result<WorkflowDoc, ApiError> {
    let (name, tags) = check(value, known)?;
    Ok(WorkflowDoc {
        name,
        tags,
        body: value.to_string(),
    })
}

fn check(value: &Value, known: &[NodeType]) -> Result<(String, Vec<String>), ApiError> {
    let obj = value
        .as_object()
        .ok_or_else(|| ApiError::validation("body", "a workflow is a JSON object"))?;
    let name = match obj.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= NAME_BYTES_MAX => s.clone(),
        _ => {
            return Err(ApiError::validation(
                "name",
                format!("name must be a non-empty string of at most {NAME_BYTES_MAX} bytes"),
            ))
        }
    };
    let names = check_nodes(obj, known)?;
    check_connections(obj, &names)?;
    Ok((name, tags(obj)?))
}

fn check_nodes(obj: &Map<String, Value>, known: &[NodeType]) -> Result<HashSet<String>, ApiError> {
    let nodes = obj
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::validation("nodes", "nodes must be an array"))?;
    if nodes.len() > NODES_MAX {
        return Err(ApiError::validation(
            "nodes",
            format!("at most {NODES_MAX} nodes"),
        ));
    }
    let mut names = HashSet::with_capacity(nodes.len());
    let mut unknown = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let field = format!("nodes[{i}]");
        let name = node
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty());
        let Some(name) = name else {
            return Err(ApiError::validation(
                &field,
                "every node needs a non-empty name",
            ));
        };
        let Some(kind) = node.get("type").and_then(Value::as_str) else {
            return Err(ApiError::validation(
                &field,
                format!("node {name:?} has no type"),
            ));
        };
        if !names.insert(name.to_owned()) {
            return Err(ApiError::validation(
                &field,
                format!("duplicate node name {name:?}"),
            ));
        }
        if !known.iter().any(|t| t.name == kind) {
            unknown.push(json!({ "node": name, "type": kind }));
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code::WORKFLOW_INVALID,
            "workflow uses node types this engine does not support",
        )
        .with_details(json!({ "unknownNodeTypes": unknown })));
    }
    Ok(names)
}

fn check_connections(obj: &Map<String, Value>, names: &HashSet<String>) -> Result<(), ApiError> {
    let connections = match obj.get("connections") {
        None => return Ok(()),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(ApiError::validation(
                "connections",
                "connections must be an object",
            ))
        }
    };
    let dangling = |name: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            code::WORKFLOW_INVALID,
            format!("connection refers to unknown node {name:?}"),
        )
        .with_details(json!({ "node": name }))
    };
    for (source, outputs) in connections {
        if !names.contains(source) {
            return Err(dangling(source));
        }
        // { "main": [ [ {"node": "B", "type": "main", "index": 0}, ... ], ... ] }
        let groups = outputs.as_object().into_iter().flat_map(|m| m.values());
        let targets = groups
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|t| t.get("node").and_then(Value::as_str));
        for target in targets {
            if !names.contains(target) {
                return Err(dangling(target));
            }
        }
    }
    Ok(())
}

fn tags(obj: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let Some(tags) = obj.get("tags") else {
        return Ok(Vec::new());
    };
    let list = tags
        .as_array()
        .ok_or_else(|| ApiError::validation("tags", "tags must be an array"))?;
    if list.len() > TAGS_MAX {
        return Err(ApiError::validation(
            "tags",
            format!("at most {TAGS_MAX} tags"),
        ));
    }
    list.iter()
        .map(|t| {
            let name = t.as_str().or_else(|| t.get("name").and_then(Value::as_str));
            match name {
                Some(n) if !n.is_empty() && n.len() <= NAME_BYTES_MAX => Ok(n.to_owned()),
                _ => Err(ApiError::validation(
                    "tags",
                    "a tag is a non-empty string or {\"name\"}",
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Vec<NodeType> {
        ["n8n-nodes-base.webhook", "n8n-nodes-base.set"]
            .iter()
            .map(|n| NodeType {
                name: (*n).into(),
                versions: vec![1.0],
            })
            .collect()
    }

    fn doc(v: Value) -> Result<WorkflowDoc, ApiError> {
        parse(v.to_string().as_bytes(), &catalog())
    }

    #[test]
    fn accepts_an_n8n_export_with_tag_objects() {
        let wf = doc(json!({
            "name": "W", "tags": [{"id": "1", "name": "prod"}, "api"],
            "nodes": [{"name": "A", "type": "n8n-nodes-base.webhook"},
                      {"name": "B", "type": "n8n-nodes-base.set"}],
            "connections": {"A": {"main": [[{"node": "B", "type": "main", "index": 0}]]}}
        }))
        .unwrap();
        assert_eq!(wf.name, "W");
        assert_eq!(wf.tags, vec!["prod", "api"]);
    }

    #[test]
    fn unknown_node_type_is_named() {
        let err =
            doc(json!({"name": "W", "nodes": [{"name": "X", "type": "acme.thing"}]})).unwrap_err();
        assert_eq!(err.code, code::WORKFLOW_INVALID);
        assert_eq!(err.details["unknownNodeTypes"][0]["node"], "X");
    }

    #[test]
    fn connection_to_missing_node_is_refused() {
        let err = doc(json!({"name": "W",
            "nodes": [{"name": "A", "type": "n8n-nodes-base.set"}],
            "connections": {"A": {"main": [[{"node": "Ghost"}]]}}}))
        .unwrap_err();
        assert_eq!(err.details["node"], "Ghost");
    }

    #[test]
    fn malformed_documents_get_codes() {
        assert_eq!(
            parse(b"{nope", &catalog()).unwrap_err().code,
            code::INVALID_JSON
        );
        assert_eq!(doc(json!([])).unwrap_err().code, code::VALIDATION_ERROR);
        assert_eq!(
            doc(json!({"nodes": []})).unwrap_err().details["field"],
            "name"
        );
        assert_eq!(
            doc(json!({"name": "W"})).unwrap_err().details["field"],
            "nodes"
        );
        let dup = json!({"name": "W", "nodes": [{"name": "A", "type": "n8n-nodes-base.set"},
                                                 {"name": "A", "type": "n8n-nodes-base.set"}]});
        assert_eq!(doc(dup).unwrap_err().code, code::VALIDATION_ERROR);
    }
}
