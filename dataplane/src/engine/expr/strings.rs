//! String methods: JavaScript's `String.prototype` and n8n's string extensions.
//! Positions and lengths count UTF-16 code units, as in JavaScript.

use bumpalo::collections::{String as BumpString, Vec as BumpVec};

use super::eval::{type_error, Eval, Res};
use super::regexes;
use super::scope::Scope;
use super::val::{self, is_js_whitespace, Val};
use crate::engine::datetime::parse_loose;
use crate::engine::value::Value;

/// Byte offset of UTF-16 index `index` in `s` (clamped to the end).
pub(crate) fn byte_at_utf16(s: &str, index: usize) -> usize {
    if s.is_ascii() {
        return index.min(s.len());
    }
    let mut units = 0;
    for (byte, c) in s.char_indices() {
        if units >= index {
            return byte;
        }
        units += c.len_utf16();
    }
    s.len()
}

/// UTF-16 index of byte offset `byte`.
pub(crate) fn utf16_at_byte(s: &str, byte: usize) -> usize {
    val::utf16_len(&s[..byte])
}

/// Resolves a relative index (`slice` semantics: negative counts from the end).
pub(crate) fn relative(n: f64, len: usize) -> usize {
    let n = if n.is_nan() { 0.0 } else { n.trunc() };
    if n < 0.0 {
        (len as f64 + n).max(0.0) as usize
    } else {
        n.min(len as f64) as usize
    }
}

fn clamp(n: f64, len: usize) -> usize {
    let n = if n.is_nan() { 0.0 } else { n.trunc() };
    n.max(0.0).min(len as f64) as usize
}

/// `s[i]` / `charAt`: the UTF-16 unit at `i` (a whole character when it is one).
pub(crate) fn char_at<'a, S: Scope<'a> + ?Sized>(
    ev: &Eval<'a, '_, S>,
    s: &'a str,
    i: f64,
) -> Val<'a> {
    if i < 0.0 || i.fract() != 0.0 {
        return Val::Undefined;
    }
    let start = byte_at_utf16(s, i as usize);
    match s[start..].chars().next() {
        Some(c) if utf16_at_byte(s, start) == i as usize => {
            Val::String(&s[start..start + c.len_utf8()])
        }
        Some(_) => Val::String(ev.alloc_str("\u{fffd}")),
        None => Val::Undefined,
    }
}

fn utf16_slice(s: &str, start: usize, end: usize) -> &str {
    if end <= start {
        return "";
    }
    &s[byte_at_utf16(s, start)..byte_at_utf16(s, end)]
}

fn arg<'a>(args: &[Val<'a>], i: usize) -> Val<'a> {
    args.get(i).copied().unwrap_or(Val::Undefined)
}

