//! The scenarios: which servers start, with which plans, and which rows they produce.
//!
//! Every scenario measures its rows back to back in one run (servers on CPU 1, the load
//! generator on CPU 0), so ratios hold even when the shared machine's speed drifts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::runner::{self, Row, Target, REFERENCE_REQUEST};
use crate::{peers, Args};
use linkflow_bench::workflows;

/// Nodes of the `transform-20` workflow.
const TRANSFORM_NODES: usize = 20;
/// Copies of the reference workflow deployed by `deployed-10000`.
const DEPLOYED_COPIES: usize = 10_000;
/// Schedule workflows installed by `schedules-1000`.
const SCHEDULE_COPIES: usize = 1_000;
/// Their interval: every workflow fires once a second, 1,000 executions/s in total.
const SCHEDULE_INTERVAL_S: u32 = 1;
/// Idle window over which the schedule load's own CPU is sampled.
const IDLE_SAMPLE: Duration = Duration::from_secs(5);
/// How long installed plans may take to answer (10,000 installs go through each shard's
/// control queue after the listener is up).
const PLANS_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// What a scenario produced.
pub struct Outcome {
    /// Measured rows.
    pub rows: Vec<Row>,
    /// Name prefix of the row the ratio columns divide by.
    pub base: &'static str,
    /// Figures that are not rows (start-up times, idle CPU).
    pub notes: Vec<String>,
}

/// Runs scenario `name`.
pub fn run(name: &str, args: &Args) -> anyhow::Result<Outcome> {
    let ctx = Ctx::new(args)?;
    let outcome = match name {
        "reference" => reference(&ctx),
        "transform-20" => transform20(&ctx),
        "deployed-10000" => deployed(&ctx),
        "schedules-1000" => schedules(&ctx),
        "http-request-echo" => crate::effects::http_request_echo(&ctx),
        "stall" => crate::effects::stall(&ctx),
        "reference-journal" => reference_journal(&ctx),
        other => bail!("scenario_not_wired: {other}"),
    };
    let _ = std::fs::remove_dir_all(&ctx.tmp);
    outcome
}

/// What every scenario needs: the binaries, a scratch directory, the arguments.
pub(crate) struct Ctx<'a> {
    pub(crate) args: &'a Args,
    pub(crate) bins: PathBuf,
    tmp: PathBuf,
}

impl<'a> Ctx<'a> {
    fn new(args: &'a Args) -> anyhow::Result<Self> {
        let tmp = std::env::temp_dir().join(format!("linkflow-bench-{}", std::process::id()));
        std::fs::create_dir_all(&tmp)?;
        Ok(Ctx {
            args,
            bins: runner::bin_dir(args)?,
            tmp,
        })
    }

