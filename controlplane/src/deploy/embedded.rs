//! The data plane embedded in `linkflow serve`: installed plans answer webhooks on the
//! webhook address, and each execution is reported to the control plane's store.
//!
//! This host runs the engine (`linkflow_dataplane::engine`) on tokio's blocking pool, one
//! execution per request. It is the simple in-process path for a single machine; the
//! per-core glommio shards of the data plane replace it behind the same [`PlanSink`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bumpalo::Bump;
use linkflow_codec::plan::ArchivedPlan;
use linkflow_dataplane::engine::execution::{Config, Outcome};
use linkflow_dataplane::engine::runner::{run_request, RunRequest};
use linkflow_dataplane::engine::services::EngineServices;
use linkflow_dataplane::engine::webhook::{find_webhook, WebhookEnv};
use parking_lot::RwLock;
use rkyv::util::AlignedVec;
use serde_json::json;

use super::{PlanCommand, PlanSink};
use crate::storage::{now_ms, Execution, Store};

/// Largest webhook request body, in bytes.
pub const WEBHOOK_BODY_BYTES_MAX: usize = 16 * 1024 * 1024;

struct Installed {
    workflow_id: String,
    version: i64,
    // rkyv reads plans in place and needs 16-byte alignment: keep the bytes aligned.
    bytes: AlignedVec<16>,
}

fn archived(bytes: &[u8]) -> Result<&ArchivedPlan, String> {
    rkyv::access::<ArchivedPlan, rkyv::rancor::Error>(bytes)
        .map_err(|e| format!("invalid plan: {e}"))
}

/// Plans installed in this process, and the webhook host that runs them.
pub struct EmbeddedDataPlane {
    plans: RwLock<HashMap<String, Arc<Installed>>>,
    store: Arc<dyn Store>,
    base_url: String,
}

impl EmbeddedDataPlane {
    /// A data plane reporting executions to `store`; `base_url` is the public webhook base.
    pub fn new(store: Arc<dyn Store>, base_url: String) -> Arc<EmbeddedDataPlane> {
        Arc::new(EmbeddedDataPlane {
            plans: RwLock::new(HashMap::new()),
            store,
            base_url,
        })
    }

    /// The sink the [`super::InProcessDeployer`] delivers to.
    pub fn sink(self: &Arc<Self>) -> PlanSink {
        let me = self.clone();
        Arc::new(move |command| me.apply(command))
    }

    fn apply(&self, command: PlanCommand) -> Result<(), String> {
        match command {
            PlanCommand::Install {
                workflow_id,
                version,
                plan,
            } => {
                let mut bytes = AlignedVec::<16>::with_capacity(plan.bytes.len());
                bytes.extend_from_slice(&plan.bytes);
                // Validate once at install (bytecheck); requests then access without checks
                // failing at run time.
                archived(&bytes)?;
                let installed = Installed {
                    workflow_id: workflow_id.clone(),
                    version,
                    bytes,
                };
                self.plans.write().insert(workflow_id, Arc::new(installed));
                Ok(())
            }
            PlanCommand::Remove { workflow_id } => {
                self.plans.write().remove(&workflow_id);
                Ok(())
            }
        }
    }

    fn route(&self, method: &str, path: &str) -> Option<Arc<Installed>> {
        let plans = self.plans.read();
        plans
            .values()
            .find(|p| {
                archived(&p.bytes).is_ok_and(|plan| find_webhook(plan, method, path).is_some())
            })
            .cloned()
    }

    /// The webhook listener's application.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new().fallback(handle).with_state(self.clone())
    }
}

fn no_route(method: &str, path: &str) -> Response {
    let body = json!({ "error": { "code": "WEBHOOK_NOT_FOUND",
        "message": format!("no active workflow answers {method} {path}"), "details": {} } });
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

async fn handle(State(dp): State<Arc<EmbeddedDataPlane>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let Some(installed) = dp.route(&method, &path) else {
        return no_route(&method, &path);
    };
    let Ok(bytes) = to_bytes(body, WEBHOOK_BODY_BYTES_MAX).await else {
        let body = json!({ "error": { "code": "PAYLOAD_TOO_LARGE",
            "message": "webhook body exceeds the size limit", "details": {} } });
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response();
    };
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), json!(v.to_str().ok()?))))
        .collect();
    let request = RunRequest {
        method: method.clone(),
        path: path.clone(),
        headers,
        query: json!(parts.uri.query().unwrap_or("")),
        body: None,
        raw_body: (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned()),
    };
    let execution_id = uuid::Uuid::new_v4().to_string();
    let started = now_ms();
    let (base_url, id) = (dp.base_url.clone(), execution_id.clone());
    let plan_holder = installed.clone();
    // The engine is synchronous CPU work: run it on the blocking pool.
    let run = tokio::task::spawn_blocking(move || {
        let plan = archived(&plan_holder.bytes).ok()?;
        let arena = Bump::new();
        let env = WebhookEnv {
            base_url: &base_url,
            config: Config::new("webhook", &id, started),
        };
        Some(run_request(
            &arena,
            plan,
            &request,
            EngineServices::fast_only(started),
            &env,
        ))
    })
    .await;
    let Ok(Some(run)) = run else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let status = match run.outcome {
        Outcome::Success => "success",
        Outcome::Failed(_) => "error",
    };
    let record = Execution {
        id: execution_id,
        workflow_id: installed.workflow_id.clone(),
        workflow_version: installed.version,
        status: status.into(),
        mode: "webhook".into(),
        started_at: started,
        finished_at: Some(now_ms()),
        data: None,
    };
    if let Err(e) = dp.store.upsert_execution(&record).await {
        tracing::error!(error = %e, execution = %record.id, "cannot record execution");
    }
    let mut response = Response::new(Body::from(run.response.body));
    *response.status_mut() = StatusCode::from_u16(run.response.status).unwrap_or(StatusCode::OK);
    for (name, value) in &run.response.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().append(n, v);
        }
    }
    response
}
