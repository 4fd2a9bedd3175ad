//! Global functions and objects: `String()`, `Math.*`, `JSON.*`, `Object.*`, `DateTime.*`,
//! `new Date()`, n8n's `$('Node')`, `$ifEmpty`, `$if`, `$max`, `$min`.

use bumpalo::collections::Vec as BumpVec;
use linkflow_codec::expr::ast::ArchivedGlobal;

use super::eval::{fail, type_error, Eval, Res, CODE_NOT_FAST};
use super::scope::Scope;
use super::val::{self, is_js_whitespace, Val};
use crate::engine::datetime::{parse_format, parse_iso, DateTime, Zone};
use crate::engine::value::Value;

fn arg<'a>(args: &[Val<'a>], i: usize) -> Val<'a> {
    args.get(i).copied().unwrap_or(Val::Undefined)
}

/// Reads a property of a global object (`Math.PI`).
pub(crate) fn global_member<'a, S: Scope<'a> + ?Sized>(
    _ev: &mut Eval<'a, '_, S>,
    g: &ArchivedGlobal,
    name: &str,
) -> Res<'a> {
    Ok(Val::Number(match (g, name) {
        (ArchivedGlobal::Math, "PI") => std::f64::consts::PI,
        (ArchivedGlobal::Math, "E") => std::f64::consts::E,
        (ArchivedGlobal::Number, "MAX_SAFE_INTEGER") => 9_007_199_254_740_991.0,
        (ArchivedGlobal::Number, "MIN_SAFE_INTEGER") => -9_007_199_254_740_991.0,
        _ => return fail(CODE_NOT_FAST, format!("{g:?}.{name} as a value")),
    }))
}