    pub(crate) fn file(&self, name: &str, content: &str) -> anyhow::Result<PathBuf> {
        let path = self.tmp.join(name);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    pub(crate) fn request(&self, name: &str, path: &str) -> anyhow::Result<PathBuf> {
        self.file(name, &REFERENCE_REQUEST.replacen("/webhook/bench", path, 1))
    }

    /// Starts `bare_server` with `extra` flags on CPU 1; returns it and its base URL.
    pub(crate) fn server(&self, extra: &[&str]) -> anyhow::Result<(runner::Server, String)> {
        self.server_on(1, extra)
    }

    /// Starts `bare_server` with `extra` flags on `cpu`; returns it and its base URL.
    pub(crate) fn server_on(
        &self,
        cpu: u32,
        extra: &[&str],
    ) -> anyhow::Result<(runner::Server, String)> {
        let port = runner::free_port()?;
        let mut flags = vec!["--shards", "1"];
        flags.extend_from_slice(extra);
        let server = runner::start_on(cpu, &self.bins.join("bare_server"), &flags, port)?;
        Ok((server, format!("http://127.0.0.1:{port}")))
    }

    /// The "bare server" row: the fixed reference response on one shard (CPU 1), measured
    /// with the reference request `req`; the server stops when the row is taken.
    pub(crate) fn measure_bare(&self, req: &Path) -> anyhow::Result<Row> {
        let (s, base) = self.server(&[])?;
        self.measure(
            "bare server",
            &format!("{base}/webhook/bench"),
            Some(runner::pid(&s)),
            req,
        )
    }

    pub(crate) fn measure(
        &self,
        name: &str,
        url: &str,
        pid: Option<u32>,
        req: &Path,
    ) -> anyhow::Result<Row> {
        eprintln!("measuring {name} ({url})");
        let target = Target {
            name,
            url,
            pid,
            req,
        };
        runner::loadtest(self.args, &self.bins, &target)
    }

    /// The closed-loop peak, then an open-loop run at [`runner::HALF_LOAD_SHARE`] of it
    /// (the row's `half_load`), against the same running server.
    pub(crate) fn measure_with_half_load(
        &self,
        name: &str,
        url: &str,
        pid: Option<u32>,
        req: &Path,
    ) -> anyhow::Result<Row> {
        let mut row = self.measure(name, url, pid, req)?;
        let rate_rps = row.rps * runner::HALF_LOAD_SHARE;
        eprintln!("measuring {name} open loop at {rate_rps:.0} req/s");
        let target = Target {
            name,
            url,
            pid,
            req,
        };
        row.half_load = Some(runner::loadtest_open(
            self.args, &self.bins, &target, rate_rps,
        )?);
        Ok(row)
    }
}

fn workflow_flag(path: &Path, copies: usize) -> String {
    format!("{}:{copies}", path.display())
}

/// Bare server, LinkFlow, then the peers: the headline comparison.
fn reference(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = ctx.args;
    let req = ctx.request("reference.txt", "/webhook/bench")?;
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    {
        let (s, base) = ctx.server(&[])?;
        let url = format!("{base}/webhook/bench");
        rows.push(ctx.measure_with_half_load("bare server", &url, Some(runner::pid(&s)), &req)?);
        if args.with_wrk {
            rows.push(runner::wrk(
                args,
                "bare server (wrk)",
                &url,
                runner::pid(&s),
            )?);
        }
    }
    {
        let wf = args.workflow.to_string_lossy().into_owned();
        let (s, base) = ctx.server(&["--workflow", &wf])?;
        let url = format!("{base}/webhook/bench");
        rows.push(ctx.measure_with_half_load(
            "LinkFlow data plane",
            &url,
            Some(runner::pid(&s)),
            &req,
        )?);
    }
    for spec in &args.peer {
        let (name, rest) = spec
            .split_once('=')
            .context("peer_spec: expected name=URL[,PID]")?;
        let (url, pid) = match rest.split_once(',') {
            Some((u, p)) => (u, Some(p.parse::<u32>().context("peer_spec: bad PID")?)),
            None => (rest, None),
        };
        rows.push(ctx.measure_with_half_load(name, url, pid, &req)?);
    }
    if args.peers == "auto" {
        let script = args.peers_script.clone().unwrap_or_else(|| {
            args.workflow
                .parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new("."))
                .join("peers/run-peers.sh")
        });
        let dir = peers::peers_dir();
        let installed = peers::installed(&dir);
        for peer in &peers::PEERS {
            if !installed.contains(peer) {
                notes.push(format!(
                    "{}: not installed under {} (run `{} install`), no row",
                    peer.name,
                    dir.display(),
                    script.display()
                ));
                continue;
            }
            eprintln!("starting {} with {}", peer.name, script.display());
            match peers::start(&script, peer, &dir, 1) {
                Ok(running) => {
                    rows.push(ctx.measure_with_half_load(
                        peer.name,
                        peer.url,
                        Some(running.pid),
                        &req,
                    )?);
                }
                Err(e) => notes.push(format!("{}: {e:#}", peer.name)),
            }
        }
    }
    Ok(Outcome {
        rows,
        base: "LinkFlow",
        notes,
    })
}

