//! Shared helpers of the control-plane integration tests: databases and in-process servers.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use linkflow_controlplane::api::AppState;
use linkflow_controlplane::auth::TokenSigner;
use linkflow_controlplane::credentials::EncryptionKey;
use linkflow_controlplane::deploy::executions::StoreExecutions;
use linkflow_controlplane::deploy::{
    CompiledPlan, DeployReport, Deployer, EngineCompiler, Scope, TargetReport, STATUS_FAILED,
    STATUS_INSTALLED, STATUS_REMOVED,
};
use linkflow_controlplane::ratelimit::TierLimits;
use linkflow_controlplane::server::{app, serve, Parts};
use linkflow_controlplane::storage::{SqlStore, Store};
use parking_lot::Mutex;
use serde_json::{json, Value};
use sqlx::Connection;

/// Environment variable naming the PostgreSQL server for tests.
pub const PG_URL_VAR: &str = "LINKFLOW_TEST_DATABASE_URL";

/// A store on a throwaway database: a fresh SQLite file, or a fresh PostgreSQL schema.
pub struct TestDb {
    pub store: SqlStore,
    dir: Option<PathBuf>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("lf-cp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqlStore::connect(&SqlStore::sqlite_url(&dir))
            .await
            .unwrap();
        TestDb {
            store,
            dir: Some(dir),
            pg: None,
        }
    }

