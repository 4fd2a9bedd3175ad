//! If: v1 (`conditions.{boolean,dateTime,number,string}` with `combineOperation`) and
//! v2–2.2 (filter conditions). Output 0 = true, output 1 = false.

use linkflow_codec::plan::ArchivedPValue;

use super::conditions::{evaluate, legacy_compare, legacy_date};
use crate::engine::node::{lookup, NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

/// Runs an If node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let mut true_items = ctx.items_with_capacity(input.len());
    let mut false_items = ctx.items_with_capacity(input.len());
    let v1 = ctx.version() < 2.0;
    for (i, item) in input.iter().enumerate() {
        let pass = if v1 {
            legacy_pass(ctx, i)
        } else {
            evaluate(ctx, "conditions", i)
        };
        match pass {
            Ok(true) => true_items.push(*item),
            Ok(false) => false_items.push(*item),
            // n8n's If routes a failing item to the false output when it may continue.
            Err(_) if ctx.continue_on_fail() => false_items.push(*item),
            Err(error) => return Err(error.at_item(i)),
        }
    }
    Ok(ctx.outputs(&[true_items.into_bump_slice(), false_items.into_bump_slice()]))
}

/// If v1: every rule of every data type, combined with `all` (default) or `any`.
fn legacy_pass(ctx: &mut NodeCtx<'_, '_>, i: usize) -> Result<bool, NodeError> {
    let any = ctx.param_str("combineOperation", i, "all")? == "any";
    for (data_type, default_operation) in [
        ("boolean", "equal"),
        ("dateTime", "after"),
        ("number", "smaller"),
        ("string", "equal"),
    ] {
        let Some(ArchivedPValue::Array(rules)) = ctx.param_raw(&format!("conditions.{data_type}"))
        else {
            continue;
        };
        for rule in rules.iter() {
            let mut value1 = match lookup(rule, "value1") {
                Some(raw) => ctx.resolve(raw, i)?,
                None => Value::Undefined,
            };
            let mut value2 = match lookup(rule, "value2") {
                Some(raw) => ctx.resolve(raw, i)?,
                None => Value::Undefined,
            };
            if data_type == "dateTime" {
                value1 = legacy_date(value1);
                value2 = legacy_date(value2);
            }
            let operation = match lookup(rule, "operation") {
                Some(ArchivedPValue::String(s)) => s.as_str(),
                _ => default_operation,
            };
            let result = legacy_compare(operation, value1, value2);
            if any && result {
                return Ok(true);
            }
            if !any && !result {
                return Ok(false);
            }
        }
    }
    Ok(!any)
}
