//! HTTP Request authentication with credentials (n8n's generic credential types).
//!
//! v3–v4.2: `authentication` = `genericCredentialType` with `genericAuthType`
//! `httpHeaderAuth` (header `name: value`), `httpQueryAuth` (query `name=value`),
//! `httpBasicAuth` (`Authorization: Basic base64(user:password)`) or `httpBearerAuth`
//! (`Authorization: Bearer token`); v1/v2: `headerAuth`, `queryAuth`, `basicAuth`. The
//! node's `credentials` field names the credential (id, name); the runtime's
//! [`CredentialSource`](crate::engine::credentials::CredentialSource) holds its data.
//! Other types (digest, custom, OAuth, every `predefinedCredentialType`) are refused with
//! [`CODE_AUTH`] rather than sent without authentication.
//!
//! Messages name the credential and the missing field, never a value; a query secret is
//! masked in the URL messages and logs show ([`RequestSpec::secret_query`]).

use base64::Engine as _;

use super::request::RequestSpec;
use crate::engine::credentials::Credential;
use crate::engine::node::{NodeCtx, NodeError};

/// Error code: an authentication the engine does not apply.
pub const CODE_AUTH: &str = "LF-NODE-HTTP-007";
/// Error code: the node names no credential of the type, or the runtime does not have it.
pub const CODE_CREDENTIAL_MISSING: &str = "LF-NODE-HTTP-012";
/// Error code: the credential lacks a field its type needs.
pub const CODE_CREDENTIAL_FIELD: &str = "LF-NODE-HTTP-013";

/// Generic credential types applied, with the fields each needs.
const SUPPORTED: &[(&str, &[&str])] = &[
    ("httpHeaderAuth", &["name", "value"]),
    ("httpQueryAuth", &["name", "value"]),
    ("httpBasicAuth", &["user"]),
    ("httpBearerAuth", &["token"]),
];

/// What authentication adds to a request.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// Nothing.
    None,
    /// A header (`name`, `value`).
    Header(String, String),
    /// A query parameter (`name`, `value`).
    Query(String, String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The value is a secret.
        match self {
            Auth::None => write!(f, "None"),
            Auth::Header(name, _) => write!(f, "Header({name:?}, ***)"),
            Auth::Query(name, _) => write!(f, "Query({name:?}, ***)"),
        }
    }
}

/// The credential type the node's parameters ask for (`None`: no authentication).
fn credential_type<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    item: usize,
) -> Result<Option<&'a str>, NodeError> {
    let authentication = ctx.param_str("authentication", item, "none")?;
    if ctx.version() >= 3.0 {
        return match authentication {
            "none" => Ok(None),
            "genericCredentialType" => match ctx.param_str("genericAuthType", item, "")? {
                "" => Err(NodeError::new(
                    CODE_AUTH,
                    "HTTP Request authentication 'genericCredentialType' has no 'genericAuthType'",
                )),
                kind => Ok(Some(kind)),
            },
            "predefinedCredentialType" => {
                let kind = ctx.param_str("nodeCredentialType", item, "")?;
                Err(NodeError::new(
                    CODE_AUTH,
                    format!(
                        "HTTP Request authentication with the predefined credential type '{kind}' is not supported; use a generic credential type (Header Auth, Query Auth, Basic Auth or Bearer Auth)"
                    ),
                ))
            }
            other => Err(NodeError::new(
                CODE_AUTH,
                format!("HTTP Request authentication '{other}' is not known"),
            )),
        };
    }
    Ok(match authentication {
        "none" => None,
        "basicAuth" => Some("httpBasicAuth"),
        "headerAuth" => Some("httpHeaderAuth"),
        "queryAuth" => Some("httpQueryAuth"),
        "digestAuth" => Some("httpDigestAuth"),
        "oAuth1" => Some("oAuth1Api"),
        "oAuth2" => Some("oAuth2Api"),
        other => {
            return Err(NodeError::new(
                CODE_AUTH,
                format!("HTTP Request authentication '{other}' is not known"),
            ))
        }
    })
}

/// Reads the authentication of item `item` and fetches its credential.
pub fn read(ctx: &mut NodeCtx<'_, '_>, item: usize) -> Result<Auth, NodeError> {
    let Some(kind) = credential_type(ctx, item)? else {
        return Ok(Auth::None);
    };
    let Some((_, fields)) = SUPPORTED.iter().find(|(k, _)| *k == kind) else {
        return Err(NodeError::new(
            CODE_AUTH,
            format!(
                "HTTP Request authentication with credential type '{kind}' is not supported yet (supported: Header Auth, Query Auth, Basic Auth, Bearer Auth)"
            ),
        ));
    };
    let node_name = ctx.node_name();
    let Some(reference) = ctx
        .node
        .credentials
        .iter()
        .find(|c| c.credential_type.as_str() == kind)
    else {
        return Err(NodeError::new(
            CODE_CREDENTIAL_MISSING,
            format!("Node \"{node_name}\" does not have any credentials set for \"{kind}\""),
        ));
    };
    let (id, name) = (reference.id.as_str(), reference.name.as_str());
    let Some(credential) = ctx.host.credential(kind, id, name) else {
        return Err(NodeError::new(
            CODE_CREDENTIAL_MISSING,
            format!(
                "Credential \"{name}\" (id \"{id}\") of type \"{kind}\" is not available to this runtime"
            ),
        )
        .with_description("`linkflow run` takes credentials with --credentials FILE.json"));
    };
    for field in *fields {
        if credential.field(field).is_none() {
            return Err(missing_field(&credential, field));
        }
    }
    let field = |key: &str| credential.field(key).unwrap_or("").to_owned();
    Ok(match kind {
        "httpHeaderAuth" | "httpQueryAuth" => {
            let header_name = field("name");
            if header_name.is_empty() {
                return Err(missing_field(&credential, "name"));
            }
            if kind == "httpHeaderAuth" {
                Auth::Header(header_name, field("value"))
            } else {
                Auth::Query(header_name, field("value"))
            }
        }
        "httpBasicAuth" => {
            let pair = format!("{}:{}", field("user"), field("password"));
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            Auth::Header("Authorization".to_owned(), format!("Basic {encoded}"))
        }
        _ => Auth::Header(
            "Authorization".to_owned(),
            format!("Bearer {}", field("token")),
        ),
    })
}

fn missing_field(credential: &Credential, field: &str) -> NodeError {
    NodeError::new(
        CODE_CREDENTIAL_FIELD,
        format!(
            "Credential \"{}\" of type \"{}\" has no \"{field}\"",
            credential.name, credential.kind
        ),
    )
}

/// Adds the authentication to the request (after its own headers and query, as n8n does:
/// a parameter of the same name is replaced).
pub fn apply(auth: &Auth, spec: &mut RequestSpec<'_>) {
    match auth {
        Auth::None => {}
        Auth::Header(name, value) => {
            spec.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            spec.headers.push((name.clone(), value.clone()));
        }
        Auth::Query(name, value) => {
            spec.query.retain(|(k, _)| k != name);
            spec.query.push((name.clone(), value.clone()));
            spec.secret_query.push(name.clone());
        }
    }
}
