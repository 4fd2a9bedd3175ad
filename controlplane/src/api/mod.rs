//! The REST API `/api/v1` (axum): routes, shared state and cross-cutting layers.
//!
//! Layers, outermost first: metrics -> body-size limit -> (per route group) authentication
//! -> rate limit -> handler. Health and metrics routes need no credentials; every other route,
//! unknown paths included, answers 401 JSON without them.

mod auth_routes;
mod credentials;
pub mod error;
pub mod extract;
mod metrics;
mod openapi;
mod records;
pub mod workflow_doc;
mod workflows;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;

use crate::auth::identity::{authenticate, Identity};
use crate::auth::TokenSigner;
use crate::credentials::EncryptionKey;
use crate::deploy::{Compiler, Deployer, ExecutionSource};
use crate::ratelimit::RateLimiter;
use crate::storage::{now_ms, Store};
use error::{code, ApiError};
pub use metrics::Metrics;

/// Largest request body by default, in bytes (workflows with pinned data can be large).
pub const BODY_BYTES_MAX_DEFAULT: usize = 16 * 1024 * 1024;

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Persistent state.
    pub store: Arc<dyn Store>,
    /// Access-token signer.
    pub signer: TokenSigner,
    /// Credential encryption key.
    pub key: EncryptionKey,
    /// Workflow compiler and node catalogue.
    pub compiler: Arc<dyn Compiler>,
    /// Plan delivery to data planes.
    pub deployer: Arc<dyn Deployer>,
    /// Execution queries (the data planes' journals).
    pub executions: Arc<dyn ExecutionSource>,
    /// Request budgets.
    pub limiter: Arc<RateLimiter>,
    /// Request counters for `/metrics`.
    pub metrics: Arc<Metrics>,
}

/// Builds the whole HTTP application.
pub fn router(state: AppState, body_bytes_max: usize) -> Router {
    let public = Router::new()
        .route("/api/v1/auth/setup", post(auth_routes::setup))
        .route("/api/v1/auth/login", post(auth_routes::login))
        .route("/api/v1/auth/refresh", post(auth_routes::refresh))
        .route_layer(from_fn_with_state(state.clone(), limit_anonymous));

    let protected = Router::new()
        .route("/api/v1/auth/me", get(auth_routes::me))
        .route(
            "/api/v1/api-keys",
            post(auth_routes::create_api_key).get(auth_routes::list_api_keys),
        )
        .route("/api/v1/api-keys/{id}", delete(auth_routes::delete_api_key))
        .route(
            "/api/v1/users",
            post(auth_routes::create_user).get(auth_routes::list_users),
        )
        .route(
            "/api/v1/workflows",
            post(workflows::create).get(workflows::list),
        )
        .route("/api/v1/workflows/import", post(workflows::import))
        .route(
            "/api/v1/workflows/{id}",
            get(workflows::get_one)
                .put(workflows::update)
                .delete(workflows::remove),
        )
        .route("/api/v1/workflows/{id}/versions", get(workflows::versions))
        .route(
            "/api/v1/workflows/{id}/versions/{version}",
            get(workflows::version),
        )
        .route("/api/v1/workflows/{id}/export", get(workflows::export))
        .route("/api/v1/workflows/{id}/activate", post(workflows::activate))
        .route(
            "/api/v1/workflows/{id}/deactivate",
            post(workflows::deactivate),
        )
        .route(
            "/api/v1/workflows/{id}/activations",
            get(workflows::activations),
        )
        .route(
            "/api/v1/credentials",
            post(credentials::create).get(credentials::list),
        )
        .route(
            "/api/v1/credentials/{id}",
            get(credentials::get_one)
                .put(credentials::update)
                .delete(credentials::remove),
        )
        .route("/api/v1/nodes", get(records::nodes))
        .route("/api/v1/executions", get(records::executions))
        .route("/api/v1/executions/{id}", get(records::execution))
        .route("/api/v1/audit", get(records::audit))
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), limit_identity))
        .layer(from_fn_with_state(state.clone(), authenticate));

    let open = Router::new()
        .route("/health/live", get(records::live))
        .route("/health/ready", get(records::ready))
        .route("/metrics", get(metrics::render))
        .route("/api/v1/openapi.json", get(openapi::document));

    open.merge(public)
        .merge(protected)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        code::METHOD_NOT_ALLOWED,
        "method not allowed on this route",
    )
}

fn rate_limited(retry_after_s: u64) -> Response {
    let mut err = ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        code::RATE_LIMITED,
        "rate limit exceeded for this identity",
    );
    err.retry_after_s = Some(retry_after_s);
    err.into_response()
}

/// Anonymous routes are budgeted per client address.
async fn limit_anonymous(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let addr = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let key = format!("ip:{}", addr.map(|a| a.to_string()).unwrap_or_default());
    match state.limiter.check(&key, "anonymous", now_ms()) {
        Ok(()) => next.run(req).await,
        Err(retry) => rate_limited(retry),
    }
}

/// Authenticated routes are budgeted per user, by the user's tier.
async fn limit_identity(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(identity) = req.extensions().get::<Identity>() else {
        // authenticate runs first and always inserts an identity; without one, refuse.
        return ApiError::unauthorized("authentication required").into_response();
    };
    let key = format!("user:{}", identity.user.id);
    match state.limiter.check(&key, &identity.user.tier, now_ms()) {
        Ok(()) => next.run(req).await,
        Err(retry) => rate_limited(retry),
    }
}
