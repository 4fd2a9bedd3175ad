//! Item Lists v1–v3.1: n8n's older "list helper" node, one node with six operations that
//! later became separate nodes. The engine runs each operation with the module of the
//! node it became, because n8n derived those nodes from these operations with the same
//! parameter names and output shapes:
//!
//! | Item Lists operation | became | module |
//! | --- | --- | --- |
//! | `aggregateItems` (v1, v2), `concatenateItems` (v3) | Aggregate | [`super::aggregate`] |
//! | `limit` | Limit | [`super::limit`] |
//! | `removeDuplicates` | Remove Duplicates v1 | [`super::remove_duplicates`] |
//! | `sort` | Sort | [`super::sort`] |
//! | `splitOutItems` (the default) | Split Out | [`super::split_out`] |
//! | `summarize` | Summarize | [`super::summarize`] |
//!
//! Version checks inside those modules read `ctx.version()`, which here is the Item Lists
//! version; so operations are dispatched to the version-independent entry points
//! (Remove Duplicates' v2 "across executions" branch must not apply to Item Lists 3.x).

use super::aggregate::{self, AggregateOptions, FieldSpec};
use super::remove_duplicates::{self, field_list};
use super::{limit, sort, split_out, summarize};
use crate::engine::item::{Item, PairedItem};
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_OPERATION: &str = "LF-NODE-ITEMLISTS-001";

/// Runs an Item Lists node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    // n8n reads the operation once, for item 0; its default is "Split Out Items".
    let operation = ctx.param_str("operation", 0, "splitOutItems")?;
    match operation {
        "aggregateItems" | "concatenateItems" => concatenate(ctx),
        "limit" => limit::run(ctx),
        "removeDuplicates" => remove_duplicates::remove_input_duplicates(ctx),
        "sort" => sort::run(ctx),
        "splitOutItems" => split_out::run(ctx),
        "summarize" => summarize::run(ctx),
        other => Err(NodeError::new(
            CODE_OPERATION,
            format!("Operation '{other}' is not recognized"),
        )),
    }
}

/// "Aggregate Items" (v1, v2) / "Concatenate Items" (v3): the Aggregate node's two modes.
/// v1 and v2 list included/excluded fields as `{fields: [{fieldName}]}`, v3 as a
/// comma-separated string; both are accepted.
fn concatenate<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let json =
        if ctx.param_str("aggregate", 0, "aggregateIndividualFields")? == "aggregateAllItemData" {
            let destination = ctx.param_str("destinationFieldName", 0, "data")?;
            let include = field_list(ctx.param("fieldsToInclude", 0)?);
            let exclude = field_list(ctx.param("fieldsToExclude", 0)?);
            aggregate::all_item_data(ctx.arena, input, destination, &include, &exclude)
        } else {
            let options = AggregateOptions {
                dot: !ctx.param_bool("options.disableDotNotation", 0, false)?,
                merge_lists: ctx.param_bool("options.mergeLists", 0, false)?,
                keep_missing: ctx.param_bool("options.keepMissing", 0, false)?,
            };
            let specs_value = ctx.param("fieldsToAggregate.fieldToAggregate", 0)?;
            let mut specs = Vec::new();
            for spec in specs_value.as_array().unwrap_or(&[]) {
                let input_field = spec.get("fieldToAggregate").as_str().unwrap_or("");
                let output = match spec.get("outputFieldName").as_str() {
                    Some(name) if !name.is_empty() => name,
                    _ if options.dot => input_field.rsplit('.').next().unwrap_or(input_field),
                    _ => input_field,
                };
                specs.push(FieldSpec {
                    input: input_field,
                    output,
                });
            }
            aggregate::individual_fields(ctx.arena, input, &specs, options)?
        };
    let paired = ctx
        .arena
        .alloc_slice_fill_iter((0..input.len()).map(|i| PairedItem {
            item: i as u32,
            input: 0,
        }));
    let item = Item {
        json,
        binary: Value::Undefined,
        paired,
    };
    Ok(ctx.single_output(ctx.arena.alloc_slice_copy(&[item])))
}
