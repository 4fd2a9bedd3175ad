//! Workflow -> [`Plan`].
//!
//! The compiler validates first ([`crate::validate`] at [`Stage::Compile`]), adds what only
//! compilation checks (expression features, per-kind parameters, trigger settings) and
//! reports every problem at once. Output is deterministic: nothing iterates a hash map, so
//! the same workflow always gives the same plan and the same sealed bytes.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::params::{check_params, pvalue_plain, Params};
use super::persistence;
use super::schedule;
use super::types::*;
use crate::catalog::{self, Support};
use crate::model::{Node, Workflow};
use crate::validate::{self, Diagnostic, Severity, Stage};

/// Error code: an expression uses a feature neither evaluator supports.
pub const UNSUPPORTED_EXPRESSION: &str = "LF-CMP-001";
/// Error code: a parameter is missing or has the wrong JSON type.
pub const BAD_PARAMETER: &str = "LF-CMP-002";
/// Error code: a trigger's settings cannot be compiled (webhook path, schedule rule...).
pub const BAD_TRIGGER: &str = "LF-CMP-003";

/// n8n's default and bounds for `maxTries` (the editor clamps to 2..=5).
const MAX_TRIES_DEFAULT: u64 = 3;
const MAX_TRIES_MIN: u64 = 2;
const MAX_TRIES_MAX: u64 = 5;
/// n8n's default and upper bound for `waitBetweenTries`, in milliseconds.
const WAIT_BETWEEN_TRIES_DEFAULT_MS: u64 = 1000;
const WAIT_BETWEEN_TRIES_MAX_MS: u64 = 5000;

/// A compiled plan and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The plan.
    pub plan: Plan,
    /// Findings that did not block compilation.
    pub warnings: Vec<Diagnostic>,
}

/// Compiles a workflow; on failure returns every diagnostic (errors and warnings).
pub fn compile(workflow: &Workflow) -> Result<Compiled, Vec<Diagnostic>> {
    let mut diagnostics = validate::validate(workflow, Stage::Compile);
    if validate::has_errors(&diagnostics) {
        // Structural errors (names, connections) make the rest meaningless; still add the
        // expression features so that `compat` reports them together with missing types.
        let mut params = Params::default();
        for node in &workflow.nodes {
            params.convert_node(node, &mut diagnostics);
        }
        return Err(diagnostics);
    }
    let order = static_order(workflow);
    let mut new_index = vec![0u32; order.len()];
    for (position, &file_index) in order.iter().enumerate() {
        new_index[file_index] = index_u32(position);
    }
    let mut params = Params::default();
    let mut nodes = Vec::with_capacity(order.len());
    for &file_index in &order {
        let node = &workflow.nodes[file_index];
        let converted = params.convert_node(node, &mut diagnostics);
        check_params(node, &mut diagnostics);
        nodes.push(plan_node(node, converted));
    }
    let triggers = trigger_table(workflow, &order, &mut diagnostics);
    if validate::has_errors(&diagnostics) {
        return Err(diagnostics);
    }
    let (outgoing, incoming) = connections(workflow, &new_index, &nodes);
    let sole_targets = sole_targets(&outgoing, &incoming);
    let plan = Plan {
        workflow_id: workflow.id(),
        workflow_name: workflow.name().to_owned(),
        workflow_version: 0,
        settings: settings(workflow.settings(), &mut diagnostics),
        pin_data: pin_data(workflow, &new_index),
        static_data: workflow
            .extra
            .get("staticData")
            .map_or(PValue::Null, pvalue_plain),
        nodes,
        outgoing,
        incoming,
        sole_targets,
        triggers,
        expressions: params.into_expressions(),
    };
    diagnostics.retain(|d| d.severity == Severity::Warning);
    Ok(Compiled {
        plan,
        warnings: diagnostics,
    })
}

