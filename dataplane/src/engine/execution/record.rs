//! The finish/record path of a node run: paired-item lineage, n8n's output rules
//! (alwaysOutputData, the error output), the run table and scheduling of the children.

use bumpalo::Bump;
use linkflow_codec::plan::ArchivedOnError;

use super::{is_truthy, ExecError, Execution, NodeRun, Services};
use crate::engine::item::{has_own_lineage, single_lineage, Item, PairedItem};
use crate::engine::limits;
use crate::engine::node::{NodeError, Outputs};
use crate::engine::run_data::{RunError, TaskRun};
use crate::engine::schedule::{Entry, SoleChild};
use crate::engine::value::Value;

impl<'a, S: Services<'a>> Execution<'a, S> {
    /// A successful run: lineage for items without it, the items-per-output limit,
    /// alwaysOutputData and the error output, then [`Self::record`].
    pub(super) fn finish_success(&mut self, run: NodeRun<'a>, outputs: Option<Outputs<'a>>) {
        let index = run.entry.node as usize;
        let node = &self.plan.nodes[index];
        let mut outputs = outputs.map(|o| assign_paired_items(self.arena, o, run.entry.inputs));
        if let Some(outputs) = outputs {
            if let Some(too_many) = outputs
                .iter()
                .flatten()
                .find(|items| items.len() > self.config.limits.items_per_output)
            {
                let message = format!(
                    "node '{}' emitted {} items on one output (limit {})",
                    node.name.as_str(),
                    too_many.len(),
                    self.config.limits.items_per_output
                );
                self.error = Some(ExecError {
                    code: limits::CODE_ITEMS,
                    message,
                    node: Some(node.name.as_str().to_owned()),
                });
                self.finished = true;
                return;
            }
            self.last_node = Some(run.entry.node);
        }
        let has_first_item = outputs
            .and_then(|o| o.first().copied().flatten())
            .is_some_and(|items| !items.is_empty());
        if !has_first_item && node.settings.always_output_data {
            let mut paired = Vec::new();
            for (input, items) in run.entry.inputs.iter().enumerate() {
                for i in 0..items.map_or(0, <[Item]>::len) {
                    paired.push(PairedItem {
                        item: i as u32,
                        input: input as u32,
                    });
                }
            }
            let item = Item {
                json: Value::EMPTY_OBJECT,
                binary: Value::Undefined,
                paired: self.arena.alloc_slice_copy(&paired),
            };
            let items: &'a [Item<'a>] = self.arena.alloc_slice_copy(&[item]);
            let mut slots: Vec<Option<&'a [Item<'a>]>> =
                outputs.map(|o| o.to_vec()).unwrap_or_default();
            if slots.is_empty() {
                slots.push(None);
            }
            slots[0] = Some(items);
            outputs = Some(self.arena.alloc_slice_copy(&slots));
        }
        let Some(mut outputs) = outputs else {
            // n8n: a node that returns null is not recorded and its branch ends.
            return;
        };
        if matches!(node.settings.on_error, ArchivedOnError::ContinueErrorOutput) {
            outputs = route_error_items(
                self.arena,
                outputs,
                run.entry.inputs,
                node.output_count.to_native() as usize,
            );
        }
        self.record(run, outputs, None);
    }

    /// A failed run: stops the workflow, or (onError continue) passes the input through.
    pub(super) fn finish_error(&mut self, run: NodeRun<'a>, error: NodeError) {
        let index = run.entry.node as usize;
        let node = &self.plan.nodes[index];
        self.last_node = Some(run.entry.node);
        if matches!(node.settings.on_error, ArchivedOnError::StopWorkflow) {
            self.store(run, &[], Some(&error));
            self.error = Some(ExecError {
                code: error.code,
                message: error.into_detail().message,
                node: Some(node.name.as_str().to_owned()),
            });
            self.finished = true;
            return;
        }
        // Continue (regular or error output): the node's input passes through on output 0.
        let outputs: Outputs<'a> = match run.entry.inputs.first().copied().flatten() {
            Some(items) => self.arena.alloc_slice_copy(&[Some(items)]),
            None => &[],
        };
        self.record(run, outputs, Some(error));
    }

    /// Stores a finished run, schedules its children and checks the arena limit.
    pub(super) fn record(
        &mut self,
        run: NodeRun<'a>,
        outputs: Outputs<'a>,
        error: Option<NodeError>,
    ) {
        self.store(run, outputs, error.as_ref());
        self.scheduler
            .add_children(run.entry.node, run.run_index, outputs, &self.runs);
        self.after_scheduling();
    }

    /// [`Self::record`] of the short path (no error): when the run's outputs lead to one
    /// child that needs nothing but a stack entry (v1), returns that entry instead of
    /// scheduling it, for the caller to run next. Exactly what `record` and the next
    /// `pop` would do: `record` would put it first on the stack, find the stack not
    /// empty (so release no waiting node) and check the arena; the pop takes it back.
    pub(super) fn record_handing_off(
        &mut self,
        run: NodeRun<'a>,
        outputs: Outputs<'a>,
    ) -> Option<Entry<'a>> {
        self.store(run, outputs, None);
        if self.scheduler.is_v1() {
            match self
                .scheduler
                .sole_child(run.entry.node, run.run_index, outputs)
            {
                SoleChild::Entry(entry) => {
                    self.check_arena();
                    if self.finished {
                        // Left on the stack, as `record` leaves it.
                        self.scheduler.push_next(entry);
                        return None;
                    }
                    return Some(entry);
                }
                SoleChild::Nothing => {}
                SoleChild::Walk => {
                    self.scheduler.add_children_walk(
                        run.entry.node,
                        run.run_index,
                        outputs,
                        &self.runs,
                    );
                }
            }
        } else {
            self.scheduler
                .add_children(run.entry.node, run.run_index, outputs, &self.runs);
        }
        self.after_scheduling();
        None
    }

    /// Appends the run to the run table, numbered in the run order.
    #[inline]
    fn store(&mut self, run: NodeRun<'a>, outputs: Outputs<'a>, error: Option<&NodeError>) {
        let index = run.entry.node as usize;
        let error = error.map(|e| {
            &*self.arena.alloc(RunError {
                code: e.code,
                message: self.arena.alloc_str(&e.message),
            })
        });
        self.runs[index].push(TaskRun {
            outputs,
            inputs: run.entry.inputs,
            sources: run.entry.sources,
            error,
            seq: self.runs_recorded,
        });
        self.runs_recorded += 1;
    }

    /// After a run's children were scheduled: a scheduling failure stops the execution,
    /// an empty stack releases waiting nodes, and the arena limit is checked.
    #[inline]
    fn after_scheduling(&mut self) {
        if let Some(message) = self.scheduler.take_error() {
            self.fail(crate::engine::schedule::CODE_PARENT_WALK, message);
            return;
        }
        self.scheduler.release_waiting(&self.runs);
        self.check_arena();
    }

    /// Fails the execution when its arena grew past the limit.
    #[inline]
    fn check_arena(&mut self) {
        if self.arena.allocated_bytes() > self.config.limits.arena_bytes {
            let message = format!(
                "execution used more than {} bytes of memory",
                self.config.limits.arena_bytes
            );
            self.fail(limits::CODE_ARENA, message);
        }
    }
}

