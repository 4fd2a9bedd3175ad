//! QUIC plan-deploy load against a data-plane node (issue #8; the figures of issue #5).
//!
//! Compiles the generated transform chain of `nodes` nodes (`linkflow_bench::workflows`)
//! into `warmup + count` sealed plans *before* measuring, then submits them over one
//! reused QUIC connection (mutual TLS) with the control plane's own client
//! ([`PlanClient`]), `concurrency` requests at a time, and records each deploy's latency
//! (request sent to the node's reply, which comes after every shard installed the plan)
//! in an HDR histogram.
//!
//! Every version is a real new plan: the workflow name carries the version, so the plan id
//! (the content hash) differs, and the plan is stamped with the version as the control
//! plane stamps it. Versions continue after whatever the node runs already, so a second run
//! against the same node is not refused as older. With `same`, one plan is installed
//! during warm-up and then resubmitted `count` times: each measured deploy is the node's
//! idempotent no-op (outcome `unchanged`).
//!
//! With `concurrency > 1` the versions of one workflow may arrive out of order, so the
//! deploys are sent with `allow_older` (each still installs: a different plan id).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use linkflow_codec::envelope::{self, SealedBytes};
use linkflow_codec::wire::{DeployOutcome, ListReply};
use linkflow_controlplane::quic::{ClientOptions, ClientTls, DeployOptions, PlanClient};
use serde::{Deserialize, Serialize};

use crate::stats::{fmt_us, Latency};

/// Most measured deploys in one run.
pub const DEPLOYS_MAX: usize = 100_000;
/// Most unmeasured warm-up deploys.
pub const WARMUP_DEPLOYS_MAX: usize = 10_000;
/// Most deploys in flight at once. The node itself applies at most
/// `linkflow_dataplane::control::REQUESTS_IN_FLIGHT_MAX` (8) and answers busy above it;
/// the client retries those with backoff, and the retries count in the latency.
pub const CONCURRENCY_MAX: usize = 64;
/// Most bytes of sealed plans compiled ahead of a run. Why: every plan is held in memory
/// so compiling does not count in (or disturb) the measured deploys.
pub const PLANS_BYTES_MAX: u64 = 1 << 30;
/// Largest deploy latency the histogram records, microseconds (1 hour).
const LATENCY_MAX_US: u64 = 3_600_000_000;

/// One deploy-load run.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// The node's QUIC address, `HOST:PORT`.
    pub to: String,
    /// Client certificate, key and the CA the node's certificate must chain to.
    pub tls: ClientTls,
    /// Nodes of the generated workflow.
    pub nodes: usize,
    /// Measured deploys.
    pub count: usize,
    /// Unmeasured deploys before them.
    pub warmup: usize,
    /// Deploys in flight at once.
    pub concurrency: usize,
    /// Resubmit one plan (idempotent no-ops) instead of a new version each time.
    pub same: bool,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// A rejected configuration, with a stable code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeployConfigError {
    /// `nodes` outside the generator's range.
    #[error("nodes must be {min}..={max}, got {0}", min = linkflow_bench::workflows::TRANSFORM_NODES_MIN, max = linkflow_bench::workflows::TRANSFORM_NODES_MAX)]
    Nodes(usize),
    /// `count` outside `1..=DEPLOYS_MAX` or `warmup` above `WARMUP_DEPLOYS_MAX`.
    #[error("count must be 1..={DEPLOYS_MAX} and warmup <= {WARMUP_DEPLOYS_MAX}, got {count} and {warmup}")]
    Count {
        /// Measured deploys asked for.
        count: usize,
        /// Warm-up deploys asked for.
        warmup: usize,
    },
    /// `concurrency` outside `1..=CONCURRENCY_MAX`.
    #[error("concurrency must be 1..={CONCURRENCY_MAX}, got {0}")]
    Concurrency(usize),
    /// The plans would not fit in [`PLANS_BYTES_MAX`].
    #[error("{count} plans of {plan_bytes} bytes exceed {PLANS_BYTES_MAX} bytes; deploy fewer or smaller plans")]
    PlansBytes {
        /// Plans to compile.
        count: usize,
        /// Bytes of one.
        plan_bytes: u64,
    },
    /// The generated workflow did not compile (a generator bug).
    #[error("the generated workflow does not compile: {0}")]
    Compile(String),
}

