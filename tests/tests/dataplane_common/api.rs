//! A client of the control plane's REST API for end-to-end tests against `linkflow serve`
//! and `linkflow controlplane` child processes: owner setup, login, JSON calls, webhooks.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::WAIT_MAX;

/// Owner credentials the tests set up.
pub const OWNER_EMAIL: &str = "owner@example.com";
/// The owner's password.
pub const OWNER_PASSWORD: &str = "owner-password";
/// Interval between polls of a condition the server reports (executions listed).
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// A REST client of one control plane, logged in once [`Api::owner`] or [`Api::login`]
/// ran.
pub struct Api {
    base: String,
    client: reqwest::Client,
    token: Option<String>,
}

impl Api {
    /// A client of the API at `addr`.
    pub fn new(addr: SocketAddr) -> Api {
        Api {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(WAIT_MAX)
                .build()
                .expect("HTTP client"),
            token: None,
        }
    }

    /// Sends `method path` with the bearer token (once logged in) and a JSON body; returns
    /// the status and the JSON answer (`Value::Null` when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text:?} is not JSON: {e}"))
        };
        (status, value)
    }

    /// GET.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// First-run owner setup, then login.
    pub async fn owner(&mut self) {
        let creds = json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD});
        let (status, body) = self.post("/api/v1/auth/setup", &creds).await;
        assert_eq!(status, 201, "owner setup: {body}");
        self.login().await;
    }

    /// Logs in as the owner.
    pub async fn login(&mut self) {
        let creds = json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD});
        let (status, body) = self.post("/api/v1/auth/login", &creds).await;
        assert_eq!(status, 200, "login: {body}");
        self.token = Some(body["accessToken"].as_str().expect("token").to_owned());
    }

    /// Creates a workflow; returns its id.
    pub async fn create_workflow(&self, workflow: &Value) -> String {
        let (status, created) = self.post("/api/v1/workflows", workflow).await;
        assert_eq!(status, 201, "create: {created}");
        created["id"].as_str().expect("id").to_owned()
    }

    /// `POST /api/v1/workflows/{id}/activate` (or `deactivate`).
    pub async fn set_active(&self, id: &str, active: bool) -> (u16, Value) {
        let verb = if active { "activate" } else { "deactivate" };
        self.post(&format!("/api/v1/workflows/{id}/{verb}"), &json!({}))
            .await
    }

    /// The workflow's `active` flag as stored.
    pub async fn is_active(&self, id: &str) -> bool {
        let (status, wf) = self.get(&format!("/api/v1/workflows/{id}")).await;
        assert_eq!(status, 200, "{wf}");
        wf["active"].as_bool().expect("active flag")
    }

    /// Lists the workflow's executions until at least `count` are there (journals write in
    /// groups, so a record appears shortly after its answer); bounded by [`WAIT_MAX`].
    pub async fn executions(&self, workflow_id: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            let (status, list) = self
                .get(&format!("/api/v1/executions?workflowId={workflow_id}"))
                .await;
            assert_eq!(status, 200, "{list}");
            let data = list["data"].as_array().cloned().unwrap_or_default();
            if data.len() >= count || Instant::now() >= deadline {
                return data;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// POSTs `body` to `http://addr/webhook/path`; returns the status and the JSON answer
/// (`Value::Null` when the answer is not JSON, e.g. a 404 page).
pub async fn call_webhook(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/webhook/{path}"))
        .timeout(WAIT_MAX)
        .json(body)
        .send()
        .await
        .expect("the webhook listener answers");
    let status = response.status().as_u16();
    let value = response.json().await.unwrap_or(Value::Null);
    (status, value)
}
