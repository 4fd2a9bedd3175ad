//! `linkflow dataplane --workflow FILE` compiles the file with the codec's validating
//! compiler: an invalid workflow stops the command with the codec's codes (what, where,
//! why) and a non-zero status, never a panic and never a node serving a half plan.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the refused command may take to exit. Why: it fails before binding anything;
/// a node that started serving instead would never exit, so the test must not wait forever.
const EXIT_WAIT_MAX: Duration = Duration::from_secs(60);

/// The child, killed on drop so a failing assertion leaves no process behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_invalid_workflow_file_fails_with_the_codecs_codes() {
    let dir = std::env::temp_dir().join(format!("lf-cli-dataplane-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("invalid.json");
    let workflow = serde_json::json!({
        "name": "invalid",
        "nodes": [
            {"name": "Hook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
             "position": [0, 0], "parameters": {"path": "p"}},
            {"name": "Odd", "type": "n8n-nodes-base.noSuchNode", "typeVersion": 1,
             "position": [200, 0], "parameters": {}}
        ],
        "connections": {"Hook": {"main": [[{"node": "Gone", "type": "main", "index": 0}]]}}
    });
    std::fs::write(&file, workflow.to_string()).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_linkflow"))
        .args([
            "dataplane",
            "--webhook",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
        ])
        .arg("--workflow")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("linkflow starts");
    let mut child = Killed(child);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < EXIT_WAIT_MAX,
            "linkflow dataplane kept running with an invalid workflow"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // What and where: each of the codec's errors with its code, node and path.
    assert!(stderr.contains("invalid.json"), "{stderr}");
    assert!(
        stderr.contains("LF-WF-007") && stderr.contains("\"Odd\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("LF-WF-003") && stderr.contains("connections.Hook.main[0]"),
        "{stderr}"
    );
}
