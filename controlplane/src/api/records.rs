//! Executions, audit log, node catalogue and health.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{code, ApiError, ApiResult};
use super::extract::{ApiQuery, PageParams};
use super::AppState;
use crate::deploy::{ExecutionQuery as SourceQuery, SourceError};
use crate::storage::CURSOR_BYTES_MAX;

/// Filters and paging of the execution list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionQuery {
    /// Workflow id.
    pub workflow_id: Option<String>,
    /// `running`, `success` or `error`.
    #[param(pattern = "^(running|success|error)$")]
    pub status: Option<String>,
    /// Rows per page, 1..=200 (default 50). Read as text, so a bad value gets the API's
    /// own error; the schema states what is accepted.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Cursor from `nextCursor`.
    #[param(max_length = 256, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// Executions recorded by the data planes' journals.
#[utoipa::path(get, path = "/api/v1/executions", tag = "executions", params(ExecutionQuery),
    responses((status = 200), (status = 400), (status = 401), (status = 503)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn executions(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ExecutionQuery>,
) -> ApiResult<Json<Value>> {
    let limit = PageParams {
        limit: q.limit,
        cursor: None,
    }
    .parse()?
    .1;
    if let Some(status) = &q.status {
        if !EXECUTION_STATUSES.contains(&status.as_str()) {
            return Err(ApiError::validation("status", "unknown execution status"));
        }
    }
    if let Some(cursor) = &q.cursor {
        if cursor.is_empty() || cursor.len() > CURSOR_BYTES_MAX {
            return Err(ApiError::validation("cursor", "cursor is not valid"));
        }
    }
    let query = SourceQuery {
        workflow_id: q.workflow_id.filter(|w| !w.is_empty()),
        status: q.status,
        limit,
        cursor: q.cursor,
    };
    let page = state.executions.list(&query).await.map_err(source_error)?;
    Ok(Json(
        json!({ "data": page.data, "nextCursor": page.next_cursor }),
    ))
}

/// One execution, with its data when the workflow keeps it.
#[utoipa::path(get, path = "/api/v1/executions/{id}", tag = "executions",
    params(("id" = String, Path, description = "execution id")),
    responses((status = 200), (status = 401), (status = 404), (status = 503)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn execution(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    if id.len() > CURSOR_BYTES_MAX {
        return Err(ApiError::not_found("execution"));
    }
    match state.executions.get(&id).await.map_err(source_error)? {
        Some(e) => Ok(Json(e)),
        None => Err(ApiError::not_found("execution")),
    }
}

/// Execution statuses a list may filter on (n8n's names).
const EXECUTION_STATUSES: &[&str] = &["running", "success", "error", "waiting", "canceled"];

fn source_error(error: SourceError) -> ApiError {
    match error {
        SourceError::BadQuery(message) => ApiError::validation("cursor", message),
        SourceError::Unavailable(message) => {
            tracing::warn!(error = %message, "execution source unavailable");
            let mut err = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::UNAVAILABLE,
                "execution records are not reachable right now",
            );
            err.retry_after_s = Some(1);
            err
        }
    }
}

/// The audit log, oldest first (owner and admins only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(PageParams),
    responses((status = 200), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    axum::Extension(id): axum::Extension<crate::auth::identity::Identity>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    id.require_manager()?;
    let (cursor, limit) = page.parse()?;
    let page = state.store.list_audit(&cursor, limit).await?;
    Ok(Json(
        serde_json::to_value(page).map_err(ApiError::internal)?,
    ))
}

/// Node types and versions the engine supports.
#[utoipa::path(get, path = "/api/v1/nodes", tag = "nodes",
    responses((status = 200), (status = 401)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn nodes(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.compiler.catalog(), "nextCursor": null }))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200)))]
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: database reachable and at least one data plane connected.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses((status = 200), (status = 503)))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let database = state.store.ping().await.is_ok();
    let dataplanes = state.deployer.connected();
    if database && dataplanes > 0 {
        return Ok(Json(
            json!({ "status": "ready", "database": "ok", "dataplanes": dataplanes }),
        ));
    }
    let mut err = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        code::UNAVAILABLE,
        "not ready",
    )
    .with_details(
        json!({ "database": if database { "ok" } else { "unreachable" },
                              "dataplanes": dataplanes }),
    );
    err.retry_after_s = Some(1);
    Err(err)
}
