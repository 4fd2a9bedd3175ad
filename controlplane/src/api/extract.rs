//! Request extractors whose rejections use the API error format.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::error::{code, ApiError};
use crate::storage::Cursor;

/// Rows per page when the client gives no `limit`.
pub const PAGE_LIMIT_DEFAULT: u32 = 50;
/// Largest `limit` accepted.
pub const PAGE_LIMIT_MAX: u32 = 200;

fn too_large(status: StatusCode) -> Option<ApiError> {
    (status == StatusCode::PAYLOAD_TOO_LARGE).then(|| {
        ApiError::new(
            status,
            code::PAYLOAD_TOO_LARGE,
            "request body exceeds the size limit",
        )
    })
}

/// A JSON body; malformed JSON is 400 `INVALID_JSON`, a wrong shape 400 `VALIDATION_ERROR`,
/// an oversize body 413 `PAYLOAD_TOO_LARGE`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    if let Some(err) = too_large(rejection.status()) {
        return err;
    }
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            code::VALIDATION_ERROR,
            "request body has the wrong shape",
        )
        .with_details(json!({ "reason": text })),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::INVALID_JSON,
            "expected Content-Type: application/json",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            code::INVALID_JSON,
            "request body is not valid JSON",
        )
        .with_details(json!({ "reason": text })),
    }
}

/// The raw body (for workflows, which are stored exactly as given).
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(|r: BytesRejection| {
                too_large(r.status()).unwrap_or_else(|| {
                    ApiError::new(
                        r.status(),
                        code::VALIDATION_ERROR,
                        "request body unreadable",
                    )
                })
            })
    }
}

/// Query parameters; a bad value is 400 `VALIDATION_ERROR`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|r: QueryRejection| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    code::VALIDATION_ERROR,
                    "invalid query",
                )
                .with_details(json!({ "reason": r.body_text() }))
            })
    }
}

/// `limit` and `cursor` as the client sent them (strings, so bad values get our error).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows per page, 1..=200 (default 50). Read as text, so a bad value gets the API's
    /// own error; the schema states what is accepted.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Opaque cursor from a previous page's `nextCursor`.
    #[param(max_length = 256, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

impl PageParams {
    /// Validates into a cursor and a limit.
    pub fn parse(&self) -> Result<(Cursor, u32), ApiError> {
        let limit = match &self.limit {
            None => PAGE_LIMIT_DEFAULT,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=PAGE_LIMIT_MAX).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(
                        "limit",
                        format!("limit must be an integer from 1 to {PAGE_LIMIT_MAX}"),
                    ))
                }
            },
        };
        let cursor = match &self.cursor {
            None => Cursor::START,
            Some(text) => Cursor::decode(text)
                .ok_or_else(|| ApiError::validation("cursor", "cursor is not valid"))?,
        };
        Ok((cursor, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(limit: Option<&str>, cursor: Option<&str>) -> PageParams {
        PageParams {
            limit: limit.map(Into::into),
            cursor: cursor.map(Into::into),
        }
    }

    #[test]
    fn limit_defaults_and_bounds() {
        assert_eq!(params(None, None).parse().unwrap().1, PAGE_LIMIT_DEFAULT);
        assert_eq!(params(Some("200"), None).parse().unwrap().1, 200);
        for bad in ["0", "201", "-1", "ten"] {
            let err = params(Some(bad), None).parse().unwrap_err();
            assert_eq!(err.code, code::VALIDATION_ERROR, "{bad}");
        }
    }

    #[test]
    fn forged_cursor_is_a_validation_error() {
        assert_eq!(
            params(None, Some("???")).parse().unwrap_err().code,
            code::VALIDATION_ERROR
        );
    }
}
