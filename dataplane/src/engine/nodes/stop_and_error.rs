//! Stop and Error: fails the node with the configured message (or error object).

use super::coerce::{json_string, parse_json, string_of};
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_STOP: &str = "LF-NODE-STOP-001";

/// Runs a Stop and Error node: always an error, with n8n's message.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let message = if ctx.param_str("errorType", 0, "errorMessage")? == "errorObject" {
        let object = match ctx.param("errorObject", 0)? {
            Value::String(s) => parse_json(ctx.arena, s).unwrap_or(Value::String(s)),
            other => other,
        };
        match (object.get("message"), object.get("description")) {
            (Value::String(m), _) => m.to_owned(),
            (_, Value::String(d)) => d.to_owned(),
            _ => json_string(object),
        }
    } else {
        match ctx.param("errorMessage", 0)? {
            Value::String(s) => s.to_owned(),
            Value::Undefined => String::new(),
            other => string_of(other),
        }
    };
    Err(NodeError::new(CODE_STOP, message))
}
