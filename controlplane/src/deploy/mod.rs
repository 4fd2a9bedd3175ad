//! From a stored workflow version to plans running on data planes.
//!
//! Two seams keep the API independent of how plans are built and shipped:
//! - [`Compiler`]: workflow JSON -> sealed plan bytes, plus the node catalogue. The codec
//!   crate implements the real one.
//! - [`Deployer`]: sealed plans -> data planes. [`InProcessDeployer`] hands plans to the
//!   data-plane node embedded in the same process (`linkflow serve`, [`embedded`]) through a
//!   [`PlanSink`]; the QUIC deployer implements the same trait for remote data planes.
//! - [`ExecutionSource`]: execution queries, answered by the data planes' journals.

pub mod embedded;
mod engine_compiler;
pub mod executions;
mod in_process;
pub mod journal_source;
pub mod quic;

pub use engine_compiler::EngineCompiler;
pub use executions::{ExecutionPage, ExecutionQuery, ExecutionSource, SourceError};
pub use in_process::{InProcessDeployer, PlanCommand, PlanSink};

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
    /// Data plane address or `embedded`.
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

impl DeployReport {
    /// Whether every target accepted the change.
    pub fn all_ok(&self) -> bool {
        self.targets.iter().all(|t| t.status != "failed")
    }
}

/// Ships plans to data planes.
#[async_trait]
pub trait Deployer: Send + Sync {
    /// Installs `plan` (version `version` of `workflow_id`) on every data plane.
    async fn deploy(&self, workflow_id: &str, version: i64, plan: &CompiledPlan) -> DeployReport;
    /// Removes the workflow's plan from every data plane.
    async fn undeploy(&self, workflow_id: &str) -> DeployReport;
    /// Data planes currently reachable (for `/health/ready`).
    fn connected(&self) -> usize;
}
