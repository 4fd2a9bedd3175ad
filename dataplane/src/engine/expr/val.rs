//! The evaluator's working value and JavaScript's conversions on it.
//!
//! [`Val`] is [`Value`] plus what only exists while an expression runs: Luxon `DateTime`s
//! and `Duration`s, regexes, arrow functions and the `$input` / `$('Node')` proxies. When a
//! result leaves the evaluator it becomes a [`Value`] ([`Val::into_value`]): a DateTime
//! becomes its ISO string, as n8n serialises it.

use bumpalo::collections::String as BumpString;
use bumpalo::Bump;
use linkflow_codec::expr::ast::ArchivedExpr;

use crate::engine::datetime::{DateTime, Duration};
use crate::engine::value::Value;

/// A value during evaluation. `Copy`: two words plus a tag at most.
#[derive(Clone, Copy)]
pub(crate) enum Val<'a> {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    String(&'a str),
    Array(&'a [Value<'a>]),
    Object(&'a [(&'a str, Value<'a>)]),
    /// A Luxon DateTime.
    DateTime(DateTime),
    /// A Luxon Duration.
    Duration(&'a Duration),
    /// A JavaScript `Date` (epoch milliseconds; NaN when invalid).
    JsDate(f64),
    /// A regex literal: pattern and flags from the plan.
    Regex(&'a str, &'a str),
    /// An arrow function (the `Expr::Arrow` node).
    Func(&'a ArchivedExpr),
    /// `$input`.
    Input,
    /// `$('Name')` / `$node["Name"]`.
    NodeRef(&'a str),
    /// A step of a legacy `$item(i)` read (see [`super::legacy`]).
    Legacy(&'a super::legacy::LegacyItem<'a>),
}

impl<'a> From<Value<'a>> for Val<'a> {
    fn from(v: Value<'a>) -> Self {
        match v {
            Value::Undefined => Val::Undefined,
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(b),
            Value::Number(n) => Val::Number(n),
            Value::String(s) => Val::String(s),
            Value::Array(a) => Val::Array(a),
            Value::Object(o) => Val::Object(o),
        }
    }
}

impl<'a> Val<'a> {
    /// The value as stored in items and JSON: DateTimes and Dates become ISO strings,
    /// Durations ISO durations, regexes and proxies `{}`, functions `undefined`.
    pub fn into_value(self, arena: &'a Bump) -> Value<'a> {
        match self {
            Val::Undefined => Value::Undefined,
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(b),
            Val::Number(n) => Value::Number(n),
            Val::String(s) => Value::String(s),
            Val::Array(a) => Value::Array(a),
            Val::Object(o) => Value::Object(o),
            Val::DateTime(d) => match d.to_iso() {
                Some(iso) => Value::String(arena.alloc_str(&iso)),
                None => Value::Null,
            },
            Val::Duration(d) => Value::String(arena.alloc_str(&d.to_iso())),
            Val::JsDate(ms) => match crate::engine::datetime::js_date_iso(ms) {
                Some(iso) => Value::String(arena.alloc_str(&iso)),
                None => Value::Null,
            },
            Val::Regex(..) | Val::Input | Val::NodeRef(_) | Val::Legacy(_) => Value::EMPTY_OBJECT,
            Val::Func(_) => Value::Undefined,
        }
    }

    pub fn is_nullish(&self) -> bool {
        matches!(self, Val::Undefined | Val::Null)
    }

    /// JavaScript truthiness.
    pub fn truthy(&self) -> bool {
        match *self {
            Val::Undefined | Val::Null => false,
            Val::Bool(b) => b,
            Val::Number(n) => n != 0.0 && !n.is_nan(),
            Val::String(s) => !s.is_empty(),
            Val::DateTime(_) | Val::Duration(_) | Val::JsDate(_) => true,
            _ => true,
        }
    }

    /// `typeof`.
    pub fn type_of(&self) -> &'static str {
        match self {
            Val::Undefined => "undefined",
            Val::Bool(_) => "boolean",
            Val::Number(_) => "number",
            Val::String(_) => "string",
            Val::Func(_) => "function",
            _ => "object",
        }
    }

    /// A short name of the value's type for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Val::Array(_) => "array",
            Val::Null => "null",
            Val::DateTime(_) => "DateTime",
            _ => self.type_of(),
        }
    }
}