/// The 20-node transform chain against the reference workflow and the bare server.
fn transform20(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let wf = ctx.file(
        "transform20.json",
        &workflows::transform_workflow(TRANSFORM_NODES, 0).to_string(),
    )?;
    let path = workflows::transform_path(TRANSFORM_NODES);
    let req = ctx.request("t20.txt", &format!("/webhook/{path}"))?;
    let reference_req = ctx.request("reference.txt", "/webhook/bench")?;
    let mut rows = vec![ctx.measure_bare(&reference_req)?];
    let reference = ctx.args.workflow.to_string_lossy().into_owned();
    let wf = wf.to_string_lossy().into_owned();
    let (s, base) = ctx.server(&["--workflow", &reference, "--workflow", &wf])?;
    rows.push(ctx.measure(
        "LinkFlow reference (5 nodes)",
        &format!("{base}/webhook/bench"),
        Some(runner::pid(&s)),
        &reference_req,
    )?);
    let url = format!("{base}/webhook/{path}");
    rows.push(ctx.measure("LinkFlow transform-20", &url, Some(runner::pid(&s)), &req)?);
    Ok(Outcome {
        rows,
        base: "LinkFlow reference",
        notes: vec![],
    })
}

/// One plan versus 10,000 copies of it, each request to a random copy.
fn deployed(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let wf = ctx.args.workflow.to_string_lossy().into_owned();
    let random = ctx.request(
        "random.txt",
        &format!("/webhook/bench{{{{rand:0:{}}}}}", DEPLOYED_COPIES - 1),
    )?;
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    {
        let (s, base) = ctx.server(&["--workflow", &workflow_flag(Path::new(&wf), 1)])?;
        let req = ctx.request("bench.txt", "/webhook/bench")?;
        rows.push(ctx.measure(
            "LinkFlow, 1 workflow",
            &format!("{base}/webhook/bench"),
            Some(runner::pid(&s)),
            &req,
        )?);
    }
    let started = Instant::now();
    let (s, base) = ctx.server(&[
        "--workflow",
        &workflow_flag(Path::new(&wf), DEPLOYED_COPIES),
    ])?;
    let listening = started.elapsed();
    let last = format!("{base}/webhook/bench{}", DEPLOYED_COPIES - 1);
    wait_answering(&last, PLANS_READY_TIMEOUT)?;
    let ready = started.elapsed();
    notes.push(format!(
        "{DEPLOYED_COPIES} workflows: compiled and listening after {:.2} s, last plan answering after {:.2} s, RSS {} MiB before load",
        listening.as_secs_f64(),
        ready.as_secs_f64(),
        runner::rss_mib(runner::pid(&s)).map_or("n/a".into(), |m| m.to_string())
    ));
    rows.push(ctx.measure(
        &format!("LinkFlow, {DEPLOYED_COPIES} workflows (random one per request)"),
        &format!("{base}/webhook/bench0"),
        Some(runner::pid(&s)),
        &random,
    )?);
    Ok(Outcome {
        rows,
        base: "LinkFlow, 1 workflow",
        notes,
    })
}

/// The reference webhook alone versus beside 1,000 schedules firing every second.
fn schedules(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let wf = ctx.args.workflow.to_string_lossy().into_owned();
    let sched = ctx.file(
        "schedule.json",
        &workflows::every_seconds(SCHEDULE_INTERVAL_S).to_string(),
    )?;
    let req = ctx.request("reference.txt", "/webhook/bench")?;
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    {
        let (s, base) = ctx.server(&["--workflow", &wf])?;
        let pid = runner::pid(&s);
        notes.push(format!(
            "idle CPU, reference workflow only: {}",
            idle_cpu(pid)
        ));
        rows.push(ctx.measure(
            "LinkFlow, webhook only",
            &format!("{base}/webhook/bench"),
            Some(pid),
            &req,
        )?);
    }
    let (s, base) = ctx.server(&[
        "--workflow",
        &wf,
        "--workflow",
        &workflow_flag(&sched, SCHEDULE_COPIES),
    ])?;
    let pid = runner::pid(&s);
    wait_answering(&format!("{base}/webhook/bench"), PLANS_READY_TIMEOUT)?;
    notes.push(format!(
        "idle CPU with {SCHEDULE_COPIES} schedules every {SCHEDULE_INTERVAL_S} s ({} executions/s): {}",
        SCHEDULE_COPIES as u32 / SCHEDULE_INTERVAL_S,
        idle_cpu(pid)
    ));
    rows.push(ctx.measure(
        &format!("LinkFlow, webhook + {SCHEDULE_COPIES} schedules"),
        &format!("{base}/webhook/bench"),
        Some(pid),
        &req,
    )?);
    Ok(Outcome {
        rows,
        base: "LinkFlow, webhook only",
        notes,
    })
}

