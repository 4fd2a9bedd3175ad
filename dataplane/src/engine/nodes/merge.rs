//! Merge v1 (legacy modes), v2.x and v3.x. The engine decides when Merge runs (all inputs
//! or, where n8n allows it, partial input); this module produces the output from whatever
//! the inputs hold.

pub mod combine;

use combine::{
    combine_all, combine_by_fields, combine_by_position, Clash, FieldMatch, JoinMode, MergeOptions,
    OutputFrom,
};

use super::coerce::string_of;
use super::split_out::{field_names, read_field};
use crate::engine::item::{Item, PairedItem};
use crate::engine::node::{NodeCtx, NodeError, NodeOutcome, NodeResult};
use crate::engine::value::Value;

const CODE_MODE: &str = "LF-NODE-MERGE-001";
const CODE_FIELDS: &str = "LF-NODE-MERGE-002";

/// Runs a Merge node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let version = ctx.version();
    if version < 2.0 {
        return v1(ctx);
    }
    let mode = ctx.param_str("mode", 0, "append")?;
    match mode {
        "append" => {
            let inputs = if version >= 3.0 { input_count(ctx)? } else { 2 };
            Ok(append(ctx, inputs))
        }
        "combine" => {
            let by = if version >= 3.0 {
                ctx.param_str("combineBy", 0, "combineByFields")?
            } else {
                match ctx.param_str("combinationMode", 0, "mergeByFields")? {
                    "mergeByPosition" => "combineByPosition",
                    "multiplex" => "combineAll",
                    _ => "combineByFields",
                }
            };
            combine(ctx, by)
        }
        "chooseBranch" => choose_branch(ctx),
        "combineBySql" => Err(NodeError::new(
            CODE_MODE,
            "Merge mode 'combineBySql' (SQL query) is not supported",
        )),
        other => Err(NodeError::new(
            CODE_MODE,
            format!("Unknown Merge mode '{other}'"),
        )),
    }
}

/// v3 `numberInputs` (2 by default).
fn input_count(ctx: &mut NodeCtx<'_, '_>) -> Result<usize, NodeError> {
    let n = ctx.param_f64("numberInputs", 0, 2.0)?;
    Ok(if n.is_finite() && n >= 1.0 {
        n as usize
    } else {
        2
    })
}

/// All items of inputs `0..inputs`, in input order.
fn append<'a>(ctx: &NodeCtx<'a, '_>, inputs: usize) -> NodeOutcome<'a> {
    let count = inputs.max(ctx.inputs.len());
    let mut out = ctx.items_with_capacity(0);
    for input in 0..count {
        for (i, item) in ctx.input(input).iter().enumerate() {
            out.push(Item {
                paired: ctx.paired_input(i, input),
                ..*item
            });
        }
    }
    ctx.single_output(out.into_bump_slice())
}

/// `options.clashHandling.values` of v2/v3.
fn merge_options(ctx: &mut NodeCtx<'_, '_>) -> Result<MergeOptions, NodeError> {
    let clash = match ctx.param_str(
        "options.clashHandling.values.resolveClash",
        0,
        "preferInput2",
    )? {
        "preferInput1" => Clash::PreferInput1,
        "addSuffix" => Clash::AddSuffix,
        _ => Clash::PreferInput2,
    };
    let deep =
        ctx.param_str("options.clashHandling.values.mergeMode", 0, "deepMerge")? != "shallowMerge";
    Ok(MergeOptions { clash, deep })
}

