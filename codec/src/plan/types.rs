//! The execution plan: what the data plane runs. An rkyv archive, read in place.
//!
//! This file is the contract between the codec (which writes plans) and the engine
//! (which reads `ArchivedPlan` zero-copy). Change it only together with
//! [`crate::envelope::FORMAT_VERSION`].
//!
//! Layout choices and why:
//! - Nodes are addressed by index (`u32`) into [`Plan::nodes`]; names are kept for
//!   `$('Name')`, errors and traces. Index 0.. follow a static topological order (roots
//!   first, ties broken by canvas position as n8n's v1 order does), so `nodes` is the
//!   "execution order" of a linear workflow.
//! - Connections are compressed sparse rows (CSR): three flat arrays instead of nested
//!   vectors, so a hop from an output to its targets is two index reads.
//! - Parameters stay a tree ([`PValue`]) because every node type shapes them differently,
//!   but every `={{ }}` string is compiled once and replaced by [`PValue::Expr`], an index
//!   into [`Plan::expressions`].

use rkyv::{Archive, Deserialize, Serialize};

/// A compiled, immutable workflow.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Plan {
    /// Workflow id as given by the author or the control plane ("" when absent).
    pub workflow_id: String,
    /// Workflow name.
    pub workflow_name: String,
    /// Version number assigned by the control plane (0 for a plan compiled from a file).
    pub workflow_version: u64,
    /// Workflow-level settings that the runtime honours.
    pub settings: PlanSettings,
    /// Nodes in static execution order.
    pub nodes: Vec<PlanNode>,
    /// Outgoing `main` connections.
    pub outgoing: Csr,
    /// Incoming `main` connections (the transpose of `outgoing`).
    pub incoming: Csr,
    /// Per slot of `outgoing` (a node's output): the one node it feeds, when that is all
    /// there is to scheduling it — exactly one link, into input 0 of a node with no other
    /// connected input. Otherwise [`NO_CHILD`] (no link) or [`SEVERAL_CHILDREN`] (anything
    /// else: the runtime walks the links). Why: finding a chain's next node is the most
    /// frequent scheduling step, and the link walk costs more than the node's own work on
    /// simple nodes.
    pub sole_targets: Vec<u32>,
    /// Trigger table: what starts an execution of this plan.
    pub triggers: Vec<Trigger>,
    /// Every compiled expression, referenced by [`PValue::Expr`].
    pub expressions: Vec<crate::expr::CompiledExpression>,
    /// Pinned output per node (n8n `pinData`): replaces the node's output when present.
    pub pin_data: Vec<PinnedData>,
    /// `staticData` of the export, kept as a tree (read by triggers that keep state).
    pub static_data: PValue,
}

/// [`Plan::sole_targets`]: the output has no link.
pub const NO_CHILD: u32 = u32::MAX;
/// [`Plan::sole_targets`]: the output's children need the link walk.
pub const SEVERAL_CHILDREN: u32 = u32::MAX - 1;

/// Workflow settings the runtime uses.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PlanSettings {
    /// `settings.executionOrder`: `v1` (default for new workflows) or legacy `v0`.
    pub execution_order: ExecutionOrder,
    /// `settings.executionTimeout` in milliseconds (0 = the runtime's limit applies).
    pub timeout_ms: u64,
    /// `settings.latencyBudgetMs`: p99 latency budget for admission control (0 = none).
    pub latency_budget_ms: u32,
    /// What the journal keeps of an execution of this workflow.
    pub persistence: Persistence,
    /// `settings.timezone` ("" = the process default, UTC).
    pub timezone: String,
    /// `settings.errorWorkflow` id ("" = none).
    pub error_workflow: String,
}

/// n8n's execution order setting.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ExecutionOrder {
    /// Legacy breadth-first order.
    V0,
    /// Depth-first, top-most branch first (n8n ≥ 1.0 default).
    V1,
}

/// What to keep of executions (n8n's saveData* settings folded into one value per status;
/// see [`super::persistence`]).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persistence {
    /// Keep a record of successful executions.
    pub success: SaveLevel,
    /// Keep a record of failed executions.
    pub error: SaveLevel,
    /// Keep records of manual executions (whole, whatever the levels above say, as n8n).
    pub manual: bool,
}

