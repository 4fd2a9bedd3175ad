//! Authentication and authorisation through the HTTP API.

mod common;

use std::sync::Arc;

use common::{small_workflow, TestDb, TestServer};
use linkflow_controlplane::ratelimit::TierLimits;
use linkflow_controlplane::storage::{Role, User};
use reqwest::Method;
use serde_json::json;

async fn server() -> (TestServer, TestDb) {
    let db = TestDb::sqlite().await;
    (TestServer::start(Arc::new(db.store.clone())).await, db)
}

#[tokio::test]
async fn every_route_but_health_and_metrics_refuses_without_credentials() {
    let (srv, db) = server().await;
    let routes = [
        (Method::GET, "/api/v1/auth/me"),
        (Method::GET, "/api/v1/workflows"),
        (Method::POST, "/api/v1/workflows"),
        (Method::POST, "/api/v1/workflows/import"),
        (Method::GET, "/api/v1/workflows/x"),
        (Method::PUT, "/api/v1/workflows/x"),
        (Method::DELETE, "/api/v1/workflows/x"),
        (Method::GET, "/api/v1/workflows/x/versions"),
        (Method::GET, "/api/v1/workflows/x/versions/1"),
        (Method::GET, "/api/v1/workflows/x/export"),
        (Method::POST, "/api/v1/workflows/x/activate"),
        (Method::POST, "/api/v1/workflows/x/deactivate"),
        (Method::GET, "/api/v1/workflows/x/activations"),
        (Method::GET, "/api/v1/credentials"),
        (Method::POST, "/api/v1/credentials"),
        (Method::GET, "/api/v1/credentials/x"),
        (Method::PUT, "/api/v1/credentials/x"),
        (Method::DELETE, "/api/v1/credentials/x"),
        (Method::GET, "/api/v1/nodes"),
        (Method::GET, "/api/v1/executions"),
        (Method::GET, "/api/v1/executions/x"),
        (Method::GET, "/api/v1/audit"),
        (Method::GET, "/api/v1/users"),
        (Method::POST, "/api/v1/users"),
        (Method::GET, "/api/v1/api-keys"),
        (Method::POST, "/api/v1/api-keys"),
        (Method::DELETE, "/api/v1/api-keys/x"),
        (Method::GET, "/api/v1/no-such-route"),
    ];
    for (method, path) in routes {
        let (status, body) = srv.call(method.clone(), path, None, None).await;
        assert_eq!(status, 401, "{method} {path}");
        assert_eq!(body["error"]["code"], "UNAUTHORIZED", "{method} {path}");
    }
    for path in ["/health/live", "/metrics", "/api/v1/openapi.json"] {
        let res = srv.client.get(srv.url(path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
    }
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn setup_is_refused_once_an_owner_exists() {
    let (srv, db) = server().await;
    srv.owner().await;
    let again = json!({"email": "second@example.com", "password": "another-password"});
    let (status, body) = srv.post("/api/v1/auth/setup", None, &again).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("SETUP_ALREADY_DONE"))
    );
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn wrong_password_and_weak_setup_are_refused() {
    let (srv, db) = server().await;
    let weak = json!({"email": "o@example.com", "password": "short"});
    let (status, body) = srv.post("/api/v1/auth/setup", None, &weak).await;
    assert_eq!(
        (status, body["error"]["details"]["field"].as_str()),
        (400, Some("password"))
    );
    srv.owner().await;
    let wrong = json!({"email": "owner@example.com", "password": "not-the-password"});
    let (status, body) = srv.post("/api/v1/auth/login", None, &wrong).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );
    let unknown = json!({"email": "nobody@example.com", "password": "whatever-password"});
    assert_eq!(srv.post("/api/v1/auth/login", None, &unknown).await.0, 401);
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn expired_and_forged_tokens_are_refused() {
    let (srv, db) = server().await;
    let (access, _) = srv.owner().await;
    assert_eq!(srv.get("/api/v1/auth/me", &access).await.0, 200);
    let me = srv.get("/api/v1/auth/me", &access).await.1;
    let user = User {
        id: me["id"].as_str().unwrap().into(),
        email: String::new(),
        password_hash: String::new(),
        role: Role::Owner,
        tier: "authenticated".into(),
        created_at: 0,
    };
    let long_ago = linkflow_controlplane::storage::now_ms() / 1000 - 2 * 3600;
    let expired = srv.state.signer.issue(&user, long_ago).unwrap();
    let (status, body) = srv.get("/api/v1/auth/me", &expired).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );
    let forged = linkflow_controlplane::auth::TokenSigner::new(b"attacker")
        .issue(&user, long_ago + 2 * 3600)
        .unwrap();
    assert_eq!(srv.get("/api/v1/auth/me", &forged).await.0, 401);
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let (srv, db) = server().await;
    let (_, r1) = srv.owner().await;
    let (status, body) = srv
        .post("/api/v1/auth/refresh", None, &json!({"refreshToken": r1}))
        .await;
    assert_eq!(status, 200, "{body}");
    let r2 = body["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        srv.get("/api/v1/auth/me", body["accessToken"].as_str().unwrap())
            .await
            .0,
        200
    );
    // The old token again: detected as reuse.
    let (status, body) = srv
        .post("/api/v1/auth/refresh", None, &json!({"refreshToken": r1}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("REFRESH_TOKEN_REUSED"))
    );
    // ... and the legitimate successor is revoked with its family.
    let (status, _) = srv
        .post("/api/v1/auth/refresh", None, &json!({"refreshToken": r2}))
        .await;
    assert_eq!(status, 401);
    // A separate login starts a new, working family.
    let (_, r3) = srv.login("owner@example.com", "owner-password").await;
    assert_eq!(
        srv.post("/api/v1/auth/refresh", None, &json!({"refreshToken": r3}))
            .await
            .0,
        200
    );
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn api_key_is_shown_once_stored_hashed_and_authenticates() {
    let (srv, db) = server().await;
    let (access, _) = srv.owner().await;
    let (status, created) = srv
        .post("/api/v1/api-keys", Some(&access), &json!({"name": "ci"}))
        .await;
    assert_eq!(status, 201);
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("lfk_"));
    let listed = srv.get("/api/v1/api-keys", &access).await.1;
    assert!(listed["data"][0].get("key").is_none());
    assert!(!listed.to_string().contains(&key));
    let with_key = |k: &str| {
        srv.client
            .get(srv.url("/api/v1/auth/me"))
            .header("X-API-Key", k.to_owned())
    };
    let res = with_key(&key).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        with_key("lfk_wrong")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    let id = created["id"].as_str().unwrap();
    let (status, _) = srv
        .call(
            Method::DELETE,
            &format!("/api/v1/api-keys/{id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(with_key(&key).send().await.unwrap().status().as_u16(), 401);
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn member_cannot_change_others_work_but_admin_can() {
    let (srv, db) = server().await;
    let (owner, _) = srv.owner().await;
    let member = srv.user(&owner, "member@example.com", "member").await;
    let admin = srv.user(&owner, "admin@example.com", "admin").await;
    let (_, wf) = srv
        .post(
            "/api/v1/workflows",
            Some(&owner),
            &small_workflow("owned", &[]),
        )
        .await;
    let path = format!("/api/v1/workflows/{}", wf["id"].as_str().unwrap());
    let (status, body) = srv.call(Method::DELETE, &path, Some(&member), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN"))
    );
    let (status, _) = srv
        .call(
            Method::PUT,
            &path,
            Some(&member),
            Some(&small_workflow("hijack", &[])),
        )
        .await;
    assert_eq!(status, 403);
    // Members read shared work, create their own, and cannot manage users or read the audit.
    assert_eq!(srv.get(&path, &member).await.0, 200);
    let (status, mine) = srv
        .post(
            "/api/v1/workflows",
            Some(&member),
            &small_workflow("mine", &[]),
        )
        .await;
    assert_eq!(status, 201);
    let mine_path = format!("/api/v1/workflows/{}", mine["id"].as_str().unwrap());
    assert_eq!(srv.get("/api/v1/audit", &member).await.0, 403);
    let new_user = json!({"email": "x@example.com", "password": "long-password", "role": "member"});
    assert_eq!(
        srv.post("/api/v1/users", Some(&member), &new_user).await.0,
        403
    );
    assert_eq!(
        srv.call(Method::DELETE, &mine_path, Some(&member), None)
            .await
            .0,
        204
    );
    assert_eq!(
        srv.call(Method::DELETE, &path, Some(&admin), None).await.0,
        204
    );
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn spent_budget_answers_429_with_retry_after() {
    let db = TestDb::sqlite().await;
    let limits = TierLimits {
        anonymous: Some(2),
        ..TierLimits::default()
    };
    let srv = TestServer::start_with(Arc::new(db.store.clone()), limits).await;
    let creds = json!({"email": "nobody@example.com", "password": "whatever-password"});
    for _ in 0..2 {
        assert_eq!(srv.post("/api/v1/auth/login", None, &creds).await.0, 401);
    }
    let res = srv
        .client
        .post(srv.url("/api/v1/auth/login"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    srv.stop().await;
    db.cleanup().await;
}
