//! A shard: one glommio executor on one core owning its listener, plan table, routes,
//! arena pool, expression services, outbound HTTP client, admission state and metrics.
//! Nothing on the request path is shared with other shards; plans and scrapes arrive as
//! channel messages. Executions run on the shard as futures: one that waits on an effect
//! (outbound HTTP, a timer, a sub-workflow's effects) suspends itself, not the shard.

pub mod arena;
pub mod clock;
pub mod doorbell;
pub mod effects;
mod handler;
pub(crate) mod journaling;
pub mod local;
pub mod plan_bytes;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TryRecvError};
use futures_lite::future;
use glommio::channels::local_channel;

use crate::admission::{Admission, QUEUE_DEPTH_MAX_DEFAULT};
use crate::engine::services::EngineServices;
use crate::ingress::{self, IngressState, Limits};
use crate::metrics::ShardMetrics;
use crate::outbound::{self, OutboundConfig};
use crate::router::Router;
use crate::schedule;

use arena::ArenaPool;
pub use arena::EXECUTIONS_IN_FLIGHT_MAX_DEFAULT;
use doorbell::{Doorbell, Wake};
pub use doorbell::{ShardGone, ShardInbox, ShardSender};
pub use handler::WebhookHandler;
pub use plan_bytes::{PlanBytes, PlanError};

/// How often a draining shard looks whether its last connections closed.
pub const DRAIN_POLL_INTERVAL: Duration = Duration::from_millis(5);
/// How often a shard looks at its command queue if its doorbell cannot be read (never
/// seen: a local socket pair does not fail; this keeps the shard controllable if it does).
pub const DOORBELL_FALLBACK_POLL_INTERVAL: Duration = Duration::from_millis(5);
/// Longest a draining shard waits for open connections and executions in flight to finish.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Plan table generation of a draining shard: its plans still route requests, but no
/// schedule timer belongs to it (installs count up from 0 and never come near it).
const GENERATION_DRAINING: u64 = u64::MAX - 1;
/// Plan table generation of a stopped shard (empty table).
const GENERATION_STOPPED: u64 = u64::MAX;

/// Settings of one shard.
#[derive(Debug, Clone)]
pub struct ShardConfig {
    /// Shard index (0-based).
    pub index: usize,
    /// Number of shards of the process (for schedule ownership).
    pub shards: usize,
    /// Webhook listener address (every shard binds the same, SO_REUSEPORT).
    pub webhook_addr: SocketAddr,
    /// Connection limits.
    pub limits: Limits,
    /// Serve `/webhook-test/` URLs.
    pub test_mode: bool,
    /// Base URL for `webhookUrl` in trigger items, ending in `/`. `None` = the address the
    /// listener bound (port 0 resolved; a wildcard host shown as `localhost`), so the URL a
    /// workflow sees is one that reaches it.
    pub base_url: Option<String>,
    /// Bound of the admission queue.
    pub queue_depth_max: usize,
    /// Most executions in flight (arenas lent) at once; 503 above it.
    pub executions_max: usize,
    /// Outbound HTTP settings (timeouts, retries, breaker, TLS roots).
    pub outbound: OutboundConfig,
    /// Execution journal of this shard (`None` = executions are not recorded).
    pub journal: Option<crate::journal::ShardJournalConfig>,
}

impl ShardConfig {
    /// A configuration with default limits.
    pub fn new(index: usize, shards: usize, webhook_addr: SocketAddr) -> Self {
        ShardConfig {
            index,
            shards,
            webhook_addr,
            limits: Limits::default(),
            test_mode: false,
            base_url: None,
            queue_depth_max: QUEUE_DEPTH_MAX_DEFAULT,
            executions_max: EXECUTIONS_IN_FLIGHT_MAX_DEFAULT,
            outbound: OutboundConfig::default(),
            journal: None,
        }
    }
}

/// A message from the control thread to a shard.
#[derive(Debug)]
pub enum ShardCommand {
    /// Install (or replace, by workflow id) a plan.
    Install(Arc<PlanBytes>),
    /// Remove the plan of a workflow id.
    Remove(String),
    /// Send a copy of the shard's metrics.
    Snapshot(Sender<ShardMetrics>),
    /// Send the list of installed plans. Commands are handled in order, so sent after an
    /// `Install`/`Remove` the answer acknowledges it (the QUIC receiver relies on this).
    Plans(Sender<ShardPlanList>),
    /// Stop accepting, finish open requests, exit.
    Drain,
}

/// The plans a shard runs, answered to [`ShardCommand::Plans`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlanList {
    /// Shard index.
    pub shard: usize,
    /// Plan table generation (grows by one per install or removal).
    pub generation: u64,
    /// Installed plans, in install order.
    pub plans: Vec<InstalledPlan>,
}

