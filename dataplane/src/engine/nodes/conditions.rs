//! n8n's filter parameter (If v2, Filter v2, Switch v3): typed conditions with strict or
//! loose type validation, case sensitivity and an and/or combinator; plus the legacy
//! `value1`/`value2` comparisons of If v1 and Switch v1/v2.

use linkflow_codec::plan::ArchivedPValue;

use super::coerce::{json_string, parse_json, string_of, string_to_number, to_number};
use crate::engine::execution::is_truthy;
use crate::engine::node::{lookup, NodeCtx, NodeError};
use crate::engine::value::Value;

/// Error code of type-validation failures.
pub const CODE_TYPE: &str = "LF-NODE-FILTER-001";
/// Error code of malformed filter parameters.
pub const CODE_SHAPE: &str = "LF-NODE-FILTER-002";

/// Evaluates the filter parameter at `path` for input item `item`.
pub fn evaluate<'a>(ctx: &mut NodeCtx<'a, '_>, path: &str, item: usize) -> Result<bool, NodeError> {
    let filter = ctx.param_raw(path);
    evaluate_filter(ctx, filter, item)
}

/// Evaluates a filter parameter value (`None`: absent, which passes).
pub fn evaluate_filter<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    filter: Option<&'a ArchivedPValue>,
    item: usize,
) -> Result<bool, NodeError> {
    let Some(filter) = filter else {
        return Ok(true);
    };
    // n8n reads `options.caseSensitive` without a guard: a filter without options crashes
    // with JavaScript's TypeError message (pinned by a golden case).
    let Some(options) = lookup(filter, "options") else {
        return Err(NodeError::new(
            CODE_SHAPE,
            "Cannot read properties of undefined (reading 'caseSensitive')",
        ));
    };
    let case_sensitive = !matches!(
        lookup(options, "caseSensitive"),
        Some(ArchivedPValue::Bool(false))
    );
    let strict = !matches!(lookup(options, "typeValidation"), Some(ArchivedPValue::String(s)) if s.as_str() == "loose");
    let combinator = match lookup(filter, "combinator") {
        Some(ArchivedPValue::String(s)) => s.as_str(),
        _ => "and",
    };
    let Some(ArchivedPValue::Array(conditions)) = lookup(filter, "conditions") else {
        return Ok(combinator == "and");
    };
    for (index, condition) in conditions.iter().enumerate() {
        let pass = condition_passes(ctx, condition, index, item, case_sensitive, strict)?;
        match combinator {
            "or" if pass => return Ok(true),
            "or" => {}
            _ if !pass => return Ok(false),
            _ => {}
        }
    }
    Ok(combinator != "or")
}

fn raw_str<'p>(raw: &'p ArchivedPValue, key: &str) -> Option<&'p str> {
    match lookup(raw, key) {
        Some(ArchivedPValue::String(s)) => Some(s.as_str()),
        _ => None,
    }
}

