//! The node API: what a node implementation receives and what it returns.
//!
//! A node is a plain function `fn(&mut NodeCtx<'a, '_>) -> NodeResult<'a>`. It reads its
//! parameters (expressions already compiled, evaluated on demand per item), its input
//! items per input, its run index, its persistent [`NodeState`] and the clock, and returns
//! one of:
//!
//! - [`NodeOutcome::Output`]: items per output (`None` = no data on that output, n8n's
//!   `null` slot; `Some(&[])` = the output ran with zero items);
//! - [`NodeOutcome::NoData`]: n8n's `null` result — the branch ends here;
//! - [`NodeOutcome::Effect`]: a request for the runtime (HTTP call, timer, sub-workflow).
//!   The engine hands it out from `Execution::poll` and, once the runtime feeds the
//!   answer back with `Execution::complete`, calls the node again with
//!   [`NodeCtx::resume`] set. The node keeps whatever it needs between the two calls in
//!   its [`NodeState`].
//!
//! Or a [`NodeError`] carrying n8n's message; the engine applies the node's `onError`,
//! `retryOnFail` and `continueOnFail` settings, so nodes only handle errors themselves
//! where n8n's node does (Set, If, Code ... check "continue on fail" per item).
//!
//! ```ignore
//! use linkflow_dataplane::engine::node::{NodeCtx, NodeResult};
//! use linkflow_dataplane::engine::item::Item;
//!
//! /// Adds `tag: <parameter "tag">` to every item.
//! fn tag<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
//!     let input = ctx.main_input();
//!     let mut out = ctx.items_with_capacity(input.len());
//!     for (i, item) in input.iter().enumerate() {
//!         let tag = ctx.param("tag", i)?; // evaluates `={{ ... }}` for item i
//!         let json = ctx.with_member(item.json, "tag", tag);
//!         out.push(Item { json, binary: item.binary, paired: ctx.paired(i) });
//!     }
//!     Ok(ctx.single_output(out.into_bump_slice()))
//! }
//! ```

use std::borrow::Cow;

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use linkflow_codec::plan::{ArchivedOnError, ArchivedPValue, ArchivedPlan, ArchivedPlanNode};

use super::item::{Item, PairedItem};
use super::value::Value;

/// What a node run produces.
pub type NodeResult<'a> = Result<NodeOutcome<'a>, NodeError>;

// Why: the result moves out of every node run; a large variant (an inline error or HTTP
// request) would make every successful result as large (see `NodeError`, `Effect`).
const _: () = assert!(std::mem::size_of::<NodeResult<'static>>() <= 24);

/// Items per output: index = output index.
pub type Outputs<'a> = &'a [Option<&'a [Item<'a>]>];

/// The successful result of one node call.
#[derive(Debug, Clone, Copy)]
pub enum NodeOutcome<'a> {
    /// Items per output.
    Output(Outputs<'a>),
    /// The node succeeded without any data (n8n returns `null`): the branch ends.
    NoData,
    /// The node needs the runtime to perform something, then to be called again.
    /// In the arena: the rare effect (an HTTP request is large) should not make every
    /// outcome as large as itself.
    Effect(&'a EffectRequest<'a>),
}

/// An asynchronous operation a node asks the runtime to perform.
#[derive(Debug, Clone, Copy)]
pub enum EffectRequest<'a> {
    /// An outbound HTTP call.
    Http(HttpRequest<'a>),
    /// Wake the node at `at_ms` (Unix epoch milliseconds, the execution's clock).
    Timer {
        /// When to resume.
        at_ms: i64,
    },
    /// Run another workflow with `items` as its trigger input.
    SubWorkflow {
        /// Workflow id of the callee.
        workflow_id: &'a str,
        /// Items handed to the callee's trigger.
        items: &'a [Item<'a>],
        /// Wait for the callee to finish and feed its output back.
        wait: bool,
    },
}

/// An HTTP request, borrowed from the execution's arena.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    /// Upper-case method.
    pub method: &'a str,
    /// Absolute URL including the query string.
    pub url: &'a str,
    /// The URL messages and logs may show when it differs from `url` (credential query
    /// values masked); see [`HttpRequest::shown_url`].
    pub url_shown: Option<&'a str>,
    /// Header pairs in order.
    pub headers: &'a [(&'a str, &'a str)],
    /// Body bytes (empty for none).
    pub body: &'a [u8],
    /// Timeout for the whole exchange.
    pub timeout_ms: u32,
}

