//! `/api/v1/workflows`: n8n JSON in, versions kept, compile and deploy on activation.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{code, ApiError, ApiResult};
use super::extract::{ApiBytes, ApiJson, ApiQuery, PageParams};
use super::workflow_doc::{self, WorkflowDoc};
use super::AppState;
use crate::auth::identity::Identity;
use crate::deploy::credentials::{self, CredentialError};
use crate::deploy::restore::{activated_version, compile_version, ACTIVATED};
use crate::deploy::{DeployReport, Scope, TargetReport, STATUS_FAILED};
use crate::storage::{
    now_ms, Activation, NewWorkflow, StoreError, Workflow, WorkflowFilter, WorkflowVersion,
};

/// Workflows accepted by one bulk import.
pub const IMPORT_WORKFLOWS_MAX: usize = 100;

/// Filters and paging of the workflow list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    /// Exact tag.
    pub tag: Option<String>,
    /// `true` or `false`.
    #[param(value_type = Option<bool>)]
    pub active: Option<String>,
    /// Rows per page, 1..=200 (default 50). Read as text, so a bad value gets the API's
    /// own error; the schema states what is accepted.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Cursor from `nextCursor`.
    #[param(max_length = 256, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// Bulk import: workflows as exported by n8n.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// n8n workflow documents.
    #[schema(value_type = Vec<Object>)]
    pub workflows: Vec<Value>,
}

fn workflow_json(wf: &Workflow) -> Value {
    serde_json::to_value(wf).unwrap_or(Value::Null)
}

fn version_json(v: &WorkflowVersion, with_body: bool) -> Value {
    let mut out = json!({ "workflowId": v.workflow_id, "version": v.version,
                          "createdBy": v.created_by, "createdAt": v.created_at });
    if with_body {
        out["workflow"] = serde_json::from_str(&v.body).unwrap_or(Value::Null);
    }
    out
}

fn new_workflow(doc: WorkflowDoc, owner_id: &str) -> NewWorkflow {
    NewWorkflow {
        id: uuid::Uuid::new_v4().to_string(),
        owner_id: owner_id.to_owned(),
        name: doc.name,
        tags: doc.tags,
        body: doc.body,
        now: now_ms(),
    }
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("workflow"),
        other => other.into(),
    }
}

/// Creates a workflow from n8n JSON (stored as given, version 1).
#[utoipa::path(post, path = "/api/v1/workflows", tag = "workflows",
    request_body(content = Object, description = "n8n workflow JSON"),
    responses((status = 201, body = Workflow), (status = 400), (status = 401), (status = 413)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let doc = workflow_doc::parse(&body, &state.compiler.catalog())?;
    let created = state
        .store
        .create_workflow(&new_workflow(doc, &id.user.id), &id.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(workflow_json(&created))))
}

/// Imports several workflows at once: all are stored or none.
#[utoipa::path(post, path = "/api/v1/workflows/import", tag = "workflows", request_body = ImportRequest,
    responses((status = 201), (status = 400), (status = 401), (status = 413)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn import(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiJson(body): ApiJson<ImportRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if body.workflows.is_empty() || body.workflows.len() > IMPORT_WORKFLOWS_MAX {
        return Err(ApiError::validation(
            "workflows",
            format!("import 1 to {IMPORT_WORKFLOWS_MAX} workflows at once"),
        ));
    }
    let catalog = state.compiler.catalog();
    let mut docs = Vec::with_capacity(body.workflows.len());
    for (index, value) in body.workflows.iter().enumerate() {
        let doc = workflow_doc::from_value(value, &catalog).map_err(|mut e| {
            e.details =
                Box::new(json!({ "index": index, "error": e.details, "message": e.message }));
            e
        })?;
        docs.push(new_workflow(doc, &id.user.id));
    }
    let created = state.store.create_workflows(&docs, &id.actor()).await?;
    let data: Vec<Value> = created.iter().map(workflow_json).collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "data": data, "nextCursor": null })),
    ))
}

