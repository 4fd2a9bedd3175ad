//! Results: counters, the latency histogram, and their JSON and Markdown forms.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Errors by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// Connections that could not be established.
    pub connect: u64,
    /// Requests without an answer within the timeout.
    pub timeout: u64,
    /// Responses with a 3xx status.
    pub status_3xx: u64,
    /// Responses with a 4xx status.
    pub status_4xx: u64,
    /// Responses with a 5xx status.
    pub status_5xx: u64,
    /// Responses that were not valid HTTP/1.1.
    pub parse: u64,
    /// Reads or writes that failed, or a close while an answer was owed.
    pub io: u64,
    /// Open-loop intentions dropped because the backlog was full.
    pub backlog_overflow: u64,
}

impl ErrorCounts {
    /// Counts a response's status class (2xx is not an error).
    pub fn count_status(&mut self, status: u16) {
        match status / 100 {
            3 => self.status_3xx += 1,
            4 => self.status_4xx += 1,
            5 => self.status_5xx += 1,
            1 | 2 => {}
            _ => self.parse += 1,
        }
    }
    /// Sum of every kind.
    pub fn total(&self) -> u64 {
        self.connect
            + self.timeout
            + self.status_3xx
            + self.status_4xx
            + self.status_5xx
            + self.parse
            + self.io
            + self.backlog_overflow
    }
}

/// Raw outcome of one run.
#[derive(Debug)]
pub struct RunStats {
    /// Latencies in microseconds.
    pub hist: Histogram<u64>,
    /// Errors by kind.
    pub errors: ErrorCounts,
    /// Responses received in the measured window.
    pub completed: u64,
    /// Request bytes sent for those responses.
    pub bytes_sent: u64,
    /// Response bytes (head and body) of those responses.
    pub bytes_received: u64,
    /// Requests still in flight or queued at the end.
    pub incomplete: u64,
    /// Measured window.
    pub elapsed: Duration,
}

/// Latency summary in microseconds plus the full histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
    /// Every recorded bucket as `[highest equivalent value in us, count]`, ascending.
    pub histogram: Vec<[u64; 2]>,
}

impl Latency {
    /// Summarises a histogram.
    pub fn from_hist(h: &Histogram<u64>) -> Self {
        Self {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
            histogram: h
                .iter_recorded()
                .map(|v| {
                    [
                        h.highest_equivalent(v.value_iterated_to()),
                        v.count_at_value(),
                    ]
                })
                .collect(),
        }
    }
}

/// CPU accounting for the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// Server process id, when given.
    pub server_pid: Option<u32>,
    /// Server user+system CPU seconds in the measured window.
    pub server_cpu_s: Option<f64>,
    /// Server CPU per completed request, microseconds.
    pub server_cpu_us_per_request: Option<f64>,
    /// The load generator's own CPU seconds in the measured window.
    pub loadgen_cpu_s: f64,
    /// The load generator's CPU per completed request, microseconds.
    pub loadgen_cpu_us_per_request: f64,
}

/// Bytes on the wire per completed request, as the generator saw them (HTTP/1.1 head and
/// body; TCP/IP framing not included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WireBytes {
    /// Request bytes per request.
    pub sent_per_request: f64,
    /// Response bytes per request.
    pub received_per_request: f64,
}

/// The server's resident memory when the run ended (from `/proc/PID/status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerMemory {
    /// `VmRSS`: resident now, bytes.
    pub rss_bytes: u64,
    /// `VmHWM`: the most it was ever resident, bytes.
    pub rss_peak_bytes: u64,
}

/// The configuration echoed into results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigEcho {
    /// Target URL.
    pub url: String,
    /// `closed` or `open`.
    pub mode: String,
    /// Connections.
    pub connections: usize,
    /// Measured seconds.
    pub duration_s: f64,
    /// Warm-up seconds.
    pub warmup_s: f64,
    /// Open-loop rate, requests per second.
    pub rate_rps: Option<f64>,
    /// Template file, if any.
    pub request_file: Option<String>,
}

