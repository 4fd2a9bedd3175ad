//! Direct forms of the simplest expression shapes, read straight off the archived AST
//! without setting up the evaluator: `$json.a.b`, arithmetic on numbers (`$json.a + 1`)
//! and object literals of such values (`{ "a": $json.body.a, "b": $json.b }`).
//!
//! Why: these shapes are most of what webhook workflows evaluate per item, and the
//! evaluator's set-up, `Val` conversions and dispatch cost more than the work itself.
//!
//! Contract: [`direct`] answers `Some` only where the answer is exactly the evaluator's
//! (tests run every case both ways); anything else — a non-object on a path, a non-number
//! operand, a spread or computed key, a shape it does not know — is `None`, and the caller
//! evaluates the whole expression generically. Evaluation has no side effects, so giving
//! up half-way is safe.

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use linkflow_codec::expr::ast::{ArchivedBinaryOp, ArchivedExpr, ArchivedObjectKey};
use rkyv::string::ArchivedString;

use super::eval::set_member;
use super::{json_path_in, Scope};
use crate::engine::value::Value;

/// Nesting of object literals and arithmetic the direct form follows; deeper expressions
/// go to the evaluator. Why: bounds the recursion independently of the parser's limits.
pub const DIRECT_DEPTH_MAX: u32 = 4;

/// The value of `expr` when it has a direct form, else `None` (evaluate generically).
pub fn direct<'a, S: Scope<'a> + ?Sized>(expr: &'a ArchivedExpr, scope: &S) -> Option<Value<'a>> {
    let mut at = Direct {
        arena: scope.arena(),
        json: None,
        source: || scope.json(),
    };
    operand(expr, &mut at, 0)
}

/// [`direct`] for an item whose `$json` the caller already holds (a node running over
/// its input items): no scope, no look-up of the item per path.
pub fn direct_with_json<'a>(
    expr: &'a ArchivedExpr,
    arena: &'a Bump,
    json: Value<'a>,
) -> Option<Value<'a>> {
    let mut at = Direct {
        arena,
        json: Some(json),
        source: || json,
    };
    operand(expr, &mut at, 0)
}

/// The arena, and the item's `$json` once a path asked for it (the same for every path
/// of one evaluation: looking it up once saves the input search per path).
struct Direct<'a, F> {
    arena: &'a Bump,
    json: Option<Value<'a>>,
    source: F,
}

impl<'a, F: Fn() -> Value<'a>> Direct<'a, F> {
    fn json(&mut self) -> Value<'a> {
        let source = &self.source;
        *self.json.get_or_insert_with(source)
    }
}

fn operand<'a, F: Fn() -> Value<'a>>(
    expr: &'a ArchivedExpr,
    scope: &mut Direct<'a, F>,
    depth: u32,
) -> Option<Value<'a>> {
    match expr {
        ArchivedExpr::Path { .. } => json_path_in(expr, || scope.json()),
        ArchivedExpr::Number(n) => Some(Value::Number(n.to_native())),
        ArchivedExpr::String(s) => Some(Value::String(s.as_str())),
        ArchivedExpr::Bool(b) => Some(Value::Bool(*b)),
        ArchivedExpr::Null => Some(Value::Null),
        ArchivedExpr::Binary { op, left, right } if depth < DIRECT_DEPTH_MAX => {
            arithmetic(op, left.get(), right.get(), scope, depth + 1)
        }
        ArchivedExpr::Object { keys, values } if depth < DIRECT_DEPTH_MAX => {
            object(keys.as_slice(), values.as_slice(), scope, depth + 1)
        }
        _ => None,
    }
}

