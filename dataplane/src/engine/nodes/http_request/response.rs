//! Mapping an HTTP response to items, per the response options of every version.

use bumpalo::Bump;

use crate::engine::node::{HttpResponse, NodeCtx, NodeError};
use crate::engine::nodes::coerce::parse_json;
use crate::engine::value::Value;

const CODE_STATUS: &str = "LF-NODE-HTTP-005";
const CODE_JSON: &str = "LF-NODE-HTTP-006";

/// How a response becomes items.
#[derive(Debug, Clone, Copy)]
pub struct ResponseOptions<'a> {
    /// `autodetect`, `json` or `text` (v1–v3 `string`).
    pub format: &'a str,
    /// Output `{body, headers, statusCode, statusMessage}`.
    pub full: bool,
    /// Statuses ≥ 400 are not errors.
    pub never_error: bool,
    /// Field for text responses.
    pub property: &'a str,
}

impl<'a> ResponseOptions<'a> {
    /// Reads the options for item `i`.
    pub fn read(ctx: &mut NodeCtx<'a, '_>, i: usize) -> Result<Self, NodeError> {
        if ctx.version() >= 3.0 {
            Ok(ResponseOptions {
                format: ctx.param_str(
                    "options.response.response.responseFormat",
                    i,
                    "autodetect",
                )?,
                full: ctx.param_bool("options.response.response.fullResponse", i, false)?,
                never_error: ctx.param_bool("options.response.response.neverError", i, false)?,
                property: ctx.param_str(
                    "options.response.response.outputPropertyName",
                    i,
                    "data",
                )?,
            })
        } else {
            let format = match ctx.param_str("responseFormat", i, "json")? {
                "string" => "text",
                other => other,
            };
            Ok(ResponseOptions {
                format,
                full: ctx.param_bool("options.fullResponse", i, false)?,
                never_error: ctx.param_bool("options.ignoreResponseCode", i, false)?,
                property: ctx.param_str("dataPropertyName", i, "data")?,
            })
        }
    }
}

/// The item jsons for one response.
pub fn map_response<'a>(
    arena: &'a Bump,
    response: &HttpResponse<'a>,
    options: &ResponseOptions<'_>,
) -> Result<Vec<Value<'a>>, NodeError> {
    let text = String::from_utf8_lossy(response.body);
    if response.status >= 400 && !options.never_error {
        let detail = if text.is_empty() {
            String::new()
        } else {
            format!(" - {text}")
        };
        return Err(NodeError::new(
            CODE_STATUS,
            format!("{}{detail}", status_message(response.status)),
        )
        .with_description(format!(
            "Request failed with status code {}",
            response.status
        )));
    }
    let content_type = response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map_or("", |(_, v)| *v);
    let as_json = match options.format {
        "json" => true,
        "text" | "file" => false,
        _ => content_type.contains("json"),
    };
    let body = if as_json {
        if text.trim().is_empty() {
            Value::EMPTY_OBJECT
        } else {
            parse_json(arena, &text).ok_or_else(|| {
                NodeError::new(
                    CODE_JSON,
                    "Response body is not valid JSON. Change \"Response Format\" to \"Text\"",
                )
            })?
        }
    } else {
        Value::String(arena.alloc_str(&text))
    };
    if options.full {
        let headers =
            Value::Object(arena.alloc_slice_fill_iter(
                response.headers.iter().map(|(k, v)| (*k, Value::String(v))),
            ));
        let members = arena.alloc_slice_copy(&[
            ("body", body),
            ("headers", headers),
            ("statusCode", Value::Number(f64::from(response.status))),
            (
                "statusMessage",
                Value::String(status_message(response.status)),
            ),
        ]);
        return Ok(vec![Value::Object(members)]);
    }
    Ok(match body {
        // A JSON array becomes one item per element, objects as they are.
        Value::Array(elements) => elements
            .iter()
            .map(|e| match e {
                Value::Object(_) => *e,
                other => Value::Object(
                    arena.alloc_slice_copy(&[(&*arena.alloc_str(options.property), *other)]),
                ),
            })
            .collect(),
        Value::Object(_) => vec![body],
        other => vec![Value::Object(
            arena.alloc_slice_copy(&[(&*arena.alloc_str(options.property), other)]),
        )],
    })
}

/// The reason phrase of common statuses.
fn status_message(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad request - please check your parameters",
        401 => "Authorization failed - please check your credentials",
        403 => "Forbidden - perhaps check your credentials?",
        404 => "The resource you are requesting could not be found",
        405 => "Method not allowed - please check you are using the right HTTP method",
        429 => "The service is receiving too many requests from you",
        500 => "The service was not able to process your request",
        502 => "Bad gateway - the service failed to handle your request",
        503 => "Service unavailable - try again later or consider setting this node to retry automatically (in the node settings)",
        504 => "Gateway timed out - perhaps try again later?",
        _ => "Request failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nodes::coerce::json_string;

    const AUTO: ResponseOptions<'static> = ResponseOptions {
        format: "autodetect",
        full: false,
        never_error: false,
        property: "data",
    };

    fn response<'a>(
        status: u16,
        content_type: &'a str,
        body: &'a [u8],
        headers: &'a mut Vec<(&'a str, &'a str)>,
    ) -> HttpResponse<'a> {
        headers.push(("content-type", content_type));
        HttpResponse {
            status,
            headers,
            body,
        }
    }

    #[test]
    fn json_arrays_split_into_items_and_text_goes_under_data() {
        let arena = Bump::new();
        let mut h = Vec::new();
        let r = response(
            200,
            "application/json; charset=utf-8",
            br#"[{"a":1},2]"#,
            &mut h,
        );
        let out: Vec<String> = map_response(&arena, &r, &AUTO)
            .unwrap()
            .into_iter()
            .map(json_string)
            .collect();
        assert_eq!(out, [r#"{"a":1}"#, r#"{"data":2}"#]);
        let mut h = Vec::new();
        let r = response(200, "text/plain", "héllo".as_bytes(), &mut h);
        let out: Vec<String> = map_response(&arena, &r, &AUTO)
            .unwrap()
            .into_iter()
            .map(json_string)
            .collect();
        assert_eq!(out, [r#"{"data":"héllo"}"#]);
    }

    #[test]
    fn error_statuses_fail_unless_never_error() {
        let arena = Bump::new();
        let mut h = Vec::new();
        let r = response(404, "application/json", b"{}", &mut h);
        let error = map_response(&arena, &r, &AUTO).unwrap_err();
        assert!(error
            .message
            .starts_with("The resource you are requesting could not be found"));
        let lenient = ResponseOptions {
            never_error: true,
            full: true,
            ..AUTO
        };
        let out = map_response(&arena, &r, &lenient).unwrap();
        assert_eq!(
            json_string(out[0]),
            r#"{"body":{},"headers":{"content-type":"application/json"},"statusCode":404,"statusMessage":"The resource you are requesting could not be found"}"#
        );
    }

    #[test]
    fn invalid_json_is_a_clear_error() {
        let arena = Bump::new();
        let mut h = Vec::new();
        let r = response(200, "application/json", b"{oops", &mut h);
        assert_eq!(map_response(&arena, &r, &AUTO).unwrap_err().code, CODE_JSON);
    }
}
