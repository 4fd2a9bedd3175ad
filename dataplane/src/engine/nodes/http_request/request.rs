//! Reading the request parameters of every HTTP Request version, and building the request.

use bumpalo::Bump;

use crate::engine::node::{HttpRequest, NodeCtx, NodeError};
use crate::engine::nodes::coerce::{json_string, parse_json, string_of};
use crate::engine::value::Value;

const CODE_URL: &str = "LF-NODE-HTTP-002";
const CODE_JSON: &str = "LF-NODE-HTTP-004";
/// n8n's default request timeout (5 minutes).
pub const TIMEOUT_MS_DEFAULT: u32 = 300_000;

/// How the body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// Bytes as given, with a content type.
    Raw,
}

/// Everything the request needs, read from one item's parameters.
#[derive(Debug, Clone)]
pub struct RequestSpec<'a> {
    /// Upper-case method.
    pub method: String,
    /// URL without the query parameters below.
    pub url: &'a str,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// Header pairs.
    pub headers: Vec<(String, String)>,
    /// Body value (`Undefined` = no body).
    pub body: Value<'a>,
    /// Body encoding.
    pub body_kind: BodyKind,
    /// Content type of a raw body.
    pub raw_content_type: &'a str,
    /// Timeout.
    pub timeout_ms: u32,
    /// Query parameters whose values are secrets (credential query auth): masked in the
    /// URL that messages and logs show.
    pub secret_query: Vec<String>,
}

impl<'a> RequestSpec<'a> {
    /// Reads the parameters of item `i` (v3/v4 names, or v1/v2 names).
    pub fn read(ctx: &mut NodeCtx<'a, '_>, i: usize) -> Result<Self, NodeError> {
        let timeout = ctx.param_f64("options.timeout", i, f64::from(TIMEOUT_MS_DEFAULT))?;
        let timeout_ms = if timeout.is_finite() && timeout >= 1.0 {
            timeout.min(f64::from(u32::MAX)) as u32
        } else {
            TIMEOUT_MS_DEFAULT
        };
        // v3 and v4.x share n8n's newer parameter layout (`method`, `sendQuery` ...).
        if ctx.version() >= 3.0 {
            let method = ctx.param_str("method", i, "GET")?.to_ascii_uppercase();
            let url = ctx.param_str("url", i, "")?;
            let query = if ctx.param_bool("sendQuery", i, false)? {
                pairs_or_json(
                    ctx,
                    i,
                    "specifyQuery",
                    "queryParameters.parameters",
                    "jsonQuery",
                )?
            } else {
                Vec::new()
            };
            let headers = if ctx.param_bool("sendHeaders", i, false)? {
                pairs_or_json(
                    ctx,
                    i,
                    "specifyHeaders",
                    "headerParameters.parameters",
                    "jsonHeaders",
                )?
            } else {
                Vec::new()
            };
            let (mut body, mut body_kind, mut raw_content_type) =
                (Value::Undefined, BodyKind::Json, "");
            if ctx.param_bool("sendBody", i, false)? {
                match ctx.param_str("contentType", i, "json")? {
                    "form-urlencoded" => {
                        body_kind = BodyKind::Form;
                        body = body_value(ctx, i)?;
                    }
                    "raw" => {
                        body_kind = BodyKind::Raw;
                        raw_content_type = ctx.param_str("rawContentType", i, "")?;
                        body = ctx.param("body", i)?;
                    }
                    "json" => body = body_value(ctx, i)?,
                    other => {
                        return Err(NodeError::new(
                            super::CODE_UNSUPPORTED,
                            format!("HTTP Request body content type '{other}' is not supported"),
                        ))
                    }
                }
            }
            return Ok(RequestSpec {
                method,
                url,
                query,
                headers,
                body,
                body_kind,
                raw_content_type,
                timeout_ms,
                secret_query: Vec::new(),
            });
        }
        // v1 and v2.
        let method = ctx
            .param_str("requestMethod", i, "GET")?
            .to_ascii_uppercase();
        let url = ctx.param_str("url", i, "")?;
        let json_parameters = ctx.param_bool("jsonParameters", i, false)?;
        let legacy =
            |ctx: &mut NodeCtx<'a, '_>, ui: &str, json: &str| -> Result<Value<'a>, NodeError> {
                if json_parameters {
                    json_param(ctx, json, i)
                } else {
                    let list = ctx.param(ui, i)?;
                    Ok(pairs_to_object(ctx.arena, list))
                }
            };
        let query = object_pairs(legacy(
            ctx,
            "queryParametersUi.parameter",
            "queryParametersJson",
        )?);
        let headers = object_pairs(legacy(
            ctx,
            "headerParametersUi.parameter",
            "headerParametersJson",
        )?);
        let body = legacy(ctx, "bodyParametersUi.parameter", "bodyParametersJson")?;
        let body_kind = match ctx.param_str("options.bodyContentType", i, "json")? {
            "form-urlencoded" => BodyKind::Form,
            "raw" => BodyKind::Raw,
            _ => BodyKind::Json,
        };
        let has_body = !matches!(method.as_str(), "GET" | "HEAD")
            && body.as_object().is_some_and(|m| !m.is_empty());
        let body = if has_body { body } else { Value::Undefined };
        let raw_content_type = ctx.param_str("options.bodyContentCustomMimeType", i, "")?;
        Ok(RequestSpec {
            method,
            url,
            query,
            headers,
            body,
            body_kind,
            raw_content_type,
            timeout_ms,
            secret_query: Vec::new(),
        })
    }
}

