//! Rate sweeps: open-loop runs at increasing rates until p99 breaks the budget.

use serde::{Deserialize, Serialize};

use crate::stats::Report;

/// Most steps in one sweep.
pub const SWEEP_STEPS_MAX: usize = 1000;

/// One measured rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Target arrival rate.
    pub rate_rps: f64,
    /// The run at that rate.
    pub report: Report,
    /// p99 within budget, no errors, and throughput within 5 % of the target.
    pub sustainable: bool,
}

/// A whole sweep, the JSON document `--sweep --json` writes and `linkflow-tuning report` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// Always `linkflow-loadtest-sweep`.
    pub kind: String,
    /// p99 budget in microseconds.
    pub p99_budget_us: u64,
    /// Server CPU cores the server could use (from its affinity), if known.
    pub server_cores: Option<f64>,
    /// Points in rate order.
    pub points: Vec<SweepPoint>,
    /// Highest sustainable rate, 0 if none was.
    pub max_sustainable_rps: f64,
}

/// Fraction of the target rate a run must achieve to count as keeping up.
pub const THROUGHPUT_FLOOR_RATIO: f64 = 0.95;

/// Whether a run at `rate` kept up within the budget.
pub fn is_sustainable(rate: f64, r: &Report, p99_budget_us: u64) -> bool {
    r.latency_us.p99 <= p99_budget_us
        && r.errors_total == 0
        && r.throughput_rps >= rate * THROUGHPUT_FLOOR_RATIO
}

/// Parses `start:step:max`.
pub fn parse_spec(spec: &str) -> Result<(f64, f64, f64), String> {
    let parts: Vec<f64> = spec
        .split(':')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("sweep {spec:?}: expected start:step:max numbers"))?;
    let [start, step, max] = parts[..] else {
        return Err(format!("sweep {spec:?}: expected start:step:max"));
    };
    if !(start > 0.0 && step > 0.0 && max >= start) {
        return Err(format!(
            "sweep {spec:?}: need start > 0, step > 0, max >= start"
        ));
    }
    if (max - start) / step + 1.0 > SWEEP_STEPS_MAX as f64 {
        return Err(format!("sweep {spec:?}: more than {SWEEP_STEPS_MAX} steps"));
    }
    Ok((start, step, max))
}

/// Runs `measure(rate)` from `start` by `step` up to `max`, stopping after the first
/// unsustainable rate.
pub fn run_sweep(
    (start, step, max): (f64, f64, f64),
    p99_budget_us: u64,
    server_cores: Option<f64>,
    mut measure: impl FnMut(f64) -> anyhow::Result<Report>,
) -> anyhow::Result<Sweep> {
    let mut points = Vec::new();
    let mut best = 0.0f64;
    let mut k = 0u32;
    loop {
        let rate = start + step * f64::from(k);
        if rate > max + 1e-9 {
            break;
        }
        let report = measure(rate)?;
        let ok = is_sustainable(rate, &report, p99_budget_us);
        points.push(SweepPoint {
            rate_rps: rate,
            report,
            sustainable: ok,
        });
        if !ok {
            break;
        }
        best = rate;
        k += 1;
    }
    Ok(Sweep {
        kind: "linkflow-loadtest-sweep".into(),
        p99_budget_us,
        server_cores,
        points,
        max_sustainable_rps: best,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_specs_are_bounded() {
        assert_eq!(parse_spec("1000:500:3000"), Ok((1000.0, 500.0, 3000.0)));
        assert!(parse_spec("1:0:10").is_err());
        assert!(parse_spec("1:1:100000").is_err());
        assert!(parse_spec("a:b").is_err());
    }
}