fn combine<'a>(ctx: &mut NodeCtx<'a, '_>, by: &str) -> NodeResult<'a> {
    let options = merge_options(ctx)?;
    let (one, two) = (ctx.input(0), ctx.input(1));
    let items = match by {
        "combineByPosition" => {
            let include_unpaired = ctx.param_bool("options.includeUnpaired", 0, false)?;
            let count = if ctx.version() >= 3.0 {
                input_count(ctx)?.max(2)
            } else {
                2
            };
            let inputs: Vec<&'a [Item<'a>]> = (0..count).map(|i| ctx.input(i)).collect();
            // `preferInputN` names the winner; otherwise the last input wins.
            let clash = ctx.param_str("options.clashHandling.values.resolveClash", 0, "")?;
            let preferred = clash
                .strip_prefix("preferInput")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| (1..=count).contains(n))
                .map_or(count - 1, |n| n - 1);
            combine_by_position(ctx.arena, &inputs, preferred, include_unpaired, options)
        }
        "combineAll" => combine_all(ctx.arena, one, two, options),
        "combineByFields" => {
            let mut spec = field_match(ctx, options)?;
            // Without a clash option n8n prefers input 1 when enriching input 2.
            if spec.join == JoinMode::EnrichInput2
                && ctx
                    .param_raw("options.clashHandling.values.resolveClash")
                    .is_none()
            {
                spec.merge.clash = Clash::PreferInput1;
            }
            check_fields_present(one, &spec, true)?;
            check_fields_present(two, &spec, false)?;
            combine_by_fields(ctx.arena, one, two, &spec)
        }
        other => {
            return Err(NodeError::new(
                CODE_MODE,
                format!("Unknown combine mode '{other}'"),
            ))
        }
    };
    Ok(ctx.single_output(ctx.arena.alloc_slice_copy(&items)))
}

/// The matching parameters: v3's `fieldsToMatchString` (same names on both inputs) unless
/// `advanced`, else `mergeByFields.values[{field1, field2}]` (v2 always).
fn field_match<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    merge: MergeOptions,
) -> Result<FieldMatch<'a>, NodeError> {
    let advanced = ctx.version() < 3.0 || ctx.param_bool("advanced", 0, false)?;
    let fields: Vec<(&'a str, &'a str)> = if advanced {
        let pairs = ctx.param("mergeByFields.values", 0)?;
        pairs
            .as_array()
            .unwrap_or(&[])
            .iter()
            .map(|p| {
                (
                    p.get("field1").as_str().unwrap_or(""),
                    p.get("field2").as_str().unwrap_or(""),
                )
            })
            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
            .collect()
    } else {
        field_names(ctx.param_str("fieldsToMatchString", 0, "")?)
            .into_iter()
            .map(|f| (f, f))
            .collect()
    };
    if fields.is_empty() {
        return Err(NodeError::new(
            CODE_FIELDS,
            "You need to define at least one pair of fields in \"Fields to Match\" to match on",
        ));
    }
    Ok(FieldMatch {
        fields,
        join: JoinMode::parse(ctx.param_str("joinMode", 0, "keepMatches")?),
        output: OutputFrom::parse(ctx.param_str("outputDataFrom", 0, "both")?),
        fuzzy: ctx.param_bool("options.fuzzyCompare", 0, false)?,
        dot: !ctx.param_bool("options.disableDotNotation", 0, false)?,
        first_match_only: ctx.param_str("options.multipleMatches", 0, "all")? == "first",
        merge,
    })
}

/// n8n fails when a field to match is in none of an input's items (inputs with no items
/// are not checked).
fn check_fields_present(
    items: &[Item<'_>],
    spec: &FieldMatch<'_>,
    first: bool,
) -> Result<(), NodeError> {
    if items.is_empty() {
        return Ok(());
    }
    for (field1, field2) in &spec.fields {
        let field = if first { field1 } else { field2 };
        let present = items
            .iter()
            .any(|item| !matches!(read_field(item.json, field, spec.dot), Value::Undefined));
        if !present {
            let label = if first { "Input 1" } else { "Input 2" };
            return Err(NodeError::new(
                CODE_FIELDS,
                format!("Field '{field}' is not present in any of items in '{label}'"),
            ));
        }
    }
    Ok(())
}

/// chooseBranch: one input's items, or a single empty item.
fn choose_branch<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let output = ctx.param_str(
        "output",
        0,
        if ctx.version() >= 3.0 {
            "specifiedInput"
        } else {
            "input1"
        },
    )?;
    let input = match output {
        "empty" => {
            return Ok(ctx.single_output(
                ctx.arena
                    .alloc_slice_copy(&[Item::new(Value::EMPTY_OBJECT)]),
            ))
        }
        "input2" => 1,
        "specifiedInput" => {
            let n = ctx.param_f64("useDataOfInput", 0, 1.0)?;
            if n.is_finite() && n >= 1.0 {
                n as usize - 1
            } else {
                0
            }
        }
        _ => 0,
    };
    Ok(ctx.single_output(ctx.input(input)))
}

