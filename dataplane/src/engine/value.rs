//! The engine's value: a JSON value whose storage lives in the execution's arena.
//!
//! Why this shape: items are immutable once a node has emitted them, so a value is a
//! `Copy` handle of two words at most. Objects are slices of `(key, value)` pairs in
//! insertion order — n8n (JavaScript) keeps object keys in insertion order and the golden
//! cases compare key order. A node that "changes" an item builds a new slice in the arena;
//! the old one stays valid for every node that still refers to it (paired items,
//! `$('Node')` look-ups). Strings borrow from the request buffer, the plan bytes or the arena.
//!
//! `Undefined` exists because expressions need JavaScript's distinction between a missing
//! property and `null`: `JSON.stringify` drops `undefined` object members and turns
//! `undefined` array elements into `null`.

use bumpalo::Bump;

/// A JSON value (plus JavaScript's `undefined`) borrowed from arena, request or plan memory.
#[derive(Clone, Copy, Debug, Default)]
pub enum Value<'a> {
    /// JavaScript `undefined`: a missing field. Never written into JSON output as such.
    #[default]
    Undefined,
    /// JSON `null`.
    Null,
    /// JSON `true` / `false`.
    Bool(bool),
    /// Every JSON number is an IEEE double, as in JavaScript.
    Number(f64),
    /// A UTF-8 string.
    String(&'a str),
    /// An array.
    Array(&'a [Value<'a>]),
    /// An object: members in insertion order. Keys are unique (builders must keep it so).
    Object(&'a [(&'a str, Value<'a>)]),
}

/// Members of an object value.
pub type Members<'a> = &'a [(&'a str, Value<'a>)];

impl<'a> Value<'a> {
    /// The empty object `{}`.
    pub const EMPTY_OBJECT: Value<'static> = Value::Object(&[]);

    /// Member `key` of an object; `Undefined` for a missing key or a non-object.
    pub fn get(&self, key: &str) -> Value<'a> {
        match self {
            Value::Object(members) => members
                .iter()
                .find(|(k, _)| key_eq(k, key))
                .map(|(_, v)| *v)
                .unwrap_or(Value::Undefined),
            _ => Value::Undefined,
        }
    }

    /// Element `index` of an array; `Undefined` when out of range or not an array.
    pub fn index(&self, index: usize) -> Value<'a> {
        match self {
            Value::Array(items) => items.get(index).copied().unwrap_or(Value::Undefined),
            _ => Value::Undefined,
        }
    }

    /// True for `undefined` and `null`.
    pub fn is_nullish(&self) -> bool {
        matches!(self, Value::Undefined | Value::Null)
    }

    /// The object's members, if this is an object.
    pub fn as_object(&self) -> Option<Members<'a>> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The array's elements, if this is an array.
    pub fn as_array(&self) -> Option<&'a [Value<'a>]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Copies a `serde_json::Value` into the arena.
    pub fn from_json(arena: &'a Bump, json: &serde_json::Value) -> Value<'a> {
        convert_json(arena, json, &|s| arena.alloc_str(s))
    }

    /// A `serde_json::Value` as an arena value that borrows its strings and keys from
    /// `json` (only the arrays and member slices go into the arena). Why: the data plane's
    /// body parser borrows strings from the request buffer the same way, and copying every
    /// key and string (one `memcpy` call each) was most of [`Value::from_json`]'s cost.
    pub fn borrow_json(arena: &'a Bump, json: &'a serde_json::Value) -> Value<'a> {
        convert_json(arena, json, &|s| s)
    }

    /// Converts to a `serde_json::Value` with `JSON.stringify` semantics: `undefined`
    /// members are dropped, `undefined` array elements and non-finite numbers become `null`,
    /// integral numbers become JSON integers.
    pub fn to_json(&self) -> serde_json::Value {
        match *self {
            Value::Undefined | Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(n) => number_to_json(n),
            Value::String(s) => serde_json::Value::String(s.to_owned()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(|v| v.to_json()).collect())
            }
            Value::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .filter(|(_, v)| !matches!(v, Value::Undefined))
                    .map(|(k, v)| ((*k).to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Appends the value as `JSON.stringify(value)` would print it (compact form).
    /// A top-level `undefined` prints nothing, as `JSON.stringify` returns `undefined`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match *self {
            Value::Undefined => {}
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => write_js_number(n, out),
            Value::String(s) => write_json_string(s, out),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match item {
                        Value::Undefined => out.extend_from_slice(b"null"),
                        v => v.write_json(out),
                    }
                }
                out.push(b']');
            }
            Value::Object(members) => {
                out.push(b'{');
                let mut first = true;
                for (k, v) in members.iter() {
                    write_json_member(k, *v, &mut first, out);
                }
                out.push(b'}');
            }
        }
    }
}