fn index_u32(i: usize) -> u32 {
    // Validation caps the node count far below u32::MAX.
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn position(node: &Node) -> [f64; 2] {
    let coordinate = |i: usize| {
        node.get("position")
            .and_then(|p| p.get(i))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    [coordinate(0), coordinate(1)]
}

fn kind_of(node: &Node) -> NodeKind {
    match catalog::support(&node.type_name, node.version()) {
        Support::Supported(kind) => kind,
        // Validation rejected unsupported nodes before this is called.
        _ => NodeKind::StickyNote,
    }
}

/// Static execution order: a topological order of the `main` graph where, among ready
/// nodes, the top-most (then left-most, then first in the file) comes first, as n8n's v1
/// order visits branches; sticky notes last. Loops (through splitInBatches) are entered at
/// their top-most ready node.
fn static_order(workflow: &Workflow) -> Vec<usize> {
    let count = workflow.nodes.len();
    let index: HashMap<&str, usize> = workflow
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut in_degree = vec![0usize; count];
    for c in workflow.connection_list().unwrap_or_default() {
        if c.kind != "main" {
            continue;
        }
        if let (Some(&s), Some(&t)) = (
            index.get(c.source.as_str()),
            index.get(c.target.node.as_str()),
        ) {
            successors[s].push(t);
            in_degree[t] += 1;
        }
    }
    // Sort key: (sticky note last, y, x, file index). Positions are finite in practice;
    // total_cmp keeps the order total even for NaN.
    let key = |i: usize| {
        let node = &workflow.nodes[i];
        let [x, y] = position(node);
        (kind_of(node) == NodeKind::StickyNote, y, x, i)
    };
    let less = |a: usize, b: usize| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then(ka.3.cmp(&kb.3))
    };
    let mut done = vec![false; count];
    let mut order = Vec::with_capacity(count);
    let mut ready: BTreeSet<OrderKey> = BTreeSet::new();
    let mut ranks: Vec<usize> = (0..count).collect();
    ranks.sort_by(|&a, &b| less(a, b));
    let mut rank_of = vec![0; count];
    for (rank, &node) in ranks.iter().enumerate() {
        rank_of[node] = rank;
    }
    for node in 0..count {
        if in_degree[node] == 0 {
            ready.insert(OrderKey(rank_of[node], node));
        }
    }
    while order.len() < count {
        let next = match ready.pop_first() {
            Some(OrderKey(_, node)) => node,
            // Only cycles remain: enter the first remaining node by rank.
            None => match ranks.iter().copied().find(|&n| !done[n]) {
                Some(node) => node,
                None => break,
            },
        };
        if done[next] {
            continue;
        }
        done[next] = true;
        order.push(next);
        for &t in &successors[next] {
            in_degree[t] = in_degree[t].saturating_sub(1);
            if in_degree[t] == 0 && !done[t] {
                ready.insert(OrderKey(rank_of[t], t));
            }
        }
    }
    order
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct OrderKey(usize, usize);

fn plan_node(node: &Node, params: PValue) -> PlanNode {
    let kind = kind_of(node);
    let version = node.version();
    let on_error = catalog::on_error(node);
    let raw = node.parameters.as_ref();
    let number = |key: &str| node.get(key).and_then(Value::as_u64);
    PlanNode {
        name: node.name.clone(),
        id: node
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        type_name: node.type_name.clone(),
        type_version: version,
        kind,
        disabled: node.flag("disabled"),
        settings: NodeSettings {
            on_error,
            retry_on_fail: node.flag("retryOnFail"),
            max_tries: number("maxTries")
                .unwrap_or(MAX_TRIES_DEFAULT)
                .clamp(MAX_TRIES_MIN, MAX_TRIES_MAX) as u32,
            wait_between_tries_ms: number("waitBetweenTries")
                .unwrap_or(WAIT_BETWEEN_TRIES_DEFAULT_MS)
                .min(WAIT_BETWEEN_TRIES_MAX_MS) as u32,
            always_output_data: node.flag("alwaysOutputData"),
            execute_once: node.flag("executeOnce"),
        },
        fast: super::typed::fast_params(kind, version, &params),
        params,
        input_count: catalog::input_count(kind, version, raw),
        output_count: catalog::output_count(kind, version, raw, on_error),
        webhook_id: node
            .get("webhookId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        position: position(node),
        credentials: credentials(node),
    }
}

fn credentials(node: &Node) -> Vec<CredentialRef> {
    let Some(Value::Object(map)) = node.get("credentials") else {
        return Vec::new();
    };
    map.iter()
        .map(|(credential_type, reference)| {
            let field = |key: &str| match reference.get(key) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            CredentialRef {
                credential_type: credential_type.clone(),
                id: field("id"),
                name: field("name"),
            }
        })
        .collect()
}

/// Builds the outgoing and incoming CSR arrays of the `main` connections.
fn connections(workflow: &Workflow, new_index: &[u32], nodes: &[PlanNode]) -> (Csr, Csr) {
    let index: HashMap<&str, usize> = workflow
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    // (source, output, target, input), in plan indices.
    let mut edges: Vec<(u32, u32, u32, u32)> = Vec::new();
    for c in workflow.connection_list().unwrap_or_default() {
        if c.kind != "main" || c.target.kind != "main" {
            continue;
        }
        if let (Some(&s), Some(&t)) = (
            index.get(c.source.as_str()),
            index.get(c.target.node.as_str()),
        ) {
            edges.push((new_index[s], c.output, new_index[t], c.target.index));
        }
    }
    let outgoing = csr(
        nodes.iter().map(|n| n.output_count),
        edges
            .iter()
            .map(|&(s, o, t, i)| ((s, o), Link { node: t, port: i })),
    );
    let incoming = csr(
        nodes.iter().map(|n| n.input_count),
        edges
            .iter()
            .map(|&(s, o, t, i)| ((t, i), Link { node: s, port: o })),
    );
    (outgoing, incoming)
}

/// [`Plan::sole_targets`] of the connections.
fn sole_targets(outgoing: &Csr, incoming: &Csr) -> Vec<u32> {
    let slot_count = outgoing.link_start.len().saturating_sub(1);
    // Highest connected input + 1 per node (n8n's `connectionsByDestinationNode[n].main.length`).
    let connected_inputs = |node: u32| -> u32 {
        let node = node as usize;
        let (first, end) = (incoming.slot_start[node], incoming.slot_start[node + 1]);
        (first..end)
            .rev()
            .find(|&s| incoming.link_start[s as usize + 1] > incoming.link_start[s as usize])
            .map_or(0, |s| s - first + 1)
    };
    (0..slot_count)
        .map(|slot| {
            let links = &outgoing.links
                [outgoing.link_start[slot] as usize..outgoing.link_start[slot + 1] as usize];
            match links {
                [] => NO_CHILD,
                [link] if link.port == 0 && connected_inputs(link.node) <= 1 => link.node,
                _ => SEVERAL_CHILDREN,
            }
        })
        .collect()
}

/// CSR from slot counts per node and ((node, slot), link) pairs; links keep their
/// relative order within a slot (a stable sort), which is the order of the export.
fn csr(
    slot_counts: impl Iterator<Item = u32>,
    links: impl Iterator<Item = ((u32, u32), Link)>,
) -> Csr {
    let mut slot_start = vec![0u32];
    for count in slot_counts {
        let last = *slot_start.last().unwrap_or(&0);
        slot_start.push(last + count);
    }
    let slots = *slot_start.last().unwrap_or(&0) as usize;
    let mut links: Vec<((u32, u32), Link)> = links.collect();
    links.sort_by_key(|&(key, _)| key);
    let mut link_start = vec![0u32; slots + 1];
    let mut flat = Vec::with_capacity(links.len());
    for ((node, port), link) in links {
        // Validation guarantees the port exists; the check keeps bad input harmless.
        let slot = slot_start[node as usize] + port;
        if port < slot_start[node as usize + 1] - slot_start[node as usize] {
            link_start[slot as usize + 1] += 1;
            flat.push(link);
        }
    }
    for s in 0..slots {
        link_start[s + 1] += link_start[s];
    }
    Csr {
        slot_start,
        link_start,
        links: flat,
    }
}

fn trigger_table(workflow: &Workflow, order: &[usize], out: &mut Vec<Diagnostic>) -> Vec<Trigger> {
    let mut triggers = Vec::new();
    for (i, &file_index) in order.iter().enumerate() {
        let node = &workflow.nodes[file_index];
        if node.flag("disabled") {
            continue;
        }
        let at = index_u32(i);
        let params = node.parameters.as_ref();
        let mut fail = |path: &str, message: String| {
            out.push(Diagnostic::error(
                BAD_TRIGGER,
                Some(&node.name),
                path,
                message,
            ));
        };
        match kind_of(node) {
            NodeKind::ManualTrigger => triggers.push(Trigger::Manual { node: at }),
            NodeKind::ExecuteWorkflowTrigger => triggers.push(Trigger::SubWorkflow { node: at }),
            NodeKind::Webhook => match super::params::webhook(node, at) {
                Ok(webhook) => triggers.push(Trigger::Webhook(webhook)),
                Err((path, message)) => fail(path, message),
            },
            NodeKind::ScheduleTrigger => match schedule::schedule_trigger(params) {
                Ok(cron) => triggers.push(Trigger::Schedule(ScheduleTrigger {
                    node: at,
                    cron,
                    timezone: String::new(),
                })),
                Err(message) => fail("parameters.rule", message),
            },
            NodeKind::Cron => match schedule::cron_trigger(params) {
                Ok(cron) => triggers.push(Trigger::Schedule(ScheduleTrigger {
                    node: at,
                    cron,
                    timezone: String::new(),
                })),
                Err(message) => fail("parameters.triggerTimes", message),
            },
            NodeKind::Interval => match schedule::interval_trigger(params) {
                Ok(cron) => triggers.push(Trigger::Schedule(ScheduleTrigger {
                    node: at,
                    cron: vec![cron],
                    timezone: String::new(),
                })),
                Err(message) => fail("parameters.interval", message),
            },
            _ => {}
        }
    }
    triggers
}

fn settings(settings: Option<&Map<String, Value>>, out: &mut Vec<Diagnostic>) -> PlanSettings {
    let get = |key: &str| settings.and_then(|s| s.get(key));
    let text = |key: &str| get(key).and_then(Value::as_str).unwrap_or("");
    let whole = |key: &str| match get(key) {
        Some(Value::Number(n)) => n.as_f64().filter(|v| *v > 0.0).unwrap_or(0.0),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| *v > 0.0)
            .unwrap_or(0.0),
        _ => 0.0,
    };
    PlanSettings {
        execution_order: if text("executionOrder") == "v1" {
            ExecutionOrder::V1
        } else {
            ExecutionOrder::V0
        },
        // n8n writes `executionTimeout` in seconds, -1 meaning none.
        timeout_ms: (whole("executionTimeout") * 1000.0) as u64,
        latency_budget_ms: whole("latencyBudgetMs").min(f64::from(u32::MAX)) as u32,
        persistence: persistence::persistence(settings, out),
        timezone: match text("timezone") {
            "DEFAULT" => String::new(),
            zone => zone.to_owned(),
        },
        error_workflow: match get("errorWorkflow") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        },
    }
}

fn pin_data(workflow: &Workflow, new_index: &[u32]) -> Vec<PinnedData> {
    let Some(Value::Object(pins)) = workflow.extra.get("pinData") else {
        return Vec::new();
    };
    let mut pinned: Vec<PinnedData> = pins
        .iter()
        .filter_map(|(name, items)| {
            let file_index = workflow.nodes.iter().position(|n| &n.name == name)?;
            let items = items
                .as_array()?
                .iter()
                .map(|item| pvalue_plain(item.get("json").unwrap_or(item)))
                .collect();
            Some(PinnedData {
                node: new_index[file_index],
                items,
            })
        })
        .collect();
    pinned.sort_by_key(|p| p.node);
    pinned
}
