//! The API's error value and its JSON form `{"error":{"code","message","details"}}`.
//!
//! Codes are stable (clients and tests match on them); messages are for people.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::storage::StoreError;

/// Stable error codes of the REST API.
pub mod code {
    /// Request body or parameters are invalid.
    pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
    /// Request body is not JSON.
    pub const INVALID_JSON: &str = "INVALID_JSON";
    /// Request body exceeds the configured limit.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    /// No (valid) credentials were presented.
    pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
    /// Credentials are valid but the role does not allow the action.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// The addressed object does not exist.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// The route exists but not with this method.
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// The change conflicts with current state (duplicate, concurrent save).
    pub const CONFLICT: &str = "CONFLICT";
    /// A credential cannot be deleted: active workflows refer to it.
    pub const CREDENTIAL_IN_USE: &str = "CREDENTIAL_IN_USE";
    /// First-run setup was already done.
    pub const SETUP_DONE: &str = "SETUP_ALREADY_DONE";
    /// A refresh token was presented twice; its family is revoked.
    pub const REFRESH_TOKEN_REUSED: &str = "REFRESH_TOKEN_REUSED";
    /// The workflow does not compile into a plan.
    pub const WORKFLOW_INVALID: &str = "WORKFLOW_INVALID";
    /// Too many requests for the caller's tier.
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// Deploying to a data plane failed.
    pub const DEPLOY_FAILED: &str = "DEPLOY_FAILED";
    /// A dependency (database) is unavailable.
    pub const UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    /// A bug or an unexpected failure; details are in the server log.
    pub const INTERNAL: &str = "INTERNAL_ERROR";
}

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code from [`code`].
    pub code: &'static str,
    /// One line for people.
    pub message: String,
    /// Structured facts (field names, limits, node names). Boxed to keep `Result<_, ApiError>`
    /// small on the happy path.
    pub details: Box<Value>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after_s: Option<u64>,
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with empty details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Box::new(json!({})),
            retry_after_s: None,
        }
    }

    /// Adds details.
    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Box::new(details);
        self
    }

    /// 400 VALIDATION_ERROR naming the offending field.
    pub fn validation(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code::VALIDATION_ERROR, message)
            .with_details(json!({ "field": field }))
    }

    /// 401 UNAUTHORIZED.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, message)
    }

    /// 403 FORBIDDEN.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, code::FORBIDDEN, message)
    }

    /// 404 NOT_FOUND for `what`.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            code::NOT_FOUND,
            format!("{what} not found"),
        )
    }

    /// 500 INTERNAL_ERROR; the cause is logged, not returned.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "internal error",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::not_found("object"),
            StoreError::Conflict(what) => ApiError::new(StatusCode::CONFLICT, code::CONFLICT, what),
            StoreError::OwnerExists => ApiError::new(
                StatusCode::CONFLICT,
                code::SETUP_DONE,
                "setup was already done: an owner exists",
            ),
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => {
                tracing::error!(error = %e, "database unavailable");
                let mut err = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::UNAVAILABLE,
                    "database unavailable",
                );
                err.retry_after_s = Some(1);
                err
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
