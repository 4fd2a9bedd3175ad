//! Expression front end: n8n parameter strings (`=...{{ ... }}...`) parsed into an AST and
//! classified as fast-path (evaluated natively by the engine) or JavaScript fallback.
//!
//! - [`compile`] parses a parameter string that starts with `=`.
//! - [`CompiledExpression::path`] says which evaluator runs it.
//! - [`CompiledExpression::unsupported_features`] lists what neither path supports
//!   (e.g. `$fromAI`), for `linkflow compat`.
//! - A syntax error is an [`ExprError`]; n8n fails the node at run time, so a plan may keep
//!   the expression as [`CompiledExpression::invalid`] and the engine raises it then.
//!
//! Template rules (n8n's): the text after `=` may mix plain text and any number of
//! `{{ code }}` segments. A value that is exactly one segment keeps the segment's type;
//! anything else is a string built with JavaScript's `String()`. `}}` inside a string or an
//! object literal does not close a segment, because segments are found by parsing.

pub mod ast;
mod classify;
mod lexer;
mod parser;
pub mod regex;
pub mod support;

use rkyv::{Archive, Deserialize, Serialize};

pub use ast::Expr;

/// Error code: invalid JavaScript syntax inside `{{ }}`.
pub const CODE_SYNTAX: &str = "LF-EXPR-001";
/// Error code: a string, template, regex, comment or `{{` segment that never ends.
pub const CODE_UNTERMINATED: &str = "LF-EXPR-002";
/// Error code: nesting deeper than [`parser::NESTING_DEPTH_MAX`].
pub const CODE_NESTING: &str = "LF-EXPR-003";
/// Error code: the parameter string is longer than [`SOURCE_BYTES_MAX`].
pub const CODE_TOO_LONG: &str = "LF-EXPR-004";

/// Longest parameter string compiled. Why: bounds compile time and plan size for hostile
/// input; real expressions in the corpus are a few KiB at most.
pub const SOURCE_BYTES_MAX: usize = 1 << 20;

/// A compiled parameter expression as stored in a plan.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub struct CompiledExpression {
    /// The parameter string as written, including the leading `=`.
    pub source: String,
    /// What to evaluate.
    pub body: Body,
    /// True when the fast evaluator implements every construct used.
    pub fast: bool,
    /// Why the expression needs the JavaScript fallback (empty when `fast`).
    pub js_reasons: Vec<String>,
    /// Features neither evaluator supports.
    pub unsupported: Vec<String>,
    /// For `{{ { "k": v, ... } }}` (one segment, an object literal of at most
    /// [`OBJECT_KEYS_JSON_MAX`] static, distinct keys): each key as its JSON text followed by
    /// `:`, so a runtime writing the object as JSON copies the key bytes instead of escaping
    /// and de-duplicating them per execution. Empty for every other expression. Boxed for
    /// the reason [`Expr::Path`]'s keys are: read per execution, an archived box needs
    /// no scan for its length.
    pub object_keys_json: Vec<Box<str>>,
}

/// Keys of an object literal [`CompiledExpression::object_keys_json`] renders; larger
/// literals are left to the runtime's generic writer. Why: bounds the plan's size.
pub const OBJECT_KEYS_JSON_MAX: usize = 16;

/// The shape of a parameter value.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub enum Body {
    /// `=text` without `{{`: the text after `=`.
    Text(String),
    /// Exactly one `{{ }}` and no text around it: the value keeps its type.
    Single(Segment),
    /// Text and segments, concatenated into a string.
    Parts(Vec<Part>),
    /// A syntax error that n8n reports when the node runs.
    Invalid(InvalidExpression),
}

/// One `{{ code }}`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub struct Segment {
    /// The code between the braces, as written (what the JavaScript fallback runs).
    pub code: String,
    /// Its parsed form.
    pub expr: Expr,
}

/// A piece of a template.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub enum Part {
    /// Literal text.
    Text(String),
    /// A `{{ }}` segment.
    Code(Segment),
}

/// A syntax error kept for run time.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
pub struct InvalidExpression {
    /// Stable error code.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// Byte offset in the parameter string.
    pub offset: u32,
}

/// Which evaluator runs an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprPath {
    /// Native evaluation of the compiled AST.
    Fast,
    /// The embedded JavaScript engine.
    Js,
}

/// A malformed expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message} (at byte {offset})")]
pub struct ExprError {
    /// Stable error code, e.g. `LF-EXPR-001`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// Byte offset in the parameter string.
    pub offset: usize,
}

