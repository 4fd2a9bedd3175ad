//! XML v1: converts between XML text and JSON with xml2js's shapes (see [`parse`] and
//! [`build`]).
//!
//! - `xmlToJson` (the default): the string in `json[dataPropertyName]` is parsed and the
//!   parsed object *replaces* the item's json (n8n emits `{json: parsed}`);
//! - `jsonToxml`: the whole item json is written as XML into `{[dataPropertyName]: xml}`.
//!
//! Options are read once, for item 0, as n8n does. With "continue on fail", n8n's node
//! drops a failing item from its output (it writes the error into the *input* item it
//! never returns); the engine reproduces that.

pub mod build;
pub mod parse;

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;

use self::build::BuildOptions;
use self::parse::{ParseOptions, XValue};
use super::coerce::string_of;
use crate::engine::item::Item;
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_MISSING: &str = "LF-NODE-XML-001";
const CODE_PARSE: &str = "LF-NODE-XML-002";
const CODE_MODE: &str = "LF-NODE-XML-003";

/// Runs an XML node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let mode = ctx.param_str("mode", 0, "xmlToJson")?;
    let property = ctx.param_str("dataPropertyName", 0, "data")?;
    let options = ctx.param("options", 0)?;
    let text = |key: &str, default: &'a str| options.get(key).as_str().unwrap_or(default);
    let flag = |key: &str, default: bool| match options.get(key) {
        Value::Bool(b) => b,
        _ => default,
    };
    let mut out = ctx.items_with_capacity(input.len());
    for (i, item) in input.iter().enumerate() {
        let json = match mode {
            "xmlToJson" => {
                let parse_options = ParseOptions {
                    attr_key: text("attrkey", "$").to_owned(),
                    char_key: text("charkey", "_").to_owned(),
                    explicit_array: flag("explicitArray", false),
                    explicit_root: flag("explicitRoot", true),
                    ignore_attrs: flag("ignoreAttrs", false),
                    merge_attrs: flag("mergeAttrs", true),
                    normalize: flag("normalize", false),
                    normalize_tags: flag("normalizeTags", false),
                    trim: flag("trim", false),
                };
                xml_to_json(ctx.arena, item.json.get(property), property, &parse_options)
            }
            "jsonToxml" => {
                let build_options = BuildOptions {
                    attr_key: text("attrkey", "$"),
                    char_key: text("charkey", "_"),
                    cdata: flag("cdata", false),
                    headless: flag("headless", false),
                    root_name: text("rootName", "root"),
                };
                let xml = build::build(item.json, &build_options);
                let members = ctx
                    .arena
                    .alloc_slice_copy(&[(property, Value::String(ctx.alloc_str(&xml)))]);
                Ok(Value::Object(members))
            }
            other => Err(NodeError::new(
                CODE_MODE,
                format!("The operation \"{other}\" is not known!"),
            )),
        };
        match json {
            Ok(json) => out.push(Item {
                json,
                binary: Value::Undefined,
                paired: ctx.paired(i),
            }),
            Err(_) if ctx.continue_on_fail() => continue,
            Err(error) => return Err(error.at_item(i)),
        }
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

/// Parses the XML in `value` into an item json.
fn xml_to_json<'a>(
    arena: &'a Bump,
    value: Value<'a>,
    property: &str,
    options: &ParseOptions,
) -> Result<Value<'a>, NodeError> {
    if matches!(value, Value::Undefined) {
        return Err(NodeError::new(
            CODE_MISSING,
            format!("No json property \"{property}\" does not exists on item!"),
        ));
    }
    // xml2js parses `String(value)`.
    let source = match value {
        Value::String(s) => s.to_owned(),
        other => string_of(other),
    };
    match parse::parse(&source, options) {
        Ok(Some(parsed)) => Ok(match to_value(arena, &parsed) {
            json @ Value::Object(_) => json,
            // A root that is only text with `explicitRoot: false`: n8n would emit a bare
            // string as the item's json, which is no item at all; keep the shape valid.
            other => Value::Object(arena.alloc_slice_copy(&[("", other)])),
        }),
        Ok(None) => Ok(Value::EMPTY_OBJECT),
        Err(error) => Err(NodeError::new(CODE_PARSE, error.0)),
    }
}

/// Copies a parsed tree into the arena.
fn to_value<'a>(arena: &'a Bump, value: &XValue) -> Value<'a> {
    match value {
        XValue::Str(s) => Value::String(arena.alloc_str(s)),
        XValue::List(items) => {
            let mut out = BumpVec::with_capacity_in(items.len(), arena);
            out.extend(items.iter().map(|v| to_value(arena, v)));
            Value::Array(out.into_bump_slice())
        }
        XValue::Obj(members) => {
            let mut out = BumpVec::with_capacity_in(members.len(), arena);
            out.extend(
                members
                    .iter()
                    .map(|(k, v)| (&*arena.alloc_str(k), to_value(arena, v))),
            );
            Value::Object(out.into_bump_slice())
        }
    }
}