impl<'a> HttpRequest<'a> {
    /// The URL to put in messages and logs: never a credential's value.
    pub fn shown_url(&self) -> &'a str {
        self.url_shown.unwrap_or(self.url)
    }
}

/// An HTTP response as the runtime feeds it back.
#[derive(Debug, Clone, Copy)]
pub struct HttpResponse<'a> {
    /// Status code.
    pub status: u16,
    /// Header pairs (names lower-cased).
    pub headers: &'a [(&'a str, &'a str)],
    /// Body bytes.
    pub body: &'a [u8],
}

/// The runtime's answer to an [`EffectRequest`].
#[derive(Debug, Clone, Copy)]
pub enum EffectResult<'a> {
    /// The HTTP exchange completed (any status).
    Http(HttpResponse<'a>),
    /// The HTTP exchange failed (connect error, timeout ...): n8n's message.
    HttpFailed(&'a str),
    /// The timer fired.
    TimerFired,
    /// The sub-workflow finished with these items (last node's output 0).
    SubWorkflowDone(&'a [Item<'a>]),
    /// The sub-workflow failed with this message.
    SubWorkflowFailed(&'a str),
    /// The sub-workflow was started without waiting for it.
    SubWorkflowStarted,
}

/// A node failure, with n8n's message (traces compare it verbatim). Boxed: a
/// [`NodeResult`] moves on every node run, and the rare error should not make every
/// successful result as large as itself (the fields read through `Deref`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeError(Box<NodeErrorDetail>);

/// The fields of a [`NodeError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeErrorDetail {
    /// Stable LinkFlow code, e.g. `LF-NODE-SET-001`.
    pub code: &'static str,
    /// n8n's error message.
    pub message: String,
    /// n8n's `description`, when it has one.
    pub description: Option<String>,
    /// The input item that failed, when the failure is per item.
    pub item: Option<usize>,
}

impl NodeError {
    /// An error with a code and n8n's message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        NodeError(Box::new(NodeErrorDetail {
            code,
            message: message.into(),
            description: None,
            item: None,
        }))
    }

    /// The fields, moved out of the box.
    pub fn into_detail(self) -> NodeErrorDetail {
        *self.0
    }

    /// Attaches the failing item index.
    pub fn at_item(mut self, item: usize) -> Self {
        self.item = Some(item);
        self
    }

    /// Attaches a description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

impl std::ops::Deref for NodeError {
    type Target = NodeErrorDetail;

    fn deref(&self) -> &NodeErrorDetail {
        &self.0
    }
}

impl std::ops::DerefMut for NodeError {
    fn deref_mut(&mut self) -> &mut NodeErrorDetail {
        &mut self.0
    }
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for NodeError {}

/// State a node keeps across its runs in one execution (splitInBatches' queue, pagination).
/// Everything lives in the execution arena, so it is dropped with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeState<'a> {
    /// Free-form value (counters, cursors, flags).
    pub value: Value<'a>,
    /// Items still to process.
    pub pending: &'a [Item<'a>],
    /// Items processed so far.
    pub done: &'a [Item<'a>],
    /// Set once the node has stored state (distinguishes "empty" from "never ran").
    pub initialized: bool,
}

/// A response header: static text for what the engine itself sets (the JSON content
/// type: no allocation per response), owned text for configured names and values.
pub type Header = (Cow<'static, str>, Cow<'static, str>);

/// A response's header list: borrowed when it is a fixed list (the JSON content type,
/// no allocation per response), owned when a node built it.
pub type Headers = Cow<'static, [Header]>;

/// A response a node (Respond to Webhook) sends to the caller of the execution.
#[derive(Debug, Clone)]
pub struct NodeResponse {
    /// HTTP status.
    pub status: u16,
    /// Header pairs in order (names as configured).
    pub headers: Headers,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The services a node needs from the execution around it: expression evaluation
/// (which sees `$json`, `$('Name')`, `$runIndex` ...) and JavaScript.
pub trait Host<'a> {
    /// Evaluates compiled expression `expr` (index into the plan's expressions) for input
    /// item `item` of the running node.
    fn eval_expr(&mut self, expr: u32, item: usize) -> Result<Value<'a>, NodeError>;

