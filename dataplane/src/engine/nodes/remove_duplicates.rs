//! Remove Duplicates v1/v1.1/v2: drops input items whose compared fields equal those of
//! an earlier item (all fields, all fields except some, or selected fields).
//!
//! As n8n's node, the comparison is lodash `isEqual` (deep, key order ignored), and the
//! compared fields must be present with one type in every item: a field missing from some
//! items, or holding different types across items (`null` excepted), fails the node.
//! v2's "items repeated in previous executions" needs persistent deduplication storage
//! that the engine does not have; it fails with a clear error.

use bumpalo::Bump;

use super::split_out::{field_names, read_field, write_field};
use crate::engine::item::Item;
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_MISSING: &str = "LF-NODE-DEDUP-001";
const CODE_TYPE: &str = "LF-NODE-DEDUP-002";
const CODE_UNSUPPORTED: &str = "LF-NODE-DEDUP-003";

/// Runs a Remove Duplicates node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    if ctx.version() >= 2.0 {
        let operation = ctx.param_str("operation", 0, "removeDuplicateInputItems")?;
        if operation != "removeDuplicateInputItems" {
            return Err(NodeError::new(
                CODE_UNSUPPORTED,
                format!("Remove Duplicates operation '{operation}' needs deduplication storage across executions, which is not supported"),
            ));
        }
    }
    remove_input_duplicates(ctx)
}

/// Drops input items whose compared fields repeat an earlier item's (Remove Duplicates
/// v1/v1.1 and v2's `removeDuplicateInputItems`, Item Lists' `removeDuplicates`).
pub fn remove_input_duplicates<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let compare = ctx.param_str("compare", 0, "allFields")?;
    let dot = !ctx.param_bool("options.disableDotNotation", 0, false)?;
    let remove_other = ctx.param_bool("options.removeOtherFields", 0, false)?;
    let keys: Vec<&'a str> = match compare {
        "allFieldsExcept" => {
            let excluded = field_list(ctx.param("fieldsToExclude", 0)?);
            all_keys(input)
                .into_iter()
                .filter(|k| !excluded.contains(k))
                .collect()
        }
        "selectedFields" => field_list(ctx.param("fieldsToCompare", 0)?),
        _ => all_keys(input),
    };
    check_fields(input, &keys, dot)?;
    let kept = dedupe(input, &keys, dot);
    let mut out = ctx.items_with_capacity(kept.len());
    for index in kept {
        let item = input[index];
        let json = if remove_other && compare == "selectedFields" {
            pick(ctx.arena, item.json, &keys, dot)
        } else {
            item.json
        };
        out.push(Item {
            json,
            binary: item.binary,
            paired: ctx.paired(index),
        });
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

/// A field list parameter: a comma-separated string (v1.1+) or v1's `{fields: [{fieldName}]}`.
pub fn field_list<'a>(value: Value<'a>) -> Vec<&'a str> {
    match value {
        Value::String(s) => field_names(s),
        Value::Object(_) => value
            .get("fields")
            .as_array()
            .unwrap_or(&[])
            .iter()
            .filter_map(|f| f.get("fieldName").as_str())
            .collect(),
        _ => Vec::new(),
    }
}

