//! Method dispatch by receiver type, and the methods of objects, numbers, booleans, regexes
//! and the `$input` / `$('Node')` proxies.

use bumpalo::collections::Vec as BumpVec;

use super::eval::{type_error, Eval, Res};
use super::scope::Scope;
use super::val::{self, Val};
use crate::engine::value::Value;

fn arg<'a>(args: &[Val<'a>], i: usize) -> Val<'a> {
    args.get(i).copied().unwrap_or(Val::Undefined)
}

/// `receiver.name(args)`.
pub(crate) fn call_method<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    receiver: Val<'a>,
    name: &'a str,
    args: &'a [Val<'a>],
) -> Res<'a> {
    let result = match receiver {
        Val::String(s) => super::strings::call(ev, s, name, args),
        Val::Array(items) => super::arrays::call(ev, items, name, args),
        Val::Object(members) => object(ev, members, name, args),
        Val::Number(n) => number(ev, n, name, args),
        Val::Bool(b) => match name {
            "toString" => Some(Ok(Val::String(if b { "true" } else { "false" }))),
            "valueOf" => Some(Ok(Val::Bool(b))),
            _ => None,
        },
        Val::DateTime(d) => super::dates::call(ev, d, name, args),
        Val::Duration(d) => super::dates::call_duration(ev, d, name, args),
        Val::JsDate(ms) => match name {
            "toISOString" | "toJSON" => Some(match crate::engine::datetime::js_date_iso(ms) {
                Some(iso) => Ok(Val::String(ev.alloc_str(&iso))),
                None => type_error("Invalid time value"),
            }),
            "getTime" | "valueOf" => Some(Ok(Val::Number(ms))),
            "toString" => Some(Ok(Val::String(ev.str_of(receiver)))),
            _ => None,
        },
        Val::Regex(pattern, flags) => match name {
            "test" => {
                let s = ev.str_of(arg(args, 0));
                Some(super::regexes::test(pattern, flags, s))
            }
            "toString" => Some(Ok(Val::String(ev.str_of(receiver)))),
            _ => None,
        },
        Val::Input => proxy(ev, None, name, args),
        Val::NodeRef(node) => proxy(ev, Some(node), name, args),
        Val::Legacy(_) => None,
        Val::Func(_) | Val::Undefined | Val::Null => None,
    };
    match result {
        Some(r) => r,
        None => type_error(format!("{name} is not a function")),
    }
}

/// `$input.first()`, `$('Node').all(output, run)`, ...
fn proxy<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    node: Option<&'a str>,
    name: &str,
    args: &'a [Val<'a>],
) -> Option<Res<'a>> {
    if !matches!(name, "first" | "last" | "all") {
        return None;
    }
    let items = match node {
        None => ev.scope.input_items(),
        Some(node) => {
            let output = match arg(args, 0) {
                Val::Undefined => 0,
                v => ev.num_of(v).max(0.0) as usize,
            };
            let run = match arg(args, 1) {
                Val::Undefined => None,
                v => Some(ev.num_of(v).max(0.0) as usize),
            };
            match ev.scope.node_items(node, output, run) {
                Ok(items) => items,
                Err(e) => return Some(Err(e.into())),
            }
        }
    };
    Some(Ok(match name {
        "first" => items
            .first()
            .map(|i| ev.item_object(i))
            .unwrap_or(Val::Undefined),
        "last" => items
            .last()
            .map(|i| ev.item_object(i))
            .unwrap_or(Val::Undefined),
        _ => ev.items_array(items),
    }))
}

fn object<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    members: &'a [(&'a str, Value<'a>)],
    name: &str,
    args: &'a [Val<'a>],
) -> Option<Res<'a>> {
    let arena = ev.arena;
    Some(Ok(match name {
        "isEmpty" => Val::Bool(members.is_empty()),
        "isNotEmpty" => Val::Bool(!members.is_empty()),
        "hasField" => {
            let key = ev.str_of(arg(args, 0));
            Val::Bool(members.iter().any(|(k, _)| *k == key))
        }
        "keys" => {
            Val::Array(arena.alloc_slice_fill_iter(members.iter().map(|(k, _)| Value::String(k))))
        }
        "values" => Val::Array(arena.alloc_slice_fill_iter(members.iter().map(|(_, v)| *v))),
        "compact" => Val::Object(
            BumpVec::from_iter_in(
                members
                    .iter()
                    .copied()
                    .filter(|(_, v)| !v.is_nullish() && !matches!(v, Value::String(""))),
                arena,
            )
            .into_bump_slice(),
        ),
        "toJsonString" => {
            return Some(super::json::stringify(
                ev,
                Val::Object(members),
                Val::Undefined,
                Val::Undefined,
            ))
        }
        "toString" => Val::String("[object Object]"),
        "valueOf" => Val::Object(members),
        _ => return None,
    }))
}

/// Rounds half away from zero at `digits` decimals (n8n's `round(digits)`).
fn round_to(n: f64, digits: f64, f: fn(f64) -> f64) -> f64 {
    let factor = 10f64.powi(digits.trunc().clamp(0.0, 100.0) as i32);
    f(n * factor) / factor
}

