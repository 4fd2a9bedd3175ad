//! What an expression can see: the context the engine gives to both evaluators.
//!
//! The engine implements [`Scope`] once per (node, item) evaluation; the fast evaluator in
//! this module and the JavaScript fallback both read it, so both paths see the same data.

use bumpalo::Bump;

use crate::engine::item::Item;
use crate::engine::value::Value;

/// `$workflow`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkflowInfo<'a> {
    /// `$workflow.id`.
    pub id: &'a str,
    /// `$workflow.name`.
    pub name: &'a str,
    /// `$workflow.active`.
    pub active: bool,
}

/// `$execution`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecutionInfo<'a> {
    /// `$execution.id`.
    pub id: &'a str,
    /// `$execution.mode`: `"production"` for triggers and webhooks, `"test"` for manual runs.
    pub mode: &'a str,
    /// `$execution.resumeUrl`: where a Wait node can be resumed.
    pub resume_url: &'a str,
}

/// `$prevNode`: the node whose output feeds the current item.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrevNode<'a> {
    /// `$prevNode.name`.
    pub name: &'a str,
    /// `$prevNode.outputIndex`.
    pub output_index: u32,
    /// `$prevNode.runIndex`.
    pub run_index: u32,
}

/// Why the scope could not answer. Every variant fails the node, as n8n does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// `$('Name')` names no node of the workflow.
    #[error("Referenced node doesn't exist: \"{0}\"")]
    NodeNotFound(String),
    /// The node exists but has not run in this execution.
    #[error("Referenced node is unexecuted: \"{0}\"")]
    NodeNotExecuted(String),
    /// `$('Name').item` cannot be resolved through the paired-item lineage.
    #[error("Paired item data for item from node \"{0}\" is unavailable")]
    NoPairedItem(String),
    /// `$env` access is denied by policy.
    #[error("access to env vars denied")]
    EnvDenied,
}

/// The context of one expression evaluation.
///
/// Lifetimes: `'a` is the execution's arena; every value handed out lives at least that long.
pub trait Scope<'a> {
    /// The execution's arena: where evaluation results are allocated.
    fn arena(&self) -> &'a Bump;
    /// `$json`: the current item's json.
    fn json(&self) -> Value<'a>;
    /// `$binary`: the current item's binary map (`Undefined` when absent).
    fn binary(&self) -> Value<'a>;
    /// `$itemIndex`.
    fn item_index(&self) -> usize;
    /// `$runIndex`: how many times the current node ran before in this execution.
    fn run_index(&self) -> usize;
    /// `$input.all()`: the running node's items on its (first) main input.
    fn input_items(&self) -> &'a [Item<'a>];
    /// `$('Name').all(output, run)`: the items `name` emitted on `output` in run `run`
    /// (`None`: its last run). `Ok(&[])` when it ran and emitted nothing there.
    fn node_items(
        &self,
        name: &str,
        output: usize,
        run: Option<usize>,
    ) -> Result<&'a [Item<'a>], ScopeError>;
    /// `$('Name').item`: the item of `name` that the current item derives from, following
    /// paired-item lineage.
    fn paired_item(&self, name: &str) -> Result<Item<'a>, ScopeError>;
    /// `$('Name').isExecuted`. Errors only when no node has that name.
    fn node_executed(&self, name: &str) -> Result<bool, ScopeError>;
    /// `$prevNode`.
    fn prev_node(&self) -> PrevNode<'a>;
    /// `$workflow`.
    fn workflow(&self) -> WorkflowInfo<'a>;
    /// `$execution`.
    fn execution(&self) -> ExecutionInfo<'a>;
    /// The execution clock for `$now`, `$today`, `DateTime.now()`: Unix epoch milliseconds.
    fn now_ms(&self) -> i64;
    /// The workflow timezone (IANA name, e.g. `Europe/Berlin`); `""` means UTC.
    fn timezone(&self) -> &str;
    /// `$env.NAME`: `Ok(Undefined)` when unset, `Err(EnvDenied)` when policy forbids access.
    fn env(&self, name: &str) -> Result<Value<'a>, ScopeError>;
    /// `$vars`: an object of instance variables (`{}` when none).
    fn vars(&self) -> Value<'a>;
    /// An additional key of this evaluation (n8n's `additionalKeys`: `$response`,
    /// `$pageCount`, `$request` while the HTTP Request node paginates). `Undefined` when
    /// not set. Only the JavaScript evaluator reads them.
    fn extra(&self, _name: &str) -> Value<'a> {
        Value::Undefined
    }
}