/// One installed plan as reported by a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPlan {
    /// Workflow id (name when the plan has none).
    pub workflow_id: String,
    /// Workflow version.
    pub version: u64,
    /// Plan id.
    pub plan_id: String,
    /// Digest of the credentials installed with the plan (never the credentials).
    pub credentials_digest: [u8; 32],
}

/// A plan installed on a shard.
#[derive(Debug, Clone)]
pub(crate) struct Installed {
    pub(crate) bytes: Arc<PlanBytes>,
    /// Index of the workflow's counters in the shard metrics.
    pub(crate) stats: usize,
}

/// A shard's immutable plan table. Swapped whole on install; requests hold an `Rc` of
/// the table they were admitted on, so in-flight executions finish on their old plan.
#[derive(Debug, Default, Clone)]
pub(crate) struct PlanTable {
    pub(crate) plans: Vec<Installed>,
    pub(crate) router: Router,
    pub(crate) generation: u64,
}

/// Everything a shard owns.
pub(crate) struct ShardState {
    pub(crate) config: ShardConfig,
    pub(crate) table: RefCell<Rc<PlanTable>>,
    pub(crate) arenas: Rc<ArenaPool>,
    pub(crate) services: RefCell<EngineServices<'static>>,
    /// Outbound HTTP (`None`: HTTP Request nodes fail with `LF-ENGINE-040`; only the
    /// no-network mode of `linkflow run` has none).
    pub(crate) outbound: Option<outbound::Client>,
    /// Where executions read the time, and how their timers fire.
    pub(crate) clock: clock::Clock,
    /// A shard of `linkflow run` (`local`): errors name its flags, not the data plane.
    pub(crate) local_run: bool,
    pub(crate) metrics: RefCell<ShardMetrics>,
    pub(crate) admission: Admission,
    pub(crate) ingress: Rc<IngressState>,
    pub(crate) executions: Cell<u64>,
    /// Last schedule fire (Unix ms) per workflow, so a swapped plan never fires a slot the
    /// old one already fired.
    pub(crate) last_fires: RefCell<Vec<(String, i64)>>,
    /// The shard's execution journal (issue #7).
    pub(crate) journal: Option<Rc<crate::journal::ShardJournal>>,
    /// `webhookUrl`'s base, resolved at bind (see [`ShardConfig::base_url`]).
    pub(crate) base_url: String,
    /// The JSON body parser's working buffers, lent to each request's parse.
    pub(crate) body_buffers: RefCell<crate::ingress::body::BodyBuffers>,
}

impl ShardState {
    /// The state of a data-plane shard: wall clock, outbound HTTP, no plans yet;
    /// `base_url` is `webhookUrl`'s base, resolved at bind.
    pub(crate) fn new(
        config: ShardConfig,
        services: EngineServices<'static>,
        journal: Option<Rc<crate::journal::ShardJournal>>,
        base_url: String,
    ) -> Self {
        ShardState {
            metrics: RefCell::new(ShardMetrics::new(config.index)),
            admission: Admission::new(config.queue_depth_max),
            arenas: ArenaPool::new(config.executions_max.max(1)),
            outbound: Some(outbound::Client::new(config.outbound.clone())),
            clock: clock::Clock::wall(),
            local_run: false,
            ingress: Rc::new(IngressState::new(config.limits)),
            config,
            table: RefCell::new(Rc::new(PlanTable::default())),
            services: RefCell::new(services),
            executions: Cell::new(journal.as_ref().map_or(0, |j| j.sequence_max())),
            base_url,
            body_buffers: RefCell::new(crate::ingress::body::BodyBuffers::default()),
            last_fires: RefCell::new(Vec::new()),
            journal,
        }
    }

    /// The next execution id of this shard (`<shard>-<counter>`).
    pub(crate) fn next_execution_id(&self) -> String {
        let n = self.executions.get() + 1;
        self.executions.set(n);
        format!("{}-{n}", self.config.index)
    }

    /// [`Self::next_execution_id`] written into an execution's arena: the request path
    /// makes no heap allocation and no `fmt` call for it (itoa + copy, ~50 instructions
    /// instead of ~400).
    pub(crate) fn next_execution_id_in<'a>(&self, arena: &'a bumpalo::Bump) -> &'a str {
        let n = self.executions.get() + 1;
        self.executions.set(n);
        let (mut shard, mut seq) = (itoa::Buffer::new(), itoa::Buffer::new());
        let (shard, seq) = (shard.format(self.config.index), seq.format(n));
        let mut id =
            bumpalo::collections::String::with_capacity_in(shard.len() + 1 + seq.len(), arena);
        id.push_str(shard);
        id.push('-');
        id.push_str(seq);
        id.into_bump_str()
    }
}

