//! n8n's node execution stack and the waiting room of multi-input nodes.
//!
//! v1 order: a finished node's children (over all outputs with items) are sorted by
//! canvas position and put at the *front* of the stack one by one, so the top-most
//! (then left-most) child runs first and a branch runs to its end before its sibling
//! (depth first). A node with several connected inputs waits in `waiting` until every
//! input has data; when the stack runs dry, waiting nodes are released with the inputs
//! they have (Merge v3 needs one input, or both for chooseBranch). v0 (legacy) appends
//! to the back instead (breadth first), also feeds empty outputs to second inputs, and
//! forces unrun producers of a waiting node's other inputs ([`legacy`]).

mod legacy;
mod stack;

pub use legacy::{CODE_PARENT_WALK, PARENT_WALK_STEPS_MAX};

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;

use linkflow_codec::plan::{
    ArchivedNodeKind, ArchivedPValue, ArchivedPlan, NO_CHILD, SEVERAL_CHILDREN,
};

use super::item::Item;
use super::node::{lookup, Outputs};
use super::run_data::{Source, TaskRun};
use stack::Stack;

/// Children of one finished run scheduled without an arena vector; a run with more
/// (a node fanning out wider) collects them in the arena.
const CHILDREN_INLINE_MAX: usize = 8;

/// One node run to do: the node, items per input and where they came from.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Node index.
    pub node: u32,
    /// Items per input (`None` = no data on that input).
    pub inputs: &'a [Option<&'a [Item<'a>]>],
    /// Producer of each input.
    pub sources: &'a [Option<Source>],
}

impl<'a> Entry<'a> {
    /// An entry with one input: its items and producer share one arena allocation (two
    /// one-element slices per scheduled run showed up in the instruction counts).
    pub fn single(
        arena: &'a Bump,
        node: u32,
        items: &'a [Item<'a>],
        source: Option<Source>,
    ) -> Self {
        type Single<'a> = ([Option<&'a [Item<'a>]>; 1], [Option<Source>; 1]);
        let pair: &'a Single<'a> = arena.alloc(([Some(items)], [source]));
        Entry {
            node,
            inputs: &pair.0,
            sources: &pair.1,
        }
    }
}

/// What [`Scheduler::sole_child`] found.
pub enum SoleChild<'a> {
    /// The one child run to schedule.
    Entry(Entry<'a>),
    /// No output with items leads anywhere: nothing to schedule.
    Nothing,
    /// Several children, or one that needs the waiting room: the link walk decides.
    Walk,
}

/// A multi-input node's partial inputs for one of its future runs.
struct WaitSlot<'a> {
    key: u32,
    inputs: Vec<Option<&'a [Item<'a>]>>,
    sources: Vec<Option<Source>>,
}

/// The stack and the waiting room.
pub struct Scheduler<'a> {
    arena: &'a Bump,
    plan: &'a ArchivedPlan,
    v1: bool,
    stack: Stack<'a>,
    /// Waiting nodes in first-wait order (n8n iterates `waitingExecution` by insertion).
    waiting: Vec<(u32, Vec<WaitSlot<'a>>)>,
    /// Last entry popped without running (legacy order), for the endless-loop check.
    last_try: Option<(u32, u32)>,
    /// A scheduling failure for the execution to report ([`CODE_PARENT_WALK`]).
    error: Option<String>,
}

/// Which inputs a node needs before it may run with partial data (n8n `requiredInputs`).
enum Required {
    /// No requirement: runs with whatever arrived.
    Any,
    /// At least this many inputs with data.
    Count(usize),
    /// Every input.
    All,
}

/// Links of `node`'s connection slot `index` (an output in `outgoing`, an input in
/// `incoming`); none when the node has fewer slots.
fn slot_links(
    csr: &linkflow_codec::plan::ArchivedCsr,
    node: u32,
    index: usize,
) -> &[linkflow_codec::plan::ArchivedLink] {
    let first_slot = csr.slot_start[node as usize].to_native() as usize;
    let end_slot = csr.slot_start[node as usize + 1].to_native() as usize;
    let slot = first_slot + index;
    if slot >= end_slot {
        return &[];
    }
    let start = csr.link_start[slot].to_native() as usize;
    let end = csr.link_start[slot + 1].to_native() as usize;
    &csr.links[start..end]
}

