//! Workflows, credentials and bad input through the HTTP API.

mod common;

use std::sync::Arc;

use common::{
    small_workflow, webhook_bench, PlanCommand, TestDb, TestServer, TARGETS, TEST_BODY_BYTES_MAX,
};
use reqwest::Method;
use serde_json::{json, Value};

async fn server() -> (TestServer, TestDb) {
    let db = TestDb::sqlite().await;
    (TestServer::start(Arc::new(db.store.clone())).await, db)
}

async fn raw_post(srv: &TestServer, path: &str, token: &str, body: Vec<u8>) -> (u16, Value) {
    let res = srv
        .client
        .post(srv.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn reference_workflow_is_created_activated_and_reports_nodes_and_version() {
    let (srv, db) = server().await;
    let (token, _) = srv.owner().await;
    let (status, wf) = srv
        .post("/api/v1/workflows", Some(&token), &webhook_bench())
        .await;
    assert_eq!(status, 201, "{wf}");
    assert_eq!(
        (wf["name"].as_str(), wf["version"].as_i64()),
        (Some("webhook-bench"), Some(1))
    );
    let id = wf["id"].as_str().unwrap();
    let (status, act) = srv
        .post(
            &format!("/api/v1/workflows/{id}/activate"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{act}");
    assert_eq!(act["version"], 1);
    assert_eq!(act["targets"].as_array().map(Vec::len), Some(TARGETS.len()));
    let target = &act["targets"][0];
    assert_eq!(
        (target["target"].as_str(), target["status"].as_str()),
        (Some(TARGETS[0]), Some("installed"))
    );
    let nodes: Vec<&str> = target["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        nodes.contains(&"Webhook") && nodes.contains(&"Respond True"),
        "{nodes:?}"
    );
    match &srv.commands.lock()[0] {
        PlanCommand::Install {
            workflow_id,
            version,
            plan,
            ..
        } => {
            assert_eq!((workflow_id.as_str(), *version), (id, 1));
            assert_eq!(plan.plan_id, act["planId"].as_str().unwrap());
        }
        other => panic!("expected an install, got {other:?}"),
    }
    let listed = srv.get("/api/v1/workflows?active=true", &token).await.1;
    assert_eq!(listed["data"][0]["id"], id);
    let (status, off) = srv
        .post(
            &format!("/api/v1/workflows/{id}/deactivate"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!((status, off["active"].as_bool()), (200, Some(false)));
    let history = srv
        .get(&format!("/api/v1/workflows/{id}/activations"), &token)
        .await
        .1;
    let statuses: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["activated", "deactivated"]);
    srv.stop().await;
    db.cleanup().await;
}

async fn activate(srv: &TestServer, token: &str, id: &str) -> (u16, Value) {
    srv.post(
        &format!("/api/v1/workflows/{id}/activate"),
        Some(token),
        &json!({}),
    )
    .await
}

async fn is_active(srv: &TestServer, token: &str, id: &str) -> bool {
    let (status, wf) = srv.get(&format!("/api/v1/workflows/{id}"), token).await;
    assert_eq!(status, 200, "{wf}");
    wf["active"].as_bool().unwrap()
}

#[tokio::test]
async fn activation_with_a_node_down_rolls_back_and_records_nothing_active() {
    let (srv, db) = server().await;
    let (token, _) = srv.owner().await;
    let (_, wf) = srv
        .post("/api/v1/workflows", Some(&token), &webhook_bench())
        .await;
    let id = wf["id"].as_str().unwrap().to_owned();
    srv.down.lock().push(TARGETS[1].to_owned());

    let (status, err) = activate(&srv, &token, &id).await;
    assert_eq!(status, 502, "{err}");
    assert_eq!(err["error"]["code"], "DEPLOY_FAILED");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(TARGETS[1]) && message.contains("LF-QUIC-002"),
        "{message}"
    );
    assert_eq!(err["error"]["details"]["active"], false);
    let failed = &err["error"]["details"]["targets"][1];
    assert_eq!(
        (failed["status"].as_str(), failed["code"].as_str()),
        (Some("failed"), Some("LF-QUIC-002"))
    );
    let rollback = &err["error"]["details"]["rollback"];
    assert_eq!(rollback[0]["target"], TARGETS[0]);
    assert_eq!(rollback[0]["status"], "removed");
    // node-a installed it, then lost it again; node-b was never reached.
    let seen: Vec<String> = srv
        .commands
        .lock()
        .iter()
        .map(|c| match c {
            PlanCommand::Install { target, .. } => format!("install {target}"),
            PlanCommand::Remove { target, .. } => format!("remove {target}"),
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            format!("install {}", TARGETS[0]),
            format!("remove {}", TARGETS[0])
        ]
    );
    assert!(!is_active(&srv, &token, &id).await);
    let history = srv
        .get(&format!("/api/v1/workflows/{id}/activations"), &token)
        .await
        .1;
    assert_eq!(history["data"][0]["status"], "failed");
    assert_eq!(
        history["data"][0]["report"]["rollback"][0]["status"],
        "removed"
    );

    // With the node back, the same activation succeeds everywhere.
    srv.down.lock().clear();
    let (status, act) = activate(&srv, &token, &id).await;
    assert_eq!(status, 200, "{act}");
    assert!(is_active(&srv, &token, &id).await);
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_failed_new_version_gives_the_nodes_the_active_version_back() {
    let (srv, db) = server().await;
    let (token, _) = srv.owner().await;
    let original = webhook_bench();
    let (_, wf) = srv.post("/api/v1/workflows", Some(&token), &original).await;
    let id = wf["id"].as_str().unwrap().to_owned();
    let (status, v1) = activate(&srv, &token, &id).await;
    assert_eq!(status, 200, "{v1}");
    let mut changed = original.clone();
    changed["name"] = json!("webhook-bench v2");
    let (status, _) = srv
        .call(
            Method::PUT,
            &format!("/api/v1/workflows/{id}"),
            Some(&token),
            Some(&changed),
        )
        .await;
    assert_eq!(status, 200);
    srv.down.lock().push(TARGETS[1].to_owned());
    srv.commands.lock().clear();

    let (status, err) = activate(&srv, &token, &id).await;
    assert_eq!(status, 502, "{err}");
    assert_eq!(err["error"]["details"]["active"], true);
    // node-a took version 2, then got version 1 (the activated one) back.
    let installs: Vec<(String, i64)> = srv
        .commands
        .lock()
        .iter()
        .filter_map(|c| match c {
            PlanCommand::Install {
                target, version, ..
            } => Some((target.clone(), *version)),
            PlanCommand::Remove { .. } => None,
        })
        .collect();
    assert_eq!(
        installs,
        vec![(TARGETS[0].to_owned(), 2), (TARGETS[0].to_owned(), 1)]
    );
    let rollback = &err["error"]["details"]["rollback"][0];
    assert_eq!(
        (rollback["status"].as_str(), rollback["planId"].as_str()),
        (Some("installed"), v1["planId"].as_str())
    );
    assert!(is_active(&srv, &token, &id).await);
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn updates_are_versions_and_export_returns_what_was_saved() {
    let (srv, db) = server().await;
    let (token, _) = srv.owner().await;
    let original = webhook_bench();
    let (_, wf) = srv.post("/api/v1/workflows", Some(&token), &original).await;
    let id = wf["id"].as_str().unwrap();
    let mut changed = original.clone();
    changed["name"] = json!("renamed");
    let (status, updated) = srv
        .call(
            Method::PUT,
            &format!("/api/v1/workflows/{id}"),
            Some(&token),
            Some(&changed),
        )
        .await;
    assert_eq!((status, updated["version"].as_i64()), (200, Some(2)));
    let exported = srv
        .get(&format!("/api/v1/workflows/{id}/export"), &token)
        .await
        .1;
    assert_eq!(exported, changed);
    let v1 = srv
        .get(&format!("/api/v1/workflows/{id}/versions/1"), &token)
        .await
        .1;
    assert_eq!(v1["workflow"], original);
    let versions = srv
        .get(&format!("/api/v1/workflows/{id}/versions?limit=1"), &token)
        .await
        .1;
    assert_eq!(versions["data"].as_array().unwrap().len(), 1);
    assert!(versions["nextCursor"].is_string());
    let (status, body) = srv
        .get(&format!("/api/v1/workflows/{id}/versions/9"), &token)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn list_filters_by_name_tag_and_pages() {
    let (srv, db) = server().await;
    let (token, _) = srv.owner().await;
    for (name, tag) in [("alpha", "prod"), ("beta", "dev"), ("alphabet", "prod")] {
        assert_eq!(
            srv.post(
                "/api/v1/workflows",
                Some(&token),
                &small_workflow(name, &[tag])
            )
            .await
            .0,
            201
        );
    }
    let names = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&srv.get("/api/v1/workflows?name=ALPHA", &token).await.1),
        vec!["alpha", "alphabet"]
    );
    assert_eq!(
        names(&srv.get("/api/v1/workflows?tag=dev", &token).await.1),
        vec!["beta"]
    );
    let first = srv.get("/api/v1/workflows?limit=2", &token).await.1;
    assert_eq!(names(&first).len(), 2);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = srv
        .get(
            &format!("/api/v1/workflows?limit=2&cursor={cursor}"),
            &token,
        )
        .await
        .1;
    assert_eq!(names(&second), vec!["alphabet"]);
    assert!(second["nextCursor"].is_null());
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn bulk_import_is_all_or_nothing() {
    let (srv, db) = server().await;
    let (token, _) = srv.owner().await;
    let bad = json!({"workflows": [small_workflow("ok", &[]), {"name": "broken"}]});
    let (status, body) = srv
        .post("/api/v1/workflows/import", Some(&token), &bad)
        .await;
    assert_eq!(
        (status, body["error"]["details"]["index"].as_i64()),
        (400, Some(1))
    );
    assert!(srv.get("/api/v1/workflows", &token).await.1["data"]
        .as_array()
        .unwrap()
        .is_empty());
    let good = json!({"workflows": [small_workflow("a", &[]), small_workflow("b", &[])]});
    let (status, body) = srv
        .post("/api/v1/workflows/import", Some(&token), &good)
        .await;
    assert_eq!(
        (status, body["data"].as_array().map(Vec::len)),
        (201, Some(2))
    );
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn credential_secrets_are_never_returned_or_stored_in_clear() {
    let (srv, db) = server().await;
    let (token, _) = srv.owner().await;
    let secret = "sk-very-secret-value";
    let body = json!({"name": "api", "type": "httpHeaderAuth", "data": {"name": "X-Token", "value": secret}});
    let (status, created) = srv.post("/api/v1/credentials", Some(&token), &body).await;
    assert_eq!(status, 201);
    assert_eq!(created["fields"], json!(["name", "value"]));
    let id = created["id"].as_str().unwrap();
    let got = srv
        .get(&format!("/api/v1/credentials/{id}"), &token)
        .await
        .1;
    let listed = srv.get("/api/v1/credentials", &token).await.1;
    let audit = srv.get("/api/v1/audit", &token).await.1;
    for text in [
        created.to_string(),
        got.to_string(),
        listed.to_string(),
        audit.to_string(),
    ] {
        assert!(!text.contains(secret));
    }
    use linkflow_controlplane::storage::RecordStore;
    let row = db.store.credential(id).await.unwrap();
    assert!(!row.ciphertext.contains(secret));
    let opened = srv.state.key.open(id, &row.ciphertext).unwrap();
    assert!(String::from_utf8(opened).unwrap().contains(secret));
    let path = format!("/api/v1/credentials/{id}");
    assert_eq!(
        srv.call(Method::DELETE, &path, Some(&token), None).await.0,
        204
    );
    assert_eq!(srv.get(&path, &token).await.0, 404);
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn bad_input_gets_4xx_with_codes_and_writes_nothing() {
    let (srv, db) = server().await;
    let (token, _) = srv.owner().await;
    let (status, body) = raw_post(&srv, "/api/v1/workflows", &token, b"{\"name\": ".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("INVALID_JSON"))
    );
    let unknown = json!({"name": "u", "nodes": [{"name": "Mystery", "type": "acme.mystery"}]});
    let (status, body) = srv.post("/api/v1/workflows", Some(&token), &unknown).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("WORKFLOW_INVALID"))
    );
    assert_eq!(
        body["error"]["details"]["unknownNodeTypes"][0]["node"],
        "Mystery"
    );
    let huge = vec![b' '; TEST_BODY_BYTES_MAX + 1];
    let (status, body) = raw_post(&srv, "/api/v1/workflows", &token, huge).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    for query in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "cursor=%%%",
        "active=maybe",
    ] {
        let (status, body) = srv.get(&format!("/api/v1/workflows?{query}"), &token).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("VALIDATION_ERROR")),
            "{query}"
        );
    }
    let (status, body) = srv
        .post("/api/v1/credentials", Some(&token), &json!({"name": "x"}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    let (status, body) = srv
        .call(Method::PATCH, "/api/v1/workflows", Some(&token), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
    let (status, body) = srv.get("/api/v1/workflows/does-not-exist", &token).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    assert!(srv.get("/api/v1/workflows", &token).await.1["data"]
        .as_array()
        .unwrap()
        .is_empty());
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn openapi_document_lists_the_api_and_metrics_count_requests() {
    let (srv, db) = server().await;
    let doc: Value = srv
        .client
        .get(srv.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/workflows",
        "/api/v1/workflows/{id}/activate",
        "/api/v1/auth/login",
        "/api/v1/executions",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    let metrics = srv
        .client
        .get(srv.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("http_requests_total{service=\"controlplane\",status=\"2xx\"} 1"),
        "{metrics}"
    );
    let nodes = srv
        .client
        .get(srv.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(nodes.status().as_u16(), 200);
    srv.stop().await;
    db.cleanup().await;
}
