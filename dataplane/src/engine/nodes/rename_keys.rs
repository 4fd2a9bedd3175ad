//! Rename Keys v1: moves values from one key (dotted path) to another, and optionally
//! renames keys matching a regular expression (top level or down to a depth).

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use regex::RegexBuilder;

use super::coerce::{get_path, path_segments, set_path, Segment};
use crate::engine::item::Item;
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_REGEX: &str = "LF-NODE-RENAME-001";
/// Regular expressions larger than this (compiled) are refused: a bound on memory per node.
const REGEX_BYTES_MAX: usize = 1 << 20;

/// Runs a Rename Keys node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let mut out = ctx.items_with_capacity(input.len());
    for (i, item) in input.iter().enumerate() {
        let pairs_value = ctx.param("keys.key", i)?;
        let mut json = item.json;
        for pair in pairs_value.as_array().unwrap_or(&[]) {
            let current = pair.get("currentKey").as_str().unwrap_or("");
            let new = pair.get("newKey").as_str().unwrap_or("");
            json = rename(ctx.arena, json, current, new);
        }
        let replacements = ctx.param("additionalOptions.regexReplacement.replacements", i)?;
        for replacement in replacements.as_array().unwrap_or(&[]) {
            let search = replacement.get("searchRegex").as_str().unwrap_or("");
            let replace = replacement.get("replaceRegex").as_str().unwrap_or("");
            let options = replacement.get("options");
            let case_insensitive = matches!(options.get("caseInsensitive"), Value::Bool(true));
            let depth = match options.get("depth") {
                Value::Number(n) => n,
                _ => -1.0,
            };
            let regex = RegexBuilder::new(search)
                .case_insensitive(case_insensitive)
                .size_limit(REGEX_BYTES_MAX)
                .build()
                .map_err(|e| {
                    NodeError::new(CODE_REGEX, format!("Invalid regular expression: {e}"))
                        .at_item(i)
                })?;
            let replace = js_replacement(replace);
            json = rename_matching(
                ctx.arena,
                json,
                &|key: &str| regex.replace_all(key, replace.as_str()).into_owned(),
                depth,
                0,
            );
        }
        out.push(Item {
            json,
            binary: item.binary,
            paired: ctx.paired(i),
        });
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

/// Moves the value at `current` to `new` (n8n: `set` then `unset`); a missing key, or an
/// empty name, leaves the json unchanged.
pub fn rename<'a>(arena: &'a Bump, json: Value<'a>, current: &str, new: &str) -> Value<'a> {
    if current.is_empty() || new.is_empty() || current == new {
        return json;
    }
    let value = get_path(json, current);
    if matches!(value, Value::Undefined) {
        return json;
    }
    let json = set_path(arena, json, new, value);
    unset_path(arena, json, &path_segments(current))
}

/// lodash `unset`: removes the member at a path (arrays keep their length; the element
/// becomes a hole, printed as `null`).
pub fn unset_path<'a>(arena: &'a Bump, json: Value<'a>, segments: &[Segment<'_>]) -> Value<'a> {
    let Some((first, rest)) = segments.split_first() else {
        return json;
    };
    match (json, first) {
        (Value::Object(members), Segment::Key(_) | Segment::Index(_)) => {
            let key = match first {
                Segment::Key(k) => (*k).to_owned(),
                Segment::Index(i) => i.to_string(),
            };
            let mut out = BumpVec::with_capacity_in(members.len(), arena);
            for &(k, v) in members {
                if k != key {
                    out.push((k, v));
                } else if !rest.is_empty() {
                    out.push((k, unset_path(arena, v, rest)));
                }
            }
            Value::Object(out.into_bump_slice())
        }
        (Value::Array(elements), Segment::Index(i)) if *i < elements.len() => {
            let mut out = elements.to_vec();
            out[*i] = if rest.is_empty() {
                Value::Undefined
            } else {
                unset_path(arena, out[*i], rest)
            };
            Value::Array(arena.alloc_slice_copy(&out))
        }
        _ => json,
    }
}

