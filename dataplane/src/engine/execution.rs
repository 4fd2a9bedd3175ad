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

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use linkflow_codec::plan::{
    ArchivedExecutionOrder, ArchivedNodeKind, ArchivedOnError, ArchivedPlan,
};

use super::item::{Item, PairedItem};
use super::limits::{self, Limits};
use super::node::{
    EffectRequest, EffectResult, Host, HttpRequest, JsMode, JsOutput, NodeCtx, NodeError,
    NodeOutcome, NodeResponse, NodeState, Outputs,
};
use super::run_data::{ExecView, RunError, RunTable, TaskRun, TraceEntry};
use super::schedule::{Entry, Scheduler};
use super::value::Value;

/// What the runtime provides to an execution: expression evaluation, JavaScript and a
/// clock for the wall-time limit. Tests pass a fake; the data plane passes the real thing.
pub trait Services<'a> {
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
struct Pending<'a> {
    run: NodeRun<'a>,
    effect: Effect<'a>,
    result: Option<EffectResult<'a>>,
    /// True when the timer is a retry wait, not the node's own effect.
    retry_wait: bool,
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
    // Arena-backed: no heap allocation per node run.
    runs: RunTable<'a>,
    order: BumpVec<'a, (u32, u32)>,
    states: &'a mut [NodeState<'a>],
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
        scheduler.push_start(Entry {
            node: start.node,
            inputs: arena.alloc_slice_copy(&[Some(start.items)]),
            sources: arena.alloc_slice_copy(&[None]),
        });
        let mut limits = config.limits;
        let timeout_ms = plan.settings.timeout_ms.to_native();
        if timeout_ms > 0 {
            limits.execution_time_ms = limits.execution_time_ms.min(timeout_ms);
        }
        Execution {
            arena,
            plan,
            services,
            config: Config { limits, ..config },
            now_ms: config.started_ms,
            scheduler,
            runs: BumpVec::from_iter_in((0..node_count).map(|_| BumpVec::new_in(arena)), arena),
            order: BumpVec::with_capacity_in(node_count, arena),
            states: arena.alloc_slice_fill_copy(node_count, NodeState::default()),
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
            if let Some(response) = self.response.take() {
                return Effect::Respond(response);
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

    /// Feeds the runtime's answer to the effect `node` asked for.
    pub fn complete(&mut self, node: u32, result: EffectResult<'a>) {
        if let Some(pending) = &mut self.pending {
            if pending.run.entry.node == node {
                pending.result = Some(result);
            }
        }
    }

    /// The node `resultData.lastNodeExecuted` names.
    pub fn last_node(&self) -> Option<u32> {
        self.last_node
    }

    /// All recorded runs of node `index`.
    pub fn runs(&self, index: u32) -> &[TaskRun<'a>] {
        &self.runs[index as usize]
    }

    /// Output 0 of the last run of the last executed node (what `lastNode` webhooks send).
    pub fn last_node_items(&self) -> &'a [Item<'a>] {
        self.last_node
            .and_then(|n| self.runs[n as usize].last())
            .and_then(|run| run.outputs.first().copied().flatten())
            .unwrap_or(&[])
    }

    /// Whether a response was already handed out.
    pub fn responded(&self) -> bool {
        self.responded
    }

    /// Every node run in execution order.
    pub fn trace(&self) -> Vec<TraceEntry> {
        self.order
            .iter()
            .map(|&(node, run)| {
                let task = &self.runs[node as usize][run as usize];
                TraceEntry {
                    node: self.plan.nodes[node as usize].name.as_str().to_owned(),
                    run,
                    outputs: task.outputs.iter().map(|o| o.map(<[Item]>::len)).collect(),
                    error: task.error.map(|e| e.message.to_owned()),
                }
            })
            .collect()
    }

    /// The execution's outcome so far.
    pub fn outcome(&self) -> Outcome {
        if let Some(error) = &self.error {
            return Outcome::Failed(error.clone());
        }
        if let Some(node) = self.last_node {
            if let Some(error) = self.runs[node as usize].last().and_then(|r| r.error) {
                return Outcome::Failed(ExecError {
                    code: error.code,
                    message: error.message.to_owned(),
                    node: Some(self.plan.nodes[node as usize].name.as_str().to_owned()),
                });
            }
        }
        Outcome::Success
    }

    fn fail(&mut self, code: &'static str, message: String) {
        self.error = Some(ExecError {
            code,
            message,
            node: None,
        });
        self.finished = true;
    }

    /// Starts a node run popped from the stack.
    fn start_run(&mut self, entry: Entry<'a>) -> Step<'a> {
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
        let entry = Entry {
            inputs: stamp_lineage(self.arena, entry.inputs),
            ..entry
        };
        self.attempt(
            NodeRun {
                entry,
                run_index,
                try_index: 0,
            },
            None,
        )
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
        let failed = match &result {
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
        if failed && run.try_index + 1 < tries_max {
            run.try_index += 1;
            let wait_ms = settings.wait_between_tries_ms.to_native().min(5000);
            if wait_ms == 0 {
                return self.attempt(run, None);
            }
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
            return Step::Effect(effect);
        }
        match result {
            Ok(NodeOutcome::Effect(request)) => {
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
        if !is_trigger(&node.kind) && !inputs.iter().flatten().any(|items| !items.is_empty()) {
            // n8n: no input data -> the node does not run (`data: undefined` -> null).
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
        let mut host = HostAdapter {
            view: &view,
            services: &mut self.services,
        };
        let mut response = None;
        let mut ctx = NodeCtx {
            arena: self.arena,
            plan: self.plan,
            node_index: run.entry.node,
            node,
            inputs,
            run_index: run.run_index,
            now_ms: self.now_ms,
            state: &mut self.states[index],
            resume,
            response: &mut response,
            host: &mut host,
        };
        // The typed form of Set/If/Filter/Respond when the plan has one (`None`: generic).
        let result = match super::fast_nodes::run(&mut ctx) {
            Some(result) => result,
            None => super::nodes::run(&mut ctx),
        };
        if let Some(response) = response {
            if !self.responded {
                self.responded = true;
                self.response = Some(response);
            }
        }
        result
    }

    fn finish_success(&mut self, run: NodeRun<'a>, outputs: Option<Outputs<'a>>) {
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

    fn finish_error(&mut self, run: NodeRun<'a>, error: NodeError) {
        let index = run.entry.node as usize;
        let node = &self.plan.nodes[index];
        self.last_node = Some(run.entry.node);
        if matches!(node.settings.on_error, ArchivedOnError::StopWorkflow) {
            self.runs[index].push(TaskRun {
                outputs: &[],
                inputs: run.entry.inputs,
                sources: run.entry.sources,
                error: Some(RunError {
                    code: error.code,
                    message: self.arena.alloc_str(&error.message),
                }),
            });
            self.order.push((run.entry.node, run.run_index));
            self.error = Some(ExecError {
                code: error.code,
                message: error.message,
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
    fn record(&mut self, run: NodeRun<'a>, outputs: Outputs<'a>, error: Option<NodeError>) {
        let index = run.entry.node as usize;
        self.runs[index].push(TaskRun {
            outputs,
            inputs: run.entry.inputs,
            sources: run.entry.sources,
            error: error.map(|e| RunError {
                code: e.code,
                message: self.arena.alloc_str(&e.message),
            }),
        });
        self.order.push((run.entry.node, run.run_index));
        self.scheduler
            .add_children(run.entry.node, run.run_index, outputs, &self.runs);
        self.scheduler.release_waiting(&self.runs);
        if self.arena.allocated_bytes() > self.config.limits.arena_bytes {
            let message = format!(
                "execution used more than {} bytes of memory",
                self.config.limits.arena_bytes
            );
            self.fail(limits::CODE_ARENA, message);
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
}

/// Trigger kinds run without input data (their input is the trigger item).
fn is_trigger(kind: &ArchivedNodeKind) -> bool {
    matches!(
        kind,
        ArchivedNodeKind::ManualTrigger
            | ArchivedNodeKind::Webhook
            | ArchivedNodeKind::ScheduleTrigger
            | ArchivedNodeKind::Cron
            | ArchivedNodeKind::ExecuteWorkflowTrigger
            | ArchivedNodeKind::Interval
    )
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

/// n8n's `addPairedItemLineage`: every input item points at its own index and input.
fn stamp_lineage<'a>(
    arena: &'a Bump,
    inputs: &'a [Option<&'a [Item<'a>]>],
) -> &'a [Option<&'a [Item<'a>]>] {
    arena.alloc_slice_fill_iter(inputs.iter().enumerate().map(|(input, items)| {
        items.map(|items| {
            let pairs = arena.alloc_slice_fill_iter((0..items.len()).map(|i| PairedItem {
                item: i as u32,
                input: input as u32,
            }));
            &*arena.alloc_slice_fill_iter(items.iter().enumerate().map(|(i, item)| Item {
                paired: &pairs[i..i + 1],
                ..*item
            }))
        })
    }))
}

/// n8n's `assignPairedItems`: items without lineage get it when it is unambiguous.
fn assign_paired_items<'a>(
    arena: &'a Bump,
    outputs: Outputs<'a>,
    inputs: &'a [Option<&'a [Item<'a>]>],
) -> Outputs<'a> {
    let first_input_len = inputs.first().copied().flatten().map(<[Item]>::len);
    let single = inputs.len() == 1 && first_input_len == Some(1);
    let same_count =
        outputs.len() == 1 && inputs.len() == 1 && first_input_len == outputs[0].map(<[Item]>::len);
    let missing = outputs
        .iter()
        .flatten()
        .any(|items| items.iter().any(|item| item.paired.is_empty()));
    if !missing || !(single || same_count) {
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