/// Calls string method `name`; `None` when strings have no such method.
pub(crate) fn call<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    s: &'a str,
    name: &str,
    args: &'a [Val<'a>],
) -> Option<Res<'a>> {
    let len = val::utf16_len(s);
    let num = |ev: &Eval<'a, '_, S>, i: usize| ev.num_of(arg(args, i));
    let text = |ev: &Eval<'a, '_, S>, i: usize| ev.str_of(arg(args, i));
    Some(Ok(match name {
        "toString" | "valueOf" => Val::String(s),
        "toUpperCase" => Val::String(ev.alloc_str(&s.to_uppercase())),
        "toLowerCase" => Val::String(ev.alloc_str(&s.to_lowercase())),
        "trim" => Val::String(s.trim_matches(is_js_whitespace)),
        "trimStart" => Val::String(s.trim_start_matches(is_js_whitespace)),
        "trimEnd" => Val::String(s.trim_end_matches(is_js_whitespace)),
        "includes" => {
            if matches!(arg(args, 0), Val::Regex(..)) {
                return Some(type_error(
                    "First argument to String.prototype.includes must not be a regular expression",
                ));
            }
            let from = byte_at_utf16(s, clamp(num(ev, 1), len));
            Val::Bool(s[from..].contains(text(ev, 0)))
        }
        "startsWith" => {
            let from = byte_at_utf16(s, clamp(num(ev, 1), len));
            Val::Bool(s[from..].starts_with(text(ev, 0)))
        }
        "endsWith" => {
            let end = match arg(args, 1) {
                Val::Undefined => s.len(),
                v => byte_at_utf16(s, clamp(ev.num_of(v), len)),
            };
            Val::Bool(s[..end].ends_with(text(ev, 0)))
        }
        "indexOf" => {
            let from = byte_at_utf16(s, clamp(num(ev, 1), len));
            match s[from..].find(text(ev, 0)) {
                Some(i) => Val::Number(utf16_at_byte(s, from + i) as f64),
                None => Val::Number(-1.0),
            }
        }
        "lastIndexOf" => match s.rfind(text(ev, 0)) {
            Some(i) => Val::Number(utf16_at_byte(s, i) as f64),
            None => Val::Number(-1.0),
        },
        "slice" => {
            let start = relative(num(ev, 0), len);
            let end = match arg(args, 1) {
                Val::Undefined => len,
                v => relative(ev.num_of(v), len),
            };
            Val::String(utf16_slice(s, start, end))
        }
        "substring" => {
            let a = clamp(num(ev, 0), len);
            let b = match arg(args, 1) {
                Val::Undefined => len,
                v => clamp(ev.num_of(v), len),
            };
            Val::String(utf16_slice(s, a.min(b), a.max(b)))
        }
        "substr" => {
            let start = relative(num(ev, 0), len);
            let count = match arg(args, 1) {
                Val::Undefined => len,
                v => clamp(ev.num_of(v), len),
            };
            Val::String(utf16_slice(s, start, (start + count).min(len)))
        }
        "charAt" => match char_at(ev, s, num(ev, 0).max(0.0).trunc()) {
            Val::Undefined => Val::String(""),
            v => v,
        },
        "at" => {
            let i = num(ev, 0).trunc();
            let i = if i < 0.0 { len as f64 + i } else { i };
            char_at(ev, s, i)
        }
        "charCodeAt" => {
            let i = num(ev, 0);
            let i = if i.is_nan() { 0.0 } else { i.trunc() };
            match s.encode_utf16().nth(i as usize).filter(|_| i >= 0.0) {
                Some(unit) => Val::Number(unit as f64),
                None => Val::Number(f64::NAN),
            }
        }
        "concat" => {
            let mut out = BumpString::from_str_in(s, ev.arena);
            for a in args {
                val::push_str_of(&mut out, *a, ev.arena);
            }
            Val::String(out.into_bump_str())
        }
        "repeat" => {
            let n = num(ev, 0);
            if !(0.0..=f64::from(u32::MAX)).contains(&n) {
                return Some(type_error("Invalid count value"));
            }
            let n = n.trunc() as usize;
            if let Err(e) = ev.check_len(s.len().saturating_mul(n)) {
                return Some(Err(e));
            }
            Val::String(ev.alloc_str(&s.repeat(n)))
        }
        "padStart" | "padEnd" => {
            let target = num(ev, 0);
            let target = if target.is_nan() {
                0
            } else {
                target.max(0.0) as usize
            };
            let fill = match arg(args, 1) {
                Val::Undefined => " ",
                v => ev.str_of(v),
            };
            if target <= len || fill.is_empty() {
                return Some(Ok(Val::String(s)));
            }
            if let Err(e) = ev.check_len(target.saturating_mul(4)) {
                return Some(Err(e));
            }
            let fill_units: Vec<u16> = fill.encode_utf16().collect();
            let pad: Vec<u16> = fill_units
                .iter()
                .copied()
                .cycle()
                .take(target - len)
                .collect();
            let pad = String::from_utf16_lossy(&pad);
            let mut out = BumpString::with_capacity_in(s.len() + pad.len(), ev.arena);
            if name == "padStart" {
                out.push_str(&pad);
                out.push_str(s);
            } else {
                out.push_str(s);
                out.push_str(&pad);
            }
            Val::String(out.into_bump_str())
        }
        "split" => return Some(split(ev, s, args)),
        "replace" | "replaceAll" => {
            return Some(regexes::replace(ev, s, args, name == "replaceAll"))
        }
        "match" => return Some(regexes::match_all(ev, s, arg(args, 0))),
        "isEmpty" => Val::Bool(s.is_empty()),
        "isNotEmpty" => Val::Bool(!s.is_empty()),
        "toNumber" => {
            let n = val::string_to_number(s);
            if n.is_nan() {
                return Some(type_error("cannot convert to number"));
            }
            Val::Number(n)
        }
        "toJsonString" => {
            let mut out = Vec::new();
            crate::engine::value::write_json_string(s, &mut out);
            Val::String(ev.alloc_str(&String::from_utf8_lossy(&out)))
        }
        "parseJson" => return Some(super::json::parse(ev, s)),
        "toDateTime" => Val::DateTime(parse_loose(s, ev.zone())),
        "urlEncode" => {
            Val::String(ev.alloc_str(&super::globals::uri_encode(s, arg(args, 0).truthy())))
        }
        "urlDecode" => match super::globals::uri_decode(s, arg(args, 0).truthy()) {
            Some(d) => Val::String(ev.alloc_str(&d)),
            None => return Some(type_error("URI malformed")),
        },
        "extractEmail" => regexes::extract(ev, s, regexes::Extract::Email),
        "extractUrl" => regexes::extract(ev, s, regexes::Extract::Url),
        "extractDomain" => regexes::extract(ev, s, regexes::Extract::Domain),
        "toTitleCase" => Val::String(ev.alloc_str(&title_case(s))),
        "toSentenceCase" => Val::String(ev.alloc_str(&sentence_case(s))),
        _ => return None,
    }))
}