/// The whitespace `String.prototype.trim` and `Number()` strip.
pub(crate) fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{a}' | '\u{b}' | '\u{c}' | '\u{d}' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// `Number(string)`.
pub(crate) fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(is_js_whitespace);
    if t.is_empty() {
        return 0.0;
    }
    let (radix, digits) = match t.get(..2) {
        Some("0x" | "0X") => (16, &t[2..]),
        Some("0o" | "0O") => (8, &t[2..]),
        Some("0b" | "0B") => (2, &t[2..]),
        _ => (10, t),
    };
    if radix != 10 {
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return f64::NAN;
        }
        return digits.chars().fold(0.0, |acc, d| {
            acc * radix as f64 + d.to_digit(radix).unwrap_or(0) as f64
        });
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "Infinity" {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    // Rust also accepts "inf", "nan" and "infinity"; JavaScript does not.
    if !unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        || !unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// Appends JavaScript's `Number.prototype.toString()` of `n`.
pub(crate) fn push_number(out: &mut BumpString<'_>, n: f64) {
    if n.is_nan() {
        out.push_str("NaN");
    } else if n.is_infinite() {
        out.push_str(if n > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let mut buffer = ryu_js::Buffer::new();
        out.push_str(buffer.format_finite(n));
    }
}

/// `Number.prototype.toString()` as an owned string.
pub(crate) fn number_to_string(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_owned()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        ryu_js::Buffer::new().format_finite(n).to_owned()
    }
}

/// `ToNumber` for a primitive or an object (objects go through `ToPrimitive`).
pub(crate) fn to_number(arena: &Bump, v: Val<'_>) -> f64 {
    match v {
        Val::Undefined => f64::NAN,
        Val::Null => 0.0,
        Val::Bool(b) => b as u8 as f64,
        Val::Number(n) => n,
        Val::String(s) => string_to_number(s),
        Val::DateTime(d) => d.value_of(),
        Val::JsDate(ms) => ms,
        Val::Array(_) => string_to_number(to_str(arena, v)),
        _ => f64::NAN,
    }
}

/// `String(v)`, allocated in the arena when it is not already a string.
pub(crate) fn to_str<'a>(arena: &'a Bump, v: Val<'a>) -> &'a str {
    match v {
        Val::String(s) => s,
        Val::Undefined => "undefined",
        Val::Null => "null",
        Val::Bool(true) => "true",
        Val::Bool(false) => "false",
        Val::Object(_) | Val::Input | Val::NodeRef(_) | Val::Legacy(_) => "[object Object]",
        _ => {
            let mut out = BumpString::new_in(arena);
            push_str_of(&mut out, v, arena);
            out.into_bump_str()
        }
    }
}

/// Appends `String(v)`.
pub(crate) fn push_str_of<'a>(out: &mut BumpString<'_>, v: Val<'a>, arena: &'a Bump) {
    match v {
        Val::String(s) => out.push_str(s),
        Val::Number(n) => push_number(out, n),
        Val::Array(items) => {
            // Array.prototype.join(","): null and undefined elements print as "".
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !item.is_nullish() {
                    push_str_of(out, Val::from(*item), arena);
                }
            }
        }
        Val::DateTime(d) => out.push_str(&d.to_string_js()),
        Val::Duration(d) => out.push_str(&d.to_iso()),
        Val::JsDate(ms) => out.push_str(&crate::engine::datetime::js_date_string(ms)),
        Val::Regex(pattern, flags) => {
            out.push('/');
            out.push_str(pattern);
            out.push('/');
            out.push_str(flags);
        }
        Val::Func(_) => out.push_str("function () { [native code] }"),
        other => out.push_str(to_str(arena, other)),
    }
}