/// The reference workflow without a journal, then with one in each durability mode (and
/// at level `summary`): the server CPU the journal adds per request (issue #7).
fn reference_journal(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let wf = ctx.args.workflow.to_string_lossy().into_owned();
    let req = ctx.request("reference.txt", "/webhook/bench")?;
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    {
        let (s, base) = ctx.server(&["--workflow", &wf])?;
        rows.push(ctx.measure(
            "LinkFlow, no journal",
            &format!("{base}/webhook/bench"),
            Some(runner::pid(&s)),
            &req,
        )?);
    }
    for (durability, level) in [
        ("none", "all"),
        ("batch", "all"),
        ("sync", "all"),
        ("batch", "summary"),
    ] {
        let dir = ctx.tmp.join(format!("journal-{durability}-{level}"));
        let dir_text = dir.to_string_lossy().into_owned();
        let name = format!("LinkFlow, journal {durability} ({level})");
        {
            let (s, base) = ctx.server(&[
                "--workflow",
                &wf,
                "--journal",
                &dir_text,
                "--durability",
                durability,
                "--record-level",
                level,
            ])?;
            let url = format!("{base}/webhook/bench");
            rows.push(ctx.measure(&name, &url, Some(runner::pid(&s)), &req)?);
        }
        notes.push(format!(
            "{name}: {:.1} MiB of journal segments after warm-up + measured window",
            dir_bytes(&dir) as f64 / (1024.0 * 1024.0)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(Outcome {
        rows,
        base: "LinkFlow, no journal",
        notes,
    })
}

/// Bytes of the files under `dir` (journal segments are written in whole blocks).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// Server CPU over an idle window, as a share of one core.
fn idle_cpu(pid: u32) -> String {
    let c0 = runner::cpu_of(pid);
    let t0 = Instant::now();
    std::thread::sleep(IDLE_SAMPLE);
    match (c0, runner::cpu_of(pid)) {
        (Some(a), Some(b)) => format!(
            "{:.1} % of one core over {:.0} s",
            100.0 * (b - a).as_secs_f64() / t0.elapsed().as_secs_f64(),
            IDLE_SAMPLE.as_secs_f64()
        ),
        _ => "n/a (no /proc)".into(),
    }
}

/// The reference request body.
pub(crate) const REFERENCE_BODY: &str = r#"{"a":41,"name":"bench"}"#;
/// Largest answer [`post_json`] reads. Why: a check request, not a download.
const CHECK_ANSWER_BYTES_MAX: u64 = 1 << 20;

/// POSTs `body` as JSON to `url` on a fresh connection (`Connection: close`); returns the
/// status and the answer body.
pub(crate) fn post_json(url: &str, body: &str) -> anyhow::Result<(u16, String)> {
    let rest = url.strip_prefix("http://").context("http URL")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut c = TcpStream::connect(host)?;
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        c,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    c.take(CHECK_ANSWER_BYTES_MAX).read_to_string(&mut answer)?;
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .context("bad_answer: no HTTP status line")?;
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}

/// POSTs the reference body to `url` until it answers 200.
pub(crate) fn wait_answering(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if matches!(post_json(url, REFERENCE_BODY), Ok((200, _))) {
            return Ok(());
        }
        // Plans are installed through each shard's control queue; polling is the signal.
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("plans_not_ready: {url} did not answer 200 within {timeout:?}")
}
