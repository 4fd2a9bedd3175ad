//! The n8n workflow export model.
//!
//! Only what the codec reasons about is typed (nodes, their type and version, parameters,
//! connections); every other member is kept verbatim in an `extra` map so that exporting an
//! imported workflow gives back the same JSON value. Parameters stay a JSON tree because
//! every node type shapes them differently.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// Error code: the input is not JSON.
pub const CODE_NOT_JSON: &str = "LF-IMP-001";
/// Error code: JSON that is not an n8n workflow (wrong shape at a JSON path).
pub const CODE_SHAPE: &str = "LF-IMP-002";
/// Error code: the input is larger than [`INPUT_BYTES_MAX`].
pub const CODE_TOO_LARGE: &str = "LF-IMP-003";

/// Largest workflow export accepted. Why: bounds memory for hostile uploads; the largest
/// file of the public corpus is under 1 MiB.
pub const INPUT_BYTES_MAX: usize = 64 << 20;

/// A workflow as exported by n8n.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// The nodes, in file order.
    pub nodes: Vec<Node>,
    /// Connections keyed by source node name, then by connection type (`main`, `ai_tool`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Map<String, Value>>,
    /// Every other member (`name`, `id`, `settings`, `pinData`, `meta`, ...), verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One node of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Node name, unique in the workflow; connections refer to it.
    pub name: String,
    /// Full type name, e.g. `n8n-nodes-base.set`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `typeVersion` (1, 2.1 ...); absent in very old exports, which means 1.
    #[serde(
        rename = "typeVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub type_version: Option<Number>,
    /// Parameters as a JSON tree (absent in some hand-written exports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
    /// Every other member (`id`, `position`, `onError`, `credentials`, ...), verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One end of a connection as written in `connections`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionTarget {
    /// Target node name.
    pub node: String,
    /// Connection type (`main`, `ai_languageModel`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Input index on the target node.
    pub index: u32,
}

/// One connection, resolved from the nested `connections` map.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// Source node name.
    pub source: String,
    /// Connection type of the source output group (`main`, ...).
    pub kind: String,
    /// Output index on the source node.
    pub output: u32,
    /// Where it goes.
    pub target: ConnectionTarget,
}

/// How the workflow was wrapped in the file, so that export writes it back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// The workflow object itself.
    Bare,
    /// `{"workflow": {...}}` (some sharing sites).
    Workflow,
    /// `{"data": {...}}` (n8n's REST API answers).
    Data,
    /// `[{...}]`: an array holding one workflow (n8n's CLI `export:workflow --all`).
    Array,
}

/// An imported export: the workflow and how it was wrapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The workflow.
    pub workflow: Workflow,
    /// The wrapper it came in.
    pub wrapper: Wrapper,
}