/// Renames the keys of objects down to `depth` levels (`-1` = all levels).
fn rename_matching<'a>(
    arena: &'a Bump,
    json: Value<'a>,
    rename: &dyn Fn(&str) -> String,
    depth: f64,
    level: u32,
) -> Value<'a> {
    let deeper = depth < 0.0 || f64::from(level) < depth;
    match json {
        Value::Object(members) => {
            let mut out: BumpVec<'a, (&'a str, Value<'a>)> =
                BumpVec::with_capacity_in(members.len(), arena);
            for &(k, v) in members {
                let v = if deeper {
                    rename_matching(arena, v, rename, depth, level + 1)
                } else {
                    v
                };
                let new_key = rename(k);
                let new_key: &'a str = if new_key == k {
                    k
                } else {
                    arena.alloc_str(&new_key)
                };
                // A renamed key that clashes with an existing one replaces it, as an
                // assignment in JavaScript would.
                if let Some(slot) = out.iter_mut().find(|(existing, _)| *existing == new_key) {
                    slot.1 = v;
                } else {
                    out.push((new_key, v));
                }
            }
            Value::Object(out.into_bump_slice())
        }
        Value::Array(elements) if deeper => Value::Array(
            arena.alloc_slice_fill_iter(
                elements
                    .iter()
                    .map(|v| rename_matching(arena, *v, rename, depth, level)),
            ),
        ),
        other => other,
    }
}

/// JavaScript replacement patterns (`$1`, `$&`, `$$`) in the regex crate's syntax.
fn js_replacement(replace: &str) -> String {
    let mut out = String::with_capacity(replace.len());
    let mut chars = replace.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('$') => {
                chars.next();
                out.push_str("$$");
            }
            Some('&') => {
                chars.next();
                out.push_str("${0}");
            }
            Some(d) if d.is_ascii_digit() => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                out.push_str(&format!("${{{digits}}}"));
            }
            _ => out.push_str("$$"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nodes::coerce::{json_string, parse_json};

    #[test]
    fn nested_keys_move_and_the_source_is_removed() {
        let arena = Bump::new();
        let json = parse_json(
            &arena,
            r#"{"first_name":"Ann","address":{"city":"Oslo","zip":"0150"}}"#,
        )
        .unwrap();
        let json = rename(&arena, json, "first_name", "firstName");
        let json = rename(&arena, json, "address.city", "city");
        assert_eq!(
            json_string(json),
            r#"{"address":{"zip":"0150"},"firstName":"Ann","city":"Oslo"}"#
        );
    }

    #[test]
    fn a_missing_key_leaves_the_item_unchanged() {
        let arena = Bump::new();
        let json = parse_json(&arena, r#"{"other":1}"#).unwrap();
        assert_eq!(
            json_string(rename(&arena, json, "first_name", "x")),
            r#"{"other":1}"#
        );
    }

    #[test]
    fn regex_renames_respect_depth_and_js_groups() {
        let arena = Bump::new();
        let json = parse_json(&arena, r#"{"é_a":{"é_b":1}}"#).unwrap();
        let regex = regex::Regex::new("é_(.)").unwrap();
        let replace = js_replacement("x$1");
        let f = |k: &str| regex.replace_all(k, replace.as_str()).into_owned();
        assert_eq!(
            json_string(rename_matching(&arena, json, &f, 0.0, 0)),
            r#"{"xa":{"é_b":1}}"#
        );
        assert_eq!(
            json_string(rename_matching(&arena, json, &f, -1.0, 0)),
            r#"{"xa":{"xb":1}}"#
        );
    }

    #[test]
    fn js_replacement_patterns_translate() {
        assert_eq!(js_replacement("$1-$&-$$"), "${1}-${0}-$$");
    }
}
