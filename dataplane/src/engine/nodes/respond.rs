//! Respond to Webhook (v1–1.5): builds the response the webhook caller gets and passes
//! its input through. Parameters are read for the first item, as n8n does.

use std::borrow::Cow;

use super::coerce::{json_string, parse_json, set_path, string_of};
use crate::engine::node::{Header, NodeCtx, NodeError, NodeResponse, NodeResult};
use crate::engine::value::Value;
use crate::engine::webhook::JSON_CONTENT_TYPE;

const CODE_JSON: &str = "LF-NODE-RESPOND-001";
const CODE_BINARY: &str = "LF-NODE-RESPOND-002";
const CODE_KIND: &str = "LF-NODE-RESPOND-003";

/// Runs a Respond to Webhook node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let respond_with = ctx.param_str("respondWith", 0, "firstIncomingItem")?;
    let response_key = ctx.param_str("options.responseKey", 0, "")?;
    let mut status = ctx.param_f64("options.responseCode", 0, 200.0)? as u16;
    let mut content_type = JSON_CONTENT_TYPE;
    let mut headers: Vec<Header> = Vec::new();
    let body: Vec<u8> = match respond_with {
        "allIncomingItems" => {
            let items = ctx
                .arena
                .alloc_slice_fill_iter(input.iter().map(|item| item.json));
            json_body(ctx, Value::Array(items), response_key)
        }
        "firstIncomingItem" => {
            let first = input.first().map_or(Value::EMPTY_OBJECT, |item| item.json);
            json_body(ctx, first, response_key)
        }
        "json" => {
            let body = match ctx.param("responseBody", 0)? {
                Value::String(s) => parse_json(ctx.arena, s).ok_or_else(|| {
                    NodeError::new(CODE_JSON, "Invalid JSON in 'Response Body' field")
                })?,
                Value::Undefined => Value::EMPTY_OBJECT,
                other => other,
            };
            json_string(body).into_bytes()
        }
        "text" => {
            content_type = "text/html; charset=utf-8";
            match ctx.param("responseBody", 0)? {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Undefined => Vec::new(),
                other => string_of(other).into_bytes(),
            }
        }
        "noData" => Vec::new(),
        "redirect" => {
            let url = ctx.param_str("redirectURL", 0, "")?;
            if ctx.param_raw("options.responseCode").is_none() {
                status = 307;
            }
            headers.push((Cow::Borrowed("location"), Cow::Owned(url.to_owned())));
            Vec::new()
        }
        "binary" => {
            return Err(NodeError::new(
                CODE_BINARY,
                "LF-NODE-RESPOND-002: binary responses are not supported",
            ));
        }
        other => {
            return Err(NodeError::new(
                CODE_KIND,
                format!("The Response Data option \"{other}\" is not supported!"),
            ));
        }
    };
    let mut all_headers: Vec<Header> =
        vec![(Cow::Borrowed("content-type"), Cow::Borrowed(content_type))];
    all_headers.extend(headers);
    if let Value::Array(entries) = ctx.param("options.responseHeaders.entries", 0)? {
        for entry in entries {
            let name = string_of(entry.get("name")).to_ascii_lowercase();
            let value = string_of(entry.get("value"));
            match all_headers.iter_mut().find(|(n, _)| *n == name) {
                Some(existing) => existing.1 = Cow::Owned(value),
                None => all_headers.push((Cow::Owned(name), Cow::Owned(value))),
            }
        }
    }
    *ctx.response = Some(NodeResponse {
        status,
        headers: Cow::Owned(all_headers),
        body,
    });
    Ok(ctx.single_output(input))
}

fn json_body<'a>(ctx: &NodeCtx<'a, '_>, data: Value<'a>, response_key: &str) -> Vec<u8> {
    let body = if response_key.is_empty() {
        data
    } else {
        set_path(ctx.arena, Value::EMPTY_OBJECT, response_key, data)
    };
    json_string(body).into_bytes()
}