/// [`Value::from_json`] and [`Value::borrow_json`]: arrays and member slices go into the
/// arena, strings and keys through `text` (copied or borrowed).
fn convert_json<'a, 'j>(
    arena: &'a Bump,
    json: &'j serde_json::Value,
    text: &impl Fn(&'j str) -> &'a str,
) -> Value<'a> {
    match json {
        serde_json::Value::Array(items) if items.is_empty() => {
            Value::Array(unique_empty(arena, Value::Null))
        }
        serde_json::Value::Object(members) if members.is_empty() => {
            Value::Object(unique_empty(arena, ("", Value::Null)))
        }
        serde_json::Value::Array(items) => Value::Array(
            arena.alloc_slice_fill_iter(items.iter().map(|v| convert_json(arena, v, text))),
        ),
        serde_json::Value::Object(members) => {
            Value::Object(arena.alloc_slice_fill_iter(members.iter().map(|(k, v)| {
                // Scalars in line: the recursive call costs more than converting them.
                let value = match v {
                    serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                        convert_json(arena, v, text)
                    }
                    scalar => scalar_from_json(scalar, text),
                };
                (text(k.as_str()), value)
            })))
        }
        scalar => scalar_from_json(scalar, text),
    }
}

/// A JSON scalar (null, boolean, number, string, its text through `text`); `Undefined`
/// for arrays and objects (the callers convert those themselves).
#[inline]
fn scalar_from_json<'a, 'j>(
    json: &'j serde_json::Value,
    text: &impl Fn(&'j str) -> &'a str,
) -> Value<'a> {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::String(text(s)),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => Value::Undefined,
    }
}

