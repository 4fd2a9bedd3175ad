//! linkflow-loadtest: an HTTP/1.1 load generator for LinkFlow and its peers.
//!
//! Closed loop (N connections, send on response) and open loop (fixed arrival rate,
//! latency from the intended send time), rate sweeps against a p99 budget, request
//! templates, HDR histograms, errors by kind and CPU per request for the server and for
//! the generator itself. See `engine` for the event loop. `deploy` is the QUIC plan-deploy
//! load against a data-plane node.

#![warn(missing_docs)]

pub mod cpu;
pub mod deploy;
pub mod engine;
pub mod http;
mod progress;
pub mod stats;
pub mod sweep;
pub mod template;
pub mod url;

pub use engine::{run, RunConfig};
pub use stats::{ConfigEcho, Cpu, Report, ServerMemory, WireBytes};
pub use sweep::{Sweep, SweepPoint};

/// Runs `cfg` and builds the report, measuring server CPU from `/proc/PID/stat` when
/// `server_pid` is given and the generator's own CPU with getrusage. CPU is sampled
/// around the whole run and scaled to the measured window, because the warm-up is
/// inside the same event loop call.
pub fn measure(
    cfg: &RunConfig,
    echo: ConfigEcho,
    server_pid: Option<u32>,
) -> anyhow::Result<Report> {
    let srv0 = server_pid.map(cpu::process_cpu).transpose()?;
    let me0 = cpu::self_cpu();
    let t0 = std::time::Instant::now();
    let stats = run(cfg)?;
    let wall = t0.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
    let me = (cpu::self_cpu() - me0).as_secs_f64();
    let srv = match (server_pid, srv0) {
        (Some(pid), Some(s0)) => Some((cpu::process_cpu(pid)? - s0).as_secs_f64()),
        _ => None,
    };
    // Share of the run that was measured: CPU is assumed uniform over warm-up and window.
    let share = (cfg.duration.as_secs_f64() / wall).min(1.0);
    let per_req = |s: f64| {
        if stats.completed > 0 {
            s * share * 1e6 / stats.completed as f64
        } else {
            0.0
        }
    };
    let cpu = Cpu {
        server_pid,
        server_cpu_s: srv.map(|s| s * share),
        server_cpu_us_per_request: srv.map(per_req),
        loadgen_cpu_s: me * share,
        loadgen_cpu_us_per_request: per_req(me),
    };
    let mut report = Report::new(echo, &stats, cpu);
    // Read after the run: the peak (VmHWM) covers the whole load.
    report.server_memory = server_pid.and_then(|pid| cpu::process_memory(pid).ok());
    Ok(report)
}
