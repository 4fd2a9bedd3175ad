//! Array methods: JavaScript's `Array.prototype` (non-mutating forms) and n8n's array
//! extensions (`first`, `unique`, `pluck`, `sum`, `chunk`, ...).

use bumpalo::collections::{String as BumpString, Vec as BumpVec};

use super::eval::{type_error, Eval, Res};
use super::scope::Scope;
use super::val::{self, Val};
use crate::engine::value::Value;

fn arg<'a>(args: &[Val<'a>], i: usize) -> Val<'a> {
    args.get(i).copied().unwrap_or(Val::Undefined)
}

/// Deep equality as lodash's `isEqual` (n8n's `unique`, `difference`, ...).
pub(crate) fn deep_equal(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Undefined, Value::Undefined) | (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| k == k2 && deep_equal(v, v2)))
        }
        _ => false,
    }
}

/// SameValueZero on stored values (`includes`).
fn same_value_zero(a: &Value<'_>, b: Val<'_>) -> bool {
    match (a, b) {
        (Value::Number(x), Val::Number(y)) => x == &y || (x.is_nan() && y.is_nan()),
        (x, y) => val::strict_equals(Val::from(*x), y),
    }
}

/// Appends `Array.prototype.join(sep)`.
pub(crate) fn join<'a>(ev_arena: &'a bumpalo::Bump, items: &[Value<'a>], sep: &str) -> &'a str {
    let mut out = BumpString::new_in(ev_arena);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        if !item.is_nullish() {
            val::push_str_of(&mut out, Val::from(*item), ev_arena);
        }
    }
    out.into_bump_str()
}