/// Wall clock in Unix epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `http://<bound>/` with a wildcard host (`0.0.0.0`, `::`) shown as `localhost`: the
/// address is reachable on every interface, and loopback is the one sure to be.
fn base_url_of(bound: SocketAddr) -> String {
    if bound.ip().is_unspecified() {
        format!("http://localhost:{}/", bound.port())
    } else {
        format!("http://{bound}/")
    }
}

/// Runs a shard until it is told to drain; call it inside the shard's glommio executor.
/// Commands arrive through `inbox` (see [`doorbell::queue`]). `started` receives the bound
/// listener address (or why binding failed) once the shard accepts connections.
pub async fn run(
    config: ShardConfig,
    inbox: ShardInbox,
    started: Sender<Result<SocketAddr, String>>,
) {
    let doorbell = inbox.attach();
    let listener = match ingress::bind(config.webhook_addr) {
        Ok(listener) => listener,
        Err(error) => {
            let _ = started.send(Err(format!(
                "binding {} failed: {error}",
                config.webhook_addr
            )));
            return;
        }
    };
    let local = listener.local_addr().map_err(|e| e.to_string());
    let base_url = match (&config.base_url, &local) {
        (Some(url), _) => url.clone(),
        (None, Ok(bound)) => base_url_of(*bound),
        (None, Err(_)) => crate::engine::runner::DEFAULT_BASE_URL.to_owned(),
    };
    // One JavaScript runtime per shard, reused by every execution (creating one costs
    // milliseconds). Without it, JS expressions fail with a clear code instead.
    let services = match EngineServices::with_js(0) {
        Ok(services) => services,
        Err(error) => {
            tracing::warn!(shard = config.index, error = %error.message, "no JavaScript runtime");
            EngineServices::fast_only(0)
        }
    }
    .with_clock(now_ms);
    // The journal recovers (scan, cut a torn tail, rebuild the index) before the shard
    // serves; execution ids continue after the highest one on disk.
    let journal = match &config.journal {
        Some(journal) => match crate::journal::ShardJournal::open(
            &journal.config,
            config.index,
            Some(journal.queries.clone()),
        ) {
            Ok(journal) => Some(journal),
            Err(message) => {
                let _ = started.send(Err(message));
                return;
            }
        },
        None => None,
    };
    let state = Rc::new(ShardState::new(config, services, journal, base_url));
    let ingress_state = state.ingress.clone();
    let _ = started.send(local);
    let (stop_tx, stop_rx) = local_channel::new_bounded::<()>(1);
    let handler = Rc::new(WebhookHandler::new(state.clone()));
    let serve = ingress::serve(listener, handler, ingress_state, async move {
        let _ = stop_rx.recv().await;
    });
    let control = control_loop(state, doorbell, stop_tx);
    future::zip(serve, control).await;
}

