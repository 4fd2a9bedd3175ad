//! `linkflow plan submit|list|remove|stats`: the QUIC client for data-plane nodes.
//!
//! Each prints a readable result (or the node's reply as JSON with `--json`) and exits
//! non-zero when the node refuses or cannot be reached.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use linkflow_codec::wire::{DeployOutcome, PlanRef, ShardVersion};
use linkflow_codec::{compile_export, envelope, CompileExportError};

use crate::quic::{ClientOptions, ClientTls, DeployOptions, PlanClient, QuicError};

/// Arguments of `linkflow plan`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PlanCommand,
}

/// Subcommands of `linkflow plan`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PlanCommand {
    /// Install a sealed plan (PLAN.lfp) or a workflow export (compiled first) on a node.
    Submit(SubmitArgs),
    /// Show what every shard of a node runs.
    List(NodeArgs),
    /// Remove a plan (by plan id or workflow id) from every shard of a node.
    Remove(RemoveArgs),
    /// Show a node's per-shard counters and latency percentiles.
    Stats(NodeArgs),
}

/// Which node and how to authenticate.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// The node's QUIC address, HOST:PORT.
    #[arg(long, env = "LINKFLOW_QUIC_TO")]
    pub to: String,
    /// Directory from `linkflow certs init` (ca.pem, client.pem, client-key.pem).
    #[arg(long, env = "LINKFLOW_CERTS", conflicts_with_all = ["ca", "cert", "key"])]
    pub certs: Option<PathBuf>,
    /// CA certificate the node's certificate must chain to.
    #[arg(long, requires_all = ["cert", "key"])]
    pub ca: Option<PathBuf>,
    /// Client certificate.
    #[arg(long, requires_all = ["ca", "key"])]
    pub cert: Option<PathBuf>,
    /// Client private key.
    #[arg(long, requires_all = ["ca", "cert"])]
    pub key: Option<PathBuf>,
    /// Name the node's certificate must carry.
    #[arg(long, default_value = crate::quic::SERVER_NAME_DEFAULT)]
    pub server_name: String,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: u64,
    /// Print the node's reply as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `linkflow plan submit`.
#[derive(Debug, Clone, clap::Args)]
pub struct SubmitArgs {
    /// A sealed plan (`linkflow compile -o`) or an n8n workflow export.
    pub path: PathBuf,
    /// The node.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Validate on the node without installing.
    #[arg(long)]
    pub validate_only: bool,
    /// Accept a lower workflow version than the node runs (a rollback).
    #[arg(long)]
    pub allow_older: bool,
}

/// Arguments of `linkflow plan remove`.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoveArgs {
    /// Plan id or workflow id.
    pub id: String,
    /// The node.
    #[command(flatten)]
    pub node: NodeArgs,
}

impl NodeArgs {
    fn tls(&self) -> anyhow::Result<ClientTls> {
        let mut tls = match (&self.certs, &self.ca, &self.cert, &self.key) {
            (Some(dir), ..) => ClientTls::from_dir(dir),
            (None, Some(ca), Some(cert), Some(key)) => {
                ClientTls::new(ca.clone(), cert.clone(), key.clone())
            }
            _ => anyhow::bail!("give --certs DIR or all of --ca, --cert and --key"),
        };
        tls.server_name = self.server_name.clone();
        Ok(tls)
    }

    fn options(&self) -> ClientOptions {
        ClientOptions {
            request_timeout: Duration::from_millis(self.timeout_ms.max(1)),
            ..ClientOptions::default()
        }
    }
}

/// Runs `linkflow plan`.
pub fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        match &args.command {
            PlanCommand::Submit(submit) => submit_plan(submit).await,
            PlanCommand::List(node) => list(node).await,
            PlanCommand::Remove(remove) => remove_plan(remove).await,
            PlanCommand::Stats(node) => stats(node).await,
        }
    })
}

async fn client(node: &NodeArgs) -> Result<PlanClient, QuicError> {
    let tls = node.tls().map_err(|e| QuicError::Tls(e.to_string()))?;
    PlanClient::connect_with(&node.to, &tls, node.options()).await
}

/// One request on its own connection: connects, sends, closes. A node that cannot be
/// reached or refuses is reported by [`failed`] and comes back as the exit code.
async fn request<T>(
    node: &NodeArgs,
    send: impl AsyncFnOnce(&PlanClient) -> Result<T, QuicError>,
) -> Result<T, ExitCode> {
    let client = client(node).await.map_err(|error| failed(node, &error))?;
    let result = send(&client).await;
    client.close().await;
    result.map_err(|error| failed(node, &error))
}

