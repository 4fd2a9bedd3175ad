//! Starting servers, pinning, measuring with linkflow-loadtest (and wrk), and the table.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::Args;

/// How long a server may take to accept connections.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// The reference request body; the expected answer is in shared/reference/README.md.
pub(crate) const REFERENCE_REQUEST: &str =
    "POST /webhook/bench\nContent-Type: application/json\n\n{\"a\":41,\"name\":\"bench\"}\n";

/// One measured row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Server and generator.
    pub name: String,
    /// Responses per second.
    pub rps: f64,
    /// Median latency, us.
    pub p50_us: u64,
    /// p99 latency, us.
    pub p99_us: u64,
    /// p99.9 latency, us (0 when the generator does not report it).
    pub p999_us: u64,
    /// Errors.
    pub errors: u64,
    /// Server CPU per request, us.
    pub server_cpu_us: Option<f64>,
    /// Load generator CPU per request, us.
    pub loadgen_cpu_us: Option<f64>,
    /// Server resident memory right after the run, MiB (process and its children).
    pub rss_mib: Option<u64>,
    /// Open-loop measurement at half of this row's closed-loop throughput, when taken.
    pub half_load: Option<OpenLoop>,
}

/// An open-loop (coordinated-omission corrected) measurement at a fixed arrival rate.
#[derive(Debug, Clone, Serialize)]
pub struct OpenLoop {
    /// Intended arrival rate, requests per second.
    pub rate_rps: f64,
    /// Responses per second achieved.
    pub achieved_rps: f64,
    /// Median latency from the intended send time, us.
    pub p50_us: u64,
    /// p99 latency from the intended send time, us.
    pub p99_us: u64,
    /// p99.9 latency from the intended send time, us.
    pub p999_us: u64,
    /// Errors.
    pub errors: u64,
}

/// Share of a row's closed-loop peak at which its open-loop latency is measured.
pub const HALF_LOAD_SHARE: f64 = 0.5;
/// The p99 the data plane must keep at half of peak load (issue #4), us.
pub const HALF_LOAD_P99_US_TARGET: u64 = 1_000;

/// A child process killed on drop, so a failed run leaves no server behind.
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether `cmd --version` runs.
pub(crate) fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// `taskset -c CPU prog args...` when taskset exists and there are 2+ CPUs.
fn pinned(cpu: u32, prog: &Path) -> Command {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores >= 2 && have("taskset") {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpu.to_string()).arg(prog);
        c
    } else {
        Command::new(prog)
    }
}

fn wait_listening(addr: SocketAddr, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + SERVER_START_TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(st) = child.try_wait()? {
            bail!("server_exited: server exited with {st} before listening on {addr}");
        }
        // Polling a port is the only portable readiness signal these servers give.
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("server_start_timeout: nothing listening on {addr} after {SERVER_START_TIMEOUT:?}")
}

pub(crate) fn bin_dir(args: &Args) -> anyhow::Result<PathBuf> {
    match &args.bin_dir {
        Some(d) => Ok(d.clone()),
        None => Ok(std::env::current_exe()?
            .parent()
            .context("binary has no directory")?
            .to_path_buf()),
    }
}

/// Starts `bin --addr 127.0.0.1:PORT EXTRA...` pinned to `cpu` and waits until it listens.
pub(crate) fn start_on(cpu: u32, bin: &Path, extra: &[&str], port: u16) -> anyhow::Result<Server> {
    if !bin.exists() {
        bail!(
            "missing_binary: {} (cargo build --release -p linkflow-bench)",
            bin.display()
        );
    }
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut cmd = pinned(cpu, bin);
    cmd.arg("--addr")
        .arg(addr.to_string())
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    wait_listening(addr, &mut child)?;
    Ok(Server(child))
}

/// The pid of the server itself (taskset execs it, so the child pid is the server).
pub(crate) fn pid(s: &Server) -> u32 {
    s.0.id()
}

/// Where a loadtest run goes and what it sends.
pub(crate) struct Target<'a> {
    /// Row name.
    pub name: &'a str,
    /// URL.
    pub url: &'a str,
    /// Server pid, for its CPU per request.
    pub pid: Option<u32>,
    /// Request template file.
    pub req: &'a Path,
}

/// One closed-loop run of linkflow-loadtest (pinned to CPU 0) against `target`.
pub(crate) fn loadtest(args: &Args, bins: &Path, target: &Target) -> anyhow::Result<Row> {
    let report = run_loadtest(args, bins, target, None)?;
    Ok(closed_row(target, &report))
}

/// [`loadtest`], plus the same run's latency corrected for coordinated omission the way
/// wrk corrects its closed loop, as a second row named `corrected_name` (`None` when the
/// loadtest binary does not write `latency_us_corrected`).
pub(crate) fn loadtest_with_wrk_correction(
    args: &Args,
    bins: &Path,
    target: &Target,
    corrected_name: &str,
) -> anyhow::Result<(Row, Option<Row>)> {
    let report = run_loadtest(args, bins, target, None)?;
    let row = closed_row(target, &report);
    let corrected = report.latency_us_corrected.as_ref().map(|l| Row {
        name: corrected_name.into(),
        p50_us: l.p50,
        p99_us: l.p99,
        p999_us: l.p999,
        ..row.clone()
    });
    Ok((row, corrected))
}

fn closed_row(target: &Target, report: &linkflow_loadtest_report::Report) -> Row {
    Row {
        name: target.name.into(),
        rps: report.throughput_rps,
        p50_us: report.latency_us.p50,
        p99_us: report.latency_us.p99,
        p999_us: report.latency_us.p999,
        errors: report.errors_total,
        server_cpu_us: report.cpu.server_cpu_us_per_request,
        loadgen_cpu_us: Some(report.cpu.loadgen_cpu_us_per_request),
        rss_mib: target.pid.and_then(rss_mib),
        half_load: None,
    }
}

