//! `JSON.stringify` (compact and indented) and `JSON.parse`.

use super::eval::{fail, type_error, Eval, Res, CODE_NOT_FAST};
use super::scope::Scope;
use super::val::Val;
use crate::engine::value::{write_js_number, write_json_string, Value};

/// Longest indent `JSON.stringify` uses (JavaScript clamps to 10).
const INDENT_CHARS_MAX: usize = 10;

/// `JSON.stringify(value, replacer, indent)`.
pub(crate) fn stringify<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    value: Val<'a>,
    replacer: Val<'a>,
    indent: Val<'a>,
) -> Res<'a> {
    if !replacer.is_nullish() {
        return fail(CODE_NOT_FAST, "JSON.stringify with a replacer");
    }
    let indent: String = match indent {
        Val::Number(n) if n >= 1.0 => " ".repeat((n as usize).min(INDENT_CHARS_MAX)),
        Val::String(s) => s.chars().take(INDENT_CHARS_MAX).collect(),
        _ => String::new(),
    };
    let value = ev.to_value(value);
    if matches!(value, Value::Undefined) {
        return Ok(Val::Undefined);
    }
    let mut out = Vec::new();
    if indent.is_empty() {
        value.write_json(&mut out);
    } else {
        write_pretty(&value, &indent, 0, &mut out);
    }
    ev.check_len(out.len())?;
    // The writer only emits UTF-8 it was given plus ASCII.
    let text = String::from_utf8(out).unwrap_or_default();
    Ok(Val::String(ev.alloc_str(&text)))
}

fn newline(indent: &str, depth: usize, out: &mut Vec<u8>) {
    out.push(b'\n');
    for _ in 0..depth {
        out.extend_from_slice(indent.as_bytes());
    }
}

fn write_pretty(v: &Value<'_>, indent: &str, depth: usize, out: &mut Vec<u8>) {
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(indent, depth + 1, out);
                match item {
                    Value::Undefined => out.extend_from_slice(b"null"),
                    item => write_pretty(item, indent, depth + 1, out),
                }
            }
            newline(indent, depth, out);
            out.push(b']');
        }
        Value::Object(members) if members.iter().any(|(_, v)| !matches!(v, Value::Undefined)) => {
            out.push(b'{');
            let mut first = true;
            for (k, v) in members
                .iter()
                .filter(|(_, v)| !matches!(v, Value::Undefined))
            {
                if !first {
                    out.push(b',');
                }
                first = false;
                newline(indent, depth + 1, out);
                write_json_string(k, out);
                out.extend_from_slice(b": ");
                write_pretty(v, indent, depth + 1, out);
            }
            newline(indent, depth, out);
            out.push(b'}');
        }
        Value::Number(n) => write_js_number(*n, out),
        other => other.write_json(out),
    }
}

/// `JSON.parse(text)`; a syntax error is a (swallowed) JavaScript error.
pub(crate) fn parse<'a, S: Scope<'a> + ?Sized>(ev: &mut Eval<'a, '_, S>, text: &str) -> Res<'a> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => Ok(Val::from(Value::from_json(ev.arena, &json))),
        Err(e) => type_error(format!("JSON.parse: {e}")),
    }
}
