//! Set ("Edit Fields"): v1/v2 (`values.{boolean,number,string}`, `keepOnlySet`) and
//! v3.0–3.4 (manual assignments with types, raw JSON mode, include all/selected/except).

use bumpalo::collections::Vec as BumpVec;
use linkflow_codec::plan::ArchivedPValue;

use super::coerce::{json_string, parse_json, set_key, set_path, string_of, string_to_number};
use crate::engine::item::Item;
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::{unique_empty, Value};

const CODE_TYPE: &str = "LF-NODE-SET-001";
const CODE_JSON: &str = "LF-NODE-SET-002";

/// Runs a Set node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let mut out = ctx.items_with_capacity(input.len());
    let legacy = ctx.version() < 3.0;
    for (i, item) in input.iter().enumerate() {
        let result = if legacy {
            legacy_item(ctx, i, item)
        } else {
            v3_item(ctx, i, item)
        };
        match result {
            Ok(json) => out.push(Item {
                json,
                binary: item.binary,
                paired: ctx.paired(i),
            }),
            Err(error) if ctx.continue_on_fail() => {
                // n8n's Set puts the lineage *inside* json here (pinned by the golden cases).
                let paired = Value::Object(
                    ctx.arena
                        .alloc_slice_copy(&[("item", Value::Number(i as f64))]),
                );
                let members = ctx.arena.alloc_slice_copy(&[
                    ("error", Value::String(ctx.alloc_str(&error.message))),
                    ("pairedItem", paired),
                ]);
                out.push(Item {
                    json: Value::Object(members),
                    binary: Value::Undefined,
                    paired: ctx.paired(i),
                });
            }
            Err(error) => return Err(error.at_item(i)),
        }
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

/// Set v1/v2: booleans, then numbers, then strings (n8n's grouping), no conversions
/// except `!!value` for booleans.
fn legacy_item<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    i: usize,
    item: &Item<'a>,
) -> Result<Value<'a>, NodeError> {
    let keep_only_set = ctx.param_bool("keepOnlySet", i, false)?;
    let dot_notation = ctx.param_bool("options.dotNotation", i, true)?;
    let mut json = if keep_only_set {
        Value::EMPTY_OBJECT
    } else {
        object_or_empty(item.json)
    };
    for group in ["values.boolean", "values.number", "values.string"] {
        let Some(ArchivedPValue::Array(entries)) = ctx.param_raw(group) else {
            continue;
        };
        for entry in entries.iter() {
            let name = match crate::engine::node::lookup(entry, "name") {
                Some(raw) => ctx.resolve(raw, i)?,
                None => Value::String(""),
            };
            let name = ctx.alloc_str(&name_string(name));
            let value = match crate::engine::node::lookup(entry, "value") {
                Some(raw) => ctx.resolve(raw, i)?,
                None => default_legacy_value(group),
            };
            let value = if group == "values.boolean" {
                Value::Bool(crate::engine::execution::is_truthy(value))
            } else {
                value
            };
            json = assign(ctx, json, name, value, dot_notation);
        }
    }
    Ok(if keep_only_set {
        fresh_if_empty(ctx, json, "none")
    } else {
        json
    })
}

fn default_legacy_value(group: &str) -> Value<'static> {
    match group {
        "values.boolean" => Value::Bool(false),
        "values.number" => Value::Number(0.0),
        _ => Value::String(""),
    }
}

/// Set v3.x for one item.
fn v3_item<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    i: usize,
    item: &Item<'a>,
) -> Result<Value<'a>, NodeError> {
    let version = ctx.version();
    let dot_notation = ctx.param_bool("options.dotNotation", i, true)?;
    let ignore_errors = ctx.param_bool("options.ignoreConversionErrors", i, false)?;
    let mode = ctx.param_str("mode", i, "manual")?;
    let new_fields: BumpVec<'a, (&'a str, Value<'a>)> = if mode == "raw" {
        raw_fields(ctx, i)?
    } else if version >= 3.3 {
        assignments(ctx, i, ignore_errors, "assignments.assignments")?
    } else {
        assignments(ctx, i, ignore_errors, "fields.values")?
    };
    let include = if version >= 3.3 {
        if ctx.param_bool("includeOtherFields", i, false)? {
            ctx.param_str("include", i, "all")?
        } else {
            "none"
        }
    } else {
        ctx.param_str("include", i, "none")?
    };
    let base = object_or_empty(item.json);
    let mut json = match include {
        "all" => base,
        "selected" => {
            let fields = field_list(ctx.param_str("includeFields", i, "")?);
            let mut out = Value::EMPTY_OBJECT;
            for field in fields {
                let value = super::coerce::get_path(base, field);
                if !matches!(value, Value::Undefined) {
                    out = set_path(ctx.arena, out, field, value);
                }
            }
            out
        }
        "except" => {
            let fields = field_list(ctx.param_str("excludeFields", i, "")?);
            let members = base.as_object().unwrap_or(&[]);
            let kept: Vec<_> = members
                .iter()
                .filter(|(k, _)| !fields.contains(k))
                .copied()
                .collect();
            Value::Object(ctx.arena.alloc_slice_copy(&kept))
        }
        _ => Value::EMPTY_OBJECT,
    };
    for (name, value) in new_fields {
        json = assign(ctx, json, name, value, dot_notation);
    }
    Ok(fresh_if_empty(ctx, json, include))
}

/// Set builds a new object: an empty one built here (no fields kept, none assigned) gets
/// an address of its own, as `===` compares addresses (see `value::unique_empty`). `all`
/// passes the input's object on, as before.
fn fresh_if_empty<'a>(ctx: &NodeCtx<'a, '_>, json: Value<'a>, include: &str) -> Value<'a> {
    match json {
        Value::Object([]) if include != "all" => {
            Value::Object(unique_empty(ctx.arena, ("", Value::Null)))
        }
        _ => json,
    }
}

