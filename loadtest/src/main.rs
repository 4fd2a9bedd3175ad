//! `linkflow-loadtest URL [--connections N] [--duration 10s] [--rate R] [--request FILE]
//! [--json OUT] [--markdown OUT] [--server-pid PID] [--sweep start:step:max --p99-budget 5ms]
//! [--warmup 2s]`

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use linkflow_loadtest::template::Template;
use linkflow_loadtest::{measure, sweep, url, ConfigEcho, RunConfig};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    about = "HTTP/1.1 load generator: closed loop, open loop with coordinated-omission correction, rate sweeps"
)]
struct Args {
    /// Target, e.g. http://127.0.0.1:8081/webhook/bench
    url: String,
    /// Keep-alive connections.
    #[arg(long, short = 'c', default_value_t = 32)]
    connections: usize,
    /// Measured time (e.g. 10s, 500ms, 2m).
    #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured warm-up before it.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Open loop at this many requests per second (omit for closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Request template file (see the template module docs); default GET of the URL path.
    #[arg(long)]
    request: Option<PathBuf>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Write JSON results here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write Markdown results here.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Measure this server process's CPU per request.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Rate sweep `start:step:max` (open loop); stops at the first rate over the p99 budget.
    #[arg(long)]
    sweep: Option<String>,
    /// p99 budget for sweeps (e.g. 5ms).
    #[arg(long, default_value = "5ms", value_parser = parse_duration)]
    p99_budget: Duration,
    /// Plan-deploy load over QUIC against a data plane (issue #5).
    #[arg(long)]
    quic_deploy: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Parses `10s`, `500ms`, `250us`, `2m`, or bare seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let v: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "us" => v / 1e6,
        "ms" => v / 1e3,
        "s" => v,
        "m" => v * 60.0,
        _ => return Err(format!("bad duration unit in {s:?} (us, ms, s, m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("bad duration {s:?}"))
}

/// CPUs in a process's affinity mask: the cores the server may use.
fn affinity_cores(pid: u32) -> Option<f64> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::sched_getaffinity(
            pid as libc::pid_t,
            std::mem::size_of::<libc::cpu_set_t>(),
            &mut set,
        )
    };
    (rc == 0).then(|| unsafe { libc::CPU_COUNT(&set) } as f64)
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    if a.quic_deploy {
        bail!("quic_not_yet: QUIC plan-deploy load needs the data plane's deploy endpoint (issue #5); not implemented yet");
    }
    let target = url::parse(&a.url).map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let template = match &a.request {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Template::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {}: {e}", e.code(), p.display()))?
        }
        None => Template::get(&target.path),
    };
    let mut cfg = RunConfig {
        addr: target.addr,
        host: target.host,
        connections: a.connections,
        duration: a.duration,
        warmup: a.warmup,
        rate_rps: a.rate,
        timeout: a.timeout,
        template,
        progress: !a.quiet,
    };
    cfg.validate()
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let echo = |rate: Option<f64>| ConfigEcho {
        url: a.url.clone(),
        mode: if rate.is_some() { "open" } else { "closed" }.into(),
        connections: a.connections,
        duration_s: a.duration.as_secs_f64(),
        warmup_s: a.warmup.as_secs_f64(),
        rate_rps: rate,
        request_file: a.request.as_ref().map(|p| p.display().to_string()),
    };
    let (json, md) = if let Some(spec) = &a.sweep {
        let spec = sweep::parse_spec(spec).map_err(|e| anyhow::anyhow!("sweep_spec: {e}"))?;
        let budget_us = a.p99_budget.as_micros() as u64;
        let cores = a.server_pid.and_then(affinity_cores);
        let s = sweep::run_sweep(spec, budget_us, cores, |rate| {
            cfg.rate_rps = Some(rate);
            let r = measure(&cfg, echo(Some(rate)), a.server_pid)?;
            eprintln!(
                "rate {rate:>9.0}: {:>9.0} req/s p99 {} errors {}",
                r.throughput_rps,
                linkflow_loadtest::stats::fmt_us(r.latency_us.p99),
                r.errors_total
            );
            Ok(r)
        })?;
        let mut md = format!(
            "# Sweep {} (p99 budget {})\n\n",
            a.url,
            linkflow_loadtest::stats::fmt_us(budget_us)
        );
        md.push_str("| target req/s | achieved req/s | p50 | p99 | p99.9 | errors | sustainable |\n|---:|---:|---:|---:|---:|---:|:--|\n");
        for p in &s.points {
            let l = &p.report.latency_us;
            md.push_str(&format!(
                "| {:.0} | {:.0} | {} | {} | {} | {} | {} |\n",
                p.rate_rps,
                p.report.throughput_rps,
                linkflow_loadtest::stats::fmt_us(l.p50),
                linkflow_loadtest::stats::fmt_us(l.p99),
                linkflow_loadtest::stats::fmt_us(l.p999),
                p.report.errors_total,
                if p.sustainable { "yes" } else { "no" }
            ));
        }
        md.push_str(&format!(
            "\nMax sustainable rate: **{:.0} req/s**\n",
            s.max_sustainable_rps
        ));
        (serde_json::to_string_pretty(&s)?, md)
    } else {
        let r = measure(&cfg, echo(a.rate), a.server_pid)?;
        (serde_json::to_string_pretty(&r)?, r.markdown())
    };
    print!("{md}");
    if let Some(p) = &a.json {
        std::fs::write(p, json).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &a.markdown {
        std::fs::write(p, md).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
