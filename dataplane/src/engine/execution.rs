//! The execution state machine: n8n's `WorkflowExecute.processRunExecutionData`, sans IO.
//!
//! ```text
//! let mut exec = Execution::new(&arena, plan, start, services, config)?;
//! loop {
//!     match exec.poll(now_ms) {
//!         Effect::Respond(r) => send(r),                      // keep polling afterwards
//!         Effect::HttpCall { node, request } => exec.complete(node, do_http(request)),
//!         Effect::Timer { node, at_ms } => { sleep_until(at_ms); exec.complete(node, EffectResult::TimerFired) }
//!         Effect::SubWorkflow { .. } => ...,
//!         Effect::Done(outcome) => break,
//!     }
//! }
//! ```
//!
//! Scheduling follows n8n 1.x exactly (see `schedule.rs` for the stack and the waiting
//! room of multi-input nodes); node settings (pinData, disabled, retryOnFail, onError,
//! alwaysOutputData, executeOnce) are applied here, around the node call.
//!
//! Layout: this file holds the loop (`poll`, one try of a node, the node call);
//! `record.rs` the finish path (lineage, output rules, run table, children);
//! `effects.rs` the effects and their answers; `trace.rs` reading the execution back.

use std::mem::ManuallyDrop;

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use linkflow_codec::plan::{ArchivedExecutionOrder, ArchivedNodeKind, ArchivedPlan};

use super::credentials::Credential;
use super::item::Item;
use super::limits::{self, Limits};
use super::node::{
    EffectResult, Host, JsMode, JsOutput, NodeCtx, NodeError, NodeOutcome, NodeResponse,
    NodeResult, NodeState,
};
use super::run_data::{ExecView, RunTable};
use super::schedule::{Entry, Scheduler};
use super::value::Value;

mod effects;
mod record;
mod trace;
mod typed;

pub use effects::Effect;
use effects::Pending;
use record::stamp_lineage;
use typed::Typed;

/// What the runtime provides to an execution: expression evaluation, JavaScript, the
/// credentials nodes name, and a clock for the wall-time limit. Tests pass a fake; the data
/// plane passes the real thing.
pub trait Services<'a> {
    /// The credential of type `kind` a node refers to by `id` / `name` (`None`: the
    /// runtime has none such; the default holds no credentials).
    fn credential(&mut self, kind: &str, id: &str, name: &str) -> Option<Credential> {
        let _ = (kind, id, name);
        None
    }
    /// Evaluates compiled expression `expr` for input item `item` of the running node.
    fn eval_expr(
        &mut self,
        view: &ExecView<'a, '_>,
        expr: u32,
        item: usize,
    ) -> Result<Value<'a>, NodeError>;
    /// Runs node JavaScript.
    fn run_js(
        &mut self,
        view: &ExecView<'a, '_>,
        code: &str,
        mode: JsMode,
        item: usize,
    ) -> Result<JsOutput<'a>, NodeError>;
    /// Current time, Unix epoch milliseconds (only the wall-time limit reads it).
    fn now_ms(&mut self) -> i64;
    /// True when [`Self::eval_expr`] answers every expression that has a direct form
    /// exactly as [`evaluate_direct`](super::expr::evaluate_direct) does: nodes may then
    /// evaluate those forms themselves. Services that evaluate otherwise (test fakes)
    /// keep the default.
    fn direct_expressions(&self) -> bool {
        false
    }
    /// Evaluates an expression `template` given as text (without the leading `=`) for
    /// input item `item`, in JavaScript, with n8n's additional `keys` (`$response`,
    /// `$pageCount` ...) on top of the item's context. Services without JavaScript
    /// cannot.
    fn eval_with_keys(
        &mut self,
        view: &ExecView<'a, '_>,
        template: &str,
        item: usize,
        keys: &[(&'static str, Value<'a>)],
    ) -> Result<Value<'a>, NodeError> {
        let _ = (view, item, keys);
        Err(NodeError::new(
            super::services::CODE_NO_JS,
            format!(
                "{}: expression needs JavaScript: {template}",
                super::services::CODE_NO_JS
            ),
        ))
    }
}

/// How an execution starts.
#[derive(Debug, Clone, Copy)]
pub struct Start<'a> {
    /// The trigger node.
    pub node: u32,
    /// Its input items (the trigger item(s)).
    pub items: &'a [Item<'a>],
}

