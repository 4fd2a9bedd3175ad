//! A [`Scope`] over fixed data for the JavaScript tests.

use bumpalo::Bump;

use crate::engine::expr::{ExecutionInfo, PrevNode, Scope, ScopeError, WorkflowInfo};
use crate::engine::item::{Item, PairedItem};
use crate::engine::value::Value;

/// Input items, other nodes' outputs (name, items) and an item index.
pub(crate) struct TestScope<'a> {
    pub arena: &'a Bump,
    pub input: &'a [Item<'a>],
    pub nodes: Vec<(&'static str, &'a [Item<'a>])>,
    pub item: usize,
    pub now_ms: i64,
    pub timezone: &'static str,
}

impl<'a> TestScope<'a> {
    /// Input items from a JSON array of item jsons; item `i` is paired with item `i` of
    /// every node in `nodes`.
    pub fn new(arena: &'a Bump, input: &str) -> Self {
        let items = json(arena, input);
        let input =
            arena.alloc_slice_fill_iter(items.as_array().unwrap_or(&[]).iter().enumerate().map(
                |(i, json)| Item {
                    json: *json,
                    binary: Value::Undefined,
                    paired: arena.alloc_slice_copy(&[PairedItem {
                        item: i as u32,
                        input: 0,
                    }]),
                },
            ));
        TestScope {
            arena,
            input,
            nodes: Vec::new(),
            item: 0,
            // 2024-05-06T07:08:09.010Z
            now_ms: 1_714_979_289_010,
            timezone: "UTC",
        }
    }

    /// Adds a node output (JSON array of item jsons).
    pub fn node(mut self, name: &'static str, items: &str) -> Self {
        let items = json(self.arena, items);
        let items = self.arena.alloc_slice_fill_iter(
            items
                .as_array()
                .unwrap_or(&[])
                .iter()
                .map(|json| Item::new(*json)),
        );
        self.nodes.push((name, items));
        self
    }

    /// The same data at another item index.
    pub fn at(&self, item: usize) -> TestScope<'a> {
        TestScope {
            arena: self.arena,
            input: self.input,
            nodes: self.nodes.clone(),
            item,
            now_ms: self.now_ms,
            timezone: self.timezone,
        }
    }
}

/// Parses JSON text into the arena.
pub(crate) fn json<'a>(arena: &'a Bump, text: &str) -> Value<'a> {
    Value::from_json(arena, &serde_json::from_str(text).expect("test JSON"))
}

impl<'a> Scope<'a> for TestScope<'a> {
    fn arena(&self) -> &'a Bump {
        self.arena
    }
    fn json(&self) -> Value<'a> {
        self.input
            .get(self.item)
            .map_or(Value::Undefined, |i| i.json)
    }
    fn binary(&self) -> Value<'a> {
        self.input
            .get(self.item)
            .map_or(Value::Undefined, |i| i.binary)
    }
    fn item_index(&self) -> usize {
        self.item
    }
    fn run_index(&self) -> usize {
        0
    }
    fn input_items(&self) -> &'a [Item<'a>] {
        self.input
    }
    fn node_items(
        &self,
        name: &str,
        _output: usize,
        _run: Option<usize>,
    ) -> Result<&'a [Item<'a>], ScopeError> {
        self.nodes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, items)| *items)
            .ok_or_else(|| ScopeError::NodeNotFound(name.to_owned()))
    }
    fn paired_item(&self, name: &str) -> Result<Item<'a>, ScopeError> {
        let items = self.node_items(name, 0, None)?;
        items
            .get(self.item)
            .copied()
            .ok_or_else(|| ScopeError::NoPairedItem(name.to_owned()))
    }
    fn node_executed(&self, name: &str) -> Result<bool, ScopeError> {
        Ok(self.nodes.iter().any(|(n, _)| *n == name))
    }
    fn prev_node(&self) -> PrevNode<'a> {
        PrevNode {
            name: "Prev",
            output_index: 0,
            run_index: 0,
        }
    }
    fn workflow(&self) -> WorkflowInfo<'a> {
        WorkflowInfo {
            id: "wf-1",
            name: "Test workflow",
            active: true,
        }
    }
    fn execution(&self) -> ExecutionInfo<'a> {
        ExecutionInfo {
            id: "42",
            mode: "production",
            resume_url: "",
        }
    }
    fn now_ms(&self) -> i64 {
        self.now_ms
    }
    fn timezone(&self) -> &str {
        self.timezone
    }
    fn env(&self, name: &str) -> Result<Value<'a>, ScopeError> {
        match name {
            "ALLOWED" => Ok(Value::String("yes")),
            "DENIED" => Err(ScopeError::EnvDenied),
            _ => Ok(Value::Undefined),
        }
    }
    fn vars(&self) -> Value<'a> {
        json(self.arena, r#"{"region":"eu"}"#)
    }
}