/// How much of one execution the journal keeps.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum SaveLevel {
    /// Nothing: no record at all (n8n deletes such an execution when it ends).
    None,
    /// Summary only (ids, status, times, error).
    Summary,
    /// Summary plus per-node output data.
    All,
    /// The setting is absent or `DEFAULT`: the level the node was started with
    /// (`--record-level`, n8n's instance default `all` unless set).
    Default,
}

/// One node of the plan.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PlanNode {
    /// Node name (unique in the workflow).
    pub name: String,
    /// Node id from the export ("" when absent).
    pub id: String,
    /// Full type name, e.g. `n8n-nodes-base.set`.
    pub type_name: String,
    /// `typeVersion` as written (1, 2.1, 3.4 ...).
    pub type_version: f64,
    /// The node kind the engine dispatches on.
    pub kind: NodeKind,
    /// `disabled: true`: the node passes its input through on output 0.
    pub disabled: bool,
    /// Per-node execution settings.
    pub settings: NodeSettings,
    /// Parameters with expressions compiled.
    pub params: PValue,
    /// Typed, pre-parsed form of `params` for the hot-path node kinds (an accelerator:
    /// `params` stays authoritative; see [`super::typed`]).
    pub fast: super::typed::FastParams,
    /// Number of `main` inputs the node type has (Merge: 2, triggers: 0).
    pub input_count: u32,
    /// Number of `main` outputs, including the error output when `onError` is
    /// `continueErrorOutput` (then it is the last one).
    pub output_count: u32,
    /// `webhookId` ("" when absent).
    pub webhook_id: String,
    /// Canvas position `[x, y]`: n8n's v1 order runs sibling branches top-most first
    /// (then left-most), so the engine needs it at run time.
    pub position: [f64; 2],
    /// Credentials by type: (credential type, credential id, credential name).
    pub credentials: Vec<CredentialRef>,
}

/// A credential reference of a node.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct CredentialRef {
    /// Credential type key, e.g. `httpBasicAuth`.
    pub credential_type: String,
    /// Credential id ("" when absent).
    pub id: String,
    /// Credential display name.
    pub name: String,
}

/// Per-node settings n8n keeps beside the parameters.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct NodeSettings {
    /// What happens when the node fails.
    pub on_error: OnError,
    /// `retryOnFail`.
    pub retry_on_fail: bool,
    /// `maxTries` (n8n default 3, clamped to 2..=5 by the editor).
    pub max_tries: u32,
    /// `waitBetweenTries` in milliseconds (n8n default 1000, max 5000).
    pub wait_between_tries_ms: u32,
    /// `alwaysOutputData`: no items becomes one empty item.
    pub always_output_data: bool,
    /// `executeOnce`: run with the first input item only.
    pub execute_once: bool,
}

/// n8n's `onError` (legacy `continueOnFail: true` maps to `ContinueRegularOutput`).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum OnError {
    /// Fail the execution (default).
    StopWorkflow,
    /// Pass on (input or error items) on the regular output.
    ContinueRegularOutput,
    /// Route error items to the extra error output.
    ContinueErrorOutput,
}

/// Compressed sparse rows: for node `n`, its slots are `slot_start[n]..slot_start[n+1]`
/// (one slot per output, or per input for [`Plan::incoming`]); for slot `s`, its links are
/// `links[link_start[s]..link_start[s+1]]`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct Csr {
    /// `nodes.len() + 1` offsets into `link_start`.
    pub slot_start: Vec<u32>,
    /// `slot count + 1` offsets into `links`.
    pub link_start: Vec<u32>,
    /// For `outgoing`: (target node, target input). For `incoming`: (source node, source output).
    pub links: Vec<Link>,
}

/// One end of a connection.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Node index.
    pub node: u32,
    /// Input (outgoing) or output (incoming) index on that node.
    pub port: u32,
}

