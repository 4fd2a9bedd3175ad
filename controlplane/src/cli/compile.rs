//! `linkflow compile WORKFLOW.json [-o PLAN.lfp]`: compiles an export into a sealed plan.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use linkflow_codec::{compile_export, CompileExportError};

/// Arguments of `linkflow compile`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompileArgs {
    /// The n8n workflow export.
    pub workflow: PathBuf,
    /// Where to write the sealed plan (default: only report).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Compiles; prints the plan id and size, or every error (exit code 1).
pub fn run(args: &CompileArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.workflow)
        .with_context(|| format!("reading {}", args.workflow.display()))?;
    match compile_export(&bytes) {
        Ok(sealed) => {
            for warning in &sealed.warnings {
                eprintln!("{warning}");
            }
            if let Some(output) = &args.output {
                std::fs::write(output, &sealed.bytes[..])
                    .with_context(|| format!("writing {}", output.display()))?;
            }
            println!("plan {} ({} bytes)", sealed.plan_id, sealed.bytes.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(CompileExportError::Import(error)) => {
            eprintln!("{}: {error}", args.workflow.display());
            Ok(ExitCode::FAILURE)
        }
        Err(CompileExportError::Invalid(diagnostics)) => {
            for diagnostic in &diagnostics {
                eprintln!("{diagnostic}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
