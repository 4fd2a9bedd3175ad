//! The node types the engine implements, their versions and their ports.
//!
//! Versions are the ones n8n ships for each type (see `n8n-node-types.tsv` in the shared
//! reference) restricted to those whose behaviour the engine reproduces. A type or version
//! outside this table is not an import error (the workflow is still a valid n8n workflow)
//! but a compile error: the engine cannot run it.

use serde_json::{Map, Value};

use crate::plan::{NodeKind, OnError};

/// One supported node type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    /// Full type name, e.g. `n8n-nodes-base.set`.
    pub type_name: &'static str,
    /// What the engine dispatches on.
    pub kind: NodeKind,
    /// Supported `typeVersion`s.
    pub versions: &'static [f64],
}

const fn entry(type_name: &'static str, kind: NodeKind, versions: &'static [f64]) -> Entry {
    Entry {
        type_name,
        kind,
        versions,
    }
}

/// Every supported node type.
pub const ENTRIES: &[Entry] = &[
    entry(
        "n8n-nodes-base.manualTrigger",
        NodeKind::ManualTrigger,
        &[1.0],
    ),
    entry(
        "n8n-nodes-base.webhook",
        NodeKind::Webhook,
        &[1.0, 1.1, 2.0, 2.1],
    ),
    entry(
        "n8n-nodes-base.scheduleTrigger",
        NodeKind::ScheduleTrigger,
        &[1.0, 1.1, 1.2],
    ),
    entry("n8n-nodes-base.cron", NodeKind::Cron, &[1.0]),
    entry(
        "n8n-nodes-base.executeWorkflowTrigger",
        NodeKind::ExecuteWorkflowTrigger,
        &[1.0, 1.1],
    ),
    entry(
        "n8n-nodes-base.set",
        NodeKind::Set,
        &[1.0, 2.0, 3.0, 3.1, 3.2, 3.3, 3.4],
    ),
    entry("n8n-nodes-base.if", NodeKind::If, &[1.0, 2.0, 2.1, 2.2]),
    entry(
        "n8n-nodes-base.switch",
        NodeKind::Switch,
        &[1.0, 2.0, 3.0, 3.1, 3.2],
    ),
    entry(
        "n8n-nodes-base.filter",
        NodeKind::Filter,
        &[1.0, 2.0, 2.1, 2.2],
    ),
    entry(
        "n8n-nodes-base.merge",
        NodeKind::Merge,
        &[1.0, 2.0, 2.1, 3.0, 3.1, 3.2],
    ),
    entry("n8n-nodes-base.splitOut", NodeKind::SplitOut, &[1.0]),
    entry(
        "n8n-nodes-base.splitInBatches",
        NodeKind::SplitInBatches,
        &[1.0, 2.0, 3.0],
    ),
    entry("n8n-nodes-base.aggregate", NodeKind::Aggregate, &[1.0]),
    entry("n8n-nodes-base.limit", NodeKind::Limit, &[1.0]),
    entry("n8n-nodes-base.sort", NodeKind::Sort, &[1.0]),
    entry(
        "n8n-nodes-base.removeDuplicates",
        NodeKind::RemoveDuplicates,
        &[1.0, 1.1, 2.0],
    ),
    entry("n8n-nodes-base.summarize", NodeKind::Summarize, &[1.0, 1.1]),
    entry("n8n-nodes-base.renameKeys", NodeKind::RenameKeys, &[1.0]),
    entry("n8n-nodes-base.dateTime", NodeKind::DateTime, &[1.0, 2.0]),
    entry("n8n-nodes-base.crypto", NodeKind::Crypto, &[1.0]),
    entry("n8n-nodes-base.noOp", NodeKind::NoOp, &[1.0]),
    entry(
        "n8n-nodes-base.stopAndError",
        NodeKind::StopAndError,
        &[1.0],
    ),
    entry(
        "n8n-nodes-base.respondToWebhook",
        NodeKind::RespondToWebhook,
        &[1.0, 1.1, 1.2, 1.3, 1.4, 1.5],
    ),
    entry(
        "n8n-nodes-base.httpRequest",
        NodeKind::HttpRequest,
        &[1.0, 2.0, 3.0, 4.0, 4.1, 4.2],
    ),
    entry("n8n-nodes-base.wait", NodeKind::Wait, &[1.0, 1.1]),
    entry("n8n-nodes-base.code", NodeKind::Code, &[1.0, 2.0]),
    entry("n8n-nodes-base.function", NodeKind::Function, &[1.0]),
    entry(
        "n8n-nodes-base.functionItem",
        NodeKind::FunctionItem,
        &[1.0],
    ),
    entry(
        "n8n-nodes-base.executeWorkflow",
        NodeKind::ExecuteWorkflow,
        &[1.0, 1.1, 1.2, 1.3],
    ),
    entry("n8n-nodes-base.stickyNote", NodeKind::StickyNote, &[1.0]),
    // The pre-1.0 "Start" node: a manual trigger under another name.
    entry("n8n-nodes-base.start", NodeKind::ManualTrigger, &[1.0]),
    entry(
        "n8n-nodes-base.itemLists",
        NodeKind::ItemLists,
        &[1.0, 2.0, 2.1, 2.2, 3.0, 3.1],
    ),
    entry(
        "n8n-nodes-base.n8nTrainingCustomerDatastore",
        NodeKind::CustomerDatastore,
        &[1.0],
    ),
    entry("n8n-nodes-base.xml", NodeKind::Xml, &[1.0]),
    entry("n8n-nodes-base.interval", NodeKind::Interval, &[1.0]),
    entry("n8n-nodes-base.html", NodeKind::Html, &[1.0, 1.1, 1.2]),
];

