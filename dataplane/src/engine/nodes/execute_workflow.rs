//! Execute Workflow v1–v1.2 (source "database", by id): calls another workflow through a
//! sub-workflow effect, once with all items or once per item, waiting for its output or
//! not. Without waiting, the input items pass through, as in n8n.

use crate::engine::item::Item;
use crate::engine::node::{
    EffectRequest, EffectResult, NodeCtx, NodeError, NodeOutcome, NodeResult,
};
use crate::engine::value::Value;

const CODE_SOURCE: &str = "LF-NODE-EXECWF-001";
const CODE_FAILED: &str = "LF-NODE-EXECWF-002";

/// Runs an Execute Workflow node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let source = ctx.param_str("source", 0, "database")?;
    if source != "database" {
        return Err(NodeError::new(
            CODE_SOURCE,
            format!("Execute Workflow source '{source}' is not supported; use a workflow id"),
        ));
    }
    let each = ctx.param_str("mode", 0, "once")? == "each";
    let wait = ctx.param_bool("options.waitForSubWorkflow", 0, true)?;
    // Progress across effect round trips: the next call index and the output so far.
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
            let produced: &[Item<'a>] = match result {
                EffectResult::SubWorkflowDone(items) => items,
                EffectResult::SubWorkflowStarted => &[],
                EffectResult::SubWorkflowFailed(message) => {
                    return Err(NodeError::new(CODE_FAILED, message))
                }
                _ => return Err(NodeError::new(CODE_FAILED, "unexpected effect result")),
            };
            let mut done = Vec::with_capacity(ctx.state.done.len() + produced.len());
            done.extend_from_slice(ctx.state.done);
            done.extend(produced.iter().map(|item| Item {
                paired: ctx.paired(index),
                ..*item
            }));
            ctx.state.done = ctx.arena.alloc_slice_copy(&done);
            index + 1
        }
    };
    let calls = if each { input.len() } else { 1 };
    if next >= calls {
        return Ok(ctx.single_output(if wait { ctx.state.done } else { input }));
    }
    let workflow_id = workflow_id(ctx.param("workflowId", next)?);
    if workflow_id.is_empty() {
        return Err(NodeError::new(CODE_SOURCE, "No workflow id given"));
    }
    ctx.state.value = Value::Number(next as f64);
    let items = if each { &input[next..next + 1] } else { input };
    Ok(NodeOutcome::Effect(ctx.arena.alloc(
        EffectRequest::SubWorkflow {
            workflow_id,
            items,
            wait,
        },
    )))
}

/// The workflow id: a plain string (v1) or a resource locator `{__rl, value, mode}`.
pub fn workflow_id<'a>(value: Value<'a>) -> &'a str {
    match value {
        Value::String(s) => s,
        Value::Object(_) => value.get("value").as_str().unwrap_or(""),
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_strings_or_resource_locators() {
        assert_eq!(workflow_id(Value::String("42")), "42");
        let members = [
            ("__rl", Value::Bool(true)),
            ("value", Value::String("abc")),
            ("mode", Value::String("id")),
        ];
        assert_eq!(workflow_id(Value::Object(&members)), "abc");
        assert_eq!(workflow_id(Value::Null), "");
        assert_eq!(workflow_id(Value::Number(1.0)), "");
    }
}
