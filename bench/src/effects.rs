//! Scenarios with a second server in the loop: `http-request-echo` (the HTTP Request node
//! calling a local echo server) and `stall` (a server that stops periodically, measured
//! by linkflow-loadtest in closed and open loop and by wrk: coordinated omission shown).

use anyhow::{bail, Context};
use linkflow_bench::workflows;

use crate::runner::{self, Row, Target};
use crate::scenarios::{post_json, Ctx, Outcome, REFERENCE_BODY};

/// Path the echo server is called on (it answers any path).
const ECHO_PATH: &str = "/echo";
/// Stall of the `stall` scenario's server, milliseconds.
const STALL_MS: u64 = 100;
/// Period of its stalls, milliseconds: 10 % of the time the server answers nothing.
const STALL_EVERY_MS: u64 = 1_000;

/// Bare server, the echo server alone, then LinkFlow calling the echo server from an
/// HTTP Request node. Servers under test run on CPU 1 and the load generator on CPU 0;
/// in the LinkFlow row the echo server runs on CPU 0 beside the load generator, so CPU 1
/// holds only the data plane and its server CPU per request is LinkFlow's own (ingress,
/// execution, outbound client).
pub(crate) fn http_request_echo(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let reference_req = ctx.request("reference.txt", "/webhook/bench")?;
    let echo_req = ctx.request("echo.txt", ECHO_PATH)?;
    let mut rows = vec![ctx.measure_bare(&reference_req)?];
    {
        let (s, base) = ctx.server(&["--echo"])?;
        rows.push(ctx.measure(
            "echo server alone",
            &format!("{base}{ECHO_PATH}"),
            Some(runner::pid(&s)),
            &echo_req,
        )?);
    }
    let (echo, echo_base) = ctx.server_on(0, &["--echo"])?;
    let echo_pid = runner::pid(&echo);
    let workflow = workflows::http_echo_workflow(&format!("{echo_base}{ECHO_PATH}"));
    let file = ctx.file("http-echo.json", &workflow.to_string())?;
    let file = file.to_string_lossy().into_owned();
    let (s, base) = ctx.server(&["--workflow", &file])?;
    let url = format!("{base}/webhook/{}", workflows::HTTP_ECHO_PATH);
    check_echoes(&url)?;
    let req = ctx.request(
        "call-echo.txt",
        &format!("/webhook/{}", workflows::HTTP_ECHO_PATH),
    )?;
    let echo_cpu_before = runner::cpu_of(echo_pid);
    let row = ctx.measure(
        "LinkFlow → echo (HTTP Request node)",
        &url,
        Some(runner::pid(&s)),
        &req,
    )?;
    let notes = vec![
        "pinning: servers under test on CPU 1, linkflow-loadtest on CPU 0; in the LinkFlow row the \
         echo server runs on CPU 0 beside the load generator (CPU 1 holds only the data plane)"
            .to_owned(),
        format!(
            "echo server CPU during the LinkFlow row (warm-up included): {}",
            match (echo_cpu_before, runner::cpu_of(echo_pid)) {
                (Some(a), Some(b)) => format!("{:.2} s", (b - a).as_secs_f64()),
                _ => "n/a (no /proc)".into(),
            }
        ),
    ];
    rows.push(row);
    Ok(Outcome {
        rows,
        base: "LinkFlow",
        notes,
    })
}

/// One request through the workflow must come back as the reference body: the scenario
/// measures the echo path, not error answers.
fn check_echoes(url: &str) -> anyhow::Result<()> {
    let (status, body) = post_json(url, REFERENCE_BODY)?;
    let expected: serde_json::Value = serde_json::from_str(REFERENCE_BODY)?;
    let got: serde_json::Value = serde_json::from_str(&body)
        .with_context(|| format!("echo_check_failed: {url} answered {status} {body:?}"))?;
    if status != 200 || got != expected {
        bail!("echo_check_failed: {url} answered {status} {body} instead of 200 {expected}");
    }
    Ok(())
}

/// A bare server stalling 100 ms every second, measured by linkflow-loadtest in closed
/// loop, by wrk (closed loop, when installed), and by linkflow-loadtest in open loop at
/// half of the closed-loop throughput. The stall is 10 % of the time, so open-loop p99
/// (latency from the intended send time) must show it; a closed loop only delays the one
/// request per connection in flight when the stall starts, so its p99 hides it.
pub(crate) fn stall(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let req = ctx.request("reference.txt", "/webhook/bench")?;
    let (stall_ms, every_ms) = (STALL_MS.to_string(), STALL_EVERY_MS.to_string());
    let (s, base) = ctx.server(&["--stall-ms", &stall_ms, "--stall-every-ms", &every_ms])?;
    let pid = runner::pid(&s);
    let url = format!("{base}/webhook/bench");
    eprintln!("measuring loadtest closed loop ({url})");
    let closed = Target {
        name: "loadtest closed loop",
        url: &url,
        pid: Some(pid),
        req: &req,
    };
    // The same run twice in the table: as measured, and back-filled as wrk corrects its
    // closed loop (wrk's p99 is that corrected figure; bench/README.md, "stall").
    let (row, corrected) = runner::loadtest_with_wrk_correction(
        ctx.args,
        &ctx.bins,
        &closed,
        "loadtest closed loop, corrected as wrk does",
    )?;
    let mut rows = vec![row];
    rows.extend(corrected);
    let mut notes = vec![format!(
        "server: bare_server --stall-ms {STALL_MS} --stall-every-ms {STALL_EVERY_MS} (one shard, CPU 1); \
         load generators on CPU 0"
    )];
    if runner::have("wrk") {
        rows.push(runner::wrk(ctx.args, "wrk closed loop", &url, pid)?);
    } else {
        notes.push("wrk: not installed, no row".into());
    }
    let rate_rps = rows[0].rps * runner::HALF_LOAD_SHARE;
    eprintln!("measuring loadtest open loop at {rate_rps:.0} req/s");
    let target = Target {
        name: "loadtest open loop",
        url: &url,
        pid: Some(pid),
        req: &req,
    };
    let open = runner::loadtest_open(ctx.args, &ctx.bins, &target, rate_rps)?;
    rows.push(Row {
        name: format!("loadtest open loop at {rate_rps:.0} req/s"),
        rps: open.achieved_rps,
        p50_us: open.p50_us,
        p99_us: open.p99_us,
        p999_us: open.p999_us,
        errors: open.errors,
        server_cpu_us: None,
        loadgen_cpu_us: None,
        rss_mib: runner::rss_mib(pid),
        half_load: None,
    });
    // Half the stall: what a p99 that "shows the stall" must at least reach.
    let shows_us = STALL_MS * 1000 / 2;
    for row in &rows {
        notes.push(format!(
            "{}: p99 {:.1} ms — {}",
            row.name,
            row.p99_us as f64 / 1000.0,
            if row.p99_us >= shows_us {
                "shows the stall"
            } else {
                "hides the stall"
            }
        ));
    }
    Ok(Outcome {
        rows,
        base: "loadtest closed loop",
        notes,
    })
}