/// One run's results, the JSON document `--json` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always `linkflow-loadtest`.
    pub tool: String,
    /// What ran.
    pub config: ConfigEcho,
    /// Responses in the measured window.
    pub requests: u64,
    /// Requests still in flight or queued when the window closed.
    pub incomplete: u64,
    /// Responses per second.
    pub throughput_rps: f64,
    /// Errors by kind.
    pub errors: ErrorCounts,
    /// Total errors.
    pub errors_total: u64,
    /// Latency (open loop: from the intended send time).
    pub latency_us: Latency,
    /// CPU per request.
    pub cpu: Cpu,
    /// Bytes per request (absent in results written before it was measured).
    #[serde(default)]
    pub wire_bytes: Option<WireBytes>,
    /// Server memory, when `--server-pid` was given.
    #[serde(default)]
    pub server_memory: Option<ServerMemory>,
    /// Closed loop only: `latency_us` corrected for coordinated omission the way wrk
    /// corrects its closed loop before printing (see [`wrk_corrected`]), so the two tools
    /// can be compared like for like. Absent in open loop (latency is already measured from
    /// intended send times) and when the correction would exceed its bound.
    #[serde(default)]
    pub latency_us_corrected: Option<Latency>,
}

/// Most synthetic-sample steps [`wrk_corrected`] may take (sum over recorded buckets of
/// value ÷ interval). Why: the back-fill is a loop per bucket; a 1 µs interval with a 10 s
/// timeout would otherwise run billions of steps.
pub const CORRECTION_STEPS_MAX: u64 = 100_000_000;

/// The closed-loop histogram back-filled as wrk does after a run: the expected interval
/// is the mean time between one connection's responses, `elapsed ÷ (completed ÷
/// connections)`, and every recorded latency `L` above it adds samples at `L − interval`,
/// `L − 2·interval`, ... down to the interval (HdrHistogram's expected-interval
/// correction). A stall that delays the requests in flight is thereby counted as if the
/// requests a connection would have sent during it had been sent and delayed too. `None`
/// when too few responses (under one per connection) or when the loop would exceed
/// [`CORRECTION_STEPS_MAX`].
pub fn wrk_corrected(
    hist: &Histogram<u64>,
    elapsed: Duration,
    completed: u64,
    connections: usize,
) -> Option<Histogram<u64>> {
    // Integer division, as wrk computes it.
    let per_connection = completed / (connections.max(1) as u64);
    if per_connection == 0 {
        return None;
    }
    let interval_us = (elapsed.as_micros() as u64) / per_connection;
    if interval_us == 0 {
        return None;
    }
    let steps: u64 = hist
        .iter_recorded()
        .map(|v| v.value_iterated_to() / interval_us)
        .sum();
    (steps <= CORRECTION_STEPS_MAX).then(|| hist.clone_correct(interval_us))
}

impl Report {
    /// Builds the report from raw stats.
    pub fn new(config: ConfigEcho, stats: &RunStats, cpu: Cpu) -> Self {
        let secs = stats.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        let wire_bytes = (stats.completed > 0).then(|| WireBytes {
            sent_per_request: stats.bytes_sent as f64 / stats.completed as f64,
            received_per_request: stats.bytes_received as f64 / stats.completed as f64,
        });
        let latency_us_corrected = if config.mode == "closed" {
            wrk_corrected(
                &stats.hist,
                stats.elapsed,
                stats.completed,
                config.connections,
            )
            .map(|h| Latency::from_hist(&h))
        } else {
            None
        };
        Self {
            tool: "linkflow-loadtest".into(),
            latency_us_corrected,
            config,
            requests: stats.completed,
            incomplete: stats.incomplete,
            throughput_rps: stats.completed as f64 / secs,
            errors_total: stats.errors.total(),
            errors: stats.errors.clone(),
            latency_us: Latency::from_hist(&stats.hist),
            cpu,
            wire_bytes,
            server_memory: None,
        }
    }

