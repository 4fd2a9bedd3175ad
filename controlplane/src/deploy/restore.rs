//! What the database says runs, brought back onto the data planes.
//!
//! Data planes keep plans in memory only: a node (or the node `linkflow serve` embeds)
//! starts empty. The database is the record of what is active, so whenever the control
//! plane reaches a node over a new connection (on its own start, or after the node was
//! down) it compiles every active workflow's activated version again and deploys it there
//! ([`restore_active`], driven by [`super::quic::QuicDeployer::sync`]); webhooks come back
//! without anyone re-activating them. Compiling
//! is deterministic (same workflow, same plan id), and a node that already runs a plan
//! takes the same plan id again as a no-op, so restoring onto a node that kept running is
//! harmless.
//!
//! The activated version is the one of the workflow's last successful activation, not
//! the newest saved one: saving a new version of an active workflow does not deploy it.
//!
//! The database is also the record of what is *not* active: a node the control plane
//! manages runs the active workflows and nothing else. After the deploys, a restore asks
//! each node what it runs and removes the workflows that are not active (deactivated or
//! deleted while the node was out of reach, or left from another control plane or a
//! hand-made `linkflow plan submit`), so a webhook nobody activated does not answer.

use std::sync::Arc;

use super::credentials::{self, CredentialError};
use super::{CompileIssue, CompiledPlan, Compiler, Deployer, Scope};
use crate::credentials::EncryptionKey;
use crate::storage::{Cursor, Store, StoreError, Workflow, WorkflowFilter};

/// Status of an activation record that deployed to every data plane.
pub const ACTIVATED: &str = "activated";
/// Active workflows read from the database per page while restoring.
pub const RESTORE_PAGE_ROWS: u32 = 200;
/// Most active workflows one restore deploys; more are reported, not deployed (a bound on
/// start-up work; far above what one control plane serves).
pub const RESTORE_WORKFLOWS_MAX: usize = 100_000;

/// Why a stored version could not be turned into a plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Reading the database failed.
    #[error("reading the workflow: {0}")]
    Store(#[from] StoreError),
    /// The stored version no longer compiles (a catalogue change since it was activated).
    #[error("version {version} does not compile: {issues}")]
    Compile {
        /// The version.
        version: i64,
        /// The compiler's issues, joined.
        issues: String,
    },
    /// The compile task failed (a bug).
    #[error("compile task failed: {0}")]
    Task(String),
    /// A credential the version refers to is missing, of another type, or unreadable.
    #[error("version {version}: {source}")]
    Credential {
        /// The version.
        version: i64,
        /// What is wrong (names the credential, never a value).
        source: CredentialError,
    },
}

/// The version of `workflow` its data planes should run: the version of its last
/// successful activation; the current version when no activation says (a database
/// written before activations were recorded).
pub async fn activated_version(store: &dyn Store, workflow: &Workflow) -> Result<i64, StoreError> {
    let activations = store.list_activations(&workflow.id).await?;
    Ok(activations
        .iter()
        .rev()
        .find(|a| a.status == ACTIVATED)
        .map_or(workflow.version, |a| a.version))
}

/// Compiles version `version` of `workflow_id` as stored, on the blocking pool (CPU work
/// proportional to the workflow), and attaches the credentials it refers to, decrypted
/// with `key`, ready to deploy.
pub async fn compile_version(
    store: &dyn Store,
    compiler: &Arc<dyn Compiler>,
    key: &EncryptionKey,
    workflow_id: &str,
    version: i64,
) -> Result<CompiledPlan, PlanError> {
    let stored = store.version(workflow_id, version).await?;
    let compiler = compiler.clone();
    let id = workflow_id.to_owned();
    let plan_version = u64::try_from(version).unwrap_or(0);
    let mut plan =
        tokio::task::spawn_blocking(move || compiler.compile(&stored.body, &id, plan_version))
            .await
            .map_err(|e| PlanError::Task(e.to_string()))?
            .map_err(|issues| PlanError::Compile {
                version,
                issues: join_issues(&issues),
            })?;
    credentials::resolve(store, key, &mut plan)
        .await
        .map_err(|source| PlanError::Credential { version, source })?;
    Ok(plan)
}