/// Per-execution configuration.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    /// Limits.
    pub limits: Limits,
    /// Execution id (`$execution.id`).
    pub execution_id: &'a str,
    /// n8n execution mode (`webhook`, `manual`, `trigger`, `integrated`).
    pub mode: &'a str,
    /// Start time, Unix epoch milliseconds.
    pub started_ms: i64,
    /// Apply the plan's pinData. n8n uses pinned data in manual (editor) runs only;
    /// production webhook and trigger executions ignore it.
    pub use_pin_data: bool,
}

impl<'a> Config<'a> {
    /// A configuration with default limits for `mode`, started at `started_ms`; pinData
    /// applies in `manual` mode only.
    pub fn new(mode: &'a str, execution_id: &'a str, started_ms: i64) -> Self {
        Config {
            limits: Limits::default(),
            execution_id,
            mode,
            started_ms,
            use_pin_data: mode == "manual",
        }
    }
}

/// An execution-level error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    /// Stable code (`LF-ENGINE-...` or the node error's code).
    pub code: &'static str,
    /// Message (n8n's, for node errors).
    pub message: String,
    /// The failing node's name, when a node failed.
    pub node: Option<String>,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// n8n status `success`.
    Success,
    /// n8n status `error`: an execution error, or an error on the last node's run.
    Failed(ExecError),
}

/// One node run in progress.
#[derive(Clone, Copy)]
struct NodeRun<'a> {
    entry: Entry<'a>,
    run_index: u32,
    try_index: u32,
}

/// What one step of the loop produced.
enum Step<'a> {
    Continue,
    Effect(Effect<'a>),
}

/// One execution of a plan.
pub struct Execution<'a, S> {
    arena: &'a Bump,
    plan: &'a ArchivedPlan,
    services: S,
    config: Config<'a>,
    now_ms: i64,
    scheduler: Scheduler<'a>,
    // Arena-backed: no heap allocation per node run. Never dropped: the arena is reset as
    // a whole, and dropping an arena vector only rewinds the bump pointer when it was the
    // last allocation — one check per vector (per node, for the run table) on every
    // execution, freeing nothing the reset would not.
    runs: ManuallyDrop<RunTable<'a>>,
    /// Runs recorded so far: the next run's [`TaskRun::seq`](super::run_data::TaskRun::seq).
    runs_recorded: u32,
    /// Per-node state across runs, allocated when the first node run needs a full
    /// context (typed forms keep no state: a chain of them never allocates it).
    states: Option<&'a mut [NodeState<'a>]>,
    last_node: Option<u32>,
    error: Option<ExecError>,
    node_runs: u32,
    pending: Option<Pending<'a>>,
    response: Option<NodeResponse>,
    responded: bool,
    finished: bool,
}