/// Why an export could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message} (at {path})")]
pub struct ImportError {
    /// Stable error code (`LF-IMP-...`).
    pub code: &'static str,
    /// JSON path of the offending value (`.` for the root).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Parses an export from bytes.
pub fn import(bytes: &[u8]) -> Result<Document, ImportError> {
    if bytes.len() > INPUT_BYTES_MAX {
        return Err(ImportError {
            code: CODE_TOO_LARGE,
            path: ".".to_owned(),
            message: format!(
                "input is {} bytes, the limit is {INPUT_BYTES_MAX}",
                bytes.len()
            ),
        });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|error| ImportError {
        code: CODE_NOT_JSON,
        path: ".".to_owned(),
        message: format!("not JSON: {error}"),
    })?;
    import_value(value)
}

/// Interprets a parsed JSON value as an export (bare workflow or a known wrapper).
pub fn import_value(value: Value) -> Result<Document, ImportError> {
    let (wrapper, prefix, inner) = unwrap(value)?;
    let workflow: Workflow = serde_path_to_error::deserialize(inner).map_err(|error| {
        let path = error.path().to_string();
        ImportError {
            code: CODE_SHAPE,
            path: join_path(prefix, &path),
            message: error.into_inner().to_string(),
        }
    })?;
    // Connections are kept as JSON for a verbatim export; check their shape here so the
    // rest of the codec can rely on it.
    workflow.connection_list()?;
    Ok(Document { workflow, wrapper })
}

fn join_path(prefix: &str, path: &str) -> String {
    match (prefix, path) {
        ("", "." | "") => ".".to_owned(),
        ("", path) => path.to_owned(),
        (prefix, "." | "") => prefix.to_owned(),
        (prefix, path) => format!("{prefix}.{path}"),
    }
}

fn unwrap(value: Value) -> Result<(Wrapper, &'static str, Value), ImportError> {
    let shape_error = |message: &str| ImportError {
        code: CODE_SHAPE,
        path: ".".to_owned(),
        message: message.to_owned(),
    };
    match value {
        Value::Array(mut items) if items.len() == 1 => Ok((Wrapper::Array, "[0]", items.remove(0))),
        Value::Array(items) => Err(shape_error(&format!(
            "an array of {} values; expected one workflow object",
            items.len()
        ))),
        Value::Object(mut map) if !map.contains_key("nodes") && map.len() == 1 => {
            for (key, wrapper, prefix) in [
                ("workflow", Wrapper::Workflow, "workflow"),
                ("data", Wrapper::Data, "data"),
            ] {
                if let Some(inner @ Value::Object(_)) = map.remove(key) {
                    return Ok((wrapper, prefix, inner));
                }
            }
            Ok((Wrapper::Bare, "", Value::Object(map)))
        }
        Value::Object(map) => Ok((Wrapper::Bare, "", Value::Object(map))),
        other => Err(shape_error(&format!(
            "a JSON {}; expected a workflow object",
            json_kind(&other)
        ))),
    }
}

/// Writes a document back as JSON, in the wrapper it came in.
pub fn export(document: &Document) -> Value {
    let inner = serde_json::to_value(&document.workflow).unwrap_or(Value::Null);
    match document.wrapper {
        Wrapper::Bare => inner,
        Wrapper::Workflow => Value::Object(Map::from_iter([("workflow".to_owned(), inner)])),
        Wrapper::Data => Value::Object(Map::from_iter([("data".to_owned(), inner)])),
        Wrapper::Array => Value::Array(vec![inner]),
    }
}

/// A short name of a JSON value's type, for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Workflow {
    /// The workflow name ("" when absent).
    pub fn name(&self) -> &str {
        self.extra.get("name").and_then(Value::as_str).unwrap_or("")
    }

    /// The workflow id as a string (numbers, used by old exports, are printed).
    pub fn id(&self) -> String {
        match self.extra.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => String::new(),
        }
    }

    /// `settings` (an empty map when absent or not an object).
    pub fn settings(&self) -> Option<&Map<String, Value>> {
        self.extra.get("settings").and_then(Value::as_object)
    }

    /// Every connection, in file order. Null output groups (n8n writes them for outputs
    /// without links) are skipped.
    pub fn connection_list(&self) -> Result<Vec<Connection>, ImportError> {
        let mut list = Vec::new();
        let Some(connections) = &self.connections else {
            return Ok(list);
        };
        for (source, by_kind) in connections {
            let Value::Object(by_kind) = by_kind else {
                return Err(connection_error(
                    format!("connections.{source}"),
                    "expected an object of connection types",
                ));
            };
            for (kind, outputs) in by_kind {
                let path = format!("connections.{source}.{kind}");
                let outputs = match outputs {
                    Value::Array(outputs) => outputs,
                    Value::Null => continue,
                    _ => return Err(connection_error(path, "expected an array of outputs")),
                };
                for (output, targets) in outputs.iter().enumerate() {
                    let targets = match targets {
                        Value::Array(targets) => targets,
                        Value::Null => continue,
                        _ => {
                            return Err(connection_error(
                                format!("{path}[{output}]"),
                                "expected an array of targets",
                            ))
                        }
                    };
                    for (slot, target) in targets.iter().enumerate() {
                        let target: ConnectionTarget = serde_json::from_value(target.clone())
                            .map_err(|error| {
                                connection_error(
                                    format!("{path}[{output}][{slot}]"),
                                    &error.to_string(),
                                )
                            })?;
                        list.push(Connection {
                            source: source.clone(),
                            kind: kind.clone(),
                            output: u32::try_from(output).unwrap_or(u32::MAX),
                            target,
                        });
                    }
                }
            }
        }
        Ok(list)
    }
}

fn connection_error(path: String, message: &str) -> ImportError {
    ImportError {
        code: CODE_SHAPE,
        path,
        message: message.to_owned(),
    }
}

impl Node {
    /// `typeVersion` as a number (1 when absent).
    pub fn version(&self) -> f64 {
        self.type_version
            .as_ref()
            .and_then(Number::as_f64)
            .unwrap_or(1.0)
    }

    /// A member outside the typed fields (`onError`, `webhookId`, ...).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.extra.get(key)
    }

    /// A boolean member (false when absent or not a boolean).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// A parameter by name.
    pub fn param(&self, key: &str) -> Option<&Value> {
        self.parameters.as_ref().and_then(|p| p.get(key))
    }
}
