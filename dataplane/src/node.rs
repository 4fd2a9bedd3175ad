//! A data-plane node (one process): starts the shards (one glommio executor per core),
//! hands plans to them, scrapes their metrics, runs the admin port, drains on SIGTERM.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::bounded;
use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement as GlommioPlacement};

use crate::admin::{self, AdminHandle};
use crate::ingress::Limits;
use crate::journal::export::{self, ExportHandle};
use crate::journal::{JournalConfig, JournalLink, ShardJournalConfig};
use crate::metrics::{self, ShardMetrics};
use crate::outbound::OutboundConfig;
use crate::shard::{self, PlanBytes, ShardCommand, ShardConfig, ShardPlanList, ShardSender};

/// Plans and scrape requests waiting per shard before `send` blocks the control thread.
const COMMAND_QUEUE_DEPTH: usize = 256;
/// Longest a shard may take to bind its listener at start.
const SHARD_START_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a scrape waits for one shard's snapshot.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often `run_until_signal` looks at the signal flag.
const SIGNAL_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Where shard executors run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Shard `i` is pinned to the `i`-th CPU of the process's affinity mask (`taskset`
    /// is honoured, unlike glommio's `CpuSet::online()`).
    Pinned,
    /// Executors float (tests on small machines, several nodes per host).
    Unbound,
}

/// Settings of a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Number of shards.
    pub shards: usize,
    /// Webhook listener address (port 0 picks a free port shared by all shards).
    pub webhook_addr: SocketAddr,
    /// Admin listener address (`/health/*`, `/metrics`); `None` = no admin port.
    pub admin_addr: Option<SocketAddr>,
    /// Executor placement.
    pub placement: Placement,
    /// Connection limits.
    pub limits: Limits,
    /// Serve `/webhook-test/` URLs.
    pub test_mode: bool,
    /// Base URL for `webhookUrl`, ending in `/`; `None` = the address the webhook listener
    /// bound (see [`crate::shard::ShardConfig::base_url`]).
    pub base_url: Option<String>,
    /// Admission queue bound per shard.
    pub queue_depth_max: usize,
    /// Execution journal (`None` = executions are not recorded).
    pub journal: Option<JournalConfig>,
    /// Most executions in flight per shard (each holds an arena); 503 above it.
    pub executions_max: usize,
    /// Outbound HTTP settings of every shard (timeouts, retries, breaker, TLS roots).
    pub outbound: OutboundConfig,
}

impl NodeConfig {
    /// Defaults: one shard per CPU of the affinity mask, pinned, webhook on `webhook_addr`.
    pub fn new(webhook_addr: SocketAddr) -> Self {
        NodeConfig {
            shards: affinity_cpus().len().max(1),
            webhook_addr,
            admin_addr: None,
            placement: Placement::Pinned,
            limits: Limits::default(),
            test_mode: false,
            base_url: None,
            queue_depth_max: crate::admission::QUEUE_DEPTH_MAX_DEFAULT,
            journal: None,
            executions_max: crate::shard::EXECUTIONS_IN_FLIGHT_MAX_DEFAULT,
            outbound: OutboundConfig::default(),
        }
    }
}

/// Why a node did not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A shard executor could not be created.
    #[error("LF-DATAPLANE-010: shard {shard} did not start: {message}")]
    Shard {
        /// Shard index.
        shard: usize,
        /// Reason.
        message: String,
    },
    /// The admin port could not be bound.
    #[error("LF-DATAPLANE-011: admin port: {0}")]
    Admin(std::io::Error),
}

/// Talks to the shards from any thread (the admin thread scrapes through it, the QUIC
/// receiver installs through it). Every command rings the shard's doorbell, so a shard
/// handles it as soon as its executor runs the control task, not at a poll interval.
#[derive(Debug, Clone)]
pub struct ShardLink {
    senders: Vec<ShardSender>,
    draining: Arc<AtomicBool>,
    journal: Option<JournalLink>,
}

impl ShardLink {
    /// Queries over the shards' execution journals (`None` without `--journal`).
    pub fn journal(&self) -> Option<&JournalLink> {
        self.journal.as_ref()
    }

    /// Copies of every shard's metrics (shards that do not answer are left out).
    pub fn snapshots(&self) -> Vec<ShardMetrics> {
        let replies: Vec<_> = self
            .senders
            .iter()
            .filter_map(|sender| {
                let (tx, rx) = bounded(1);
                sender.send(ShardCommand::Snapshot(tx)).ok().map(|_| rx)
            })
            .collect();
        replies
            .into_iter()
            .filter_map(|rx| rx.recv_timeout(SCRAPE_TIMEOUT).ok())
            .collect()
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.senders.len()
    }

