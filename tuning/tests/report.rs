//! The checked-in example report follows from its checked-in sweep.

use std::path::PathBuf;

use linkflow_tuning::plan::{self, Assumptions, DAY_S};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// The example was generated with `--target 2e9/day --p99 5ms` (see examples/README.md).
fn example_assumptions() -> Assumptions {
    Assumptions::new(2e9, 5_000)
}

/// The checked-in sweep of the reference workflow on LinkFlow's data plane.
const SWEEP: &str = "sweep-linkflow-reference.json";

#[test]
fn example_plan_numbers_follow_from_the_measured_sweep() {
    let sweeps = linkflow_tuning::load_sweeps(&[example(SWEEP)]).unwrap();
    let sweep = &sweeps[0].1;
    // Recompute from the raw points: highest sustainable rate under 5 ms, per server core.
    let best = sweep
        .points
        .iter()
        .filter(|p| {
            p.report.latency_us.p99 <= 5_000
                && p.report.errors_total == 0
                && p.report.throughput_rps >= 0.95 * p.rate_rps
        })
        .map(|p| p.rate_rps)
        .fold(0.0, f64::max);
    assert!(best > 0.0);
    let per_core = best / sweep.server_cores.unwrap_or(1.0);
    let only: Vec<_> = sweeps.iter().map(|(_, s)| s.clone()).collect();
    let a = example_assumptions().with_measurements(&only);
    let p = plan::plan(&only, a).unwrap();
    assert_eq!(p.rps_per_core, per_core);
    let peak = 2e9 / DAY_S * 3.0;
    assert_eq!(p.cores, (peak / (per_core * 0.7)).ceil() as u64);
    assert_eq!(p.nodes, p.cores.div_ceil(16) + 1);
    // Journal: the measured summary record size of the reference workflow.
    assert_eq!(
        p.journal_bytes_per_day,
        2e9 * plan::SUMMARY_RECORD_BYTES_MEASURED
    );
    // Network and memory come from what the sweep recorded, not from defaults.
    let wire = sweep
        .points
        .iter()
        .filter_map(|p| p.report.wire_bytes)
        .map(|w| w.sent_per_request + w.received_per_request)
        .fold(0.0, f64::max);
    assert!(wire > 0.0);
    assert_eq!(p.network_peak_bits_per_s, peak * wire * 8.0);
    let rss_peak_mib = sweep
        .points
        .iter()
        .filter_map(|p| p.report.server_memory)
        .map(|m| m.rss_peak_bytes as f64 / (1024.0 * 1024.0))
        .fold(0.0, f64::max);
    assert!(rss_peak_mib > 0.0);
    assert_eq!(p.memory_per_node_mib, 512.0 + rss_peak_mib * 16.0);
    // And the checked-in Markdown is exactly what these inputs produce.
    let (md, html) = linkflow_tuning::report(&sweeps, example_assumptions()).unwrap();
    assert_eq!(md, std::fs::read_to_string(example("capacity.md")).unwrap());
    assert_eq!(
        html,
        std::fs::read_to_string(example("capacity.html")).unwrap()
    );
    assert!(md.contains(&format!("| cores at peak with headroom | {} |", p.cores)));
    assert!(html.contains("<svg"));
}

#[test]
fn a_sweep_without_a_sustainable_point_cannot_be_planned() {
    let mut sweeps = linkflow_tuning::load_sweeps(&[example(SWEEP)]).unwrap();
    for p in &mut sweeps[0].1.points {
        p.report.errors_total = 1;
    }
    let only: Vec<_> = sweeps.iter().map(|(_, s)| s.clone()).collect();
    assert_eq!(
        plan::plan(&only, example_assumptions()).unwrap_err().code(),
        "plan_no_sustainable_rate"
    );
}
