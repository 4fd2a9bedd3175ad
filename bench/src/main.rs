//! `linkflow-bench`: runs a named scenario end to end and prints one side-by-side table.
//!
//! `linkflow-bench reference [--duration 10s] [--warmup 3s] [--connections 32] [--with-wrk]
//! [--peers auto|none] [--peer name=URL[,PID]] [--out results.json]`
//!
//! Servers run on CPU 1 and the load generator on CPU 0 (taskset), as the standard
//! measurement in shared/reference/README.md; every row is measured in the same run so
//! ratios are comparable even when absolute figures drift on a shared machine. With
//! `--peers auto` (the default) the installed peers (Node-RED, n8n) are started, pinned,
//! measured and stopped through `shared/reference/peers/run-peers.sh`.

mod effects;
mod peers;
mod runner;
mod scenario;
mod scenarios;
mod table;

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "LinkFlow benchmark harness: one scenario, one table, ratios from the same run")]
pub struct Args {
    /// Scenario name (`list` prints them).
    pub scenario: String,
    /// Measured seconds per row.
    #[arg(long, default_value = "10s")]
    pub duration: String,
    /// Warm-up per row.
    #[arg(long, default_value = "3s")]
    pub warmup: String,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Also measure the bare server with wrk (load generator comparison).
    #[arg(long)]
    pub with_wrk: bool,
    /// An already running server to add as a row: `name=URL[,PID]`.
    #[arg(long)]
    pub peer: Vec<String>,
    /// `auto`: start, measure and stop every installed peer (Node-RED, n8n) with
    /// run-peers.sh; `none`: only LinkFlow and the bare server.
    #[arg(long, default_value = "auto", value_parser = ["auto", "none"])]
    pub peers: String,
    /// The peers' script (default: `../peers/run-peers.sh` next to the workflow's folder).
    #[arg(long)]
    pub peers_script: Option<PathBuf>,
    /// Directory holding linkflow-loadtest and bare_server (default: next to this binary).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Reference workflow.
    #[arg(
        long,
        default_value = "/work/shared/reference/workflows/webhook-bench.json"
    )]
    pub workflow: PathBuf,
    /// Results file.
    #[arg(long, default_value = "bench-results.json")]
    pub out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.scenario == "list" {
        for s in scenario::SCENARIOS {
            println!(
                "{:<18} {}{}",
                s.name,
                s.about,
                s.blocked_on
                    .map(|b| format!(" [not yet: needs {b}]"))
                    .unwrap_or_default()
            );
        }
        return Ok(());
    }
    let Some(sc) = scenario::find(&args.scenario) else {
        bail!(
            "unknown_scenario: {:?} (try `linkflow-bench list`)",
            args.scenario
        );
    };
    if let Some(why) = sc.blocked_on {
        bail!(
            "scenario_not_yet: {} cannot run yet: it needs {why}",
            sc.name
        );
    }
    let outcome = scenarios::run(sc.name, &args)?;
    let table = table::table(&outcome.rows, outcome.base) + &table::half_load_table(&outcome.rows);
    print!("{table}");
    for note in &outcome.notes {
        println!("{note}");
    }
    let json = serde_json::json!({
        "scenario": sc.name,
        "config": {"duration": args.duration, "warmup": args.warmup, "connections": args.connections},
        "rows": outcome.rows,
        "notes": outcome.notes,
        "table": table,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("results written to {}", args.out.display());
    Ok(())
}
