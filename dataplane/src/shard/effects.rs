//! Performing an execution's effects on the shard: the runtime half of the sans-IO engine.
//!
//! The engine hands out [`Effect`]s; this module performs them without blocking the shard:
//! outbound HTTP through the shard's [`crate::outbound::Client`], timers on glommio's
//! timer (or at once, on the virtual clock of `linkflow run`: see `clock`), sub-workflows
//! by running the called plan on the same shard, in the caller's arena (its output items
//! then need no copy). `linkflow run` uses this same code on a shard of its own (`local`).
//! Every wait is bounded: a timer longer than
//! [`TIMER_WAIT_MS_MAX`] ends the execution with [`CODE_WAIT_TOO_LONG`] (an execution
//! holds its connection and arena while it waits; durable waits are not built), sub-
//! workflows nest at most [`SUBWORKFLOW_DEPTH_MAX`] deep, and one execution performs at
//! most [`EFFECTS_PER_EXECUTION_MAX`] effects.

use std::cell::RefCell;
use std::time::Duration;

use bumpalo::Bump;
use linkflow_codec::plan::{ArchivedNodeKind, ArchivedTrigger};

use super::clock::{Clock, Timers};
use super::journaling::{self, Started};
use super::{PlanBytes, PlanTable, ShardState};
use crate::engine::credentials::{CredentialMap, CredentialSource};
use crate::engine::execution::{Config, Effect, ExecError, Execution, Outcome, Services, Start};
use crate::engine::item::Item;
use crate::engine::node::{EffectResult, JsMode, JsOutput, NodeError, NodeResponse};
use crate::engine::run_data::ExecView;
use crate::engine::runner::{CODE_NO_OUTBOUND, CODE_SUBWORKFLOW_NOT_GIVEN};
use crate::engine::services::EngineServices;
use crate::engine::value::Value;
use crate::journal::record::TriggerKind;

/// Longest a Wait node (or a retry pause) may suspend an execution, milliseconds.
pub const TIMER_WAIT_MS_MAX: i64 = 5 * 60 * 1000;
/// Deepest chain of sub-workflow calls (A calls B calls C ...).
pub const SUBWORKFLOW_DEPTH_MAX: u32 = 8;
/// Most effects one execution may perform (a loop of HTTP calls ends here).
pub const EFFECTS_PER_EXECUTION_MAX: u32 = 10_000;

/// Error code: a timer would suspend the execution longer than [`TIMER_WAIT_MS_MAX`].
pub const CODE_WAIT_TOO_LONG: &str = "LF-DATAPLANE-030";
/// Error code: the called workflow is not installed on this data plane.
pub const CODE_SUBWORKFLOW_MISSING: &str = "LF-DATAPLANE-031";
/// Error code: the called workflow has no Execute Workflow Trigger.
pub const CODE_SUBWORKFLOW_NO_TRIGGER: &str = "LF-DATAPLANE-032";
/// Error code: sub-workflow calls nest deeper than [`SUBWORKFLOW_DEPTH_MAX`].
pub const CODE_SUBWORKFLOW_DEPTH: &str = "LF-DATAPLANE-033";
/// Error code: the execution performed more than [`EFFECTS_PER_EXECUTION_MAX`] effects.
pub const CODE_EFFECTS_MAX: &str = "LF-DATAPLANE-034";

/// The shard's expression and JavaScript services, borrowed per call: executions suspended
/// on effects interleave, so none may hold the services across an await. Credentials come
/// from the plan the execution runs (installed with it, read-only: no lock, no copy until
/// a node asks for one).
pub(crate) struct Shared<'s> {
    pub(crate) services: &'s RefCell<EngineServices<'static>>,
    pub(crate) credentials: &'s CredentialMap,
    pub(crate) clock: &'s Clock,
}

impl<'s> Shared<'s> {
    /// The services of `state` with the credentials of `plan`.
    pub(crate) fn new(state: &'s ShardState, plan: &'s PlanBytes) -> Self {
        Shared {
            services: &state.services,
            credentials: plan.credentials(),
            clock: &state.clock,
        }
    }
}