    /// What every shard runs. `Err(shard)` names the first shard that did not answer
    /// within `timeout`.
    pub fn plans(&self, timeout: Duration) -> Result<Vec<ShardPlanList>, usize> {
        let replies: Vec<_> = self
            .senders
            .iter()
            .map(|sender| {
                let (tx, rx) = bounded(1);
                let _ = sender.send(ShardCommand::Plans(tx));
                rx
            })
            .collect();
        replies
            .into_iter()
            .enumerate()
            .map(|(shard, rx)| rx.recv_timeout(timeout).map_err(|_| shard))
            .collect()
    }

    /// Installs `plan` on every shard and waits until each one has swapped its plan table;
    /// returns every shard's plans afterwards. `Err(shard)` names a shard that did not
    /// acknowledge within `timeout`.
    pub fn install_and_wait(
        &self,
        plan: PlanBytes,
        timeout: Duration,
    ) -> Result<Vec<ShardPlanList>, usize> {
        self.broadcast_install(plan);
        // A shard handles its commands in order: its answer to `Plans` follows the install.
        self.plans(timeout)
    }

    /// Removes `workflow_id`'s plan from every shard and waits as
    /// [`ShardLink::install_and_wait`] does.
    pub fn remove_and_wait(
        &self,
        workflow_id: &str,
        timeout: Duration,
    ) -> Result<Vec<ShardPlanList>, usize> {
        self.broadcast_remove(workflow_id);
        self.plans(timeout)
    }

    /// Queues an install of `plan` on every shard (a stopped shard is skipped: it serves
    /// nothing any more).
    fn broadcast_install(&self, plan: PlanBytes) {
        let plan = Arc::new(plan);
        for sender in &self.senders {
            let _ = sender.send(ShardCommand::Install(plan.clone()));
        }
    }

    /// Queues the removal of `workflow_id`'s plan on every shard.
    fn broadcast_remove(&self, workflow_id: &str) {
        for sender in &self.senders {
            let _ = sender.send(ShardCommand::Remove(workflow_id.to_owned()));
        }
    }

    /// Prometheus text of the merged shard metrics.
    pub fn metrics_text(&self) -> String {
        metrics::render(&self.snapshots())
    }

    /// Ready: not draining, every shard answers and has plans installed.
    pub fn ready(&self) -> bool {
        if self.draining.load(Ordering::Relaxed) {
            return false;
        }
        let snapshots = self.snapshots();
        snapshots.len() == self.senders.len() && snapshots.iter().all(|s| s.plans > 0)
    }
}

/// A running node.
pub struct Node {
    link: ShardLink,
    executors: Vec<ExecutorJoinHandle<()>>,
    webhook_addr: SocketAddr,
    admin: Option<AdminHandle>,
    export: Option<ExportHandle>,
}