/// n8n's `addPairedItemLineage`: every input item points at its own index and input.
///
/// Items that already do (a node's output item `i` made from its input item `i`, the usual
/// case on a straight chain) are passed on as they are: re-stamping would build equal items.
#[inline]
pub(super) fn stamp_lineage<'a>(
    arena: &'a Bump,
    inputs: &'a [Option<&'a [Item<'a>]>],
) -> &'a [Option<&'a [Item<'a>]>] {
    // One input of one item pointing at item 0 of input 0 (a chain of single items):
    // decided here, in line.
    if let [Some([item])] = inputs {
        if let [only] = item.paired {
            if only.item == 0 && only.input == 0 {
                return inputs;
            }
        }
    }
    let stamped = inputs
        .iter()
        .enumerate()
        .all(|(input, items)| items.is_none_or(|items| has_own_lineage(items, input)));
    if stamped {
        return inputs;
    }
    restamp_lineage(arena, inputs)
}

/// [`stamp_lineage`] without the already-stamped shortcut (tests compare the two).
fn restamp_lineage<'a>(
    arena: &'a Bump,
    inputs: &'a [Option<&'a [Item<'a>]>],
) -> &'a [Option<&'a [Item<'a>]>] {
    arena.alloc_slice_fill_iter(inputs.iter().enumerate().map(|(input, items)| {
        items.map(|items| {
            &*arena.alloc_slice_fill_iter(items.iter().enumerate().map(|(i, item)| Item {
                paired: single_lineage(arena, i, input),
                ..*item
            }))
        })
    }))
}