/// Lists workflows, filtered by name, tag and active flag.
#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows", params(ListQuery),
    responses((status = 200), (status = 400), (status = 401)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let (cursor, limit) = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    }
    .parse()?;
    let active = match q.active.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::validation("active", "active is true or false")),
    };
    let filter = WorkflowFilter {
        name: q.name,
        tag: q.tag,
        active,
    };
    let page = state.store.list_workflows(&filter, &cursor, limit).await?;
    Ok(Json(
        serde_json::to_value(page).map_err(ApiError::internal)?,
    ))
}

/// One workflow with its current version's JSON.
#[utoipa::path(get, path = "/api/v1/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, description = "workflow id")),
    responses((status = 200), (status = 401), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(wf_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (wf, version) = state.store.workflow(&wf_id).await.map_err(not_found)?;
    let mut out = workflow_json(&wf);
    out["workflow"] = serde_json::from_str(&version.body).unwrap_or(Value::Null);
    Ok(Json(out))
}

/// Saves a new version (n8n JSON); older versions stay readable.
#[utoipa::path(put, path = "/api/v1/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, description = "workflow id")),
    request_body(content = Object, description = "n8n workflow JSON"),
    responses((status = 200, body = Workflow), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(wf_id): Path<String>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Json<Value>> {
    let (wf, _) = state.store.workflow(&wf_id).await.map_err(not_found)?;
    id.require_change(&wf.owner_id)?;
    let doc = workflow_doc::parse(&body, &state.compiler.catalog())?;
    let mut next = new_workflow(doc, &wf.owner_id);
    next.id = wf_id.clone();
    let updated = state
        .store
        .update_workflow(&wf_id, &next, &id.actor())
        .await
        .map_err(not_found)?;
    Ok(Json(workflow_json(&updated)))
}

/// Deletes a workflow (undeploying it first when active).
#[utoipa::path(delete, path = "/api/v1/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, description = "workflow id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(wf_id): Path<String>,
) -> ApiResult<StatusCode> {
    let (wf, _) = state.store.workflow(&wf_id).await.map_err(not_found)?;
    id.require_change(&wf.owner_id)?;
    let _gate = state.deployer.gate().read().await;
    if wf.active {
        let report = state.deployer.undeploy(Scope::All, &wf_id).await;
        if !report.all_ok() {
            return Err(deploy_failed(report));
        }
    }
    state
        .store
        .delete_workflow(&wf_id, &id.actor())
        .await
        .map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The workflow's versions, oldest first.
#[utoipa::path(get, path = "/api/v1/workflows/{id}/versions", tag = "workflows",
    params(("id" = String, Path, description = "workflow id"), PageParams),
    responses((status = 200), (status = 400), (status = 401), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn versions(
    State(state): State<AppState>,
    Path(wf_id): Path<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let (cursor, limit) = page.parse()?;
    let page = state
        .store
        .list_versions(&wf_id, &cursor, limit)
        .await
        .map_err(not_found)?;
    Ok(Json(
        serde_json::to_value(page.map(|v| version_json(&v, false))).map_err(ApiError::internal)?,
    ))
}

/// One version with its JSON.
#[utoipa::path(get, path = "/api/v1/workflows/{id}/versions/{version}", tag = "workflows",
    params(("id" = String, Path, description = "workflow id"), ("version" = i64, Path, description = "version")),
    responses((status = 200), (status = 400), (status = 401), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn version(
    State(state): State<AppState>,
    Path((wf_id, version)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let version: i64 = version
        .parse()
        .map_err(|_| ApiError::validation("version", "version is a positive integer"))?;
    let v = state
        .store
        .version(&wf_id, version)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("workflow version"),
            other => other.into(),
        })?;
    Ok(Json(version_json(&v, true)))
}

/// The current version's n8n JSON, exactly as saved.
#[utoipa::path(get, path = "/api/v1/workflows/{id}/export", tag = "workflows",
    params(("id" = String, Path, description = "workflow id")),
    responses((status = 200, description = "n8n workflow JSON"), (status = 401), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn export(
    State(state): State<AppState>,
    Path(wf_id): Path<String>,
) -> ApiResult<Response> {
    let (_, version) = state.store.workflow(&wf_id).await.map_err(not_found)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], version.body).into_response())
}

fn deploy_failed(report: DeployReport) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        code::DEPLOY_FAILED,
        "a data plane refused the change",
    )
    .with_details(json!({ "targets": report.targets }))
}

