//! The expression [`Scope`] over an execution's data: what `$json`, `$input`,
//! `$('Name')`, `$runIndex` ... mean for one (node, item) evaluation.

use bumpalo::Bump;

use super::expr::{ExecutionInfo, PrevNode, Scope, ScopeError, WorkflowInfo};
use super::item::Item;
use super::run_data::{ExecView, LookupError};
use super::value::Value;

/// Scope of one expression evaluation: the running node's view plus the item index.
pub struct ItemScope<'v, 'a, 'x> {
    /// The execution view of the running node.
    pub view: &'v ExecView<'a, 'x>,
    /// Index of the input item the expression is evaluated for.
    pub item: usize,
    /// Additional keys of this evaluation ([`Scope::extra`]), usually none.
    pub keys: &'v [(&'static str, Value<'a>)],
}

fn scope_error(error: LookupError) -> ScopeError {
    match error {
        LookupError::NoSuchNode(name) => ScopeError::NodeNotFound(name),
        LookupError::NotExecuted(name) => ScopeError::NodeNotExecuted(name),
        LookupError::NoPairedItem(name) => ScopeError::NoPairedItem(name),
    }
}

impl<'a> Scope<'a> for ItemScope<'_, 'a, '_> {
    fn arena(&self) -> &'a Bump {
        self.view.arena
    }

    fn json(&self) -> Value<'a> {
        self.view
            .input_items()
            .get(self.item)
            .map_or(Value::Undefined, |item| item.json)
    }

    fn binary(&self) -> Value<'a> {
        self.view
            .input_items()
            .get(self.item)
            .map_or(Value::Undefined, |item| item.binary)
    }

    fn item_index(&self) -> usize {
        self.item
    }

    fn run_index(&self) -> usize {
        self.view.run_index as usize
    }

    fn input_items(&self) -> &'a [Item<'a>] {
        self.view.input_items()
    }

    fn node_items(
        &self,
        name: &str,
        output: usize,
        run: Option<usize>,
    ) -> Result<&'a [Item<'a>], ScopeError> {
        self.view.node_items(name, output, run).map_err(scope_error)
    }

    fn paired_item(&self, name: &str) -> Result<Item<'a>, ScopeError> {
        self.view.paired_item(name, self.item).map_err(scope_error)
    }

    fn node_executed(&self, name: &str) -> Result<bool, ScopeError> {
        match self.view.runs_of(name) {
            Ok(_) => Ok(true),
            Err(LookupError::NotExecuted(_)) => Ok(false),
            Err(error) => Err(scope_error(error)),
        }
    }

    fn prev_node(&self) -> PrevNode<'a> {
        let source = self.view.sources.iter().flatten().next();
        source.map_or_else(PrevNode::default, |s| PrevNode {
            name: self.view.plan.nodes[s.node as usize].name.as_str(),
            output_index: s.output,
            run_index: s.run,
        })
    }

    fn workflow(&self) -> WorkflowInfo<'a> {
        WorkflowInfo {
            id: self.view.plan.workflow_id.as_str(),
            name: self.view.plan.workflow_name.as_str(),
            active: self.view.mode != "manual",
        }
    }

    fn execution(&self) -> ExecutionInfo<'a> {
        ExecutionInfo {
            id: self.view.execution_id,
            mode: if self.view.mode == "manual" {
                "test"
            } else {
                "production"
            },
            resume_url: "",
        }
    }

    fn now_ms(&self) -> i64 {
        self.view.now_ms
    }

    fn timezone(&self) -> &str {
        self.view.plan.settings.timezone.as_str()
    }

    fn env(&self, _name: &str) -> Result<Value<'a>, ScopeError> {
        // n8n blocks `$env` in nodes by default (N8N_BLOCK_ENV_ACCESS_IN_NODE); the policy
        // that opens it belongs to the runtime configuration, not to the engine.
        Err(ScopeError::EnvDenied)
    }

    fn vars(&self) -> Value<'a> {
        Value::EMPTY_OBJECT
    }

    fn extra(&self, name: &str) -> Value<'a> {
        self.keys
            .iter()
            .find(|(key, _)| *key == name)
            .map_or(Value::Undefined, |(_, value)| *value)
    }
}
