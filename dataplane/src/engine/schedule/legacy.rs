//! Legacy (v0) parent forcing: n8n's `addNodeToBeExecuted` when a node with several
//! connected inputs first gets data on one of them while a producer of another input has
//! not run.
//!
//! n8n (`WorkflowExecute`, `isLegacyExecutionOrder`) then walks up from that producer
//! through its ancestors (in `getParentNodes` order, nearest first) to the highest node
//! that has not run, and puts it on the stack with one empty item `{json: {}}` when it has
//! no inputs at all or its first input got nothing. Nothing is forced when that chain
//! meets a node already on the stack or another child of the node that just finished
//! (those run anyway), or when the forced node would descend from the finished node
//! through an output that was empty (it must stay unrun). v1 never forces.

use bumpalo::collections::Vec as BumpVec;

use super::{Entry, Scheduler};
use crate::engine::item::Item;
use crate::engine::run_data::{Source, TaskRun};
use crate::engine::value::Value;

/// Steps of one ancestor walk (`getParentNodes`). Why: n8n's walk re-enters shared
/// ancestors once per path, which is exponential for workflows full of diamonds; a plan
/// that needs more is refused with [`CODE_PARENT_WALK`] instead of stalling the shard.
pub const PARENT_WALK_STEPS_MAX: usize = 100_000;

/// Error code: a legacy-order ancestor walk needed more than [`PARENT_WALK_STEPS_MAX`]
/// steps.
pub const CODE_PARENT_WALK: &str = "LF-ENGINE-106";

impl<'a> Scheduler<'a> {
    /// n8n's forcing of unrun producers of `target`'s other inputs (v0 only), called the
    /// first time `target` waits. `parent` just finished; `parent_output_empty` tells
    /// whether the output that fed `target` carried no items.
    pub(super) fn force_parents(
        &mut self,
        target: u32,
        parent: Source,
        parent_output_empty: bool,
        runs: &[BumpVec<'a, TaskRun<'a>>],
    ) {
        debug_assert!(!self.v1, "v1 never forces parents");
        let siblings = self.all_targets(parent.node);
        for input in 0..self.connected_inputs(target) {
            for link in self.producers(target, input) {
                let producer = link.node.to_native();
                if producer == parent.node {
                    continue;
                }
                // A sibling that will run anyway, unless its first input got nothing.
                if siblings.contains(&producer)
                    && !self.first_input_empty(producer, runs, parent.run)
                {
                    continue;
                }
                if self.on_stack(producer) || has_run(runs, producer) {
                    continue;
                }
                let Some(mut chain) = self.parent_nodes(producer) else {
                    return;
                };
                chain.push(producer);
                chain.reverse();
                let mut to_add = Some(producer);
                for &node in &chain {
                    if (node != producer && siblings.contains(&node)) || self.on_stack(node) {
                        to_add = None;
                        break;
                    }
                    if has_run(runs, node) {
                        break;
                    }
                    to_add = Some(node);
                }
                let Some(node) = to_add else { continue };
                if parent_output_empty {
                    let Some(ancestors) = self.parent_nodes(node) else {
                        return;
                    };
                    if ancestors.contains(&parent.node) {
                        continue;
                    }
                }
                if self.connected_inputs(node) == 0
                    || self.first_input_empty(node, runs, parent.run)
                {
                    let empty: &'a [Item<'a>] = self
                        .arena
                        .alloc_slice_copy(&[Item::new(Value::EMPTY_OBJECT)]);
                    let entry = Entry {
                        node,
                        inputs: self.arena.alloc_slice_copy(&[Some(empty)]),
                        sources: self.arena.alloc_slice_copy(&[Some(parent)]),
                    };
                    self.stack.push_back(entry);
                }
            }
        }
    }

    /// Every node fed by any output of `node`.
    fn all_targets(&self, node: u32) -> Vec<u32> {
        let outputs = self.plan.outgoing.slot_start[node as usize + 1].to_native()
            - self.plan.outgoing.slot_start[node as usize].to_native();
        (0..outputs as usize)
            .flat_map(|output| self.targets(node, output))
            .map(|link| link.node.to_native())
            .collect()
    }

    fn on_stack(&self, node: u32) -> bool {
        self.stack.iter().any(|entry| entry.node == node)
    }

    /// n8n's `incomingConnectionIsEmpty` over `node`'s first input: no producer's output
    /// of run `run` holds an item.
    fn first_input_empty(&self, node: u32, runs: &[BumpVec<'a, TaskRun<'a>>], run: u32) -> bool {
        !self.producers(node, 0).iter().any(|link| {
            runs[link.node.to_native() as usize]
                .get(run as usize)
                .and_then(|task| task.outputs.get(link.port.to_native() as usize))
                .copied()
                .flatten()
                .is_some_and(|items| !items.is_empty())
        })
    }

    /// n8n's `getParentNodes(node)`: every ancestor over main connections, farthest first
    /// (its depth-first walk with a per-path visited list and move-to-front of repeats).
    /// `None` when the walk exceeds [`PARENT_WALK_STEPS_MAX`] (the error is kept).
    fn parent_nodes(&mut self, node: u32) -> Option<Vec<u32>> {
        let mut steps = 0;
        let mut path = Vec::new();
        match self.walk_parents(node, &mut path, &mut steps) {
            Some(nodes) => Some(nodes),
            None => {
                self.error.get_or_insert_with(|| {
                    format!(
                        "legacy execution order: the ancestor walk of node \"{}\" needs more \
                         than {PARENT_WALK_STEPS_MAX} steps",
                        self.plan.nodes[node as usize].name.as_str()
                    )
                });
                None
            }
        }
    }

    fn walk_parents(&self, node: u32, path: &mut Vec<u32>, steps: &mut usize) -> Option<Vec<u32>> {
        *steps += 1;
        if *steps > PARENT_WALK_STEPS_MAX {
            return None;
        }
        if path.contains(&node) {
            return Some(Vec::new());
        }
        path.push(node);
        let mut out: Vec<u32> = Vec::new();
        let inputs = self.plan.incoming.slot_start[node as usize + 1].to_native()
            - self.plan.incoming.slot_start[node as usize].to_native();
        for input in 0..inputs as usize {
            for link in self.producers(node, input) {
                let parent = link.node.to_native();
                if path.contains(&parent) {
                    continue;
                }
                out.insert(0, parent);
                let further = self.walk_parents(parent, path, steps);
                let Some(further) = further else {
                    path.pop();
                    return None;
                };
                for &ancestor in further.iter().rev() {
                    if let Some(at) = out.iter().position(|&n| n == ancestor) {
                        out.remove(at);
                    }
                    out.insert(0, ancestor);
                }
            }
        }
        path.pop();
        Some(out)
    }
}

fn has_run(runs: &[BumpVec<'_, TaskRun<'_>>], node: u32) -> bool {
    !runs[node as usize].is_empty()
}
