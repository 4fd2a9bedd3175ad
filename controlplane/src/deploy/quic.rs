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
//!
//! Nodes keep plans in memory only. Whenever the deployer reaches a node over a connection
//! it has not synced yet (the first one, or a new one after a failure: the node may have
//! restarted empty), [`QuicDeployer::sync`] hands the node to the [`Resync`] hook, which
//! deploys what the database says is active (idempotent: a plan a node runs is a no-op).
//! [`QuicDeployer::watch`] runs it every [`HEALTH_INTERVAL`], so a node restarted while the
//! control plane runs, or down when it started, gets its webhooks back by itself. A node
//! whose resync failed is tried again after [`RESYNC_RETRY_INTERVAL`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
/// Wait before resyncing a node whose last resync failed (each try compiles every active
/// workflow).
pub const RESYNC_RETRY_INTERVAL: Duration = Duration::from_secs(30);

/// Brings nodes up to date with the database after they (re)connected: given the deployer
/// and the nodes' addresses, deploys what is active and returns the nodes it could not
/// bring up to date.
pub type Resync = Arc<
    dyn Fn(Arc<QuicDeployer>, Vec<String>) -> Pin<Box<dyn Future<Output = Vec<String>> + Send>>
        + Send
        + Sync,
>;

/// Which connection of a node was last brought up to date: (client number, connection
/// number of that client).
type ConnectionKey = (u64, u64);

#[derive(Debug, Default)]
struct SyncState {
    synced: Option<ConnectionKey>,
    retry_at: Option<Instant>,
}

struct Target {
    addr: String,
    client: Mutex<Option<Arc<PlanClient>>>,
    /// Clients created so far (a client is replaced after a transport failure).
    clients: AtomicU64,
    up: AtomicBool,
    sync: parking_lot::Mutex<SyncState>,
}

impl Target {
    /// The connection the node is reached over now, if any.
    async fn connection_key(&self) -> Option<ConnectionKey> {
        let slot = self.client.lock().await;
        let client = slot.as_ref()?;
        Some((self.clients.load(Ordering::Relaxed), client.connections()))
    }
}

/// Deploys to a fixed set of data-plane nodes over QUIC.
pub struct QuicDeployer {
    targets: Vec<Arc<Target>>,
    tls: Arc<ClientTls>,
    gate: tokio::sync::RwLock<()>,
    resync: Option<Resync>,
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
                        clients: AtomicU64::new(0),
                        up: AtomicBool::new(false),
                        sync: parking_lot::Mutex::new(SyncState::default()),
                    })
                })
                .collect(),
            tls: Arc::new(tls),
            gate: tokio::sync::RwLock::new(()),
            resync: None,
        })
    }

    /// Brings (re)connected nodes up to date through `hook` (see [`QuicDeployer::sync`]).
    pub fn with_resync(mut self, hook: Resync) -> QuicDeployer {
        self.resync = Some(hook);
        self
    }

    /// Hands every connected node whose current connection was not synced yet (and is
    /// not waiting for a retry) to the [`Resync`] hook; remembers the ones it brought up
    /// to date.
    pub async fn sync(self: &Arc<Self>) {
        let Some(hook) = self.resync.clone() else {
            return;
        };
        let now = Instant::now();
        let mut due = Vec::new();
        for target in &self.targets {
            if !target.up.load(Ordering::Relaxed) {
                continue;
            }
            let Some(key) = target.connection_key().await else {
                continue;
            };
            let state = target.sync.lock();
            let waiting = state.retry_at.is_some_and(|at| now < at);
            if state.synced != Some(key) && !waiting {
                due.push((target.clone(), key));
            }
        }
        if due.is_empty() {
            return;
        }
        let addrs: Vec<String> = due.iter().map(|(t, _)| t.addr.clone()).collect();
        let failed = hook(self.clone(), addrs).await;
        for (target, key) in due {
            let mut state = target.sync.lock();
            if failed.contains(&target.addr) {
                state.retry_at = Some(now + RESYNC_RETRY_INTERVAL);
            } else {
                *state = SyncState {
                    synced: Some(key),
                    retry_at: None,
                };
            }
        }
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
    /// connected now, and resyncs nodes reached over a new connection; stops when the
    /// deployer is dropped.
    pub fn watch(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEALTH_INTERVAL).await;
                let Some(me) = weak.upgrade() else { return };
                me.connect_all().await;
                me.sync().await;
            }
        });
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
    target.clients.fetch_add(1, Ordering::Relaxed);
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
                        Ok(c) => {
                            c.deploy_with_credentials(
                                &plan.bytes,
                                options,
                                plan.credentials.to_vec(),
                            )
                            .await
                        }
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

    async fn running(&self, scope: Scope<'_>) -> Vec<(String, Result<Vec<String>, String>)> {
        self.each(scope, |target, tls| async move {
            let result = match client(&target, &tls).await {
                Ok(c) => c.list().await,
                Err(e) => Err(e),
            };
            settle(&target, &result).await;
            let ids = result.map_err(|e| e.to_string()).map(|listing| {
                let mut ids: Vec<String> = listing
                    .shards
                    .into_iter()
                    .flat_map(|shard| shard.plans)
                    .map(|plan| plan.workflow_id)
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            });
            (target.addr.clone(), ids)
        })
        .await
    }

    fn connected(&self) -> usize {
        self.targets
            .iter()
            .filter(|t| t.up.load(Ordering::Relaxed))
            .count()
    }

    fn gate(&self) -> &tokio::sync::RwLock<()> {
        &self.gate
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
