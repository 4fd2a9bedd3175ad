//! Per-shard counters and HDR histograms, owned by the shard (no atomics), copied out on
//! a scrape and merged into Prometheus text.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// Highest latency the histograms track, in microseconds (longer values are clamped).
const LATENCY_MAX_US: u64 = 60_000_000;
/// Significant digits of the histograms.
const HISTOGRAM_SIGFIGS: u8 = 3;
/// Bucket bounds of `http_request_duration_seconds`, in seconds.
const BUCKETS_SECONDS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 10.0,
];

/// Counters of one workflow on one shard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowStats {
    /// Workflow id.
    pub workflow: String,
    /// Executions that ended successfully.
    pub success: u64,
    /// Executions that failed.
    pub error: u64,
    /// Requests refused by admission (503).
    pub rejected: u64,
    /// Accepted requests whose latency exceeded the plan's budget.
    pub budget_violations: u64,
    /// Schedule fires (executions started by a cron trigger).
    pub schedule_fires: u64,
}

/// Everything one shard measures.
#[derive(Debug, Clone)]
pub struct ShardMetrics {
    /// Shard index.
    pub shard: usize,
    /// Responses by status code.
    pub responses: Vec<(u16, u64)>,
    /// Request latency (request complete to response written), microseconds.
    pub latency_us: Histogram<u64>,
    /// Per-workflow counters (index kept across plan swaps).
    pub workflows: Vec<WorkflowStats>,
    /// Installed plans.
    pub plans: usize,
    /// Open connections.
    pub connections: usize,
    /// Requests answered 408.
    pub timeouts: u64,
    /// Executions in flight (holding an arena) when the snapshot was taken.
    pub executions_in_flight: usize,
}

impl ShardMetrics {
    /// Empty metrics of shard `shard`.
    pub fn new(shard: usize) -> Self {
        ShardMetrics {
            shard,
            responses: Vec::new(),
            latency_us: new_histogram(),
            workflows: Vec::new(),
            plans: 0,
            connections: 0,
            timeouts: 0,
            executions_in_flight: 0,
        }
    }

    /// Counts a response with `status` that took `latency_us`.
    pub fn record_response(&mut self, status: u16, latency_us: u64) {
        match self.responses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, count)) => *count += 1,
            None => self.responses.push((status, 1)),
        }
        self.latency_us
            .saturating_record(latency_us.clamp(1, LATENCY_MAX_US));
    }

    /// Index of `workflow`'s counters, created on first use (at install, not per request).
    pub fn workflow_index(&mut self, workflow: &str) -> usize {
        match self.workflows.iter().position(|w| w.workflow == workflow) {
            Some(i) => i,
            None => {
                self.workflows.push(WorkflowStats {
                    workflow: workflow.to_owned(),
                    ..WorkflowStats::default()
                });
                self.workflows.len() - 1
            }
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, HISTOGRAM_SIGFIGS)
        .expect("static histogram bounds are valid")
}

