//! Templates (`Hello {{ $json.name }}`) compiled into one JavaScript expression.

use super::error::{JsError, JsErrorKind};

/// A piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplatePart<'t> {
    /// Literal text.
    Text(&'t str),
    /// The code between `{{` and `}}`.
    Code(&'t str),
}

/// Splits a template into text and `{{ }}` code. A `}}` inside a string literal of the
/// code does not close it. An unclosed `{{` is a syntax error, as in n8n.
pub fn split_template(template: &str) -> Result<Vec<TemplatePart<'_>>, JsError> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(TemplatePart::Text(&rest[..open]));
        }
        let code = &rest[open + 2..];
        let close = closing(code).ok_or_else(|| {
            JsError::new(JsErrorKind::Syntax, "invalid syntax: '{{' is never closed")
        })?;
        parts.push(TemplatePart::Code(&code[..close]));
        rest = &code[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Text(rest));
    }
    Ok(parts)
}

/// Byte offset of the `}}` that closes a segment, skipping string literals.
fn closing(code: &str) -> Option<usize> {
    let bytes = code.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if matches!(b, b'\'' | b'"' | b'`') => quote = Some(b),
            None if b == b'}' && bytes.get(i + 1) == Some(&b'}') => {
                // `}}}`: the last two close the segment (an object literal ends first).
                if bytes.get(i + 2) == Some(&b'}') {
                    i += 1;
                    continue;
                }
                return Some(i);
            }
            None => {}
        }
        i += 1;
    }
    None
}

/// The JavaScript expression computing a template's value (see
/// [`super::JsRuntime::eval_template`]).
pub(crate) fn template_source(template: &str) -> Result<String, JsError> {
    let parts = split_template(template)?;
    let segment = |code: &str| format!("__lfSeg(()=>(\n{code}\n))");
    if let [TemplatePart::Code(code)] = parts.as_slice() {
        return Ok(segment(code));
    }
    let mut source = String::from("__lfCat([");
    for part in &parts {
        match part {
            TemplatePart::Text(text) => {
                source.push_str(&serde_json::Value::String((*text).to_owned()).to_string())
            }
            TemplatePart::Code(code) => source.push_str(&segment(code)),
        }
        source.push(',');
    }
    source.push_str("])");
    Ok(source)
}
