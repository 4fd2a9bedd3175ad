//! Switch: v3–3.2 (rules of filter conditions with fallback output and
//! `allMatchingOutputs`, or expression mode), and v1/v2 (value1 + rules of value2).

use linkflow_codec::plan::ArchivedPValue;

use super::conditions::{evaluate_filter, legacy_compare, legacy_date};
use crate::engine::item::Item;
use crate::engine::node::{lookup, NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_OUTPUT: &str = "LF-NODE-SWITCH-001";

/// Runs a Switch node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let mode = ctx.param_str("mode", 0, "rules")?;
    let legacy = ctx.version() < 3.0;
    let output_count = if mode == "expression" {
        if legacy {
            ctx.node.output_count.to_native() as usize
        } else {
            ctx.param_f64("numberOutputs", 0, 4.0)?.max(0.0) as usize
        }
    } else if legacy {
        ctx.node.output_count.to_native() as usize
    } else {
        rule_count(ctx, "rules.values")
            + usize::from(ctx.param("options.fallbackOutput", 0)?.as_str() == Some("extra"))
    };
    let mut outputs: Vec<Vec<Item<'a>>> = vec![Vec::new(); output_count.max(1)];
    let input = ctx.main_input();
    for (i, item) in input.iter().enumerate() {
        let targets = if mode == "expression" {
            expression_output(ctx, i, output_count).map(|o| vec![o])
        } else if legacy {
            legacy_rules(ctx, i)
        } else {
            rules(ctx, i, output_count)
        };
        match targets {
            Ok(targets) => {
                for target in targets {
                    if let Some(list) = outputs.get_mut(target) {
                        list.push(*item);
                    }
                }
            }
            Err(error) if ctx.continue_on_fail() => {
                let json =
                    Value::Object(ctx.arena.alloc_slice_copy(&[(
                        "error",
                        Value::String(ctx.alloc_str(&error.message)),
                    )]));
                outputs[0].push(Item {
                    json,
                    binary: Value::Undefined,
                    paired: ctx.paired(i),
                });
            }
            Err(error) => return Err(error.at_item(i)),
        }
    }
    let slices: Vec<&'a [Item<'a>]> = outputs
        .iter()
        .map(|o| &*ctx.arena.alloc_slice_copy(o))
        .collect();
    Ok(ctx.outputs(&slices))
}

fn rule_count(ctx: &NodeCtx<'_, '_>, path: &str) -> usize {
    match ctx.param_raw(path) {
        Some(ArchivedPValue::Array(rules)) => rules.len(),
        _ => 0,
    }
}

fn expression_output(
    ctx: &mut NodeCtx<'_, '_>,
    i: usize,
    output_count: usize,
) -> Result<usize, NodeError> {
    let value = ctx.param("output", i)?;
    let n = super::coerce::to_number(value);
    if n.is_nan() || n < 0.0 || n.fract() != 0.0 || n as usize >= output_count {
        return Err(NodeError::new(
            CODE_OUTPUT,
            format!(
                "The output {} is not allowed. It has to be between 0 and {}!",
                super::coerce::string_of(value),
                output_count.saturating_sub(1)
            ),
        ));
    }
    Ok(n as usize)
}

/// v3 rules: first matching rule (or all with `allMatchingOutputs`), else the fallback.
fn rules(
    ctx: &mut NodeCtx<'_, '_>,
    i: usize,
    output_count: usize,
) -> Result<Vec<usize>, NodeError> {
    let rules: &[ArchivedPValue] = match ctx.param_raw("rules.values") {
        Some(ArchivedPValue::Array(rules)) => rules,
        _ => &[],
    };
    let all_matching = ctx.param_bool("options.allMatchingOutputs", i, false)?;
    let mut targets = Vec::new();
    for (rule, value) in rules.iter().enumerate() {
        if evaluate_filter(ctx, lookup(value, "conditions"), i)? {
            targets.push(rule);
            if !all_matching {
                break;
            }
        }
    }
    if targets.is_empty() {
        match ctx.param("options.fallbackOutput", i)? {
            Value::String("extra") => targets.push(output_count - 1),
            Value::Number(n) if n >= 0.0 => targets.push(n as usize),
            _ => {}
        }
    }
    Ok(targets)
}

/// v1/v2 rules: `value1` compared with each rule's `value2` by `dataType`.
fn legacy_rules(ctx: &mut NodeCtx<'_, '_>, i: usize) -> Result<Vec<usize>, NodeError> {
    let data_type = ctx.param_str("dataType", i, "number")?;
    let mut value1 = ctx.param("value1", i)?;
    if data_type == "dateTime" {
        value1 = legacy_date(value1);
    }
    let Some(ArchivedPValue::Array(rules)) = ctx.param_raw("rules.rules") else {
        return Ok(Vec::new());
    };
    let default_operation = match data_type {
        "boolean" | "string" => "equal",
        "dateTime" => "after",
        _ => "smaller",
    };
    for rule in rules.iter() {
        let mut value2 = match lookup(rule, "value2") {
            Some(raw) => ctx.resolve(raw, i)?,
            None => Value::Undefined,
        };
        if data_type == "dateTime" {
            value2 = legacy_date(value2);
        }
        let operation = match lookup(rule, "operation") {
            Some(ArchivedPValue::String(s)) => s.as_str(),
            _ => default_operation,
        };
        if legacy_compare(operation, value1, value2) {
            let output = match lookup(rule, "output") {
                Some(raw) => super::coerce::to_number(ctx.resolve(raw, i)?),
                None => 0.0,
            };
            return Ok(vec![output.max(0.0) as usize]);
        }
    }
    let fallback = ctx.param_f64("fallbackOutput", i, -1.0)?;
    Ok(if fallback >= 0.0 {
        vec![fallback as usize]
    } else {
        Vec::new()
    })
}
