//! Sort v1: orders items by fields (strings compared lower-cased, then with JavaScript's
//! `<`), randomly, or by a custom JavaScript comparator (run by the engine's JavaScript).
//!
//! n8n's comparator is not a total order for mixed types (`"a" < 1` and `1 < "a"` are both
//! false), and Rust's slice sorts may panic on such comparators, so the sort here is a
//! small stable merge sort that tolerates any comparator, as JavaScript's does.

use std::cmp::Ordering;

use super::coerce::{string_of, to_number};
use super::remove_duplicates::deep_equal;
use super::split_out::read_field;
use crate::engine::item::Item;
use crate::engine::node::{JsMode, JsOutput, NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_UNSUPPORTED: &str = "LF-NODE-SORT-001";

/// One sort key.
#[derive(Debug, Clone, Copy)]
pub struct SortField<'p> {
    /// Field path.
    pub name: &'p str,
    /// Ascending (default) or descending.
    pub descending: bool,
}

/// Runs a Sort node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let kind = ctx.param_str("type", 0, "simple")?;
    let mut order: Vec<usize> = (0..input.len()).collect();
    match kind {
        "simple" => {
            let dot = !ctx.param_bool("options.disableDotNotation", 0, false)?;
            let fields_value = ctx.param("sortFieldsUi.sortField", 0)?;
            let fields: Vec<SortField<'a>> = fields_value
                .as_array()
                .unwrap_or(&[])
                .iter()
                .map(|f| SortField {
                    name: f.get("fieldName").as_str().unwrap_or(""),
                    descending: f.get("order").as_str() == Some("descending"),
                })
                .collect();
            order = sort_indices(input, &fields, dot);
        }
        "random" => {
            // A seeded generator keeps runs reproducible for a given clock and node.
            let seed = (ctx.now_ms as u64) ^ (u64::from(ctx.node_index) << 32) ^ 0x9E37_79B9;
            shuffle(&mut order, seed);
        }
        "code" => {
            // n8n compiles the code as `function (a, b) { code }` and sorts the items
            // with it; the engine's JavaScript runs the same over `$input.all()`.
            let code = ctx.param_str("code", 0, "")?;
            let program = format!(
                "const __compare = function (a, b) {{\n{code}\n}};\nreturn $input.all().slice().sort(__compare);"
            );
            return match ctx.host.run_js(&program, JsMode::AllItems, 0)? {
                JsOutput::Items(items) => Ok(ctx.single_output(items)),
                JsOutput::Value(_) => Err(NodeError::new(
                    CODE_UNSUPPORTED,
                    "Sort code did not produce items",
                )),
            };
        }
        other => {
            return Err(NodeError::new(
                CODE_UNSUPPORTED,
                format!("Sort type '{other}' is not supported"),
            ))
        }
    }
    let mut out = ctx.items_with_capacity(order.len());
    for index in order {
        out.push(Item {
            paired: ctx.paired(index),
            ..input[index]
        });
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

/// The item order after sorting by `fields` (stable).
pub fn sort_indices(items: &[Item<'_>], fields: &[SortField<'_>], dot: bool) -> Vec<usize> {
    let order: Vec<usize> = (0..items.len()).collect();
    merge_sort(order, &|&a: &usize, &b: &usize| {
        compare_items(items[a].json, items[b].json, fields, dot)
    })
}

/// n8n's comparator: the first field whose (lower-cased) values differ decides.
fn compare_items(a: Value<'_>, b: Value<'_>, fields: &[SortField<'_>], dot: bool) -> Ordering {
    for field in fields {
        let x = read_field(a, field.name, dot);
        let y = read_field(b, field.name, dot);
        let (lx, ly) = (lower(x), lower(y));
        let equal = match (&lx, &ly) {
            (Some(p), Some(q)) => p == q,
            (Some(_), None) | (None, Some(_)) => false,
            (None, None) => deep_equal(x, y),
        };
        if equal {
            continue;
        }
        let less = js_less(x, y, lx.as_deref(), ly.as_deref());
        return match (less, field.descending) {
            (true, false) | (false, true) => Ordering::Less,
            _ => Ordering::Greater,
        };
    }
    Ordering::Equal
}

fn lower(value: Value<'_>) -> Option<String> {
    value.as_str().map(str::to_lowercase)
}

/// JavaScript `a < b` on (already lower-cased) strings or other primitives.
fn js_less(a: Value<'_>, b: Value<'_>, la: Option<&str>, lb: Option<&str>) -> bool {
    fn primitive(v: Value<'_>) -> Value<'_> {
        match v {
            Value::Array(_) | Value::Object(_) => Value::Undefined,
            other => other,
        }
    }
    match (la, lb) {
        (Some(x), Some(y)) => x.encode_utf16().lt(y.encode_utf16()),
        _ => {
            // Objects and arrays compare through their string form, as `ToPrimitive` does.
            let sa = matches!(a, Value::Array(_) | Value::Object(_)).then(|| string_of(a));
            let sb = matches!(b, Value::Array(_) | Value::Object(_)).then(|| string_of(b));
            let sa = sa.or_else(|| la.map(str::to_owned));
            let sb = sb.or_else(|| lb.map(str::to_owned));
            if let (Some(x), Some(y)) = (&sa, &sb) {
                return x.encode_utf16().lt(y.encode_utf16());
            }
            let na = sa.map_or_else(|| to_number(primitive(a)), |s| to_number(Value::String(&s)));
            let nb = sb.map_or_else(|| to_number(primitive(b)), |s| to_number(Value::String(&s)));
            na < nb
        }
    }
}

/// A stable top-down merge sort that never panics, whatever the comparator answers.
fn merge_sort<T: Copy>(items: Vec<T>, compare: &dyn Fn(&T, &T) -> Ordering) -> Vec<T> {
    if items.len() <= 1 {
        return items;
    }
    let middle = items.len() / 2;
    let right = items[middle..].to_vec();
    let mut left = items;
    left.truncate(middle);
    let left = merge_sort(left, compare);
    let right = merge_sort(right, compare);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if compare(&right[j], &left[i]) == Ordering::Less {
            out.push(right[j]);
            j += 1;
        } else {
            out.push(left[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&left[i..]);
    out.extend_from_slice(&right[j..]);
    out
}

/// Fisher–Yates with a xorshift generator.
fn shuffle(order: &mut [usize], seed: u64) {
    let mut state = seed | 1;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nodes::coerce::parse_json;
    use bumpalo::Bump;

    fn sorted(jsons: &[&str], fields: &[SortField<'_>]) -> Vec<usize> {
        let arena = Bump::new();
        let items: Vec<Item<'_>> = jsons
            .iter()
            .map(|j| Item::new(parse_json(&arena, j).unwrap()))
            .collect();
        sort_indices(&items, fields, true)
    }

    const GROUP: SortField<'static> = SortField {
        name: "group",
        descending: false,
    };
    const SCORE_DESC: SortField<'static> = SortField {
        name: "score",
        descending: true,
    };

    #[test]
    fn strings_compare_case_insensitively_then_next_field_decides() {
        let order = sorted(
            &[
                r#"{"group":"b","score":1}"#,
                r#"{"group":"A","score":2}"#,
                r#"{"group":"a","score":3}"#,
                r#"{"group":"B","score":5}"#,
                r#"{"group":"a","score":10}"#,
            ],
            &[GROUP, SCORE_DESC],
        );
        assert_eq!(order, [4, 2, 1, 3, 0]);
    }

    #[test]
    fn numeric_strings_sort_lexicographically() {
        let order = sorted(
            &[
                r#"{"score":"10"}"#,
                r#"{"score":"9"}"#,
                r#"{"score":"100"}"#,
            ],
            &[SCORE_DESC],
        );
        assert_eq!(order, [1, 2, 0]);
    }

    #[test]
    fn missing_and_mixed_values_keep_a_stable_order_without_panicking() {
        let order = sorted(
            &[
                r#"{"group":1}"#,
                r#"{}"#,
                r#"{"group":"x"}"#,
                r#"{"group":null}"#,
                r#"{"group":[2]}"#,
            ],
            &[GROUP],
        );
        assert_eq!(order.len(), 5);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn unicode_strings_compare_by_utf16_units() {
        let order = sorted(
            &[r#"{"group":"é"}"#, r#"{"group":"z"}"#, r#"{"group":"😀"}"#],
            &[GROUP],
        );
        assert_eq!(order, [1, 0, 2]);
    }

    #[test]
    fn shuffle_is_a_permutation_and_reproducible() {
        let mut a: Vec<usize> = (0..20).collect();
        let mut b = a.clone();
        shuffle(&mut a, 42);
        shuffle(&mut b, 42);
        assert_eq!(a, b);
        let mut check = a.clone();
        check.sort_unstable();
        assert_eq!(check, (0..20).collect::<Vec<_>>());
    }
}
