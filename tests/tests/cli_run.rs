//! `linkflow run` (the built binary) performs effects as the data plane does: an HTTP
//! Request node really calls a local echo server, an unreachable host fails the node with
//! the outbound connect code (no panic), `--offline` makes no call, Execute Workflow runs
//! the workflows given with `--workflows`/`--workflow-file` (and names the flags when the
//! id was not given), and a Wait fires at once on the virtual clock.

mod dataplane_common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

use dataplane_common::peer::{Behaviour, PeerServer};
use dataplane_common::process::linkflow_bin;
use serde_json::{json, Value};

/// A linear workflow `nodes[0] -> nodes[1] -> ...` with id and name `id`.
fn chain(id: &str, nodes: Vec<Value>) -> Value {
    dataplane_common::chain(id, nodes, json!({}))
}

/// A folder of this test's own under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("lf-cli-run-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }

    fn write(&self, name: &str, value: &Value) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, value.to_string()).expect("write file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn manual_trigger() -> Value {
    json!({"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
           "position": [0, 0], "parameters": {}})
}

/// An HTTP Request node (v4.2) POSTing `{"x": <a + 1>}` (`a` from `a_path`) to `url`.
fn http_node(url: &str, a_path: &str) -> Value {
    json!({"name": "Call", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
           "position": [200, 0],
           "parameters": {"method": "POST", "url": url, "sendBody": true, "contentType": "json",
               "specifyBody": "json",
               "jsonBody": format!("={{{{ {{ \"x\": {a_path} + 1 }} }}}}"), "options": {}}})
}

fn set_node(name: &str, field: &str, value: &str) -> Value {
    json!({"name": name, "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [200, 0],
           "parameters": {"mode": "manual", "includeOtherFields": true, "options": {},
             "assignments": {"assignments": [
                 {"id": "1", "name": field, "value": value, "type": "number"}]}}})
}

/// What one `linkflow run` printed.
struct Ran {
    stdout: Value,
    stderr: String,
    /// Exit status 3: the execution failed (the output is printed all the same).
    failed: bool,
}

/// The built `linkflow` binary, or `None` (the test says it was skipped).
fn binary() -> Option<PathBuf> {
    let bin = linkflow_bin();
    if bin.is_none() {
        println!("skipped: the linkflow binary is not built (cargo test --workspace builds it, or set LINKFLOW_BIN)");
    }
    bin
}

fn linkflow_run(bin: &Path, workflow: &Path, extra: &[&str]) -> Ran {
    let output = Command::new(bin)
        .arg("run")
        .arg(workflow)
        .args(extra)
        .output()
        .expect("linkflow runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let failed = match output.status.code() {
        Some(0) => false,
        Some(3) => true,
        other => panic!("linkflow run could not run ({other:?}): {stderr}"),
    };
    assert_eq!(
        failed,
        stderr.contains("the execution failed"),
        "status 3 exactly when the execution failed: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let stdout = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    Ran {
        stdout,
        stderr,
        failed,
    }
}

/// Webhook -> HTTP Request (POST JSON to the echo server) -> Respond to Webhook (201).
fn echo_workflow(server: &PeerServer) -> Value {
    chain(
        "echo",
        vec![
            json!({"name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
                   "position": [0, 0], "parameters": {"path": "echo", "httpMethod": "POST",
                   "responseMode": "responseNode", "options": {}}}),
            http_node(&format!("http://{}/echo?q=1", server.addr), "$json.body.a"),
            json!({"name": "Respond", "type": "n8n-nodes-base.respondToWebhook",
                   "typeVersion": 1.5, "position": [400, 0],
                   "parameters": {"respondWith": "json", "options": {"responseCode": 201},
                     "responseBody": "={{ { \"echoed\": $json.body, \"path\": $json.path } }}"}}),
        ],
    )
}

