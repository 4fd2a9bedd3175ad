//! `linkflow run WORKFLOW.json [--request REQUEST.json] [--credentials FILE.json]`: executes a workflow in-process,
//! exactly as the data plane would, and prints the result.
//!
//! With `--request` (`{"method","path","headers","query","body"}`) it prints the HTTP
//! response as `{"status": N, "headers": {...}, "body": ...}`; without, it runs the manual
//! trigger and prints the last node's items. The work itself is
//! [`linkflow_dataplane::engine::runner::run_workflow`], which the golden tests call too.

use std::path::PathBuf;

use anyhow::Context;
use linkflow_dataplane::engine::credentials::CredentialMap;
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
}

/// Largest credentials file read, in bytes.
pub const CREDENTIALS_FILE_BYTES_MAX: u64 = 1 << 20;

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
    let mut services =
        EngineServices::with_js(now_ms).context("starting the JavaScript runtime")?;
    if let Some(path) = &args.credentials {
        services = services.with_credentials(Box::new(read_credentials(path)?));
    }
    run_workflow(
        &workflow,
        request.as_ref(),
        services,
        &args.base_url,
        now_ms,
    )
    .map_err(anyhow::Error::msg)
}

/// Reads and checks a `--credentials` file (errors name the file and the entry, never a
/// value).
fn read_credentials(path: &std::path::Path) -> anyhow::Result<CredentialMap> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > CREDENTIALS_FILE_BYTES_MAX {
        anyhow::bail!(
            "{}: {size} bytes, credentials files hold at most {CREDENTIALS_FILE_BYTES_MAX}",
            path.display()
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
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

    fn call_error(credentials: Option<&TempFile>) -> String {
        let workflow = workflow();
        let args = RunArgs {
            workflow: workflow.0.clone(),
            request: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            trace: false,
            credentials: credentials.map(|f| f.0.clone()),
        };
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
        // The credential is found; the request itself cannot leave `linkflow run`.
        let error = call_error(Some(&file));
        assert!(error.contains("outbound HTTP is not available"), "{error}");
    }

    #[test]
    fn malformed_credentials_files_are_refused_without_echoing_values() {
        let workflow = workflow();
        let file = TempFile::new(
            "bad-credentials.json",
            &serde_json::json!({"7": {"name": "My key", "data": {"value": SECRET}}}).to_string(),
        );
        let args = RunArgs {
            workflow: workflow.0.clone(),
            request: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            trace: false,
            credentials: Some(file.0.clone()),
        };
        let error = format!("{:#}", execute(&args).unwrap_err());
        assert!(error.contains("\"7\" needs a \"type\""), "{error}");
        assert!(!error.contains(SECRET), "{error}");
    }
}