impl Node {
    /// Starts the shards (and the admin port); returns once every shard accepts.
    pub fn start(config: NodeConfig) -> Result<Node, NodeError> {
        let shards = config.shards.max(1);
        let cpus = affinity_cpus();
        let mut senders = Vec::with_capacity(shards);
        let mut executors = Vec::with_capacity(shards);
        let mut addr = config.webhook_addr;
        // Each shard serves history queries for its own journal over its own channel.
        let (journal_link, mut journal_queries) = match &config.journal {
            Some(_) => {
                let (link, receivers) = JournalLink::new(shards);
                (Some(link), receivers)
            }
            None => (None, Vec::new()),
        };
        journal_queries.reverse();
        for index in 0..shards {
            let (tx, rx) =
                shard::doorbell::queue(COMMAND_QUEUE_DEPTH).map_err(|e| NodeError::Shard {
                    shard: index,
                    message: format!("command queue: {e}"),
                })?;
            let (started_tx, started_rx) = bounded(1);
            let mut shard_config = ShardConfig::new(index, shards, addr);
            shard_config.limits = config.limits;
            shard_config.test_mode = config.test_mode;
            shard_config.base_url = config.base_url.clone();
            shard_config.queue_depth_max = config.queue_depth_max;
            shard_config.journal = config.journal.as_ref().and_then(|journal| {
                Some(ShardJournalConfig {
                    config: journal.clone(),
                    queries: journal_queries.pop()?,
                })
            });
            shard_config.executions_max = config.executions_max;
            shard_config.outbound = config.outbound.clone();
            let placement = match (config.placement, cpus.is_empty()) {
                (Placement::Pinned, false) => GlommioPlacement::Fixed(cpus[index % cpus.len()]),
                _ => GlommioPlacement::Unbound,
            };
            let executor = LocalExecutorBuilder::new(placement)
                .name(&format!("lf-shard-{index}"))
                .spawn(move || shard::run(shard_config, rx, started_tx))
                .map_err(|e| NodeError::Shard {
                    shard: index,
                    message: e.to_string(),
                })?;
            let bound = started_rx
                .recv_timeout(SHARD_START_TIMEOUT)
                .map_err(|e| NodeError::Shard {
                    shard: index,
                    message: e.to_string(),
                })?
                .map_err(|message| NodeError::Shard {
                    shard: index,
                    message,
                })?;
            // Port 0: the first shard picked the port, the others join it (SO_REUSEPORT).
            addr = bound;
            senders.push(tx);
            executors.push(executor);
        }
        let link = ShardLink {
            senders,
            draining: Arc::new(AtomicBool::new(false)),
            journal: journal_link,
        };
        // The export reads the segments the shards recovered; it starts once they serve.
        let export = match &config.journal {
            Some(journal) if journal.nats_url.is_some() => {
                Some(export::start(journal, shards).map_err(NodeError::Admin)?)
            }
            _ => None,
        };
        let admin = match config.admin_addr {
            Some(admin_addr) => {
                Some(admin::start(admin_addr, link.clone()).map_err(NodeError::Admin)?)
            }
            None => None,
        };
        tracing::info!(shards, webhook = %addr, admin = ?admin.as_ref().map(AdminHandle::addr), "data plane started");
        Ok(Node {
            link,
            executors,
            webhook_addr: addr,
            admin,
            export,
        })
    }

    /// The bound webhook address.
    pub fn webhook_addr(&self) -> SocketAddr {
        self.webhook_addr
    }

    /// The bound admin address, if any.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(AdminHandle::addr)
    }

    /// The NATS exporter of the journal, when `--nats-url` was given.
    pub fn journal_export(&self) -> Option<&ExportHandle> {
        self.export.as_ref()
    }

    /// A handle to scrape and query the shards.
    pub fn link(&self) -> ShardLink {
        self.link.clone()
    }

    /// Installs `plan` on every shard (replacing the plan with the same workflow id). Each
    /// shard swaps as soon as it handles the command (its doorbell is rung); requests
    /// already admitted finish on the old plan. Returns without waiting for the shards.
    pub fn install(&self, plan: PlanBytes) {
        self.link.broadcast_install(plan);
    }

    /// Removes the plan of `workflow_id` from every shard.
    pub fn remove(&self, workflow_id: &str) {
        self.link.broadcast_remove(workflow_id);
    }

    /// Stops accepting, lets open requests finish, stops the shards and the admin port.
    pub fn drain(self) {
        self.link.draining.store(true, Ordering::Relaxed);
        for sender in &self.link.senders {
            let _ = sender.send(ShardCommand::Drain);
        }
        for executor in self.executors {
            let _ = executor.join();
        }
        if let Some(admin) = self.admin {
            admin.stop();
        }
        if let Some(export) = self.export {
            // The journals are final now: give the exporter a bounded time to publish the
            // rest (a node leaving a fleet should not strand its last executions).
            if !export.drain(crate::journal::export::DRAIN_EXPORT_MAX) {
                tracing::warn!("journal export did not catch up before the drain ended; the journal keeps the rest");
            }
        }
        tracing::info!("data plane stopped");
    }

    /// Serves until SIGTERM or SIGINT, then drains.
    pub fn run_until_signal(self) -> std::io::Result<()> {
        let stop = register_stop_signals()?;
        self.run_until(&stop);
        Ok(())
    }

    /// Serves until `stop` is set (see [`register_stop_signals`]), then drains: stop
    /// accepting, let in-flight executions finish (bounded by the shards' drain timeout),
    /// stop the shards and the admin port.
    pub fn run_until(self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(SIGNAL_POLL_INTERVAL);
        }
        tracing::info!("signal received; draining");
        self.drain();
    }
}

/// Makes SIGTERM and SIGINT set the returned flag instead of ending the process.
pub fn register_stop_signals() -> std::io::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())?;
    Ok(stop)
}

/// CPUs of this process's affinity mask (what `taskset` set), in ascending order.
pub fn affinity_cpus() -> Vec<usize> {
    // SAFETY: `set` is a plain bitmask owned here; sched_getaffinity writes at most
    // `size_of::<cpu_set_t>()` bytes into it and CPU_ISSET only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}
