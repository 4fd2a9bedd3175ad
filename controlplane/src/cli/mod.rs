//! The `linkflow` command line: one module per subcommand.
//!
//! Adding a subcommand takes one variant in [`Command`] and one module here: the module
//! exposes an `Args` struct (`clap::Args`) and `pub fn run(&Args) -> anyhow::Result<()>`
//! (or an exit code when the command reports failures without erroring).

pub mod certs;
pub mod compat;
pub mod compile;
pub mod controlplane;
pub mod dataplane;
pub mod import;
pub mod inspect;
pub mod journal;
pub mod plan;
pub mod run;
pub mod serve;
mod startup;

use std::process::ExitCode;

/// JSON logs on stdout, filtered by `LINKFLOW_LOG` (default `info`), for the long-running
/// commands (`serve`, `controlplane`, `dataplane`). A subscriber set earlier (tests) wins.
pub(crate) fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LINKFLOW_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
}

/// The `linkflow` command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "linkflow",
    version,
    about = "LinkFlow: an n8n-compatible workflow engine"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands of `linkflow`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Compile an n8n workflow export into a sealed plan (prints plan id and size, or every error).
    Compile(compile::CompileArgs),
    /// Print a readable dump of a sealed plan.
    Inspect(inspect::InspectArgs),
    /// Report how much of a directory of n8n workflows imports and compiles.
    Compat(compat::CompatArgs),
    /// Execute a workflow in-process as the data plane would (real HTTP calls) and print the result.
    Run(run::RunArgs),
    /// Run the control plane with an embedded data plane; plans go to it over QUIC on
    /// loopback (mutual TLS, certificates generated into <data-dir>/certs on first start),
    /// and workflows that were active are deployed again on every start.
    Serve(crate::config::ServeArgs),
    /// Run the control plane alone, deploying to data-plane nodes over QUIC.
    Controlplane(controlplane::ControlplaneArgs),
    /// Import a workflow into a running control plane.
    Import(import::ImportArgs),
    /// Run one data-plane node (shards, webhooks, admin port).
    Dataplane(dataplane::DataplaneArgs),
    /// Submit, list and remove plans on data-plane nodes over QUIC.
    Plan(plan::PlanArgs),
    /// Make development certificates for QUIC plan submission (mutual TLS).
    Certs(certs::CertsArgs),
}

impl Command {
    /// Runs the subcommand and returns the process exit code.
    pub fn execute(&self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Compile(args) => compile::run(args),
            Command::Inspect(args) => inspect::run(args).map(|()| ExitCode::SUCCESS),
            Command::Compat(args) => compat::run(args).map(|()| ExitCode::SUCCESS),
            Command::Run(args) => run::run(args),
            Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
            Command::Controlplane(args) => controlplane::run(args).map(|()| ExitCode::SUCCESS),
            Command::Import(args) => import::run(args).map(|()| ExitCode::SUCCESS),
            Command::Dataplane(args) => dataplane::run(args).map(|()| ExitCode::SUCCESS),
            Command::Plan(args) => plan::run(args),
            Command::Certs(args) => certs::run(args).map(|()| ExitCode::SUCCESS),
        }
    }
}