    /// Markdown summary (one table; the histogram stays in the JSON).
    pub fn markdown(&self) -> String {
        let l = &self.latency_us;
        let c = &self.config;
        let mut s =
            format!(
            "## linkflow-loadtest {}\n\n{} loop, {} connections, {:.1} s (+{:.1} s warm-up){}\n\n",
            c.url,
            c.mode,
            c.connections,
            c.duration_s,
            c.warmup_s,
            c.rate_rps.map(|r| format!(", target {r:.0} req/s")).unwrap_or_default()
        );
        s.push_str("| req/s | requests | errors | p50 | p90 | p99 | p99.9 | max | server CPU/req | loadgen CPU/req |\n");
        s.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        s.push_str(&format!(
            "| {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} us |\n",
            self.throughput_rps,
            self.requests,
            self.errors_total,
            fmt_us(l.p50),
            fmt_us(l.p90),
            fmt_us(l.p99),
            fmt_us(l.p999),
            fmt_us(l.max),
            self.cpu
                .server_cpu_us_per_request
                .map(|v| format!("{v:.1} us"))
                .unwrap_or_else(|| "n/a".into()),
            self.cpu.loadgen_cpu_us_per_request
        ));
        if let Some(c) = &self.latency_us_corrected {
            s.push_str(&format!(
                "\nCorrected for coordinated omission as wrk corrects its closed loop: p50 {}, p99 {}, p99.9 {}, max {}\n",
                fmt_us(c.p50),
                fmt_us(c.p99),
                fmt_us(c.p999),
                fmt_us(c.max)
            ));
        }
        if self.errors_total > 0 {
            s.push_str(&format!(
                "\nErrors: {}\n",
                serde_json::to_string(&self.errors).unwrap_or_default()
            ));
        }
        s
    }
}

/// Microseconds as a short human string.
pub fn fmt_us(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{:.2} s", us as f64 / 1e6)
    } else if us >= 1000 {
        format!("{:.2} ms", us as f64 / 1e3)
    } else {
        format!("{us} us")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_correction_back_fills_a_stalled_response_at_the_expected_interval() {
        // One connection answering every 100 µs, once stalled for 10 ms.
        let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        hist.record_n(100, 1000).unwrap();
        hist.record(10_000).unwrap();
        let elapsed = Duration::from_micros(100 * 1001);
        let corrected = wrk_corrected(&hist, elapsed, 1001, 1).expect("corrected");
        // 10 ms - 100 µs, ..., 100 µs: 99 samples the stalled connection did not send.
        assert_eq!(corrected.len(), 1001 + 99);
        assert!(hist.value_at_quantile(0.99) <= 101);
        // p99 is the 1,089th of 1,100 samples: the 88th synthetic one above 100 µs, 8.9 ms.
        assert!(corrected.value_at_quantile(0.99) >= 8_800);
        // Fewer responses than connections: no interval to correct with.
        assert!(wrk_corrected(&hist, elapsed, 31, 32).is_none());
    }

    #[test]
    fn only_closed_loop_reports_carry_the_corrected_latency() {
        let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        hist.record_n(100, 10).unwrap();
        let stats = RunStats {
            hist,
            errors: ErrorCounts::default(),
            completed: 10,
            bytes_sent: 0,
            bytes_received: 0,
            incomplete: 0,
            elapsed: Duration::from_millis(1),
        };
        let echo = |mode: &str| ConfigEcho {
            url: "http://127.0.0.1/".into(),
            mode: mode.into(),
            connections: 1,
            duration_s: 0.001,
            warmup_s: 0.0,
            rate_rps: None,
            request_file: None,
        };
        let closed = Report::new(echo("closed"), &stats, Cpu::default());
        assert_eq!(
            closed.latency_us_corrected.map(|l| l.p50),
            Some(closed.latency_us.p50)
        );
        let open = Report::new(echo("open"), &stats, Cpu::default());
        assert!(open.latency_us_corrected.is_none());
    }
}
