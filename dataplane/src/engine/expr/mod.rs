//! The fast expression evaluator: runs compiled n8n expressions (the archived AST from the
//! plan, read in place) natively with JavaScript semantics, allocating in the execution
//! arena.
//!
//! - [`evaluate`] evaluates a whole parameter value (text, a single `{{ }}` keeping its
//!   type, or a template built into a string).
//! - [`Scope`] is what the engine provides: `$json`, `$input`, `$('Node')`, clock, zone...
//! - Expressions the codec classified for JavaScript (`fast == false`) are refused with
//!   [`CODE_NOT_FAST`]; the engine sends them to the JavaScript evaluator instead. The
//!   same code comes back when a fast expression meets, at run time, a case the fast path
//!   does not cover (a `JSON.stringify` replacer, a non-English `format` locale): the
//!   engine then re-runs the whole expression in JavaScript. Evaluation has no side
//!   effects, so running it again is safe.
//!
//! n8n's error rules: a JavaScript error inside a segment (a `TypeError` such as reading a
//! property of `undefined`) makes that segment `null` (`""` inside a template) and the node
//! goes on; a syntax error, a missing node and a denied `$env` fail the node.

mod access;
mod arrays;
mod dates;
mod direct;
mod eval;
mod globals;
mod json;
mod legacy;
mod methods;
mod regexes;
mod scope;
mod strings;
mod val;

pub mod mock;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_direct;
#[cfg(test)]
mod tests_methods;

use bumpalo::collections::String as BumpString;
#[cfg(test)]
use linkflow_codec::expr::ast::{ArchivedExpr, ArchivedRoot};
use linkflow_codec::expr::{ArchivedBody, ArchivedCompiledExpression, ArchivedPart};
use rkyv::boxed::ArchivedBox;

pub use eval::{
    CALL_DEPTH_MAX, CODE_ENV_DENIED, CODE_LIMIT, CODE_NODE_REFERENCE, CODE_NOT_FAST,
    STRING_BYTES_MAX,
};
pub use scope::{ExecutionInfo, PrevNode, Scope, ScopeError, WorkflowInfo};

use crate::engine::value::Value;
use eval::{Eval, Fault};

/// An expression error that fails the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EvalError {
    /// Stable error code (`LF-EXPR-...`).
    pub code: &'static str,
    /// What went wrong, in n8n's words where it has them.
    pub message: String,
}

/// Evaluates a compiled parameter value against `scope`.
///
/// Returns the value as stored in items: DateTimes become ISO strings, a failing segment
/// `null`. The plan (`expr`) must outlive the arena (`'a`): strings are borrowed from it.
pub fn evaluate<'a, S: Scope<'a> + ?Sized>(
    expr: &'a ArchivedCompiledExpression,
    scope: &S,
) -> Result<Value<'a>, EvalError> {
    if let ArchivedBody::Single(segment) = &expr.body {
        // Only expressions the codec cleared for the fast path: the others must reach
        // JavaScript (through `CODE_NOT_FAST`) whatever their shape.
        if expr.fast {
            if let Some(value) = direct::direct(&segment.expr, scope) {
                return Ok(value);
            }
        }
    }
    evaluate_generic(expr, scope)
}

/// The answer of [`evaluate`] for item json `json` when the expression has a direct form
/// (`$json` paths, arithmetic on numbers, object literals of those), else `None`.
///
/// Why: a node running over its items holds each item's `json`; this skips the scope and
/// the services around [`evaluate`]. `Some(v)` is exactly what [`evaluate`] answers with
/// a scope whose `$json` is `json` (the same [`direct::direct`] form).
pub fn evaluate_direct<'a>(
    expr: &'a ArchivedCompiledExpression,
    arena: &'a bumpalo::Bump,
    json: Value<'a>,
) -> Option<Value<'a>> {
    match &expr.body {
        ArchivedBody::Single(segment) if expr.fast => {
            direct::direct_with_json(&segment.expr, arena, json)
        }
        _ => None,
    }
}

/// Writes the JSON of [`evaluate_direct`]'s answer straight to `out` when the expression
/// is an object literal with a direct form (`{ "a": $json.body.a, "b": $json.b }`, the
/// usual response body); `None`, with `out` unchanged, otherwise.
///
/// Why: a response object is built only to be serialized; writing its members as they
/// are evaluated saves the object's allocation and member searches.
pub fn write_direct_json<'a>(
    expr: &'a ArchivedCompiledExpression,
    arena: &'a bumpalo::Bump,
    json: Value<'a>,
    out: &mut Vec<u8>,
) -> Option<()> {
    match &expr.body {
        ArchivedBody::Single(segment) if expr.fast => direct::write_object_json(
            &segment.expr,
            expr.object_keys_json.as_slice(),
            arena,
            json,
            out,
        ),
        _ => None,
    }
}

