//! `/api/v1/auth/*`, `/api/v1/api-keys`, `/api/v1/users`.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::{code, ApiError, ApiResult};
use super::extract::{ApiJson, ApiQuery, PageParams};
use super::AppState;
use crate::auth::identity::Identity;
use crate::auth::{
    hash_password, random_secret, secret_hash, verify_password, ACCESS_TTL_S, API_KEY_PREFIX,
    PASSWORD_BYTES_MAX, PASSWORD_CHARS_MIN, REFRESH_TTL_S,
};
use crate::storage::{
    now_ms, Actor, NewApiKey, NewRefreshToken, NewUser, RefreshOutcome, Role, StoreError, User,
};

/// Longest email accepted, in bytes (RFC 5321 path limit).
const EMAIL_BYTES_MAX: usize = 254;
/// Longest API key label, in bytes.
const KEY_NAME_BYTES_MAX: usize = 128;
/// Characters of an API key kept for listings.
const KEY_PREFIX_CHARS: usize = 10;
/// Tier given to new users.
const TIER_DEFAULT: &str = "authenticated";

/// Email and password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Email address.
    #[schema(max_length = 254, pattern = "^[^@\\s][^@]*@")]
    pub email: String,
    /// Password (at least 8 characters).
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
}

/// A new user created by an owner or admin.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// Email address.
    #[schema(max_length = 254, pattern = "^[^@\\s][^@]*@")]
    pub email: String,
    /// Password (at least 8 characters).
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    /// `admin` or `member`.
    pub role: Role,
    /// Rate-limit tier (`authenticated`, `premium`, `enterprise`).
    #[serde(default)]
    pub tier: Option<String>,
}

/// A refresh token to rotate.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from login or the previous refresh.
    pub refresh_token: String,
}

/// Access and refresh tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Single-use token for `/auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime, seconds.
    pub expires_in: i64,
}

/// A new API key label.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRequest {
    /// Label.
    #[schema(min_length = 1, max_length = 128, pattern = "\\S")]
    pub name: String,
}

fn user_json(user: &User) -> Value {
    json!({ "id": user.id, "email": user.email, "role": user.role, "tier": user.tier,
            "createdAt": user.created_at })
}

fn check_credentials(c: &Credentials) -> ApiResult<()> {
    let email = c.email.trim();
    if email.len() > EMAIL_BYTES_MAX || !email.contains('@') || email.starts_with('@') {
        return Err(ApiError::validation(
            "email",
            "email must look like name@domain",
        ));
    }
    if c.password.chars().count() < PASSWORD_CHARS_MIN || c.password.len() > PASSWORD_BYTES_MAX {
        return Err(ApiError::validation(
            "password",
            format!("password must have {PASSWORD_CHARS_MIN} to {PASSWORD_BYTES_MAX} characters"),
        ));
    }
    Ok(())
}

/// argon2 is CPU-bound for tens of milliseconds: keep it off the async workers.
async fn hash_blocking(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

async fn new_user(email: &str, password: String, role: Role, tier: &str) -> ApiResult<NewUser> {
    Ok(NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        email: email.trim().to_lowercase(),
        password_hash: hash_blocking(password).await?,
        role,
        tier: tier.to_owned(),
        created_at: now_ms(),
    })
}

async fn issue_pair(state: &AppState, user: &User, family: Option<String>) -> ApiResult<TokenPair> {
    let now = now_ms();
    let access_token = state
        .signer
        .issue(user, now / 1000)
        .map_err(ApiError::internal)?;
    let refresh_token = random_secret().map_err(ApiError::internal)?;
    if let Some(family_id) = family {
        state
            .store
            .insert_refresh(&NewRefreshToken {
                token_hash: secret_hash(&refresh_token),
                family_id,
                user_id: user.id.clone(),
                expires_at: now + REFRESH_TTL_S * 1000,
                created_at: now,
            })
            .await?;
    }
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_S,
    })
}

/// First-run owner setup; refused once an owner exists.
#[utoipa::path(post, path = "/api/v1/auth/setup", tag = "auth", request_body = Credentials,
    responses((status = 201, description = "owner created"), (status = 400), (status = 409)))]
pub async fn setup(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    check_credentials(&body)?;
    let user = new_user(&body.email, body.password, Role::Owner, TIER_DEFAULT).await?;
    let created = state.store.create_owner(&user).await?;
    Ok((StatusCode::CREATED, Json(user_json(&created))))
}

/// A PHC string to verify against when the email is unknown, so both paths cost the same.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default())
}

