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
use linkflow_codec::expr::ast::{ArchivedBinaryOp, ArchivedExpr, ArchivedObjectKey, ArchivedRoot};
use rkyv::boxed::ArchivedBox;

use super::eval::set_member;
use super::{json_path, member, Scope};
use crate::engine::value::{extend_short_after, write_js_number, write_json_string, Value};

/// Nesting of object literals and arithmetic the direct form follows; deeper expressions
/// go to the evaluator. Why: bounds the recursion independently of the parser's limits.
pub const DIRECT_DEPTH_MAX: u32 = 4;

/// The value of `expr` when it has a direct form, else `None` (evaluate generically).
pub fn direct<'a, S: Scope<'a> + ?Sized>(expr: &'a ArchivedExpr, scope: &S) -> Option<Value<'a>> {
    // Only the shapes that may read `$json` look the item up.
    let json = match expr {
        ArchivedExpr::Path { .. } | ArchivedExpr::Binary { .. } | ArchivedExpr::Object { .. } => {
            scope.json()
        }
        _ => Value::Undefined,
    };
    direct_with_json(expr, scope.arena(), json)
}

/// [`direct`] for an item whose `$json` the caller already holds (a node running over
/// its input items): no scope, no look-up of the item per path.
///
/// The shapes of most leaves — a path, a number, a path or number `op` a path or number —
/// are decided here in one frame; the rest go through [`operand`]. Why: the general route
/// (`compound`, `arithmetic`, a call per path) cost more in frames and moves than the
/// reads themselves.
#[inline]
pub fn direct_with_json<'a>(
    expr: &'a ArchivedExpr,
    arena: &'a Bump,
    json: Value<'a>,
) -> Option<Value<'a>> {
    match expr {
        ArchivedExpr::Path {
            root: ArchivedRoot::Json,
            keys,
        } => json_path(json, keys),
        ArchivedExpr::Number(n) => Some(Value::Number(n.to_native())),
        ArchivedExpr::Binary { op, left, right } => {
            // Both operands simple and numbers: the answer of `arithmetic`. Anything else
            // (including a simple operand that is not a number, which `arithmetic` refuses
            // as well) takes the general route, which answers for itself.
            match (
                simple_number(left.get(), json),
                simple_number(right.get(), json),
            ) {
                (Some(l), Some(r)) => number_op(op, l, r),
                _ => operand(expr, &Direct { arena, json }, 0),
            }
        }
        _ => operand(expr, &Direct { arena, json }, 0),
    }
}

/// The number a `$json` path or number literal operand reads; `None` for any other shape
/// or value.
#[inline(always)]
fn simple_number(expr: &ArchivedExpr, json: Value<'_>) -> Option<f64> {
    match expr {
        ArchivedExpr::Path {
            root: ArchivedRoot::Json,
            keys,
        } => match json_path(json, keys) {
            Some(Value::Number(n)) => Some(n),
            _ => None,
        },
        ArchivedExpr::Number(n) => Some(n.to_native()),
        _ => None,
    }
}

/// `l op r` for the arithmetic operators (see [`arithmetic`]); `None` for the others.
#[inline(always)]
fn number_op(op: &ArchivedBinaryOp, l: f64, r: f64) -> Option<Value<'static>> {
    Some(Value::Number(match op {
        ArchivedBinaryOp::Add => l + r,
        ArchivedBinaryOp::Sub => l - r,
        ArchivedBinaryOp::Mul => l * r,
        ArchivedBinaryOp::Div => l / r,
        ArchivedBinaryOp::Rem => l % r,
        _ => return None,
    }))
}

/// What every operand of one evaluation shares: the arena and the item's `$json`.
struct Direct<'a> {
    arena: &'a Bump,
    json: Value<'a>,
}

/// The value of one operand. The `$json` path, most operands, and number literals are
/// read in line at each call site; everything else goes through [`compound`]. Why: with the object and
/// arithmetic cases in line, every path read paid their register saves and stack frame.
#[inline(always)]
fn operand<'a>(expr: &'a ArchivedExpr, at: &Direct<'a>, depth: u32) -> Option<Value<'a>> {
    match expr {
        ArchivedExpr::Path {
            root: ArchivedRoot::Json,
            keys,
        } => json_path(at.json, keys),
        ArchivedExpr::Number(n) => Some(Value::Number(n.to_native())),
        _ => compound(expr, at, depth),
    }
}

