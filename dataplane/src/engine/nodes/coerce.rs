//! JavaScript conversions node implementations need (`Number(x)`, `String(x)`,
//! `JSON.stringify`, lodash `set` / `get` paths), on arena values.

use bumpalo::Bump;

use crate::engine::value::{write_js_number, Value};

/// JavaScript `Number(value)`.
pub fn to_number(value: Value<'_>) -> f64 {
    match value {
        Value::Undefined => f64::NAN,
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(b)),
        Value::Number(n) => n,
        Value::String(s) => string_to_number(s),
        Value::Array(items) => match items {
            [] => 0.0,
            [single] => to_number(Value::String(&string_of(*single))),
            _ => f64::NAN,
        },
        Value::Object(_) => f64::NAN,
    }
}

/// JavaScript `Number(string)`: trims white space, `""` is 0, hex/octal/binary prefixes,
/// `Infinity`, no trailing garbage.
pub fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if t.is_empty() {
        return 0.0;
    }
    let radix = |digits: &str, radix: u32| -> f64 {
        if digits.is_empty() {
            return f64::NAN;
        }
        digits
            .chars()
            .try_fold(0f64, |acc, c| {
                c.to_digit(radix)
                    .map(|d| acc * f64::from(radix) + f64::from(d))
            })
            .unwrap_or(f64::NAN)
    };
    let lower = t.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return radix(hex, 16);
    }
    if let Some(oct) = lower.strip_prefix("0o") {
        return radix(oct, 8);
    }
    if let Some(bin) = lower.strip_prefix("0b") {
        return radix(bin, 2);
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    // Rust's parser accepts "inf", "nan" and "1_0"-free decimal forms; reject the words.
    if t.bytes()
        .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// JavaScript `String(value)` (arrays join with `,`, objects are `[object Object]`).
pub fn string_of(value: Value<'_>) -> String {
    match value {
        Value::Undefined => "undefined".to_owned(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_string(n),
        Value::String(s) => s.to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                if v.is_nullish() {
                    String::new()
                } else {
                    string_of(*v)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_owned(),
    }
}

/// JavaScript number to string (`NaN`, `Infinity`, `1e+21` ...).
pub fn number_string(n: f64) -> String {
    if n.is_nan() {
        return "NaN".to_owned();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let mut out = Vec::new();
    write_js_number(n, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// `JSON.stringify(value)` (compact).
pub fn json_string(value: Value<'_>) -> String {
    let mut out = Vec::new();
    value.write_json(&mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Parses JSON text into an arena value (`None` when it is not JSON).
pub fn parse_json<'a>(arena: &'a Bump, text: &str) -> Option<Value<'a>> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(Value::from_json(arena, &json))
}

/// One segment of a lodash property path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'p> {
    /// An object key.
    Key(&'p str),
    /// An array index (`[0]`).
    Index(usize),
}

/// Splits a lodash path (`a.b[0].c`, `a["b c"]`) into segments.
pub fn path_segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let bytes = path.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                if i > start {
                    out.push(Segment::Key(&path[start..i]));
                }
                start = i + 1;
            }
            b'[' => {
                if i > start {
                    out.push(Segment::Key(&path[start..i]));
                }
                let Some(close) = path[i..].find(']').map(|c| c + i) else {
                    out.push(Segment::Key(&path[i..]));
                    return out;
                };
                let inner = &path[i + 1..close];
                let unquoted = inner
                    .strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')));
                match (unquoted, inner.parse::<usize>()) {
                    (Some(key), _) => out.push(Segment::Key(key)),
                    (None, Ok(index)) => out.push(Segment::Index(index)),
                    (None, Err(_)) => out.push(Segment::Key(inner)),
                }
                i = close;
                start = close + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push(Segment::Key(&path[start..]));
    }
    out
}

/// lodash `get(value, path)`.
pub fn get_path<'a>(value: Value<'a>, path: &str) -> Value<'a> {
    path_segments(path)
        .iter()
        .fold(value, |current, segment| match segment {
            Segment::Key(k) => match current {
                Value::Array(_) => k
                    .parse::<usize>()
                    .map_or(Value::Undefined, |i| current.index(i)),
                _ => current.get(k),
            },
            Segment::Index(i) => match current {
                Value::Object(_) => current.get(&i.to_string()),
                _ => current.index(*i),
            },
        })
}

/// lodash `set(object, path, value)` on immutable values: returns the new object.
/// Missing intermediates become objects, or arrays when the next segment is an index.
pub fn set_path<'a>(arena: &'a Bump, target: Value<'a>, path: &str, value: Value<'a>) -> Value<'a> {
    let segments = path_segments(path);
    if segments.is_empty() {
        return set_key(arena, target, arena.alloc_str(path), value);
    }
    set_segments(arena, target, &segments, value)
}

