//! The `linkflow` command line. Subcommands live in `linkflow_controlplane::cli`.

use std::process::ExitCode;

use clap::Parser;
use linkflow_controlplane::cli::Cli;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.execute() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