/// [`operand`] for everything but a `$json` path.
#[inline(never)]
fn compound<'a>(expr: &'a ArchivedExpr, at: &Direct<'a>, depth: u32) -> Option<Value<'a>> {
    match expr {
        ArchivedExpr::Number(n) => Some(Value::Number(n.to_native())),
        ArchivedExpr::String(s) => Some(Value::String(s.as_str())),
        ArchivedExpr::Bool(b) => Some(Value::Bool(*b)),
        ArchivedExpr::Null => Some(Value::Null),
        ArchivedExpr::Binary { op, left, right } if depth < DIRECT_DEPTH_MAX => {
            arithmetic(op, left.get(), right.get(), at, depth + 1)
        }
        ArchivedExpr::Object { keys, values } if depth < DIRECT_DEPTH_MAX => {
            object(keys.as_slice(), values.as_slice(), at, depth + 1)
        }
        _ => None,
    }
}

/// `l op r` for two numbers: JavaScript's `+ - * / %` on numbers are IEEE-754 double
/// operations, as Rust's on `f64` (`%` is `fmod` in both). Any other operand type needs
/// JavaScript's conversions (`"1" + 1` is `"11"`): the evaluator's job.
fn arithmetic<'a>(
    op: &ArchivedBinaryOp,
    left: &'a ArchivedExpr,
    right: &'a ArchivedExpr,
    at: &Direct<'a>,
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
    let Value::Number(l) = operand(left, at, depth)? else {
        return None;
    };
    let Value::Number(r) = operand(right, at, depth)? else {
        return None;
    };
    number_op(op, l, r)
}

/// An object literal with static keys: members in order, a repeated key keeping its first
/// position with the last value (as the evaluator's `set_member`).
fn object<'a>(
    keys: &'a [ArchivedObjectKey],
    values: &'a [ArchivedExpr],
    at: &Direct<'a>,
    depth: u32,
) -> Option<Value<'a>> {
    // At least one slot, as the evaluator: a literal is a new object, so `{}` gets an
    // address of its own (`===` compares addresses; see `value::unique_empty`).
    let mut out: BumpVec<'a, (&'a str, Value<'a>)> =
        BumpVec::with_capacity_in(keys.len().max(1), at.arena);
    for (key, value) in keys.iter().zip(values.iter()) {
        let ArchivedObjectKey::Static(key) = key else {
            return None;
        };
        let value = operand(value, at, depth)?;
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
    keys_json: &'a [ArchivedBox<str>],
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
    let at = Direct { arena, json };
    let start = out.len();
    // Every member goes out after a `,`; the first one's becomes the `{` at the end. Why:
    // one write of separator and key per member, no "first member" state.
    let mut owned;
    for (key_json, value) in keys_json.iter().zip(values.iter()) {
        // A `$json` path's member is read where it is, not copied out (most members).
        let value: &Value<'a> = match value {
            ArchivedExpr::Path {
                root: ArchivedRoot::Json,
                keys,
            } => json_path_ref(&at.json, keys),
            // Depth 1: as `operand` reaches the members of a top-level literal.
            value => {
                owned = operand(value, &at, 1);
                owned.as_ref()
            }
        }
        .or_else(|| {
            out.truncate(start);
            None
        })?;
        // `JSON.stringify` leaves out undefined members.
        if matches!(value, Value::Undefined) {
            continue;
        }
        // `,`, then the key's JSON text and `:`, rendered by the codec.
        extend_short_after(out, b',', key_json.as_bytes());
        // The usual scalars in line; `write_json` for the rest.
        match value {
            Value::Number(n) => write_js_number(*n, out),
            Value::String(s) => write_json_string(s, out),
            value => value.write_json(out),
        }
    }
    match out.get_mut(start) {
        // The first member's `,`.
        Some(first) => *first = b'{',
        None => out.push(b'{'),
    }
    out.push(b'}');
    Some(())
}

/// [`json_path`] answering with a reference to the member (no copy); `$json` itself for
/// no keys, the shared `undefined` for a missing member.
#[inline(always)]
fn json_path_ref<'v, 'a>(
    json: &'v Value<'a>,
    keys: &'a [ArchivedBox<str>],
) -> Option<&'v Value<'a>> {
    let Some((last, init)) = keys.split_last() else {
        return Some(json);
    };
    let Value::Object(mut members) = *json else {
        return None;
    };
    for key in init {
        // A missing member is `undefined`, which has no members either.
        let Some(Value::Object(inner)) = member(members, key.get()) else {
            return None;
        };
        members = inner;
    }
    Some(member(members, last.get()).unwrap_or(&UNDEFINED))
}

/// The `undefined` a missing member reads as, for answers by reference.
static UNDEFINED: Value<'static> = Value::Undefined;
