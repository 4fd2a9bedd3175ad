//! `linkflow-tuning check` and `linkflow-tuning report --results FILE... --target 2e9/day --p99 5ms`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use linkflow_tuning::check;
use linkflow_tuning::plan::{self, Assumptions, RecordLevel};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Host checks and capacity plans for LinkFlow")]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Inspect this host and print advice with the exact commands.
    Check,
    /// Turn loadtest sweep JSON files into a capacity plan (Markdown + HTML).
    Report {
        /// Sweep JSON files from `linkflow-loadtest --sweep ... --json`.
        #[arg(long, num_args = 1.., required = true)]
        results: Vec<PathBuf>,
        /// Target load, e.g. 2e9/day, 50000/s.
        #[arg(long)]
        target: String,
        /// p99 budget in milliseconds (e.g. 5ms or 5).
        #[arg(long, default_value = "5ms")]
        p99: String,
        /// Peak-hour rate over the daily average.
        #[arg(long, default_value_t = 3.0)]
        peak_factor: f64,
        /// Journal detail.
        #[arg(long, value_enum, default_value_t = RecordLevel::Summary)]
        record_level: RecordLevel,
        /// Cores per node.
        #[arg(long, default_value_t = 16)]
        cores_per_node: u32,
        /// Journal bytes per execution at `summary` (default: the reference workflow's, measured).
        #[arg(long, default_value_t = plan::SUMMARY_RECORD_BYTES_MEASURED)]
        summary_record_bytes: f64,
        /// Journal bytes per execution at `all` (default: the reference workflow's, measured).
        #[arg(long, default_value_t = plan::ALL_RECORD_BYTES_MEASURED)]
        all_record_bytes: f64,
        /// Output directory for capacity.md and capacity.html.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Args::parse().cmd {
        Cmd::Check => print!("{}", check::render(&check::inspect())),
        Cmd::Report {
            results,
            target,
            p99,
            peak_factor,
            record_level,
            cores_per_node,
            summary_record_bytes,
            all_record_bytes,
            out,
        } => {
            let per_day =
                plan::parse_target(&target).map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
            let p99_ms: f64 = p99
                .trim_end_matches("ms")
                .trim()
                .parse()
                .context("p99: expected milliseconds like 5ms")?;
            let mut a = Assumptions::new(per_day, (p99_ms * 1000.0) as u64);
            a.peak_factor = peak_factor;
            a.record_level = record_level;
            a.cores_per_node = cores_per_node;
            anyhow::ensure!(
                summary_record_bytes > 0.0 && all_record_bytes > 0.0,
                "record bytes must be positive"
            );
            a.summary_record_bytes = summary_record_bytes;
            a.all_record_bytes = all_record_bytes;
            let sweeps = linkflow_tuning::load_sweeps(&results)?;
            let (md, html) = linkflow_tuning::report(&sweeps, a)?;
            std::fs::create_dir_all(&out)?;
            std::fs::write(out.join("capacity.md"), &md)?;
            std::fs::write(out.join("capacity.html"), html)?;
            print!("{md}");
        }
    }
    Ok(())
}
