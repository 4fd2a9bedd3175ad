//! Split Out v1: turns a list (or several lists zipped by index) inside each item into
//! one item per element.
//!
//! n8n's behaviour, pinned by the golden cases: a missing field or an empty list gives
//! no items for that input item, a scalar gives one item, an object is split into its
//! values; with several fields, element `i` of each list goes into item `i` and a list
//! that is too short simply leaves its field out.

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;

use super::coerce::{get_path, set_key, set_path};
use crate::engine::item::Item;
use crate::engine::node::{NodeCtx, NodeError, NodeResult};

const CODE_DESTINATIONS: &str = "LF-NODE-SPLITOUT-001";
const CODE_INCLUDE: &str = "LF-NODE-SPLITOUT-002";
use crate::engine::value::Value;

/// Runs a Split Out node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let mut out = ctx.items_with_capacity(input.len());
    for (i, item) in input.iter().enumerate() {
        let fields = ctx.param_str("fieldToSplitOut", i, "")?;
        let include = ctx.param_str("include", i, "noOtherFields")?;
        let selected = ctx.param_str("fieldsToInclude", i, "")?;
        let destination = ctx.param_str("options.destinationFieldName", i, "")?;
        let dot = !ctx.param_bool("options.disableDotNotation", i, false)?;
        let include_binary = ctx.param_bool("options.includeBinary", i, false)?;
        // n8n strips a leading `$json.` from each field name.
        let fields: Vec<&str> = fields
            .split(',')
            .map(|f| f.trim().trim_start_matches("$json."))
            .collect();
        let destinations = field_names(destination);
        if !destinations.is_empty() && destinations.len() != fields.len() {
            return Err(NodeError::new(
                CODE_DESTINATIONS,
                "If multiple fields to split out are given, the same number of destination fields must be given",
            )
            .at_item(i));
        }
        let include = Include::parse(include, selected);
        if matches!(&include, Include::Selected(names) if names.is_empty()) {
            return Err(NodeError::new(CODE_INCLUDE, "No fields specified")
                .with_description("Please add a field to include")
                .at_item(i));
        }
        let options = SplitOptions {
            fields: &fields,
            include,
            destinations: &destinations,
            dot,
        };
        for json in split_item(ctx.arena, item.json, &options) {
            out.push(Item {
                json,
                binary: if include_binary {
                    item.binary
                } else {
                    Value::Undefined
                },
                paired: ctx.paired(i),
            });
        }
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

/// Which of the item's other fields go along with each split element.
#[derive(Debug, Clone, PartialEq)]
pub enum Include<'p> {
    /// Only the split fields.
    NoOtherFields,
    /// Every other field of the item.
    AllOtherFields,
    /// The listed fields.
    Selected(Vec<&'p str>),
}

impl<'p> Include<'p> {
    /// Reads the `include` parameter (`selected` is the `fieldsToInclude` list).
    pub fn parse(include: &str, selected: &'p str) -> Include<'p> {
        match include {
            "allOtherFields" => Include::AllOtherFields,
            "selectedOtherFields" => Include::Selected(field_names(selected)),
            _ => Include::NoOtherFields,
        }
    }
}

/// The parameters of one split.
#[derive(Debug, Clone)]
pub struct SplitOptions<'p, 'f> {
    /// Fields to split (zipped by index when several).
    pub fields: &'f [&'p str],
    /// Other fields to carry along.
    pub include: Include<'p>,
    /// Output field name per split field (empty = the fields' own names).
    pub destinations: &'f [&'p str],
    /// Read and write fields as dotted paths.
    pub dot: bool,
}

/// Splits one item's json into the jsons of the output items.
pub fn split_item<'a>(
    arena: &'a Bump,
    json: Value<'a>,
    options: &SplitOptions<'_, '_>,
) -> Vec<Value<'a>> {
    let lists: Vec<&'a [Value<'a>]> = options
        .fields
        .iter()
        .map(|field| as_list(arena, read_field(json, field, options.dot)))
        .collect();
    let count = lists.iter().map(|l| l.len()).max().unwrap_or(0);
    let single = options.fields.len() == 1;
    let mut out = Vec::with_capacity(count);
    for index in 0..count {
        // The split fields first, as n8n builds them.
        let mut entry = Value::EMPTY_OBJECT;
        for (position, (field, list)) in options.fields.iter().zip(&lists).enumerate() {
            let Some(&element) = list.get(index) else {
                continue;
            };
            let destination = options.destinations.get(position).copied().unwrap_or("");
            let spread = single
                && destination.is_empty()
                && options.include == Include::NoOtherFields
                && matches!(element, Value::Object(_));
            if spread {
                // One field of objects: the object's members become the item.
                entry = super::merge::combine::merge_objects(arena, entry, element, false);
                continue;
            }
            let name = if destination.is_empty() {
                field
            } else {
                destination
            };
            entry = set_key(arena, entry, arena.alloc_str(name), element);
        }
        let entry = match &options.include {
            Include::NoOtherFields => entry,
            Include::AllOtherFields => {
                let rest = without_fields(arena, json, options.fields, options.dot);
                super::merge::combine::merge_objects(arena, rest, entry, false)
            }
            Include::Selected(names) => names.iter().fold(entry, |entry, name| {
                // Copied under the literal name, after the split fields (n8n assigns
                // `json[field] = get(item, field)`).
                set_key(
                    arena,
                    entry,
                    arena.alloc_str(name),
                    read_field(json, name, options.dot),
                )
            }),
        };
        out.push(entry);
    }
    out
}

