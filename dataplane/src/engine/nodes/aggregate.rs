//! Aggregate v1: gathers values of individual fields across all items into lists, or all
//! item data into one list, in a single output item.
//!
//! As in n8n, `null` and missing values are skipped unless `keepMissing` is set (then they
//! are kept as `null`), `mergeLists` flattens list values one level, and binaries are not
//! carried (the engine has no binary data yet, so `includeBinaries` has no effect).

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;

use super::split_out::{field_names, read_field, write_field};
use crate::engine::item::{Item, PairedItem};
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_FIELD: &str = "LF-NODE-AGGREGATE-001";

/// One field to aggregate.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec<'p> {
    /// Input field path.
    pub input: &'p str,
    /// Output field name.
    pub output: &'p str,
}

/// Aggregation options.
#[derive(Debug, Clone, Copy, Default)]
pub struct AggregateOptions {
    /// Read and write dotted paths.
    pub dot: bool,
    /// Flatten list values into the output list.
    pub merge_lists: bool,
    /// Keep `null`/missing values as `null`.
    pub keep_missing: bool,
}

/// Runs an Aggregate node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let options = AggregateOptions {
        dot: !ctx.param_bool("options.disableDotNotation", 0, false)?,
        merge_lists: ctx.param_bool("options.mergeLists", 0, false)?,
        keep_missing: ctx.param_bool("options.keepMissing", 0, false)?,
    };
    let json =
        if ctx.param_str("aggregate", 0, "aggregateIndividualFields")? == "aggregateAllItemData" {
            let destination = ctx.param_str("destinationFieldName", 0, "data")?;
            let include = field_names(ctx.param_str("fieldsToInclude", 0, "")?);
            let exclude = field_names(ctx.param_str("fieldsToExclude", 0, "")?);
            all_item_data(ctx.arena, input, destination, &include, &exclude)
        } else {
            let specs_value = ctx.param("fieldsToAggregate.fieldToAggregate", 0)?;
            let mut specs = Vec::new();
            for spec in specs_value.as_array().unwrap_or(&[]) {
                let input_field = spec.get("fieldToAggregate").as_str().unwrap_or("");
                // n8n uses a non-empty `outputFieldName` even when "rename" is off, else the
                // last segment of a dotted path.
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
            individual_fields(ctx.arena, input, &specs, options)?
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

/// The output json of "individual fields".
pub fn individual_fields<'a>(
    arena: &'a Bump,
    items: &[Item<'a>],
    specs: &[FieldSpec<'_>],
    options: AggregateOptions,
) -> Result<Value<'a>, NodeError> {
    if specs.is_empty() {
        return Err(NodeError::new(CODE_FIELD, "No fields specified")
            .with_description("Please add a field to aggregate"));
    }
    let mut json = Value::EMPTY_OBJECT;
    let mut seen: Vec<&str> = Vec::new();
    for spec in specs {
        if seen.contains(&spec.output) {
            return Err(NodeError::new(
                CODE_FIELD,
                format!("The '{}' output field is used more than once", spec.output),
            )
            .with_description("Please make sure each output field name is unique"));
        }
        seen.push(spec.output);
        if spec.input.is_empty() {
            continue;
        }
        let mut values = BumpVec::with_capacity_in(items.len(), arena);
        for item in items {
            let value = match read_field(item.json, spec.input, options.dot) {
                Value::Undefined | Value::Null if !options.keep_missing => continue,
                Value::Undefined => Value::Null,
                // Without keepMissing, n8n also drops null entries inside lists.
                Value::Array(elements) if !options.keep_missing => Value::Array(
                    BumpVec::from_iter_in(
                        elements
                            .iter()
                            .copied()
                            .filter(|e| !matches!(e, Value::Null)),
                        arena,
                    )
                    .into_bump_slice(),
                ),
                value => value,
            };
            match value {
                Value::Array(elements) if options.merge_lists => values.extend_from_slice(elements),
                value => values.push(value),
            }
        }
        json = write_field(
            arena,
            json,
            spec.output,
            Value::Array(values.into_bump_slice()),
            options.dot,
        );
    }
    Ok(json)
}

/// The output json of "all item data": `{destination: [json, ...]}`, each json reduced to
/// the included top-level keys and stripped of the excluded ones; with such lists, jsons
/// left empty are dropped (as n8n does).
pub fn all_item_data<'a>(
    arena: &'a Bump,
    items: &[Item<'a>],
    destination: &str,
    include: &[&str],
    exclude: &[&str],
) -> Value<'a> {
    let filtering = !include.is_empty() || !exclude.is_empty();
    let mut data = BumpVec::with_capacity_in(items.len(), arena);
    for item in items {
        if !filtering {
            data.push(item.json);
            continue;
        }
        let members = item.json.as_object().unwrap_or(&[]);
        let kept: &[(&str, Value<'a>)] = BumpVec::from_iter_in(
            members
                .iter()
                .filter(|(k, _)| {
                    !exclude.contains(k) && (include.is_empty() || include.contains(k))
                })
                .copied(),
            arena,
        )
        .into_bump_slice();
        if !kept.is_empty() {
            data.push(Value::Object(kept));
        }
    }
    let key: &str = arena.alloc_str(destination);
    Value::Object(arena.alloc_slice_copy(&[(key, Value::Array(data.into_bump_slice()))]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nodes::coerce::{json_string, parse_json};

    fn items<'a>(arena: &'a Bump, jsons: &[&str]) -> Vec<Item<'a>> {
        jsons
            .iter()
            .map(|j| Item::new(parse_json(arena, j).unwrap()))
            .collect()
    }

    const DOT: AggregateOptions = AggregateOptions {
        dot: true,
        merge_lists: false,
        keep_missing: false,
    };

    #[test]
    fn nulls_and_missing_values_are_skipped_and_renames_apply() {
        let arena = Bump::new();
        let input = items(
            &arena,
            &[
                r#"{"name":"a","tags":["x","y"]}"#,
                r#"{"name":"b"}"#,
                r#"{"tags":["z"]}"#,
                r#"{"name":null,"tags":[]}"#,
            ],
        );
        let specs = [
            FieldSpec {
                input: "name",
                output: "name",
            },
            FieldSpec {
                input: "tags",
                output: "allTags",
            },
        ];
        let json = individual_fields(&arena, &input, &specs, DOT).unwrap();
        assert_eq!(
            json_string(json),
            r#"{"name":["a","b"],"allTags":[["x","y"],["z"],[]]}"#
        );
    }

    #[test]
    fn keep_missing_and_merge_lists_change_the_lists() {
        let arena = Bump::new();
        let input = items(&arena, &[r#"{"t":["é"]}"#, r#"{}"#, r#"{"t":[1,2]}"#]);
        let specs = [FieldSpec {
            input: "t",
            output: "t",
        }];
        let options = AggregateOptions {
            dot: true,
            merge_lists: true,
            keep_missing: true,
        };
        let json = individual_fields(&arena, &input, &specs, options).unwrap();
        assert_eq!(json_string(json), r#"{"t":["é",null,1,2]}"#);
    }

    #[test]
    fn no_fields_or_duplicate_outputs_are_errors() {
        let arena = Bump::new();
        assert_eq!(
            individual_fields(&arena, &[], &[], DOT)
                .unwrap_err()
                .message,
            "No fields specified"
        );
        let specs = [
            FieldSpec {
                input: "a",
                output: "x",
            },
            FieldSpec {
                input: "b",
                output: "x",
            },
        ];
        let error = individual_fields(&arena, &[], &specs, DOT).unwrap_err();
        assert_eq!(error.message, "The 'x' output field is used more than once");
    }

    #[test]
    fn nulls_inside_lists_are_dropped_without_keep_missing() {
        let arena = Bump::new();
        let input = items(&arena, &[r#"{"t":[null,"a"]}"#]);
        let specs = [FieldSpec {
            input: "t",
            output: "t",
        }];
        assert_eq!(
            json_string(individual_fields(&arena, &input, &specs, DOT).unwrap()),
            r#"{"t":[["a"]]}"#
        );
    }

    #[test]
    fn all_item_data_collects_jsons_under_the_destination() {
        let arena = Bump::new();
        let input = items(&arena, &[r#"{"id":1,"nested":{"a":[1]}}"#, r#"{"id":2}"#]);
        let json = all_item_data(&arena, &input, "data", &[], &[]);
        assert_eq!(
            json_string(json),
            r#"{"data":[{"id":1,"nested":{"a":[1]}},{"id":2}]}"#
        );
        let json = all_item_data(&arena, &input, "rows", &[], &["nested"]);
        assert_eq!(json_string(json), r#"{"rows":[{"id":1},{"id":2}]}"#);
        let json = all_item_data(&arena, &input, "d", &["nested"], &[]);
        assert_eq!(json_string(json), r#"{"d":[{"nested":{"a":[1]}}]}"#);
    }
}
