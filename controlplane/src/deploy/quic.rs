//! [`QuicDeployer`]: plans to data-plane nodes over QUIC with mutual TLS (the client of
//! `crate::quic`), for `linkflow serve` (its embedded node, on loopback) and
//! `linkflow controlplane` (every `--dataplane HOST:PORT`).
//!
//! One [`PlanClient`] per node, connected lazily and kept; a node that cannot be reached
//! is reported `failed` (with its `LF-QUIC-*` code) for that deploy and retried on the next
//! one. Connecting gives up after [`CONNECT_TIMEOUT`] per attempt (three attempts with
//! backoff), so an activation with a node down fails within seconds, not minutes. Deploys go to every
//! node at once; the report lists each node with the version it runs afterwards. The
//! control plane is the authority on versions, so deploys allow an older version than a
//! node runs (re-activating a previous version is a rollback, not a mistake).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use linkflow_codec::wire::{self, UndeployReply};
use tokio::sync::Mutex;

use super::{
    CompiledPlan, DeployReport, Deployer, Scope, TargetReport, STATUS_FAILED, STATUS_INSTALLED,
    STATUS_REMOVED,
};
use crate::quic::{ClientOptions, ClientTls, DeployOptions, PlanClient, QuicError};

/// How often [`QuicDeployer::watch`] checks that each node answers.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(5);
/// Longest one connection attempt (UDP + TLS handshake) to a node may take. Nodes are on
/// the same network as the control plane: a handshake that takes longer is a node down.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Most data planes one control plane deploys to.
pub const TARGETS_MAX: usize = 256;

struct Target {
    addr: String,
    client: Mutex<Option<Arc<PlanClient>>>,
    up: AtomicBool,
}

/// Deploys to a fixed set of data-plane nodes over QUIC.
pub struct QuicDeployer {
    targets: Vec<Arc<Target>>,
    tls: Arc<ClientTls>,
}

impl QuicDeployer {
    /// A deployer for the nodes at `addrs` (`HOST:PORT`), authenticating with `tls`.
    /// Nothing is connected yet. At most [`TARGETS_MAX`] nodes.
    pub fn new(addrs: &[String], tls: ClientTls) -> Result<QuicDeployer, String> {
        if addrs.len() > TARGETS_MAX {
            return Err(format!("at most {TARGETS_MAX} data planes"));
        }
        Ok(QuicDeployer {
            targets: addrs
                .iter()
                .map(|addr| {
                    Arc::new(Target {
                        addr: addr.clone(),
                        client: Mutex::new(None),
                        up: AtomicBool::new(false),
                    })
                })
                .collect(),
            tls: Arc::new(tls),
        })
    }

    /// Connects to every node (and says `Hello`); returns how many answered.
    pub async fn connect_all(&self) -> usize {
        let answers = self
            .each(Scope::All, |target, tls| async move {
                check(&target, &tls).await
            })
            .await;
        answers.into_iter().filter(|up| *up).count()
    }