/// `Number.prototype.toFixed`.
pub(crate) fn to_fixed(n: f64, digits: usize) -> String {
    if !n.is_finite() || n.abs() >= 1e21 {
        return val::number_to_string(n);
    }
    // JavaScript rounds the exact binary value half up; format! rounds it half to even,
    // which only differs on exact ties, so decide ties with the exact decimal expansion.
    let exact = format!("{:.*}", digits + 30, n);
    let formatted = format!("{:.*}", digits, n);
    let tail = &exact[exact.len() - 30..];
    if tail.starts_with('5') && tail[1..].bytes().all(|b| b == b'0') {
        let bumped = n + n.signum() * 10f64.powi(-(digits as i32)) / 2.0;
        return format!("{:.*}", digits, bumped);
    }
    formatted
}

fn number<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    n: f64,
    name: &str,
    args: &'a [Val<'a>],
) -> Option<Res<'a>> {
    let digits = |ev: &Eval<'a, '_, S>| match arg(args, 0) {
        Val::Undefined => 0.0,
        v => ev.num_of(v),
    };
    Some(Ok(match name {
        "toString" => match arg(args, 0) {
            Val::Undefined => Val::String(ev.str_of(Val::Number(n))),
            radix => {
                let radix = ev.num_of(radix) as u32;
                if !(2..=36).contains(&radix) {
                    return Some(type_error("toString() radix must be between 2 and 36"));
                }
                if radix == 10 || !n.is_finite() || n.fract() != 0.0 {
                    Val::String(ev.str_of(Val::Number(n)))
                } else {
                    Val::String(ev.alloc_str(&integer_radix(n, radix)))
                }
            }
        },
        "valueOf" => Val::Number(n),
        "toFixed" => {
            let d = digits(ev);
            if !(0.0..=100.0).contains(&d) {
                return Some(type_error(
                    "toFixed() digits argument must be between 0 and 100",
                ));
            }
            Val::String(ev.alloc_str(&to_fixed(n, d as usize)))
        }
        "round" => Val::Number(round_to(n, digits(ev), |x| {
            // Math.round semantics at the scaled value: halves go up.
            (x + 0.5).floor()
        })),
        "floor" => Val::Number(round_to(n, digits(ev), f64::floor)),
        "ceil" => Val::Number(round_to(n, digits(ev), f64::ceil)),
        "isEven" => Val::Bool(n.fract() == 0.0 && n % 2.0 == 0.0),
        "isOdd" => Val::Bool(n.fract() == 0.0 && n.abs() % 2.0 == 1.0),
        "isEmpty" => Val::Bool(false),
        "isNotEmpty" => Val::Bool(true),
        "toDateTime" => {
            let unit = match arg(args, 0) {
                Val::Undefined => "ms",
                v => ev.str_of(v),
            };
            let ms = match unit {
                "ms" => n,
                "s" => n * 1000.0,
                "us" => n / 1000.0,
                _ => return Some(type_error(format!("unknown toDateTime format {unit:?}"))),
            };
            Val::DateTime(crate::engine::datetime::DateTime::new(ms as i64, ev.zone()))
        }
        "format" => {
            // Only the en-US default is implemented; other locales and options are left
            // to JavaScript's Intl (CODE_NOT_FAST makes the engine re-run it there).
            let locale = match arg(args, 0) {
                Val::Undefined => "en-US",
                v => ev.str_of(v),
            };
            if args.len() > 1 || !(locale == "en" || locale.starts_with("en-")) {
                return Some(super::eval::fail(
                    super::eval::CODE_NOT_FAST,
                    "number.format with a locale or options",
                ));
            }
            Val::String(ev.alloc_str(&format_en_us(n)))
        }
        "toJsonString" => {
            return Some(super::json::stringify(
                ev,
                Val::Number(n),
                Val::Undefined,
                Val::Undefined,
            ))
        }
        _ => return None,
    }))
}

fn integer_radix(n: f64, radix: u32) -> String {
    let negative = n < 0.0;
    let mut v = n.abs();
    let mut digits = Vec::new();
    while v >= 1.0 {
        let d = (v % radix as f64) as u32;
        digits.push(std::char::from_digit(d, radix).unwrap_or('0'));
        v = (v / radix as f64).floor();
    }
    if digits.is_empty() {
        digits.push('0');
    }
    if negative {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

/// `Intl.NumberFormat('en-US')` defaults: grouping, at most three fraction digits.
fn format_en_us(n: f64) -> String {
    if !n.is_finite() {
        return if n.is_nan() {
            "NaN".into()
        } else if n > 0.0 {
            "∞".into()
        } else {
            "-∞".into()
        };
    }
    let fixed = to_fixed(n, 3);
    let (int, frac) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let (sign, int) = int.strip_prefix('-').map_or(("", int), |i| ("-", i));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let frac = frac.trim_end_matches('0');
    let sign = if grouped == "0" && frac.is_empty() {
        ""
    } else {
        sign
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// Collects `Object.entries`-style pairs into a new arena array of `[key, value]` arrays.
pub(crate) fn entries<'a>(
    arena: &'a bumpalo::Bump,
    members: &'a [(&'a str, Value<'a>)],
) -> Val<'a> {
    let mut out = BumpVec::with_capacity_in(members.len(), arena);
    for (k, v) in members {
        out.push(Value::Array(
            arena.alloc_slice_copy(&[Value::String(k), *v]),
        ));
    }
    Val::Array(out.into_bump_slice())
}