fn condition_passes<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    condition: &'a ArchivedPValue,
    index: usize,
    item: usize,
    case_sensitive: bool,
    strict: bool,
) -> Result<bool, NodeError> {
    let operator = lookup(condition, "operator");
    let op_type = operator
        .and_then(|o| raw_str(o, "type"))
        .unwrap_or("string");
    let operation = operator
        .and_then(|o| raw_str(o, "operation"))
        .unwrap_or("equals");
    let right_type = operator
        .and_then(|o| raw_str(o, "rightType"))
        .unwrap_or(op_type);
    let single_value = matches!(
        operator.and_then(|o| lookup(o, "singleValue")),
        Some(ArchivedPValue::Bool(true))
    );
    let left_raw = match lookup(condition, "leftValue") {
        Some(raw) => ctx.resolve(raw, item)?,
        None => Value::Undefined,
    };
    let right_raw = match lookup(condition, "rightValue") {
        Some(raw) => ctx.resolve(raw, item)?,
        None => Value::Undefined,
    };
    let arena = ctx.arena;
    // Built only on failure: formatting it per condition cost more than the comparison.
    let suffix = || format!("[condition {index}, item {item}]");
    let left = parse_value(arena, left_raw, op_type, strict)
        .ok_or_else(|| type_error(left_raw, op_type, strict, &suffix()))?;
    let right = match parse_value(arena, right_raw, right_type, strict) {
        Some(v) => v,
        None if single_value => right_raw,
        None => return Err(type_error(right_raw, right_type, strict, &suffix())),
    };
    let exists = !left.is_nullish() && !matches!(left, Value::Number(n) if n.is_nan());
    match operation {
        "exists" => return Ok(exists),
        "notExists" => return Ok(!exists),
        _ => {}
    }
    Ok(match op_type {
        "string" => string_op(operation, left, right, case_sensitive),
        "number" => {
            let (l, r) = (as_f64(left), as_f64(right));
            match operation {
                "equals" => l == r,
                "notEquals" => l != r,
                "gt" => l > r,
                "lt" => l < r,
                "gte" => l >= r,
                "lte" => l <= r,
                _ => false,
            }
        }
        "dateTime" => {
            let (Some(l), Some(r)) = (date_millis(left), date_millis(right)) else {
                return Ok(false);
            };
            match operation {
                "equals" => l == r,
                "notEquals" => l != r,
                "after" => l > r,
                "before" => l < r,
                "afterOrEquals" => l >= r,
                "beforeOrEquals" => l <= r,
                _ => false,
            }
        }
        "boolean" => match operation {
            "true" => is_truthy(left),
            "false" => !is_truthy(left),
            "equals" => strict_equals(left, right),
            "notEquals" => !strict_equals(left, right),
            _ => false,
        },
        "array" => array_op(operation, left, right, case_sensitive),
        "object" => {
            let len = left.as_object().map(<[_]>::len);
            match operation {
                "empty" => len == Some(0),
                "notEmpty" => len.is_some_and(|l| l != 0),
                _ => false,
            }
        }
        _ => false,
    })
}

fn as_f64(value: Value<'_>) -> f64 {
    match value {
        Value::Number(n) => n,
        Value::Undefined => f64::NAN,
        other => to_number(other),
    }
}

fn string_op(operation: &str, left: Value<'_>, right: Value<'_>, case_sensitive: bool) -> bool {
    let text = |v: Value<'_>| match v {
        Value::Undefined | Value::Null => String::new(),
        Value::String(s) => s.to_owned(),
        other => string_of(other),
    };
    let (mut l, mut r) = (text(left), text(right));
    if !case_sensitive {
        l = l.to_lowercase();
        r = r.to_lowercase();
    }
    match operation {
        "empty" => l.is_empty(),
        "notEmpty" => !l.is_empty(),
        "equals" => l == r,
        "notEquals" => l != r,
        "contains" => l.contains(&r),
        "notContains" => !l.contains(&r),
        "startsWith" => l.starts_with(&r),
        "notStartsWith" => !l.starts_with(&r),
        "endsWith" => l.ends_with(&r),
        "notEndsWith" => !l.ends_with(&r),
        "regex" => regex_test(&r, &l),
        "notRegex" => !regex_test(&r, &l),
        _ => false,
    }
}

fn array_op(operation: &str, left: Value<'_>, right: Value<'_>, case_sensitive: bool) -> bool {
    let items = left.as_array().unwrap_or(&[]);
    let contains = || {
        items.iter().any(|v| match (v, right) {
            (Value::String(a), Value::String(b)) if !case_sensitive => {
                a.to_lowercase() == b.to_lowercase()
            }
            _ => same_value_zero(*v, right),
        })
    };
    let n = as_f64(right);
    let len = items.len() as f64;
    match operation {
        "contains" => contains(),
        "notContains" => !contains(),
        "lengthEquals" => len == n,
        "lengthNotEquals" => len != n,
        "lengthGt" => len > n,
        "lengthLt" => len < n,
        "lengthGte" => len >= n,
        "lengthLte" => len <= n,
        "empty" => items.is_empty(),
        "notEmpty" => !items.is_empty(),
        _ => false,
    }
}

