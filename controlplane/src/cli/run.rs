//! `linkflow run WORKFLOW.json [--request REQUEST.json]`: executes a workflow in-process,
//! exactly as the data plane would, and prints the result.
//!
//! With `--request` (`{"method","path","headers","query","body"}`) it prints the HTTP
//! response as `{"status": N, "headers": {...}, "body": ...}`; without, it runs the manual
//! trigger and prints the last node's items. The work itself is
//! [`linkflow_dataplane::engine::runner::run_workflow`], which the golden tests call too.

use std::path::PathBuf;

use anyhow::Context;
use linkflow_dataplane::engine::runner::{run_workflow, RunOutput, RunRequest, DEFAULT_BASE_URL};
use linkflow_dataplane::engine::services::EngineServices;

/// Arguments of `linkflow run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The n8n workflow export to run.
    pub workflow: PathBuf,
    /// A webhook request: `{"method","path","headers","query","body"}`.
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// Base URL webhooks are reachable at (`webhookUrl` in the trigger item).
    #[arg(long, default_value = DEFAULT_BASE_URL)]
    pub base_url: String,
    /// Also print the execution trace (node, run, items per output, error) to stderr.
    #[arg(long)]
    pub trace: bool,
}

/// Runs the command: reads the files, executes, prints JSON to stdout.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let output = execute(args)?;
    println!("{}", serde_json::to_string_pretty(&output.to_json())?);
    if args.trace {
        let trace = match &output {
            RunOutput::Webhook(run) => &run.trace,
            RunOutput::Manual(run) => &run.trace,
        };
        for entry in trace {
            eprintln!(
                "{}#{} outputs={:?} error={:?}",
                entry.node, entry.run, entry.outputs, entry.error
            );
        }
    }
    Ok(())
}

/// Executes the files `args` names and returns the output.
pub fn execute(args: &RunArgs) -> anyhow::Result<RunOutput> {
    let workflow_text = std::fs::read_to_string(&args.workflow)
        .with_context(|| format!("reading {}", args.workflow.display()))?;
    let workflow: serde_json::Value = serde_json::from_str(&workflow_text)
        .with_context(|| format!("parsing {}", args.workflow.display()))?;
    let request: Option<RunRequest> = match &args.request {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("parsing {}", path.display()))?,
            )
        }
        None => None,
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let services = EngineServices::with_js(now_ms).context("starting the JavaScript runtime")?;
    run_workflow(
        &workflow,
        request.as_ref(),
        services,
        &args.base_url,
        now_ms,
    )
    .map_err(anyhow::Error::msg)
}