/// n8n's `assignPairedItems`: items without lineage get it when it is unambiguous.
#[inline]
fn assign_paired_items<'a>(
    arena: &'a Bump,
    outputs: Outputs<'a>,
    inputs: &'a [Option<&'a [Item<'a>]>],
) -> Outputs<'a> {
    // Nodes that set lineage (every typed node, most others) leave nothing to assign:
    // decided in line before anything else is computed.
    let missing = outputs
        .iter()
        .flatten()
        .any(|items| items.iter().any(|item| item.paired.is_empty()));
    if !missing {
        return outputs;
    }
    assign_missing_paired_items(arena, outputs, inputs)
}

/// [`assign_paired_items`] once some item has no lineage.
fn assign_missing_paired_items<'a>(
    arena: &'a Bump,
    outputs: Outputs<'a>,
    inputs: &'a [Option<&'a [Item<'a>]>],
) -> Outputs<'a> {
    let first_input_len = inputs.first().copied().flatten().map(<[Item]>::len);
    let single = inputs.len() == 1 && first_input_len == Some(1);
    let same_count =
        outputs.len() == 1 && inputs.len() == 1 && first_input_len == outputs[0].map(<[Item]>::len);
    if !(single || same_count) {
        return outputs;
    }
    let pairs = arena.alloc_slice_fill_iter(
        (0..outputs.iter().flatten().map(|i| i.len()).max().unwrap_or(0)).map(|i| PairedItem {
            item: i as u32,
            input: 0,
        }),
    );
    arena.alloc_slice_fill_iter(outputs.iter().map(|slot| {
        slot.map(|items| {
            &*arena.alloc_slice_fill_iter(items.iter().enumerate().map(|(i, item)| {
                if !item.paired.is_empty() {
                    *item
                } else if single {
                    Item {
                        paired: &pairs[0..1],
                        ..*item
                    }
                } else {
                    Item {
                        paired: &pairs[i..i + 1],
                        ..*item
                    }
                }
            }))
        })
    }))
}