impl<'a, S: Services<'a>> Execution<'a, S> {
    /// Prepares an execution of `plan` from `start`.
    pub fn new(
        arena: &'a Bump,
        plan: &'a ArchivedPlan,
        start: Start<'a>,
        services: S,
        config: Config<'a>,
    ) -> Self {
        let node_count = plan.nodes.len();
        let v1 = matches!(plan.settings.execution_order, ArchivedExecutionOrder::V1);
        let mut scheduler = Scheduler::new(arena, plan, v1);
        scheduler.push_start(Entry::single(arena, start.node, start.items, None));
        let mut limits = config.limits;
        let timeout_ms = plan.settings.timeout_ms.to_native();
        if timeout_ms > 0 {
            limits.execution_time_ms = limits.execution_time_ms.min(timeout_ms);
        }
        // Room for one run per node up front: most nodes run once, and growing an empty
        // arena vector on the first push costs more than sizing it here. A plain loop:
        // `from_iter_in` grows the outer vector through `extend`.
        let mut runs = BumpVec::with_capacity_in(node_count, arena);
        for _ in 0..node_count {
            runs.push(BumpVec::with_capacity_in(1, arena));
        }
        Execution {
            arena,
            plan,
            services,
            config: Config { limits, ..config },
            now_ms: config.started_ms,
            scheduler,
            runs: ManuallyDrop::new(runs),
            runs_recorded: 0,
            states: None,
            last_node: None,
            error: None,
            node_runs: 0,
            pending: None,
            response: None,
            responded: false,
            finished: false,
        }
    }

    /// Advances the execution until it needs something from the runtime.
    pub fn poll(&mut self, now_ms: i64) -> Effect<'a> {
        self.now_ms = now_ms;
        loop {
            // Checked before taken: `take` moves the whole (mostly absent) response.
            if self.response.is_some() {
                if let Some(response) = self.response.take() {
                    return Effect::Respond(response);
                }
            }
            if self.finished {
                return Effect::Done(self.outcome());
            }
            if let Some(pending) = &self.pending {
                if pending.result.is_none() {
                    return pending.effect.clone();
                }
                let pending = self.pending.take().expect("checked above");
                let step = if pending.retry_wait {
                    self.attempt(pending.run, None)
                } else {
                    self.attempt(pending.run, pending.result)
                };
                if let Step::Effect(effect) = step {
                    return effect;
                }
                continue;
            }
            if self.out_of_time() {
                continue;
            }
            let Some(entry) = self.scheduler.pop() else {
                self.finished = true;
                continue;
            };
            if let Step::Effect(effect) = self.start_run(entry) {
                return effect;
            }
        }
    }

    /// The wall-time limit, checked before every node run: fails the execution and
    /// returns true once it is exceeded.
    #[inline]
    fn out_of_time(&mut self) -> bool {
        let elapsed_ms = self
            .services
            .now_ms()
            .saturating_sub(self.config.started_ms);
        if elapsed_ms > 0 && elapsed_ms as u64 > self.config.limits.execution_time_ms {
            self.fail(
                limits::CODE_TIME,
                format!(
                    "execution exceeded its time limit of {} ms",
                    self.config.limits.execution_time_ms
                ),
            );
            return true;
        }
        false
    }

    fn fail(&mut self, code: &'static str, message: String) {
        self.error = Some(ExecError {
            code,
            message,
            node: None,
        });
        self.finished = true;
    }

    /// Starts a node run popped from the stack. A short-path run whose one child needs
    /// nothing but a stack entry hands that child over (`record_handing_off`), and it
    /// starts here at once when the loop in [`Self::poll`] would do nothing but pop it:
    /// no response to give out first, time left.
    fn start_run(&mut self, mut entry: Entry<'a>) -> Step<'a> {
        loop {
            self.node_runs += 1;
            if self.node_runs > self.config.limits.node_runs {
                self.fail(
                    limits::CODE_NODE_RUNS,
                    format!(
                        "execution exceeded {} node runs (endless loop?)",
                        self.config.limits.node_runs
                    ),
                );
                return Step::Continue;
            }
            let run_index = self.runs[entry.node as usize].len() as u32;
            // v1 has no such check: decided here, without the call and its result.
            if !self.scheduler.is_v1() {
                match self.scheduler.check_legacy_inputs(&entry, run_index) {
                    Ok(true) => {}
                    Ok(false) => {
                        self.node_runs -= 1;
                        return Step::Continue;
                    }
                    Err(message) => {
                        self.fail("LF-ENGINE-105", message);
                        return Step::Continue;
                    }
                }
            }
            let run = NodeRun {
                entry: Entry {
                    inputs: stamp_lineage(self.arena, entry.inputs),
                    ..entry
                },
                run_index,
                try_index: 0,
            };
            if !self.runs_typed(run.entry.node) {
                return self.attempt(run, None);
            }
            let child = match self.run_typed(run) {
                Typed::Next(child) => child,
                Typed::Done => return Step::Continue,
                Typed::Decline => return self.attempt(run, None),
                Typed::Settle(result) => return self.settle(run, result),
            };
            // What `poll` checks before its next pop.
            if self.response.is_some() || self.out_of_time() {
                self.scheduler.push_next(child);
                return Step::Continue;
            }
            entry = child;
        }
    }

    /// Runs the node once (one try), handling retries and effects.
    fn attempt(&mut self, mut run: NodeRun<'a>, resume: Option<EffectResult<'a>>) -> Step<'a> {
        let node = &self.plan.nodes[run.entry.node as usize];
        let settings = &node.settings;
        let tries_max = if settings.retry_on_fail {
            settings.max_tries.to_native().clamp(2, 5)
        } else {
            1
        };
        let result = self.call_node(run, resume);
        // Only a node with tries left looks for a failure (reading `json.error` of the
        // first item costs a member search per node run otherwise).
        let retry_possible = run.try_index + 1 < tries_max;
        let failed = retry_possible
            && match &result {
                Err(_) => true,
                // n8n also retries when the first item carries a truthy `json.error`.
                Ok(NodeOutcome::Output(outputs)) => outputs
                    .first()
                    .copied()
                    .flatten()
                    .and_then(|items| items.first())
                    .is_some_and(|item| is_truthy(item.json.get("error"))),
                _ => false,
            };
        if failed {
            run.try_index += 1;
            let wait_ms = settings.wait_between_tries_ms.to_native().min(5000);
            if wait_ms == 0 {
                return self.attempt(run, None);
            }
            return self.wait_before_retry(run, wait_ms);
        }
        self.settle(run, result)
    }

    /// What a node call's final result (no retry left) does to the execution.
    fn settle(&mut self, run: NodeRun<'a>, result: NodeResult<'a>) -> Step<'a> {
        match result {
            Ok(NodeOutcome::Effect(request)) => self.suspend(run, *request),
            Ok(NodeOutcome::Output(outputs)) => {
                self.finish_success(run, Some(outputs));
                Step::Continue
            }
            Ok(NodeOutcome::NoData) => {
                self.finish_success(run, None);
                Step::Continue
            }
            Err(error) => {
                self.finish_error(run, error);
                Step::Continue
            }
        }
    }

    /// Calls the node implementation (or applies pinData / disabled pass-through).
    fn call_node(
        &mut self,
        run: NodeRun<'a>,
        resume: Option<EffectResult<'a>>,
    ) -> Result<NodeOutcome<'a>, NodeError> {
        let index = run.entry.node as usize;
        let node = &self.plan.nodes[index];
        if !node.disabled && self.config.use_pin_data {
            if let Some(pinned) = self
                .plan
                .pin_data
                .iter()
                .find(|p| p.node.to_native() as usize == index)
            {
                let items = self.arena.alloc_slice_fill_iter(
                    pinned
                        .items
                        .iter()
                        .map(|json| Item::new(pvalue_to_value(self.arena, json))),
                );
                return Ok(NodeOutcome::Output(
                    self.arena.alloc_slice_copy(&[Some(&*items)]),
                ));
            }
        }
        let inputs = run.entry.inputs;
        if node.disabled {
            return Ok(match inputs.first().copied().flatten() {
                Some(items) => NodeOutcome::Output(self.arena.alloc_slice_copy(&[Some(items)])),
                None => NodeOutcome::NoData,
            });
        }
        if !is_trigger(&node.kind) && !self.has_input(inputs) {
            return Ok(NodeOutcome::NoData);
        }
        // n8n slices the node's input for executeOnce *after* it computed the data that
        // expressions see: `$input.all()` still lists every item (pinned by a golden case).
        let expression_inputs = inputs;
        let inputs = if node.settings.execute_once {
            &*self.arena.alloc_slice_fill_iter(
                inputs
                    .iter()
                    .map(|i| i.map(|items| &items[..items.len().min(1)])),
            )
        } else {
            inputs
        };
        self.with_ctx(run, inputs, expression_inputs, resume, |ctx| {
            // The typed form of Set/If/Filter/Respond when the plan has one (`None`: generic).
            match super::fast_nodes::run_in(ctx) {
                Some(result) => result,
                None => super::nodes::run(ctx),
            }
        })
    }

    /// n8n: no input data -> the node does not run (`data: undefined` -> null). v1 looks
    /// for any input with items; legacy v0 only at the first input (a Merge whose first
    /// input got nothing does not run there).
    fn has_input(&self, inputs: &[Option<&[Item<'a>]>]) -> bool {
        if self.scheduler.is_v1() {
            inputs.iter().flatten().any(|items| !items.is_empty())
        } else {
            inputs
                .first()
                .copied()
                .flatten()
                .is_some_and(|items| !items.is_empty())
        }
    }

    /// Calls `body` with the node's context (`inputs` for the node, `expression_inputs`
    /// for what its expressions see) and takes the response it set, if any.
    fn with_ctx<R>(
        &mut self,
        run: NodeRun<'a>,
        inputs: &'a [Option<&'a [Item<'a>]>],
        expression_inputs: &'a [Option<&'a [Item<'a>]>],
        resume: Option<EffectResult<'a>>,
        body: impl FnOnce(&mut NodeCtx<'a, '_>) -> R,
    ) -> R {
        let index = run.entry.node as usize;
        let view = ExecView {
            arena: self.arena,
            plan: self.plan,
            runs: &self.runs,
            node: run.entry.node,
            inputs: expression_inputs,
            sources: run.entry.sources,
            run_index: run.run_index,
            now_ms: self.now_ms,
            execution_id: self.config.execution_id,
            mode: self.config.mode,
        };
        let direct_exprs = self.services.direct_expressions();
        let mut host = HostAdapter {
            view: &view,
            services: &mut self.services,
        };
        let mut response = None;
        let mut ctx = NodeCtx {
            arena: self.arena,
            plan: self.plan,
            node_index: run.entry.node,
            node: &self.plan.nodes[index],
            inputs,
            run_index: run.run_index,
            now_ms: self.now_ms,
            state: &mut self.states.get_or_insert_with(|| {
                self.arena
                    .alloc_slice_fill_copy(self.plan.nodes.len(), NodeState::default())
            })[index],
            resume,
            response: &mut response,
            host: &mut host,
            direct_exprs,
        };
        let result = body(&mut ctx);
        self.give_response(response);
        result
    }

    /// Keeps the response a node run set, unless one was handed out already (the first
    /// Respond to Webhook answers the request).
    #[inline]
    fn give_response(&mut self, response: Option<NodeResponse>) {
        if let Some(response) = response {
            if !self.responded {
                self.responded = true;
                self.response = Some(response);
            }
        }
    }
}

/// Bridges the node API's [`Host`] to the execution's [`Services`].
struct HostAdapter<'v, 'a, 'x, S> {
    view: &'v ExecView<'a, 'x>,
    services: &'v mut S,
}

impl<'a, S: Services<'a>> Host<'a> for HostAdapter<'_, 'a, '_, S> {
    fn eval_expr(&mut self, expr: u32, item: usize) -> Result<Value<'a>, NodeError> {
        self.services.eval_expr(self.view, expr, item)
    }

    fn run_js(&mut self, code: &str, mode: JsMode, item: usize) -> Result<JsOutput<'a>, NodeError> {
        self.services.run_js(self.view, code, mode, item)
    }

    fn execution_id(&self) -> &str {
        self.view.execution_id
    }

    fn credential(&mut self, kind: &str, id: &str, name: &str) -> Option<Credential> {
        self.services.credential(kind, id, name)
    }

    fn eval_with_keys(
        &mut self,
        template: &str,
        item: usize,
        keys: &[(&'static str, Value<'a>)],
    ) -> Result<Value<'a>, NodeError> {
        self.services
            .eval_with_keys(self.view, template, item, keys)
    }
}