/// `encodeURIComponent` (`entire = false`) or `encodeURI` (`entire = true`).
pub(crate) fn uri_encode(s: &str, entire: bool) -> String {
    const UNRESERVED: &[u8] = b"-_.!~*'()";
    const RESERVED: &[u8] = b";,/?:@&=+$#";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || UNRESERVED.contains(&b) || (entire && RESERVED.contains(&b))
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `decodeURIComponent` / `decodeURI`; `None` for malformed escapes (a URIError).
pub(crate) fn uri_decode(s: &str, entire: bool) -> Option<String> {
    const RESERVED: &[u8] = b";,/?:@&=+$#";
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            let b = u8::from_str_radix(hex, 16).ok()?;
            if entire && RESERVED.contains(&b) {
                out.extend_from_slice(&bytes[i..i + 3]);
            } else {
                out.push(b);
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `parseInt(text, radix)`.
pub(crate) fn parse_int(text: &str, radix: f64) -> f64 {
    let t = text.trim_start_matches(is_js_whitespace);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut radix = if radix.is_nan() {
        0
    } else {
        val::to_int32(radix)
    };
    let mut t = t;
    if (radix == 0 || radix == 16) && (t.starts_with("0x") || t.starts_with("0X")) {
        t = &t[2..];
        radix = 16;
    }
    if radix == 0 {
        radix = 10;
    }
    if !(2..=36).contains(&radix) {
        return f64::NAN;
    }
    let digits: Vec<u32> = t.chars().map_while(|c| c.to_digit(radix as u32)).collect();
    if digits.is_empty() {
        return f64::NAN;
    }
    let value = digits
        .iter()
        .fold(0.0, |acc, d| acc * radix as f64 + *d as f64);
    if negative {
        -value
    } else {
        value
    }
}

/// `parseFloat(text)`: the longest decimal prefix.
pub(crate) fn parse_float(text: &str) -> f64 {
    let t = text.trim_start_matches(is_js_whitespace);
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned.starts_with("Infinity") {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let b = t.as_bytes();
    let mut end = usize::from(b.first().is_some_and(|c| *c == b'+' || *c == b'-'));
    let digits_start = end;
    while end < b.len() && b[end].is_ascii_digit() {
        end += 1;
    }
    if end < b.len() && b[end] == b'.' {
        end += 1;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
    }
    if end == digits_start || &t[digits_start..end] == "." {
        return f64::NAN;
    }
    if end < b.len() && (b[end] == b'e' || b[end] == b'E') {
        let mut e = end + 1;
        if e < b.len() && (b[e] == b'+' || b[e] == b'-') {
            e += 1;
        }
        let exp_digits = e;
        while e < b.len() && b[e].is_ascii_digit() {
            e += 1;
        }
        if e > exp_digits {
            end = e;
        }
    }
    t[..end].parse().unwrap_or(f64::NAN)
}

/// `$ifEmpty`'s notion of empty: `undefined`, `null`, `""`, `[]`, `{}`.
fn is_empty_value(v: &Val<'_>) -> bool {
    match v {
        Val::Undefined | Val::Null => true,
        Val::String(s) => s.is_empty(),
        Val::Array(a) => a.is_empty(),
        Val::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `callee(args)` for a global function.
pub(crate) fn call_global<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    g: &ArchivedGlobal,
    args: &'a [Val<'a>],
) -> Res<'a> {
    let a0 = arg(args, 0);
    Ok(match g {
        ArchivedGlobal::NodeFn => match a0 {
            Val::String(name) => Val::NodeRef(name),
            _ => return type_error("$() needs a node name"),
        },
        ArchivedGlobal::ItemFn => return ev.call_item(args),
        ArchivedGlobal::String => match a0 {
            Val::Undefined if args.is_empty() => Val::String(""),
            v => Val::String(ev.str_of(v)),
        },
        ArchivedGlobal::Number => Val::Number(if args.is_empty() { 0.0 } else { ev.num_of(a0) }),
        ArchivedGlobal::Boolean => Val::Bool(a0.truthy()),
        ArchivedGlobal::ParseInt => {
            let s = ev.str_of(a0);
            let radix = match arg(args, 1) {
                Val::Undefined => 0.0,
                r => ev.num_of(r),
            };
            Val::Number(parse_int(s, radix))
        }
        ArchivedGlobal::ParseFloat => Val::Number(parse_float(ev.str_of(a0))),
        ArchivedGlobal::IsNaN => Val::Bool(ev.num_of(a0).is_nan()),
        ArchivedGlobal::IsFinite => Val::Bool(ev.num_of(a0).is_finite()),
        ArchivedGlobal::EncodeUriComponent | ArchivedGlobal::EncodeUri => {
            let s = ev.str_of(a0);
            Val::String(ev.alloc_str(&uri_encode(s, matches!(g, ArchivedGlobal::EncodeUri))))
        }
        ArchivedGlobal::DecodeUriComponent | ArchivedGlobal::DecodeUri => {
            let s = ev.str_of(a0);
            match uri_decode(s, matches!(g, ArchivedGlobal::DecodeUri)) {
                Some(d) => Val::String(ev.alloc_str(&d)),
                None => return type_error("URI malformed"),
            }
        }
        ArchivedGlobal::IfEmpty => {
            if is_empty_value(&a0) {
                arg(args, 1)
            } else {
                a0
            }
        }
        ArchivedGlobal::If => {
            if a0.truthy() {
                arg(args, 1)
            } else {
                arg(args, 2)
            }
        }
        ArchivedGlobal::Max | ArchivedGlobal::Min => {
            return math(
                ev,
                if matches!(g, ArchivedGlobal::Max) {
                    "max"
                } else {
                    "min"
                },
                args,
            )
        }
        ArchivedGlobal::Date => Val::String(ev.alloc_str(
            &crate::engine::datetime::js_date_string(ev.scope.now_ms() as f64),
        )),
        other => {
            return fail(
                CODE_NOT_FAST,
                format!("{other:?}() is not callable on the fast path"),
            )
        }
    })
}

fn math<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    name: &str,
    args: &'a [Val<'a>],
) -> Res<'a> {
    let x = ev.num_of(arg(args, 0));
    let y = ev.num_of(arg(args, 1));
    Ok(Val::Number(match name {
        "abs" => x.abs(),
        "ceil" => x.ceil(),
        "floor" => x.floor(),
        // Math.round rounds halves towards +Infinity; integral values (which `+ 0.5`
        // could push up above 2^52) stay as they are.
        "round" => {
            if x.fract() == 0.0 || !x.is_finite() {
                x
            } else {
                (x + 0.5).floor()
            }
        }
        "trunc" => x.trunc(),
        "sign" => {
            if x == 0.0 || x.is_nan() {
                x
            } else {
                x.signum()
            }
        }
        "pow" => val::js_pow(x, y),
        "sqrt" => x.sqrt(),
        "cbrt" => x.cbrt(),
        "log" => x.ln(),
        "log10" => x.log10(),
        "log2" => x.log2(),
        "exp" => x.exp(),
        "max" | "min" => {
            let mut acc = if name == "max" {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
            for a in args {
                let n = ev.num_of(*a);
                if n.is_nan() {
                    return Ok(Val::Number(f64::NAN));
                }
                acc = if name == "max" {
                    acc.max(n)
                } else {
                    acc.min(n)
                };
            }
            acc
        }
        _ => return fail(CODE_NOT_FAST, format!("Math.{name}")),
    }))
}

/// `Global.name(args)`.
pub(crate) fn call_global_member<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    g: &ArchivedGlobal,
    name: &'a str,
    args: &'a [Val<'a>],
) -> Res<'a> {
    let arena = ev.arena;
    let a0 = arg(args, 0);
    match g {
        ArchivedGlobal::Math => math(ev, name, args),
        ArchivedGlobal::Json => match name {
            "stringify" => super::json::stringify(ev, a0, arg(args, 1), arg(args, 2)),
            "parse" => {
                let s = ev.str_of(a0);
                super::json::parse(ev, s)
            }
            _ => fail(CODE_NOT_FAST, format!("JSON.{name}")),
        },
        ArchivedGlobal::Object => {
            let members: &'a [(&'a str, Value<'a>)] = match a0 {
                Val::Object(m) => m,
                Val::Undefined | Val::Null => {
                    return type_error("Cannot convert undefined or null to object")
                }
                Val::Array(items) => arena.alloc_slice_fill_iter(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (&*arena.alloc_str(&i.to_string()), *v)),
                ),
                _ => &[],
            };
            Ok(match name {
                "keys" => Val::Array(
                    arena.alloc_slice_fill_iter(members.iter().map(|(k, _)| Value::String(k))),
                ),
                "values" => {
                    Val::Array(arena.alloc_slice_fill_iter(members.iter().map(|(_, v)| *v)))
                }
                "entries" => super::methods::entries(arena, members),
                "assign" => {
                    let mut out = BumpVec::from_iter_in(members.iter().copied(), arena);
                    for source in args.iter().skip(1) {
                        if let Val::Object(more) = source {
                            for (k, v) in more.iter() {
                                super::eval::set_member(&mut out, k, *v);
                            }
                        }
                    }
                    Val::Object(out.into_bump_slice())
                }
                "fromEntries" => {
                    let Val::Array(pairs) = a0 else {
                        return type_error("Object.fromEntries needs an array");
                    };
                    let mut out = BumpVec::new_in(arena);
                    for pair in pairs {
                        let key = ev.str_of(Val::from(pair.index(0)));
                        super::eval::set_member(&mut out, key, pair.index(1));
                    }
                    Val::Object(out.into_bump_slice())
                }
                _ => return fail(CODE_NOT_FAST, format!("Object.{name}")),
            })
        }
        ArchivedGlobal::Array => Ok(match name {
            "isArray" => Val::Bool(matches!(a0, Val::Array(_))),
            "of" => {
                Val::Array(arena.alloc_slice_fill_iter(args.iter().map(|a| a.into_value(arena))))
            }
            "from" => {
                let items: &'a [Value<'a>] = match a0 {
                    Val::Array(items) => items,
                    Val::String(s) => BumpVec::from_iter_in(
                        s.chars()
                            .map(|c| Value::String(arena.alloc_str(c.encode_utf8(&mut [0; 4])))),
                        arena,
                    )
                    .into_bump_slice(),
                    _ => &[],
                };
                match arg(args, 1) {
                    Val::Undefined => Val::Array(items),
                    f => {
                        let mut out = BumpVec::with_capacity_in(items.len(), arena);
                        for (i, item) in items.iter().enumerate() {
                            let call_args =
                                arena.alloc_slice_copy(&[Val::from(*item), Val::Number(i as f64)]);
                            let r = ev.call(f, call_args)?;
                            out.push(r.into_value(arena));
                        }
                        Val::Array(out.into_bump_slice())
                    }
                }
            }
            _ => return fail(CODE_NOT_FAST, format!("Array.{name}")),
        }),
        ArchivedGlobal::Number => {
            let is_number = matches!(a0, Val::Number(_));
            let n = if is_number { ev.num_of(a0) } else { f64::NAN };
            Ok(match name {
                "isInteger" => Val::Bool(is_number && n.is_finite() && n.fract() == 0.0),
                "isSafeInteger" => {
                    Val::Bool(is_number && n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0)
                }
                "isFinite" => Val::Bool(is_number && n.is_finite()),
                "isNaN" => Val::Bool(is_number && n.is_nan()),
                "parseFloat" => Val::Number(parse_float(ev.str_of(a0))),
                "parseInt" => {
                    let radix = match arg(args, 1) {
                        Val::Undefined => 0.0,
                        r => ev.num_of(r),
                    };
                    Val::Number(parse_int(ev.str_of(a0), radix))
                }
                _ => return fail(CODE_NOT_FAST, format!("Number.{name}")),
            })
        }
        ArchivedGlobal::DateTime => date_time_static(ev, name, args),
        ArchivedGlobal::Date => match name {
            "now" => Ok(Val::Number(ev.scope.now_ms() as f64)),
            _ => fail(CODE_NOT_FAST, format!("Date.{name}")),
        },
        other => fail(CODE_NOT_FAST, format!("{other:?}.{name}")),
    }
}