/// The activation error: which nodes failed and why, what was rolled back, and what the
/// workflow still runs.
fn activation_failed(
    wf: &Workflow,
    version: i64,
    report: &DeployReport,
    rollback: &DeployReport,
) -> ApiError {
    let failures: Vec<String> = report
        .failed()
        .map(|t| {
            format!(
                "{}: {}",
                t.target,
                t.error.as_deref().unwrap_or("failed without a reason")
            )
        })
        .collect();
    let still = if wf.active {
        "the previously activated version stays active"
    } else {
        "the workflow stays inactive"
    };
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        code::DEPLOY_FAILED,
        format!(
            "workflow {} version {version} was not activated: {} of {} data planes failed ({}); \
             {} that installed it rolled back, {still}",
            wf.id,
            failures.len(),
            report.targets.len(),
            failures.join("; "),
            rollback.targets.len(),
        ),
    )
    .with_details(json!({ "active": wf.active, "targets": report.targets,
                          "rollback": rollback.targets }))
}

/// The API error of a plan whose credentials could not be resolved (nothing deployed).
/// The message names the credential, never a value.
fn credential_refused(wf_id: &str, error: CredentialError) -> ApiError {
    match error {
        CredentialError::Missing(why) => ApiError::new(
            StatusCode::BAD_REQUEST,
            credentials::CODE_CREDENTIAL_MISSING,
            format!("workflow {wf_id} was not activated: {why}"),
        ),
        CredentialError::Invalid(why) => ApiError::new(
            StatusCode::BAD_REQUEST,
            credentials::CODE_CREDENTIAL_INVALID,
            format!("workflow {wf_id} was not activated: {why}"),
        ),
        other => ApiError::internal(other),
    }
}