/// A number as JSON: integral values within 2^53 as integers, NaN/±Infinity as `null`.
fn number_to_json(n: f64) -> serde_json::Value {
    const SAFE_INTEGER_MAX: f64 = 9_007_199_254_740_992.0;
    if !n.is_finite() {
        serde_json::Value::Null
    } else if n.fract() == 0.0 && n.abs() <= SAFE_INTEGER_MAX {
        // `-0` is printed `0` by JavaScript.
        serde_json::Value::Number((n as i64).into())
    } else {
        serde_json::Number::from_f64(n)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// Writes a number as JavaScript's `Number.prototype.toString` (and so `JSON.stringify`)
/// does: `1` not `1.0`, `1e+21`, `-0` as `0`; NaN and ±Infinity as `null` (JSON has neither).
#[inline]
pub fn write_js_number(n: f64, out: &mut Vec<u8>) {
    // Small non-negative integers (counters, codes, most numbers in requests): their
    // digits straight into the buffer, in line, without the formatter and the copy after
    // it (`-0` is among them: it prints as `0`). The range test first: NaN fails it, and
    // in range the conversion needs no saturation; `value as f64 == n` then holds
    // exactly for the integral values (the same test as `fract() == 0`, without `trunc`).
    let in_range = (0.0..SMALL_INTEGER_END as f64).contains(&n);
    let value = n as u32;
    if in_range && f64::from(value) == n {
        // Through a fixed buffer cut to length: one capacity check, no call.
        let digit = |d: u32| b'0' + d as u8;
        let (digits, count) = if value < 10 {
            ([digit(value), 0, 0], 1)
        } else if value < 100 {
            ([digit(value / 10), digit(value % 10), 0], 2)
        } else {
            (
                [
                    digit(value / 100),
                    digit(value / 10 % 10),
                    digit(value % 10),
                ],
                3,
            )
        };
        let end = out.len() + count;
        out.extend_from_slice(&digits);
        out.truncate(end);
        return;
    }
    write_js_number_general(n, out);
}

/// [`write_js_number`] for every number but the small integers. Out of line: its
/// formatters' buffers would give every caller a large stack frame.
#[inline(never)]
fn write_js_number_general(n: f64, out: &mut Vec<u8>) {
    if !n.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    // Integral values below 2^53 print as plain integers in JavaScript; itoa is several
    // times cheaper than the shortest-round-trip float formatter for them.
    const SAFE_INTEGER_MAX: f64 = 9_007_199_254_740_991.0;
    let integral = n as i64;
    if n.abs() <= SAFE_INTEGER_MAX && integral as f64 == n {
        let mut buffer = itoa::Buffer::new();
        // `-0` prints as `0`.
        out.extend_from_slice(buffer.format(integral).as_bytes());
        return;
    }
    let mut buffer = ryu_js::Buffer::new();
    out.extend_from_slice(buffer.format_finite(n).as_bytes());
}

/// Writes `"key":value` of an object being written, after a comma unless it is the
/// `first` member; an undefined value is left out, as `JSON.stringify` does.
#[inline]
fn write_json_member(key: &str, value: Value<'_>, first: &mut bool, out: &mut Vec<u8>) {
    if matches!(value, Value::Undefined) {
        return;
    }
    if !*first {
        out.push(b',');
    }
    *first = false;
    write_json_string(key, out);
    out.push(b':');
    value.write_json(out);
}

/// An empty array or object with an address of its own. Why: `===` compares arrays and
/// objects by address (JavaScript identity), and every zero-length slice of a vector that
/// never allocated shares one dangling address, which would make `[] === []` (and
/// `$json.tags === []`, a common emptiness test that is always false in JavaScript) true.
/// One unused slot costs a few bytes per empty container.
pub(crate) fn unique_empty<T: Copy>(arena: &Bump, filler: T) -> &[T] {
    &arena.alloc_slice_fill_copy(1, filler)[..0]
}

/// Integers from 0 up to (excluding) this print digit by digit in [`write_js_number`].
const SMALL_INTEGER_END: i64 = 1000;

/// Keys up to this length compare in line (as words); longer ones through `memcmp`.
pub const KEY_INLINE_COMPARE_BYTES_MAX: usize = 16;

/// Equality of two object keys. Why: `==` on `str` calls `memcmp` whenever the lengths
/// match, and for the short keys of typical items the call costs more than comparing the
/// bytes here (member look-ups are most of what simple expressions do).
#[inline]
pub fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    // Equal lengths from here on. Short keys compare as one or two (overlapping) words
    // instead of byte by byte.
    let n = a.len();
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=8 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        9..=KEY_INLINE_COMPARE_BYTES_MAX => {
            word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8)
        }
        _ => a == b,
    }
}

