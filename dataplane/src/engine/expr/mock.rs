//! A [`Scope`] with fixed data, for tests of the evaluators and of code that uses them.

use bumpalo::Bump;

use super::scope::{ExecutionInfo, PrevNode, Scope, ScopeError, WorkflowInfo};
use crate::engine::item::Item;
use crate::engine::value::Value;

/// A scope whose every answer is a field. `$('Name').item` resolves to the item of that
/// node at the current item index (a one-to-one lineage, the common case).
pub struct MockScope<'a> {
    /// The arena.
    pub arena: &'a Bump,
    /// Items on the node's input; `$json` is `input[item_index].json`.
    pub input: &'a [Item<'a>],
    /// `$itemIndex`.
    pub item_index: usize,
    /// `$runIndex`.
    pub run_index: usize,
    /// Other nodes' outputs (output 0 of their only run), by name. A node with `None`
    /// exists but has not run.
    pub nodes: Vec<(&'a str, Option<&'a [Item<'a>]>)>,
    /// The clock, epoch milliseconds.
    pub now_ms: i64,
    /// The workflow timezone.
    pub timezone: &'a str,
    /// Environment variables; `None` denies `$env`.
    pub env: Option<Vec<(&'a str, &'a str)>>,
    /// `$vars`.
    pub vars: Value<'a>,
    /// `$workflow`.
    pub workflow: WorkflowInfo<'a>,
    /// `$execution`.
    pub execution: ExecutionInfo<'a>,
    /// `$prevNode`.
    pub prev_node: PrevNode<'a>,
}

impl<'a> MockScope<'a> {
    /// An empty scope: one item `{}`, clock at 2024-01-02T03:04:05Z, UTC.
    pub fn new(arena: &'a Bump) -> Self {
        let input = arena.alloc_slice_copy(&[Item::new(Value::EMPTY_OBJECT)]);
        MockScope {
            arena,
            input,
            item_index: 0,
            run_index: 0,
            nodes: Vec::new(),
            now_ms: 1_704_164_645_000,
            timezone: "",
            env: None,
            vars: Value::EMPTY_OBJECT,
            workflow: WorkflowInfo {
                id: "wf1",
                name: "Mock workflow",
                active: true,
            },
            execution: ExecutionInfo {
                id: "1",
                mode: "test",
                resume_url: "",
            },
            prev_node: PrevNode {
                name: "Previous",
                output_index: 0,
                run_index: 0,
            },
        }
    }

    /// A scope whose single input item has `json` (parsed from JSON text).
    pub fn with_json(arena: &'a Bump, json: &str) -> Self {
        let mut scope = MockScope::new(arena);
        let value = serde_json::from_str::<serde_json::Value>(json).expect("test JSON is valid");
        scope.input = arena.alloc_slice_copy(&[Item::new(Value::from_json(arena, &value))]);
        scope
    }

    fn find(&self, name: &str) -> Result<Option<&'a [Item<'a>]>, ScopeError> {
        self.nodes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, items)| *items)
            .ok_or_else(|| ScopeError::NodeNotFound(name.to_owned()))
    }
}

impl<'a> Scope<'a> for MockScope<'a> {
    fn arena(&self) -> &'a Bump {
        self.arena
    }
    fn json(&self) -> Value<'a> {
        self.input
            .get(self.item_index)
            .map(|i| i.json)
            .unwrap_or(Value::Undefined)
    }
    fn binary(&self) -> Value<'a> {
        self.input
            .get(self.item_index)
            .map(|i| i.binary)
            .unwrap_or(Value::Undefined)
    }
    fn item_index(&self) -> usize {
        self.item_index
    }
    fn run_index(&self) -> usize {
        self.run_index
    }
    fn input_items(&self) -> &'a [Item<'a>] {
        self.input
    }
    fn node_items(
        &self,
        name: &str,
        output: usize,
        run: Option<usize>,
    ) -> Result<&'a [Item<'a>], ScopeError> {
        match self.find(name)? {
            // Every node ran once: a later run reads nothing, as the engine's run data.
            Some(_) if run.is_some_and(|r| r > 0) => Ok(&[]),
            Some(items) if output == 0 => Ok(items),
            Some(_) => Ok(&[]),
            None => Err(ScopeError::NodeNotExecuted(name.to_owned())),
        }
    }
    fn paired_item(&self, name: &str) -> Result<Item<'a>, ScopeError> {
        let items = self
            .find(name)?
            .ok_or_else(|| ScopeError::NodeNotExecuted(name.to_owned()))?;
        items
            .get(self.item_index)
            .copied()
            .ok_or_else(|| ScopeError::NoPairedItem(name.to_owned()))
    }
    fn node_executed(&self, name: &str) -> Result<bool, ScopeError> {
        Ok(self.find(name)?.is_some())
    }
    fn prev_node(&self) -> PrevNode<'a> {
        self.prev_node
    }
    fn workflow(&self) -> WorkflowInfo<'a> {
        self.workflow
    }
    fn execution(&self) -> ExecutionInfo<'a> {
        self.execution
    }
    fn now_ms(&self) -> i64 {
        self.now_ms
    }
    fn timezone(&self) -> &str {
        self.timezone
    }
    fn env(&self, name: &str) -> Result<Value<'a>, ScopeError> {
        let env = self.env.as_ref().ok_or(ScopeError::EnvDenied)?;
        Ok(env
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| Value::String(v))
            .unwrap_or(Value::Undefined))
    }
    fn vars(&self) -> Value<'a> {
        self.vars
    }
}
