//! `/api/v1/credentials`: secrets go in, only their field names come out.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{code, ApiError, ApiResult};
use super::extract::{ApiJson, ApiQuery, PageParams};
use super::AppState;
use crate::auth::identity::Identity;
use crate::deploy::credential_users::{self, Redeploy};
use crate::storage::{now_ms, CredentialRow, StoreError};

/// Longest credential name or type, in bytes.
const LABEL_BYTES_MAX: usize = 256;

/// A credential's name, n8n type and secret fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// Display name.
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub name: String,
    /// n8n credential type, e.g. `httpHeaderAuth`.
    #[serde(rename = "type")]
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub kind: String,
    /// Secret fields (encrypted at rest, never returned).
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

fn check(req: &CredentialRequest) -> ApiResult<()> {
    for (field, value) in [("name", &req.name), ("type", &req.kind)] {
        if value.trim().is_empty() || value.len() > LABEL_BYTES_MAX {
            return Err(ApiError::validation(
                field,
                format!("{field} must have 1 to 256 bytes"),
            ));
        }
    }
    Ok(())
}

fn public_json(c: &CredentialRow) -> Value {
    json!({ "id": c.id, "name": c.name, "type": c.kind, "ownerId": c.owner_id,
            "fields": c.fields, "createdAt": c.created_at, "updatedAt": c.updated_at })
}

fn seal(state: &AppState, id: &str, data: &Map<String, Value>) -> ApiResult<(String, Vec<String>)> {
    let plain = serde_json::to_vec(data).map_err(ApiError::internal)?;
    let sealed = state.key.seal(id, &plain).map_err(ApiError::internal)?;
    let mut fields: Vec<String> = data.keys().cloned().collect();
    fields.sort();
    Ok((sealed, fields))
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("credential"),
        other => other.into(),
    }
}

/// Stores a credential, encrypted.
#[utoipa::path(post, path = "/api/v1/credentials", tag = "credentials", request_body = CredentialRequest,
    responses((status = 201), (status = 400), (status = 401)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiJson(req): ApiJson<CredentialRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    check(&req)?;
    let row_id = uuid::Uuid::new_v4().to_string();
    let (ciphertext, fields) = seal(&state, &row_id, &req.data)?;
    let now = now_ms();
    let row = CredentialRow {
        id: row_id,
        owner_id: id.user.id.clone(),
        name: req.name,
        kind: req.kind,
        ciphertext,
        fields,
        created_at: now,
        updated_at: now,
    };
    state.store.create_credential(&row, &id.actor()).await?;
    Ok((StatusCode::CREATED, Json(public_json(&row))))
}

/// Lists credentials (metadata only).
#[utoipa::path(get, path = "/api/v1/credentials", tag = "credentials", params(PageParams),
    responses((status = 200), (status = 400), (status = 401)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let (cursor, limit) = page.parse()?;
    let page = state
        .store
        .list_credentials(&cursor, limit)
        .await?
        .map(|c| public_json(&c));
    Ok(Json(
        serde_json::to_value(page).map_err(ApiError::internal)?,
    ))
}

/// One credential's metadata.
#[utoipa::path(get, path = "/api/v1/credentials/{id}", tag = "credentials",
    params(("id" = String, Path, description = "credential id")),
    responses((status = 200), (status = 401), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(cred_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let row = state.store.credential(&cred_id).await.map_err(not_found)?;
    Ok(Json(public_json(&row)))
}

/// Replaces a credential's name, type and secret, then deploys every active workflow that
/// uses it again (same version, new credential), so running webhooks take the new value
/// without a re-activation. The update is stored even when a redeploy fails (the answer
/// says which workflows and nodes failed; a node that was down gets the new value when the
/// control plane reaches it again, every other at the workflow's next activation).
#[utoipa::path(put, path = "/api/v1/credentials/{id}", tag = "credentials", request_body = CredentialRequest,
    params(("id" = String, Path, description = "credential id")),
    responses((status = 200, description = "the credential's metadata, `redeployed` (one entry per \
                active workflow using it, with each data plane's result) and `redeployOk`"),
              (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(cred_id): Path<String>,
    ApiJson(req): ApiJson<CredentialRequest>,
) -> ApiResult<Json<Value>> {
    check(&req)?;
    let mut row = state.store.credential(&cred_id).await.map_err(not_found)?;
    id.require_change(&row.owner_id)?;
    let (ciphertext, fields) = seal(&state, &cred_id, &req.data)?;
    row.name = req.name;
    row.kind = req.kind;
    row.ciphertext = ciphertext;
    row.fields = fields;
    row.updated_at = now_ms();
    // Exclusive while the value changes and its users are read: an activation in flight
    // (it resolved the old value) is recorded first, so it is among the users redeployed
    // below; one that starts later resolves the new value. Then shared while redeploying,
    // as an activation is, so no deactivation interleaves with a redeploy of its workflow.
    let gate = state.deployer.gate().write().await;
    state
        .store
        .update_credential(&row, &id.actor())
        .await
        .map_err(not_found)?;
    let users = credential_users::active_users(state.store.as_ref(), &cred_id).await?;
    let _gate = gate.downgrade();
    let redeployed: Vec<Redeploy> = credential_users::redeploy(
        state.store.as_ref(),
        &state.compiler,
        &state.key,
        state.deployer.as_ref(),
        &users,
    )
    .await;
    let ok = redeployed.iter().all(|r| r.ok);
    let mut out = public_json(&row);
    out["redeployed"] = serde_json::to_value(&redeployed).map_err(ApiError::internal)?;
    out["redeployOk"] = Value::Bool(ok);
    if !ok {
        let failed: Vec<&str> = redeployed
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.workflow_id.as_str())
            .collect();
        out["warning"] = Value::String(format!(
            "the credential is stored, but {} of {} active workflows using it did not get it \
             on every data plane ({}); those nodes keep the previous value until the workflow \
             is activated again or the node reconnects",
            failed.len(),
            redeployed.len(),
            failed.join(", ")
        ));
    }
    Ok(Json(out))
}

/// Deletes a credential. Refused with `CREDENTIAL_IN_USE` while an active workflow's
/// activated version refers to it (that workflow would fail on its next restore):
/// deactivate those workflows, or activate a version that uses another credential, first.
#[utoipa::path(delete, path = "/api/v1/credentials/{id}", tag = "credentials",
    params(("id" = String, Path, description = "credential id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404),
              (status = 409, description = "CREDENTIAL_IN_USE: active workflows refer to it; \
                `details.workflows` names them (id, name, version)")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(cred_id): Path<String>,
) -> ApiResult<StatusCode> {
    let row = state.store.credential(&cred_id).await.map_err(not_found)?;
    id.require_change(&row.owner_id)?;
    // Exclusive across the check and the delete: an activation in flight that uses the
    // credential is recorded first and refuses the delete; one that starts later finds the
    // credential gone (CREDENTIAL_MISSING). Never an active workflow without its credential.
    let _gate = state.deployer.gate().write().await;
    let users = credential_users::active_users(state.store.as_ref(), &cred_id).await?;
    if !users.is_empty() {
        let named: Vec<String> = users
            .iter()
            .map(|u| format!("{} ({})", u.name, u.id))
            .collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            code::CREDENTIAL_IN_USE,
            format!(
                "credential {cred_id} is used by {} active workflow(s): {}; deactivate them first",
                users.len(),
                named.join(", ")
            ),
        )
        .with_details(json!({ "workflows": users })));
    }
    state
        .store
        .delete_credential(&cred_id, &id.actor())
        .await
        .map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}
