//! The effect side of an execution: what the engine asks the runtime to do, the node run
//! that waits for the answer, and how the answer is fed back.

use super::{Execution, NodeRun, Outcome, Services, Step};
use crate::engine::item::Item;
use crate::engine::node::{EffectRequest, EffectResult, HttpRequest, NodeResponse};

/// What the engine needs next.
#[derive(Debug, Clone)]
pub enum Effect<'a> {
    /// Send this response to the caller (first Respond to Webhook node); keep polling.
    Respond(NodeResponse),
    /// Perform an HTTP call, then [`Execution::complete`] with its result.
    HttpCall {
        /// The requesting node.
        node: u32,
        /// The request.
        request: HttpRequest<'a>,
    },
    /// Wake the execution at `at_ms`, then `complete(node, TimerFired)`.
    Timer {
        /// The waiting node.
        node: u32,
        /// When (Unix epoch milliseconds).
        at_ms: i64,
    },
    /// Run a sub-workflow, then `complete` with its result.
    SubWorkflow {
        /// The calling node.
        node: u32,
        /// Callee id.
        workflow_id: &'a str,
        /// Trigger items for the callee.
        items: &'a [Item<'a>],
        /// Whether the caller waits for the result.
        wait: bool,
    },
    /// The execution is over.
    Done(Outcome),
}

/// A node run waiting for an effect's answer.
pub(super) struct Pending<'a> {
    pub(super) run: NodeRun<'a>,
    pub(super) effect: Effect<'a>,
    pub(super) result: Option<EffectResult<'a>>,
    /// True when the timer is a retry wait, not the node's own effect.
    pub(super) retry_wait: bool,
}

impl<'a, S: Services<'a>> Execution<'a, S> {
    /// Feeds the runtime's answer to the effect `node` asked for.
    pub fn complete(&mut self, node: u32, result: EffectResult<'a>) {
        if let Some(pending) = &mut self.pending {
            if pending.run.entry.node == node {
                pending.result = Some(result);
            }
        }
    }

    /// Suspends `run` until the runtime answers the effect the node asked for.
    pub(super) fn suspend(&mut self, run: NodeRun<'a>, request: EffectRequest<'a>) -> Step<'a> {
        let effect = match request {
            EffectRequest::Http(request) => Effect::HttpCall {
                node: run.entry.node,
                request,
            },
            EffectRequest::Timer { at_ms } => Effect::Timer {
                node: run.entry.node,
                at_ms,
            },
            EffectRequest::SubWorkflow {
                workflow_id,
                items,
                wait,
            } => Effect::SubWorkflow {
                node: run.entry.node,
                workflow_id,
                items,
                wait,
            },
        };
        self.pending = Some(Pending {
            run,
            effect: effect.clone(),
            result: None,
            retry_wait: false,
        });
        Step::Effect(effect)
    }

    /// Suspends `run` on a timer before its next try (`retryOnFail` with a wait).
    pub(super) fn wait_before_retry(&mut self, run: NodeRun<'a>, wait_ms: u32) -> Step<'a> {
        let effect = Effect::Timer {
            node: run.entry.node,
            at_ms: self.now_ms + i64::from(wait_ms),
        };
        self.pending = Some(Pending {
            run,
            effect: effect.clone(),
            result: None,
            retry_wait: true,
        });
        Step::Effect(effect)
    }
}
