//! Code (v1, v2: JavaScript, runOnceForAllItems / runOnceForEachItem) and the legacy
//! Function / FunctionItem nodes. The JavaScript itself runs in the runtime's JS engine
//! through [`crate::engine::node::Host::run_js`].

use linkflow_codec::plan::ArchivedNodeKind;

use crate::engine::item::Item;
use crate::engine::node::{JsMode, JsOutput, NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_LANGUAGE: &str = "LF-NODE-CODE-001";

/// Runs a Code, Function or FunctionItem node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let (code_param, mode) = match ctx.node.kind {
        ArchivedNodeKind::Function => ("functionCode", JsMode::LegacyFunction),
        ArchivedNodeKind::FunctionItem => ("functionCode", JsMode::LegacyFunctionItem),
        _ => {
            let language = ctx.param_str("language", 0, "javaScript")?;
            if language != "javaScript" {
                return Err(NodeError::new(
                    CODE_LANGUAGE,
                    format!("LF-NODE-CODE-001: language '{language}' is not supported"),
                ));
            }
            let each = ctx.param_str("mode", 0, "runOnceForAllItems")? == "runOnceForEachItem";
            (
                "jsCode",
                if each {
                    JsMode::EachItem
                } else {
                    JsMode::AllItems
                },
            )
        }
    };
    let code = ctx.param_str(code_param, 0, "")?;
    match mode {
        JsMode::AllItems | JsMode::LegacyFunction => {
            let items = match ctx.host.run_js(code, mode, 0) {
                Ok(output) => output_items(ctx, output, None),
                Err(error) if ctx.continue_on_fail() => ctx
                    .arena
                    .alloc_slice_copy(&[Item::new(error_json(ctx, &error))]),
                Err(error) => return Err(error),
            };
            Ok(ctx.single_output(items))
        }
        JsMode::EachItem | JsMode::LegacyFunctionItem => {
            let input = ctx.main_input();
            let mut out = ctx.items_with_capacity(input.len());
            for i in 0..input.len() {
                match ctx.host.run_js(code, mode, i) {
                    Ok(output) => out.extend_from_slice(output_items(ctx, output, Some(i))),
                    Err(error) if ctx.continue_on_fail() => {
                        out.push(Item {
                            json: error_json(ctx, &error),
                            binary: Value::Undefined,
                            paired: ctx.paired(i),
                        });
                    }
                    Err(error) => return Err(error.at_item(i)),
                }
            }
            Ok(ctx.single_output(out.into_bump_slice()))
        }
    }
}

/// The items JavaScript produced; each-item results are paired with their input item.
fn output_items<'a>(
    ctx: &NodeCtx<'a, '_>,
    output: JsOutput<'a>,
    item: Option<usize>,
) -> &'a [Item<'a>] {
    let items: &'a [Item<'a>] = match output {
        JsOutput::Items(items) => items,
        JsOutput::Value(Value::Undefined | Value::Null) => &[],
        JsOutput::Value(json) => ctx.arena.alloc_slice_copy(&[Item::new(json)]),
    };
    match item {
        Some(i) if items.iter().any(|it| it.paired.is_empty()) => {
            let paired = ctx.paired(i);
            ctx.arena.alloc_slice_fill_iter(items.iter().map(|it| {
                if it.paired.is_empty() {
                    Item { paired, ..*it }
                } else {
                    *it
                }
            }))
        }
        _ => items,
    }
}

fn error_json<'a>(ctx: &NodeCtx<'a, '_>, error: &NodeError) -> Value<'a> {
    Value::Object(
        ctx.arena
            .alloc_slice_copy(&[("error", Value::String(ctx.alloc_str(&error.message)))]),
    )
}