/// The union of the items' top-level keys, in order of first appearance.
pub fn all_keys<'a>(items: &[Item<'a>]) -> Vec<&'a str> {
    let mut keys: Vec<&'a str> = Vec::new();
    for item in items {
        for (key, _) in item.json.as_object().unwrap_or(&[]) {
            if !keys.contains(key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// n8n's validation: each key present in every item, with one JavaScript type.
pub fn check_fields(items: &[Item<'_>], keys: &[&str], dot: bool) -> Result<(), NodeError> {
    for key in keys {
        let mut seen_type: Option<&'static str> = None;
        for item in items {
            let value = read_field(item.json, key, dot);
            if matches!(value, Value::Undefined) {
                return Err(NodeError::new(
                    CODE_MISSING,
                    format!("'{key}' field is missing from some input items"),
                ));
            }
            if matches!(value, Value::Null) {
                continue;
            }
            let kind = type_of(value);
            match seen_type {
                Some(t) if t != kind => {
                    return Err(NodeError::new(
                        CODE_TYPE,
                        format!("'{key}' isn't always the same type"),
                    ))
                }
                _ => seen_type = Some(kind),
            }
        }
    }
    Ok(())
}

/// Indices of the items kept: the first of each group of equal items.
pub fn dedupe(items: &[Item<'_>], keys: &[&str], dot: bool) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let duplicate = kept.iter().any(|&k| {
            keys.iter().all(|key| {
                deep_equal(
                    read_field(items[k].json, key, dot),
                    read_field(item.json, key, dot),
                )
            })
        });
        if !duplicate {
            kept.push(index);
        }
    }
    kept
}

/// The listed fields of `json` only.
fn pick<'a>(arena: &'a Bump, json: Value<'a>, keys: &[&str], dot: bool) -> Value<'a> {
    keys.iter().fold(Value::EMPTY_OBJECT, |out, key| {
        match read_field(json, key, dot) {
            Value::Undefined => out,
            value => write_field(arena, out, key, value, dot),
        }
    })
}

/// JavaScript `typeof` (arrays and `null` are objects).
pub fn type_of(value: Value<'_>) -> &'static str {
    match value {
        Value::Undefined => "undefined",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Null | Value::Array(_) | Value::Object(_) => "object",
    }
}

/// lodash `isEqual`: deep, object key order ignored, `NaN` equal to itself.
pub fn deep_equal(a: Value<'_>, b: Value<'_>) -> bool {
    match (a, b) {
        (Value::Undefined, Value::Undefined) | (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_equal(*p, *q))
        }
        (Value::Object(x), Value::Object(y)) => {
            // Undefined members are absent for lodash too.
            let defined = |m: &&(&str, Value<'_>)| !matches!(m.1, Value::Undefined);
            x.iter().filter(defined).count() == y.iter().filter(defined).count()
                && x.iter()
                    .filter(defined)
                    .all(|(k, v)| deep_equal(*v, b.get(k)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nodes::coerce::parse_json;

    fn items<'a>(arena: &'a Bump, jsons: &[&str]) -> Vec<Item<'a>> {
        jsons
            .iter()
            .map(|j| Item::new(parse_json(arena, j).unwrap()))
            .collect()
    }

    #[test]
    fn equal_items_keep_the_first_regardless_of_key_order() {
        let arena = Bump::new();
        let input = items(
            &arena,
            &[
                r#"{"a":1,"b":2}"#,
                r#"{"b":2,"a":1}"#,
                r#"{"a":1,"b":3}"#,
                r#"{"a":1,"b":null}"#,
            ],
        );
        let keys = all_keys(&input);
        check_fields(&input, &keys, true).unwrap();
        assert_eq!(dedupe(&input, &keys, true), [0, 2, 3]);
    }

    #[test]
    fn a_missing_field_fails_with_n8n_message() {
        let arena = Bump::new();
        let input = items(&arena, &[r#"{"a":1,"b":2}"#, r#"{"a":1}"#]);
        let error = check_fields(&input, &all_keys(&input), true).unwrap_err();
        assert_eq!(error.message, "'b' field is missing from some input items");
    }

    #[test]
    fn mixed_types_fail_but_null_is_ignored() {
        let arena = Bump::new();
        let input = items(&arena, &[r#"{"b":2}"#, r#"{"b":"2"}"#]);
        let error = check_fields(&input, &["b"], true).unwrap_err();
        assert_eq!(error.message, "'b' isn't always the same type");
        let input = items(&arena, &[r#"{"b":2}"#, r#"{"b":null}"#]);
        assert!(check_fields(&input, &["b"], true).is_ok());
    }

    #[test]
    fn selected_nested_fields_compare_deeply_with_unicode() {
        let arena = Bump::new();
        let input = items(
            &arena,
            &[
                r#"{"u":{"n":"é😀"},"x":1}"#,
                r#"{"u":{"n":"é😀"},"x":2}"#,
                r#"{"u":{"n":"e"},"x":3}"#,
            ],
        );
        assert_eq!(dedupe(&input, &["u.n"], true), [0, 2]);
        assert_eq!(dedupe(&input, &["x"], true), [0, 1, 2]);
    }

    #[test]
    fn empty_input_keeps_nothing() {
        assert!(dedupe(&[], &["a"], true).is_empty());
        assert!(all_keys(&[]).is_empty());
    }
}
