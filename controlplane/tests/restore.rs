//! Restoring data planes from the database: what is active is deployed, what a node runs
//! that is not active is removed, and a node that cannot answer is left for a retry.

mod common;

use std::sync::Arc;

use common::{small_workflow, PlanCommand, TestDb, TestServer, TARGETS};
use linkflow_controlplane::deploy::restore::{restore_active, RestoreSummary};
use linkflow_controlplane::deploy::Scope;
use serde_json::json;

/// Restores every target of the recording deployer from the database.
async fn restore(srv: &TestServer) -> RestoreSummary {
    let state = &srv.state;
    restore_active(
        state.store.as_ref(),
        &state.compiler,
        &state.key,
        state.deployer.as_ref(),
        Scope::All,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn restore_deploys_the_active_and_removes_what_is_not_active() {
    let db = TestDb::sqlite().await;
    let srv = TestServer::start(Arc::new(db.store.clone())).await;
    let (token, _) = srv.owner().await;
    let mut ids = Vec::new();
    for name in ["kept", "deactivated"] {
        let (status, wf) = srv
            .post(
                "/api/v1/workflows",
                Some(&token),
                &small_workflow(name, &[]),
            )
            .await;
        assert_eq!(status, 201, "{wf}");
        let id = wf["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/workflows/{id}/activate");
        let (status, body) = srv.post(&path, Some(&token), &json!({})).await;
        assert_eq!(status, 200, "{body}");
        ids.push(id);
    }
    let (kept, deactivated) = (ids[0].clone(), ids[1].clone());
    // Node b misses the deactivation (the recording deployer forgets its removal, as a
    // node that was out of reach and came back with its plans would), and node a runs a
    // plan nobody activated.
    let path = format!("/api/v1/workflows/{deactivated}/deactivate");
    let (status, body) = srv.post(&path, Some(&token), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    srv.commands
        .lock()
        .retain(|c| !matches!(c, PlanCommand::Remove { target, .. } if target == TARGETS[1]));
    let stray = match &srv.commands.lock()[0] {
        PlanCommand::Install { plan, .. } => plan.clone(),
        other => panic!("first command is an install: {other:?}"),
    };
    srv.commands.lock().push(PlanCommand::Install {
        target: TARGETS[0].to_owned(),
        workflow_id: "handMade".to_owned(),
        version: 1,
        plan: stray,
    });
    let before = srv.commands.lock().len();

    let summary = restore(&srv).await;
    assert_eq!(summary.restored, 1, "{summary:?}");
    assert!(summary.failed.is_empty(), "{summary:?}");
    assert!(summary.failed_targets.is_empty(), "{summary:?}");
    let mut removed = summary.removed.clone();
    removed.sort();
    assert_eq!(
        removed,
        vec![
            (TARGETS[0].to_owned(), "handMade".to_owned()),
            (TARGETS[1].to_owned(), deactivated.clone()),
        ]
    );
    // The active workflow was deployed to both nodes and never removed.
    let after: Vec<String> = srv.commands.lock()[before..]
        .iter()
        .map(|c| match c {
            PlanCommand::Install {
                target,
                workflow_id,
                ..
            } => format!("install {target} {workflow_id}"),
            PlanCommand::Remove {
                target,
                workflow_id,
            } => format!("remove {target} {workflow_id}"),
        })
        .collect();
    assert!(
        after.contains(&format!("install {} {kept}", TARGETS[0])),
        "{after:?}"
    );
    assert!(
        after.contains(&format!("install {} {kept}", TARGETS[1])),
        "{after:?}"
    );
    assert!(
        !after
            .iter()
            .any(|c| c.starts_with("remove") && c.ends_with(&kept)),
        "{after:?}"
    );

    // A node that cannot say what it runs keeps its plans and is retried later.
    srv.down.lock().push(TARGETS[1].to_owned());
    let summary = restore(&srv).await;
    assert_eq!(
        summary.failed_targets,
        vec![TARGETS[1].to_owned()],
        "{summary:?}"
    );
    assert!(summary.removed.is_empty(), "{summary:?}");
    srv.stop().await;
    db.cleanup().await;
}