fn numbers<'a, S: Scope<'a> + ?Sized>(ev: &Eval<'a, '_, S>, items: &[Value<'a>]) -> Vec<f64> {
    items.iter().map(|v| ev.num_of(Val::from(*v))).collect()
}

/// Calls array method `name`; `None` when arrays have no such method.
pub(crate) fn call<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    items: &'a [Value<'a>],
    name: &str,
    args: &'a [Val<'a>],
) -> Option<Res<'a>> {
    let arena = ev.arena;
    let list = |v: BumpVec<'a, Value<'a>>| Val::Array(v.into_bump_slice());
    let len = items.len();
    Some(Ok(match name {
        "first" => items
            .first()
            .map(|v| Val::from(*v))
            .unwrap_or(Val::Undefined),
        "last" => items
            .last()
            .map(|v| Val::from(*v))
            .unwrap_or(Val::Undefined),
        "at" => {
            let i = ev.num_of(arg(args, 0)).trunc();
            let i = if i < 0.0 { len as f64 + i } else { i };
            if i >= 0.0 && (i as usize) < len {
                Val::from(items[i as usize])
            } else {
                Val::Undefined
            }
        }
        "join" => {
            let sep = match arg(args, 0) {
                Val::Undefined => ",",
                v => ev.str_of(v),
            };
            Val::String(join(arena, items, sep))
        }
        "toString" => Val::String(join(arena, items, ",")),
        "valueOf" => Val::Array(items),
        "isEmpty" => Val::Bool(items.is_empty()),
        "isNotEmpty" => Val::Bool(!items.is_empty()),
        "includes" => Val::Bool(items.iter().any(|v| same_value_zero(v, arg(args, 0)))),
        "indexOf" => Val::Number(
            items
                .iter()
                .position(|v| val::strict_equals(Val::from(*v), arg(args, 0)))
                .map_or(-1.0, |i| i as f64),
        ),
        "lastIndexOf" => Val::Number(
            items
                .iter()
                .rposition(|v| val::strict_equals(Val::from(*v), arg(args, 0)))
                .map_or(-1.0, |i| i as f64),
        ),
        "slice" => {
            let start = super::strings::relative(ev.num_of(arg(args, 0)), len);
            let end = match arg(args, 1) {
                Val::Undefined => len,
                v => super::strings::relative(ev.num_of(v), len),
            };
            Val::Array(if start < end { &items[start..end] } else { &[] })
        }
        "concat" => {
            let mut out = BumpVec::from_iter_in(items.iter().copied(), arena);
            for a in args {
                match a {
                    Val::Array(more) => out.extend_from_slice(more),
                    other => out.push(ev.to_value(*other)),
                }
            }
            list(out)
        }
        "reverse" => list(BumpVec::from_iter_in(items.iter().rev().copied(), arena)),
        "keys" => list(BumpVec::from_iter_in(
            (0..len).map(|i| Value::Number(i as f64)),
            arena,
        )),
        "values" => Val::Array(items),
        "toJsonString" => {
            return Some(super::json::stringify(
                ev,
                Val::Array(items),
                Val::Undefined,
                Val::Undefined,
            ))
        }
        "map" | "filter" | "find" | "findIndex" | "some" | "every" => {
            let f = arg(args, 0);
            let mut out = BumpVec::new_in(arena);
            for (i, item) in items.iter().enumerate() {
                let call_args = arena.alloc_slice_copy(&[
                    Val::from(*item),
                    Val::Number(i as f64),
                    Val::Array(items),
                ]);
                let r = match ev.call(f, call_args) {
                    Ok(r) => r,
                    Err(e) => return Some(Err(e)),
                };
                match name {
                    "map" => out.push(ev.to_value(r)),
                    "filter" if r.truthy() => out.push(*item),
                    "find" if r.truthy() => return Some(Ok(Val::from(*item))),
                    "findIndex" if r.truthy() => return Some(Ok(Val::Number(i as f64))),
                    "some" if r.truthy() => return Some(Ok(Val::Bool(true))),
                    "every" if !r.truthy() => return Some(Ok(Val::Bool(false))),
                    _ => {}
                }
            }
            match name {
                "map" | "filter" => list(out),
                "find" => Val::Undefined,
                "findIndex" => Val::Number(-1.0),
                "some" => Val::Bool(false),
                _ => Val::Bool(true),
            }
        }
        "reduce" => {
            let f = arg(args, 0);
            let mut iter = items.iter().enumerate();
            let mut acc = if args.len() >= 2 {
                args[1]
            } else {
                match iter.next() {
                    Some((_, v)) => Val::from(*v),
                    None => return Some(type_error("Reduce of empty array with no initial value")),
                }
            };
            for (i, item) in iter {
                let call_args = arena.alloc_slice_copy(&[
                    acc,
                    Val::from(*item),
                    Val::Number(i as f64),
                    Val::Array(items),
                ]);
                acc = match ev.call(f, call_args) {
                    Ok(r) => r,
                    Err(e) => return Some(Err(e)),
                };
            }
            acc
        }
        "sort" => return Some(sort(ev, items, arg(args, 0))),
        "unique" | "removeDuplicates" => {
            let fields: Vec<&str> = args.iter().map(|a| ev.str_of(*a)).collect();
            let key = |v: &Value<'a>| -> Value<'a> {
                if fields.is_empty() {
                    return *v;
                }
                let picked: Vec<(&'a str, Value<'a>)> = fields
                    .iter()
                    .map(|f| (arena.alloc_str(f) as &str, v.get(f)))
                    .collect();
                Value::Object(arena.alloc_slice_copy(&picked))
            };
            let mut out: BumpVec<Value<'a>> = BumpVec::new_in(arena);
            let mut keys: Vec<Value<'a>> = Vec::new();
            for item in items {
                let k = key(item);
                if !keys.iter().any(|seen| deep_equal(seen, &k)) {
                    keys.push(k);
                    out.push(*item);
                }
            }
            list(out)
        }
        "pluck" => {
            let fields: Vec<&'a str> = args.iter().map(|a| ev.str_of(*a)).collect();
            let mut out = BumpVec::new_in(arena);
            for item in items {
                if !matches!(item, Value::Object(_)) {
                    continue;
                }
                match fields.as_slice() {
                    [] => out.push(*item),
                    [one] => out.push(item.get(one)),
                    many => {
                        let members: Vec<(&'a str, Value<'a>)> =
                            many.iter().map(|f| (*f, item.get(f))).collect();
                        out.push(Value::Object(arena.alloc_slice_copy(&members)));
                    }
                }
            }
            list(out)
        }
        "sum" => Val::Number(numbers(ev, items).iter().sum()),
        "max" => Val::Number(
            numbers(ev, items)
                .into_iter()
                .fold(f64::NEG_INFINITY, js_max),
        ),
        "min" => Val::Number(numbers(ev, items).into_iter().fold(f64::INFINITY, js_min)),
        "average" => {
            if items.is_empty() {
                return Some(type_error("Cannot get the average of an empty array"));
            }
            Val::Number(numbers(ev, items).iter().sum::<f64>() / len as f64)
        }
        "compact" => list(BumpVec::from_iter_in(
            items
                .iter()
                .copied()
                .filter(|v| !v.is_nullish() && !matches!(v, Value::String(""))),
            arena,
        )),
        "chunk" => {
            let size = ev.num_of(arg(args, 0));
            // NaN fails this test too.
            if size
                .partial_cmp(&1.0)
                .is_none_or(|o| o == std::cmp::Ordering::Less)
            {
                return Some(type_error("chunk size must be at least 1"));
            }
            list(BumpVec::from_iter_in(
                items.chunks(size as usize).map(Value::Array),
                arena,
            ))
        }
        "flat" => {
            let depth = match arg(args, 0) {
                Val::Undefined => 1.0,
                v => ev.num_of(v),
            };
            let mut out = BumpVec::new_in(arena);
            flatten(items, depth, &mut out);
            list(out)
        }
        "difference" | "intersection" | "union" => {
            let other: &[Value<'a>] = match arg(args, 0) {
                Val::Array(o) => o,
                _ => return Some(type_error(format!("{name}(): argument must be an array"))),
            };
            let mut out: BumpVec<Value<'a>> = BumpVec::new_in(arena);
            let push_unique = |v: &Value<'a>, out: &mut BumpVec<Value<'a>>| {
                if !out.iter().any(|seen| deep_equal(seen, v)) {
                    out.push(*v);
                }
            };
            match name {
                "difference" => items
                    .iter()
                    .filter(|v| !other.iter().any(|o| deep_equal(o, v)))
                    .for_each(|v| push_unique(v, &mut out)),
                "intersection" => items
                    .iter()
                    .filter(|v| other.iter().any(|o| deep_equal(o, v)))
                    .for_each(|v| push_unique(v, &mut out)),
                _ => items
                    .iter()
                    .chain(other.iter())
                    .for_each(|v| push_unique(v, &mut out)),
            }
            list(out)
        }
        "smartJoin" => {
            let (key_field, value_field) = (ev.str_of(arg(args, 0)), ev.str_of(arg(args, 1)));
            let mut out = BumpVec::new_in(arena);
            for item in items {
                let key = item.get(key_field);
                if key.is_nullish() {
                    continue;
                }
                let key = ev.str_of(Val::from(key));
                super::eval::set_member(&mut out, key, item.get(value_field));
            }
            Val::Object(out.into_bump_slice())
        }
        _ => return None,
    }))
}

