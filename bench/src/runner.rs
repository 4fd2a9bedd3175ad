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
    /// Errors.
    pub errors: u64,
    /// Server CPU per request, us.
    pub server_cpu_us: Option<f64>,
    /// Load generator CPU per request, us.
    pub loadgen_cpu_us: Option<f64>,
    /// Server resident memory right after the run, MiB (process and its children).
    pub rss_mib: Option<u64>,
}

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

fn have(cmd: &str) -> bool {
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

pub(crate) fn start(bin: &Path, extra: &[&str], port: u16) -> anyhow::Result<Server> {
    if !bin.exists() {
        bail!(
            "missing_binary: {} (cargo build --release -p linkflow-bench)",
            bin.display()
        );
    }
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut cmd = pinned(1, bin);
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

pub(crate) fn loadtest(
    args: &Args,
    bins: &Path,
    name: &str,
    url: &str,
    pid: Option<u32>,
    req: &Path,
) -> anyhow::Result<Row> {
    let out =
        std::env::temp_dir().join(format!("linkflow-bench-{}-{name}.json", std::process::id()));
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
    let st = cmd.status().context("running linkflow-loadtest")?;
    if !st.success() {
        bail!("loadtest_failed: linkflow-loadtest exited with {st} for {name}");
    }
    let r: linkflow_loadtest_report::Report =
        serde_json::from_str(&std::fs::read_to_string(&out)?)?;
    let _ = std::fs::remove_file(&out);
    Ok(Row {
        name: name.into(),
        rps: r.throughput_rps,
        p50_us: r.latency_us.p50,
        p99_us: r.latency_us.p99,
        errors: r.errors_total,
        server_cpu_us: r.cpu.server_cpu_us_per_request,
        loadgen_cpu_us: Some(r.cpu.loadgen_cpu_us_per_request),
        rss_mib: pid.and_then(rss_mib),
    })
}

/// The fields of linkflow-loadtest's JSON the table needs (read as data, so the harness
/// works with any loadtest binary that writes this schema).
mod linkflow_loadtest_report {
    use serde::Deserialize;
    #[derive(Deserialize)]
    pub struct Latency {
        pub p50: u64,
        pub p99: u64,
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

/// wrk with the reference post.lua, pinned like the loadtest row.
pub(crate) fn wrk(args: &Args, url: &str, pid: u32) -> anyhow::Result<Row> {
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
        name: "bare server (wrk)".into(),
        rps,
        p50_us: field("50%").map(us).unwrap_or(0),
        p99_us: field("99%").map(us).unwrap_or(0),
        errors,
        server_cpu_us: s0.zip(s1).and_then(|(a, b)| per(b - a)),
        loadgen_cpu_us: per(c1 - c0),
        rss_mib: rss_mib(pid),
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

/// The side-by-side table. Ratio columns divide each row by the `base` row (the first
/// row whose name starts with `base`, else the first row): req/s and p99 as `row / base`,
/// CPU per request as `row / base`, so "n8n: CPU/req 400×" reads "400 times LinkFlow's".
pub fn table(rows: &[Row], base: &str) -> String {
    let base_row = rows
        .iter()
        .find(|r| r.name.starts_with(base))
        .or(rows.first());
    let base_name = base_row.map_or("-", |r| r.name.as_str());
    let mut s = format!(
        "| server | req/s | p50 | p99 | errors | server CPU/req | RSS | loadgen CPU/req | req/s ÷ {base_name} | p99 ÷ {base_name} | CPU/req ÷ {base_name} |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    let ratio = |x: f64, b: f64| {
        if b > 0.0 && x.is_finite() {
            format!("{:.3}×", x / b).replace(".000×", "×")
        } else {
            "n/a".into()
        }
    };
    for r in rows {
        let f = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.1} us"));
        let cpu_ratio = match (base_row.and_then(|b| b.server_cpu_us), r.server_cpu_us) {
            (Some(b), Some(x)) => ratio(x, b),
            _ => "n/a".into(),
        };
        s.push_str(&format!(
            "| {} | {:.0} | {} us | {} us | {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            r.rps,
            r.p50_us,
            r.p99_us,
            r.errors,
            f(r.server_cpu_us),
            r.rss_mib.map_or("n/a".into(), |m| format!("{m} MiB")),
            f(r.loadgen_cpu_us),
            base_row.map_or("n/a".into(), |b| ratio(r.rps, b.rps)),
            base_row.map_or("n/a".into(), |b| ratio(r.p99_us as f64, b.p99_us as f64)),
            cpu_ratio,
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, cpu: Option<f64>) -> Row {
        Row {
            name: name.into(),
            rps: 1000.0,
            p50_us: 1,
            p99_us: 2,
            errors: 0,
            server_cpu_us: cpu,
            loadgen_cpu_us: Some(3.0),
            rss_mib: Some(5),
        }
    }

    #[test]
    fn table_ratios_are_against_the_named_base_row() {
        let mut peer = row("peer", Some(2500.0));
        peer.rps = 10.0;
        peer.p99_us = 200;
        let t = table(
            &[
                row("bare", Some(10.0)),
                row("linkflow", Some(25.0)),
                peer,
                row("gone", None),
            ],
            "linkflow",
        );
        assert!(t.contains("req/s ÷ linkflow"), "{t}");
        assert!(
            t.contains(
                "| bare | 1000 | 1 us | 2 us | 0 | 10.0 us | 5 MiB | 3.0 us | 1× | 1× | 0.400× |"
            ),
            "{t}"
        );
        assert!(
            t.contains(
                "| linkflow | 1000 | 1 us | 2 us | 0 | 25.0 us | 5 MiB | 3.0 us | 1× | 1× | 1× |"
            ),
            "{t}"
        );
        assert!(t.contains("| peer | 10 | 1 us | 200 us | 0 | 2500.0 us | 5 MiB | 3.0 us | 0.010× | 100× | 100× |"), "{t}");
        assert!(
            t.contains("| gone | 1000 | 1 us | 2 us | 0 | n/a | 5 MiB | 3.0 us | 1× | 1× | n/a |"),
            "{t}"
        );
    }

    #[test]
    fn table_falls_back_to_the_first_row() {
        let t = table(&[row("bare", Some(10.0)), row("x", Some(20.0))], "missing");
        assert!(
            t.contains("| x | 1000 | 1 us | 2 us | 0 | 20.0 us | 5 MiB | 3.0 us | 1× | 1× | 2× |"),
            "{t}"
        );
    }
}
