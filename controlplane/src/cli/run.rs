//! `linkflow run WORKFLOW.json [--request REQUEST.json] [--credentials FILE.json]
//! [--workflows DIR] [--workflow-file FILE]... [--offline] [--real-waits]`: executes a
//! workflow in-process, as the data plane would for a webhook call, and prints the result.
//!
//! With `--request` (`{"method","path","headers","query","body"}`) it prints the HTTP
//! response as `{"status": N, "headers": {...}, "body": ...}`; without, it runs the manual
//! trigger and prints the last node's items. The work itself is
//! [`linkflow_dataplane::shard::local::run`]: the data plane's effect code on a shard of
//! its own (real outbound HTTP, sub-workflows by id), which the golden tests call too.

use std::path::{Path, PathBuf};

use anyhow::Context;
use linkflow_dataplane::engine::credentials::CredentialMap;
use linkflow_dataplane::engine::execution::Outcome;
use linkflow_dataplane::engine::runner::{RunOutput, RunRequest, DEFAULT_BASE_URL};
use linkflow_dataplane::engine::services::EngineServices;
use linkflow_dataplane::shard::clock::Timers;
use linkflow_dataplane::shard::local::{self, LocalRun, WORKFLOWS_MAX};
use linkflow_dataplane::shard::PlanBytes;

/// Arguments of `linkflow run`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = RUN_NOTES)]
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
    /// Credentials nodes may use, as a JSON file (at most 1 MiB, 1 024 entries).
    ///
    /// An object keyed by credential id; each entry names its type, optionally its
    /// display name, and its data fields (strings, numbers or booleans):
    ///
    ///   {"7": {"type": "httpHeaderAuth", "name": "My key",
    ///          "data": {"name": "X-Api-Key", "value": "..."}},
    ///    "8": {"type": "httpBasicAuth", "data": {"user": "ann", "password": "..."}},
    ///    "9": {"type": "httpQueryAuth", "data": {"name": "api_key", "value": "..."}},
    ///    "10": {"type": "httpBearerAuth", "data": {"token": "..."}}}
    ///
    /// A node's `credentials` field ({"httpHeaderAuth": {"id": "7", "name": "My key"}})
    /// is looked up by id, then by name, within its type. Values never appear in output,
    /// errors or the trace.
    #[arg(long, value_name = "FILE.json", verbatim_doc_comment)]
    pub credentials: Option<PathBuf>,
    /// A folder of workflow exports Execute Workflow nodes may call by id (the workflow's
    /// `id`, else its name). Its `*.json` files with a `nodes` array are compiled; one
    /// that does not compile is skipped with a warning (calling it then fails with
    /// LF-ENGINE-041). At most 1 024 workflows.
    #[arg(long, value_name = "DIR")]
    pub workflows: Option<PathBuf>,
    /// A workflow export Execute Workflow nodes may call by id (repeatable; it must compile).
    #[arg(long = "workflow-file", value_name = "FILE.json")]
    pub workflow_files: Vec<PathBuf>,
    /// Make no network call: HTTP Request nodes fail with LF-ENGINE-040.
    #[arg(long)]
    pub offline: bool,
    /// Let Wait nodes (and retry pauses) really wait, as the data plane does (at most
    /// 5 minutes, LF-DATAPLANE-030 beyond). By default they fire at once and the
    /// execution's clock jumps past them.
    #[arg(long)]
    pub real_waits: bool,
}

/// How `linkflow run` meets the world, printed after `--help`.
const RUN_NOTES: &str = "\
Effects are performed as a data-plane shard performs them:
  HTTP Request   a real HTTP/1.1 call (TLS with the system roots, 30 s timeout, 3 attempts
                 with backoff on connect errors and 429/502/503/504, 16 MiB responses);
                 --offline turns it off (LF-ENGINE-040).
  Execute Workflow  runs the workflow with that id from --workflows/--workflow-file (the
                 workflow run can call itself), 8 levels deep at most (LF-DATAPLANE-033);
                 an id not given fails the node with LF-ENGINE-041.
  Wait           fires at once on a virtual clock ($now afterwards reads the later time);
                 --real-waits sleeps instead.