fn join_issues(issues: &[CompileIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("{}: {}", i.code, i.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What [`restore_active`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreSummary {
    /// Workflows now running on every data plane in scope.
    pub restored: usize,
    /// Workflows that did not come back: (workflow id, why).
    pub failed: Vec<(String, String)>,
    /// Data planes that failed at least one deploy or removal, or could not say what they
    /// run (worth trying again later; a workflow that no longer compiles is not the
    /// node's fault and does not count).
    pub failed_targets: Vec<String>,
    /// Workflows removed from a node because they are not active: (node, workflow id).
    pub removed: Vec<(String, String)>,
}

impl RestoreSummary {
    fn target_failed(&mut self, target: String) {
        if !self.failed_targets.contains(&target) {
            self.failed_targets.push(target);
        }
    }
}

/// Compiles every active workflow's activated version and deploys it to the data planes
/// in `scope`. Failures are collected, never fatal: one workflow that no longer compiles
/// or one node that is down must not keep the others from serving.
pub async fn restore_active(
    store: &dyn Store,
    compiler: &Arc<dyn Compiler>,
    key: &EncryptionKey,
    deployer: &dyn Deployer,
    scope: Scope<'_>,
) -> Result<RestoreSummary, StoreError> {
    let filter = WorkflowFilter {
        active: Some(true),
        ..WorkflowFilter::default()
    };
    let mut summary = RestoreSummary::default();
    let mut cursor = Cursor::START;
    let mut seen = 0usize;
    // Every active id, those that failed or were past the bound included: their plans,
    // if a node runs one, stay (active in the database means the node may serve it).
    let mut active = std::collections::HashSet::new();
    loop {
        let page = store
            .list_workflows(&filter, &cursor, RESTORE_PAGE_ROWS)
            .await?;
        for workflow in &page.data {
            active.insert(workflow.id.clone());
            seen += 1;
            if seen > RESTORE_WORKFLOWS_MAX {
                summary.failed.push((
                    workflow.id.clone(),
                    format!("more than {RESTORE_WORKFLOWS_MAX} active workflows"),
                ));
                continue;
            }
            match restore_one(store, compiler, key, deployer, scope, workflow).await {
                Ok(()) => summary.restored += 1,
                Err((why, targets)) => {
                    summary.failed.push((workflow.id.clone(), why));
                    for target in targets {
                        summary.target_failed(target);
                    }
                }
            }
        }
        match page.next_cursor.as_deref().and_then(Cursor::decode) {
            Some(next) if !page.data.is_empty() => cursor = next,
            _ => break,
        }
    }
    remove_inactive(deployer, scope, &active, &mut summary).await;
    Ok(summary)
}

/// Removes from each node in `scope` every workflow it runs that is not in `active`.
async fn remove_inactive(
    deployer: &dyn Deployer,
    scope: Scope<'_>,
    active: &std::collections::HashSet<String>,
    summary: &mut RestoreSummary,
) {
    for (target, running) in deployer.running(scope).await {
        let running = match running {
            Ok(running) => running,
            Err(why) => {
                tracing::warn!(node = %target, why = %why, "cannot list the node's plans; inactive ones stay until the next resync");
                summary.target_failed(target);
                continue;
            }
        };
        for workflow_id in running.into_iter().filter(|id| !active.contains(id)) {
            let only = [target.clone()];
            let report = deployer.undeploy(Scope::Only(&only), &workflow_id).await;
            if report.all_ok() {
                tracing::info!(node = %target, workflow = %workflow_id, "removed a workflow that is not active");
                summary.removed.push((target.clone(), workflow_id));
            } else {
                summary.target_failed(target.clone());
            }
        }
    }
}

async fn restore_one(
    store: &dyn Store,
    compiler: &Arc<dyn Compiler>,
    key: &EncryptionKey,
    deployer: &dyn Deployer,
    scope: Scope<'_>,
    workflow: &Workflow,
) -> Result<(), (String, Vec<String>)> {
    let version = activated_version(store, workflow)
        .await
        .map_err(|e| (e.to_string(), Vec::new()))?;
    let plan = compile_version(store, compiler, key, &workflow.id, version)
        .await
        .map_err(|e| (e.to_string(), Vec::new()))?;
    let report = deployer.deploy(scope, &workflow.id, version, &plan).await;
    if report.all_ok() {
        return Ok(());
    }
    let why = report
        .failed()
        .map(|t| format!("{}: {}", t.target, t.error.as_deref().unwrap_or("failed")))
        .collect::<Vec<_>>()
        .join("; ");
    Err((why, report.failed().map(|t| t.target.clone()).collect()))
}