/// Trigger kinds run without input data (their input is the trigger item): those that
/// pass it through, and the legacy Interval, which emits `{}` instead.
fn is_trigger(kind: &ArchivedNodeKind) -> bool {
    super::nodes::trigger::passes_input(kind) || matches!(kind, ArchivedNodeKind::Interval)
}

/// JavaScript truthiness.
pub fn is_truthy(value: Value<'_>) -> bool {
    match value {
        Value::Undefined | Value::Null => false,
        Value::Bool(b) => b,
        Value::Number(n) => n != 0.0 && !n.is_nan(),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Copies a constant parameter tree (pinData) into a value. Strings borrow the plan.
pub fn pvalue_to_value<'a>(
    arena: &'a Bump,
    raw: &'a linkflow_codec::plan::ArchivedPValue,
) -> Value<'a> {
    use linkflow_codec::plan::ArchivedPValue as P;
    match raw {
        P::Null | P::Expr(_) => Value::Null,
        P::Bool(b) => Value::Bool(*b),
        P::Number(n) => Value::Number(n.to_native()),
        P::String(s) => Value::String(s.as_str()),
        P::Array(elements) => Value::Array(
            arena.alloc_slice_fill_iter(elements.iter().map(|e| pvalue_to_value(arena, e))),
        ),
        P::Object { keys, values } => Value::Object(
            arena.alloc_slice_fill_iter(
                keys.iter()
                    .zip(values.iter())
                    .map(|(k, v)| (k.as_str(), pvalue_to_value(arena, v))),
            ),
        ),
    }
}