impl<'a> Services<'a> for Shared<'_> {
    fn eval_expr(
        &mut self,
        view: &ExecView<'a, '_>,
        expr: u32,
        item: usize,
    ) -> Result<Value<'a>, NodeError> {
        self.services.borrow_mut().eval_expr(view, expr, item)
    }

    fn run_js(
        &mut self,
        view: &ExecView<'a, '_>,
        code: &str,
        mode: JsMode,
        item: usize,
    ) -> Result<JsOutput<'a>, NodeError> {
        self.services.borrow_mut().run_js(view, code, mode, item)
    }

    fn now_ms(&mut self) -> i64 {
        // The wall-time limit: waits a virtual clock skipped do not count.
        self.clock.base_ms()
    }

    fn direct_expressions(&self) -> bool {
        // Expressions go to `EngineServices::eval_expr`.
        true
    }

    fn credential(
        &mut self,
        kind: &str,
        id: &str,
        name: &str,
    ) -> Option<crate::engine::credentials::Credential> {
        self.credentials.find(kind, id, name).cloned()
    }

    fn eval_with_keys(
        &mut self,
        view: &ExecView<'a, '_>,
        template: &str,
        item: usize,
        keys: &[(&'static str, Value<'a>)],
    ) -> Result<Value<'a>, NodeError> {
        self.services
            .borrow_mut()
            .eval_with_keys(view, template, item, keys)
    }
}

/// What an execution's effects may use: the shard, the plan table it was admitted on
/// (sub-workflows resolve against it), its arena, how deep it is nested, and its id (the
/// parent a sub-workflow's record names).
#[derive(Clone, Copy)]
pub(crate) struct EffectEnv<'a> {
    pub(crate) state: &'a ShardState,
    pub(crate) table: &'a PlanTable,
    pub(crate) arena: &'a Bump,
    pub(crate) depth: u32,
    pub(crate) execution_id: &'a str,
}

/// The answer to one effect.
pub(crate) enum Performed<'a> {
    /// Feed this to `Execution::complete`.
    Done(EffectResult<'a>),
    /// End the execution with this error (a bound was hit).
    Abort(ExecError),
}

/// Performs one effect (not `Respond`/`Done`, which the caller handles). `count` is the
/// number of effects this execution performed so far, including this one.
pub(crate) async fn perform<'a>(
    env: EffectEnv<'a>,
    effect: &Effect<'a>,
    count: u32,
) -> Performed<'a> {
    if count > EFFECTS_PER_EXECUTION_MAX {
        return Performed::Abort(ExecError {
            code: CODE_EFFECTS_MAX,
            message: format!(
                "the execution performed more than {EFFECTS_PER_EXECUTION_MAX} effects"
            ),
            node: None,
        });
    }
    match *effect {
        Effect::HttpCall { request, .. } => Performed::Done(match &env.state.outbound {
            Some(outbound) => outbound.call(env.arena, &request).await,
            // Only `linkflow run --offline` (and the golden tests) run without it.
            None => EffectResult::HttpFailed(env.arena.alloc_str(&format!(
                "{CODE_NO_OUTBOUND}: outbound HTTP is off in this run (--offline)"
            ))),
        }),
        Effect::Timer { at_ms, .. } => {
            if env.state.clock.timers() == Timers::Skip {
                env.state.clock.skip_to(at_ms);
                return Performed::Done(EffectResult::TimerFired);
            }
            let wait_ms = at_ms.saturating_sub(env.state.clock.now_ms());
            if wait_ms > TIMER_WAIT_MS_MAX {
                return Performed::Abort(ExecError {
                    code: CODE_WAIT_TOO_LONG,
                    message: format!(
                        "{CODE_WAIT_TOO_LONG}: a wait of {wait_ms} ms is longer than the \
                         {TIMER_WAIT_MS_MAX} ms an execution may be suspended"
                    ),
                    node: None,
                });
            }
            if wait_ms > 0 {
                glommio::timer::sleep(Duration::from_millis(wait_ms as u64)).await;
            }
            Performed::Done(EffectResult::TimerFired)
        }
        Effect::SubWorkflow {
            workflow_id,
            items,
            wait,
            ..
        } => {
            // Boxed: the callee's effects recurse into `perform`.
            let result = Box::pin(run_subworkflow(env, workflow_id, items)).await;
            Performed::Done(match result {
                // n8n answers "started" without waiting; the callee ran to its end here
                // (it shares the caller's arena, which must outlive it).
                EffectResult::SubWorkflowDone(_) if !wait => EffectResult::SubWorkflowStarted,
                other => other,
            })
        }
        Effect::Respond(_) | Effect::Done(_) => {
            unreachable!("the caller handles Respond and Done")
        }
    }
}

/// Polls `execution` to its end, performing its effects; `Respond` effects are ignored
/// (schedules and sub-workflows have no caller waiting for an HTTP answer).
pub(crate) async fn drive<'a, S: Services<'a>>(
    env: EffectEnv<'a>,
    execution: &mut Execution<'a, S>,
) -> Outcome {
    drive_responding(env, execution, &mut |_| {}).await
}

