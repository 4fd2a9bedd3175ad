//! Workflow validation: every problem at once, each with a stable code, the node and the
//! parameter path. Codes are documented in `docs/errors.md`.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::catalog::{self, Support};
use crate::model::Workflow;
use crate::plan::NodeKind;

/// Two nodes share a name.
pub const DUPLICATE_NAME: &str = "LF-WF-001";
/// A connection starts at a node that does not exist.
pub const UNKNOWN_SOURCE: &str = "LF-WF-002";
/// A connection goes to a node that does not exist.
pub const UNKNOWN_TARGET: &str = "LF-WF-003";
/// A connection uses an output or input the node does not have.
pub const MISSING_PORT: &str = "LF-WF-004";
/// A cycle that does not pass through a loop node (`splitInBatches`).
pub const CYCLE: &str = "LF-WF-005";
/// No trigger node.
pub const NO_TRIGGER: &str = "LF-WF-006";
/// A node type the engine does not implement.
pub const UNKNOWN_TYPE: &str = "LF-WF-007";
/// A supported node type at a version the engine does not implement.
pub const UNKNOWN_VERSION: &str = "LF-WF-008";
/// A malformed expression.
pub const BAD_EXPRESSION: &str = "LF-WF-009";
/// More nodes than [`NODES_MAX`].
pub const TOO_MANY_NODES: &str = "LF-WF-010";
/// An empty node name.
pub const EMPTY_NAME: &str = "LF-WF-011";

/// Most nodes in one workflow. Why: plans index nodes with `u32` and validation is
/// quadratic in the worst case; the largest corpus workflow has a few hundred nodes.
pub const NODES_MAX: usize = 10_000;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Reported, but the workflow can still be compiled.
    Warning,
    /// Blocks compilation.
    Error,
}

/// When validation runs: unsupported node types are warnings at import (the workflow is
/// valid n8n) and errors at compile (the engine cannot run it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Import into the control plane.
    Import,
    /// Compilation into a plan.
    Compile,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, e.g. `LF-WF-001`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// The node concerned (None for workflow-level findings).
    pub node: Option<String>,
    /// Parameter or JSON path inside the node or workflow ("" when not applicable).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    /// An error about a node.
    pub fn error(
        code: &'static str,
        node: Option<&str>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            node: node.map(str::to_owned),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{level} {}", self.code)?;
        if let Some(node) = &self.node {
            write!(f, " [node {node:?}]")?;
        }
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Whether any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

/// Validates a workflow; returns every finding, errors and warnings, in a stable order.
pub fn validate(workflow: &Workflow, stage: Stage) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if workflow.nodes.len() > NODES_MAX {
        out.push(Diagnostic::error(
            TOO_MANY_NODES,
            None,
            "nodes",
            format!("{} nodes, the limit is {NODES_MAX}", workflow.nodes.len()),
        ));
        return out;
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, node) in workflow.nodes.iter().enumerate() {
        if node.name.is_empty() {
            out.push(Diagnostic::error(
                EMPTY_NAME,
                None,
                format!("nodes[{i}].name"),
                "node name is empty",
            ));
        }
        if index.insert(node.name.as_str(), i).is_some() {
            out.push(Diagnostic::error(
                DUPLICATE_NAME,
                Some(&node.name),
                format!("nodes[{i}].name"),
                "duplicate node name",
            ));
        }
    }
    check_types(workflow, stage, &mut out);
    check_connections(workflow, &index, &mut out);
    check_cycles(workflow, &index, &mut out);
    if !workflow
        .nodes
        .iter()
        .any(|n| catalog::is_trigger_type(&n.type_name))
    {
        out.push(Diagnostic::error(
            NO_TRIGGER,
            None,
            "nodes",
            "the workflow has no trigger node",
        ));
    }
    for node in &workflow.nodes {
        if let Some(params) = &node.parameters {
            check_expressions(&node.name, params, &mut out);
        }
    }
    out
}