/// JavaScript `===` (objects and arrays compare by identity).
pub fn strict_equals(a: Value<'_>, b: Value<'_>) -> bool {
    match (a, b) {
        (Value::Undefined, Value::Undefined) | (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => std::ptr::eq(x, y),
        (Value::Object(x), Value::Object(y)) => std::ptr::eq(x, y),
        _ => false,
    }
}

/// JavaScript SameValueZero (`includes`): `===` except NaN equals NaN.
fn same_value_zero(a: Value<'_>, b: Value<'_>) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_nan() && y.is_nan() => true,
        _ => strict_equals(a, b),
    }
}

/// `new RegExp(pattern).test(text)`, accepting `/pattern/flags` too.
pub fn regex_test(pattern: &str, text: &str) -> bool {
    let (body, flags) = match pattern
        .strip_prefix('/')
        .and_then(|p| p.rfind('/').map(|end| (&p[..end], &p[end + 1..])))
    {
        Some((body, flags)) if flags.chars().all(|c| "gimsuy".contains(c)) => (body, flags),
        _ => (pattern, ""),
    };
    let mut builder = regex::RegexBuilder::new(body);
    builder
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'));
    builder.build().is_ok_and(|re| re.is_match(text))
}

/// n8n's `parseSingleFilterValue`: the value as `kind`, or `None` when it fails validation.
fn parse_value<'a>(
    arena: &'a bumpalo::Bump,
    value: Value<'a>,
    kind: &str,
    strict: bool,
) -> Option<Value<'a>> {
    if kind == "any" || value.is_nullish() {
        return Some(value);
    }
    match kind {
        "number" => match value {
            Value::Number(_) => Some(value),
            _ if strict => None,
            _ => {
                let n = to_number(value);
                (!n.is_nan()).then_some(Value::Number(n))
            }
        },
        "string" => match value {
            Value::String(_) => Some(value),
            _ if strict => None,
            Value::Object(_) | Value::Array(_) => {
                Some(Value::String(arena.alloc_str(&json_string(value))))
            }
            other => Some(Value::String(arena.alloc_str(&string_of(other)))),
        },
        "boolean" => match value {
            Value::Bool(_) => Some(value),
            _ if strict => None,
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
            Value::String(s) => {
                let n = string_to_number(s);
                if n == 1.0 {
                    Some(Value::Bool(true))
                } else if n == 0.0 && !s.trim().is_empty() {
                    Some(Value::Bool(false))
                } else {
                    Some(Value::Bool(is_truthy(value)))
                }
            }
            other => Some(Value::Bool(is_truthy(other))),
        },
        "array" => match value {
            Value::Array(_) => Some(value),
            _ if strict => None,
            Value::String(s) => parse_json(arena, s).filter(|v| matches!(v, Value::Array(_))),
            _ => None,
        },
        "object" => match value {
            Value::Object(_) => Some(value),
            _ if strict => None,
            Value::String(s) => parse_json(arena, s).filter(|v| matches!(v, Value::Object(_))),
            _ => None,
        },
        "dateTime" => match value {
            Value::String(s) => parse_datetime_ms(s).map(|_| value),
            Value::Number(_) if !strict => Some(value),
            _ => None,
        },
        _ => Some(value),
    }
}

fn type_error(value: Value<'_>, kind: &str, strict: bool, suffix: &str) -> NodeError {
    let from = match value {
        Value::Undefined => "undefined",
        Value::Null | Value::Array(_) | Value::Object(_) => "object",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
    };
    let shown = string_of(value);
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    let message = if strict {
        format!("Wrong type: '{shown}' is a {from} but was expecting {article} {kind} {suffix}")
    } else {
        format!("Conversion error: the {from} '{shown}' can't be converted to {article} {kind} {suffix}")
    };
    NodeError::new(CODE_TYPE, message).with_description("Try changing the type of comparison.")
}