/// The list a field splits into: arrays as they are, objects into their values, a
/// missing field into nothing and any other value into itself.
fn as_list<'a>(arena: &'a Bump, value: Value<'a>) -> &'a [Value<'a>] {
    match value {
        Value::Undefined => &[],
        Value::Array(elements) => elements,
        Value::Object(members) => arena.alloc_slice_fill_iter(members.iter().map(|(_, v)| *v)),
        other => arena.alloc_slice_copy(&[other]),
    }
}

/// `json` without the split fields (lodash `unset` on dotted paths, else top-level keys).
fn without_fields<'a>(arena: &'a Bump, json: Value<'a>, fields: &[&str], dot: bool) -> Value<'a> {
    let mut json = json;
    for field in fields {
        json = if dot {
            super::rename_keys::unset_path(arena, json, &super::coerce::path_segments(field))
        } else {
            let members = json.as_object().unwrap_or(&[]);
            let mut out = BumpVec::with_capacity_in(members.len(), arena);
            out.extend(members.iter().filter(|(k, _)| k != field).copied());
            Value::Object(out.into_bump_slice())
        };
    }
    json
}

/// A comma-separated field list (`"a, b ,c"`), blanks dropped.
pub fn field_names(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect()
}

/// Reads a field: a dotted path (lodash `get`) or, without dot notation, a plain key.
pub fn read_field<'a>(json: Value<'a>, field: &str, dot: bool) -> Value<'a> {
    if dot {
        get_path(json, field)
    } else {
        json.get(field)
    }
}

/// Writes a field: a dotted path (lodash `set`) or, without dot notation, a plain key.
pub fn write_field<'a>(
    arena: &'a Bump,
    json: Value<'a>,
    field: &str,
    value: Value<'a>,
    dot: bool,
) -> Value<'a> {
    if dot {
        set_path(arena, json, field, value)
    } else {
        set_key(arena, json, arena.alloc_str(field), value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nodes::coerce::{json_string, parse_json};

    fn split(json: &str, fields: &[&str], include: Include<'_>, destination: &str) -> Vec<String> {
        let arena = Bump::new();
        let json = parse_json(&arena, json).unwrap();
        let destinations = field_names(destination);
        let options = SplitOptions {
            fields,
            include,
            destinations: &destinations,
            dot: true,
        };
        split_item(&arena, json, &options)
            .into_iter()
            .map(json_string)
            .collect()
    }

    #[test]
    fn objects_in_a_single_list_become_the_items() {
        let out = split(
            r#"{"a":[{"x":1},{"x":2}]}"#,
            &["a"],
            Include::NoOtherFields,
            "",
        );
        assert_eq!(out, [r#"{"x":1}"#, r#"{"x":2}"#]);
    }

    #[test]
    fn scalars_go_under_the_field_name_or_destination() {
        let out = split(r#"{"t":["é","😀"]}"#, &["t"], Include::NoOtherFields, "");
        assert_eq!(out, [r#"{"t":"é"}"#, r#"{"t":"😀"}"#]);
        let out = split(r#"{"t":[1]}"#, &["t"], Include::NoOtherFields, "tag");
        assert_eq!(out, [r#"{"tag":1}"#]);
    }

    #[test]
    fn missing_fields_and_empty_lists_give_no_items() {
        assert!(split(r#"{"id":3}"#, &["tags"], Include::AllOtherFields, "").is_empty());
        assert!(split(r#"{"tags":[]}"#, &["tags"], Include::AllOtherFields, "").is_empty());
    }

    #[test]
    fn a_scalar_gives_one_item_and_an_object_its_values() {
        let out = split(
            r#"{"id":4,"tags":"solo"}"#,
            &["tags"],
            Include::AllOtherFields,
            "",
        );
        assert_eq!(out, [r#"{"id":4,"tags":"solo"}"#]);
        let out = split(
            r#"{"o":{"a":1,"b":"x"}}"#,
            &["o"],
            Include::NoOtherFields,
            "",
        );
        assert_eq!(out, [r#"{"o":1}"#, r#"{"o":"x"}"#]);
    }

    #[test]
    fn several_fields_are_zipped_by_index() {
        let out = split(
            r#"{"names":["ann","bob","cy"],"ages":[30,40]}"#,
            &["names", "ages"],
            Include::NoOtherFields,
            "",
        );
        assert_eq!(
            out,
            [
                r#"{"names":"ann","ages":30}"#,
                r#"{"names":"bob","ages":40}"#,
                r#"{"names":"cy"}"#
            ]
        );
    }

    #[test]
    fn selected_other_fields_are_copied_along() {
        let out = split(
            r#"{"id":1,"skip":true,"deep":{"k":2},"l":[7]}"#,
            &["l"],
            Include::Selected(vec!["id", "deep.k"]),
            "",
        );
        assert_eq!(out, [r#"{"l":7,"id":1,"deep.k":2}"#]);
    }

    #[test]
    fn field_lists_are_trimmed() {
        assert_eq!(field_names(" a, b ,,c "), ["a", "b", "c"]);
    }
}