/// n8n's `handleNodeErrorOutput`: items whose json is exactly `{error}` or
/// `{error, message}` move to the last (error) output, merged over their input item.
fn route_error_items<'a>(
    arena: &'a Bump,
    outputs: Outputs<'a>,
    inputs: &'a [Option<&'a [Item<'a>]>],
    output_count: usize,
) -> Outputs<'a> {
    if output_count < 2 {
        return outputs;
    }
    let error_output = output_count - 1;
    let mut slots: Vec<Option<&'a [Item<'a>]>> = outputs.to_vec();
    if slots.len() < output_count {
        slots.resize(output_count, None);
    }
    let mut errors = Vec::new();
    for slot in slots.iter_mut().take(error_output) {
        let items = slot.unwrap_or(&[]);
        let mut successes = Vec::with_capacity(items.len());
        for item in items {
            let members = item.json.as_object().unwrap_or(&[]);
            let error = item.json.get("error");
            let is_error = is_truthy(error)
                && (members.len() == 1
                    || (members.len() == 2 && is_truthy(item.json.get("message"))));
            if !is_error {
                successes.push(*item);
                continue;
            }
            let source = item.paired.first().and_then(|p| {
                inputs
                    .get(p.input as usize)
                    .copied()
                    .flatten()
                    .and_then(|items| items.get(p.item as usize))
            });
            let json = match source.and_then(|s| s.json.as_object()) {
                Some(base) => {
                    let mut merged: Vec<(&'a str, Value<'a>)> = base.to_vec();
                    for &(k, v) in members {
                        match merged.iter_mut().find(|(key, _)| *key == k) {
                            Some(slot) => slot.1 = v,
                            None => merged.push((k, v)),
                        }
                    }
                    Value::Object(arena.alloc_slice_copy(&merged))
                }
                None => item.json,
            };
            errors.push(Item { json, ..*item });
        }
        *slot = Some(arena.alloc_slice_copy(&successes));
    }
    slots[error_output] = Some(arena.alloc_slice_copy(&errors));
    arena.alloc_slice_copy(&slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per input (absent or not), per item, its (item, input) pairs.
    type Lineage = Vec<Option<Vec<Vec<(u32, u32)>>>>;

    fn lineage(inputs: &[Option<&[Item<'_>]>]) -> Lineage {
        inputs
            .iter()
            .map(|items| {
                items.map(|items| {
                    items
                        .iter()
                        .map(|item| item.paired.iter().map(|p| (p.item, p.input)).collect())
                        .collect()
                })
            })
            .collect()
    }

    #[test]
    fn stamping_skips_only_inputs_that_already_point_at_themselves() {
        let arena = Bump::new();
        let pair = |item, input| PairedItem { item, input };
        let with = |paired: &'static [PairedItem]| Item {
            paired,
            ..Item::new(Value::EMPTY_OBJECT)
        };
        static OWN: [PairedItem; 2] = [
            PairedItem { item: 0, input: 0 },
            PairedItem { item: 1, input: 0 },
        ];
        static SECOND: [PairedItem; 1] = [PairedItem { item: 0, input: 1 }];
        let shifted: &[PairedItem] = arena.alloc_slice_copy(&[pair(3, 0)]);
        let two: &[PairedItem] = arena.alloc_slice_copy(&[pair(0, 0), pair(1, 0)]);
        let own: &[Item<'_>] = arena.alloc_slice_copy(&[with(&OWN[0..1]), with(&OWN[1..2])]);
        let plain: &[Item<'_>] = arena.alloc_slice_copy(&[Item::new(Value::Null)]);
        let moved: &[Item<'_>] = arena.alloc_slice_copy(&[Item {
            paired: shifted,
            ..own[0]
        }]);
        let double: &[Item<'_>] = arena.alloc_slice_copy(&[Item {
            paired: two,
            ..own[0]
        }]);
        let second: &[Item<'_>] = arena.alloc_slice_copy(&[with(&SECOND)]);
        let first_only: &[Item<'_>] = arena.alloc_slice_copy(&[with(&OWN[0..1])]);
        let cases: Vec<Vec<Option<&[Item<'_>]>>> = vec![
            vec![Some(own)],
            vec![Some(plain)],
            vec![Some(moved)],
            vec![Some(double)],
            vec![Some(&own[1..])],
            vec![None, Some(second)],
            vec![Some(own), Some(first_only)],
            vec![None, Some(&[])],
        ];
        let mut skipped = 0;
        for inputs in cases {
            let inputs: &[Option<&[Item<'_>]>] = arena.alloc_slice_copy(&inputs);
            let fast = stamp_lineage(&arena, inputs);
            let generic = restamp_lineage(&arena, inputs);
            assert_eq!(lineage(fast), lineage(generic), "{:?}", lineage(inputs));
            skipped += usize::from(std::ptr::eq(fast, inputs));
        }
        // Own lineage, input 1's own lineage, and empty/absent inputs skip the copy.
        assert_eq!(skipped, 3);
    }
}
