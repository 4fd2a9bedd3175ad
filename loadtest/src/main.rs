//! `linkflow-loadtest URL [--connections N] [--duration 10s] [--rate R] [--request FILE]
//! [--json OUT] [--markdown OUT] [--server-pid PID] [--sweep start:step:max --p99-budget 5ms]
//! [--warmup 2s]`
//!
//! `linkflow-loadtest deploy --to HOST:PORT --certs DIR [--nodes 20] [--count 200]
//! [--concurrency 1] [--same] [--json OUT] [--markdown OUT]`: QUIC plan-deploy load.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use linkflow_loadtest::deploy::{run_deploy, DeployConfig};
use linkflow_loadtest::template::Template;
use linkflow_loadtest::{measure, sweep, url, ConfigEcho, RunConfig};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    about = "HTTP/1.1 load generator: closed loop, open loop with coordinated-omission correction, rate sweeps; QUIC plan-deploy load (`deploy`)",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Args {
    /// Another kind of load than HTTP.
    #[command(subcommand)]
    command: Option<Command>,
    /// Target, e.g. http://127.0.0.1:8081/webhook/bench
    #[arg(required = true)]
    url: Option<String>,
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
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Plan-deploy load over QUIC (mutual TLS) against a data-plane node: submits `count`
    /// new versions of a generated workflow and records each deploy's latency.
    Deploy(DeployArgs),
}

/// Arguments of `linkflow-loadtest deploy`.
#[derive(Debug, clap::Args)]
struct DeployArgs {
    /// The node's QUIC address (`linkflow dataplane --quic`), HOST:PORT.
    #[arg(long)]
    to: String,
    /// Directory from `linkflow certs init` (ca.pem, client.pem, client-key.pem).
    #[arg(long)]
    certs: PathBuf,
    /// Name the node's certificate must carry.
    #[arg(long, default_value = linkflow_controlplane::quic::SERVER_NAME_DEFAULT)]
    server_name: String,
    /// Nodes of the generated workflow (webhook, transform steps, respond).
    #[arg(long, default_value_t = 20)]
    nodes: usize,
    /// Measured deploys.
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Unmeasured deploys before them.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Deploys in flight at once (above 1, versions may arrive out of order and are sent
    /// with allow_older).
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Resubmit one plan (the node's idempotent no-op) instead of a new version each time.
    #[arg(long)]
    same: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Write JSON results here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write Markdown results here.
    #[arg(long)]
    markdown: Option<PathBuf>,
}

fn deploy(a: &DeployArgs) -> anyhow::Result<()> {
    let mut tls = linkflow_controlplane::quic::ClientTls::from_dir(&a.certs);
    tls.server_name = a.server_name.clone();
    let report = run_deploy(&DeployConfig {
        to: a.to.clone(),
        tls,
        nodes: a.nodes,
        count: a.count,
        warmup: a.warmup,
        concurrency: a.concurrency,
        same: a.same,
        timeout: a.timeout,
    })?;
    let md = report.markdown();
    print!("{md}");
    write_results(
        a.json.as_ref(),
        &serde_json::to_string_pretty(&report)?,
        a.markdown.as_ref(),
        &md,
    )?;
    if report.errors_total > 0 {
        bail!("{} of {} deploys failed", report.errors_total, a.count);
    }
    Ok(())
}

fn write_results(
    json_path: Option<&PathBuf>,
    json: &str,
    md_path: Option<&PathBuf>,
    md: &str,
) -> anyhow::Result<()> {
    if let Some(p) = json_path {
        std::fs::write(p, json).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = md_path {
        std::fs::write(p, md).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
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
    if let Some(Command::Deploy(deploy_args)) = &a.command {
        return deploy(deploy_args);
    }
    let Some(target_url) = a.url.clone() else {
        bail!("give a target URL or a subcommand (see --help)");
    };
    let target = url::parse(&target_url).map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
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
        url: target_url.clone(),
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
            target_url,
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
    write_results(a.json.as_ref(), &json, a.markdown.as_ref(), &md)
}