fn date_time_static<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    name: &str,
    args: &'a [Val<'a>],
) -> Res<'a> {
    let zone = ev.zone();
    let a0 = arg(args, 0);
    // Luxon's options object: `{ zone: '...', setZone: true }`.
    let options = |i: usize| -> (Zone, bool) {
        match arg(args, i) {
            Val::Object(members) => {
                let zone = members
                    .iter()
                    .find(|(k, _)| *k == "zone")
                    .and_then(|(_, v)| v.as_str())
                    .and_then(Zone::from_name)
                    .unwrap_or(zone);
                let set_zone = members
                    .iter()
                    .any(|(k, v)| *k == "setZone" && matches!(v, Value::Bool(true)));
                (zone, set_zone)
            }
            _ => (zone, false),
        }
    };
    Ok(Val::DateTime(match name {
        "now" => ev.now(),
        "fromISO" => {
            let (zone, set_zone) = options(1);
            match a0 {
                Val::String(s) => parse_iso(s, zone, set_zone),
                _ => DateTime::invalid(),
            }
        }
        "fromFormat" => {
            let (zone, _) = options(2);
            let (text, pattern) = (ev.str_of(a0), ev.str_of(arg(args, 1)));
            parse_format(text, pattern, zone)
        }
        "fromMillis" | "fromSeconds" => {
            let (zone, _) = options(1);
            let n = ev.num_of(a0);
            if !n.is_finite() {
                return type_error(format!("{name} requires a numerical input"));
            }
            DateTime::new(
                if name == "fromMillis" {
                    n as i64
                } else {
                    (n * 1000.0) as i64
                },
                zone,
            )
        }
        "local" | "utc" => {
            let zone = if name == "utc" { Zone::Utc } else { zone };
            if args.is_empty() {
                ev.now().set_zone(zone)
            } else {
                let part = |i: usize, default: f64| match arg(args, i) {
                    Val::Number(n) => n,
                    _ => default,
                };
                let date = chrono::NaiveDate::from_ymd_opt(
                    part(0, 1970.0) as i32,
                    part(1, 1.0) as u32,
                    part(2, 1.0) as u32,
                );
                let time = chrono::NaiveTime::from_hms_milli_opt(
                    part(3, 0.0) as u32,
                    part(4, 0.0) as u32,
                    part(5, 0.0) as u32,
                    part(6, 0.0) as u32,
                );
                match (date, time) {
                    (Some(d), Some(t)) => {
                        DateTime::from_local(chrono::NaiveDateTime::new(d, t), zone)
                    }
                    _ => DateTime::invalid(),
                }
            }
        }
        _ => return fail(CODE_NOT_FAST, format!("DateTime.{name}")),
    }))
}