/// `l op r` for two numbers: JavaScript's `+ - * / %` on numbers are IEEE-754 double
/// operations, as Rust's on `f64` (`%` is `fmod` in both). Any other operand type needs
/// JavaScript's conversions (`"1" + 1` is `"11"`): the evaluator's job.
fn arithmetic<'a, F: Fn() -> Value<'a>>(
    op: &ArchivedBinaryOp,
    left: &'a ArchivedExpr,
    right: &'a ArchivedExpr,
    scope: &mut Direct<'a, F>,
    depth: u32,
) -> Option<Value<'a>> {
    if !matches!(
        op,
        ArchivedBinaryOp::Add
            | ArchivedBinaryOp::Sub
            | ArchivedBinaryOp::Mul
            | ArchivedBinaryOp::Div
            | ArchivedBinaryOp::Rem
    ) {
        return None;
    }
    let Value::Number(l) = operand(left, scope, depth)? else {
        return None;
    };
    let Value::Number(r) = operand(right, scope, depth)? else {
        return None;
    };
    Some(Value::Number(match op {
        ArchivedBinaryOp::Add => l + r,
        ArchivedBinaryOp::Sub => l - r,
        ArchivedBinaryOp::Mul => l * r,
        ArchivedBinaryOp::Div => l / r,
        _ => l % r,
    }))
}

/// An object literal with static keys: members in order, a repeated key keeping its first
/// position with the last value (as the evaluator's `set_member`).
fn object<'a, F: Fn() -> Value<'a>>(
    keys: &'a [ArchivedObjectKey],
    values: &'a [ArchivedExpr],
    scope: &mut Direct<'a, F>,
    depth: u32,
) -> Option<Value<'a>> {
    // At least one slot, as the evaluator: a literal is a new object, so `{}` gets an
    // address of its own (`===` compares addresses; see `value::unique_empty`).
    let mut out: BumpVec<'a, (&'a str, Value<'a>)> =
        BumpVec::with_capacity_in(keys.len().max(1), scope.arena);
    for (key, value) in keys.iter().zip(values.iter()) {
        let ArchivedObjectKey::Static(key) = key else {
            return None;
        };
        let value = operand(value, scope, depth)?;
        set_member(&mut out, key.as_str(), value);
    }
    Some(Value::Object(out.into_bump_slice()))
}

/// Writes the JSON of the object literal `expr` (its direct form, `$json` being `json`)
/// straight to `out`: exactly `Value::write_json` of what [`object`] would build, without
/// building it. `keys_json` is the plan's rendering of the keys
/// (`CompiledExpression::object_keys_json`: each key's JSON text and `:`), present when
/// the keys are static, distinct and at most `OBJECT_KEYS_JSON_MAX` — then the members
/// come out in source order. `None` (and `out` as it was) for anything else: not an object
/// literal, keys the plan did not render (computed, repeated, too many), a member without
/// a direct form.
pub fn write_object_json<'a>(
    expr: &'a ArchivedExpr,
    keys_json: &'a [ArchivedString],
    arena: &'a Bump,
    json: Value<'a>,
    out: &mut Vec<u8>,
) -> Option<()> {
    let ArchivedExpr::Object { values, .. } = expr else {
        return None;
    };
    let values = values.as_slice();
    if keys_json.len() != values.len() {
        return None;
    }
    let mut at = Direct {
        arena,
        json: Some(json),
        source: || json,
    };
    let start = out.len();
    let written = write_members(keys_json, values, &mut at, out);
    if written.is_none() {
        out.truncate(start);
    }
    written
}

fn write_members<'a, F: Fn() -> Value<'a>>(
    keys_json: &'a [ArchivedString],
    values: &'a [ArchivedExpr],
    scope: &mut Direct<'a, F>,
    out: &mut Vec<u8>,
) -> Option<()> {
    out.push(b'{');
    let mut first = true;
    for (key_json, value) in keys_json.iter().zip(values.iter()) {
        // Depth 1: as `operand` reaches the members of a top-level literal.
        let value = operand(value, scope, 1)?;
        // `JSON.stringify` leaves out undefined members.
        if matches!(value, Value::Undefined) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        // The key's JSON text and `:`, rendered by the codec.
        out.extend_from_slice(key_json.as_bytes());
        value.write_json(out);
    }
    out.push(b'}');
    Some(())
}