fn js_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn js_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn flatten<'a>(items: &'a [Value<'a>], depth: f64, out: &mut BumpVec<'a, Value<'a>>) {
    for item in items {
        match item {
            Value::Array(inner) if depth >= 1.0 => flatten(inner, depth - 1.0, out),
            other => out.push(*other),
        }
    }
}

/// `sort(compare?)`: stable; without a comparator by `String()` in UTF-16 order with
/// `undefined` last, as JavaScript.
fn sort<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    items: &'a [Value<'a>],
    compare: Val<'a>,
) -> Res<'a> {
    let arena = ev.arena;
    let mut out: Vec<Value<'a>> = items.to_vec();
    if matches!(compare, Val::Undefined) {
        let mut keyed: Vec<(Option<Vec<u16>>, Value<'a>)> = out
            .into_iter()
            .map(|v| match v {
                Value::Undefined => (None, v),
                _ => (
                    Some(val::to_str(arena, Val::from(v)).encode_utf16().collect()),
                    v,
                ),
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| match (a, b) {
            (Some(a), Some(b)) => a.cmp(b),
            (None, None) => std::cmp::Ordering::Equal,
            (None, _) => std::cmp::Ordering::Greater,
            (_, None) => std::cmp::Ordering::Less,
        });
        return Ok(Val::Array(
            arena.alloc_slice_fill_iter(keyed.into_iter().map(|(_, v)| v)),
        ));
    }
    // Insertion sort with the user's comparator: stable, and every comparison can fail.
    for i in 1..out.len() {
        let mut j = i;
        while j > 0 {
            let call_args = arena.alloc_slice_copy(&[Val::from(out[j - 1]), Val::from(out[j])]);
            let r = ev.call(compare, call_args)?;
            if ev.num_of(r) > 0.0 {
                out.swap(j - 1, j);
                j -= 1;
            } else {
                break;
            }
        }
    }
    Ok(Val::Array(arena.alloc_slice_copy(&out)))
}