    /// Runs JavaScript `code` (Code / Function / FunctionItem nodes). `mode` tells how the
    /// code sees its items; returns the items the code produced.
    fn run_js(&mut self, code: &str, mode: JsMode, item: usize) -> Result<JsOutput<'a>, NodeError>;

    /// The execution's id, as the runtime assigned it: with the clock, the source of
    /// unique values (Crypto `generate`) that stays deterministic under tests.
    fn execution_id(&self) -> &str {
        ""
    }

    /// The credential of type `kind` the node refers to by `id` / `name`, from the
    /// runtime's [`CredentialSource`](crate::engine::credentials::CredentialSource).
    fn credential(
        &mut self,
        kind: &str,
        id: &str,
        name: &str,
    ) -> Option<crate::engine::credentials::Credential> {
        let _ = (kind, id, name);
        None
    }

    /// Evaluates an expression `template` (text without the leading `=`) for input item
    /// `item` with n8n's additional `keys` (`$response`, `$pageCount` ...), in JavaScript.
    fn eval_with_keys(
        &mut self,
        template: &str,
        item: usize,
        keys: &[(&'static str, Value<'a>)],
    ) -> Result<Value<'a>, NodeError> {
        let _ = (item, keys);
        Err(NodeError::new(
            "LF-ENGINE-060",
            format!("LF-ENGINE-060: expression needs JavaScript: {template}"),
        ))
    }
}

/// How node JavaScript sees its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsMode {
    /// Code node, `runOnceForAllItems`: `$input.all()`, returns an array of items.
    AllItems,
    /// Code node, `runOnceForEachItem`: `$json` is the item, returns one item.
    EachItem,
    /// Legacy Function node: `items` array, mutated in place or returned.
    LegacyFunction,
    /// Legacy FunctionItem node: `item` object of one item.
    LegacyFunctionItem,
}

/// What node JavaScript returned.
#[derive(Debug, Clone, Copy)]
pub enum JsOutput<'a> {
    /// Items (already normalised to `{json, pairedItem?}`).
    Items(&'a [Item<'a>]),
    /// A single value (each-item modes).
    Value(Value<'a>),
}

/// The value of a scalar literal parameter (null, boolean, number, string); `None` for
/// expressions, arrays and objects, which need evaluation.
#[inline(always)]
pub fn literal<'a>(raw: &'a ArchivedPValue) -> Option<Value<'a>> {
    match raw {
        ArchivedPValue::Null => Some(Value::Null),
        ArchivedPValue::Bool(b) => Some(Value::Bool(*b)),
        ArchivedPValue::Number(n) => Some(Value::Number(n.to_native())),
        ArchivedPValue::String(s) => Some(Value::String(s.as_str())),
        _ => None,
    }
}

/// Items of the first input that has data (n8n's `connectionInputData` in v1 order).
pub fn main_input<'a>(inputs: &'a [Option<&'a [Item<'a>]>]) -> &'a [Item<'a>] {
    inputs
        .iter()
        .flatten()
        .find(|items| !items.is_empty())
        .copied()
        .unwrap_or(&[])
}

/// The main input of a node run passed on unchanged on output 0. A node with one input
/// whose items are that input already has the output's shape: it is passed on as it
/// is, without an allocation.
pub fn pass_main_input<'a>(
    arena: &'a Bump,
    inputs: &'a [Option<&'a [Item<'a>]>],
) -> NodeOutcome<'a> {
    if let [Some(items)] = inputs {
        if !items.is_empty() {
            return NodeOutcome::Output(inputs);
        }
    }
    NodeOutcome::Output(arena.alloc_slice_copy(&[Some(main_input(inputs))]))
}