/// v4 key/value pairs or a JSON object, per the `specify*` switch.
fn pairs_or_json<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    i: usize,
    switch: &str,
    pairs: &str,
    json: &str,
) -> Result<Vec<(String, String)>, NodeError> {
    if ctx.param_str(switch, i, "keypair")? == "json" {
        Ok(object_pairs(json_param(ctx, json, i)?))
    } else {
        let list = ctx.param(pairs, i)?;
        Ok(object_pairs(pairs_to_object(ctx.arena, list)))
    }
}

/// The v4 body: key/value pairs (`bodyParameters.parameters`) or `jsonBody`.
fn body_value<'a>(ctx: &mut NodeCtx<'a, '_>, i: usize) -> Result<Value<'a>, NodeError> {
    if ctx.param_str("specifyBody", i, "keypair")? == "json" {
        json_param(ctx, "jsonBody", i)
    } else {
        let list = ctx.param("bodyParameters.parameters", i)?;
        Ok(pairs_to_object(ctx.arena, list))
    }
}

/// A parameter holding JSON: text is parsed (n8n: "JSON parameter needs to be valid JSON").
fn json_param<'a>(ctx: &mut NodeCtx<'a, '_>, path: &str, i: usize) -> Result<Value<'a>, NodeError> {
    match ctx.param(path, i)? {
        Value::String(text) if text.trim().is_empty() => Ok(Value::EMPTY_OBJECT),
        Value::String(text) => parse_json(ctx.arena, text).ok_or_else(|| {
            NodeError::new(CODE_JSON, "JSON parameter needs to be valid JSON").at_item(i)
        }),
        Value::Undefined => Ok(Value::EMPTY_OBJECT),
        other => Ok(other),
    }
}

/// `[{name, value}, ...]` into an object (later names win, as assignments do).
fn pairs_to_object<'a>(arena: &'a Bump, list: Value<'a>) -> Value<'a> {
    let mut object = Value::EMPTY_OBJECT;
    for pair in list.as_array().unwrap_or(&[]) {
        let name = pair.get("name").as_str().unwrap_or("");
        if name.is_empty() {
            continue;
        }
        let value = match pair.get("value") {
            Value::Undefined => Value::String(""),
            v => v,
        };
        object = crate::engine::nodes::coerce::set_key(arena, object, name, value);
    }
    object
}

/// An object's members as strings (objects and arrays as JSON).
fn object_pairs(object: Value<'_>) -> Vec<(String, String)> {
    object
        .as_object()
        .unwrap_or(&[])
        .iter()
        .filter(|(_, v)| !matches!(v, Value::Undefined))
        .map(|(k, v)| ((*k).to_owned(), text_of(*v)))
        .collect()
}

fn text_of(value: Value<'_>) -> String {
    match value {
        Value::Object(_) | Value::Array(_) => json_string(value),
        other => string_of(other),
    }
}