/// Merge v1's modes.
fn v1<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let (one, two) = (ctx.input(0), ctx.input(1));
    let mode = ctx.param_str("mode", 0, "append")?;
    let assign = MergeOptions {
        clash: Clash::PreferInput2,
        deep: false,
    };
    let items: Vec<Item<'a>> = match mode {
        "append" => return Ok(append(ctx, 2)),
        "multiplex" => combine_all(ctx.arena, one, two, assign),
        "passThrough" => {
            let input = usize::from(ctx.param_str("output", 0, "input1")? == "input2");
            return Ok(ctx.single_output(ctx.input(input)));
        }
        "wait" => {
            return Ok(ctx.single_output(
                ctx.arena
                    .alloc_slice_copy(&[Item::new(Value::EMPTY_OBJECT)]),
            ))
        }
        "mergeByIndex" => {
            let length = match ctx.param_str("join", 0, "left")? {
                "inner" => one.len().min(two.len()),
                "outer" => one.len().max(two.len()),
                _ => one.len(),
            };
            let mut out = Vec::with_capacity(length);
            for i in 0..length {
                let (a, b) = (one.get(i), two.get(i));
                let json = combine::merge_objects(
                    ctx.arena,
                    a.map_or(Value::EMPTY_OBJECT, |x| x.json),
                    b.map_or(Value::EMPTY_OBJECT, |x| x.json),
                    false,
                );
                let paired: Vec<PairedItem> = [(a, 0u32), (b, 1u32)]
                    .iter()
                    .filter(|(x, _)| x.is_some())
                    .map(|(_, input)| PairedItem {
                        item: i as u32,
                        input: *input,
                    })
                    .collect();
                out.push(Item {
                    json,
                    binary: Value::Undefined,
                    paired: ctx.arena.alloc_slice_copy(&paired),
                });
            }
            out
        }
        "mergeByKey" | "keepKeyMatches" | "removeKeyMatches" => {
            let key1 = ctx.param_str("propertyName1", 0, "")?;
            let key2 = ctx.param_str("propertyName2", 0, "")?;
            let overwrite = ctx.param_str("overwrite", 0, "always")?;
            // v1 compares keys as strings and looks them up with dots as paths.
            let keys2: Vec<Option<String>> = two
                .iter()
                .map(|b| key_string(read_field(b.json, key2, true)))
                .collect();
            let mut out = Vec::with_capacity(one.len());
            for (i, a) in one.iter().enumerate() {
                let key = key_string(read_field(a.json, key1, true));
                let found = key
                    .as_ref()
                    .and_then(|k| keys2.iter().position(|k2| k2.as_ref() == Some(k)));
                let keep = |item: &Item<'a>| Item {
                    paired: ctx.paired_input(i, 0),
                    ..*item
                };
                match (mode, found) {
                    ("keepKeyMatches", Some(_)) | ("removeKeyMatches", None) => out.push(keep(a)),
                    ("mergeByKey", Some(j)) => {
                        let json = merge_by_key(ctx, a.json, two[j].json, overwrite);
                        out.push(Item {
                            json,
                            binary: a.binary,
                            paired: ctx.paired_input(i, 0),
                        });
                    }
                    ("mergeByKey", None) => out.push(keep(a)),
                    _ => {}
                }
            }
            out
        }
        other => {
            return Err(NodeError::new(
                CODE_MODE,
                format!("Unknown Merge mode '{other}'"),
            ))
        }
    };
    Ok(ctx.single_output(ctx.arena.alloc_slice_copy(&items)))
}

fn key_string(value: Value<'_>) -> Option<String> {
    (!matches!(value, Value::Undefined)).then(|| string_of(value))
}

/// v1 mergeByKey: input 2's members over input 1's, `always`, only where input 1's is
/// `undefined`, or where it is blank (`undefined`, `null` or `""`).
fn merge_by_key<'a>(
    ctx: &NodeCtx<'a, '_>,
    a: Value<'a>,
    b: Value<'a>,
    overwrite: &str,
) -> Value<'a> {
    let mut json = a;
    for &(key, value) in b.as_object().unwrap_or(&[]) {
        let current = json.get(key);
        let write = match overwrite {
            "undefined" => matches!(current, Value::Undefined),
            "blank" => matches!(current, Value::Undefined | Value::Null | Value::String("")),
            _ => true,
        };
        if write {
            json = ctx.with_member(json, key, value);
        }
    }
    json
}
