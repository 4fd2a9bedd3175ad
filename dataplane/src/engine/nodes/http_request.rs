//! HTTP Request v1–v4.2 (v1/v2 with the legacy parameters, v3–v4.2 with the newer ones): builds one request per input item (method, URL with query,
//! headers, body as JSON, form-urlencoded or raw), hands it to the runtime as an effect,
//! and maps each response (or failure) to items, page by page when `options.pagination`
//! is set ([`pagination`]).
//!
//! Items are requested one after the other; between round trips the node keeps its
//! progress in its state (`value` = index of the item in flight, or the pagination loop
//! of that item; `done` = items so far). Credentials of the generic types apply
//! ([`auth`]). Binary ("file") responses are not supported yet.

pub mod auth;
#[cfg(test)]
mod auth_tests;
pub mod pagination;
#[cfg(test)]
mod pagination_tests;
pub mod request;
pub mod response;

use pagination::{Progress, Settings};
use request::{build, RequestSpec};
use response::{map_response, ResponseOptions};

use crate::engine::item::Item;
use crate::engine::node::{
    EffectRequest, EffectResult, HttpResponse, NodeCtx, NodeError, NodeOutcome, NodeResult,
};
use crate::engine::value::Value;

const CODE_FAILED: &str = "LF-NODE-HTTP-001";
pub(crate) const CODE_UNSUPPORTED: &str = "LF-NODE-HTTP-003";

/// Runs an HTTP Request node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let next = match ctx.resume {
        None => {
            ctx.state.value = Value::Number(0.0);
            ctx.state.done = &[];
            0
        }
        Some(result) => match Progress::from_value(ctx.state.value) {
            Some(progress) => {
                let (item, kept) = (progress.item, progress.kept);
                match page_done(ctx, progress, result) {
                    Ok(Some(effect)) => return Ok(effect),
                    Ok(None) => item + 1,
                    Err(error) if ctx.continue_on_fail() => {
                        ctx.state.done = &ctx.state.done[..kept.min(ctx.state.done.len())];
                        push_items(ctx, item, vec![error_json(ctx, &error)]);
                        item + 1
                    }
                    Err(error) => return Err(error.at_item(item)),
                }
            }
            None => {
                let index = match ctx.state.value {
                    Value::Number(n) => n as usize,
                    _ => 0,
                };
                let options = ResponseOptions::read(ctx, index)?;
                let produced = match result {
                    EffectResult::Http(response) => map_response(ctx.arena, &response, &options),
                    EffectResult::HttpFailed(message) => Err(NodeError::new(CODE_FAILED, message)),
                    _ => Err(NodeError::new(CODE_FAILED, "unexpected effect result")),
                };
                let produced: Vec<Value<'a>> = match produced {
                    Ok(values) => values,
                    Err(error) if ctx.continue_on_fail() => vec![error_json(ctx, &error)],
                    Err(error) => return Err(error.at_item(index)),
                };
                push_items(ctx, index, produced);
                index + 1
            }
        },
    };
    if next >= input.len() {
        return Ok(ctx.single_output(ctx.state.done));
    }
    if pagination::enabled(ctx, next)? {
        let kept = ctx.state.done.len();
        return match request_page(ctx, Progress::start(next, kept)) {
            Ok(effect) => Ok(effect),
            Err(error) => Err(error.at_item(next)),
        };
    }
    let mut spec = RequestSpec::read(ctx, next)?;
    let credentials = auth::read(ctx, next).map_err(|e| e.at_item(next))?;
    auth::apply(&credentials, &mut spec);
    let request = build(ctx.arena, &spec).map_err(|e| e.at_item(next))?;
    ctx.state.value = Value::Number(next as f64);
    Ok(NodeOutcome::Effect(
        ctx.arena.alloc(EffectRequest::Http(request)),
    ))
}

/// `{error: {message}}`: the item of a failed request under continue-on-fail.
fn error_json<'a>(ctx: &NodeCtx<'a, '_>, error: &NodeError) -> Value<'a> {
    let message = Value::String(ctx.alloc_str(&error.message));
    let inner = Value::Object(ctx.arena.alloc_slice_copy(&[("message", message)]));
    Value::Object(ctx.arena.alloc_slice_copy(&[("error", inner)]))
}

/// Appends items made of `jsons`, paired with input item `index`.
fn push_items<'a>(ctx: &mut NodeCtx<'a, '_>, index: usize, jsons: Vec<Value<'a>>) {
    let mut done = Vec::with_capacity(ctx.state.done.len() + jsons.len());
    done.extend_from_slice(ctx.state.done);
    done.extend(jsons.into_iter().map(|json| Item {
        json,
        binary: Value::Undefined,
        paired: ctx.paired(index),
    }));
    ctx.state.done = ctx.arena.alloc_slice_copy(&done);
}