/// The 4 bytes of `bytes` from `at` as one word (the caller checked the length).
#[inline]
fn word4(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The 8 bytes of `bytes` from `at` as one word (the caller checked the length).
#[inline]
fn word8(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(word)
}

/// Strings up to this length are checked and copied as a few words by
/// [`write_json_string`]; longer ones are scanned, then copied with one `memcpy`.
const STRING_SHORT_BYTES_MAX: usize = 22;
/// The buffer a short string is written through: the string and its two quotes.
const STRING_SHORT_BUFFER_BYTES: usize = STRING_SHORT_BYTES_MAX + 2;

/// True for the bytes `JSON.stringify` escapes: control characters, `"` and `\`.
#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// `0x0101...01`: one in every byte of a word.
const BYTES_ONE: u64 = u64::MAX / 0xff;
/// `0x8080...80`: the top bit of every byte of a word.
const BYTES_TOP: u64 = BYTES_ONE << 7;

/// True when a byte of `word` needs an escape. The classic word tests ("has a zero byte",
/// "has a byte less than n"): exact as to whether any byte does, which is all the caller
/// asks (it then takes the escaping writer).
#[inline]
fn word_needs_escape(word: u64) -> bool {
    let has_zero = |w: u64| w.wrapping_sub(BYTES_ONE) & !w & BYTES_TOP != 0;
    // A byte below 0x20 ...
    word.wrapping_sub(BYTES_ONE * 0x20) & !word & BYTES_TOP != 0
        // ... `"` ...
        || has_zero(word ^ (BYTES_ONE * u64::from(b'"')))
        // ... or `\`.
        || has_zero(word ^ (BYTES_ONE * u64::from(b'\\')))
}

/// Appends `first` and then `bytes` (a separator and a rendered key). Why:
/// `extend_from_slice` calls `memcpy` for a length it does not know, which costs more than
/// the few bytes of a key; up to 16 bytes go with the separator as two (overlapping) words
/// through a fixed buffer instead, one capacity check for both.
#[inline]
pub fn extend_short_after(out: &mut Vec<u8>, first: u8, bytes: &[u8]) {
    let n = bytes.len();
    let mut buffer = [first; 17];
    match n {
        4..=8 => {
            buffer[1..5].copy_from_slice(&word4(bytes, 0).to_ne_bytes());
            buffer[n - 3..=n].copy_from_slice(&word4(bytes, n - 4).to_ne_bytes());
        }
        9..=16 => {
            buffer[1..9].copy_from_slice(&word8(bytes, 0).to_ne_bytes());
            buffer[n - 7..=n].copy_from_slice(&word8(bytes, n - 8).to_ne_bytes());
        }
        _ => {
            out.push(first);
            return out.extend_from_slice(bytes);
        }
    }
    let end = out.len() + n + 1;
    out.extend_from_slice(&buffer);
    out.truncate(end);
}

/// Writes `s` as a JSON string literal with `JSON.stringify`'s escapes.
pub fn write_json_string(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let n = bytes.len();
    if n <= STRING_SHORT_BYTES_MAX {
        // Short strings (most keys and values): checked and copied as a few (overlapping)
        // words into a fixed buffer, which goes out whole (a constant-length copy: a few
        // word stores) and is cut to length. Why: a byte loop, a separate scan or the
        // `memcpy` call for a few bytes cost more than the bytes themselves.
        let mut buffer = [b'"'; STRING_SHORT_BUFFER_BYTES];
        let escape = match n {
            0 => false,
            1..=3 => {
                // The first, middle and last byte are all of them.
                let (first, middle, last) = (bytes[0], bytes[n / 2], bytes[n - 1]);
                buffer[1] = first;
                buffer[1 + n / 2] = middle;
                buffer[n] = last;
                needs_escape(first) || needs_escape(middle) || needs_escape(last)
            }
            4..=8 => {
                let (head, tail) = (word4(bytes, 0), word4(bytes, n - 4));
                buffer[1..5].copy_from_slice(&head.to_ne_bytes());
                buffer[n - 3..n + 1].copy_from_slice(&tail.to_ne_bytes());
                word_needs_escape(u64::from(head) | u64::from(tail) << 32)
            }
            _ => {
                // 9 to 22 bytes: the first 8, the next 8 (within the string), the last 8.
                let (head, next, tail) = (
                    word8(bytes, 0),
                    word8(bytes, 8.min(n - 8)),
                    word8(bytes, n - 8),
                );
                buffer[1..9].copy_from_slice(&head.to_ne_bytes());
                buffer[9.min(n - 7)..17.min(n + 1)].copy_from_slice(&next.to_ne_bytes());
                buffer[n - 7..n + 1].copy_from_slice(&tail.to_ne_bytes());
                word_needs_escape(head) || word_needs_escape(next) || word_needs_escape(tail)
            }
        };
        if escape {
            return write_json_string_escaped(bytes, out);
        }
        // The closing quote is already there: the buffer starts as all quotes and is one
        // byte longer than the longest short string with its opening quote.
        let end = out.len() + n + 2;
        out.extend_from_slice(&buffer);
        out.truncate(end);
        return;
    }
    // Most keys and values need no escape: one scan, one copy.
    if !bytes.iter().any(|&b| needs_escape(b)) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    write_json_string_escaped(bytes, out);
}

/// [`write_json_string`] of a string that has bytes to escape.
#[cold]
fn write_json_string_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(format!("\\u{:04x}", b).as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

// Why a file of its own: the tests are as long as the module.
#[cfg(test)]
#[path = "value_tests.rs"]
mod tests;