fn date_millis(value: Value<'_>) -> Option<i64> {
    match value {
        Value::String(s) => parse_datetime_ms(s),
        Value::Number(n) if n.is_finite() => Some(n as i64),
        _ => None,
    }
}

/// Parses an ISO 8601 date or date-time (`2024-01-02`, `2024-01-02T03:04[:05[.678]]`,
/// with `Z` or `±hh[:mm]`, a space allowed instead of `T`) to epoch milliseconds.
/// Without an offset the time is UTC (the workflow time zone of the golden runs).
pub fn parse_datetime_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let year = num(0..4)?;
    let (mut month, mut day) = (1, 1);
    let mut pos = 4;
    if b.get(pos) == Some(&b'-') {
        month = num(5..7)?;
        pos = 7;
        if b.get(pos) == Some(&b'-') {
            day = num(8..10)?;
            pos = 10;
        }
    }
    let (mut hour, mut minute, mut second, mut millis) = (0, 0, 0, 0);
    let mut offset_minutes = 0i64;
    if matches!(b.get(pos), Some(b'T' | b't' | b' ')) {
        hour = num(pos + 1..pos + 3)?;
        pos += 3;
        if b.get(pos) == Some(&b':') {
            minute = num(pos + 1..pos + 3)?;
            pos += 3;
            if b.get(pos) == Some(&b':') {
                second = num(pos + 1..pos + 3)?;
                pos += 3;
                if matches!(b.get(pos), Some(b'.' | b',')) {
                    let start = pos + 1;
                    let mut end = start;
                    while b.get(end).is_some_and(u8::is_ascii_digit) {
                        end += 1;
                    }
                    let frac = s.get(start..end)?;
                    let padded = format!("{:0<3}", &frac[..frac.len().min(3)]);
                    millis = padded.parse().ok()?;
                    pos = end;
                }
            }
        }
        match b.get(pos) {
            None => {}
            Some(b'Z' | b'z') => pos += 1,
            Some(sign @ (b'+' | b'-')) => {
                let oh = num(pos + 1..pos + 3)?;
                pos += 3;
                let om = if b.get(pos) == Some(&b':') {
                    pos += 3;
                    num(pos - 2..pos)?
                } else if b.len() >= pos + 2 {
                    pos += 2;
                    num(pos - 2..pos)?
                } else {
                    0
                };
                offset_minutes = (oh * 60 + om) * if *sign == b'-' { -1 } else { 1 };
            }
            _ => return None,
        }
    }
    if pos != b.len()
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 24
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute - offset_minutes) * 60_000 + second * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// If v1 / Switch v1–v2 comparison `operation` of `value1` and `value2`.
pub fn legacy_compare(operation: &str, value1: Value<'_>, value2: Value<'_>) -> bool {
    let or_zero = |v: Value<'_>| if is_truthy(v) { to_number(v) } else { 0.0 };
    let or_empty = |v: Value<'_>| {
        if is_truthy(v) {
            string_of(v)
        } else {
            String::new()
        }
    };
    match operation {
        "after" | "larger" => or_zero(value1) > or_zero(value2),
        "before" | "smaller" => or_zero(value1) < or_zero(value2),
        "largerEqual" => or_zero(value1) >= or_zero(value2),
        "smallerEqual" => or_zero(value1) <= or_zero(value2),
        "equal" => strict_equals(value1, value2),
        "notEqual" => !strict_equals(value1, value2),
        "contains" => or_empty(value1).contains(&or_empty(value2)),
        "notContains" => !or_empty(value1).contains(&or_empty(value2)),
        "startsWith" => string_of(value1).starts_with(&string_of(value2)),
        "notStartsWith" => !string_of(value1).starts_with(&string_of(value2)),
        "endsWith" => string_of(value1).ends_with(&string_of(value2)),
        "notEndsWith" => !string_of(value1).ends_with(&string_of(value2)),
        "isEmpty" => legacy_is_empty(value1),
        "isNotEmpty" => !legacy_is_empty(value1),
        "regex" => regex_test(&or_empty(value2), &or_empty(value1)),
        "notRegex" => !regex_test(&or_empty(value2), &or_empty(value1)),
        _ => false,
    }
}

