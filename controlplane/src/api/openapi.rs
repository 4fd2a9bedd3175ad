//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{auth_routes, credentials, records, workflows};

/// The API description served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "LinkFlow control plane", description = "Workflows, credentials, executions, users."),
    paths(
        auth_routes::setup, auth_routes::login, auth_routes::refresh, auth_routes::me,
        auth_routes::create_api_key, auth_routes::list_api_keys, auth_routes::delete_api_key,
        auth_routes::create_user, auth_routes::list_users,
        workflows::create, workflows::import, workflows::list, workflows::get_one,
        workflows::update, workflows::remove, workflows::versions, workflows::version,
        workflows::export, workflows::activate, workflows::deactivate, workflows::activations,
        credentials::create, credentials::list, credentials::get_one, credentials::update,
        credentials::remove,
        records::executions, records::execution, records::audit, records::nodes,
        records::live, records::ready,
    ),
    components(schemas(
        auth_routes::Credentials, auth_routes::NewUserRequest, auth_routes::RefreshRequest,
        auth_routes::TokenPair, auth_routes::ApiKeyRequest, workflows::ImportRequest,
        credentials::CredentialRequest, crate::storage::Workflow, crate::storage::Role,
    )),
    modifiers(&Security),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
