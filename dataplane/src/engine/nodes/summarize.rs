//! Summarize v1/v1.1: aggregates fields (sum, count, countUnique, min, max, average,
//! append, concatenate) over all items or per group of "split by" values.
//!
//! n8n's behaviour, pinned by the golden cases: `sum`, `average`, `min` and `max` use
//! numbers only (numeric strings are ignored); groups keep value types (`1` and `"1"`
//! differ); output names are `<prefix>_<field>` (`sum_amount`, `unique_count_category`,
//! `appended_name`) followed by the split-by fields.

use bumpalo::Bump;

use super::coerce::{json_string, string_of};
use super::remove_duplicates::deep_equal;
use super::split_out::{field_names, read_field, write_field};
use crate::engine::item::{Item, PairedItem};
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_FIELD: &str = "LF-NODE-SUMMARIZE-001";
const CODE_AGGREGATION: &str = "LF-NODE-SUMMARIZE-002";

/// One aggregation of one field.
#[derive(Debug, Clone, Copy)]
pub struct Aggregation<'p> {
    /// Aggregation kind as n8n names it (`sum`, `countUnique` ...).
    pub kind: &'p str,
    /// Field path.
    pub field: &'p str,
    /// Separator for `concatenate`.
    pub separator: &'p str,
    /// Keep `null`/missing values in `append` and `concatenate`.
    pub include_empty: bool,
}

/// Runs a Summarize node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    if input.is_empty() {
        return Ok(ctx.single_output(&[]));
    }
    let dot = !ctx.param_bool("options.disableDotNotation", 0, false)?;
    let continue_missing = ctx.param_bool("options.continueIfFieldNotFound", 0, false)?;
    let skip_empty = ctx.param_bool("options.skipEmptySplitFields", 0, false)?;
    let split_by = field_names(ctx.param_str("fieldsToSplitBy", 0, "")?);
    let specs_value = ctx.param("fieldsToSummarize.values", 0)?;
    let mut aggregations = Vec::new();
    for spec in specs_value.as_array().unwrap_or(&[]) {
        let separator = match spec.get("separateBy").as_str().unwrap_or(",") {
            "other" => spec.get("customSeparator").as_str().unwrap_or(""),
            other => other,
        };
        aggregations.push(Aggregation {
            kind: spec.get("aggregation").as_str().unwrap_or("count"),
            field: spec.get("field").as_str().unwrap_or(""),
            separator,
            include_empty: matches!(spec.get("includeEmpty"), Value::Bool(true)),
        });
    }
    if !continue_missing {
        for aggregation in &aggregations {
            check_field_exists(input, aggregation.field, dot)?;
        }
    }
    let groups = group(input, &split_by, dot, skip_empty);
    let mut out = ctx.items_with_capacity(groups.len());
    for (key, members) in groups {
        let mut json = Value::EMPTY_OBJECT;
        for aggregation in &aggregations {
            let values: Vec<Value<'a>> = members
                .iter()
                .map(|&i| read_field(input[i].json, aggregation.field, dot))
                .collect();
            let value = aggregate(ctx.arena, aggregation, &values)?;
            let name = ctx.alloc_str(&output_name(aggregation.kind, aggregation.field));
            json = super::coerce::set_key(ctx.arena, json, name, value);
        }
        for (field, value) in split_by.iter().zip(key) {
            json = write_field(ctx.arena, json, field, value, false);
        }
        let paired = ctx
            .arena
            .alloc_slice_fill_iter(members.iter().map(|&i| PairedItem {
                item: i as u32,
                input: 0,
            }));
        out.push(Item {
            json,
            binary: Value::Undefined,
            paired,
        });
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

/// n8n fails when an aggregated field is in none of the items.
fn check_field_exists(items: &[Item<'_>], field: &str, dot: bool) -> Result<(), NodeError> {
    if items
        .iter()
        .any(|item| !matches!(read_field(item.json, field, dot), Value::Undefined))
    {
        Ok(())
    } else {
        Err(NodeError::new(
            CODE_FIELD,
            format!("The field '{field}' does not exist in any items"),
        ))
    }
}

/// Item indices per group, groups in order of first appearance.
#[allow(clippy::type_complexity)]
pub fn group<'a>(
    items: &[Item<'a>],
    split_by: &[&str],
    dot: bool,
    skip_empty: bool,
) -> Vec<(Vec<Value<'a>>, Vec<usize>)> {
    let mut groups: Vec<(Vec<Value<'a>>, Vec<usize>)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let key: Vec<Value<'a>> = split_by
            .iter()
            .map(|f| read_field(item.json, f, dot))
            .collect();
        if skip_empty
            && key
                .iter()
                .any(|v| v.is_nullish() || matches!(v, Value::String("")))
        {
            continue;
        }
        match groups
            .iter_mut()
            .find(|(k, _)| k.iter().zip(&key).all(|(a, b)| deep_equal(*a, *b)))
        {
            Some((_, members)) => members.push(index),
            None => groups.push((key, vec![index])),
        }
    }
    groups
}

/// JavaScript `a < b` for primitives: strings by UTF-16 units, otherwise as numbers.
fn js_less(a: Value<'_>, b: Value<'_>) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.encode_utf16().lt(y.encode_utf16()),
        _ => super::coerce::to_number(a) < super::coerce::to_number(b),
    }
}

