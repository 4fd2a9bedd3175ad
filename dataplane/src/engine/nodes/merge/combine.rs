//! The combining algorithms of Merge, as pure functions over items: object merging with
//! clash handling, matching by fields, by position and every pair.

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;

use crate::engine::item::{Item, PairedItem};
use crate::engine::nodes::coerce::string_of;
use crate::engine::nodes::remove_duplicates::deep_equal;
use crate::engine::nodes::split_out::read_field;
use crate::engine::value::Value;

/// How clashing fields are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clash {
    /// Input 1's value wins.
    PreferInput1,
    /// Input 2's value wins (n8n's default).
    PreferInput2,
    /// Every field gets the suffix of its input (`name_1`, `name_2`).
    AddSuffix,
}

/// How two objects are merged.
#[derive(Debug, Clone, Copy)]
pub struct MergeOptions {
    /// Clash resolution.
    pub clash: Clash,
    /// lodash `merge` (nested objects merged) instead of `Object.assign`.
    pub deep: bool,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            clash: Clash::PreferInput2,
            deep: true,
        }
    }
}

/// Which items a field match keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinMode {
    /// Matched pairs only.
    KeepMatches,
    /// Unmatched items only.
    KeepNonMatches,
    /// Matched pairs, then unmatched items of input 1, then of input 2.
    KeepEverything,
    /// Matched pairs merged, then unmatched items of input 1.
    EnrichInput1,
    /// Matched pairs merged, then unmatched items of input 2.
    EnrichInput2,
}

impl JoinMode {
    /// Parses n8n's `joinMode`.
    pub fn parse(name: &str) -> JoinMode {
        match name {
            "keepNonMatches" => JoinMode::KeepNonMatches,
            "keepEverything" => JoinMode::KeepEverything,
            "enrichInput1" => JoinMode::EnrichInput1,
            "enrichInput2" => JoinMode::EnrichInput2,
            _ => JoinMode::KeepMatches,
        }
    }
}

/// Which input's data the "keep matches / keep non-matches" modes output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFrom {
    /// Merged data of both inputs.
    Both,
    /// Input 1's items.
    Input1,
    /// Input 2's items.
    Input2,
}

impl OutputFrom {
    /// Parses n8n's `outputDataFrom`.
    pub fn parse(name: &str) -> OutputFrom {
        match name {
            "input1" => OutputFrom::Input1,
            "input2" => OutputFrom::Input2,
            _ => OutputFrom::Both,
        }
    }
}

/// Parameters of combining by matching fields.
#[derive(Debug, Clone)]
pub struct FieldMatch<'p> {
    /// `(field of input 1, field of input 2)` pairs; all must be equal.
    pub fields: Vec<(&'p str, &'p str)>,
    /// What to keep.
    pub join: JoinMode,
    /// Whose data to output (keep matches / non-matches).
    pub output: OutputFrom,
    /// Compare loosely (`"1"` equals `1`).
    pub fuzzy: bool,
    /// Read fields as dotted paths.
    pub dot: bool,
    /// Only the first match of input 2 per input 1 item.
    pub first_match_only: bool,
    /// Object merging.
    pub merge: MergeOptions,
}

/// Merges `a` (input 1) and `b` (input 2) json objects.
pub fn merge_pair<'a>(
    arena: &'a Bump,
    a: Value<'a>,
    b: Value<'a>,
    options: MergeOptions,
) -> Value<'a> {
    match options.clash {
        Clash::PreferInput2 => merge_objects(arena, a, b, options.deep),
        // n8n merges every input in order, then the preferred one again: keys keep
        // input 1's order and input 1's values win.
        Clash::PreferInput1 => {
            let both = merge_objects(arena, a, b, options.deep);
            merge_objects(arena, both, a, options.deep)
        }
        Clash::AddSuffix => {
            let a = suffixed(arena, a, "_1");
            let b = suffixed(arena, b, "_2");
            merge_objects(arena, a, b, false)
        }
    }
}

/// `target` with the members of `source` assigned over it (deeply for lodash `merge`):
/// keys of `target` keep their places, new keys of `source` are appended, `undefined`
/// values of `source` are skipped.
pub fn merge_objects<'a>(
    arena: &'a Bump,
    target: Value<'a>,
    source: Value<'a>,
    deep: bool,
) -> Value<'a> {
    let base = target.as_object().unwrap_or(&[]);
    let mut out: BumpVec<'a, (&'a str, Value<'a>)> =
        BumpVec::with_capacity_in(base.len() + 4, arena);
    out.extend_from_slice(base);
    for &(key, value) in source.as_object().unwrap_or(&[]) {
        if matches!(value, Value::Undefined) {
            continue;
        }
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => {
                slot.1 = if deep {
                    merge_values(arena, slot.1, value)
                } else {
                    value
                }
            }
            None => out.push((key, value)),
        }
    }
    Value::Object(out.into_bump_slice())
}

