//! HTTP Request v1–v4.2 (v1/v2 with the legacy parameters, v3–v4.2 with the newer ones): builds one request per input item (method, URL with query,
//! headers, body as JSON, form-urlencoded or raw), hands it to the runtime as an effect,
//! and maps each response (or failure) to items.
//!
//! Items are requested one after the other; between round trips the node keeps its
//! progress in its state (`value` = index of the item in flight, `done` = items so far).
//! Pagination and binary ("file") responses are not supported yet.

pub mod request;
pub mod response;

use request::{build, RequestSpec};
use response::{map_response, ResponseOptions};

use crate::engine::item::Item;
use crate::engine::node::{
    EffectRequest, EffectResult, NodeCtx, NodeError, NodeOutcome, NodeResult,
};
use crate::engine::value::Value;

const CODE_FAILED: &str = "LF-NODE-HTTP-001";
const CODE_UNSUPPORTED: &str = "LF-NODE-HTTP-003";

/// Runs an HTTP Request node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let next = match ctx.resume {
        None => {
            ctx.state.value = Value::Number(0.0);
            ctx.state.done = &[];
            0
        }
        Some(result) => {
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
                Err(error) if ctx.continue_on_fail() => {
                    let message = Value::String(ctx.alloc_str(&error.message));
                    let inner = Value::Object(ctx.arena.alloc_slice_copy(&[("message", message)]));
                    vec![Value::Object(
                        ctx.arena.alloc_slice_copy(&[("error", inner)]),
                    )]
                }
                Err(error) => return Err(error.at_item(index)),
            };
            let mut done = Vec::with_capacity(ctx.state.done.len() + produced.len());
            done.extend_from_slice(ctx.state.done);
            done.extend(produced.into_iter().map(|json| Item {
                json,
                binary: Value::Undefined,
                paired: ctx.paired(index),
            }));
            ctx.state.done = ctx.arena.alloc_slice_copy(&done);
            index + 1
        }
    };
    if next >= input.len() {
        return Ok(ctx.single_output(ctx.state.done));
    }
    if ctx.version() >= 3.0 && ctx.param_raw("options.pagination").is_some() {
        return Err(NodeError::new(
            CODE_UNSUPPORTED,
            "HTTP Request pagination is not supported yet",
        ));
    }
    let spec = RequestSpec::read(ctx, next)?;
    let request = build(ctx.arena, &spec).map_err(|e| e.at_item(next))?;
    ctx.state.value = Value::Number(next as f64);
    Ok(NodeOutcome::Effect(EffectRequest::Http(request)))
}
