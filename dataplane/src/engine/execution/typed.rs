//! The short path of a node run: a node with a typed form (Set, If, Filter, Respond to
//! Webhook) or a trigger that passes its input through, and none of the settings that
//! wrap a node call (retries, onError, alwaysOutputData, executeOnce, disabled, pinned
//! data).
//!
//! Why: on a webhook chain of such nodes, the checks of the general path (`attempt`,
//! `call_node`, `finish_success`) cost more than the node's own work. Here each run is:
//! the typed form, the items-per-output limit, the record. Anything else — the typed form
//! declining a value, an error, an effect — goes to the general path, which then runs the
//! node from the start: the typed form has no side effects before it answers.

use linkflow_codec::plan::typed::ArchivedFastParams;
use linkflow_codec::plan::ArchivedOnError;

use super::{Execution, NodeRun, Services};
use crate::engine::fast_nodes::{self, ParamHost, TypedCtx};
use crate::engine::node::{NodeError, NodeOutcome, NodeResult};
use crate::engine::nodes::trigger;
use crate::engine::schedule::Entry;
use crate::engine::value::Value;
use linkflow_codec::plan::ArchivedPValue;

/// What became of a short-path run ([`Execution::run_typed`]). Small on purpose: it is
/// returned on every run.
pub(super) enum Typed<'a> {
    /// Recorded, its children scheduled (or none).
    Done,
    /// Recorded; its one child, not scheduled, for the caller to start next (see
    /// `record_handing_off`).
    Next(Entry<'a>),
    /// The typed form declined a value: the general path runs the node from the start.
    Decline,
    /// The typed form answered something other than output (an error, no data, an
    /// effect): the general path handles it as it handles a node call's result.
    Settle(NodeResult<'a>),
}

impl<'a, S: Services<'a>> Execution<'a, S> {
    /// Whether node `node` runs on the short path ([`Self::run_typed`]).
    #[inline]
    pub(super) fn runs_typed(&self, node: u32) -> bool {
        let node = &self.plan.nodes[node as usize];
        let settings = &node.settings;
        (!matches!(node.fast, ArchivedFastParams::None) || trigger::passes_input(&node.kind))
            && !node.disabled
            && !settings.retry_on_fail
            && matches!(settings.on_error, ArchivedOnError::StopWorkflow)
            && !settings.always_output_data
            && !settings.execute_once
            // Pinned data replaces a node's output in manual runs: the general path's job.
            && (!self.config.use_pin_data || self.plan.pin_data.is_empty())
    }

    /// Runs a node that [`Self::runs_typed`] accepted: what `attempt` → `call_node` →
    /// `finish_success` do for it, without the settings they check.
    pub(super) fn run_typed(&mut self, run: NodeRun<'a>) -> Typed<'a> {
        let inputs = run.entry.inputs;
        let result = if trigger::passes_input(&self.plan.nodes[run.entry.node as usize].kind) {
            // Triggers run without input data (their input is the trigger item).
            Some(Ok(trigger::pass_input(self.arena, inputs)))
        } else if !self.has_input(inputs) {
            // The node does not run and its branch ends (`finish_success` of no data,
            // without alwaysOutputData).
            return Typed::Done;
        } else {
            let node = &self.plan.nodes[run.entry.node as usize];
            let (arena, plan) = (self.arena, self.plan);
            let direct_exprs = self.services.direct_expressions();
            let mut host = RunHost {
                execution: self,
                run: &run,
            };
            let mut ctx = TypedCtx {
                arena,
                plan,
                node,
                inputs,
                direct_exprs,
                response: None,
                host: &mut host,
            };
            let result = fast_nodes::run(&mut ctx);
            // Checked before moved: most nodes set no response.
            if ctx.response.is_some() {
                let response = ctx.response;
                self.give_response(response);
            }
            result
        };
        let outputs = match result {
            Some(Ok(NodeOutcome::Output(outputs))) => outputs,
            // The typed form declined: the general path runs the node from the start.
            None => return Typed::Decline,
            // Whatever else the typed form answered, handled as `attempt` handles it.
            Some(result) => return Typed::Settle(result),
        };
        let limit = self.config.limits.items_per_output;
        if outputs.iter().flatten().any(|items| items.len() > limit) {
            // The general path reports the limit.
            self.finish_success(run, Some(outputs));
            return Typed::Done;
        }
        // Typed forms give every item its lineage, and a trigger's input items got theirs
        // when the run started: nothing for `assign_paired_items`.
        debug_assert!(outputs
            .iter()
            .flatten()
            .all(|items| items.iter().all(|item| !item.paired.is_empty())));
        self.last_node = Some(run.entry.node);
        match self.record_handing_off(run, outputs) {
            Some(child) => Typed::Next(child),
            None => Typed::Done,
        }
    }
}

/// The short path's expression host: builds the node's full context for the parameters
/// a typed form does not evaluate itself (most runs never ask).
struct RunHost<'e, 'a, S> {
    execution: &'e mut Execution<'a, S>,
    run: &'e NodeRun<'a>,
}

impl<'a, S: Services<'a>> ParamHost<'a> for RunHost<'_, 'a, S> {
    fn resolve(&mut self, raw: &'a ArchivedPValue, item: usize) -> Result<Value<'a>, NodeError> {
        let inputs = self.run.entry.inputs;
        self.execution
            .with_ctx(*self.run, inputs, inputs, None, |ctx| {
                ctx.resolve(raw, item)
            })
    }
}