/// `{{ $json.a.b }}`, the commonest expression, read straight out of the item: no
/// evaluator state, no conversions. `None` (evaluate generically) as soon as a step meets
/// anything but an object, where JavaScript has more to say (`"s".length`, `[1][0]`, a
/// `TypeError` on `undefined`). On objects it is exactly the generic member read: the
/// member's value, or `undefined` when missing.
// Evaluation reaches paths through `direct::direct`; the tests hold this one to the
// evaluator on its own.
#[cfg(test)]
fn direct_json_path<'a, S: Scope<'a> + ?Sized>(
    expr: &'a ArchivedExpr,
    scope: &S,
) -> Option<Value<'a>> {
    match expr {
        ArchivedExpr::Path {
            root: ArchivedRoot::Json,
            keys,
        } => json_path(scope.json(), keys),
        _ => None,
    }
}

/// The direct read of the `$json` path `keys` from the item's `json` (see
/// [`direct_json_path`]). Only the members slice is carried from step to step, and the
/// value is copied out once at the end: carrying whole values kept them in memory. In
/// line at every use: a call of its own cost a frame for a few dozen instructions.
#[inline(always)]
fn json_path<'a>(json: Value<'a>, keys: &'a [ArchivedBox<str>]) -> Option<Value<'a>> {
    let Some((last, init)) = keys.split_last() else {
        return Some(json);
    };
    let Value::Object(mut members) = json else {
        return None;
    };
    for key in init {
        // A missing member is `undefined`, which has no members either.
        let Some(Value::Object(inner)) = member(members, key.get()) else {
            return None;
        };
        members = inner;
    }
    Some(
        member(members, last.get())
            .copied()
            .unwrap_or(Value::Undefined),
    )
}

/// Member `key` of `members`, `None` when missing (`undefined`). A plain loop: the
/// iterator chain it replaces copied the value through the stack on every step.
#[inline(always)]
fn member<'a>(mut members: &'a [(&'a str, Value<'a>)], key: &str) -> Option<&'a Value<'a>> {
    // Peeling the slice keeps one pointer in the loop (an iterator kept two).
    while let [(k, v), rest @ ..] = members {
        if crate::engine::value::key_eq(k, key) {
            return Some(v);
        }
        members = rest;
    }
    None
}

/// [`evaluate`] without the direct `$json` path: every expression through the evaluator
/// (tests hold the two to the same answers).
pub(crate) fn evaluate_generic<'a, S: Scope<'a> + ?Sized>(
    expr: &'a ArchivedCompiledExpression,
    scope: &S,
) -> Result<Value<'a>, EvalError> {
    match &expr.body {
        ArchivedBody::Text(text) => Ok(Value::String(text.as_str())),
        ArchivedBody::Invalid(invalid) => Err(EvalError {
            code: linkflow_codec::expr::CODE_SYNTAX,
            message: format!(
                "invalid syntax: {} (at byte {})",
                invalid.message.as_str(),
                invalid.offset.to_native()
            ),
        }),
        _ if !expr.fast => Err(EvalError {
            code: CODE_NOT_FAST,
            message: "expression needs the JavaScript evaluator".to_owned(),
        }),
        ArchivedBody::Single(segment) => {
            let mut ev = Eval::new(scope);
            match ev.eval(&segment.expr) {
                Ok(v) => Ok(ev.to_value(v)),
                Err(Fault::Type(_) | Fault::Short) => Ok(Value::Null),
                Err(Fault::Fail(e)) => Err(e),
            }
        }
        ArchivedBody::Parts(parts) => {
            let mut ev = Eval::new(scope);
            let mut out = BumpString::new_in(scope.arena());
            for part in parts.iter() {
                match part {
                    ArchivedPart::Text(t) => out.push_str(t.as_str()),
                    ArchivedPart::Code(segment) => match ev.eval(&segment.expr) {
                        // n8n prints null and undefined as "" in templates.
                        Ok(v) if v.is_nullish() => {}
                        Ok(v) => val::push_str_of(&mut out, v, scope.arena()),
                        Err(Fault::Type(_) | Fault::Short) => {}
                        Err(Fault::Fail(e)) => return Err(e),
                    },
                }
                if out.len() > STRING_BYTES_MAX {
                    return Err(EvalError {
                        code: CODE_LIMIT,
                        message: format!("string exceeds {STRING_BYTES_MAX} bytes"),
                    });
                }
            }
            Ok(Value::String(out.into_bump_str()))
        }
    }
}

/// True when [`evaluate`] implements the method `name` for at least one receiver type.
/// Used by tests to hold the codec's list of fast methods to the truth.
pub fn implements_method(name: &'static str) -> bool {
    let arena = bumpalo::Bump::new();
    let scope = mock::MockScope::new(&arena);
    let mut ev = Eval::new(&scope);
    let date = val::Val::DateTime(crate::engine::datetime::DateTime::new(
        0,
        crate::engine::datetime::Zone::Utc,
    ));
    let duration = val::Val::Duration(arena.alloc(crate::engine::datetime::Duration::default()));
    let receivers = [
        val::Val::String("a"),
        val::Val::Number(1.0),
        val::Val::Bool(true),
        val::Val::Array(&[]),
        val::Val::Object(&[]),
        date,
        duration,
        val::Val::JsDate(0.0),
        val::Val::Regex("a", ""),
        val::Val::Input,
        val::Val::NodeRef("Node"),
    ];
    receivers.iter().any(|r| {
        !matches!(methods::call_method(&mut ev, *r, name, &[]), Err(Fault::Type(m)) if m.ends_with("is not a function"))
    })
}