    /// `None` (after printing "skipped") when no PostgreSQL is configured.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(base) = std::env::var(PG_URL_VAR) else {
            println!("skipped: {PG_URL_VAR} is not set");
            return None;
        };
        sqlx::any::install_default_drivers();
        // A schema per test keeps runs independent and parallel tests apart.
        let schema = format!("lf_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::AnyConnection::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let store = SqlStore::connect(&url).await.unwrap();
        Some(TestDb {
            store,
            dir: None,
            pg: Some((base, schema)),
        })
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((base, schema)) = self.pg {
            let mut conn = sqlx::AnyConnection::connect(&base).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

/// What the recording deployer was asked to do, per target.
#[derive(Debug, Clone)]
pub enum PlanCommand {
    /// Install `plan` (version `version` of `workflow_id`) on `target`.
    Install {
        target: String,
        workflow_id: String,
        version: i64,
        plan: CompiledPlan,
    },
    /// Remove `workflow_id` from `target`.
    Remove { target: String, workflow_id: String },
}

/// Names of the recording deployer's two data planes.
pub const TARGETS: [&str; 2] = ["node-a:8443", "node-b:8443"];

/// A deployer standing for data planes: records every command per target and fails the
/// targets marked down (as an unreachable node: `LF-QUIC-002`, nothing applied).
pub struct RecordingDeployer {
    pub commands: Arc<Mutex<Vec<PlanCommand>>>,
    pub down: Arc<Mutex<Vec<String>>>,
    /// Milliseconds each deploy takes (0: at once), to hold an activation in flight.
    pub deploy_delay_ms: Arc<std::sync::atomic::AtomicU64>,
    gate: tokio::sync::RwLock<()>,
}

impl RecordingDeployer {
    fn report(&self, scope: Scope<'_>, mut each: impl FnMut(&str) -> TargetReport) -> DeployReport {
        let down = self.down.lock().clone();
        let targets = TARGETS
            .iter()
            .filter(|t| scope.includes(t))
            .map(|t| {
                if down.iter().any(|d| d == t) {
                    TargetReport {
                        target: (*t).to_owned(),
                        status: STATUS_FAILED.into(),
                        plan_id: None,
                        version: 0,
                        nodes: Vec::new(),
                        code: Some("LF-QUIC-002".into()),
                        error: Some("LF-QUIC-002: connecting: node is down".into()),
                    }
                } else {
                    each(t)
                }
            })
            .collect();
        DeployReport { targets }
    }
}

#[async_trait]
impl Deployer for RecordingDeployer {
    async fn deploy(
        &self,
        scope: Scope<'_>,
        workflow_id: &str,
        version: i64,
        plan: &CompiledPlan,
    ) -> DeployReport {
        let delay_ms = self
            .deploy_delay_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        if delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        }
        self.report(scope, |target| {
            self.commands.lock().push(PlanCommand::Install {
                target: target.to_owned(),
                workflow_id: workflow_id.to_owned(),
                version,
                plan: plan.clone(),
            });
            TargetReport {
                target: target.to_owned(),
                status: STATUS_INSTALLED.into(),
                plan_id: Some(plan.plan_id.clone()),
                version,
                nodes: plan.nodes.clone(),
                code: None,
                error: None,
            }
        })
    }

    async fn undeploy(&self, scope: Scope<'_>, workflow_id: &str) -> DeployReport {
        self.report(scope, |target| {
            self.commands.lock().push(PlanCommand::Remove {
                target: target.to_owned(),
                workflow_id: workflow_id.to_owned(),
            });
            TargetReport {
                target: target.to_owned(),
                status: STATUS_REMOVED.into(),
                plan_id: None,
                version: 0,
                nodes: Vec::new(),
                code: None,
                error: None,
            }
        })
    }

    /// What each target runs after the commands recorded so far (a down target cannot say).
    async fn running(&self, scope: Scope<'_>) -> Vec<(String, Result<Vec<String>, String>)> {
        let down = self.down.lock().clone();
        let commands = self.commands.lock().clone();
        TARGETS
            .iter()
            .filter(|t| scope.includes(t))
            .map(|t| {
                if down.iter().any(|d| d == t) {
                    return (
                        t.to_string(),
                        Err("LF-QUIC-002: connecting: node is down".into()),
                    );
                }
                let mut running: Vec<String> = Vec::new();
                for command in &commands {
                    match command {
                        PlanCommand::Install {
                            target,
                            workflow_id,
                            ..
                        } if target == t && !running.contains(workflow_id) => {
                            running.push(workflow_id.clone());
                        }
                        PlanCommand::Remove {
                            target,
                            workflow_id,
                        } if target == t => {
                            running.retain(|id| id != workflow_id);
                        }
                        _ => {}
                    }
                }
                (t.to_string(), Ok(running))
            })
            .collect()
    }

    fn connected(&self) -> usize {
        TARGETS.len() - self.down.lock().len()
    }

    fn gate(&self) -> &tokio::sync::RwLock<()> {
        &self.gate
    }
}

/// A control plane on 127.0.0.1:0 with a [`RecordingDeployer`].
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub commands: Arc<Mutex<Vec<PlanCommand>>>,
    /// Targets of the recording deployer that fail every command.
    pub down: Arc<Mutex<Vec<String>>>,
    /// How long each deploy of the recording deployer takes, milliseconds.
    pub deploy_delay_ms: Arc<std::sync::atomic::AtomicU64>,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

pub const TEST_BODY_BYTES_MAX: usize = 64 * 1024;

impl TestServer {
    pub async fn start(store: Arc<dyn Store>) -> TestServer {
        let limits = TierLimits {
            anonymous: Some(10_000),
            authenticated: Some(10_000),
            ..TierLimits::default()
        };
        TestServer::start_with(store, limits).await
    }

    pub async fn start_with(store: Arc<dyn Store>, rate_limits: TierLimits) -> TestServer {
        let commands = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(Mutex::new(Vec::new()));
        let deploy_delay_ms = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let deployer = RecordingDeployer {
            commands: commands.clone(),
            down: down.clone(),
            deploy_delay_ms: deploy_delay_ms.clone(),
            gate: tokio::sync::RwLock::new(()),
        };
        let (router, state) = app(Parts {
            executions: StoreExecutions::shared(store.clone()),
            store,
            compiler: EngineCompiler::shared(),
            deployer: Arc::new(deployer),
            signer: TokenSigner::new(b"test-signing-secret"),
            key: EncryptionKey::from_bytes(&[9u8; 32]).unwrap(),
            rate_limits,
            body_bytes_max: TEST_BODY_BYTES_MAX,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::watch::channel(false);
        let tasks = vec![tokio::spawn(serve(listener, router, stopped(rx)))];
        TestServer {
            base,
            client: reqwest::Client::new(),
            state,
            commands,
            down,
            deploy_delay_ms,
            shutdown: Some(tx),
            tasks,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        for task in self.tasks.drain(..) {
            task.await.unwrap().unwrap();
        }
    }

    /// Sends a request with an optional bearer token; returns status and JSON body
    /// (`Value::Null` for an empty body).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, json)
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// Runs first-run setup and logs in; returns (access, refresh).
    pub async fn owner(&self) -> (String, String) {
        let creds = json!({"email": "owner@example.com", "password": "owner-password"});
        let (status, _) = self.post("/api/v1/auth/setup", None, &creds).await;
        assert_eq!(status, 201);
        self.login("owner@example.com", "owner-password").await
    }

    pub async fn login(&self, email: &str, password: &str) -> (String, String) {
        let creds = json!({"email": email, "password": password});
        let (status, body) = self.post("/api/v1/auth/login", None, &creds).await;
        assert_eq!(status, 200, "{body}");
        (
            body["accessToken"].as_str().unwrap().to_owned(),
            body["refreshToken"].as_str().unwrap().to_owned(),
        )
    }

    /// Creates a user with `role` (as the owner) and logs in as them.
    pub async fn user(&self, owner_token: &str, email: &str, role: &str) -> String {
        let body = json!({"email": email, "password": "member-password", "role": role});
        let (status, created) = self.post("/api/v1/users", Some(owner_token), &body).await;
        assert_eq!(status, 201, "{created}");
        self.login(email, "member-password").await.0
    }
}

/// The reference benchmark workflow shipped in ../shared.
pub fn webhook_bench() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/workflows/webhook-bench.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("shared reference workflow"))
        .unwrap()
}

/// A minimal valid workflow.
pub fn small_workflow(name: &str, tags: &[&str]) -> Value {
    json!({
        "name": name,
        "tags": tags,
        "nodes": [
            {"name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
             "parameters": {"path": name, "httpMethod": "POST"}},
            {"name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {}}
        ],
        "connections": {"Webhook": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}}
    })
}