/// Everything a node run sees. `'a` is the execution arena (and the plan), `'s` the call.
pub struct NodeCtx<'a, 's> {
    /// The execution's arena: allocate output items and values here.
    pub arena: &'a Bump,
    /// The plan being executed.
    pub plan: &'a ArchivedPlan,
    /// Index of the running node in the plan.
    pub node_index: u32,
    /// The running node.
    pub node: &'a ArchivedPlanNode,
    /// Items per input (`None` = that input received no data). `executeOnce` is applied.
    pub inputs: &'a [Option<&'a [Item<'a>]>],
    /// How many times this node ran before in this execution (n8n `runIndex`).
    pub run_index: u32,
    /// The execution's clock: Unix epoch milliseconds.
    pub now_ms: i64,
    /// State kept across runs of this node.
    pub state: &'s mut NodeState<'a>,
    /// The runtime's answer when the node is called again after an [`EffectRequest`].
    pub resume: Option<EffectResult<'a>>,
    /// A response to send (Respond to Webhook); the engine emits it as an effect.
    pub response: &'s mut Option<NodeResponse>,
    /// Expression evaluation and JavaScript.
    pub host: &'s mut dyn Host<'a>,
    /// The host evaluates an expression with a direct form exactly as
    /// [`evaluate_direct`](crate::engine::expr::evaluate_direct) does, so a node may
    /// evaluate that form itself from the item's `json` (no host call).
    pub direct_exprs: bool,
}

impl<'a> NodeCtx<'a, '_> {
    /// The node's `typeVersion`.
    pub fn version(&self) -> f64 {
        self.node.type_version.to_native()
    }

    /// The node's name.
    pub fn node_name(&self) -> &'a str {
        self.node.name.as_str()
    }

    /// True when the node continues on failure (legacy `continueOnFail` or `onError`
    /// other than `stopWorkflow`): nodes that handle failures per item check this.
    pub fn continue_on_fail(&self) -> bool {
        !matches!(self.node.settings.on_error, ArchivedOnError::StopWorkflow)
    }

    /// True when failures go to a separate error output (`continueErrorOutput`).
    pub fn error_output(&self) -> bool {
        matches!(
            self.node.settings.on_error,
            ArchivedOnError::ContinueErrorOutput
        )
    }

    /// Items of input `index` (empty when that input has no data).
    pub fn input(&self, index: usize) -> &'a [Item<'a>] {
        self.inputs.get(index).copied().flatten().unwrap_or(&[])
    }

    /// Items of the first input that has data (n8n's `connectionInputData` in v1 order).
    pub fn main_input(&self) -> &'a [Item<'a>] {
        main_input(self.inputs)
    }

    /// The raw parameter at a dotted `path` (`options.responseCode`, `rules.values.0`),
    /// expressions unevaluated. `None` when absent.
    pub fn param_raw(&self, path: &str) -> Option<&'a ArchivedPValue> {
        lookup(&self.node.params, path)
    }

    /// The parameter at `path` for input item `item`, expressions evaluated
    /// (recursively inside arrays and objects). `Undefined` when absent.
    pub fn param(&mut self, path: &str, item: usize) -> Result<Value<'a>, NodeError> {
        match self.param_raw(path) {
            Some(raw) => self.resolve(raw, item),
            None => Ok(Value::Undefined),
        }
    }

    /// Converts a raw parameter into a value for input item `item`, evaluating expressions.
    pub fn resolve(
        &mut self,
        raw: &'a ArchivedPValue,
        item: usize,
    ) -> Result<Value<'a>, NodeError> {
        Ok(match raw {
            ArchivedPValue::Null => Value::Null,
            ArchivedPValue::Bool(b) => Value::Bool(*b),
            ArchivedPValue::Number(n) => Value::Number(n.to_native()),
            ArchivedPValue::String(s) => Value::String(s.as_str()),
            ArchivedPValue::Expr(index) => self.host.eval_expr(index.to_native(), item)?,
            ArchivedPValue::Array(elements) => {
                let mut out = BumpVec::with_capacity_in(elements.len(), self.arena);
                for element in elements.iter() {
                    out.push(self.resolve(element, item)?);
                }
                Value::Array(out.into_bump_slice())
            }
            ArchivedPValue::Object { keys, values } => {
                let mut out = BumpVec::with_capacity_in(keys.len(), self.arena);
                for (key, value) in keys.iter().zip(values.iter()) {
                    out.push((key.as_str(), self.resolve(value, item)?));
                }
                Value::Object(out.into_bump_slice())
            }
        })
    }

    /// A string parameter (`default` when absent or not a string after evaluation).
    pub fn param_str(
        &mut self,
        path: &str,
        item: usize,
        default: &'a str,
    ) -> Result<&'a str, NodeError> {
        Ok(self.param(path, item)?.as_str().unwrap_or(default))
    }

    /// A boolean parameter (`default` when absent or not a boolean).
    pub fn param_bool(
        &mut self,
        path: &str,
        item: usize,
        default: bool,
    ) -> Result<bool, NodeError> {
        Ok(match self.param(path, item)? {
            Value::Bool(b) => b,
            _ => default,
        })
    }

    /// A number parameter (`default` when absent or not a number).
    pub fn param_f64(&mut self, path: &str, item: usize, default: f64) -> Result<f64, NodeError> {
        Ok(match self.param(path, item)? {
            Value::Number(n) => n,
            _ => default,
        })
    }

    /// A growable item list in the arena.
    pub fn items_with_capacity(&self, capacity: usize) -> BumpVec<'a, Item<'a>> {
        BumpVec::with_capacity_in(capacity, self.arena)
    }

    /// Lineage pointing at item `item` of input 0.
    pub fn paired(&self, item: usize) -> &'a [PairedItem] {
        self.paired_input(item, 0)
    }

    /// Lineage pointing at item `item` of input `input`.
    pub fn paired_input(&self, item: usize, input: usize) -> &'a [PairedItem] {
        super::item::single_lineage(self.arena, item, input)
    }

    /// An outcome with `items` on output 0 only.
    pub fn single_output(&self, items: &'a [Item<'a>]) -> NodeOutcome<'a> {
        NodeOutcome::Output(self.arena.alloc_slice_copy(&[Some(items)]))
    }

    /// The main input passed on unchanged on output 0 (`single_output(main_input())`).
    /// A node with one input whose items are that input already has the output's shape:
    /// it is passed on as it is, without an allocation.
    pub fn pass_main_input(&self) -> NodeOutcome<'a> {
        pass_main_input(self.arena, self.inputs)
    }

    /// An outcome with one item list per output.
    pub fn outputs(&self, outputs: &[&'a [Item<'a>]]) -> NodeOutcome<'a> {
        NodeOutcome::Output(
            self.arena
                .alloc_slice_fill_iter(outputs.iter().map(|o| Some(*o))),
        )
    }

    /// `object` with member `key` set to `value` (replaced in place, else appended).
    pub fn with_member(&self, object: Value<'a>, key: &'a str, value: Value<'a>) -> Value<'a> {
        let members = object.as_object().unwrap_or(&[]);
        let mut out = BumpVec::with_capacity_in(members.len() + 1, self.arena);
        let mut found = false;
        for &(k, v) in members {
            if k == key {
                out.push((k, value));
                found = true;
            } else {
                out.push((k, v));
            }
        }
        if !found {
            out.push((key, value));
        }
        Value::Object(out.into_bump_slice())
    }

    /// Copies a string into the arena.
    pub fn alloc_str(&self, s: &str) -> &'a str {
        self.arena.alloc_str(s)
    }
}

