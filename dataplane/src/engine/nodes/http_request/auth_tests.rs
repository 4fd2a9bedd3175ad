//! Credentials applied by the HTTP Request node, through the pagination tests' harness
//! (a scripted performer, real services with a credential map).

use serde_json::{json, Value as Json};

use super::auth::{CODE_AUTH, CODE_CREDENTIAL_FIELD, CODE_CREDENTIAL_MISSING};
use super::pagination_tests::{json_page, run_full, Paged};
use crate::engine::credentials::CredentialMap;

const SECRET: &str = "s3cret-value";

fn credentials() -> CredentialMap {
    CredentialMap::parse(&json!({
        "1": {"type": "httpHeaderAuth", "name": "Header key", "data": {"name": "X-Api-Key", "value": SECRET}},
        "2": {"type": "httpQueryAuth", "name": "Query key", "data": {"name": "api_key", "value": SECRET}},
        "3": {"type": "httpBasicAuth", "name": "Basic", "data": {"user": "ann", "password": SECRET}},
        "4": {"type": "httpBearerAuth", "name": "Bearer", "data": {"token": SECRET}},
        "5": {"type": "httpHeaderAuth", "name": "No name", "data": {"value": SECRET}}
    }))
    .expect("credentials")
}

/// Node N with `authentication` / `genericAuthType` and a `credentials` field.
fn call(version: f64, auth: Json, reference: Json, map: Option<CredentialMap>) -> Paged {
    let mut params = json!({"method": "GET", "url": "https://api.test/me", "sendHeaders": true,
        "headerParameters": {"parameters": [{"name": "x-api-key", "value": "replaced"}]},
        "options": {}});
    if version < 3.0 {
        params = json!({"requestMethod": "GET", "url": "https://api.test/me", "options": {}});
    }
    for (k, v) in auth.as_object().expect("object") {
        params[k] = v.clone();
    }
    run_full(
        version,
        params,
        json!({"credentials": reference}),
        json!([{}]),
        map,
        |_, _| json_page(json!({"ok": true})),
    )
}

fn header(paged: &Paged, name: &str) -> Option<String> {
    paged.seen[0]
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

fn generic(kind: &str) -> Json {
    json!({"authentication": "genericCredentialType", "genericAuthType": kind})
}

#[test]
fn header_auth_replaces_a_header_of_the_same_name() {
    let paged = call(
        4.2,
        generic("httpHeaderAuth"),
        json!({"httpHeaderAuth": {"id": "1", "name": "Header key"}}),
        Some(credentials()),
    );
    assert_eq!(header(&paged, "x-api-key").as_deref(), Some(SECRET));
    assert_eq!(paged.result.expect("ok"), [json!({"ok": true})]);
    let count = paged.seen[0]
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("x-api-key"))
        .count();
    assert_eq!(count, 1);
}

#[test]
fn query_auth_adds_the_parameter_and_masks_it_in_the_shown_url() {
    let paged = call(
        4.2,
        generic("httpQueryAuth"),
        json!({"httpQueryAuth": {"id": "2", "name": "Query key"}}),
        Some(credentials()),
    );
    assert!(paged.result.is_ok());
    assert_eq!(
        paged.seen[0].url,
        format!("https://api.test/me?api_key={SECRET}")
    );
    assert_eq!(paged.seen[0].shown_url, "https://api.test/me?api_key=***");
}

#[test]
fn basic_and_bearer_auth_set_authorization() {
    let paged = call(
        4.2,
        generic("httpBasicAuth"),
        // Found by name when the id is unknown here.
        json!({"httpBasicAuth": {"id": "elsewhere", "name": "Basic"}}),
        Some(credentials()),
    );
    // base64("ann:s3cret-value")
    assert_eq!(
        header(&paged, "authorization").as_deref(),
        Some("Basic YW5uOnMzY3JldC12YWx1ZQ==")
    );
    let paged = call(
        4.2,
        generic("httpBearerAuth"),
        json!({"httpBearerAuth": {"id": "4", "name": "Bearer"}}),
        Some(credentials()),
    );
    assert_eq!(
        header(&paged, "authorization"),
        Some(format!("Bearer {SECRET}"))
    );
}

#[test]
fn legacy_versions_map_their_authentication_names() {
    let paged = call(
        1.0,
        json!({"authentication": "headerAuth"}),
        json!({"httpHeaderAuth": {"id": "1", "name": "Header key"}}),
        Some(credentials()),
    );
    assert_eq!(header(&paged, "x-api-key").as_deref(), Some(SECRET));
}

fn error(paged: Paged) -> (String, String) {
    assert!(
        paged.seen.is_empty(),
        "no request may leave without its credential"
    );
    paged.result.expect_err("fails")
}

#[test]
fn missing_credentials_are_clear_errors_without_secrets() {
    // The node names no credential of the type.
    let (code, message) = error(call(
        4.2,
        generic("httpHeaderAuth"),
        json!({}),
        Some(credentials()),
    ));
    assert_eq!(code, CODE_CREDENTIAL_MISSING);
    assert_eq!(
        message,
        "Node \"N\" does not have any credentials set for \"httpHeaderAuth\""
    );
    // The runtime does not have it (no --credentials at all, or not in the file).
    let reference = json!({"httpHeaderAuth": {"id": "1", "name": "Header key"}});
    let (code, message) = error(call(
        4.2,
        generic("httpHeaderAuth"),
        reference.clone(),
        None,
    ));
    assert_eq!(code, CODE_CREDENTIAL_MISSING);
    assert!(message.contains("\"Header key\""), "{message}");
    let other = json!({"httpHeaderAuth": {"id": "9", "name": "Unknown"}});
    let (code, _) = error(call(
        4.2,
        generic("httpHeaderAuth"),
        other,
        Some(credentials()),
    ));
    assert_eq!(code, CODE_CREDENTIAL_MISSING);
    // A field is missing.
    let no_name = json!({"httpHeaderAuth": {"id": "5", "name": "No name"}});
    let (code, message) = error(call(
        4.2,
        generic("httpHeaderAuth"),
        no_name,
        Some(credentials()),
    ));
    assert_eq!(code, CODE_CREDENTIAL_FIELD);
    assert_eq!(
        message,
        "Credential \"No name\" of type \"httpHeaderAuth\" has no \"name\""
    );
    assert!(!message.contains(SECRET));
}

#[test]
fn unsupported_authentication_is_refused_not_skipped() {
    for auth in [
        json!({"authentication": "predefinedCredentialType", "nodeCredentialType": "githubApi"}),
        generic("oAuth2Api"),
        generic("httpDigestAuth"),
        json!({"authentication": "genericCredentialType"}),
        json!({"authentication": "somethingElse"}),
    ] {
        let (code, message) = error(call(4.2, auth, json!({}), Some(credentials())));
        assert_eq!(code, CODE_AUTH, "{message}");
    }
    let (code, _) = error(call(
        2.0,
        json!({"authentication": "oAuth2"}),
        json!({}),
        Some(credentials()),
    ));
    assert_eq!(code, CODE_AUTH);
}
