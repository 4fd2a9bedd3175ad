//! A credential changed or deleted while an activation that uses it is in flight: the
//! deploy gate orders them, so an active workflow never runs without its credential, and a
//! node never keeps the value from before an update.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::{PlanCommand, TestDb, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// How long each deploy takes: the activation is in flight while the credential changes.
const DEPLOY_DELAY_MS: u64 = 300;
/// When the credential request is sent, after the activation started.
const CHANGE_AFTER_MS: u64 = 100;

/// A webhook workflow whose HTTP Request node authenticates with `credential_id`.
fn using(name: &str, credential_id: &str) -> Value {
    json!({"name": name, "nodes": [
        {"name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
         "parameters": {"path": name, "httpMethod": "POST", "responseMode": "lastNode"}},
        {"name": "Call", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
         "parameters": {"method": "GET", "url": "http://127.0.0.1:9/", "options": {},
             "authentication": "genericCredentialType", "genericAuthType": "httpHeaderAuth"},
         "credentials": {"httpHeaderAuth": {"id": credential_id, "name": "key"}}}],
        "connections": {"Webhook": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}}})
}

/// Creates the credential and a workflow using it; returns (credential id, workflow id).
async fn credential_and_user(srv: &TestServer, token: &str) -> (String, String) {
    let body = json!({"name": "key", "type": "httpHeaderAuth",
                      "data": {"name": "X-Token", "value": "old-value"}});
    let (status, created) = srv.post("/api/v1/credentials", Some(token), &body).await;
    assert_eq!(status, 201, "{created}");
    let credential = created["id"].as_str().unwrap().to_owned();
    let workflow = using("racer", &credential);
    let (status, wf) = srv.post("/api/v1/workflows", Some(token), &workflow).await;
    assert_eq!(status, 201, "{wf}");
    (credential, wf["id"].as_str().unwrap().to_owned())
}

/// A control plane on SQLite with its owner, a credential and a workflow using it:
/// (database, server, owner token, credential id, workflow id).
async fn setup() -> (TestDb, TestServer, String, String, String) {
    let db = TestDb::sqlite().await;
    let srv = TestServer::start(Arc::new(db.store.clone())).await;
    let (token, _) = srv.owner().await;
    let (credential, workflow) = credential_and_user(&srv, &token).await;
    (db, srv, token, credential, workflow)
}

/// Starts activating `id` (each deploy slowed down) and returns the pending request.
fn activate_slowly(
    srv: &TestServer,
    token: &str,
    id: &str,
) -> tokio::task::JoinHandle<(u16, Value)> {
    srv.deploy_delay_ms
        .store(DEPLOY_DELAY_MS, Ordering::Relaxed);
    let request = srv
        .client
        .post(srv.url(&format!("/api/v1/workflows/{id}/activate")))
        .bearer_auth(token)
        .json(&json!({}));
    tokio::spawn(async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

#[tokio::test]
async fn deleting_a_credential_during_an_activation_never_leaves_it_active_without_it() {
    let (db, srv, token, credential, workflow) = setup().await;

    let activation = activate_slowly(&srv, &token, &workflow);
    tokio::time::sleep(Duration::from_millis(CHANGE_AFTER_MS)).await;
    let path = format!("/api/v1/credentials/{credential}");
    let (deleted, body) = srv.call(Method::DELETE, &path, Some(&token), None).await;
    let (activated, outcome) = activation.await.unwrap();
    match (deleted, activated) {
        // The activation went first: it is active and the delete is refused.
        (409, 200) => assert_eq!(body["error"]["code"], "CREDENTIAL_IN_USE", "{body}"),
        // The delete went first: the activation finds no credential.
        (204, 400) => assert_eq!(outcome["error"]["code"], "CREDENTIAL_MISSING", "{outcome}"),
        other => panic!("delete and activation interleaved: {other:?} {body} {outcome}"),
    }
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn updating_a_credential_during_an_activation_leaves_the_new_value_on_every_node() {
    let (db, srv, token, credential, workflow) = setup().await;

    let activation = activate_slowly(&srv, &token, &workflow);
    tokio::time::sleep(Duration::from_millis(CHANGE_AFTER_MS)).await;
    let body = json!({"name": "key", "type": "httpHeaderAuth",
                      "data": {"name": "X-Token", "value": "new-value"}});
    let path = format!("/api/v1/credentials/{credential}");
    let (status, updated) = srv
        .call(Method::PUT, &path, Some(&token), Some(&body))
        .await;
    assert_eq!(status, 200, "{updated}");
    let (status, outcome) = activation.await.unwrap();
    assert_eq!(status, 200, "{outcome}");

    // Whatever the order, the last plan each node received carries the new value.
    let commands = srv.commands.lock().clone();
    let mut last = std::collections::BTreeMap::new();
    for command in &commands {
        if let PlanCommand::Install {
            target,
            workflow_id,
            plan,
            ..
        } = command
        {
            if *workflow_id == workflow {
                last.insert(target.clone(), plan.clone());
            }
        }
    }
    assert_eq!(last.len(), common::TARGETS.len(), "{commands:?}");
    for (target, plan) in last {
        let values: Vec<&str> = plan
            .credentials
            .iter()
            .flat_map(|c| c.fields.iter())
            .filter(|(name, _)| name == "value")
            .map(|(_, value)| value.as_str())
            .collect();
        assert_eq!(
            values,
            vec!["new-value"],
            "{target} runs a stale credential"
        );
    }
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_delete_queued_behind_an_update_that_redeploys_two_workflows_does_not_deadlock() {
    let (db, srv, token, credential, first) = setup().await;
    let (status, second) = srv
        .post(
            "/api/v1/workflows",
            Some(&token),
            &using("second", &credential),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let second = second["id"].as_str().unwrap().to_owned();
    for id in [&first, &second] {
        let path = format!("/api/v1/workflows/{id}/activate");
        let (status, body) = srv.post(&path, Some(&token), &json!({})).await;
        assert_eq!(status, 200, "{body}");
    }
    let body = json!({"name": "other", "type": "httpHeaderAuth",
                      "data": {"name": "X-Other", "value": "v"}});
    let (status, other) = srv.post("/api/v1/credentials", Some(&token), &body).await;
    assert_eq!(status, 201, "{other}");
    let other = other["id"].as_str().unwrap().to_owned();

    // The update redeploys two workflows, one slow deploy each; a delete (exclusive gate)
    // arrives during the first.
    srv.deploy_delay_ms
        .store(DEPLOY_DELAY_MS, Ordering::Relaxed);
    let update = srv
        .client
        .put(srv.url(&format!("/api/v1/credentials/{credential}")))
        .bearer_auth(&token)
        .json(&json!({"name": "key", "type": "httpHeaderAuth",
                      "data": {"name": "X-Token", "value": "new-value"}}))
        .send();
    let delete = async {
        tokio::time::sleep(Duration::from_millis(CHANGE_AFTER_MS)).await;
        let path = format!("/api/v1/credentials/{other}");
        srv.call(Method::DELETE, &path, Some(&token), None).await.0
    };
    // A hang guard, not a performance bound: both finish in about two deploys.
    let (updated, deleted) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(update, delete)
    })
    .await
    .expect("the update and the delete deadlocked on the deploy gate");
    let updated: Value = updated.unwrap().json().await.unwrap();
    assert_eq!(updated["redeployOk"], true, "{updated}");
    assert_eq!(updated["redeployed"].as_array().map(Vec::len), Some(2));
    assert_eq!(deleted, 204);
    srv.stop().await;
    db.cleanup().await;
}
