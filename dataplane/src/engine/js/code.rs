//! Code node (v1, v2) and legacy Function / FunctionItem bodies: run the code, then turn
//! what it returned into items the way n8n normalises them.

use bumpalo::Bump;
use rquickjs::{Ctx, Value as JsValue};

use super::bridge;
use super::error::{JsError, JsErrorKind};
use super::runtime::{JsRuntime, SourceKind};
use crate::engine::expr::Scope;
use crate::engine::item::{Item, PairedItem};
use crate::engine::node::{JsMode, JsOutput};
use crate::engine::value::Value;

/// Keys an object may have to count as an item (`{json, binary, pairedItem}`) rather than
/// as a plain json object that gets wrapped.
const ITEM_KEYS: [&str; 5] = ["json", "binary", "pairedItem", "error", "index"];

impl JsRuntime {
    /// Runs a Code / Function / FunctionItem body for `scope`.
    ///
    /// - [`JsMode::AllItems`], [`JsMode::LegacyFunction`]: `$input.all()` / `items` are the
    ///   input items; returns [`JsOutput::Items`] (objects are wrapped as `{json}`; missing
    ///   lineage is filled in as n8n does: one input item, or as many outputs as inputs).
    /// - [`JsMode::EachItem`]: `$json`, `$input.item`, `item` are input item
    ///   `scope.item_index()`; returns [`JsOutput::Items`] with zero or one item.
    /// - [`JsMode::LegacyFunctionItem`]: `item` is the item's json; returns
    ///   [`JsOutput::Value`] (the new json).
    ///
    /// Errors carry the message and the user's line; see [`JsError::into_node_error`].
    pub fn run_code<'a>(
        &mut self,
        scope: &dyn Scope<'a>,
        code: &str,
        mode: JsMode,
    ) -> Result<JsOutput<'a>, JsError> {
        let arena = scope.arena();
        let inputs = scope.input_items().len();
        // FunctionItem's `item` is the json itself: bound as a parameter so the body
        // stays on line 1.
        let wrapped;
        let body = if mode == JsMode::LegacyFunctionItem {
            wrapped = format!("return (function(item){{{code}\n}}).call(this, $json);");
            wrapped.as_str()
        } else {
            code
        };
        self.call(scope, SourceKind::Code, body, |ctx, value| match mode {
            JsMode::AllItems | JsMode::LegacyFunction => {
                all_items(ctx, arena, value, inputs).map(JsOutput::Items)
            }
            JsMode::EachItem => each_item(ctx, arena, value).map(JsOutput::Items),
            JsMode::LegacyFunctionItem => function_item(ctx, arena, value).map(JsOutput::Value),
        })
    }
}

fn shape_error(message: &str, description: String) -> JsError {
    let mut error = JsError::new(JsErrorKind::Result, message);
    error.description = Some(description);
    error
}

fn all_items<'a, 'js>(
    ctx: &Ctx<'js>,
    arena: &'a Bump,
    value: &JsValue<'js>,
    inputs: usize,
) -> Result<&'a [Item<'a>], JsError> {
    let converted = bridge::from_js(ctx, arena, value)?;
    let elements: &[Value<'a>] =
        match converted {
            Value::Array(elements) => elements,
            Value::Object(_) => arena.alloc_slice_copy(&[converted]),
            _ => return Err(shape_error(
                "Code doesn't return items properly",
                "Please return an array of objects, one for each item you would like to output."
                    .to_owned(),
            )),
        };
    let mut items = bumpalo::collections::Vec::with_capacity_in(elements.len(), arena);
    for (index, element) in elements.iter().enumerate() {
        let mut item = to_item(arena, *element).ok_or_else(|| {
            shape_error(
                "Code doesn't return items properly",
                "Please return an array of objects, one for each item you would like to output."
                    .to_owned(),
            )
        })?;
        if item.paired.is_empty() {
            // n8n's lineage fallback when the code did not set `pairedItem`.
            let source = if inputs == 1 {
                Some(0)
            } else if elements.len() == inputs {
                Some(index)
            } else {
                None
            };
            if let Some(source) = source {
                item.paired = arena.alloc_slice_copy(&[PairedItem {
                    item: source as u32,
                    input: 0,
                }]);
            }
        }
        items.push(item);
    }
    Ok(items.into_bump_slice())
}

fn each_item<'a, 'js>(
    ctx: &Ctx<'js>,
    arena: &'a Bump,
    value: &JsValue<'js>,
) -> Result<&'a [Item<'a>], JsError> {
    let converted = bridge::from_js(ctx, arena, value)?;
    match converted {
        Value::Undefined | Value::Null => Ok(&[]),
        Value::Object(_) => {
            let item = to_item(arena, converted).ok_or_else(|| not_an_object(converted))?;
            Ok(arena.alloc_slice_copy(&[item]))
        }
        other => Err(not_an_object(other)),
    }
}

fn function_item<'a, 'js>(
    ctx: &Ctx<'js>,
    arena: &'a Bump,
    value: &JsValue<'js>,
) -> Result<Value<'a>, JsError> {
    match bridge::from_js(ctx, arena, value)? {
        object @ Value::Object(_) => Ok(object),
        other => Err(not_an_object(other)),
    }
}

fn not_an_object(returned: Value<'_>) -> JsError {
    let mut text = Vec::new();
    returned.write_json(&mut text);
    shape_error(
        "Code doesn't return an object",
        format!(
            "Please return an object representing the output item. ('{}' was returned instead.)",
            String::from_utf8_lossy(&text)
        ),
    )
}

/// An element of the returned array as an item: `{json, binary?, pairedItem?}` objects
/// are items, any other object is the json of a new item. Arrays and scalars are not items.
fn to_item<'a>(arena: &'a Bump, element: Value<'a>) -> Option<Item<'a>> {
    let members = element.as_object()?;
    let is_item = matches!(element.get("json"), Value::Object(_))
        && members.iter().all(|(k, _)| ITEM_KEYS.contains(k));
    if !is_item {
        return Some(Item::new(element));
    }
    Some(Item {
        json: element.get("json"),
        binary: match element.get("binary") {
            binary @ Value::Object(_) => binary,
            _ => Value::Undefined,
        },
        paired: paired_items(arena, element.get("pairedItem")),
    })
}

/// `pairedItem` as n8n accepts it: a number, `{item, input?}`, or an array of those.
fn paired_items<'a>(arena: &'a Bump, value: Value<'a>) -> &'a [PairedItem] {
    let one = |v: Value<'a>| -> Option<PairedItem> {
        match v {
            Value::Number(n) if n >= 0.0 => Some(PairedItem {
                item: n as u32,
                input: 0,
            }),
            Value::Object(_) => match (v.get("item"), v.get("input")) {
                (Value::Number(item), Value::Number(input)) => Some(PairedItem {
                    item: item.max(0.0) as u32,
                    input: input.max(0.0) as u32,
                }),
                (Value::Number(item), _) => Some(PairedItem {
                    item: item.max(0.0) as u32,
                    input: 0,
                }),
                _ => None,
            },
            _ => None,
        }
    };
    match value {
        Value::Array(list) => {
            let mut out = bumpalo::collections::Vec::with_capacity_in(list.len(), arena);
            out.extend(list.iter().filter_map(|v| one(*v)));
            out.into_bump_slice()
        }
        other => match one(other) {
            Some(p) => arena.alloc_slice_copy(&[p]),
            None => &[],
        },
    }
}