/// Undoes a partial activation on `targets` (the nodes that may have installed the new
/// plan): they
/// get the previously activated version back, or lose the workflow when it was not
/// active, so every node runs what the database records.
async fn roll_back(state: &AppState, wf: &Workflow, targets: &[String]) -> DeployReport {
    if targets.is_empty() {
        return DeployReport {
            targets: Vec::new(),
        };
    }
    if !wf.active {
        return state.deployer.undeploy(Scope::Only(targets), &wf.id).await;
    }
    let previous = match activated_version(state.store.as_ref(), wf).await {
        Ok(version) => compile_version(
            state.store.as_ref(),
            &state.compiler,
            &state.key,
            &wf.id,
            version,
        )
        .await
        .map(|plan| (version, plan))
        .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match previous {
        Ok((version, plan)) => {
            state
                .deployer
                .deploy(Scope::Only(targets), &wf.id, version, &plan)
                .await
        }
        Err(why) => DeployReport {
            targets: targets
                .iter()
                .map(|target| TargetReport {
                    target: target.clone(),
                    status: STATUS_FAILED.into(),
                    plan_id: None,
                    version: 0,
                    nodes: Vec::new(),
                    code: Some(code::DEPLOY_FAILED.into()),
                    error: Some(format!("rolling back: {why}")),
                })
                .collect(),
        },
    }
}

/// Compiles the current version and deploys it to every data plane, all or nothing: when
/// a data plane fails, the nodes that installed it are rolled back, the activation is
/// recorded as failed and the workflow keeps its previous state.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/activate", tag = "workflows",
    params(("id" = String, Path, description = "workflow id")),
    responses((status = 200, description = "which nodes run which version"),
              (status = 400, description = "WORKFLOW_INVALID, CREDENTIAL_MISSING or CREDENTIAL_INVALID: nothing was deployed"),
              (status = 401), (status = 403), (status = 404),
              (status = 502, description = "DEPLOY_FAILED: a data plane failed; nothing was activated")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn activate(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(wf_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (wf, version) = state.store.workflow(&wf_id).await.map_err(not_found)?;
    id.require_change(&wf.owner_id)?;
    let compiler = state.compiler.clone();
    let (body, plan_version) = (version.body.clone(), version.version);
    let target = wf_id.clone();
    // Compilation is CPU work proportional to the workflow; keep it off the async workers.
    let compiled = tokio::task::spawn_blocking(move || {
        compiler.compile(&body, &target, u64::try_from(plan_version).unwrap_or(0))
    })
    .await
    .map_err(ApiError::internal)?;
    let mut plan = compiled.map_err(|issues| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            code::WORKFLOW_INVALID,
            "workflow does not compile",
        )
        .with_details(json!({ "issues": issues }))
    })?;
    // Every credential the nodes refer to must exist before anything is deployed; they
    // travel decrypted with the plan, inside the mTLS channel only.
    credentials::resolve(state.store.as_ref(), &state.key, &mut plan)
        .await
        .map_err(|e| credential_refused(&wf_id, e))?;
    let _gate = state.deployer.gate().read().await;
    let report = state
        .deployer
        .deploy(Scope::All, &wf_id, version.version, &plan)
        .await;
    let ok = report.all_ok();
    let rollback = if ok {
        DeployReport {
            targets: Vec::new(),
        }
    } else {
        roll_back(&state, &wf, &report.maybe_applied()).await
    };
    let mut recorded = serde_json::to_value(&report).map_err(ApiError::internal)?;
    if !ok {
        recorded["rollback"] =
            serde_json::to_value(&rollback.targets).map_err(ApiError::internal)?;
    }
    let activation = Activation {
        id: uuid::Uuid::new_v4().to_string(),
        workflow_id: wf_id.clone(),
        version: version.version,
        plan_id: plan.plan_id.clone(),
        status: if ok { ACTIVATED } else { "failed" }.into(),
        report: recorded.to_string(),
        created_at: now_ms(),
    };
    // A failed deploy leaves the previous active state as it was.
    state
        .store
        .record_activation(&activation, ok || wf.active, &id.actor())
        .await?;
    if !ok {
        tracing::warn!(workflow = %wf_id, version = version.version,
            failed = report.failed().count(), rolled_back = rollback.targets.len(),
            "activation failed on a data plane; rolled back");
        return Err(activation_failed(&wf, version.version, &report, &rollback));
    }
    Ok(Json(
        json!({ "workflowId": wf_id, "active": true, "version": version.version,
                    "planId": plan.plan_id, "targets": report.targets }),
    ))
}

/// Removes the workflow from every data plane.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/deactivate", tag = "workflows",
    params(("id" = String, Path, description = "workflow id")),
    responses((status = 200), (status = 401), (status = 403), (status = 404), (status = 502)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn deactivate(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(wf_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (wf, version) = state.store.workflow(&wf_id).await.map_err(not_found)?;
    id.require_change(&wf.owner_id)?;
    let _gate = state.deployer.gate().read().await;
    let report = state.deployer.undeploy(Scope::All, &wf_id).await;
    let ok = report.all_ok();
    let activation = Activation {
        id: uuid::Uuid::new_v4().to_string(),
        workflow_id: wf_id.clone(),
        version: version.version,
        plan_id: String::new(),
        status: if ok { "deactivated" } else { "failed" }.into(),
        report: serde_json::to_string(&report).map_err(ApiError::internal)?,
        created_at: now_ms(),
    };
    state
        .store
        .record_activation(&activation, !ok && wf.active, &id.actor())
        .await?;
    if !ok {
        return Err(deploy_failed(report));
    }
    Ok(Json(
        json!({ "workflowId": wf_id, "active": false, "targets": report.targets }),
    ))
}

/// The workflow's activation history.
#[utoipa::path(get, path = "/api/v1/workflows/{id}/activations", tag = "workflows",
    params(("id" = String, Path, description = "workflow id")),
    responses((status = 200), (status = 401), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn activations(
    State(state): State<AppState>,
    Path(wf_id): Path<String>,
) -> ApiResult<Json<Value>> {
    state.store.workflow(&wf_id).await.map_err(not_found)?;
    let list = state.store.list_activations(&wf_id).await?;
    let data: Vec<Value> = list
        .iter()
        .map(|a| {
            json!({ "id": a.id, "version": a.version, "planId": a.plan_id, "status": a.status,
                    "report": serde_json::from_str::<Value>(&a.report).unwrap_or(Value::Null),
                    "createdAt": a.created_at })
        })
        .collect();
    Ok(Json(json!({ "data": data, "nextCursor": null })))
}