/// Compiles a parameter string (`=...`). A string without the leading `=` is plain text.
pub fn compile(source: &str) -> Result<CompiledExpression, ExprError> {
    if source.len() > SOURCE_BYTES_MAX {
        return Err(ExprError {
            code: CODE_TOO_LONG,
            message: format!(
                "expression is {} bytes, the limit is {SOURCE_BYTES_MAX}",
                source.len()
            ),
            offset: SOURCE_BYTES_MAX,
        });
    }
    let body = match source.strip_prefix('=') {
        None => Body::Text(source.to_owned()),
        Some(_) => split_template(source)?,
    };
    let mut classification = classify::Classification::default();
    classification.body(&body);
    Ok(CompiledExpression {
        source: source.to_owned(),
        fast: classification.js_reasons.is_empty() && classification.unsupported.is_empty(),
        js_reasons: classification.js_reasons,
        unsupported: classification.unsupported,
        object_keys_json: object_keys_json(&body),
        body,
    })
}

/// [`CompiledExpression::object_keys_json`] of `body`.
fn object_keys_json(body: &Body) -> Vec<Box<str>> {
    let Body::Single(Segment {
        expr: ast::Expr::Object { keys, values },
        ..
    }) = body
    else {
        return Vec::new();
    };
    if keys.is_empty() || keys.len() > OBJECT_KEYS_JSON_MAX || keys.len() != values.len() {
        return Vec::new();
    }
    let mut rendered: Vec<Box<str>> = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let ast::ObjectKey::Static(key) = key else {
            return Vec::new();
        };
        // A repeated key keeps its first position with the last value: the member order
        // then differs from the source order, which the runtime's generic writer handles.
        let repeated = keys[..i]
            .iter()
            .any(|k| matches!(k, ast::ObjectKey::Static(k) if k == key));
        if repeated {
            return Vec::new();
        }
        let mut text = json_string(key);
        text.push(':');
        rendered.push(text.into_boxed_str());
    }
    rendered
}

/// `s` as `JSON.stringify` writes it: `"`, `\` and the control characters escaped
/// (`\b \f \n \r \t`, the others as `\u00xx`), everything else as it is.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses the text after `=` into text and segments.
fn split_template(source: &str) -> Result<Body, ExprError> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut pos = 1;
    while let Some(found) = source[pos..].find("{{") {
        let open = pos + found;
        if !source[open + 2..].contains("}}") {
            // n8n leaves a `{{` that is never closed as text.
            break;
        }
        text.push_str(&source[pos..open]);
        let mut parser = parser::Parser::new(source, open + 2);
        let expr = parser.segment()?;
        let end = parser.pos();
        if !source[end..].starts_with("}}") {
            return Err(ExprError {
                code: CODE_UNTERMINATED,
                message: "`{{` without a matching `}}`".to_owned(),
                offset: open,
            });
        }
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        }
        parts.push(Part::Code(Segment {
            code: source[open + 2..end].to_owned(),
            expr,
        }));
        pos = end + 2;
    }
    text.push_str(&source[pos..]);
    if parts.is_empty() {
        return Ok(Body::Text(text));
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    if parts.len() == 1 {
        if let Some(Part::Code(segment)) = parts.pop() {
            return Ok(Body::Single(segment));
        }
    }
    Ok(Body::Parts(parts))
}

impl CompiledExpression {
    /// An expression that failed to parse: evaluating it raises `error`, as n8n does when
    /// the node runs. Lets a plan compile a workflow whose expression n8n would only reject
    /// at run time.
    pub fn invalid(source: &str, error: &ExprError) -> Self {
        CompiledExpression {
            source: source.to_owned(),
            body: Body::Invalid(InvalidExpression {
                code: error.code.to_owned(),
                message: error.message.clone(),
                offset: u32::try_from(error.offset).unwrap_or(u32::MAX),
            }),
            fast: true,
            js_reasons: Vec::new(),
            unsupported: Vec::new(),
            object_keys_json: Vec::new(),
        }
    }

    /// Which evaluator runs this expression.
    pub fn path(&self) -> ExprPath {
        if self.fast {
            ExprPath::Fast
        } else {
            ExprPath::Js
        }
    }

    /// Features that neither evaluator supports (empty when the expression can run).
    pub fn unsupported_features(&self) -> Vec<String> {
        self.unsupported.clone()
    }
}

#[cfg(test)]
mod tests;