/// `ToPrimitive(v, default)`: objects become strings, DateTimes numbers (Luxon's `valueOf`),
/// JavaScript Dates strings (their default hint is string).
pub(crate) fn to_primitive<'a>(arena: &'a Bump, v: Val<'a>) -> Val<'a> {
    match v {
        Val::Array(_)
        | Val::Object(_)
        | Val::Regex(..)
        | Val::Input
        | Val::NodeRef(_)
        | Val::Legacy(_)
        | Val::Func(_) => Val::String(to_str(arena, v)),
        Val::DateTime(d) => Val::Number(d.value_of()),
        Val::Duration(d) => Val::Number(d.to_millis()),
        Val::JsDate(_) => Val::String(to_str(arena, v)),
        other => other,
    }
}

fn is_object(v: &Val<'_>) -> bool {
    matches!(
        v,
        Val::Array(_)
            | Val::Object(_)
            | Val::DateTime(_)
            | Val::Duration(_)
            | Val::JsDate(_)
            | Val::Regex(..)
            | Val::Func(_)
            | Val::Input
            | Val::NodeRef(_)
            | Val::Legacy(_)
    )
}

/// `===`. Objects compare by identity (same arena slice).
pub(crate) fn strict_equals(a: Val<'_>, b: Val<'_>) -> bool {
    match (a, b) {
        (Val::Undefined, Val::Undefined) | (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Number(x), Val::Number(y)) => x == y,
        (Val::String(x), Val::String(y)) => x == y,
        (Val::Array(x), Val::Array(y)) => std::ptr::eq(x, y),
        (Val::Object(x), Val::Object(y)) => std::ptr::eq(x, y),
        (Val::Input, Val::Input) => true,
        (Val::NodeRef(x), Val::NodeRef(y)) => x == y,
        _ => false,
    }
}

/// `==` (the abstract equality algorithm).
pub(crate) fn loose_equals<'a>(arena: &'a Bump, a: Val<'a>, b: Val<'a>) -> bool {
    match (a, b) {
        (x, y) if x.is_nullish() || y.is_nullish() => x.is_nullish() && y.is_nullish(),
        (Val::Number(x), Val::String(s)) | (Val::String(s), Val::Number(x)) => {
            x == string_to_number(s)
        }
        (Val::Bool(x), y) => loose_equals(arena, Val::Number(x as u8 as f64), y),
        (x, Val::Bool(y)) => loose_equals(arena, x, Val::Number(y as u8 as f64)),
        (x, y) if is_object(&x) && is_object(&y) => strict_equals(x, y),
        (x, y) if is_object(&x) => loose_equals(arena, to_primitive(arena, x), y),
        (x, y) if is_object(&y) => loose_equals(arena, x, to_primitive(arena, y)),
        (x, y) => strict_equals(x, y),
    }
}

/// Result of a relational comparison: `None` when either side is NaN (every comparison
/// is then false).
pub(crate) fn compare<'a>(arena: &'a Bump, a: Val<'a>, b: Val<'a>) -> Option<std::cmp::Ordering> {
    let (a, b) = (to_primitive(arena, a), to_primitive(arena, b));
    if let (Val::String(x), Val::String(y)) = (a, b) {
        // JavaScript compares strings by UTF-16 code units.
        return Some(x.encode_utf16().cmp(y.encode_utf16()));
    }
    to_number(arena, a).partial_cmp(&to_number(arena, b))
}

/// `ToInt32`.
pub(crate) fn to_int32(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    (n.trunc().rem_euclid(4_294_967_296.0) as u32) as i32
}

/// JavaScript `**` (differs from `powf` for `1 ** NaN` and `±1 ** ±Infinity`).
pub(crate) fn js_pow(base: f64, exponent: f64) -> f64 {
    if exponent.is_nan() || (base.abs() == 1.0 && exponent.is_infinite()) {
        return f64::NAN;
    }
    base.powf(exponent)
}

/// UTF-16 length of a string (JavaScript's `.length`).
pub(crate) fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().map(char::len_utf16).sum()
    }
}