fn legacy_is_empty(value: Value<'_>) -> bool {
    match value {
        Value::Undefined | Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.is_nan(),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Bool(_) => false,
    }
}

/// If v1 / Switch v1: a `dateTime` value as epoch milliseconds (`new Date(v).getTime()`).
pub fn legacy_date(value: Value<'_>) -> Value<'static> {
    match value {
        Value::String(s) => {
            parse_datetime_ms(s).map_or(Value::Number(f64::NAN), |ms| Value::Number(ms as f64))
        }
        Value::Number(n) => Value::Number(n),
        _ => Value::Number(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_compare_as_instants() {
        assert_eq!(
            parse_datetime_ms("2024-01-01T01:00:00+01:00"),
            parse_datetime_ms("2024-01-01T00:00:00Z")
        );
        assert_eq!(parse_datetime_ms("2024-01-01"), Some(1_704_067_200_000));
        assert_eq!(parse_datetime_ms("1970-01-01T00:00:00.5Z"), Some(500));
        assert_eq!(parse_datetime_ms("not a date"), None);
        assert_eq!(parse_datetime_ms("2024-13-01"), None);
    }

    #[test]
    fn type_errors_use_n8n_wording() {
        let e = type_error(Value::String("vip"), "array", true, "[condition 0, item 0]");
        assert_eq!(
            e.message,
            "Wrong type: 'vip' is a string but was expecting an array [condition 0, item 0]"
        );
        let e = type_error(Value::String("x"), "number", false, "[condition 1, item 2]");
        assert_eq!(
            e.message,
            "Conversion error: the string 'x' can't be converted to a number [condition 1, item 2]"
        );
    }

    #[test]
    fn loose_validation_converts_strings() {
        let arena = bumpalo::Bump::new();
        assert!(
            matches!(parse_value(&arena, Value::String("10"), "number", false), Some(Value::Number(n)) if n == 10.0)
        );
        assert!(parse_value(&arena, Value::String("10"), "number", true).is_none());
        assert!(matches!(
            parse_value(&arena, Value::String("true"), "boolean", false),
            Some(Value::Bool(true))
        ));
        assert!(parse_value(&arena, Value::Null, "number", true).is_some());
    }

    #[test]
    fn string_operations_respect_case_sensitivity() {
        assert!(string_op(
            "equals",
            Value::String("ÄBC"),
            Value::String("äbc"),
            false
        ));
        assert!(!string_op(
            "equals",
            Value::String("ÄBC"),
            Value::String("äbc"),
            true
        ));
        assert!(string_op("empty", Value::Null, Value::Undefined, true));
        assert!(!string_op(
            "empty",
            Value::String(" "),
            Value::Undefined,
            true
        ));
        assert!(string_op(
            "regex",
            Value::String("123"),
            Value::String("^[0-9]{3}$"),
            true
        ));
    }

    #[test]
    fn legacy_comparisons_follow_if_v1() {
        assert!(legacy_compare(
            "larger",
            Value::Number(4.0),
            Value::Number(3.0)
        ));
        assert!(legacy_compare(
            "equal",
            Value::String("active"),
            Value::String("active")
        ));
        assert!(legacy_compare(
            "isEmpty",
            Value::String(""),
            Value::Undefined
        ));
        assert!(legacy_compare(
            "regex",
            Value::String("abc"),
            Value::String("/B/i")
        ));
    }
}