#[test]
fn run_posts_json_to_a_local_server_and_answers_with_the_echo() {
    let Some(bin) = binary() else { return };
    let server = PeerServer::start(Behaviour::Echo);
    let dir = TempDir::new("echo");
    let workflow = dir.write("echo.json", &echo_workflow(&server));
    let request = dir.write(
        "request.json",
        &json!({"method": "POST", "path": "/webhook/echo", "body": {"a": 41}}),
    );
    let ran = linkflow_run(&bin, &workflow, &["--request", request.to_str().unwrap()]);
    assert_eq!(ran.stdout["status"], json!(201), "{}", ran.stderr);
    assert!(!ran.failed, "{}", ran.stderr);
    assert_eq!(
        ran.stdout["body"],
        json!({"echoed": {"x": 42}, "path": "/echo?q=1"})
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn offline_runs_make_no_call_and_fail_the_node_with_the_no_outbound_code() {
    let Some(bin) = binary() else { return };
    let server = PeerServer::start(Behaviour::Echo);
    let dir = TempDir::new("offline");
    let workflow = dir.write("echo.json", &echo_workflow(&server));
    let request = dir.write(
        "request.json",
        &json!({"method": "POST", "path": "/webhook/echo", "body": {"a": 41}}),
    );
    let ran = linkflow_run(
        &bin,
        &workflow,
        &["--request", request.to_str().unwrap(), "--offline"],
    );
    assert_eq!(ran.stdout["status"], json!(500));
    assert!(ran.failed, "exit status 3: {}", ran.stderr);
    assert!(ran.stderr.contains("LF-ENGINE-040"), "{}", ran.stderr);
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn an_unreachable_host_fails_the_node_with_the_connect_code() {
    let Some(bin) = binary() else { return };
    // A port that was free a moment ago: nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = TempDir::new("unreachable");
    let workflow = dir.write(
        "unreachable.json",
        &chain(
            "unreachable",
            vec![
                manual_trigger(),
                set_node("Fields", "a", "={{ 41 }}"),
                http_node(&format!("http://{closed}/x"), "$json.a"),
            ],
        ),
    );
    let ran = linkflow_run(&bin, &workflow, &["--trace"]);
    assert!(ran.failed, "exit status 3: {}", ran.stderr);
    // The node's own code, then the outbound client's.
    assert!(
        ran.stderr
            .contains("the execution failed in node 'Call': LF-NODE-HTTP-001: LF-OUTBOUND-002"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .contains("Call#0 outputs=[] error=Some(\"LF-OUTBOUND-002"),
        "{}",
        ran.stderr
    );
    assert!(ran.stdout.is_array(), "{}", ran.stdout);
}

/// Manual -> Set a = 41 -> Execute Workflow `target`.
fn caller(target: &str) -> Value {
    chain(
        "parent",
        vec![
            manual_trigger(),
            set_node("Fields", "a", "={{ 41 }}"),
            json!({"name": "Call", "type": "n8n-nodes-base.executeWorkflow", "typeVersion": 1.1,
                   "position": [400, 0],
                   "parameters": {"source": "database", "workflowId": target, "options": {}}}),
        ],
    )
}

/// Execute Workflow Trigger -> Set c = a * 2.
fn child() -> Value {
    chain(
        "child",
        vec![
            json!({"name": "Start", "type": "n8n-nodes-base.executeWorkflowTrigger",
                   "typeVersion": 1, "position": [0, 0], "parameters": {}}),
            set_node("Double", "c", "={{ $json.a * 2 }}"),
        ],
    )
}

#[test]
fn sub_workflows_come_from_the_workflows_flags_and_a_missing_one_names_them() {
    let Some(bin) = binary() else { return };
    let dir = TempDir::new("sub");
    let library = dir.0.join("library");
    std::fs::create_dir_all(&library).unwrap();
    let child_file = library.join("child.json");
    std::fs::write(&child_file, child().to_string()).unwrap();
    // Not a workflow: skipped, not an error.
    std::fs::write(library.join("notes.json"), r#"{"note": 1}"#).unwrap();
    let parent = dir.write("parent.json", &caller("child"));

    let from_dir = linkflow_run(&bin, &parent, &["--workflows", library.to_str().unwrap()]);
    assert_eq!(
        from_dir.stdout,
        json!([{"a": 41, "c": 82}]),
        "{}",
        from_dir.stderr
    );
    let from_file = linkflow_run(
        &bin,
        &parent,
        &["--workflow-file", child_file.to_str().unwrap()],
    );
    assert_eq!(from_file.stdout, json!([{"a": 41, "c": 82}]));
    assert!(!from_dir.failed && !from_file.failed);

    let missing = linkflow_run(&bin, &parent, &[]);
    assert!(missing.failed, "exit status 3: {}", missing.stderr);
    assert!(
        missing.stderr.contains("LF-ENGINE-041"),
        "{}",
        missing.stderr
    );
    assert!(missing.stderr.contains("'child'"), "{}", missing.stderr);
    assert!(missing.stderr.contains("--workflows"), "{}", missing.stderr);
}

#[test]
fn a_wait_fires_at_once_on_the_virtual_clock() {
    let Some(bin) = binary() else { return };
    let dir = TempDir::new("wait");
    let workflow = dir.write(
        "wait.json",
        &chain(
            "waiting",
            vec![
                manual_trigger(),
                set_node("Fields", "a", "={{ 41 }}"),
                json!({"name": "Wait", "type": "n8n-nodes-base.wait", "typeVersion": 1.1,
                       "position": [400, 0],
                       "parameters": {"resume": "timeInterval", "amount": 2, "unit": "hours"}}),
            ],
        ),
    );
    let ran = linkflow_run(&bin, &workflow, &[]);
    assert_eq!(ran.stdout, json!([{"a": 41}]), "{}", ran.stderr);
    assert!(!ran.stderr.contains("failed"), "{}", ran.stderr);
}
