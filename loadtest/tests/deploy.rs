//! `linkflow-loadtest deploy` against a real `linkflow dataplane --quic` child process with
//! certificates from `linkflow certs init`: the counts in the JSON report, and what the
//! node runs afterwards as `linkflow plan list` (a separate client) reports it.
//!
//! Needs the `linkflow` binary (`cargo test --workspace` builds it next to this test, or
//! set `LINKFLOW_BIN`); without it the test says so and skips.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The `linkflow` binary next to this test's binary, or `LINKFLOW_BIN`.
fn linkflow_bin() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("LINKFLOW_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("linkflow");
    bin.exists().then_some(bin)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lf-loadtest-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A `linkflow dataplane --quic` child; killed on drop, so a failing test leaves no
/// process behind.
struct Dataplane {
    child: Child,
    quic: String,
}

impl Dataplane {
    fn start(bin: &Path, certs: &Path) -> Dataplane {
        let mut child = Command::new(bin)
            .args(["dataplane", "--shards", "2", "--unbound"])
            .args(["--webhook", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
            .args(["--quic", "127.0.0.1:0", "--certs"])
            .arg(certs)
            .env("LINKFLOW_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("linkflow dataplane starts");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout piped"));
        // Built before the loop so a failure below still kills the child (Drop).
        let mut node = Dataplane {
            child,
            quic: String::new(),
        };
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .expect("reads the child's stdout");
            assert!(n > 0, "linkflow dataplane exited before it served");
            if let Some((_, addr)) = line.split_once("plans (QUIC, mTLS) on ") {
                node.quic = addr.trim().to_owned();
                break;
            }
        }
        // Keep draining stdout (logs) so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        node
    }
}

impl Drop for Dataplane {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `linkflow-loadtest deploy` with `args` and returns its JSON report.
fn deploy(node: &Dataplane, certs: &Path, out: &Path, args: &[&str]) -> Value {
    let status = Command::new(env!("CARGO_BIN_EXE_linkflow-loadtest"))
        .args(["deploy", "--to", &node.quic, "--certs"])
        .arg(certs)
        .arg("--json")
        .arg(out)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("linkflow-loadtest runs");
    assert!(status.success(), "linkflow-loadtest deploy {args:?} failed");
    serde_json::from_slice(&std::fs::read(out).expect("report written")).expect("JSON report")
}

/// Versions of `workflow` per shard, as `linkflow plan list --json` reports them.
fn listed_versions(bin: &Path, node: &Dataplane, certs: &Path, workflow: &str) -> Vec<u64> {
    let output = Command::new(bin)
        .args(["plan", "list", "--json", "--to", &node.quic, "--certs"])
        .arg(certs)
        .output()
        .expect("linkflow plan list runs");
    assert!(output.status.success(), "linkflow plan list failed");
    let list: Value = serde_json::from_slice(&output.stdout).expect("JSON listing");
    list["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|shard| {
            let plans = shard["plans"].as_array().expect("plans");
            let plan = plans
                .iter()
                .find(|p| p["workflowId"] == workflow)
                .unwrap_or_else(|| panic!("shard runs {workflow}: {shard}"));
            plan["version"].as_u64().expect("version")
        })
        .collect()
}

#[test]
fn deploy_load_installs_every_version_and_the_node_runs_the_last_one() {
    let Some(bin) = linkflow_bin() else {
        eprintln!("skipped: no linkflow binary next to the test (build the workspace or set LINKFLOW_BIN)");
        return;
    };
    let dir = temp_dir("deploy");
    let certs = dir.join("certs");
    let status = Command::new(&bin)
        .args(["certs", "init"])
        .arg(&certs)
        .stdout(Stdio::null())
        .status()
        .expect("linkflow certs init runs");
    assert!(status.success());
    let node = Dataplane::start(&bin, &certs);
    let out = dir.join("report.json");

    // New versions one at a time: each installs; the node runs the last one.
    let r = deploy(
        &node,
        &certs,
        &out,
        &["--nodes", "20", "--count", "12", "--warmup", "2"],
    );
    assert_eq!(r["kind"], "deploy");
    assert_eq!(r["config"]["mode"], "distinct");
    assert_eq!(r["deploys"], 12);
    assert_eq!(r["outcomes"]["installed"], 12);
    assert_eq!(r["errors_total"], 0);
    assert_eq!(r["shards"], 2);
    let hist: u64 = r["latency_us"]["histogram"]
        .as_array()
        .expect("histogram")
        .iter()
        .map(|b| b[1].as_u64().expect("count"))
        .sum();
    assert_eq!(hist, 12, "one latency recorded per deploy");
    assert!(r["latency_us"]["p50"].as_u64() <= r["latency_us"]["p99"].as_u64());
    assert!(r["plan_bytes"]["min"].as_u64().expect("bytes") > 0);
    assert!(r["deploys_per_s"].as_f64().expect("rate") > 0.0);
    // Versions 1..=2 were the warm-up, 3..=14 measured.
    assert_eq!(r["node_runs"]["last_submitted_version"], 14);
    assert_eq!(
        r["node_runs"]["shard_versions"],
        serde_json::json!([14, 14])
    );
    assert_eq!(
        r["node_runs"]["plan_id"],
        r["node_runs"]["last_submitted_plan_id"]
    );
    assert_eq!(
        listed_versions(&bin, &node, &certs, "transform20"),
        [14, 14]
    );

    // A second run continues after what the node runs (not refused as older).
    let r = deploy(
        &node,
        &certs,
        &out,
        &["--nodes", "20", "--count", "4", "--warmup", "0"],
    );
    assert_eq!(r["outcomes"]["installed"], 4);
    assert_eq!(r["node_runs"]["last_submitted_version"], 18);
    assert_eq!(
        listed_versions(&bin, &node, &certs, "transform20"),
        [18, 18]
    );

    // Idempotent resubmits: the warm-up installs version 19, every measured one is a no-op.
    let r = deploy(
        &node,
        &certs,
        &out,
        &["--nodes", "20", "--count", "5", "--warmup", "1", "--same"],
    );
    assert_eq!(r["config"]["mode"], "same");
    assert_eq!(r["deploys"], 5);
    assert_eq!(r["outcomes"]["unchanged"], 5);
    assert_eq!(r["outcomes"]["installed"], 0);
    assert_eq!(
        listed_versions(&bin, &node, &certs, "transform20"),
        [19, 19]
    );

    // Concurrent deploys of another workflow size: every one succeeds and installs (out
    // of order arrivals are allowed), and both shards end on the same version.
    let r = deploy(
        &node,
        &certs,
        &out,
        &[
            "--nodes",
            "7",
            "--count",
            "8",
            "--warmup",
            "0",
            "--concurrency",
            "4",
        ],
    );
    assert_eq!(r["deploys"], 8);
    assert_eq!(r["outcomes"]["installed"], 8);
    assert_eq!(r["errors_total"], 0);
    let versions = listed_versions(&bin, &node, &certs, "transform7");
    assert_eq!(versions[0], versions[1]);
    assert!((1..=8).contains(&versions[0]));
    let _ = std::fs::remove_dir_all(&dir);
}