/// The effect that fetches the next page of `progress.item`.
fn request_page<'a>(ctx: &mut NodeCtx<'a, '_>, progress: Progress<'a>) -> NodeResult<'a> {
    let item = progress.item;
    let mut spec = RequestSpec::read(ctx, item)?;
    let settings = Settings::read(ctx, item)?;
    let request_value = pagination::request_value(ctx.arena, &spec);
    let keys = pagination::keys(ctx, &progress, request_value);
    let next_url = match settings.next_url {
        Some(raw) => pagination::resolve(ctx, raw, item, &keys)?,
        None => Value::Undefined,
    };
    let mut parameters = Vec::with_capacity(settings.parameters.len());
    for &(target, name, raw) in &settings.parameters {
        parameters.push((target, name, pagination::resolve(ctx, raw, item, &keys)?));
    }
    pagination::apply(ctx.arena, &mut spec, next_url, &parameters)?;
    // Credentials last: `$request` above never shows them.
    let credentials = auth::read(ctx, item)?;
    auth::apply(&credentials, &mut spec);
    let request = build(ctx.arena, &spec)?;
    ctx.state.value = progress.to_value(ctx.arena);
    Ok(NodeOutcome::Effect(
        ctx.arena.alloc(EffectRequest::Http(request)),
    ))
}

/// Handles the answer to a page request (or the interval timer): the next effect, or
/// `None` when the item's pagination is complete.
fn page_done<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    mut progress: Progress<'a>,
    result: EffectResult<'a>,
) -> Result<Option<NodeOutcome<'a>>, NodeError> {
    let item = progress.item;
    if progress.waiting {
        progress.waiting = false;
        return request_page(ctx, progress).map(Some);
    }
    let response: HttpResponse<'a> = match result {
        EffectResult::Http(response) => response,
        EffectResult::HttpFailed(message) => return Err(NodeError::new(CODE_FAILED, message)),
        _ => return Err(NodeError::new(CODE_FAILED, "unexpected effect result")),
    };
    pagination::check_identical(ctx.arena, &mut progress, &response)?;
    // Every page becomes items as a single response would; its status is judged below
    // (n8n requests pages with `simple: false`).
    let options = ResponseOptions {
        never_error: true,
        ..ResponseOptions::read(ctx, item)?
    };
    let produced = map_response(ctx.arena, &response, &options)?;
    push_items(ctx, item, produced);
    progress.response = pagination::response_value(ctx.arena, &response);
    progress.pages += 1;
    let request_value = {
        let spec = RequestSpec::read(ctx, item)?;
        pagination::request_value(ctx.arena, &spec)
    };
    let keys = pagination::keys(ctx, &progress, request_value);
    if ctx.param_bool(
        "options.pagination.pagination.limitPagesFetched",
        item,
        false,
    )? {
        let max = match ctx.param_raw("options.pagination.pagination.maxRequests") {
            Some(raw) => pagination::resolve(ctx, raw, item, &keys)?,
            None => Value::Number(100.0),
        };
        let max = crate::engine::nodes::coerce::to_number(max);
        if max.is_finite() && max != 0.0 && f64::from(progress.pages) >= max {
            return Ok(None);
        }
    }
    let settings = Settings::read(ctx, item)?;
    let more = ctx
        .host
        .eval_with_keys(&settings.continue_when, item, &keys)?;
    if !truthy(more) {
        return Ok(None);
    }
    if progress.pages >= pagination::PAGES_MAX {
        return Err(NodeError::new(
            pagination::CODE_PAGES,
            format!(
                "pagination stopped after {} pages (the most one item may fetch)",
                pagination::PAGES_MAX
            ),
        ));
    }
    if !(200..300).contains(&response.status) {
        return Err(pagination::status_error(&response));
    }
    let interval_ms = match ctx.param_raw("options.pagination.pagination.requestInterval") {
        Some(raw) => {
            crate::engine::nodes::coerce::to_number(pagination::resolve(ctx, raw, item, &keys)?)
        }
        None => 0.0,
    };
    if interval_ms.is_finite() && interval_ms >= 1.0 {
        progress.waiting = true;
        ctx.state.value = progress.to_value(ctx.arena);
        let at_ms = ctx.now_ms + interval_ms.min(pagination::INTERVAL_MS_MAX) as i64;
        return Ok(Some(NodeOutcome::Effect(
            ctx.arena.alloc(EffectRequest::Timer { at_ms }),
        )));
    }
    request_page(ctx, progress).map(Some)
}

/// JavaScript truthiness of an expression result.
fn truthy(value: Value<'_>) -> bool {
    match value {
        Value::Undefined | Value::Null => false,
        Value::Bool(b) => b,
        Value::Number(n) => n != 0.0 && !n.is_nan(),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