/// Exchanges email and password for tokens.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Credentials,
    responses((status = 200, body = TokenPair), (status = 401)))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Json<TokenPair>> {
    if body.password.len() > PASSWORD_BYTES_MAX {
        return Err(ApiError::validation("password", "password too long"));
    }
    let user = match state.store.user_by_email(body.email.trim()).await {
        Ok(user) => Some(user),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let phc = user
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let password = body.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .map_err(ApiError::internal)?;
    let user = match (user, ok) {
        (Some(user), true) => user,
        _ => return Err(ApiError::unauthorized("wrong email or password")),
    };
    let family = uuid::Uuid::new_v4().to_string();
    Ok(Json(issue_pair(&state, &user, Some(family)).await?))
}

/// Rotates a refresh token; a reused token revokes its family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    let next = random_secret().map_err(ApiError::internal)?;
    let now = now_ms();
    let outcome = state
        .store
        .rotate_refresh(
            &secret_hash(&body.refresh_token),
            &secret_hash(&next),
            now,
            now + REFRESH_TTL_S * 1000,
        )
        .await?;
    match outcome {
        RefreshOutcome::Rotated(user_id) => {
            let user = state.store.user_by_id(&user_id).await?;
            let mut pair = issue_pair(&state, &user, None).await?;
            pair.refresh_token = next;
            Ok(Json(pair))
        }
        RefreshOutcome::Reused => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::REFRESH_TOKEN_REUSED,
            "refresh token was already used; all sessions of this login are revoked",
        )),
        RefreshOutcome::Invalid => Err(ApiError::unauthorized("invalid or expired refresh token")),
    }
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200), (status = 401)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn me(Extension(id): Extension<Identity>) -> Json<Value> {
    Json(user_json(&id.user))
}

/// Creates an API key; the key is in this response only.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "auth", request_body = ApiKeyRequest,
    responses((status = 201), (status = 400), (status = 401)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn create_api_key(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiJson(body): ApiJson<ApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if body.name.trim().is_empty() || body.name.len() > KEY_NAME_BYTES_MAX {
        return Err(ApiError::validation(
            "name",
            "name must have 1 to 128 bytes",
        ));
    }
    let key = format!(
        "{API_KEY_PREFIX}{}",
        random_secret().map_err(ApiError::internal)?
    );
    let stored = state
        .store
        .insert_api_key(
            &NewApiKey {
                id: uuid::Uuid::new_v4().to_string(),
                user_id: id.user.id.clone(),
                name: body.name,
                key_hash: secret_hash(&key),
                prefix: key.chars().take(KEY_PREFIX_CHARS).collect(),
                created_at: now_ms(),
            },
            &id.actor(),
        )
        .await?;
    let mut out = serde_json::to_value(&stored).map_err(ApiError::internal)?;
    out["key"] = Value::String(key);
    Ok((StatusCode::CREATED, Json(out)))
}

/// The caller's API keys (never the keys).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "auth", responses((status = 200), (status = 401)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
) -> ApiResult<Json<Value>> {
    let keys = state.store.list_api_keys(&id.user.id).await?;
    Ok(Json(json!({ "data": keys, "nextCursor": null })))
}

/// Revokes one of the caller's API keys.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "auth",
    params(("id" = String, Path, description = "API key id")),
    responses((status = 204), (status = 401), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete_api_key(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Path(key_id): Path<String>,
) -> ApiResult<StatusCode> {
    match state
        .store
        .delete_api_key(&id.user.id, &key_id, &id.actor())
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(ApiError::not_found("API key")),
        Err(e) => Err(e.into()),
    }
}

/// Creates a user (owner or admin only; never another owner).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserRequest,
    responses((status = 201), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiJson(body): ApiJson<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    id.require_manager()?;
    if body.role == Role::Owner {
        return Err(ApiError::validation(
            "role",
            "there is one owner; use admin or member",
        ));
    }
    let tier = body.tier.as_deref().unwrap_or(TIER_DEFAULT);
    if !["authenticated", "premium", "enterprise"].contains(&tier) {
        return Err(ApiError::validation(
            "tier",
            "tier is authenticated, premium or enterprise",
        ));
    }
    if tier != TIER_DEFAULT && !id.is_owner() {
        return Err(ApiError::forbidden("only the owner assigns paid tiers"));
    }
    let creds = Credentials {
        email: body.email,
        password: body.password,
    };
    check_credentials(&creds)?;
    let user = new_user(&creds.email, creds.password, body.role, tier).await?;
    let created = state
        .store
        .create_user(&user, &Actor::user(&id.user.id))
        .await?;
    Ok((StatusCode::CREATED, Json(user_json(&created))))
}

/// Lists users (owner or admin only).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageParams),
    responses((status = 200), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    id.require_manager()?;
    let (cursor, limit) = page.parse()?;
    let users = state
        .store
        .list_users(&cursor, limit)
        .await?
        .map(|u| user_json(&u));
    Ok(Json(
        serde_json::to_value(users).map_err(ApiError::internal)?,
    ))
}