fn set_segments<'a>(
    arena: &'a Bump,
    target: Value<'a>,
    segments: &[Segment<'_>],
    value: Value<'a>,
) -> Value<'a> {
    let Some((first, rest)) = segments.split_first() else {
        return value;
    };
    let child = |current: Value<'a>| -> Value<'a> {
        if rest.is_empty() {
            return value;
        }
        let existing = match first {
            Segment::Key(k) => current.get(k),
            Segment::Index(i) => current.index(*i),
        };
        let existing = match (existing, &rest[0]) {
            (Value::Object(_) | Value::Array(_), _) => existing,
            (_, Segment::Index(_)) => Value::Array(&[]),
            _ => Value::EMPTY_OBJECT,
        };
        set_segments(arena, existing, rest, value)
    };
    match (first, target) {
        (Segment::Index(i), Value::Array(items)) => {
            let mut out = items.to_vec();
            if out.len() <= *i {
                out.resize(*i + 1, Value::Undefined);
            }
            out[*i] = child(target);
            Value::Array(arena.alloc_slice_copy(&out))
        }
        (Segment::Index(i), _) => {
            let key = arena.alloc_str(&i.to_string());
            set_key(arena, target, key, child(target))
        }
        (Segment::Key(k), _) => {
            let key = arena.alloc_str(k);
            set_key(arena, target, key, child(target))
        }
    }
}

/// `object[key] = value` on an immutable object (non-objects become `{}` first).
pub fn set_key<'a>(
    arena: &'a Bump,
    target: Value<'a>,
    key: &'a str,
    value: Value<'a>,
) -> Value<'a> {
    let members = target.as_object().unwrap_or(&[]);
    let mut out = bumpalo::collections::Vec::with_capacity_in(members.len() + 1, arena);
    let mut replaced = false;
    for &(k, v) in members {
        if k == key {
            out.push((k, value));
            replaced = true;
        } else {
            out.push((k, v));
        }
    }
    if !replaced {
        out.push((key, value));
    }
    Value::Object(out.into_bump_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_parsing_follows_javascript() {
        assert_eq!(string_to_number(" 12 "), 12.0);
        assert_eq!(string_to_number("1e3"), 1000.0);
        assert_eq!(string_to_number(""), 0.0);
        assert_eq!(string_to_number("0x10"), 16.0);
        assert!(string_to_number("abc").is_nan());
        assert!(string_to_number("12px").is_nan());
        assert!(string_to_number("inf").is_nan());
        assert_eq!(string_to_number("-Infinity"), f64::NEG_INFINITY);
        assert_eq!(to_number(Value::Bool(true)), 1.0);
    }

    #[test]
    fn string_of_matches_javascript() {
        let arr = [Value::Number(1.0), Value::String("x"), Value::Null];
        assert_eq!(string_of(Value::Array(&arr)), "1,x,");
        assert_eq!(string_of(Value::EMPTY_OBJECT), "[object Object]");
        assert_eq!(string_of(Value::Number(1e21)), "1e+21");
        assert_eq!(string_of(Value::String("é😀")), "é😀");
    }

    #[test]
    fn set_path_nests_and_replaces_in_place() {
        let arena = Bump::new();
        let base = Value::Object(
            arena.alloc_slice_copy(&[("a", Value::Number(1.0)), ("b", Value::Number(2.0))]),
        );
        let v = set_path(&arena, base, "a", Value::Number(9.0));
        assert_eq!(json_string(v), r#"{"a":9,"b":2}"#);
        let v = set_path(&arena, v, "x.y.z", Value::Bool(true));
        assert_eq!(json_string(v), r#"{"a":9,"b":2,"x":{"y":{"z":true}}}"#);
        let v = set_path(&arena, Value::EMPTY_OBJECT, "list[1].k", Value::Number(1.0));
        assert_eq!(json_string(v), r#"{"list":[null,{"k":1}]}"#);
    }

    #[test]
    fn get_path_reads_brackets_and_indexes() {
        let arena = Bump::new();
        let v = parse_json(&arena, r#"{"a b":{"list":[10,20]}}"#).unwrap();
        assert_eq!(json_string(get_path(v, r#"["a b"].list[1]"#)), "20");
        assert!(matches!(get_path(v, "missing.deep"), Value::Undefined));
    }
}