/// The output field name of an aggregation: `<prefix>_<field>`, with brackets and quotes
/// removed and spaces and dots turned into `_` (n8n's clean-up of the keys).
pub fn output_name(kind: &str, field: &str) -> String {
    let prefix = match kind {
        "append" => "appended",
        "average" => "average",
        "concatenate" => "concatenated",
        "countUnique" => "unique_count",
        other => other,
    };
    let field: String = field
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | '"'))
        .map(|c| if matches!(c, ' ' | '.') { '_' } else { c })
        .collect();
    format!("{prefix}_{field}")
}

/// Applies one aggregation to the group's values.
pub fn aggregate<'a>(
    arena: &'a Bump,
    aggregation: &Aggregation<'_>,
    values: &[Value<'a>],
) -> Result<Value<'a>, NodeError> {
    let numbers = || {
        values.iter().filter_map(|v| match v {
            Value::Number(n) => Some(*n),
            _ => None,
        })
    };
    // n8n ignores null, undefined and "" unless "include empty values" is set (append,
    // concatenate, count, countUnique); sum and average read numbers only.
    let present = || {
        values
            .iter()
            .copied()
            .filter(|v| !matches!(v, Value::Undefined | Value::Null | Value::String("")))
    };
    let kept = || {
        values.iter().copied().filter(|v| {
            aggregation.include_empty
                || !matches!(v, Value::Undefined | Value::Null | Value::String(""))
        })
    };
    Ok(match aggregation.kind {
        "sum" => Value::Number(numbers().sum()),
        "count" => Value::Number(kept().count() as f64),
        "countUnique" => {
            let mut unique: Vec<Value<'a>> = Vec::new();
            for v in kept() {
                if !unique.iter().any(|u| deep_equal(*u, v)) {
                    unique.push(v);
                }
            }
            Value::Number(unique.len() as f64)
        }
        // min and max compare any non-empty values with JavaScript's `<` / `>`.
        "min" => present()
            .reduce(|best, v| if js_less(v, best) { v } else { best })
            .unwrap_or(Value::Null),
        "max" => present()
            .reduce(|best, v| if js_less(best, v) { v } else { best })
            .unwrap_or(Value::Null),
        "average" => {
            let count = numbers().count();
            if count == 0 {
                Value::Null
            } else {
                Value::Number(numbers().sum::<f64>() / count as f64)
            }
        }
        "append" => {
            let appended: Vec<Value<'a>> = if aggregation.include_empty {
                values
                    .iter()
                    .map(|v| {
                        if matches!(v, Value::Undefined) {
                            Value::Null
                        } else {
                            *v
                        }
                    })
                    .collect()
            } else {
                present().collect()
            };
            Value::Array(arena.alloc_slice_copy(&appended))
        }
        "concatenate" => {
            let parts: Vec<String> = kept()
                .map(|v| match v {
                    // `typeof null === "object"`: n8n JSON-encodes it, as objects.
                    Value::Object(_) | Value::Array(_) | Value::Null => json_string(v),
                    Value::Undefined => "undefined".to_owned(),
                    other => string_of(other),
                })
                .collect();
            Value::String(arena.alloc_str(&parts.join(aggregation.separator)))
        }
        other => {
            return Err(NodeError::new(
                CODE_AGGREGATION,
                format!("Unknown aggregation '{other}'"),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nodes::coerce::parse_json;

    fn agg<'p>(kind: &'p str) -> Aggregation<'p> {
        Aggregation {
            kind,
            field: "f",
            separator: ", ",
            include_empty: false,
        }
    }

    fn values<'a>(arena: &'a Bump, json: &str) -> Vec<Value<'a>> {
        parse_json(arena, json)
            .unwrap()
            .as_array()
            .unwrap()
            .to_vec()
    }

    #[test]
    fn numeric_aggregations_ignore_numeric_strings() {
        let arena = Bump::new();
        let v = values(&arena, r#"["5","7",null]"#);
        assert_eq!(
            json_string(aggregate(&arena, &agg("sum"), &v).unwrap()),
            "0"
        );
        assert_eq!(
            json_string(aggregate(&arena, &agg("average"), &v).unwrap()),
            "null"
        );
        let v = values(&arena, r#"[3,"x",1.5,10]"#);
        assert_eq!(
            json_string(aggregate(&arena, &agg("sum"), &v).unwrap()),
            "14.5"
        );
        assert_eq!(
            json_string(aggregate(&arena, &agg("min"), &v).unwrap()),
            "1.5"
        );
        assert_eq!(
            json_string(aggregate(&arena, &agg("max"), &v).unwrap()),
            "10"
        );
    }

    #[test]
    fn counting_skips_nulls_and_unique_counts_distinct_values() {
        let arena = Bump::new();
        let mut v = values(&arena, r#"[1,"1",1,null,"",{"a":1},{"a":1}]"#);
        v.push(Value::Undefined);
        assert_eq!(
            json_string(aggregate(&arena, &agg("count"), &v).unwrap()),
            "5"
        );
        assert_eq!(
            json_string(aggregate(&arena, &agg("countUnique"), &v).unwrap()),
            "3"
        );
    }

    #[test]
    fn append_and_concatenate_keep_unicode() {
        let arena = Bump::new();
        let v = values(&arena, r#"["é","😀",null,{"k":1}]"#);
        assert_eq!(
            json_string(aggregate(&arena, &agg("append"), &v).unwrap()),
            r#"["é","😀",{"k":1}]"#
        );
        assert_eq!(
            json_string(aggregate(&arena, &agg("concatenate"), &v).unwrap()),
            r#""é, 😀, {\"k\":1}""#
        );
    }

    #[test]
    fn groups_keep_value_types_and_first_appearance_order() {
        let arena = Bump::new();
        let items: Vec<Item<'_>> = [
            r#"{"c":"a"}"#,
            r#"{"c":1}"#,
            r#"{"c":"1"}"#,
            r#"{"c":"a"}"#,
            r#"{}"#,
        ]
        .iter()
        .map(|j| Item::new(parse_json(&arena, j).unwrap()))
        .collect();
        let groups = group(&items, &["c"], true, false);
        let members: Vec<Vec<usize>> = groups.iter().map(|(_, m)| m.clone()).collect();
        assert_eq!(members, [vec![0, 3], vec![1], vec![2], vec![4]]);
        assert_eq!(group(&items, &["c"], true, true).len(), 3);
    }

    #[test]
    fn output_names_follow_n8n() {
        assert_eq!(output_name("sum", "amount"), "sum_amount");
        assert_eq!(
            output_name("countUnique", "category"),
            "unique_count_category"
        );
        assert_eq!(output_name("append", "name"), "appended_name");
        assert_eq!(output_name("concatenate", "name"), "concatenated_name");
        assert_eq!(output_name("max", "a.b c[\"d\"]"), "max_a_b_cd");
    }

    #[test]
    fn unknown_aggregations_are_errors() {
        let arena = Bump::new();
        assert!(aggregate(&arena, &agg("median"), &[]).is_err());
    }
}