    /// Checks every node every [`HEALTH_INTERVAL`] so `/health/ready` reports what is
    /// connected now; stops when the deployer is dropped.
    pub fn watch(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEALTH_INTERVAL).await;
                let Some(me) = weak.upgrade() else { return };
                me.connect_all().await;
            }
        });
    }

    /// The addresses of the nodes that answered the last request or check, in order.
    pub fn connected_targets(&self) -> Vec<String> {
        self.targets
            .iter()
            .filter(|t| t.up.load(Ordering::Relaxed))
            .map(|t| t.addr.clone())
            .collect()
    }

    /// Runs `job` for every node in `scope` at once; results in target order.
    async fn each<F, Fut, T>(&self, scope: Scope<'_>, job: F) -> Vec<T>
    where
        F: Fn(Arc<Target>, Arc<ClientTls>) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let handles: Vec<_> = self
            .targets
            .iter()
            .filter(|t| scope.includes(&t.addr))
            .map(|t| tokio::spawn(job(t.clone(), self.tls.clone())))
            .collect();
        let mut out = Vec::with_capacity(handles.len());
        for handle in handles {
            match handle.await {
                Ok(value) => out.push(value),
                // A panicking job is a bug; the deploy fails loudly rather than lying.
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
        out
    }
}

async fn client(target: &Target, tls: &ClientTls) -> Result<Arc<PlanClient>, QuicError> {
    let mut slot = target.client.lock().await;
    if let Some(client) = slot.as_ref() {
        return Ok(client.clone());
    }
    let options = ClientOptions {
        connect_timeout: CONNECT_TIMEOUT,
        ..ClientOptions::default()
    };
    let client = Arc::new(PlanClient::connect_with(&target.addr, tls, options).await?);
    *slot = Some(client.clone());
    Ok(client)
}

/// Notes whether the node answered; a transport failure drops the connection so the
/// next request reconnects. A refusal means the node is up.
async fn settle<T>(target: &Target, result: &Result<T, QuicError>) {
    let up = match result {
        Ok(_) | Err(QuicError::Refused { .. }) => true,
        Err(_) => {
            *target.client.lock().await = None;
            false
        }
    };
    target.up.store(up, Ordering::Relaxed);
}

async fn check(target: &Target, tls: &ClientTls) -> bool {
    let result = match client(target, tls).await {
        Ok(c) => c.hello().await.map(|_| ()),
        Err(e) => Err(e),
    };
    settle(target, &result).await;
    result.is_ok()
}

#[async_trait]
impl Deployer for QuicDeployer {
    async fn deploy(
        &self,
        scope: Scope<'_>,
        _workflow_id: &str,
        version: i64,
        plan: &CompiledPlan,
    ) -> DeployReport {
        let plan = plan.clone();
        let targets = self
            .each(scope, move |target, tls| {
                let plan = plan.clone();
                async move {
                    let options = DeployOptions {
                        activate: true,
                        allow_older: true,
                    };
                    let result = match client(&target, &tls).await {
                        Ok(c) => c.deploy(&plan.bytes, options).await,
                        Err(e) => Err(e),
                    };
                    settle(&target, &result).await;
                    match result {
                        Ok(reply) => TargetReport {
                            target: target.addr.clone(),
                            status: STATUS_INSTALLED.into(),
                            plan_id: Some(reply.plan.plan_id),
                            version: i64::try_from(reply.plan.version).unwrap_or(version),
                            nodes: plan.nodes.clone(),
                            code: None,
                            error: None,
                        },
                        Err(e) => failed(&target, version, e),
                    }
                }
            })
            .await;
        DeployReport { targets }
    }

    async fn undeploy(&self, scope: Scope<'_>, workflow_id: &str) -> DeployReport {
        let workflow_id = workflow_id.to_owned();
        let targets = self
            .each(scope, move |target, tls| {
                let workflow_id = workflow_id.clone();
                async move {
                    let result = match client(&target, &tls).await {
                        Ok(c) => c.undeploy(&workflow_id).await,
                        Err(e) => Err(e),
                    };
                    settle(&target, &result).await;
                    // Removing what a node does not run leaves it as asked: not a failure
                    // (a node restarted empty, or a retried deactivation).
                    let result = match result {
                        Err(QuicError::Refused { code, .. }) if code == wire::codes::NOT_FOUND => {
                            Ok(UndeployReply {
                                removed: Vec::new(),
                                shards: Vec::new(),
                            })
                        }
                        other => other,
                    };
                    match result {
                        Ok(reply) => TargetReport {
                            target: target.addr.clone(),
                            status: STATUS_REMOVED.into(),
                            plan_id: None,
                            version: reply
                                .removed
                                .first()
                                .map_or(0, |p| i64::try_from(p.version).unwrap_or(0)),
                            nodes: Vec::new(),
                            code: None,
                            error: None,
                        },
                        Err(e) => failed(&target, 0, e),
                    }
                }
            })
            .await;
        DeployReport { targets }
    }

    fn connected(&self) -> usize {
        self.targets
            .iter()
            .filter(|t| t.up.load(Ordering::Relaxed))
            .count()
    }
}

fn failed(target: &Target, version: i64, error: QuicError) -> TargetReport {
    TargetReport {
        target: target.addr.clone(),
        status: STATUS_FAILED.into(),
        plan_id: None,
        version,
        nodes: Vec::new(),
        code: Some(error.code().to_owned()),
        error: Some(error.to_string()),
    }
}