impl<'a> Scheduler<'a> {
    /// An empty scheduler for `plan`.
    pub fn new(arena: &'a Bump, plan: &'a ArchivedPlan, v1: bool) -> Self {
        Scheduler {
            arena,
            plan,
            v1,
            stack: Stack::new_in(arena),
            waiting: Vec::new(),
            last_try: None,
            error: None,
        }
    }

    /// A scheduling failure since the last call ([`CODE_PARENT_WALK`]): the execution
    /// must stop with it.
    pub fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }

    /// True for execution order v1, false for legacy v0.
    pub fn is_v1(&self) -> bool {
        self.v1
    }

    /// Queues the start node.
    pub fn push_start(&mut self, entry: Entry<'a>) {
        self.stack.push_back(entry);
    }

    /// Next node run to do.
    pub fn pop(&mut self) -> Option<Entry<'a>> {
        self.stack.pop_front()
    }

    /// Targets of `node`'s output `output`.
    fn targets(&self, node: u32, output: usize) -> &'a [linkflow_codec::plan::ArchivedLink] {
        slot_links(&self.plan.outgoing, node, output)
    }

    /// Producers of `node`'s input `input`.
    fn producers(&self, node: u32, input: usize) -> &'a [linkflow_codec::plan::ArchivedLink] {
        slot_links(&self.plan.incoming, node, input)
    }

    /// n8n's `connectionsByDestinationNode[node].main.length`: highest connected input + 1.
    fn connected_inputs(&self, node: u32) -> usize {
        let csr = &self.plan.incoming;
        let first_slot = csr.slot_start[node as usize].to_native() as usize;
        let end_slot = csr.slot_start[node as usize + 1].to_native() as usize;
        (first_slot..end_slot)
            .rev()
            .find(|&slot| csr.link_start[slot + 1].to_native() > csr.link_start[slot].to_native())
            .map_or(0, |slot| slot - first_slot + 1)
    }

    /// Schedules the children of a finished run (n8n's loop over `connectionsBySourceNode`).
    pub fn add_children(
        &mut self,
        node: u32,
        run: u32,
        outputs: Outputs<'a>,
        runs: &[BumpVec<'a, TaskRun<'a>>],
    ) {
        if self.v1 {
            match self.sole_child(node, run, outputs) {
                SoleChild::Entry(entry) => return self.stack.push_front(entry),
                SoleChild::Nothing => return,
                SoleChild::Walk => {}
            }
        }
        self.add_children_walk(node, run, outputs, runs);
    }

    /// v1's common case: the outputs with items lead to at most one child, and the plan
    /// says that child needs nothing but a stack entry ([`ArchivedPlan::sole_targets`]).
    /// Returns that entry without scheduling it ([`Self::add_children`] puts it first on
    /// the stack; the execution may run it at once instead, see `Execution::start_run`).
    /// Only meaningful in v1 order.
    #[inline]
    pub fn sole_child(&self, node: u32, run: u32, outputs: Outputs<'a>) -> SoleChild<'a> {
        debug_assert!(self.v1, "sole children are a v1 notion");
        let csr = &self.plan.outgoing;
        let (Some(first_slot), Some(end_slot)) = (
            csr.slot_start.get(node as usize),
            csr.slot_start.get(node as usize + 1),
        ) else {
            return SoleChild::Walk;
        };
        let (first_slot, end_slot) = (
            first_slot.to_native() as usize,
            end_slot.to_native() as usize,
        );
        // One output (most nodes): decided without the loop's bookkeeping.
        if let [Some(items)] = outputs {
            if items.is_empty() || first_slot >= end_slot {
                return SoleChild::Nothing;
            }
            return match self
                .plan
                .sole_targets
                .get(first_slot)
                .map(|t| t.to_native())
            {
                Some(NO_CHILD) => SoleChild::Nothing,
                Some(target)
                    if target != SEVERAL_CHILDREN && (target as usize) < self.plan.nodes.len() =>
                {
                    let source = Source {
                        node,
                        output: 0,
                        run,
                    };
                    SoleChild::Entry(Entry::single(self.arena, target, items, Some(source)))
                }
                _ => SoleChild::Walk,
            };
        }
        let mut only = None;
        for (output, items) in outputs.iter().enumerate() {
            // v1 schedules only outputs with items.
            let Some(items) = items.filter(|items| !items.is_empty()) else {
                continue;
            };
            let slot = first_slot + output;
            if slot >= end_slot {
                continue;
            }
            let target = match self.plan.sole_targets.get(slot).map(|t| t.to_native()) {
                Some(NO_CHILD) => continue,
                Some(target) if target != SEVERAL_CHILDREN && only.is_none() => target,
                // Several children (ordered by position), or a child that needs the
                // waiting room: the link walk.
                _ => return SoleChild::Walk,
            };
            if target as usize >= self.plan.nodes.len() {
                return SoleChild::Walk;
            }
            only = Some((target, output, items));
        }
        match only {
            Some((target, output, items)) => {
                let source = Source {
                    node,
                    output: output as u32,
                    run,
                };
                SoleChild::Entry(Entry::single(self.arena, target, items, Some(source)))
            }
            None => SoleChild::Nothing,
        }
    }

    /// Puts `entry` first on the stack: it runs next (v1's `unshift`).
    pub fn push_next(&mut self, entry: Entry<'a>) {
        self.stack.push_front(entry);
    }

    /// [`Self::add_children`] for several children (v1 orders them by canvas position)
    /// and for legacy v0: the walk over the output links. Also for a v1 caller that
    /// already asked [`Self::sole_child`] and was told to walk.
    pub fn add_children_walk(
        &mut self,
        node: u32,
        run: u32,
        outputs: Outputs<'a>,
        runs: &[BumpVec<'a, TaskRun<'a>>],
    ) {
        // (target, input, output). Up to `CHILDREN_INLINE_MAX` in a local array, more in
        // the arena: a vector per node run showed up in the instruction counts.
        let mut inline = [(0u32, 0u32, 0usize); CHILDREN_INLINE_MAX];
        let mut inline_len = 0;
        let mut spilled: Option<BumpVec<'a, (u32, u32, usize)>> = None;
        for (output, items) in outputs.iter().enumerate() {
            let Some(items) = items else { continue };
            for link in self.targets(node, output) {
                let input = link.port.to_native();
                if !items.is_empty() || (input > 0 && !self.v1) {
                    let child = (link.node.to_native(), input, output);
                    match &mut spilled {
                        Some(children) => children.push(child),
                        None if inline_len < CHILDREN_INLINE_MAX => {
                            inline[inline_len] = child;
                            inline_len += 1;
                        }
                        None => {
                            let mut children =
                                BumpVec::with_capacity_in(2 * CHILDREN_INLINE_MAX, self.arena);
                            children.extend_from_slice(&inline);
                            children.push(child);
                            spilled = Some(children);
                        }
                    }
                }
            }
        }
        let to_add: &mut [(u32, u32, usize)] = match &mut spilled {
            Some(children) => children,
            None => &mut inline[..inline_len],
        };
        if self.v1 && to_add.len() > 1 {
            self.sort_by_position(to_add);
        }
        for &(target, input, output) in to_add.iter() {
            let source = Source {
                node,
                output: output as u32,
                run,
            };
            self.add_node(
                target,
                input as usize,
                outputs[output].unwrap_or(&[]),
                source,
                runs,
            );
        }
    }

    /// Mirrors n8n's comparator (bottom-most first, then right-most) under V8's binary
    /// insertion sort, which is what `Array.prototype.sort` runs for short arrays; the
    /// comparator is not a total order, so the algorithm matters for ties.
    fn sort_by_position(&self, to_add: &mut [(u32, u32, usize)]) {
        let position = |n: u32| {
            let p = &self.plan.nodes[n as usize].position;
            (p[0].to_native(), p[1].to_native())
        };
        let compare = |a: u32, b: u32| -> i32 {
            let (ax, ay) = position(a);
            let (bx, by) = position(b);
            if ay < by {
                1
            } else if ay > by || ax > bx {
                -1
            } else {
                0
            }
        };
        for i in 1..to_add.len() {
            let pivot = to_add[i];
            let (mut left, mut right) = (0, i);
            while left < right {
                let mid = (left + right) / 2;
                if compare(pivot.0, to_add[mid].0) < 0 {
                    right = mid;
                } else {
                    left = mid + 1;
                }
            }
            to_add[left..=i].rotate_right(1);
        }
    }

    fn enqueue(&mut self, entry: Entry<'a>) {
        if self.v1 {
            self.stack.push_front(entry);
        } else {
            self.stack.push_back(entry);
        }
    }

    /// n8n's `addNodeToBeExecuted`.
    fn add_node(
        &mut self,
        target: u32,
        input: usize,
        items: &'a [Item<'a>],
        source: Source,
        runs: &[BumpVec<'a, TaskRun<'a>>],
    ) {
        let inputs_connected = self.connected_inputs(target);
        if inputs_connected <= 1 && input == 0 {
            // The common entry: one input with data, one producer.
            let entry = Entry::single(self.arena, target, items, Some(source));
            self.enqueue(entry);
            return;
        }
        if inputs_connected <= 1 {
            let inputs = self.arena.alloc_slice_fill_copy(input + 1, None);
            let sources = self.arena.alloc_slice_fill_copy(input + 1, None);
            inputs[input] = Some(items);
            sources[input] = Some(source);
            let entry = Entry {
                node: target,
                inputs,
                sources,
            };
            self.enqueue(entry);
            return;
        }
        let (position, was_waiting) = match self.waiting.iter().position(|(n, _)| *n == target) {
            Some(p) => (p, true),
            None => {
                self.waiting.push((target, Vec::new()));
                (self.waiting.len() - 1, false)
            }
        };
        let slots = &mut self.waiting[position].1;
        let slot_index = match slots.iter().position(|s| s.inputs[input].is_none()) {
            Some(i) => i,
            None => {
                // A new run entry, keyed by the count of entries (as n8n does).
                let key = slots.len() as u32;
                slots.retain(|s| s.key != key);
                let at = slots.partition_point(|s| s.key < key);
                slots.insert(
                    at,
                    WaitSlot {
                        key,
                        inputs: vec![None; inputs_connected],
                        sources: vec![None; inputs_connected],
                    },
                );
                at
            }
        };
        let slot = &mut slots[slot_index];
        slot.inputs[input] = Some(items);
        slot.sources[input] = Some(source);
        if slot.inputs.iter().all(Option::is_some) {
            let slot = slots.remove(slot_index);
            if slots.is_empty() {
                self.waiting.remove(position);
            }
            let entry = self.alloc_entry(target, &slot.inputs, &slot.sources);
            self.enqueue(entry);
            return;
        }
        if !self.v1 && !was_waiting {
            self.force_parents(target, source, items.is_empty(), runs);
        }
    }

    fn alloc_entry(
        &self,
        node: u32,
        inputs: &[Option<&'a [Item<'a>]>],
        sources: &[Option<Source>],
    ) -> Entry<'a> {
        Entry {
            node,
            inputs: self.arena.alloc_slice_copy(inputs),
            sources: self.arena.alloc_slice_copy(sources),
        }
    }

    /// When the stack is empty, releases the first waiting node that may run with the
    /// inputs it has (n8n's end-of-loop scan).
    #[inline]
    pub fn release_waiting(&mut self, runs: &[BumpVec<'a, TaskRun<'a>>]) {
        // Checked here, inlined into the caller: most runs leave nobody waiting, and the
        // call into the loop below costs more than the check.
        if self.waiting.is_empty() || !self.stack.is_empty() {
            return;
        }
        self.release_waiting_slow(runs);
    }

    /// [`Self::release_waiting`] once someone waits and the stack is empty.
    fn release_waiting_slow(&mut self, runs: &[BumpVec<'a, TaskRun<'a>>]) {
        let _ = runs;
        let mut i = 0;
        while i < self.waiting.len() {
            let node = self.waiting[i].0;
            let required = if self.v1 {
                self.required_inputs(node)
            } else {
                Required::Any
            };
            if matches!(required, Required::All) {
                i += 1;
                continue;
            }
            let waiting_nodes: Vec<u32> = self.waiting.iter().map(|(n, _)| *n).collect();
            if self
                .ancestors(node)
                .iter()
                .any(|a| waiting_nodes.contains(a))
            {
                i += 1;
                continue;
            }
            let slot = &self.waiting[i].1[0];
            let with_data = slot.inputs.iter().filter(|s| s.is_some()).count();
            if let Required::Count(n) = required {
                if with_data < n {
                    i += 1;
                    continue;
                }
            }
            let input_count = (self.plan.nodes[node as usize].input_count.to_native() as usize)
                .max(slot.inputs.len());
            let mut inputs: Vec<Option<&'a [Item<'a>]>> =
                slot.inputs.iter().map(|s| Some(s.unwrap_or(&[]))).collect();
            inputs.resize(input_count, Some(&[]));
            let mut sources = slot.sources.clone();
            sources.resize(input_count, None);
            let has_data = inputs.iter().flatten().any(|items| !items.is_empty());
            if has_data {
                let entry = self.alloc_entry(node, &inputs, &sources);
                self.stack.push_back(entry);
            }
            self.waiting[i].1.remove(0);
            if self.waiting[i].1.is_empty() {
                self.waiting.remove(i);
            }
            if has_data {
                break;
            }
            i = 0;
        }
    }

    /// Every node upstream of `node` over main connections.
    fn ancestors(&self, node: u32) -> Vec<u32> {
        let mut seen = vec![false; self.plan.nodes.len()];
        let mut stack = vec![node];
        let mut out = Vec::new();
        while let Some(n) = stack.pop() {
            let inputs = self.plan.incoming.slot_start[n as usize + 1].to_native()
                - self.plan.incoming.slot_start[n as usize].to_native();
            for input in 0..inputs as usize {
                for link in self.producers(n, input) {
                    let p = link.node.to_native();
                    if !seen[p as usize] {
                        seen[p as usize] = true;
                        out.push(p);
                        stack.push(p);
                    }
                }
            }
        }
        out
    }

    /// n8n's `requiredInputs` of a node type (Merge v3: one input, both for chooseBranch).
    fn required_inputs(&self, node: u32) -> Required {
        let n = &self.plan.nodes[node as usize];
        if matches!(n.kind, ArchivedNodeKind::Merge) && n.type_version.to_native() >= 3.0 {
            let mode = match lookup(&n.params, "mode") {
                Some(ArchivedPValue::String(s)) => s.as_str(),
                _ => "append",
            };
            return if mode == "chooseBranch" {
                Required::All
            } else {
                Required::Count(1)
            };
        }
        Required::Any
    }

    /// Legacy (v0) order: a node whose connected inputs lack data goes back to the end
    /// of the stack (`Ok(false)`); popping the same run twice in a row is n8n's
    /// endless-loop error.
    #[inline]
    pub fn check_legacy_inputs(&mut self, entry: &Entry<'a>, run: u32) -> Result<bool, String> {
        // v1 has no such check: decided in the caller, without the call.
        if self.v1 {
            return Ok(true);
        }
        self.check_legacy_inputs_v0(entry, run)
    }

    /// [`Self::check_legacy_inputs`] in legacy (v0) order.
    fn check_legacy_inputs_v0(&mut self, entry: &Entry<'a>, run: u32) -> Result<bool, String> {
        let key = (entry.node, run);
        let connected = self.connected_inputs(entry.node);
        let missing = (0..connected).any(|i| {
            !self.producers(entry.node, i).is_empty()
                && entry.inputs.get(i).copied().flatten().is_none()
        });
        if !missing {
            return Ok(true);
        }
        if self.last_try == Some(key) {
            return Err("Stopped execution because it seems to be in an endless loop".to_owned());
        }
        self.last_try = Some(key);
        self.stack.push_back(*entry);
        Ok(false)
    }
}