impl DeployConfigError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Nodes(_) => "deploy_nodes",
            Self::Count { .. } => "deploy_count",
            Self::Concurrency(_) => "deploy_concurrency",
            Self::PlansBytes { .. } => "deploy_plans_bytes",
            Self::Compile(_) => "deploy_compile",
        }
    }
}

impl DeployConfig {
    /// Checks every bound.
    pub fn validate(&self) -> Result<(), DeployConfigError> {
        use linkflow_bench::workflows::{TRANSFORM_NODES_MAX, TRANSFORM_NODES_MIN};
        if !(TRANSFORM_NODES_MIN..=TRANSFORM_NODES_MAX).contains(&self.nodes) {
            return Err(DeployConfigError::Nodes(self.nodes));
        }
        if self.count == 0 || self.count > DEPLOYS_MAX || self.warmup > WARMUP_DEPLOYS_MAX {
            return Err(DeployConfigError::Count {
                count: self.count,
                warmup: self.warmup,
            });
        }
        if self.concurrency == 0 || self.concurrency > CONCURRENCY_MAX {
            return Err(DeployConfigError::Concurrency(self.concurrency));
        }
        Ok(())
    }

    fn mode(&self) -> &'static str {
        if self.same {
            "same"
        } else {
            "distinct"
        }
    }
}

/// The configuration echoed into results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployEcho {
    /// The node's QUIC address.
    pub to: String,
    /// `distinct` (a new plan each deploy) or `same` (idempotent resubmits).
    pub mode: String,
    /// Nodes of the workflow.
    pub nodes: usize,
    /// Measured deploys.
    pub count: usize,
    /// Warm-up deploys.
    pub warmup: usize,
    /// Deploys in flight at once.
    pub concurrency: usize,
}

/// Deploys by the node's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcomes {
    /// Installed on every shard (a new plan).
    pub installed: u64,
    /// The node already ran that plan id (no-op).
    pub unchanged: u64,
    /// Validated only (not activated).
    pub validated: u64,
}

/// Sizes of the deployed plans.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSizes {
    /// Sealed bytes of the smallest plan.
    pub min: u64,
    /// Sealed bytes of the largest plan.
    pub max: u64,
    /// Sealed bytes of every measured deploy together.
    pub total: u64,
}

/// What the node runs after the run (from a List request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRuns {
    /// Workflow id deployed.
    pub workflow_id: String,
    /// The version each shard runs (`None`: that shard does not run the workflow).
    pub shard_versions: Vec<Option<u64>>,
    /// The plan id shard 0 runs.
    pub plan_id: Option<String>,
    /// The highest version submitted in this run.
    pub last_submitted_version: u64,
    /// The plan id of that version.
    pub last_submitted_plan_id: String,
}

/// One deploy-load run's results, the JSON document `--json` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployReport {
    /// Always `linkflow-loadtest`.
    pub tool: String,
    /// Always `deploy`.
    pub kind: String,
    /// What ran.
    pub config: DeployEcho,
    /// Measured deploys that succeeded.
    pub deploys: u64,
    /// Successful deploys by outcome.
    pub outcomes: Outcomes,
    /// Failed deploys by the error's stable code (`LF-QUIC-005`, ...).
    pub errors: BTreeMap<String, u64>,
    /// Total failed deploys.
    pub errors_total: u64,
    /// Wall time of the measured deploys, seconds.
    pub elapsed_s: f64,
    /// Successful deploys per second.
    pub deploys_per_s: f64,
    /// Per-deploy latency (request to the node's reply), microseconds.
    pub latency_us: Latency,
    /// Sealed plan sizes.
    pub plan_bytes: PlanSizes,
    /// Mean time to compile and seal one plan (not in the latency), microseconds.
    pub compile_us_mean: f64,
    /// Shards of the node.
    pub shards: u32,
    /// What the node runs afterwards.
    pub node_runs: NodeRuns,
}