A failed execution prints its error on stderr and exits with status 3 (1 is a file or
usage error); with --request the output is still the HTTP answer the caller would get
(n8n's 500 \"Error in workflow\").";

/// Exit status of a run whose execution failed (its output is still printed). Why not 1:
/// scripts can tell a workflow that failed from files that could not be read.
pub const EXIT_EXECUTION_FAILED: u8 = 3;

/// Largest credentials file read, in bytes.
pub const CREDENTIALS_FILE_BYTES_MAX: u64 = 1 << 20;
/// Largest `--request` file read, in bytes: room for a body at the data plane's default
/// 16 MiB limit written as a JSON string (escapes make it longer).
pub const REQUEST_FILE_BYTES_MAX: u64 = 32 << 20;
/// Largest workflow export read (the run's own, `--workflows`, `--workflow-file`), in bytes.
pub const WORKFLOW_FILE_BYTES_MAX: u64 = 16 << 20;

/// Runs the command: reads the files, executes, prints JSON to stdout; the exit status is
/// [`EXIT_EXECUTION_FAILED`] when the execution failed.
pub fn run(args: &RunArgs) -> anyhow::Result<std::process::ExitCode> {
    let output = execute(args)?;
    println!("{}", serde_json::to_string_pretty(&output.to_json())?);
    let (outcome, trace) = match &output {
        RunOutput::Webhook(run) => (&run.outcome, &run.trace),
        RunOutput::Manual(run) => (&run.outcome, &run.trace),
    };
    let status = match outcome {
        Outcome::Failed(_) => std::process::ExitCode::from(EXIT_EXECUTION_FAILED),
        _ => std::process::ExitCode::SUCCESS,
    };
    if let Outcome::Failed(error) = outcome {
        let node = error
            .node
            .as_deref()
            .map_or_else(String::new, |n| format!(" in node '{n}'"));
        let code = if error.message.starts_with(error.code) {
            String::new()
        } else {
            format!("{}: ", error.code)
        };
        eprintln!(
            "linkflow run: the execution failed{node}: {code}{}",
            error.message
        );
    }
    if args.trace {
        for entry in trace {
            eprintln!(
                "{}#{} outputs={:?} error={:?}",
                entry.node, entry.run, entry.outputs, entry.error
            );
        }
    }
    Ok(status)
}

/// Executes the files `args` names and returns the output.
pub fn execute(args: &RunArgs) -> anyhow::Result<RunOutput> {
    let workflow = read_workflow_json(&args.workflow)?;
    let request: Option<RunRequest> = match &args.request {
        Some(path) => {
            let text = read_bounded(path, REQUEST_FILE_BYTES_MAX, "request")?;
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
    let mut options = LocalRun::new(&args.base_url);
    if let Some(path) = &args.credentials {
        options.credentials = read_credentials(path)?;
    }
    if args.offline {
        options.outbound = None;
    }
    if args.real_waits {
        options.timers = Timers::Sleep;
    }
    options.workflows = read_workflows(args)?;
    local::run(&workflow, request.as_ref(), services, options).map_err(anyhow::Error::msg)
}

/// The workflows of `--workflows` and `--workflow-file`, compiled (the run's own file is
/// left out of the folder: it is callable anyway).
fn read_workflows(args: &RunArgs) -> anyhow::Result<Vec<PlanBytes>> {
    let mut workflows = Vec::new();
    for path in &args.workflow_files {
        let json = read_workflow_json(path)?;
        workflows
            .push(local::compile(&json).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?);
    }
    let Some(dir) = &args.workflows else {
        return Ok(workflows);
    };
    let own = std::fs::canonicalize(&args.workflow).ok();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
        .filter(|p| std::fs::canonicalize(p).ok() != own)
        .collect();
    paths.sort();
    for path in paths {
        let json = read_workflow_json(&path)?;
        // Requests, credentials and other JSON beside the exports are not workflows.
        if !json.get("nodes").is_some_and(serde_json::Value::is_array) {
            continue;
        }
        if workflows.len() >= WORKFLOWS_MAX {
            anyhow::bail!(
                "{}: more than {WORKFLOWS_MAX} workflows; a run takes at most {WORKFLOWS_MAX}",
                dir.display()
            );
        }
        match local::compile(&json) {
            Ok(plan) => workflows.push(plan),
            Err(error) => eprintln!(
                "linkflow run: skipping {}: {}",
                path.display(),
                error.lines().next().unwrap_or("")
            ),
        }
    }
    Ok(workflows)
}

/// Reads a text file of at most `bytes_max` bytes (`what` names the kind in the error).
fn read_bounded(path: &Path, bytes_max: u64, what: &str) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > bytes_max {
        anyhow::bail!(
            "{}: {size} bytes, {what} files hold at most {bytes_max}",
            path.display()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads a workflow export (at most [`WORKFLOW_FILE_BYTES_MAX`]).
fn read_workflow_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = read_bounded(path, WORKFLOW_FILE_BYTES_MAX, "workflow")?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Reads and checks a `--credentials` file (errors name the file and the entry, never a
/// value).
fn read_credentials(path: &Path) -> anyhow::Result<CredentialMap> {
    let text = read_bounded(path, CREDENTIALS_FILE_BYTES_MAX, "credentials")?;
    // serde_json's syntax errors quote no input, only line and column.
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    CredentialMap::parse(&json).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cret-header-value";

    /// Writes `text` to a file of this test's own in the temp dir; removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, text: &str) -> TempFile {
            let path =
                std::env::temp_dir().join(format!("linkflow-run-{}-{name}", std::process::id()));
            std::fs::write(&path, text).expect("write temp file");
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn workflow() -> TempFile {
        let workflow = serde_json::json!({
            "nodes": [
                {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
                 "position": [0, 0], "parameters": {}},
                {"name": "Call", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
                 "position": [200, 0],
                 "parameters": {"url": "https://api.test/me", "authentication": "genericCredentialType",
                    "genericAuthType": "httpHeaderAuth", "options": {}},
                 "credentials": {"httpHeaderAuth": {"id": "7", "name": "My key"}}}],
            "connections": {"Start": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}},
            "settings": {"executionOrder": "v1"}});
        TempFile::new("workflow.json", &workflow.to_string())
    }

    /// A manual run of `workflow` without network.
    fn offline_args(workflow: &TempFile, credentials: Option<&TempFile>) -> RunArgs {
        RunArgs {
            workflow: workflow.0.clone(),
            request: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            trace: false,
            credentials: credentials.map(|f| f.0.clone()),
            workflows: None,
            workflow_files: Vec::new(),
            offline: true,
            real_waits: false,
        }
    }

    fn call_error(credentials: Option<&TempFile>) -> String {
        let workflow = workflow();
        let args = offline_args(&workflow, credentials);
        let RunOutput::Manual(run) = execute(&args).expect("runs") else {
            panic!("a manual run");
        };
        let printed = format!(
            "{:?} {}",
            run.trace,
            RunOutput::Manual(run.clone()).to_json()
        );
        assert!(!printed.contains(SECRET), "{printed}");
        run.trace
            .iter()
            .find(|t| t.node == "Call")
            .and_then(|t| t.error.clone())
            .expect("Call failed")
    }

    #[test]
    fn credentials_file_supplies_the_node_credential() {
        let missing = call_error(None);
        assert!(
            missing.contains(
                "Credential \"My key\" (id \"7\") of type \"httpHeaderAuth\" is not available"
            ),
            "{missing}"
        );
        let file = TempFile::new(
            "credentials.json",
            &serde_json::json!({"7": {"type": "httpHeaderAuth", "name": "My key",
                "data": {"name": "X-Api-Key", "value": SECRET}}})
            .to_string(),
        );
        // The credential is found; the request itself does not leave an offline run.
        let error = call_error(Some(&file));
        assert!(error.starts_with("LF-ENGINE-040"), "{error}");
    }

    #[test]
    fn malformed_credentials_files_are_refused_without_echoing_values() {
        let workflow = workflow();
        let file = TempFile::new(
            "bad-credentials.json",
            &serde_json::json!({"7": {"name": "My key", "data": {"value": SECRET}}}).to_string(),
        );
        let args = offline_args(&workflow, Some(&file));
        let error = format!("{:#}", execute(&args).unwrap_err());
        assert!(error.contains("\"7\" needs a \"type\""), "{error}");
        assert!(!error.contains(SECRET), "{error}");
    }
}
