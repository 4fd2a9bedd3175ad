//! The deployer of `linkflow serve`: plans go to a data plane in the same process.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;

use super::{CompiledPlan, DeployReport, Deployer, TargetReport};

/// Name of the embedded target in reports.
pub const EMBEDDED_TARGET: &str = "embedded";

/// An instruction for the embedded data plane.
#[derive(Debug, Clone)]
pub enum PlanCommand {
    /// Install (or replace) the plan of a workflow.
    Install {
        /// Workflow id.
        workflow_id: String,
        /// Version compiled into the plan.
        version: i64,
        /// The plan.
        plan: CompiledPlan,
    },
    /// Remove a workflow's plan.
    Remove {
        /// Workflow id.
        workflow_id: String,
    },
}

/// Receives plan commands; the embedded data plane implements it. Returns the data plane's
/// refusal as text (e.g. a plan that fails its envelope checks). A sink may block until
/// the data plane acknowledged: the deployer calls it on tokio's blocking pool.
pub type PlanSink = Arc<dyn Fn(PlanCommand) -> Result<(), String> + Send + Sync>;

/// Hands plans to an in-process data plane and remembers what each workflow runs.
pub struct InProcessDeployer {
    sink: PlanSink,
    installed: Mutex<HashMap<String, (i64, CompiledPlan)>>,
}

impl InProcessDeployer {
    /// A deployer delivering to `sink`.
    pub fn new(sink: PlanSink) -> InProcessDeployer {
        InProcessDeployer {
            sink,
            installed: Mutex::new(HashMap::new()),
        }
    }

    async fn send(&self, command: PlanCommand) -> Result<(), String> {
        let sink = self.sink.clone();
        tokio::task::spawn_blocking(move || sink(command))
            .await
            .unwrap_or_else(|e| Err(format!("plan delivery task failed: {e}")))
    }

    /// The version and plan a workflow currently runs, if any.
    pub fn installed(&self, workflow_id: &str) -> Option<(i64, CompiledPlan)> {
        self.installed.lock().get(workflow_id).cloned()
    }
}

#[async_trait]
impl Deployer for InProcessDeployer {
    async fn deploy(&self, workflow_id: &str, version: i64, plan: &CompiledPlan) -> DeployReport {
        let command = PlanCommand::Install {
            workflow_id: workflow_id.to_owned(),
            version,
            plan: plan.clone(),
        };
        let result = self.send(command).await;
        if result.is_ok() {
            self.installed
                .lock()
                .insert(workflow_id.to_owned(), (version, plan.clone()));
        }
        let failed = result.as_ref().err().cloned();
        DeployReport {
            targets: vec![TargetReport {
                target: EMBEDDED_TARGET.into(),
                status: if failed.is_none() {
                    "installed"
                } else {
                    "failed"
                }
                .into(),
                plan_id: Some(plan.plan_id.clone()),
                version,
                nodes: plan.nodes.clone(),
                error: failed,
            }],
        }
    }

    async fn undeploy(&self, workflow_id: &str) -> DeployReport {
        let result = self
            .send(PlanCommand::Remove {
                workflow_id: workflow_id.to_owned(),
            })
            .await;
        let previous = if result.is_ok() {
            self.installed.lock().remove(workflow_id)
        } else {
            None
        };
        DeployReport {
            targets: vec![TargetReport {
                target: EMBEDDED_TARGET.into(),
                status: if result.is_ok() { "removed" } else { "failed" }.into(),
                plan_id: None,
                version: previous.as_ref().map_or(0, |(v, _)| *v),
                nodes: previous.map(|(_, p)| p.nodes).unwrap_or_default(),
                error: result.err(),
            }],
        }
    }

    fn connected(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> CompiledPlan {
        CompiledPlan {
            plan_id: "p1".into(),
            bytes: Arc::from(&b"x"[..]),
            nodes: vec!["Webhook".into()],
        }
    }

    #[tokio::test]
    async fn deploy_reports_nodes_and_version_then_undeploy_forgets() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let deployer = InProcessDeployer::new(Arc::new(move |c| {
            log.lock().push(matches!(c, PlanCommand::Install { .. }));
            Ok(())
        }));
        let report = deployer.deploy("wf", 3, &plan()).await;
        assert!(report.all_ok());
        assert_eq!(report.targets[0].version, 3);
        assert_eq!(report.targets[0].nodes, vec!["Webhook".to_string()]);
        assert_eq!(deployer.installed("wf").map(|(v, _)| v), Some(3));
        let removed = deployer.undeploy("wf").await;
        assert_eq!(removed.targets[0].status, "removed");
        assert!(deployer.installed("wf").is_none());
        assert_eq!(*seen.lock(), vec![true, false]);
    }

    #[tokio::test]
    async fn refused_install_is_reported_and_not_recorded() {
        let deployer = InProcessDeployer::new(Arc::new(|_| Err("path taken".into())));
        let report = deployer.deploy("wf", 1, &plan()).await;
        assert!(!report.all_ok());
        assert_eq!(report.targets[0].error.as_deref(), Some("path taken"));
        assert!(deployer.installed("wf").is_none());
    }
}