impl DeployReport {
    /// Markdown summary (one table; the histogram stays in the JSON).
    pub fn markdown(&self) -> String {
        let c = &self.config;
        let l = &self.latency_us;
        let mut s = format!(
            "## linkflow-loadtest deploy {}\n\n{}-node workflow, {} deploys ({}), concurrency {}, {} warm-up, {} shard(s)\n\n",
            c.to, c.nodes, c.count, c.mode, c.concurrency, c.warmup, self.shards
        );
        s.push_str(
            "| deploys/s | deploys | errors | plan bytes | p50 | p90 | p99 | p99.9 | max |\n",
        );
        s.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        s.push_str(&format!(
            "| {:.1} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            self.deploys_per_s,
            self.deploys,
            self.errors_total,
            self.plan_bytes.max,
            fmt_us(l.p50),
            fmt_us(l.p90),
            fmt_us(l.p99),
            fmt_us(l.p999),
            fmt_us(l.max),
        ));
        let versions: Vec<String> = self
            .node_runs
            .shard_versions
            .iter()
            .map(|v| v.map_or_else(|| "none".to_owned(), |v| v.to_string()))
            .collect();
        s.push_str(&format!(
            "\nOutcomes: {} installed, {} unchanged, {} validated. Afterwards the node's shards run `{}` version {} (last submitted {}).\n",
            self.outcomes.installed,
            self.outcomes.unchanged,
            self.outcomes.validated,
            self.node_runs.workflow_id,
            versions.join(", "),
            self.node_runs.last_submitted_version,
        ));
        if self.errors_total > 0 {
            s.push_str(&format!(
                "\nErrors: {}\n",
                serde_json::to_string(&self.errors).unwrap_or_default()
            ));
        }
        s
    }
}

/// Counters one deploy task collects.
struct TaskStats {
    hist: Histogram<u64>,
    outcomes: Outcomes,
    errors: BTreeMap<String, u64>,
}

/// One compiled version.
struct Sealed {
    version: u64,
    plan_id: String,
    bytes: SealedBytes,
}

/// The sealed plans of a run, compiled ahead.
struct Plans {
    /// Warm-up deploys' plans, then the measured ones' (one plan in `same` mode).
    sealed: Vec<Sealed>,
    compile_us_mean: f64,
}

/// Compiles the workflow of `nodes` nodes stamped with `version`; returns its workflow id
/// and the sealed plan.
fn compile(nodes: usize, version: u64) -> Result<(String, Sealed), DeployConfigError> {
    let workflow = linkflow_bench::workflows::transform_workflow(nodes, version).to_string();
    let document = linkflow_codec::model::import(workflow.as_bytes())
        .map_err(|e| DeployConfigError::Compile(e.to_string()))?;
    let mut compiled = linkflow_codec::plan::compiler::compile(&document.workflow)
        .map_err(|d| DeployConfigError::Compile(format!("{d:?}")))?;
    // As the control plane stamps every saved version (the node refuses older ones).
    compiled.plan.workflow_version = version;
    let (bytes, plan_id) = envelope::seal(&compiled.plan);
    Ok((
        compiled.plan.workflow_id.clone(),
        Sealed {
            version,
            plan_id,
            bytes,
        },
    ))
}

/// Compiles every plan of the run; versions start after `first_version - 1`.
fn compile_all(cfg: &DeployConfig, first_version: u64) -> Result<Plans, DeployConfigError> {
    let started = Instant::now();
    let (_, first) = compile(cfg.nodes, first_version)?;
    let total = cfg.warmup + cfg.count;
    let plan_bytes = first.bytes.len() as u64;
    let distinct = if cfg.same { 1 } else { total.max(1) };
    if plan_bytes.saturating_mul(distinct as u64) > PLANS_BYTES_MAX {
        return Err(DeployConfigError::PlansBytes {
            count: distinct,
            plan_bytes,
        });
    }
    let mut sealed = Vec::with_capacity(distinct);
    sealed.push(first);
    for k in 1..distinct as u64 {
        sealed.push(compile(cfg.nodes, first_version + k)?.1);
    }
    let compile_us_mean = started.elapsed().as_secs_f64() * 1e6 / distinct as f64;
    Ok(Plans {
        sealed,
        compile_us_mean,
    })
}

