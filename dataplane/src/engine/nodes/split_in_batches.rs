//! Split In Batches v1/v2 and Loop Over Items (v3).
//!
//! The node keeps its queue across runs in [`NodeState`](crate::engine::node::NodeState):
//! `pending` holds the items still to hand out, `done` (v3) the items that came back
//! through the loop. v1/v2 have one output and end the loop with "no data" once the queue
//! is empty; v3 has a `done` output (0) and a `loop` output (1): each run emits the next
//! batch on `loop`, and the run that finds the queue empty emits every processed item on
//! `done`, as n8n does.

use bumpalo::Bump;

use crate::engine::item::{Item, PairedItem};
use crate::engine::node::{NodeCtx, NodeOutcome, NodeResult, NodeState};

/// Runs a Split In Batches / Loop Over Items node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let batch_size = ctx.param_f64(
        "batchSize",
        0,
        if ctx.version() >= 3.0 { 1.0 } else { 10.0 },
    )?;
    let reset = ctx.param_bool("options.reset", 0, false)?;
    let relinked = relink(ctx.arena, input);
    let step = advance(ctx.arena, ctx.state, relinked, batch_size, reset);
    if ctx.version() >= 3.0 {
        Ok(match step {
            Step::Batch(batch) => ctx.outputs(&[&[], batch]),
            Step::Finished(done) => ctx.outputs(&[done, &[]]),
        })
    } else {
        Ok(match step {
            Step::Batch(batch) => ctx.single_output(batch),
            Step::Finished(_) => NodeOutcome::NoData,
        })
    }
}

/// What one run hands out.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// The next batch (non-empty).
    Batch(&'a [Item<'a>]),
    /// The queue is empty: every item processed so far (v3 `done`).
    Finished(&'a [Item<'a>]),
}

/// The input items with lineage pointing at their own index in this run's input.
fn relink<'a>(arena: &'a Bump, input: &'a [Item<'a>]) -> &'a [Item<'a>] {
    arena.alloc_slice_fill_iter(input.iter().enumerate().map(|(i, item)| Item {
        paired: arena.alloc_slice_copy(&[PairedItem {
            item: i as u32,
            input: 0,
        }]),
        ..*item
    }))
}

/// Advances the queue: the first run (or a reset) queues the input; later runs record the
/// input as processed. Then the next batch is taken.
pub fn advance<'a>(
    arena: &'a Bump,
    state: &mut NodeState<'a>,
    input: &'a [Item<'a>],
    batch_size: f64,
    reset: bool,
) -> Step<'a> {
    // n8n splices `batchSize` items; sizes below 1 would never drain the queue.
    let size = if batch_size.is_finite() && batch_size >= 1.0 {
        batch_size as usize
    } else {
        1
    };
    if !state.initialized || reset {
        state.initialized = true;
        state.pending = input;
        state.done = &[];
    } else {
        let mut done = Vec::with_capacity(state.done.len() + input.len());
        done.extend_from_slice(state.done);
        done.extend_from_slice(input);
        state.done = arena.alloc_slice_copy(&done);
    }
    let take = size.min(state.pending.len());
    let (batch, rest) = state.pending.split_at(take);
    state.pending = rest;
    if batch.is_empty() {
        Step::Finished(state.done)
    } else {
        Step::Batch(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nodes::coerce::{json_string, parse_json};

    fn jsons(items: &[Item<'_>]) -> Vec<String> {
        items.iter().map(|i| json_string(i.json)).collect()
    }

    #[test]
    fn batches_drain_then_done_holds_every_processed_item() {
        let arena = Bump::new();
        let input: &[Item<'_>] = arena.alloc_slice_fill_iter(
            ["1", "2", "3"]
                .iter()
                .map(|n| Item::new(parse_json(&arena, &format!(r#"{{"i":{n}}}"#)).unwrap())),
        );
        let mut state = NodeState::default();
        let Step::Batch(first) = advance(&arena, &mut state, input, 2.0, false) else {
            panic!("batch expected")
        };
        assert_eq!(jsons(first), [r#"{"i":1}"#, r#"{"i":2}"#]);
        let Step::Batch(second) = advance(&arena, &mut state, first, 2.0, false) else {
            panic!("batch expected")
        };
        assert_eq!(jsons(second), [r#"{"i":3}"#]);
        let Step::Finished(done) = advance(&arena, &mut state, second, 2.0, false) else {
            panic!("done expected")
        };
        assert_eq!(jsons(done), [r#"{"i":1}"#, r#"{"i":2}"#, r#"{"i":3}"#]);
    }

    #[test]
    fn empty_input_finishes_at_once_with_nothing() {
        let arena = Bump::new();
        let mut state = NodeState::default();
        assert!(matches!(
            advance(&arena, &mut state, &[], 5.0, false),
            Step::Finished([])
        ));
    }

    #[test]
    fn reset_requeues_and_tiny_sizes_still_progress() {
        let arena = Bump::new();
        let input: &[Item<'_>] = arena.alloc_slice_fill_iter(
            (0..2).map(|_| Item::new(parse_json(&arena, r#"{"é":"😀"}"#).unwrap())),
        );
        let mut state = NodeState::default();
        let Step::Batch(b) = advance(&arena, &mut state, input, 0.0, false) else {
            panic!("batch expected")
        };
        assert_eq!(b.len(), 1);
        let Step::Batch(b) = advance(&arena, &mut state, input, 1.0, true) else {
            panic!("batch expected")
        };
        assert_eq!(b.len(), 1);
        assert_eq!(state.pending.len(), 1);
        assert!(state.done.is_empty());
    }
}