/// `new Date(...)`.
pub(crate) fn new_date<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    args: &'a [Val<'a>],
) -> Res<'a> {
    let ms = match args {
        [] => ev.scope.now_ms() as f64,
        [Val::Number(n)] => {
            if n.is_finite() {
                n.trunc()
            } else {
                f64::NAN
            }
        }
        [Val::DateTime(d)] => d.value_of(),
        [Val::JsDate(ms)] => *ms,
        [Val::String(s)] => {
            // JavaScript reads date-only ISO strings as UTC and date-times without offset
            // as local time; the process zone is UTC, so both are UTC here.
            let d = parse_iso(s, Zone::Utc, false);
            if d.valid {
                d.value_of()
            } else {
                crate::engine::datetime::parse_loose(s, Zone::Utc).value_of()
            }
        }
        [_] => f64::NAN,
        parts => {
            let n: Vec<f64> = parts.iter().map(|p| ev.num_of(*p)).collect();
            let get = |i: usize, d: f64| n.get(i).copied().unwrap_or(d);
            let date = chrono::NaiveDate::from_ymd_opt(get(0, 1970.0) as i32, 1, 1)
                .and_then(|d| {
                    d.checked_add_months(chrono::Months::new(get(1, 0.0).max(0.0) as u32))
                })
                .map(|d| d + chrono::Duration::days(get(2, 1.0) as i64 - 1));
            match date {
                Some(d) => {
                    let base = d
                        .and_hms_opt(0, 0, 0)
                        .unwrap_or_default()
                        .and_utc()
                        .timestamp_millis() as f64;
                    base + get(3, 0.0) * 3_600_000.0
                        + get(4, 0.0) * 60_000.0
                        + get(5, 0.0) * 1000.0
                        + get(6, 0.0)
                }
                None => f64::NAN,
            }
        }
    };
    Ok(Val::JsDate(ms))
}
