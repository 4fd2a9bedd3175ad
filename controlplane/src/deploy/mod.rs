//! From a stored workflow version to plans running on data planes.
//!
//! Two seams keep the API independent of how plans are built and shipped:
//! - [`Compiler`]: workflow JSON -> sealed plan bytes, plus the node catalogue. The codec
//!   crate implements the real one.
//! - [`Deployer`]: sealed plans -> data planes. [`quic::QuicDeployer`] is the one
//!   implementation: every data plane, the one `linkflow serve` embeds included, takes
//!   plans over QUIC with mutual TLS, so the embedded node is reached exactly as a remote one.
//! - [`ExecutionSource`]: execution queries, answered by the data planes' journals.
//!
//! [`restore`] deploys what the database says is active (on start), and is the source of
//! a stored version's plan for rollbacks. [`credentials`] resolves the credentials a plan
//! refers to (decrypted) so they travel with it; [`credential_users`] finds the active
//! workflows using a credential (to push an updated one, or refuse deleting it).

pub mod admin_source;
pub mod credential_users;
pub mod credentials;
mod engine_compiler;
pub mod executions;
pub mod journal_source;
pub mod quic;
pub mod restore;

pub use engine_compiler::EngineCompiler;
pub use executions::{ExecutionPage, ExecutionQuery, ExecutionSource, SourceError};

use async_trait::async_trait;
use serde::Serialize;

/// A sealed plan ready to ship.
#[derive(Debug, Clone)]
pub struct CompiledPlan {
    /// Content hash of the plan (hex): same input, same id.
    pub plan_id: String,
    /// Sealed envelope bytes.
    pub bytes: std::sync::Arc<[u8]>,
    /// Names of the plan's nodes, in execution order.
    pub nodes: Vec<String>,
    /// The credentials the plan's nodes refer to, each once (from the compiler).
    pub credential_uses: Vec<credentials::CredentialUse>,
    /// Those credentials decrypted, attached by [`credentials::resolve`] right before a
    /// deploy and sent with the plan inside the mTLS channel (empty until resolved).
    /// `Debug` of a [`linkflow_codec::wire::DeployCredential`] shows no value.
    pub credentials: std::sync::Arc<Vec<linkflow_codec::wire::DeployCredential>>,
}

/// One reason a workflow does not compile; names the node and parameter when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompileIssue {
    /// Stable code, e.g. `LF-PLAN-004`.
    pub code: String,
    /// Node name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Parameter path inside the node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// A node type the engine supports.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeType {
    /// n8n type name, e.g. `n8n-nodes-base.set`.
    pub name: String,
    /// Supported `typeVersion`s.
    pub versions: Vec<f64>,
}

/// Compiles workflows into plans.
pub trait Compiler: Send + Sync {
    /// Compiles version `version` of workflow `workflow_id`; every problem is reported.
    fn compile(
        &self,
        workflow_json: &str,
        workflow_id: &str,
        version: u64,
    ) -> Result<CompiledPlan, Vec<CompileIssue>>;

    /// The node types this compiler accepts.
    fn catalog(&self) -> Vec<NodeType>;
}

/// Which version of which workflow a data plane runs for a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetReport {
    /// Data plane address (`HOST:PORT` of its QUIC plan receiver).
    pub target: String,
    /// `installed`, `removed` or `failed`.
    pub status: String,
    /// Plan id installed (absent after a removal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// Workflow version the nodes run.
    pub version: i64,
    /// Nodes running that version.
    pub nodes: Vec<String>,
    /// Stable code of the failure (`LF-QUIC-002`: unreachable, `LF-QUIC-004`: plan
    /// refused, ...; see docs/errors.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Failure reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a deploy did on every target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployReport {
    /// One entry per data plane.
    pub targets: Vec<TargetReport>,
}

/// Failure codes after which a node may or may not have applied the change (timeout,
/// broken stream, shard acknowledgement timeout).
pub const OUTCOME_UNKNOWN_CODES: [&str; 3] = [
    linkflow_codec::wire::codes::TIMEOUT,
    linkflow_codec::wire::codes::STREAM,
    linkflow_codec::wire::codes::SHARD_TIMEOUT,
];

/// [`TargetReport::status`] of a target that failed.
pub const STATUS_FAILED: &str = "failed";
/// [`TargetReport::status`] of a target that runs the plan.
pub const STATUS_INSTALLED: &str = "installed";
/// [`TargetReport::status`] of a target that no longer runs the workflow.
pub const STATUS_REMOVED: &str = "removed";

impl DeployReport {
    /// Whether every target accepted the change.
    pub fn all_ok(&self) -> bool {
        self.targets.iter().all(|t| t.status != STATUS_FAILED)
    }

    /// The targets that may have applied the change: those that accepted it and those
    /// whose failure leaves it unknown (the request timed out, the stream broke, a shard
    /// did not acknowledge in time). A rollback goes to all of them; undoing a change a
    /// node never applied is harmless.
    pub fn maybe_applied(&self) -> Vec<String> {
        self.targets
            .iter()
            .filter(|t| {
                t.status != STATUS_FAILED
                    || t.code
                        .as_deref()
                        .is_some_and(|c| OUTCOME_UNKNOWN_CODES.contains(&c))
            })
            .map(|t| t.target.clone())
            .collect()
    }

    /// The targets that failed.
    pub fn failed(&self) -> impl Iterator<Item = &TargetReport> {
        self.targets.iter().filter(|t| t.status == STATUS_FAILED)
    }
}

/// Which data planes a deploy or removal goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every configured data plane (activation, deactivation, restore).
    All,
    /// Only these targets (by [`TargetReport::target`]): rolling back the nodes that
    /// installed a plan whose activation failed elsewhere.
    Only(&'a [String]),
}

impl Scope<'_> {
    /// Whether `target` is in scope.
    pub fn includes(&self, target: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(targets) => targets.iter().any(|t| t == target),
        }
    }
}

/// Ships plans to data planes.
#[async_trait]
pub trait Deployer: Send + Sync {
    /// Installs `plan` (version `version` of `workflow_id`) on the data planes in `scope`.
    /// A node running a newer version of the workflow takes this one too: the control
    /// plane is the authority on versions (re-activating an older one is a rollback).
    async fn deploy(
        &self,
        scope: Scope<'_>,
        workflow_id: &str,
        version: i64,
        plan: &CompiledPlan,
    ) -> DeployReport;
    /// Removes the workflow's plan from the data planes in `scope`; a node that does not
    /// run it counts as removed.
    async fn undeploy(&self, scope: Scope<'_>, workflow_id: &str) -> DeployReport;
    /// The workflow ids each data plane in `scope` runs (a plan on any of its shards), or
    /// why it could not be asked; in target order.
    async fn running(&self, scope: Scope<'_>) -> Vec<(String, Result<Vec<String>, String>)>;
    /// Data planes currently reachable (for `/health/ready`).
    fn connected(&self) -> usize;
    /// Held shared by each activation, deactivation or deletion from its deploy until its
    /// record is written, and exclusively while a (re)connected node is brought up to
    /// date with the database: a resync never deploys a state an activation in flight is
    /// changing.
    fn gate(&self) -> &tokio::sync::RwLock<()>;
}
