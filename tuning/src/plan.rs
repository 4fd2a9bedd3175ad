//! Capacity plan arithmetic: measured sweeps plus stated assumptions in, sizes out.

use linkflow_loadtest::Sweep;
use serde::Serialize;

/// Seconds per day.
pub const DAY_S: f64 = 86_400.0;

/// Journal detail per execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordLevel {
    /// One summary record per execution (id, workflow, status, timings).
    Summary,
    /// Every node's input and output items.
    All,
}

/// Inputs a user may override; defaults are the stated assumptions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assumptions {
    /// Executions per day.
    pub target_per_day: f64,
    /// p99 budget the sweeps were judged against, microseconds.
    pub p99_budget_us: u64,
    /// Peak-hour rate over the daily average.
    pub peak_factor: f64,
    /// Fraction of the measured max a core may be loaded to at peak (rest is headroom).
    pub utilisation_max: f64,
    /// Cores per node.
    pub cores_per_node: u32,
    /// Spare nodes for failure and rolling deploys.
    pub spare_nodes: u32,
    /// Journal level.
    pub record_level: RecordLevel,
    /// Journal bytes per execution at `summary`.
    pub summary_record_bytes: f64,
    /// Journal bytes per execution at `all`.
    pub all_record_bytes: f64,
    /// Request + response bytes on the wire per execution (headers included).
    pub wire_bytes_per_request: f64,
    /// Resident memory per core (shard arena, connections, plan cache), MiB.
    pub memory_per_core_mib: f64,
    /// Resident memory per node outside shards, MiB.
    pub memory_per_node_mib: f64,
    /// Which of the figures above came from the sweeps rather than from defaults.
    pub measured: Measured,
}

/// Which assumptions were replaced by measured figures (the report says so per line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Measured {
    /// `wire_bytes_per_request` is the largest request + response size a sweep saw.
    pub wire_bytes: bool,
    /// `memory_per_core_mib` is the largest server peak RSS per server core a sweep saw.
    pub memory: bool,
}

/// Journal bytes per execution at `summary` for the reference workflow, measured with
/// `dataplane/examples/journal_figures.rs` (132 B success, 214 B error; the error figure is
/// taken so a failing day is not under-planned).
pub const SUMMARY_RECORD_BYTES_MEASURED: f64 = 214.0;
/// Journal bytes per execution at `all` for the reference workflow (every node's output),
/// measured with the same example. Workflows with bigger items need their own figure
/// (`--all-record-bytes`).
pub const ALL_RECORD_BYTES_MEASURED: f64 = 799.0;

impl Assumptions {
    /// The stated defaults for a target and budget.
    pub fn new(target_per_day: f64, p99_budget_us: u64) -> Self {
        Self {
            target_per_day,
            p99_budget_us,
            peak_factor: 3.0,
            utilisation_max: 0.7,
            cores_per_node: 16,
            spare_nodes: 1,
            record_level: RecordLevel::Summary,
            summary_record_bytes: SUMMARY_RECORD_BYTES_MEASURED,
            all_record_bytes: ALL_RECORD_BYTES_MEASURED,
            wire_bytes_per_request: 400.0,
            memory_per_core_mib: 256.0,
            memory_per_node_mib: 512.0,
            measured: Measured::default(),
        }
    }

    /// Replaces the wire-size and memory defaults with what the sweeps measured, where
    /// they measured it (results written before these fields existed keep the defaults).
    /// Both take the largest value seen across all points of all sweeps: a plan should
    /// not assume the smallest request or the emptiest server.
    pub fn with_measurements(mut self, sweeps: &[Sweep]) -> Self {
        let points = || {
            sweeps
                .iter()
                .flat_map(|s| s.points.iter().map(move |p| (s, p)))
        };
        let wire = points()
            .filter_map(|(_, p)| p.report.wire_bytes)
            .map(|w| w.sent_per_request + w.received_per_request)
            .fold(0.0, f64::max);
        if wire > 0.0 {
            self.wire_bytes_per_request = wire;
            self.measured.wire_bytes = true;
        }
        let memory_mib = points()
            .filter_map(|(s, p)| {
                let m = p.report.server_memory?;
                Some(m.rss_peak_bytes as f64 / MIB / s.server_cores.unwrap_or(1.0).max(1.0))
            })
            .fold(0.0, f64::max);
        if memory_mib > 0.0 {
            self.memory_per_core_mib = memory_mib;
            self.measured.memory = true;
        }
        self
    }
}

/// Bytes per MiB.
const MIB: f64 = 1024.0 * 1024.0;

/// The computed plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Inputs.
    pub assumptions: Assumptions,
    /// Max sustainable rate per core at the budget (lowest across sweeps), req/s.
    pub rps_per_core: f64,
    /// Daily average rate, req/s.
    pub avg_rps: f64,
    /// Peak rate, req/s.
    pub peak_rps: f64,
    /// Cores needed at peak with headroom.
    pub cores: u64,
    /// Nodes, spares included.
    pub nodes: u64,
    /// Memory per node, MiB.
    pub memory_per_node_mib: f64,
    /// Journal bytes written per day.
    pub journal_bytes_per_day: f64,
    /// Journal write bandwidth at peak, bytes/s.
    pub journal_peak_bytes_per_s: f64,
    /// Network at peak, bits/s (both directions summed).
    pub network_peak_bits_per_s: f64,
}