/// [`drive`] handing every `Respond` effect to `on_respond` (`linkflow run`'s webhook
/// executions; the webhook handler keeps its own loop, which writes answers as they come).
pub(crate) async fn drive_responding<'a, S: Services<'a>>(
    env: EffectEnv<'a>,
    execution: &mut Execution<'a, S>,
    on_respond: &mut dyn FnMut(NodeResponse),
) -> Outcome {
    let mut effects = 0u32;
    loop {
        match execution.poll(env.state.clock.now_ms()) {
            Effect::Done(outcome) => return outcome,
            Effect::Respond(response) => on_respond(response),
            effect => {
                effects += 1;
                let node = effect_node(&effect);
                // Boxed: the callee's effects recurse back into `perform`.
                match Box::pin(perform(env, &effect, effects)).await {
                    Performed::Done(result) => execution.complete(node, result),
                    Performed::Abort(error) => return Outcome::Failed(error),
                }
            }
        }
    }
}

/// The node an effect belongs to.
pub(crate) fn effect_node(effect: &Effect<'_>) -> u32 {
    match *effect {
        Effect::HttpCall { node, .. }
        | Effect::Timer { node, .. }
        | Effect::SubWorkflow { node, .. } => node,
        Effect::Respond(_) | Effect::Done(_) => u32::MAX,
    }
}

/// Runs installed workflow `workflow_id` from its Execute Workflow Trigger with `items`.
/// It is an execution of its own (n8n mode `integrated`): it gets its own id and its own
/// journal record, at the called workflow's level, naming the caller's execution id.
async fn run_subworkflow<'a>(
    env: EffectEnv<'a>,
    workflow_id: &str,
    items: &'a [Item<'a>],
) -> EffectResult<'a> {
    let fail = |message: String| EffectResult::SubWorkflowFailed(env.arena.alloc_str(&message));
    if env.depth >= SUBWORKFLOW_DEPTH_MAX {
        return fail(format!(
            "{CODE_SUBWORKFLOW_DEPTH}: sub-workflow calls nest deeper than {SUBWORKFLOW_DEPTH_MAX}"
        ));
    }
    let Some(installed) = env
        .table
        .plans
        .iter()
        .find(|p| p.bytes.workflow_id() == workflow_id)
    else {
        return fail(if env.state.local_run {
            format!(
                "{CODE_SUBWORKFLOW_NOT_GIVEN}: workflow '{workflow_id}' was not given to \
                 `linkflow run`: pass its export with --workflows DIR or --workflow-file FILE"
            )
        } else {
            format!(
                "{CODE_SUBWORKFLOW_MISSING}: workflow '{workflow_id}' is not installed on this data plane"
            )
        });
    };
    let plan = installed.bytes.plan();
    // The trigger table names it; plans translated without one are searched by node kind.
    let trigger = plan.triggers.iter().find_map(|t| match t {
        ArchivedTrigger::SubWorkflow { node } => Some(node.to_native()),
        _ => None,
    });
    let by_kind = || {
        plan.nodes
            .iter()
            .position(|n| matches!(n.kind, ArchivedNodeKind::ExecuteWorkflowTrigger))
            .map(|i| i as u32)
    };
    let Some(node) = trigger.or_else(by_kind) else {
        return fail(format!(
            "{CODE_SUBWORKFLOW_NO_TRIGGER}: workflow '{workflow_id}' has no Execute Workflow Trigger node"
        ));
    };
    let execution_id = env.state.next_execution_id_in(env.arena);
    let config = Config::new("integrated", execution_id, env.state.clock.now_ms());
    let start = Start { node, items };
    let mut execution = Execution::new(
        env.arena,
        plan,
        start,
        Shared::new(env.state, &installed.bytes),
        config,
    );
    let inner = EffectEnv {
        depth: env.depth + 1,
        execution_id,
        ..env
    };
    let outcome = drive(inner, &mut execution).await;
    let started = Started {
        trigger: TriggerKind::SubWorkflow,
        method: "",
        detail: env.execution_id,
        execution_id,
        started_ms: config.started_ms,
    };
    journaling::record(env.state, &installed.bytes, &execution, &started, &outcome);
    {
        let mut metrics = env.state.metrics.borrow_mut();
        let stats = &mut metrics.workflows[installed.stats];
        match outcome {
            Outcome::Success => stats.success += 1,
            Outcome::Failed(_) => stats.error += 1,
        }
    }
    match outcome {
        Outcome::Success => EffectResult::SubWorkflowDone(execution.last_node_items()),
        Outcome::Failed(error) => fail(error.message),
    }
}
