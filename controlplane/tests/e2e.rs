//! End to end in one process: owner setup -> login -> create the reference workflow ->
//! activate -> the webhook answers (the real data-plane node: glommio shards) -> the
//! execution is listed (from the node's journal) -> deactivate -> the path is gone.

mod common;

use std::sync::Arc;

use common::{webhook_bench, TestDb, TestServer};
use serde_json::{json, Value};

async fn webhook_round_trip(db: &TestDb) {
    let srv = TestServer::start_embedded(Arc::new(db.store.clone())).await;
    let (token, _) = srv.owner().await;
    let (status, wf) = srv
        .post("/api/v1/workflows", Some(&token), &webhook_bench())
        .await;
    assert_eq!(status, 201, "{wf}");
    let id = wf["id"].as_str().unwrap().to_owned();
    let hook = format!("{}/webhook/bench", srv.webhook.as_deref().unwrap());

    // Not active yet: the data plane does not answer the path.
    let before = srv
        .client
        .post(&hook)
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(before.status().as_u16(), 404);

    let (status, act) = srv
        .post(
            &format!("/api/v1/workflows/{id}/activate"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{act}");

    let res = srv
        .client
        .post(&hook)
        .json(&json!({"a": 20, "name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"a": 20, "name": "x", "b": 21}));

    // The journal's record of that execution is listed and readable. With `batch`
    // durability the record is written at the next group commit (10 ms): ask until it is
    // there, boundedly (no timing is asserted).
    let mut executions = Vec::new();
    for _ in 0..200 {
        let (status, list) = srv
            .get(&format!("/api/v1/executions?workflowId={id}"), &token)
            .await;
        assert_eq!(status, 200, "{list}");
        executions = list["data"].as_array().cloned().unwrap_or_default();
        if !executions.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(executions.len(), 1, "{executions:?}");
    assert_eq!(executions[0]["status"], "success");
    let exec_id = executions[0]["id"].as_str().unwrap();
    let (status, one) = srv
        .get(&format!("/api/v1/executions/{exec_id}"), &token)
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(
        (one["workflowId"].as_str(), one["workflowVersion"].as_i64()),
        (Some(id.as_str()), Some(1))
    );
    let (status, _) = srv.get("/api/v1/executions/0-999999", &token).await;
    assert_eq!(status, 404);

    // Deactivated: the path is gone again.
    srv.post(
        &format!("/api/v1/workflows/{id}/deactivate"),
        Some(&token),
        &json!({}),
    )
    .await;
    let after = srv
        .client
        .post(&hook)
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 404);
    srv.stop().await;
}

#[tokio::test]
async fn webhook_answers_after_activation_and_execution_is_listed_sqlite() {
    let db = TestDb::sqlite().await;
    webhook_round_trip(&db).await;
    db.cleanup().await;
}

#[tokio::test]
async fn webhook_answers_after_activation_and_execution_is_listed_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    webhook_round_trip(&db).await;
    db.cleanup().await;
}