/// Handles commands until told to drain. Sleeps until the doorbell rings; after each
/// wake-up it handles every queued command, in order.
async fn control_loop(
    state: Rc<ShardState>,
    mut doorbell: Doorbell,
    stop: local_channel::LocalSender<()>,
) {
    let mut closed = false;
    let mut failed = false;
    loop {
        loop {
            match doorbell.try_recv() {
                Ok(ShardCommand::Install(bytes)) => install(&state, Some(bytes), None),
                Ok(ShardCommand::Remove(workflow)) => install(&state, None, Some(&workflow)),
                Ok(ShardCommand::Snapshot(reply)) => {
                    let mut snapshot = state.metrics.borrow().clone();
                    snapshot.plans = state.table.borrow().plans.len();
                    snapshot.connections = state.ingress.connections.get();
                    snapshot.timeouts = state.ingress.timeouts.get();
                    snapshot.executions_in_flight = state.arenas.in_use();
                    let _ = reply.send(snapshot);
                }
                Ok(ShardCommand::Plans(reply)) => {
                    let table = state.table.borrow().clone();
                    let _ = reply.send(ShardPlanList {
                        shard: state.config.index,
                        generation: table.generation,
                        plans: table
                            .plans
                            .iter()
                            .map(|p| InstalledPlan {
                                workflow_id: p.bytes.workflow_id().to_owned(),
                                version: p.bytes.version(),
                                plan_id: p.bytes.plan_id().to_owned(),
                                credentials_digest: p.bytes.credentials_digest(),
                            })
                            .collect(),
                    });
                }
                Ok(ShardCommand::Drain) | Err(TryRecvError::Disconnected) => {
                    drain(&state, &stop).await;
                    return;
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        // The doorbell closes only with the last sender, which disconnects the queue
        // first; an empty queue after end-of-file means nobody can send any more.
        if closed {
            drain(&state, &stop).await;
            return;
        }
        match doorbell.wait().await {
            Wake::Rung => {}
            Wake::Closed => closed = true,
            Wake::Failed(error) => {
                if !failed {
                    tracing::warn!(shard = state.config.index, %error, "shard doorbell failed; polling the command queue");
                    failed = true;
                }
                glommio::timer::sleep(DOORBELL_FALLBACK_POLL_INTERVAL).await;
            }
        }
    }
}

/// Stops accepting, ends the schedule timers, lets open connections and every execution in
/// flight finish (webhook and schedule fires alike, bounded by [`DRAIN_TIMEOUT`]), then makes
/// the journal durable.
///
/// Why executions and not only connections: a schedule fire has no connection. Waiting on
/// connections alone let the shard stop while fires were still running; their executions
/// were dropped unjournaled although they had already had effects (HTTP calls made).
async fn drain(state: &ShardState, stop: &local_channel::LocalSender<()>) {
    tracing::info!(shard = state.config.index, "draining");
    state.ingress.draining.set(true);
    let _ = stop.try_send(());
    stop_schedules(state);
    let started = Instant::now();
    while busy(state) && started.elapsed() < DRAIN_TIMEOUT {
        glommio::timer::sleep(DRAIN_POLL_INTERVAL).await;
    }
    if busy(state) {
        tracing::warn!(
            shard = state.config.index,
            connections = state.ingress.connections.get(),
            executions = state.arenas.in_use(),
            "drain timed out; executions still running are not journaled"
        );
    }
    *state.table.borrow_mut() = Rc::new(PlanTable {
        generation: GENERATION_STOPPED,
        ..PlanTable::default()
    });
    // Every record appended so far reaches the disk before the shard stops.
    if let Some(journal) = &state.journal {
        journal.close().await;
    }
}

/// Whether a draining shard still has open connections or executions in flight (every
/// execution, webhook or schedule fire, holds an arena while it runs).
fn busy(state: &ShardState) -> bool {
    state.ingress.connections.get() > 0 || state.arenas.in_use() > 0
}

/// Ends the schedule timers without changing what requests route to: the same plans under
/// a generation no timer was started for. Each timer exits when it next wakes and sees the
/// generation changed, so no fire starts once the drain has begun, while requests already
/// read on open connections are still answered from the plans they address.
fn stop_schedules(state: &ShardState) {
    let draining = {
        let old = state.table.borrow();
        debug_assert!(old.generation < GENERATION_DRAINING, "drained twice");
        PlanTable {
            generation: GENERATION_DRAINING,
            ..PlanTable::clone(&old)
        }
    };
    *state.table.borrow_mut() = Rc::new(draining);
}

/// Builds the next plan table: `added` replaces the plan with the same workflow id,
/// `removed` drops one. The old table stays alive for requests admitted on it.
fn install(state: &Rc<ShardState>, added: Option<Arc<PlanBytes>>, removed: Option<&str>) {
    let old = state.table.borrow().clone();
    let replaced = added.as_ref().map(|b| b.workflow_id().to_owned());
    let mut plans: Vec<Installed> = old
        .plans
        .iter()
        .filter(|p| {
            let id = p.bytes.workflow_id();
            Some(id) != removed && Some(id) != replaced.as_deref()
        })
        .cloned()
        .collect();
    if let Some(bytes) = added {
        let stats = state
            .metrics
            .borrow_mut()
            .workflow_index(bytes.workflow_id());
        plans.push(Installed { bytes, stats });
    }
    let router = Router::build(plans.iter().map(|p| p.bytes.plan()), &state.base_url);
    let table = Rc::new(PlanTable {
        plans,
        router,
        generation: old.generation + 1,
    });
    tracing::info!(
        shard = state.config.index,
        plans = table.plans.len(),
        routes = table.router.len(),
        generation = table.generation,
        "plan table installed"
    );
    *state.table.borrow_mut() = table.clone();
    schedule::start(state, &table);
}

#[cfg(test)]
mod tests {
    use super::base_url_of;

    #[test]
    fn the_base_url_names_the_bound_address_and_a_wildcard_as_localhost() {
        let url = |s: &str| base_url_of(s.parse().unwrap());
        assert_eq!(url("127.0.0.1:41234"), "http://127.0.0.1:41234/");
        assert_eq!(url("0.0.0.0:5678"), "http://localhost:5678/");
        assert_eq!(url("[::]:5678"), "http://localhost:5678/");
        assert_eq!(url("[::1]:8080"), "http://[::1]:8080/");
    }
}
