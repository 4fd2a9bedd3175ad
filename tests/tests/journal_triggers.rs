//! Every execution a node runs is journaled with its trigger (issue #7): schedule fires
//! (`trigger: "schedule"`, n8n mode `trigger`, the cron as detail) and sub-workflows (their
//! own execution, n8n mode `integrated`, naming the calling execution), each at its own
//! workflow's level. Runs the real `linkflow dataplane` binary; waits are on the history
//! API with a generous deadline, never on time.

#[path = "dataplane_common/mod.rs"]
mod common;
mod journal_common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::process::linkflow_bin;
use common::{chain, every_second_trigger, set_node, webhook};
use journal_common::{http_get, temp_dir, Dataplane};
use serde_json::{json, Value};

/// Longest a test waits for executions to show up in the history (a loaded CI machine
/// may be slow; the schedule fires every second).
const HISTORY_WAIT_MAX: Duration = Duration::from_secs(90);

fn write(dir: &Path, name: &str, workflow: &Value) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, workflow.to_string()).unwrap();
    path
}

/// `GET /executions?...` data, newest first.
fn list(admin: std::net::SocketAddr, query: &str) -> Vec<Value> {
    let (status, body) = http_get(admin, &format!("/executions?{query}"));
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    page["data"].as_array().unwrap().clone()
}

fn get(admin: std::net::SocketAddr, id: &str) -> Value {
    let (status, body) = http_get(admin, &format!("/executions/{id}"));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Polls `list` until `done` holds for its answer or the deadline passes.
fn wait_for(
    what: &str,
    mut poll: impl FnMut() -> Vec<Value>,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let items = poll();
        if done(&items) {
            return items;
        }
        assert!(
            started.elapsed() < HISTORY_WAIT_MAX,
            "{what}: not in the history after {HISTORY_WAIT_MAX:?}: {items:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn every_second(id: &str, settings: Value) -> Value {
    chain(
        id,
        vec![
            every_second_trigger(),
            set_node("Set", "fired", "true", "boolean"),
        ],
        settings,
    )
}

#[test]
fn schedule_fires_are_journaled_with_trigger_schedule_at_their_level() {
    let Some(bin) = linkflow_bin() else {
        println!("skipped: the linkflow binary is not built (cargo test --workspace builds it, or set LINKFLOW_BIN)");
        return;
    };
    let dir = temp_dir("journal-schedule");
    let kept = write(&dir, "kept.json", &every_second("cron-kept", json!({})));
    // Same schedule, success level none: its fires must leave nothing.
    let dropped = write(
        &dir,
        "dropped.json",
        &every_second("cron-dropped", json!({"saveDataSuccessExecution": "none"})),
    );
    let dropped_flag = dropped.to_string_lossy().into_owned();
    let node = Dataplane::start(
        &bin,
        &kept,
        &dir.join("journal"),
        &["--workflow", &dropped_flag],
    );
    let items = wait_for(
        "two schedule executions",
        || list(node.admin, "workflowId=cron-kept"),
        |items| items.len() >= 2,
    );
    for item in &items {
        assert_eq!(item["trigger"], "schedule", "{item}");
        assert_eq!(item["mode"], "trigger", "n8n's mode name: {item}");
        assert_eq!(item["status"], "success", "{item}");
    }
    let one = get(node.admin, items[0]["id"].as_str().unwrap());
    assert_eq!(one["trigger"], "schedule");
    assert_eq!(
        one["triggerDetail"], "* * * * * *",
        "the cron it fired on: {one}"
    );
    assert_eq!(one["lastNodeExecuted"], "Set");
    // Level `all` (the default): the node data is kept.
    assert_eq!(
        one["data"]["resultData"]["runData"]["Set"][0]["data"]["main"][0][0]["json"]["fired"], true,
        "{one}"
    );
    // Both schedules fired the same number of times (metrics), only one left records.
    assert!(list(node.admin, "workflowId=cron-dropped").is_empty());
    let (_, metrics) = http_get(node.admin, "/metrics");
    let fires = metrics
        .lines()
        .filter(|l| l.starts_with("schedule_fires_total{workflow=\"cron-dropped\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    assert!(fires >= 1.0, "the dropped schedule fired too: {metrics}");
    node.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sub_workflow_is_its_own_execution_naming_its_caller() {
    let Some(bin) = linkflow_bin() else {
        println!("skipped: the linkflow binary is not built");
        return;
    };
    let dir = temp_dir("journal-subworkflow");
    let child = json!({
        "id": "child", "name": "child",
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.executeWorkflowTrigger", "typeVersion": 1,
             "position": [0, 0], "parameters": {}},
            set_node("Double", "c", "={{ $json.body.a * 2 }}", "number")
        ],
        "connections": {"Start": {"main": [[{"node": "Double", "type": "main", "index": 0}]]}},
        // The child keeps summaries only: its own settings apply, not the caller's.
        "settings": {"executionOrder": "v1", "saveDataSuccessExecution": "summary"}
    });
    let parent = chain(
        "parent",
        vec![
            webhook("parent", "POST", "lastNode", json!({})),
            json!({"name": "Call", "type": "n8n-nodes-base.executeWorkflow", "typeVersion": 1.1,
                   "position": [200, 0],
                   "parameters": {"source": "database", "workflowId": "child", "options": {}}}),
        ],
        json!({}),
    );
    let parent_file = write(&dir, "parent.json", &parent);
    let child_flag = write(&dir, "child.json", &child)
        .to_string_lossy()
        .into_owned();
    let node = Dataplane::start(
        &bin,
        &parent_file,
        &dir.join("journal"),
        &["--workflow", &child_flag],
    );
    let parent_id = journal_common::load_one(node.webhook, "/webhook/parent", r#"{"a":21}"#)
        .expect("the parent answers 200");
    let children = wait_for(
        "the sub-workflow's execution",
        || list(node.admin, "workflowId=child"),
        |items| !items.is_empty(),
    );
    assert_eq!(children.len(), 1, "{children:?}");
    assert_eq!(children[0]["trigger"], "subworkflow");
    assert_eq!(children[0]["mode"], "integrated");
    let child_id = children[0]["id"].as_str().unwrap();
    assert_ne!(child_id, parent_id, "its own execution id");
    let record = get(node.admin, child_id);
    assert_eq!(
        record["triggerDetail"],
        parent_id.as_str(),
        "names its caller: {record}"
    );
    assert!(
        record["data"].is_null(),
        "level summary keeps no node data: {record}"
    );
    let parents = wait_for(
        "the parent's execution",
        || list(node.admin, "workflowId=parent"),
        |items| !items.is_empty(),
    );
    assert_eq!(parents[0]["id"], parent_id.as_str());
    assert_eq!(parents[0]["trigger"], "webhook");
    let parent_record = get(node.admin, &parent_id);
    assert_eq!(parent_record["triggerDetail"], "POST /webhook/parent");
    assert!(parent_record["data"]["resultData"]["runData"]["Call"].is_array());
    node.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