/// What starts an execution.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub enum Trigger {
    /// An HTTP webhook.
    Webhook(WebhookTrigger),
    /// A schedule (scheduleTrigger rules or legacy cron), as cron expressions.
    Schedule(ScheduleTrigger),
    /// The manual trigger (CLI `linkflow run`, tests).
    Manual {
        /// Node index of the trigger.
        node: u32,
    },
    /// `executeWorkflowTrigger`: started by another workflow.
    SubWorkflow {
        /// Node index of the trigger.
        node: u32,
    },
}

/// Webhook routing data, resolved at compile time.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WebhookTrigger {
    /// Node index of the Webhook node.
    pub node: u32,
    /// Accepted methods, upper case (`GET`, `POST`, ...).
    pub methods: Vec<String>,
    /// Path as configured (no leading slash), e.g. `bench` or `user/:id`.
    pub path: String,
    /// How the response is produced.
    pub response_mode: ResponseMode,
    /// What the response holds in `LastNode` mode.
    pub response_data: ResponseData,
    /// `options.responseCode` for onReceived/lastNode (200 by default).
    pub response_code: u16,
}

/// n8n's webhook `responseMode`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ResponseMode {
    /// Answer at once, then run.
    OnReceived,
    /// Answer with the last node's data when the execution ends.
    LastNode,
    /// A Respond to Webhook node answers.
    ResponseNode,
}

/// n8n's webhook `responseData` (lastNode mode).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum ResponseData {
    /// The first item's json.
    FirstEntryJson,
    /// All items' json as an array.
    AllEntries,
    /// Empty body.
    NoData,
    /// First item's binary data (answered as 500 unless the engine supports binary).
    FirstEntryBinary,
}

/// A schedule trigger's rules, normalised to cron expressions with seconds.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ScheduleTrigger {
    /// Node index.
    pub node: u32,
    /// Cron expressions (6 fields: sec min hour dom mon dow).
    pub cron: Vec<String>,
    /// IANA time zone ("" = the workflow's).
    pub timezone: String,
}

/// A node's pinned output items (json only).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PinnedData {
    /// Node index.
    pub node: u32,
    /// Items' `json` values.
    pub items: Vec<PValue>,
}

/// A parameter value: a JSON tree in which expressions are compiled.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(serialize_bounds(
    __S: rkyv::ser::Writer + rkyv::ser::Allocator,
    __S::Error: rkyv::rancor::Source,
))]
#[rkyv(deserialize_bounds(__D::Error: rkyv::rancor::Source))]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(bytecheck(bounds(
    __C: rkyv::validation::ArchiveContext,
    __C::Error: rkyv::rancor::Source,
)))]
pub enum PValue {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A plain string (not an expression).
    String(String),
    /// An array.
    Array(#[rkyv(omit_bounds)] Vec<PValue>),
    /// An object; `keys[i]` names `values[i]`, insertion order kept.
    Object {
        /// Member names.
        keys: Vec<String>,
        /// Member values.
        #[rkyv(omit_bounds)]
        values: Vec<PValue>,
    },
    /// A `=...` string: index into [`Plan::expressions`].
    Expr(u32),
}

/// Node kinds the engine implements. `Unsupported` never appears in a sealed plan:
/// the compiler rejects such workflows, listing every unsupported type.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[rkyv(derive(Debug))]
#[allow(missing_docs)]
pub enum NodeKind {
    ManualTrigger,
    Webhook,
    ScheduleTrigger,
    Cron,
    ExecuteWorkflowTrigger,
    Set,
    If,
    Switch,
    Filter,
    Merge,
    SplitOut,
    SplitInBatches,
    Aggregate,
    Limit,
    Sort,
    RemoveDuplicates,
    Summarize,
    RenameKeys,
    DateTime,
    Crypto,
    NoOp,
    StopAndError,
    RespondToWebhook,
    HttpRequest,
    Wait,
    Code,
    Function,
    FunctionItem,
    ExecuteWorkflow,
    StickyNote,
    // Appended (never reordered): an archived plan stores the discriminant.
    ItemLists,
    CustomerDatastore,
    ErrorTrigger,
    Interval,
    Xml,
    Html,
    Markdown,
    GraphQl,
}