/// `a, b ,c` -> `["a", "b", "c"]`.
fn field_list(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect()
}

fn object_or_empty(json: Value<'_>) -> Value<'_> {
    match json {
        Value::Object(_) => json,
        _ => Value::EMPTY_OBJECT,
    }
}

fn assign<'a>(
    ctx: &NodeCtx<'a, '_>,
    json: Value<'a>,
    name: &'a str,
    value: Value<'a>,
    dot_notation: bool,
) -> Value<'a> {
    if dot_notation {
        set_path(ctx.arena, json, name, value)
    } else {
        set_key(ctx.arena, json, name, value)
    }
}

fn name_string(name: Value<'_>) -> String {
    match name {
        Value::String(s) => s.to_owned(),
        Value::Undefined | Value::Null => String::new(),
        other => string_of(other),
    }
}

/// Manual mode: typed assignments (`assignments.assignments` in 3.3+, `fields.values`
/// with `stringValue`/`numberValue`/... before).
fn assignments<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    i: usize,
    ignore_errors: bool,
    path: &str,
) -> Result<BumpVec<'a, (&'a str, Value<'a>)>, NodeError> {
    let Some(ArchivedPValue::Array(entries)) = ctx.param_raw(path) else {
        return Ok(BumpVec::new_in(ctx.arena));
    };
    let mut out = BumpVec::with_capacity_in(entries.len(), ctx.arena);
    for entry in entries.iter() {
        let name = match crate::engine::node::lookup(entry, "name") {
            Some(raw) => ctx.resolve(raw, i)?,
            None => Value::String(""),
        };
        let name = ctx.alloc_str(&name_string(name));
        let type_raw = match crate::engine::node::lookup(entry, "type") {
            Some(ArchivedPValue::String(s)) => s.as_str(),
            _ => "string",
        };
        let (field_type, value_key) = match type_raw.strip_suffix("Value") {
            Some(t) => (t, type_raw),
            None => (type_raw, "value"),
        };
        let value = match crate::engine::node::lookup(entry, value_key) {
            Some(raw) => ctx.resolve(raw, i)?,
            None => Value::Undefined,
        };
        out.push((
            name,
            validate(ctx, name, field_type, value, i, ignore_errors)?,
        ));
    }
    Ok(out)
}

/// n8n's `validateEntry`: converts `value` to `field_type` or fails with n8n's message.
fn validate<'a>(
    ctx: &NodeCtx<'a, '_>,
    name: &str,
    field_type: &str,
    value: Value<'a>,
    i: usize,
    ignore_errors: bool,
) -> Result<Value<'a>, NodeError> {
    if value.is_nullish() {
        return Ok(Value::Null);
    }
    let arena = ctx.arena;
    let converted: Option<Value<'a>> = match field_type {
        "string" => Some(match value {
            Value::String(_) => value,
            Value::Object(_) | Value::Array(_) => {
                Value::String(arena.alloc_str(&json_string(value)))
            }
            other => Value::String(arena.alloc_str(&string_of(other))),
        }),
        "number" => {
            let n = match value {
                Value::Number(n) => n,
                Value::String(s) => string_to_number(s),
                other => super::coerce::to_number(other),
            };
            (!n.is_nan()).then_some(Value::Number(n))
        }
        "boolean" => parse_boolean(value).map(Value::Bool),
        "array" => match value {
            Value::Array(_) => Some(value),
            Value::String(s) => parse_json(arena, s)
                .or_else(|| parse_json(arena, &s.replace('\'', "\"")))
                .filter(|v| matches!(v, Value::Array(_))),
            _ => None,
        },
        "object" => match value {
            Value::Object(_) => Some(value),
            Value::String(s) => parse_json(arena, s).filter(|v| matches!(v, Value::Object(_))),
            _ => None,
        },
        // Unknown types pass through unchanged (n8n validates only known types).
        _ => Some(value),
    };
    match converted {
        Some(v) => Ok(v),
        None if ignore_errors => Ok(value),
        None => {
            let shown = match value {
                Value::Object(_) | Value::Array(_) => json_string(value),
                other => string_of(other),
            };
            Err(NodeError::new(CODE_TYPE, format!("'{name}' expects a {field_type} but we got '{shown}' [item {i}]"))
                .with_description(format!(
                    "To fix the error try to change the type for the field \"{name}\" or activate the option “Ignore Type Conversion Errors” to apply a less strict type validation"
                )))
        }
    }
}

/// n8n's `tryToParseBoolean`.
fn parse_boolean(value: Value<'_>) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        Value::String(s) if s.trim().is_empty() => None,
        other => {
            let n = super::coerce::to_number(other);
            if n == 0.0 {
                Some(false)
            } else if n == 1.0 {
                Some(true)
            } else {
                None
            }
        }
    }
}

/// Raw mode: `jsonOutput` as an object (an expression may give the object directly).
fn raw_fields<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    i: usize,
) -> Result<BumpVec<'a, (&'a str, Value<'a>)>, NodeError> {
    let value = ctx.param("jsonOutput", i)?;
    let parsed = match value {
        Value::String(s) => parse_json(ctx.arena, s),
        Value::Undefined => parse_json(ctx.arena, "{}"),
        other => Some(other),
    };
    match parsed {
        Some(Value::Object(members)) => {
            Ok(BumpVec::from_iter_in(members.iter().copied(), ctx.arena))
        }
        _ => Err(NodeError::new(
            CODE_JSON,
            format!("The 'JSON Output' in item {i} contains invalid JSON"),
        )),
    }
}