/// Looks up a dotted path in a parameter tree. Numeric segments index arrays.
///
/// Hot: every parameter read goes through here, so it scans bytes instead of using a
/// `split` iterator (a char searcher per call showed up as 20 % of an execution).
pub fn lookup<'p>(root: &'p ArchivedPValue, path: &str) -> Option<&'p ArchivedPValue> {
    let mut current = root;
    let mut rest = path.as_bytes();
    if rest.is_empty() {
        return Some(current);
    }
    loop {
        let end = rest.iter().position(|&b| b == b'.').unwrap_or(rest.len());
        let segment = &rest[..end];
        current = match current {
            ArchivedPValue::Object { keys, values } => {
                let position = keys.iter().position(|k| k.as_str().as_bytes() == segment)?;
                &values[position]
            }
            ArchivedPValue::Array(elements) => elements.get(parse_index(segment)?)?,
            _ => return None,
        };
        if end == rest.len() {
            return Some(current);
        }
        rest = &rest[end + 1..];
    }
}

/// A decimal array index (no sign, no leading `+`).
fn parse_index(segment: &[u8]) -> Option<usize> {
    if segment.is_empty() || segment.len() > 9 {
        return None;
    }
    segment.iter().try_fold(0usize, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + usize::from(b - b'0'))
    })
}

/// The error of a node kind that has no implementation yet.
pub fn not_implemented(node: &ArchivedPlanNode) -> NodeError {
    NodeError::new(
        "LF-ENGINE-020",
        format!(
            "node kind not implemented: {} (typeVersion {})",
            node.type_name.as_str(),
            node.type_version.to_native()
        ),
    )
}