/// `encodeURIComponent`.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `a=1&b=x%20y`.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Builds the effect request in the arena.
pub fn build<'a>(arena: &'a Bump, spec: &RequestSpec<'a>) -> Result<HttpRequest<'a>, NodeError> {
    let url = spec.url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(NodeError::new(
            CODE_URL,
            format!("Invalid URL: {url}. URL must start with \"http\" or \"https\"."),
        ));
    }
    let mut full_url = url.to_owned();
    let mut shown_url = url.to_owned();
    if !spec.query.is_empty() {
        let separator = if url.contains('?') { '&' } else { '?' };
        full_url.push(separator);
        full_url.push_str(&form_encode(&spec.query));
        let shown: Vec<(String, String)> = spec
            .query
            .iter()
            .map(|(k, v)| {
                let secret = spec.secret_query.iter().any(|s| s == k);
                (k.clone(), if secret { "***".to_owned() } else { v.clone() })
            })
            .collect();
        shown_url.push(separator);
        shown_url.push_str(&form_encode(&shown));
    }
    let mut headers: Vec<(&'a str, &'a str)> = spec
        .headers
        .iter()
        .map(|(k, v)| (&*arena.alloc_str(k), &*arena.alloc_str(v)))
        .collect();
    let has_content_type = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    let (body, content_type): (Vec<u8>, &str) = match (spec.body, spec.body_kind) {
        (Value::Undefined, _) => (Vec::new(), ""),
        (value, BodyKind::Json) => (json_string(value).into_bytes(), "application/json"),
        (value, BodyKind::Form) => (
            form_encode(&object_pairs(value)).into_bytes(),
            "application/x-www-form-urlencoded",
        ),
        (value, BodyKind::Raw) => (text_of(value).into_bytes(), spec.raw_content_type),
    };
    if !has_content_type && !content_type.is_empty() && !body.is_empty() {
        headers.push(("content-type", arena.alloc_str(content_type)));
    }
    Ok(HttpRequest {
        method: arena.alloc_str(&spec.method),
        url: arena.alloc_str(&full_url),
        url_shown: if shown_url == full_url {
            None
        } else {
            Some(arena.alloc_str(&shown_url))
        },
        headers: arena.alloc_slice_copy(&headers),
        body: arena.alloc_slice_copy(&body),
        timeout_ms: spec.timeout_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(url: &'a str, body: Value<'a>, kind: BodyKind) -> RequestSpec<'a> {
        RequestSpec {
            method: "POST".into(),
            url,
            query: vec![("q".into(), "a b&é".into())],
            headers: vec![("X-Id".into(), "1".into())],
            body,
            body_kind: kind,
            raw_content_type: "text/plain",
            timeout_ms: 1_000,
            secret_query: vec!["q".into()],
        }
    }

    #[test]
    fn query_is_encoded_and_json_body_gets_its_content_type() {
        let arena = Bump::new();
        let body = Value::Object(&[("k", Value::String("😀"))]);
        let request = build(&arena, &spec("https://x.test/p?z=1", body, BodyKind::Json)).unwrap();
        assert_eq!(request.url, "https://x.test/p?z=1&q=a%20b%26%C3%A9");
        // `q` is marked secret: messages and logs see it masked.
        assert_eq!(request.shown_url(), "https://x.test/p?z=1&q=***");
        assert_eq!(request.body, r#"{"k":"😀"}"#.as_bytes());
        assert_eq!(
            request.headers,
            &[("X-Id", "1"), ("content-type", "application/json")]
        );
    }

    #[test]
    fn form_and_raw_bodies_encode() {
        let arena = Bump::new();
        let body = Value::Object(&[("a", Value::Number(1.0)), ("b", Value::String("x y"))]);
        let request = build(&arena, &spec("http://x.test", body, BodyKind::Form)).unwrap();
        assert_eq!(request.body, b"a=1&b=x%20y");
        let request = build(
            &arena,
            &spec("http://x.test", Value::String("raw"), BodyKind::Raw),
        )
        .unwrap();
        assert_eq!(request.body, b"raw");
        assert!(request.headers.contains(&("content-type", "text/plain")));
    }

    #[test]
    fn urls_without_a_scheme_are_rejected() {
        let arena = Bump::new();
        let error = build(&arena, &spec("x.test", Value::Undefined, BodyKind::Json)).unwrap_err();
        assert_eq!(error.code, CODE_URL);
    }
}
