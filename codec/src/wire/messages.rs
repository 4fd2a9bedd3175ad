//! The messages carried in frames: one [`Request`] per stream from the client, one [`Reply`]
//! back. Archived with rkyv and checked with bytecheck on receipt; small enough (bounded by
//! [`super::META_BYTES_MAX`]) that the receiver deserializes them into owned values.
//!
//! A Deploy's sealed plan is not part of the message: it travels as the frame body right
//! after it, so neither side copies the plan into an intermediate buffer.
//!
//! A Deploy also carries the decrypted credentials its plan's nodes refer to
//! ([`DeployCredential`]): they exist in clear only inside the mutually authenticated TLS
//! channel and in the node's memory. Their `Debug` shows no value and they are never
//! serialized to JSON, so printing a request cannot leak them.

use rkyv::{Archive, Deserialize, Serialize};

/// What a client asks of a node.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Request {
    /// Who is there: protocol version, node id and shard count.
    Hello(HelloRequest),
    /// Install the sealed plan in the frame body on every shard.
    Deploy(DeployRequest),
    /// Remove a plan by plan id or workflow id from every shard.
    Undeploy(UndeployRequest),
    /// What each shard runs.
    List,
    /// Per-shard counters and latency percentiles.
    Stats,
}

/// Greeting of a client.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HelloRequest {
    /// The client's [`super::PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// Free text naming the client (logged by the node).
    pub client: String,
}

/// A plan to install; the sealed plan bytes are the frame body.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeployRequest {
    /// Length of the sealed plan in the frame body (must equal the header's body length).
    pub plan_bytes: u64,
    /// `true`: install and route traffic to it. `false`: validate only (a dry run).
    pub activate: bool,
    /// Accept a plan whose workflow version is lower than the installed one (a rollback).
    /// Without it such a deploy is refused, so a late, reordered deploy never wins.
    pub allow_older: bool,
    /// The credentials the plan's nodes refer to, decrypted by the control plane; installed
    /// with the plan, replaced by the next version's, dropped with it. Bounded by
    /// [`super::DEPLOY_CREDENTIALS_MAX`] and the per-credential limits.
    #[serde(skip)]
    pub credentials: Vec<DeployCredential>,
}

/// One credential delivered with a plan (n8n: type, id, display name, data fields).
#[derive(Archive, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct DeployCredential {
    /// Credential type, e.g. `httpHeaderAuth`.
    pub kind: String,
    /// Id the workflow's nodes refer to.
    pub id: String,
    /// Display name (nodes fall back to it when the id does not match).
    pub name: String,
    /// Data fields as (name, value) text pairs. Secret.
    pub fields: Vec<(String, String)>,
}

impl std::fmt::Debug for DeployCredential {
    // Why by hand: the derived form would print the secret values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployCredential")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("name", &self.name)
            .field(
                "fields",
                &self.fields.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What to remove.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UndeployRequest {
    /// A plan id (16 hex digits) or a workflow id.
    pub target: String,
}

/// What a node answers.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Reply {
    /// Answer to [`Request::Hello`].
    Hello(HelloReply),
    /// Answer to [`Request::Deploy`].
    Deployed(DeployReply),
    /// Answer to [`Request::Undeploy`].
    Undeployed(UndeployReply),
    /// Answer to [`Request::List`].
    Listing(ListReply),
    /// Answer to [`Request::Stats`].
    Stats(StatsReply),
    /// The request was refused; nothing changed on the node.
    Error(ErrorReply),
}

/// The node's greeting.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HelloReply {
    /// The node's [`super::PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// The node's id (configured, or host name and port).
    pub node_id: String,
    /// Number of shards.
    pub shards: u32,
}

/// A plan as the node knows it.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PlanRef {
    /// Workflow id (the name when the plan has no id).
    pub workflow_id: String,
    /// Workflow version the control plane assigned (0 for plans compiled from a file).
    pub version: u64,
    /// Plan id: hex of the content hash prefix.
    pub plan_id: String,
}

/// One shard's plan table version after a change.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShardVersion {
    /// Shard index.
    pub shard: u32,
    /// Plan table generation (grows by one per install or removal).
    pub generation: u64,
}

/// What a deploy did.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum DeployOutcome {
    /// Installed on every shard.
    Installed,
    /// Every shard already ran this plan id: nothing changed (deploys are idempotent).
    Unchanged,
    /// Validated only (`activate: false`); not installed.
    Validated,
}

/// Answer to a deploy, sent after every shard installed the plan.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeployReply {
    /// The plan received.
    pub plan: PlanRef,
    /// What happened.
    pub outcome: DeployOutcome,
    /// The plan of the same workflow it replaced, if any.
    pub replaced: Option<PlanRef>,
    /// Every shard's plan table version once the plan is installed.
    pub shards: Vec<ShardVersion>,
}

/// Answer to an undeploy, sent after every shard dropped the plan.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UndeployReply {
    /// The plans removed.
    pub removed: Vec<PlanRef>,
    /// Every shard's plan table version afterwards.
    pub shards: Vec<ShardVersion>,
}

/// What one shard runs.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShardPlans {
    /// Shard index.
    pub shard: u32,
    /// Plan table generation.
    pub generation: u64,
    /// Installed plans.
    pub plans: Vec<PlanRef>,
}

/// Answer to a list request.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ListReply {
    /// One entry per shard.
    pub shards: Vec<ShardPlans>,
}

/// Counters and percentiles of one shard.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShardStats {
    /// Shard index.
    pub shard: u32,
    /// Installed plans.
    pub plans: u32,
    /// Open connections.
    pub connections: u32,
    /// HTTP responses sent.
    pub requests: u64,
    /// Responses with a 5xx status.
    pub responses_5xx: u64,
    /// Executions that ended successfully.
    pub executions_success: u64,
    /// Executions that failed.
    pub executions_error: u64,
    /// Requests refused by admission (503).
    pub rejected: u64,
    /// Median request latency in microseconds.
    pub latency_us_p50: u64,
    /// 99th percentile request latency in microseconds.
    pub latency_us_p99: u64,
    /// Largest request latency in microseconds.
    pub latency_us_max: u64,
}

/// Answer to a stats request.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StatsReply {
    /// One entry per shard.
    pub shards: Vec<ShardStats>,
}

/// A refusal with a stable code (`LF-QUIC-NNN`, `LF-WIRE-NNN`, `LF-ENV-NNN`).
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReply {
    /// Stable code.
    pub code: String,
    /// What was refused, where and why.
    pub message: String,
}