/// Whether the engine can run a node type at a version.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Support {
    /// Supported, as this kind.
    Supported(NodeKind),
    /// The type is supported but not this version; the supported versions are given.
    UnsupportedVersion(&'static [f64]),
    /// The engine does not implement this type.
    UnknownType,
}

/// The catalog entry of a type name.
pub fn lookup(type_name: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|entry| entry.type_name == type_name)
}

/// Whether `type_name` at `version` is supported.
pub fn support(type_name: &str, version: f64) -> Support {
    match lookup(type_name) {
        None => Support::UnknownType,
        Some(entry) if entry.versions.contains(&version) => Support::Supported(entry.kind),
        Some(entry) => Support::UnsupportedVersion(entry.versions),
    }
}

/// Whether a node kind starts executions.
pub fn is_trigger_kind(kind: NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::ManualTrigger
            | NodeKind::Webhook
            | NodeKind::ScheduleTrigger
            | NodeKind::Cron
            | NodeKind::ExecuteWorkflowTrigger
            | NodeKind::Interval
    )
}

/// Whether a type name is a trigger, supported or not (n8n names every trigger type
/// `...Trigger`, plus the historic `webhook`, `cron` and `interval`, and the LangChain
/// chat trigger).
pub fn is_trigger_type(type_name: &str) -> bool {
    if let Some(entry) = lookup(type_name) {
        return is_trigger_kind(entry.kind);
    }
    let short = type_name.rsplit('.').next().unwrap_or(type_name);
    short.ends_with("Trigger") || matches!(short, "webhook" | "cron" | "interval" | "start")
}

/// Number of `main` inputs of a node of `kind`.
pub fn input_count(kind: NodeKind, version: f64, params: Option<&Map<String, Value>>) -> u32 {
    match kind {
        _ if is_trigger_kind(kind) => 0,
        NodeKind::StickyNote => 0,
        NodeKind::Merge if version >= 3.0 => params
            .and_then(|p| p.get("numberInputs"))
            .and_then(Value::as_u64)
            .map_or(2, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        NodeKind::Merge => 2,
        _ => 1,
    }
}

/// Number of `main` outputs of a node of `kind`, including the error output that
/// `onError: continueErrorOutput` adds as the last one.
pub fn output_count(
    kind: NodeKind,
    version: f64,
    params: Option<&Map<String, Value>>,
    on_error: OnError,
) -> u32 {
    let regular = match kind {
        NodeKind::StickyNote => return 0,
        NodeKind::If => 2,
        NodeKind::SplitInBatches if version >= 3.0 => 2,
        NodeKind::Switch => switch_outputs(version, params),
        _ => 1,
    };
    if on_error == OnError::ContinueErrorOutput {
        regular.saturating_add(1)
    } else {
        regular
    }
}

/// Switch outputs: v1 has four fixed outputs; v2 one per rule (or `outputsAmount` in
/// expression mode); v3 one per rule plus an extra one when `options.fallbackOutput` is
/// `extra` (or `numberOutputs` in expression mode).
fn switch_outputs(version: f64, params: Option<&Map<String, Value>>) -> u32 {
    let get = |key: &str| params.and_then(|p| p.get(key));
    let count = |value: Option<&Value>| {
        value
            .and_then(Value::as_u64)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    let expression_mode = get("mode").and_then(Value::as_str) == Some("expression");
    if version < 2.0 {
        return 4;
    }
    if version < 3.0 {
        if expression_mode {
            return count(get("outputsAmount")).unwrap_or(4);
        }
        let rules = get("rules")
            .and_then(|r| r.get("rules"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let fallback = get("fallbackOutput").and_then(Value::as_i64).unwrap_or(-1);
        let rules = u32::try_from(rules).unwrap_or(u32::MAX);
        return rules.max(u32::try_from(fallback + 1).unwrap_or(0));
    }
    if expression_mode {
        return count(get("numberOutputs")).unwrap_or(4);
    }
    let rules = get("rules")
        .and_then(|r| r.get("values"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let extra = get("options")
        .and_then(|o| o.get("fallbackOutput"))
        .and_then(Value::as_str)
        == Some("extra");
    u32::try_from(rules)
        .unwrap_or(u32::MAX)
        .saturating_add(u32::from(extra))
}

/// n8n's `onError` for a node (legacy `continueOnFail: true` is `continueRegularOutput`).
pub fn on_error(node: &crate::model::Node) -> OnError {
    match node.get("onError").and_then(Value::as_str) {
        Some("continueRegularOutput") => OnError::ContinueRegularOutput,
        Some("continueErrorOutput") => OnError::ContinueErrorOutput,
        Some(_) => OnError::StopWorkflow,
        None if node.flag("continueOnFail") => OnError::ContinueRegularOutput,
        None => OnError::StopWorkflow,
    }
}