/// Prints a refusal or transport failure and returns the failing exit code.
fn failed(node: &NodeArgs, error: &QuicError) -> ExitCode {
    if node.json {
        println!(
            "{}",
            serde_json::json!({"error": {"code": error.code(), "message": error.to_string()}})
        );
    }
    eprintln!("{} refused: {error}", node.to);
    ExitCode::FAILURE
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn describe(plan: &PlanRef) -> String {
    format!(
        "plan {} (workflow {} v{})",
        plan.plan_id, plan.workflow_id, plan.version
    )
}

fn generations(shards: &[ShardVersion]) -> String {
    shards
        .iter()
        .map(|s| format!("{}:{}", s.shard, s.generation))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads a plan file: sealed bytes as they are, a workflow export compiled first.
fn load_plan(path: &PathBuf) -> anyhow::Result<Result<envelope::SealedBytes, ExitCode>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(&envelope::MAGIC) {
        return Ok(Ok(envelope::aligned(&bytes)));
    }
    match compile_export(&bytes) {
        Ok(sealed) => {
            for warning in &sealed.warnings {
                eprintln!("{warning}");
            }
            Ok(Ok(sealed.bytes))
        }
        Err(CompileExportError::Import(error)) => {
            eprintln!("{}: {error}", path.display());
            Ok(Err(ExitCode::FAILURE))
        }
        Err(CompileExportError::Invalid(diagnostics)) => {
            for diagnostic in &diagnostics {
                eprintln!("{diagnostic}");
            }
            Ok(Err(ExitCode::FAILURE))
        }
    }
}

async fn submit_plan(args: &SubmitArgs) -> anyhow::Result<ExitCode> {
    let sealed = match load_plan(&args.path)? {
        Ok(sealed) => sealed,
        Err(code) => return Ok(code),
    };
    let node = &args.node;
    let options = DeployOptions {
        activate: !args.validate_only,
        allow_older: args.allow_older,
    };
    let reply = match request(node, async |client| client.deploy(&sealed, options).await).await {
        Ok(reply) => reply,
        Err(code) => return Ok(code),
    };
    if node.json {
        print_json(&reply)?;
        return Ok(ExitCode::SUCCESS);
    }
    match reply.outcome {
        DeployOutcome::Installed => {
            println!(
                "installed {} on {} shard(s) [generations {}]",
                describe(&reply.plan),
                reply.shards.len(),
                generations(&reply.shards)
            );
            if let Some(replaced) = &reply.replaced {
                println!("replaced {}", describe(replaced));
            }
        }
        DeployOutcome::Unchanged => println!(
            "unchanged: every shard already runs {}",
            describe(&reply.plan)
        ),
        DeployOutcome::Validated => {
            println!("validated {} (not installed)", describe(&reply.plan))
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(node: &NodeArgs) -> anyhow::Result<ExitCode> {
    let reply = match request(node, async |client| client.list().await).await {
        Ok(reply) => reply,
        Err(code) => return Ok(code),
    };
    if node.json {
        print_json(&reply)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<6} {:<10} {:<17} {:>8}  WORKFLOW",
        "SHARD", "GENERATION", "PLAN", "VERSION"
    );
    for shard in &reply.shards {
        if shard.plans.is_empty() {
            println!("{:<6} {:<10} (no plans)", shard.shard, shard.generation);
        }
        for plan in &shard.plans {
            println!(
                "{:<6} {:<10} {:<17} {:>8}  {}",
                shard.shard, shard.generation, plan.plan_id, plan.version, plan.workflow_id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn remove_plan(args: &RemoveArgs) -> anyhow::Result<ExitCode> {
    let node = &args.node;
    let reply = match request(node, async |client| client.undeploy(&args.id).await).await {
        Ok(reply) => reply,
        Err(code) => return Ok(code),
    };
    if node.json {
        print_json(&reply)?;
        return Ok(ExitCode::SUCCESS);
    }
    for plan in &reply.removed {
        println!(
            "removed {} from {} shard(s) [generations {}]",
            describe(plan),
            reply.shards.len(),
            generations(&reply.shards)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn stats(node: &NodeArgs) -> anyhow::Result<ExitCode> {
    let reply = match request(node, async |client| client.stats().await).await {
        Ok(reply) => reply,
        Err(code) => return Ok(code),
    };
    if node.json {
        print_json(&reply)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<6} {:>6} {:>10} {:>8} {:>10} {:>10} {:>9} {:>9}",
        "SHARD", "PLANS", "REQUESTS", "5XX", "EXEC_OK", "EXEC_ERR", "P50_US", "P99_US"
    );
    for s in &reply.shards {
        println!(
            "{:<6} {:>6} {:>10} {:>8} {:>10} {:>10} {:>9} {:>9}",
            s.shard,
            s.plans,
            s.requests,
            s.responses_5xx,
            s.executions_success,
            s.executions_error,
            s.latency_us_p50,
            s.latency_us_p99
        );
    }
    Ok(ExitCode::SUCCESS)
}