/// lodash `merge` of two values: objects member-wise, arrays index-wise, otherwise the source.
fn merge_values<'a>(arena: &'a Bump, target: Value<'a>, source: Value<'a>) -> Value<'a> {
    match (target, source) {
        (Value::Object(_), Value::Object(_)) => merge_objects(arena, target, source, true),
        (Value::Array(t), Value::Array(s)) => {
            let length = t.len().max(s.len());
            Value::Array(arena.alloc_slice_fill_iter((0..length).map(|i| {
                match (t.get(i).copied(), s.get(i).copied()) {
                    (Some(x), Some(Value::Undefined)) => x,
                    (Some(x), Some(y)) => merge_values(arena, x, y),
                    (Some(x), None) => x,
                    (None, Some(y)) => y,
                    (None, None) => Value::Undefined,
                }
            })))
        }
        _ => source,
    }
}

fn suffixed<'a>(arena: &'a Bump, json: Value<'a>, suffix: &str) -> Value<'a> {
    let members = json.as_object().unwrap_or(&[]);
    Value::Object(
        arena.alloc_slice_fill_iter(
            members
                .iter()
                .map(|(k, v)| (&*arena.alloc_str(&format!("{k}{suffix}")), *v)),
        ),
    )
}

fn paired2(arena: &Bump, i: usize, j: usize) -> &[PairedItem] {
    arena.alloc_slice_copy(&[
        PairedItem {
            item: i as u32,
            input: 0,
        },
        PairedItem {
            item: j as u32,
            input: 1,
        },
    ])
}

fn paired1(arena: &Bump, i: usize, input: u32) -> &[PairedItem] {
    arena.alloc_slice_copy(&[PairedItem {
        item: i as u32,
        input,
    }])
}

/// An input item re-emitted by Merge, lineage pointing at `input`.
fn passed<'a>(arena: &'a Bump, item: &Item<'a>, index: usize, input: u32) -> Item<'a> {
    Item {
        json: item.json,
        binary: item.binary,
        paired: paired1(arena, index, input),
    }
}

/// Every input 1 item merged with every input 2 item (n8n "multiplex" / "combine all").
pub fn combine_all<'a>(
    arena: &'a Bump,
    one: &[Item<'a>],
    two: &[Item<'a>],
    options: MergeOptions,
) -> Vec<Item<'a>> {
    // n8n swaps the inputs when input 1 is preferred: input 2 drives the outer loop and
    // its keys come first.
    let swapped = options.clash == Clash::PreferInput1;
    let (outer, inner) = if swapped { (two, one) } else { (one, two) };
    let options = if swapped {
        MergeOptions {
            clash: Clash::PreferInput2,
            ..options
        }
    } else {
        options
    };
    let mut out = Vec::with_capacity(one.len() * two.len());
    for (i, a) in outer.iter().enumerate() {
        for (j, b) in inner.iter().enumerate() {
            out.push(Item {
                json: merge_pair(arena, a.json, b.json, options),
                binary: if matches!(b.binary, Value::Undefined) {
                    a.binary
                } else {
                    b.binary
                },
                paired: if swapped {
                    paired2(arena, j, i)
                } else {
                    paired2(arena, i, j)
                },
            });
        }
    }
    out
}

/// Items merged by position across any number of inputs (n8n v3 `numberInputs`);
/// `preferred` is the input whose values win clashes (merged last, after every input in
/// order). Unpaired positions are dropped or, with `include_unpaired`, merged from the
/// inputs that have them.
pub fn combine_by_position<'a>(
    arena: &'a Bump,
    inputs: &[&[Item<'a>]],
    preferred: usize,
    include_unpaired: bool,
    options: MergeOptions,
) -> Vec<Item<'a>> {
    let lengths = inputs.iter().map(|input| input.len());
    let length = if include_unpaired {
        lengths.max().unwrap_or(0)
    } else {
        lengths.min().unwrap_or(0)
    };
    let suffix = options.clash == Clash::AddSuffix;
    let mut out = Vec::with_capacity(length);
    for position in 0..length {
        let mut json = Value::EMPTY_OBJECT;
        let mut binary = Value::Undefined;
        let mut paired = Vec::with_capacity(inputs.len());
        let entries = inputs
            .iter()
            .enumerate()
            .chain(inputs.get(preferred).map(|input| (preferred, input)));
        for (index, input) in entries {
            let Some(item) = input.get(position) else {
                continue;
            };
            let entry = if suffix {
                suffixed(arena, item.json, &format!("_{}", index + 1))
            } else {
                item.json
            };
            json = merge_objects(arena, json, entry, options.deep && !suffix);
            if !matches!(item.binary, Value::Undefined) {
                binary = item.binary;
            }
            let link = PairedItem {
                item: position as u32,
                input: index as u32,
            };
            if !paired.contains(&link) {
                paired.push(link);
            }
        }
        out.push(Item {
            json,
            binary,
            paired: arena.alloc_slice_copy(&paired),
        });
    }
    out
}