/// Why a plan cannot be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    /// No sweep found any sustainable rate.
    #[error("no sweep has a sustainable rate under the p99 budget")]
    NoSustainableRate,
    /// Bad target string.
    #[error("bad target {0:?}: expected e.g. 2e9/day, 50000/s, 1e6/hour")]
    Target(String),
}

impl PlanError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSustainableRate => "plan_no_sustainable_rate",
            Self::Target(_) => "plan_target",
        }
    }
}

/// Parses `2e9/day`, `50000/s`, `1e6/hour` into executions per day.
pub fn parse_target(s: &str) -> Result<f64, PlanError> {
    let err = || PlanError::Target(s.into());
    let (n, unit) = s.split_once('/').ok_or_else(err)?;
    let n: f64 = n.trim().parse().map_err(|_| err())?;
    let per_day = match unit.trim() {
        "day" | "d" => n,
        "hour" | "h" => n * 24.0,
        "min" | "m" => n * 1440.0,
        "s" | "sec" => n * DAY_S,
        _ => return Err(err()),
    };
    if per_day.is_finite() && per_day > 0.0 {
        Ok(per_day)
    } else {
        Err(err())
    }
}

/// Max sustainable rate per core of one sweep, re-judged against `budget_us` (a sweep
/// may have been run with a looser budget): the highest point within budget, no errors,
/// and keeping up with its target, divided by the server's cores.
pub fn sweep_rps_per_core(s: &Sweep, budget_us: u64) -> f64 {
    let best = s
        .points
        .iter()
        .filter(|p| linkflow_loadtest::sweep::is_sustainable(p.rate_rps, &p.report, budget_us))
        .map(|p| p.rate_rps)
        .fold(0.0, f64::max);
    best / s.server_cores.unwrap_or(1.0).max(1.0)
}

/// Cores needed for `per_day` executions.
pub fn cores_for(per_day: f64, a: &Assumptions, rps_per_core: f64) -> u64 {
    let peak = per_day / DAY_S * a.peak_factor;
    (peak / (rps_per_core * a.utilisation_max)).ceil().max(1.0) as u64
}

/// Builds the plan; the lowest per-core rate across sweeps is used (conservative).
pub fn plan(sweeps: &[Sweep], a: Assumptions) -> Result<Plan, PlanError> {
    let rps_per_core = sweeps
        .iter()
        .map(|s| sweep_rps_per_core(s, a.p99_budget_us))
        .filter(|r| *r > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !rps_per_core.is_finite() {
        return Err(PlanError::NoSustainableRate);
    }
    let avg_rps = a.target_per_day / DAY_S;
    let peak_rps = avg_rps * a.peak_factor;
    let cores = cores_for(a.target_per_day, &a, rps_per_core);
    let nodes = cores.div_ceil(u64::from(a.cores_per_node.max(1))) + u64::from(a.spare_nodes);
    let record = match a.record_level {
        RecordLevel::Summary => a.summary_record_bytes,
        RecordLevel::All => a.all_record_bytes,
    };
    Ok(Plan {
        rps_per_core,
        avg_rps,
        peak_rps,
        cores,
        nodes,
        memory_per_node_mib: a.memory_per_node_mib
            + a.memory_per_core_mib * f64::from(a.cores_per_node),
        journal_bytes_per_day: a.target_per_day * record,
        journal_peak_bytes_per_s: peak_rps * record,
        network_peak_bits_per_s: peak_rps * a.wire_bytes_per_request * 8.0,
        assumptions: a,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_into_per_day() {
        assert_eq!(parse_target("2e9/day"), Ok(2e9));
        assert_eq!(parse_target("1000/s"), Ok(86_400_000.0));
        assert_eq!(parse_target("5/hour"), Ok(120.0));
        assert_eq!(parse_target("x/day").unwrap_err().code(), "plan_target");
    }

    #[test]
    fn measured_wire_bytes_and_memory_replace_the_defaults() {
        let text = include_str!("../examples/sweep-linkflow-reference.json");
        let sweep: Sweep = serde_json::from_str(text).unwrap();
        let a = Assumptions::new(2e9, 5000).with_measurements(std::slice::from_ref(&sweep));
        assert!(a.measured.wire_bytes && a.measured.memory);
        let wire = sweep
            .points
            .iter()
            .filter_map(|p| p.report.wire_bytes)
            .map(|w| w.sent_per_request + w.received_per_request)
            .fold(0.0, f64::max);
        assert_eq!(a.wire_bytes_per_request, wire);
        // Without measurements the stated defaults stay and say so.
        let mut old = sweep.clone();
        for p in &mut old.points {
            p.report.wire_bytes = None;
            p.report.server_memory = None;
        }
        let b = Assumptions::new(2e9, 5000).with_measurements(&[old]);
        assert_eq!(b.measured, Measured::default());
        assert_eq!(b.wire_bytes_per_request, 400.0);
    }

    #[test]
    fn cores_follow_peak_over_derated_capacity() {
        let a = Assumptions::new(2e9, 5000);
        // avg 23148.1 req/s, peak 69444.4, per core 10000 * 0.7 = 7000 -> 9.92 -> 10 cores.
        assert_eq!(cores_for(2e9, &a, 10_000.0), 10);
        assert_eq!(cores_for(1.0, &a, 10_000.0), 1);
    }
}