/// Merges shard snapshots into Prometheus text exposition format.
pub fn render(shards: &[ShardMetrics]) -> String {
    let mut out = String::new();
    let mut responses: Vec<(u16, u64)> = Vec::new();
    let mut latency = new_histogram();
    let mut workflows: Vec<WorkflowStats> = Vec::new();
    for shard in shards {
        for &(status, count) in &shard.responses {
            match responses.iter_mut().find(|(s, _)| *s == status) {
                Some((_, total)) => *total += count,
                None => responses.push((status, count)),
            }
        }
        // Same bounds on every shard, so adding cannot fail.
        let _ = latency.add(&shard.latency_us);
        for stats in &shard.workflows {
            let index = match workflows.iter().position(|w| w.workflow == stats.workflow) {
                Some(i) => i,
                None => {
                    workflows.push(WorkflowStats {
                        workflow: stats.workflow.clone(),
                        ..WorkflowStats::default()
                    });
                    workflows.len() - 1
                }
            };
            let total = &mut workflows[index];
            total.success += stats.success;
            total.error += stats.error;
            total.rejected += stats.rejected;
            total.budget_violations += stats.budget_violations;
            total.schedule_fires += stats.schedule_fires;
        }
    }
    responses.sort_unstable();

    out.push_str("# HELP http_requests_total Webhook HTTP responses by status code.\n");
    out.push_str("# TYPE http_requests_total counter\n");
    for (status, count) in &responses {
        let _ = writeln!(out, "http_requests_total{{status=\"{status}\"}} {count}");
    }

    out.push_str(
        "# HELP http_request_duration_seconds Webhook request latency, merged over shards.\n",
    );
    out.push_str("# TYPE http_request_duration_seconds histogram\n");
    for bound in BUCKETS_SECONDS {
        let bound_us = (bound * 1e6) as u64;
        let count = latency.count_between(0, bound_us);
        let _ = writeln!(
            out,
            "http_request_duration_seconds_bucket{{le=\"{bound}\"}} {count}"
        );
    }
    let count = latency.len();
    let _ = writeln!(
        out,
        "http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let sum_seconds = latency.mean() * count as f64 / 1e6;
    let _ = writeln!(out, "http_request_duration_seconds_sum {sum_seconds}");
    let _ = writeln!(out, "http_request_duration_seconds_count {count}");

    out.push_str("# HELP workflow_executions_total Workflow executions by status.\n");
    out.push_str("# TYPE workflow_executions_total counter\n");
    for w in &workflows {
        let name = escape(&w.workflow);
        let _ = writeln!(
            out,
            "workflow_executions_total{{workflow=\"{name}\",status=\"success\"}} {}",
            w.success
        );
        let _ = writeln!(
            out,
            "workflow_executions_total{{workflow=\"{name}\",status=\"error\"}} {}",
            w.error
        );
    }
    out.push_str("# HELP admission_rejected_total Requests refused with 503 to keep a latency budget or queue bound.\n");
    out.push_str("# TYPE admission_rejected_total counter\n");
    for w in &workflows {
        let _ = writeln!(
            out,
            "admission_rejected_total{{workflow=\"{}\"}} {}",
            escape(&w.workflow),
            w.rejected
        );
    }
    out.push_str(
        "# HELP latency_budget_violations_total Accepted requests slower than the plan's budget.\n",
    );
    out.push_str("# TYPE latency_budget_violations_total counter\n");
    for w in &workflows {
        let _ = writeln!(
            out,
            "latency_budget_violations_total{{workflow=\"{}\"}} {}",
            escape(&w.workflow),
            w.budget_violations
        );
    }
    out.push_str("# HELP schedule_fires_total Cron fires per workflow and shard.\n");
    out.push_str("# TYPE schedule_fires_total counter\n");
    for shard in shards {
        for w in shard.workflows.iter().filter(|w| w.schedule_fires > 0) {
            let _ = writeln!(
                out,
                "schedule_fires_total{{workflow=\"{}\",shard=\"{}\"}} {}",
                escape(&w.workflow),
                shard.shard,
                w.schedule_fires
            );
        }
    }
    out.push_str("# HELP shard_plans Plans installed per shard.\n# TYPE shard_plans gauge\n");
    for shard in shards {
        let _ = writeln!(
            out,
            "shard_plans{{shard=\"{}\"}} {}",
            shard.shard, shard.plans
        );
    }
    out.push_str("# HELP shard_connections Open webhook connections per shard.\n# TYPE shard_connections gauge\n");
    for shard in shards {
        let _ = writeln!(
            out,
            "shard_connections{{shard=\"{}\"}} {}",
            shard.shard, shard.connections
        );
    }
    out.push_str("# HELP http_request_timeouts_total Requests answered 408.\n# TYPE http_request_timeouts_total counter\n");
    let timeouts: u64 = shards.iter().map(|s| s.timeouts).sum();
    let _ = writeln!(out, "http_request_timeouts_total {timeouts}");
    out
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_merge_into_one_histogram_and_counters() {
        let mut a = ShardMetrics::new(0);
        let mut b = ShardMetrics::new(1);
        a.record_response(200, 80);
        b.record_response(200, 3_000);
        b.record_response(404, 10);
        let i = a.workflow_index("w\"1");
        a.workflows[i].success = 2;
        let j = b.workflow_index("w\"1");
        b.workflows[j].success = 3;
        let text = render(&[a, b]);
        assert!(text.contains("http_requests_total{status=\"200\"} 2\n"));
        assert!(text.contains("http_requests_total{status=\"404\"} 1\n"));
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"0.0001\"} 2\n"));
        assert!(text.contains("http_request_duration_seconds_count 3\n"));
        assert!(
            text.contains("workflow_executions_total{workflow=\"w\\\"1\",status=\"success\"} 5\n")
        );
    }
}