/// The highest version of `workflow_id` any shard runs.
fn running_version(list: &ListReply, workflow_id: &str) -> Option<u64> {
    list.shards
        .iter()
        .flat_map(|s| &s.plans)
        .filter(|p| p.workflow_id == workflow_id)
        .map(|p| p.version)
        .max()
}

/// Runs the deploy load; needs no runtime (it starts its own current-thread tokio runtime,
/// so the client's cost stays on one core like the HTTP modes).
pub fn run_deploy(cfg: &DeployConfig) -> anyhow::Result<DeployReport> {
    cfg.validate()
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(cfg))
}

async fn run_async(cfg: &DeployConfig) -> anyhow::Result<DeployReport> {
    let options = ClientOptions {
        request_timeout: cfg.timeout,
        ..ClientOptions::default()
    };
    let client = PlanClient::connect_with(&cfg.to, &cfg.tls, options)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let client = Arc::new(client);
    let shards = client
        .hello()
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?
        .shards;
    // The workflow id is fixed by the generator; ask what the node runs to go on from it.
    let (workflow_id, _) = compile(cfg.nodes, 0)?;
    let before = client
        .list()
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let first_version = running_version(&before, &workflow_id).unwrap_or(0) + 1;
    let plans = Arc::new(compile_all(cfg, first_version)?);
    let deploy_options = DeployOptions {
        activate: true,
        allow_older: cfg.concurrency > 1,
    };
    // Warm-up, one at a time: the connection, the node's allocator and caches; in `same`
    // mode this installs the plan every measured deploy then resubmits.
    let warmup = if cfg.same {
        cfg.warmup.max(1)
    } else {
        cfg.warmup
    };
    for k in 0..warmup {
        let plan = &plans.sealed[if cfg.same { 0 } else { k }];
        client
            .deploy(&plan.bytes, deploy_options)
            .await
            .map_err(|e| anyhow::anyhow!("warm-up deploy failed: {}: {e}", e.code()))?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(cfg.concurrency);
    for _ in 0..cfg.concurrency {
        let (client, plans, next) = (client.clone(), plans.clone(), next.clone());
        let (count, same, offset) = (cfg.count, cfg.same, cfg.warmup);
        tasks.push(tokio::spawn(async move {
            let mut stats = TaskStats {
                hist: Histogram::new_with_bounds(1, LATENCY_MAX_US, 3)
                    .expect("static histogram bounds"),
                outcomes: Outcomes::default(),
                errors: BTreeMap::new(),
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let plan = &plans.sealed[if same { 0 } else { offset + i }];
                let sent = Instant::now();
                let result = client.deploy(&plan.bytes, deploy_options).await;
                let us = (sent.elapsed().as_micros() as u64).clamp(1, LATENCY_MAX_US);
                match result {
                    Ok(reply) => {
                        stats.hist.record(us).expect("clamped into bounds");
                        match reply.outcome {
                            DeployOutcome::Installed => stats.outcomes.installed += 1,
                            DeployOutcome::Unchanged => stats.outcomes.unchanged += 1,
                            DeployOutcome::Validated => stats.outcomes.validated += 1,
                        }
                    }
                    Err(error) => *stats.errors.entry(error.code().to_owned()).or_default() += 1,
                }
            }
            stats
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_US, 3)?;
    let mut outcomes = Outcomes::default();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        let stats = task.await?;
        hist.add(&stats.hist)?;
        outcomes.installed += stats.outcomes.installed;
        outcomes.unchanged += stats.outcomes.unchanged;
        outcomes.validated += stats.outcomes.validated;
        for (code, n) in stats.errors {
            *errors.entry(code).or_default() += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
    let after = client
        .list()
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    client.close().await;
    let measured: Vec<&Sealed> = if cfg.same {
        vec![&plans.sealed[0]; cfg.count]
    } else {
        plans.sealed[cfg.warmup..].iter().collect()
    };
    let sizes = measured.iter().map(|s| s.bytes.len() as u64);
    let plan_bytes = PlanSizes {
        min: sizes.clone().min().unwrap_or(0),
        max: sizes.clone().max().unwrap_or(0),
        total: sizes.sum(),
    };
    let last = measured.iter().max_by_key(|s| s.version);
    let last_submitted_version = last.map_or(0, |s| s.version);
    let last_submitted_plan_id = last.map(|s| s.plan_id.clone()).unwrap_or_default();
    let shard_versions = after
        .shards
        .iter()
        .map(|s| {
            s.plans
                .iter()
                .find(|p| p.workflow_id == workflow_id)
                .map(|p| p.version)
        })
        .collect();
    let plan_id = after.shards.first().and_then(|s| {
        s.plans
            .iter()
            .find(|p| p.workflow_id == workflow_id)
            .map(|p| p.plan_id.clone())
    });
    let deploys = hist.len();
    Ok(DeployReport {
        tool: "linkflow-loadtest".into(),
        kind: "deploy".into(),
        config: DeployEcho {
            to: cfg.to.clone(),
            mode: cfg.mode().into(),
            nodes: cfg.nodes,
            count: cfg.count,
            warmup,
            concurrency: cfg.concurrency,
        },
        deploys,
        outcomes,
        errors_total: errors.values().sum(),
        errors,
        elapsed_s: elapsed,
        deploys_per_s: deploys as f64 / elapsed,
        latency_us: Latency::from_hist(&hist),
        plan_bytes,
        compile_us_mean: plans.compile_us_mean,
        shards,
        node_runs: NodeRuns {
            workflow_id,
            shard_versions,
            plan_id,
            last_submitted_version,
            last_submitted_plan_id,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DeployConfig {
        DeployConfig {
            to: "127.0.0.1:1".into(),
            tls: ClientTls::from_dir(std::path::Path::new("/nonexistent")),
            nodes: 20,
            count: 10,
            warmup: 0,
            concurrency: 1,
            same: false,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn bounds_are_checked_with_stable_codes() {
        assert_eq!(config().validate(), Ok(()));
        let code = |f: fn(&mut DeployConfig)| {
            let mut c = config();
            f(&mut c);
            c.validate().map_err(|e| e.code())
        };
        assert_eq!(code(|c| c.nodes = 2), Err("deploy_nodes"));
        assert_eq!(code(|c| c.count = 0), Err("deploy_count"));
        assert_eq!(code(|c| c.count = DEPLOYS_MAX + 1), Err("deploy_count"));
        assert_eq!(code(|c| c.concurrency = 0), Err("deploy_concurrency"));
        assert_eq!(
            code(|c| c.concurrency = CONCURRENCY_MAX + 1),
            Err("deploy_concurrency")
        );
    }

    #[test]
    fn every_version_is_a_new_plan_of_the_same_workflow_stamped_with_its_version() {
        let mut cfg = config();
        cfg.count = 3;
        cfg.warmup = 1;
        let plans = compile_all(&cfg, 7).expect("compiles");
        let versions: Vec<u64> = plans.sealed.iter().map(|s| s.version).collect();
        assert_eq!(versions, [7, 8, 9, 10]);
        let mut ids: Vec<String> = plans
            .sealed
            .iter()
            .map(|s| {
                let plan = envelope::open(&s.bytes).expect("seals open");
                assert_eq!(plan.workflow_version.to_native(), s.version);
                s.plan_id.clone()
            })
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4, "four distinct plan ids");
        cfg.same = true;
        assert_eq!(compile_all(&cfg, 1).expect("compiles").sealed.len(), 1);
    }
}