fn split<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    s: &'a str,
    args: &'a [Val<'a>],
) -> Res<'a> {
    let limit = match arg(args, 1) {
        Val::Undefined => usize::MAX,
        v => ev.num_of(v).max(0.0) as usize,
    };
    let mut out = BumpVec::new_in(ev.arena);
    match arg(args, 0) {
        Val::Undefined => out.push(Value::String(s)),
        Val::Regex(pattern, flags) => {
            let re = regexes::compile(pattern, flags)?;
            let mut last = 0;
            for m in re.find_iter(s).flatten() {
                if m.end() == 0 || (m.start() == m.end() && m.start() >= s.len()) {
                    continue;
                }
                out.push(Value::String(&s[last..m.start()]));
                last = m.end();
            }
            out.push(Value::String(&s[last..]));
        }
        sep => {
            let sep = ev.str_of(sep);
            if sep.is_empty() {
                for c in s.chars() {
                    out.push(Value::String(ev.alloc_str(c.encode_utf8(&mut [0; 4]))));
                }
            } else {
                out.extend(s.split(sep).map(Value::String));
            }
        }
    }
    out.truncate(limit);
    Ok(Val::Array(out.into_bump_slice()))
}

/// Capitalises the first letter of every word.
fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if at_word_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
            at_word_start = false;
        } else {
            out.extend(c.to_lowercase());
            if c.is_whitespace() || c == '-' {
                at_word_start = true;
            }
        }
    }
    out
}

/// Lower-cases everything and capitalises the first letter of each sentence.
fn sentence_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_sentence_start = true;
    for c in s.chars() {
        if at_sentence_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
            at_sentence_start = false;
        } else {
            out.extend(c.to_lowercase());
            if matches!(c, '.' | '!' | '?') {
                at_sentence_start = true;
            }
        }
    }
    out
}