/// Items matched on fields, per the join mode.
pub fn combine_by_fields<'a>(
    arena: &'a Bump,
    one: &[Item<'a>],
    two: &[Item<'a>],
    spec: &FieldMatch<'_>,
) -> Vec<Item<'a>> {
    // matches[i] = indices of input 2 items matching input 1 item i.
    let mut matches: Vec<Vec<usize>> = Vec::with_capacity(one.len());
    let mut matched_two = vec![false; two.len()];
    for a in one {
        let mut found = Vec::new();
        for (j, b) in two.iter().enumerate() {
            if spec.first_match_only && !found.is_empty() {
                break;
            }
            let equal = spec.fields.iter().all(|(f1, f2)| {
                let x = read_field(a.json, f1, spec.dot);
                let y = read_field(b.json, f2, spec.dot);
                !matches!(x, Value::Undefined)
                    && !matches!(y, Value::Undefined)
                    && values_match(x, y, spec.fuzzy)
            });
            if equal {
                found.push(j);
                matched_two[j] = true;
            }
        }
        matches.push(found);
    }
    let mut merged = Vec::new();
    for (i, found) in matches.iter().enumerate() {
        for &j in found {
            merged.push(Item {
                json: merge_matched(arena, one[i].json, two[j].json, spec.merge),
                binary: one[i].binary,
                paired: paired2(arena, i, j),
            });
        }
    }
    let unmatched_one = || {
        one.iter()
            .enumerate()
            .filter(|(i, _)| matches[*i].is_empty())
            .map(|(i, a)| passed(arena, a, i, 0))
    };
    let unmatched_two = || {
        two.iter()
            .enumerate()
            .filter(|(j, _)| !matched_two[*j])
            .map(|(j, b)| passed(arena, b, j, 1))
    };
    match spec.join {
        JoinMode::KeepMatches => match spec.output {
            OutputFrom::Both => merged,
            OutputFrom::Input1 => one
                .iter()
                .enumerate()
                .filter(|(i, _)| !matches[*i].is_empty())
                .map(|(i, a)| passed(arena, a, i, 0))
                .collect(),
            OutputFrom::Input2 => matches
                .iter()
                .flatten()
                .map(|&j| passed(arena, &two[j], j, 1))
                .collect(),
        },
        JoinMode::KeepNonMatches => match spec.output {
            OutputFrom::Input1 => unmatched_one().collect(),
            OutputFrom::Input2 => unmatched_two().collect(),
            OutputFrom::Both => {
                let source = |item: Item<'a>, name: &'static str| Item {
                    json: merge_objects(
                        arena,
                        item.json,
                        Value::Object(arena.alloc_slice_copy(&[("_source", Value::String(name))])),
                        false,
                    ),
                    ..item
                };
                unmatched_one()
                    .map(|item| source(item, "input1"))
                    .chain(unmatched_two().map(|item| source(item, "input2")))
                    .collect()
            }
        },
        JoinMode::KeepEverything => merged
            .into_iter()
            .chain(unmatched_one())
            .chain(unmatched_two())
            .collect(),
        JoinMode::EnrichInput1 => merged.into_iter().chain(unmatched_one()).collect(),
        JoinMode::EnrichInput2 => merged.into_iter().chain(unmatched_two()).collect(),
    }
}

/// Merges a field match: unlike the other modes, n8n starts from the input 2 item when
/// input 1 is preferred, so input 2's keys come first.
fn merge_matched<'a>(
    arena: &'a Bump,
    a: Value<'a>,
    b: Value<'a>,
    options: MergeOptions,
) -> Value<'a> {
    match options.clash {
        Clash::PreferInput1 => merge_objects(arena, b, a, options.deep),
        _ => merge_pair(arena, a, b, options),
    }
}

/// Field equality: deep and strict, or loose (`"1" == 1`, `"true" == true`) when fuzzy.
fn values_match(x: Value<'_>, y: Value<'_>, fuzzy: bool) -> bool {
    if deep_equal(x, y) {
        return true;
    }
    fuzzy
        && !matches!(x, Value::Object(_) | Value::Array(_))
        && !matches!(y, Value::Object(_) | Value::Array(_))
        && !x.is_nullish()
        && !y.is_nullish()
        && string_of(x) == string_of(y)
}

#[cfg(test)]
#[path = "combine_tests.rs"]
mod tests;