/// One open-loop run of linkflow-loadtest at `rate_rps` against `target`.
pub(crate) fn loadtest_open(
    args: &Args,
    bins: &Path,
    target: &Target,
    rate_rps: f64,
) -> anyhow::Result<OpenLoop> {
    if !(rate_rps.is_finite() && rate_rps >= 1.0) {
        bail!(
            "rate_too_low: {}: open-loop rate {rate_rps:.1} req/s (the closed-loop peak was too low)",
            target.name
        );
    }
    let report = run_loadtest(args, bins, target, Some(rate_rps))?;
    Ok(OpenLoop {
        rate_rps,
        achieved_rps: report.throughput_rps,
        p50_us: report.latency_us.p50,
        p99_us: report.latency_us.p99,
        p999_us: report.latency_us.p999,
        errors: report.errors_total,
    })
}

fn run_loadtest(
    args: &Args,
    bins: &Path,
    target: &Target,
    rate_rps: Option<f64>,
) -> anyhow::Result<linkflow_loadtest_report::Report> {
    let Target {
        name,
        url,
        pid,
        req,
    } = *target;
    let out = std::env::temp_dir().join(format!(
        "linkflow-bench-{}-{}.json",
        std::process::id(),
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ));
    let mut cmd = pinned(0, &bins.join("linkflow-loadtest"));
    cmd.arg(url)
        .args([
            "--connections",
            &args.connections.to_string(),
            "--duration",
            &args.duration,
            "--warmup",
            &args.warmup,
            "--quiet",
        ])
        .arg("--request")
        .arg(req)
        .arg("--json")
        .arg(&out)
        .stdout(Stdio::null());
    if let Some(p) = pid {
        cmd.args(["--server-pid", &p.to_string()]);
    }
    if let Some(rate) = rate_rps {
        cmd.args(["--rate", &format!("{rate:.0}")]);
    }
    let st = cmd.status().context("running linkflow-loadtest")?;
    if !st.success() {
        bail!("loadtest_failed: linkflow-loadtest exited with {st} for {name}");
    }
    let report = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
    let _ = std::fs::remove_file(&out);
    Ok(report)
}

/// The fields of linkflow-loadtest's JSON the table needs (read as data, so the harness
/// works with any loadtest binary that writes this schema).
mod linkflow_loadtest_report {
    use serde::Deserialize;
    #[derive(Deserialize)]
    pub struct Latency {
        pub p50: u64,
        pub p99: u64,
        #[serde(default)]
        pub p999: u64,
    }
    #[derive(Deserialize)]
    pub struct Cpu {
        pub server_cpu_us_per_request: Option<f64>,
        pub loadgen_cpu_us_per_request: f64,
    }
    #[derive(Deserialize)]
    pub struct Report {
        pub throughput_rps: f64,
        pub errors_total: u64,
        pub latency_us: Latency,
        #[serde(default)]
        pub latency_us_corrected: Option<Latency>,
        pub cpu: Cpu,
    }
}

fn children_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn proc_cpu(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let u: u64 = f.nth(11)?.parse().ok()?;
    let s: u64 = f.next()?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(Duration::from_secs_f64((u + s) as f64 / hz))
}

/// wrk with the reference post.lua, pinned like the loadtest row, as row `name`.
pub(crate) fn wrk(args: &Args, name: &str, url: &str, pid: u32) -> anyhow::Result<Row> {
    let lua = args.workflow.with_file_name("post.lua");
    let run = |d: &str, latency: bool| -> anyhow::Result<String> {
        let mut cmd = pinned(0, Path::new("wrk"));
        cmd.args(["-t1", &format!("-c{}", args.connections), &format!("-d{d}")]);
        if latency {
            cmd.arg("--latency");
        }
        let out = cmd
            .arg("-s")
            .arg(&lua)
            .arg(url)
            .output()
            .context("running wrk")?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    run(&args.warmup, false)?;
    let (c0, s0) = (children_cpu(), proc_cpu(pid));
    let text = run(&args.duration, true)?;
    let (c1, s1) = (children_cpu(), proc_cpu(pid));
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
    };
    let rps: f64 = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .context("wrk_output: no Requests/sec")?;
    let requests: f64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let us = |v: String| -> u64 {
        let (n, mult) = if let Some(n) = v.strip_suffix("us") {
            (n, 1.0)
        } else if let Some(n) = v.strip_suffix("ms") {
            (n, 1e3)
        } else if let Some(n) = v.strip_suffix('s') {
            (n, 1e6)
        } else {
            (v.as_str(), 1.0)
        };
        (n.parse::<f64>().unwrap_or(0.0) * mult) as u64
    };
    let per = |d: Duration| {
        if requests > 0.0 {
            Some(d.as_secs_f64() * 1e6 / requests)
        } else {
            None
        }
    };
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .count() as u64;
    Ok(Row {
        name: name.into(),
        rps,
        p50_us: field("50%").map(us).unwrap_or(0),
        p99_us: field("99%").map(us).unwrap_or(0),
        // wrk's --latency prints 50/75/90/99 % only.
        p999_us: 0,
        errors,
        server_cpu_us: s0.zip(s1).and_then(|(a, b)| per(b - a)),
        loadgen_cpu_us: per(c1 - c0),
        rss_mib: rss_mib(pid),
        half_load: None,
    })
}

/// Resident memory of a process, MiB (`VmRSS`).
pub(crate) fn rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024)
}

/// CPU time a process has used so far (all its threads).
pub(crate) fn cpu_of(pid: u32) -> Option<Duration> {
    proc_cpu(pid)
}