fn check_types(workflow: &Workflow, stage: Stage, out: &mut Vec<Diagnostic>) {
    let severity = match stage {
        Stage::Import => Severity::Warning,
        Stage::Compile => Severity::Error,
    };
    for node in &workflow.nodes {
        let (code, message) = match catalog::support(&node.type_name, node.version()) {
            Support::Supported(_) => continue,
            Support::UnknownType => (
                UNKNOWN_TYPE,
                format!("node type {} is not supported", node.type_name),
            ),
            Support::UnsupportedVersion(versions) => (
                UNKNOWN_VERSION,
                format!(
                    "{} version {} is not supported (supported: {})",
                    node.type_name,
                    node.version(),
                    versions
                        .iter()
                        .map(f64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        };
        out.push(Diagnostic {
            code,
            severity,
            node: Some(node.name.clone()),
            path: "typeVersion".to_owned(),
            message,
        });
    }
}

/// Ports of a supported node: (inputs, outputs); None for types the engine does not
/// know, whose ports cannot be checked.
fn ports(workflow: &Workflow, i: usize) -> Option<(u32, u32)> {
    let node = &workflow.nodes[i];
    let Support::Supported(kind) = catalog::support(&node.type_name, node.version()) else {
        return None;
    };
    let params = node.parameters.as_ref();
    let inputs = catalog::input_count(kind, node.version(), params);
    let outputs = catalog::output_count(kind, node.version(), params, catalog::on_error(node));
    Some((inputs, outputs))
}

fn check_connections(workflow: &Workflow, index: &HashMap<&str, usize>, out: &mut Vec<Diagnostic>) {
    // `connection_list` succeeded at import; a hand-built workflow may still be malformed.
    let connections = match workflow.connection_list() {
        Ok(list) => list,
        Err(error) => {
            out.push(Diagnostic::error(
                crate::model::CODE_SHAPE,
                None,
                error.path,
                error.message,
            ));
            return;
        }
    };
    for c in connections {
        let path = format!("connections.{}.{}[{}]", c.source, c.kind, c.output);
        let Some(&source) = index.get(c.source.as_str()) else {
            out.push(Diagnostic::error(
                UNKNOWN_SOURCE,
                Some(&c.source),
                path,
                format!("connection from unknown node {:?}", c.source),
            ));
            continue;
        };
        let Some(&target) = index.get(c.target.node.as_str()) else {
            out.push(Diagnostic::error(
                UNKNOWN_TARGET,
                Some(&c.source),
                path,
                format!("connection to unknown node {:?}", c.target.node),
            ));
            continue;
        };
        if c.kind != "main" || c.target.kind != "main" {
            continue;
        }
        if let Some((_, outputs)) = ports(workflow, source) {
            if c.output >= outputs {
                out.push(Diagnostic::error(
                    MISSING_PORT,
                    Some(&c.source),
                    path.clone(),
                    format!(
                        "output {} does not exist (the node has {outputs})",
                        c.output
                    ),
                ));
            }
        }
        if let Some((inputs, _)) = ports(workflow, target) {
            if c.target.index >= inputs {
                out.push(Diagnostic::error(
                    MISSING_PORT,
                    Some(&c.target.node),
                    path,
                    format!(
                        "input {} does not exist (the node has {inputs})",
                        c.target.index
                    ),
                ));
            }
        }
    }
}

/// Reports every strongly connected component of the `main` graph that is a cycle but
/// holds no loop node. Tarjan's algorithm, iterative so deep graphs cannot overflow the stack.
fn check_cycles(workflow: &Workflow, index: &HashMap<&str, usize>, out: &mut Vec<Diagnostic>) {
    let count = workflow.nodes.len();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); count];
    for c in workflow.connection_list().unwrap_or_default() {
        if c.kind != "main" {
            continue;
        }
        if let (Some(&s), Some(&t)) = (
            index.get(c.source.as_str()),
            index.get(c.target.node.as_str()),
        ) {
            edges[s].push(t);
        }
    }
    for component in strongly_connected(&edges) {
        let cyclic = component.len() > 1 || edges[component[0]].contains(&component[0]);
        if !cyclic {
            continue;
        }
        let has_loop_node = component.iter().any(|&n| {
            matches!(
                catalog::lookup(&workflow.nodes[n].type_name).map(|e| e.kind),
                Some(NodeKind::SplitInBatches)
            )
        });
        if !has_loop_node {
            let mut names: Vec<&str> = component
                .iter()
                .map(|&n| workflow.nodes[n].name.as_str())
                .collect();
            names.sort_unstable();
            out.push(Diagnostic::error(
                CYCLE,
                Some(names[0]),
                "connections",
                format!(
                    "cycle without a loop node (splitInBatches): {}",
                    names.join(" -> ")
                ),
            ));
        }
    }
}

/// Strongly connected components (each sorted), in a deterministic order.
pub(crate) fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let count = edges.len();
    let mut order = vec![UNSEEN; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next = 0;
    for root in 0..count {
        if order[root] != UNSEEN {
            continue;
        }
        // (node, next edge to look at)
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        order[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(top) = call.last_mut() {
            let node = top.0;
            if let Some(&target) = edges[node].get(top.1) {
                top.1 += 1;
                if order[target] == UNSEEN {
                    order[target] = next;
                    low[target] = next;
                    next += 1;
                    stack.push(target);
                    on_stack[target] = true;
                    call.push((target, 0));
                } else if on_stack[target] {
                    low[node] = low[node].min(order[target]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == order[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                component.sort_unstable();
                components.push(component);
            }
        }
    }
    components
}

fn check_expressions(node: &str, params: &Map<String, Value>, out: &mut Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    for (key, value) in params {
        walk_expressions(
            value,
            &mut format!("parameters.{key}"),
            &mut |path, source| {
                // A malformed expression is a warning, not an error: n8n activates such a
                // workflow and fails the node when it runs (the golden case
                // `expr_syntax_error` pins the 500 answer), so the plan keeps the expression
                // as invalid and the engine fails that node the same way.
                if let Err(error) = crate::expr::compile(source) {
                    if seen.insert(path.to_owned()) {
                        let mut finding =
                            Diagnostic::error(BAD_EXPRESSION, Some(node), path, error.to_string());
                        finding.severity = Severity::Warning;
                        out.push(finding);
                    }
                }
            },
        );
    }
}

/// Calls `visit(path, string)` for every `=...` string in a parameter tree.
pub fn walk_expressions(value: &Value, path: &mut String, visit: &mut impl FnMut(&str, &str)) {
    match value {
        Value::String(s) if s.starts_with('=') => visit(path, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_expressions(item, path, visit);
                path.truncate(len);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                walk_expressions(member, path, visit);
                path.truncate(len);
            }
        }
        _ => {}
    }
}
