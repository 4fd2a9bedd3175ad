//! Who is calling: the middleware that turns `Authorization: Bearer` or `X-API-Key` into an
//! [`Identity`], refusing the request with 401 JSON otherwise.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::error::ApiError;
use crate::api::AppState;
use crate::storage::{Actor, Role, StoreError, User};

/// Header carrying an API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The authenticated caller, placed in request extensions by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Identity {
    /// The user, as currently stored (a deleted user loses access at once).
    pub user: User,
    /// Id of the API key used, when the request came with one.
    pub api_key_id: Option<String>,
}

impl Identity {
    /// The audit actor for changes made by this caller.
    pub fn actor(&self) -> Actor {
        Actor::user(&self.user.id)
    }

    /// Whether the caller may change or delete an object owned by `owner_id`.
    pub fn may_change(&self, owner_id: &str) -> bool {
        self.user.id == owner_id || self.user.role.manages_others()
    }

    /// Fails with 403 unless the caller may change an object owned by `owner_id`.
    pub fn require_change(&self, owner_id: &str) -> Result<(), ApiError> {
        if self.may_change(owner_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only the owner or an admin may change this",
            ))
        }
    }

    /// Fails with 403 unless the caller is an owner or admin.
    pub fn require_manager(&self) -> Result<(), ApiError> {
        if self.user.role.manages_others() {
            Ok(())
        } else {
            Err(ApiError::forbidden("requires the owner or admin role"))
        }
    }

    /// Whether the caller is the installation owner.
    pub fn is_owner(&self) -> bool {
        self.user.role == Role::Owner
    }
}

/// Middleware: resolves the caller or answers 401.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match identify(&state, req.headers()).await {
        Ok(identity) => {
            req.extensions_mut().insert(identity);
            next.run(req).await
        }
        Err(err) => err.into_response(),
    }
}

// Takes the headers, not the request: the body is not `Sync`, so holding `&Request` across
// an await would make the middleware future non-`Send`.
async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Identity, ApiError> {
    if let Some(key) = headers.get(API_KEY_HEADER) {
        let key = key
            .to_str()
            .map_err(|_| ApiError::unauthorized("invalid API key"))?;
        let hash = super::secret_hash(key);
        return match state.store.api_key_user(&hash).await {
            Ok((key, user)) => Ok(Identity {
                user,
                api_key_id: Some(key.id),
            }),
            Err(StoreError::NotFound) => Err(ApiError::unauthorized("invalid API key")),
            Err(e) => Err(e.into()),
        };
    }
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "authentication required: Authorization: Bearer <token> or X-API-Key",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
    let claims = state
        .signer
        .verify(token.trim())
        .map_err(|_| ApiError::unauthorized("invalid or expired access token"))?;
    match state.store.user_by_id(&claims.sub).await {
        Ok(user) => Ok(Identity {
            user,
            api_key_id: None,
        }),
        Err(StoreError::NotFound) => Err(ApiError::unauthorized("user no longer exists")),
        Err(e) => Err(e.into()),
    }
}
