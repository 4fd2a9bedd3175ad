//! Typed fast paths for the hot-path node kinds: Set 3.3+, If/Filter 2+ and Respond to
//! Webhook, driven by the plan's pre-parsed [`FastParams`](linkflow_codec::plan::typed).
//!
//! Why: the generic implementations (`nodes/set.rs`, `nodes/if_node.rs`, ...) walk the
//! parameter tree by dotted path and compare operation names per item. Here the compiler
//! already decided the shape, so a node run is a loop over slots and enums.
//!
//! Correctness rule: [`run`] returns `None` — "use the generic implementation" — for any
//! value it does not handle exactly as the generic code would (a type that needs a
//! conversion which could fail, a case-insensitive compare, an expression error). It has
//! no side effects before it commits to an answer (expression evaluation has none), so
//! the generic path then runs from the start and produces n8n's answer, including errors
//! and continue-on-fail handling.

use bumpalo::collections::Vec as BumpVec;
use linkflow_codec::expr::ArchivedCompiledExpression;
use linkflow_codec::plan::typed::{
    ArchivedCompare, ArchivedFastCondition, ArchivedFastFilter, ArchivedFastOp, ArchivedFastParams,
    ArchivedFastRespond, ArchivedFastSet, ArchivedFieldType, ArchivedRespondWith, ArchivedStringOp,
};
use linkflow_codec::plan::ArchivedPValue;

use super::expr::{evaluate_direct, write_direct_json};
use bumpalo::Bump;
use linkflow_codec::plan::{ArchivedPlan, ArchivedPlanNode};

use super::item::{single_lineage, Item, PairedItem};
use super::node::{
    literal, main_input, pass_main_input, NodeCtx, NodeError, NodeOutcome, NodeResponse, NodeResult,
};
use super::nodes::coerce::string_to_number;
use super::value::{key_eq, Value};
use super::webhook::json_headers;

/// Response body bytes reserved up front (one allocation for the reference response).
const RESPONSE_BODY_BYTES_INITIAL: usize = 128;

/// What a typed form reads of its node run: a part of [`NodeCtx`]. The execution's short
/// path builds one per node run (a full context is a few dozen words, written per run)
/// and builds the full context only when a parameter needs the expression host.
pub struct TypedCtx<'a, 'x> {
    /// The execution's arena.
    pub arena: &'a Bump,
    /// The plan being executed.
    pub plan: &'a ArchivedPlan,
    /// The running node.
    pub node: &'a ArchivedPlanNode,
    /// Items per input, as [`NodeCtx::inputs`].
    pub inputs: &'a [Option<&'a [Item<'a>]>],
    /// Whether the node may evaluate direct expression forms itself
    /// ([`Services::direct_expressions`](super::execution::Services::direct_expressions)).
    pub direct_exprs: bool,
    /// The response the node gives (Respond to Webhook), for the caller to hand out.
    pub response: Option<NodeResponse>,
    /// Evaluates what the typed form does not: expressions without a direct form, and
    /// the values inside array and object parameters.
    pub host: &'x mut dyn ParamHost<'a>,
}

/// Evaluates a raw parameter for an input item as [`NodeCtx::resolve`] does.
pub trait ParamHost<'a> {
    /// [`NodeCtx::resolve`].
    fn resolve(&mut self, raw: &'a ArchivedPValue, item: usize) -> Result<Value<'a>, NodeError>;
}

impl<'a> ParamHost<'a> for NodeCtx<'a, '_> {
    fn resolve(&mut self, raw: &'a ArchivedPValue, item: usize) -> Result<Value<'a>, NodeError> {
        NodeCtx::resolve(self, raw, item)
    }
}

impl<'a> TypedCtx<'a, '_> {
    /// [`NodeCtx::resolve`]: scalars here, the rest through the host.
    fn resolve(&mut self, raw: &'a ArchivedPValue, item: usize) -> Result<Value<'a>, NodeError> {
        match literal(raw) {
            Some(value) => Ok(value),
            None => self.host.resolve(raw, item),
        }
    }

    /// [`NodeCtx::main_input`].
    fn main_input(&self) -> &'a [Item<'a>] {
        main_input(self.inputs)
    }

    /// [`NodeCtx::items_with_capacity`].
    fn items_with_capacity(&self, capacity: usize) -> BumpVec<'a, Item<'a>> {
        BumpVec::with_capacity_in(capacity, self.arena)
    }

    /// [`NodeCtx::paired`].
    fn paired(&self, item: usize) -> &'a [PairedItem] {
        single_lineage(self.arena, item, 0)
    }

    /// [`NodeCtx::single_output`].
    fn single_output(&self, items: &'a [Item<'a>]) -> NodeOutcome<'a> {
        NodeOutcome::Output(self.arena.alloc_slice_copy(&[Some(items)]))
    }

    /// [`NodeCtx::outputs`].
    fn outputs(&self, outputs: &[&'a [Item<'a>]]) -> NodeOutcome<'a> {
        NodeOutcome::Output(
            self.arena
                .alloc_slice_fill_iter(outputs.iter().map(|o| Some(*o))),
        )
    }
}

/// [`run`] inside the general path's node context: the typed form of a node whose
/// settings (retries, onError ...) the general path applies around it.
pub fn run_in<'a>(ctx: &mut NodeCtx<'a, '_>) -> Option<NodeResult<'a>> {
    let mut typed = TypedCtx {
        arena: ctx.arena,
        plan: ctx.plan,
        node: ctx.node,
        inputs: ctx.inputs,
        direct_exprs: ctx.direct_exprs,
        response: None,
        host: &mut *ctx,
    };
    let result = run(&mut typed);
    if let Some(response) = typed.response {
        *ctx.response = Some(response);
    }
    result
}

/// Runs the node through its typed form; `None` when it has none or a value needs the
/// generic implementation.
pub fn run<'a>(ctx: &mut TypedCtx<'a, '_>) -> Option<NodeResult<'a>> {
    let node = ctx.node;
    match &node.fast {
        ArchivedFastParams::None => None,
        ArchivedFastParams::Set(set) => set_node(ctx, set),
        ArchivedFastParams::Filter(filter) => filter_node(ctx, filter),
        ArchivedFastParams::Respond(respond) => respond_node(ctx, respond),
    }
}

/// An item of the main input a leaf is evaluated for: its index and its `json` (the
/// `$json` of the host's scope for that item). Why both: the callers hold the item, so
/// each leaf need not look it up again in the inputs.
#[derive(Clone, Copy)]
struct ItemAt<'a> {
    index: usize,
    json: Value<'a>,
}

/// A leaf parameter for item `item`; `None` when evaluation fails (the generic path then
/// reports the error with the node's error settings).
///
/// Literals are read in line (as [`TypedCtx::resolve`] reads them): a call and its frame
/// cost several times the read, and a condition's right side is usually one.
#[inline(always)]
fn leaf<'a>(
    ctx: &mut TypedCtx<'a, '_>,
    raw: &'a ArchivedPValue,
    item: ItemAt<'a>,
) -> Option<Value<'a>> {
    match literal(raw) {
        Some(value) => Some(value),
        None => leaf_expression(ctx, raw, item),
    }
}

/// [`leaf`] for everything but a literal: the direct form when it has one, else the host.
/// In the node's frame: a frame of its own cost more in register saves than it kept out.
#[inline(always)]
fn leaf_expression<'a>(
    ctx: &mut TypedCtx<'a, '_>,
    raw: &'a ArchivedPValue,
    item: ItemAt<'a>,
) -> Option<Value<'a>> {
    if let Some(compiled) = direct_expression(ctx, raw) {
        if let Some(value) = evaluate_direct(compiled, ctx.arena, item.json) {
            return Some(value);
        }
    }
    ctx.resolve(raw, item.index).ok()
}

/// The compiled expression of `raw`, when the services let nodes evaluate direct forms
/// themselves; `None` otherwise (a literal, or services that evaluate their own way).
fn direct_expression<'a>(
    ctx: &TypedCtx<'a, '_>,
    raw: &'a ArchivedPValue,
) -> Option<&'a ArchivedCompiledExpression> {
    if !ctx.direct_exprs {
        return None;
    }
    let ArchivedPValue::Expr(index) = raw else {
        return None;
    };
    ctx.plan.expressions.get(index.to_native() as usize)
}

fn set_node<'a>(ctx: &mut TypedCtx<'a, '_>, set: &'a ArchivedFastSet) -> Option<NodeResult<'a>> {
    let input = ctx.main_input();
    let arena = ctx.arena;
    let mut out = ctx.items_with_capacity(input.len());
    for (i, item) in input.iter().enumerate() {
        let base: &[(&str, Value<'a>)] = if set.include_input {
            item.json.as_object().unwrap_or(&[])
        } else {
            &[]
        };
        // At least one slot: Set builds a new object, so an empty one gets an address of
        // its own (`===` compares addresses; see `value::unique_empty`).
        let capacity = (base.len() + set.assignments.len()).max(1);
        let mut members = BumpVec::with_capacity_in(capacity, arena);
        // One copy of the input members, not a clone per member.
        members.extend_from_slice_copy(base);
        for assignment in set.assignments.iter() {
            let at = ItemAt {
                index: i,
                json: item.json,
            };
            let value = leaf(ctx, &assignment.value, at)?;
            let value = convert(assignment.field_type, value)?;
            let name = assignment.name.as_str();
            // `obj[name] = value`: a repeated name keeps its position, as `set_key` does.
            match member_slot(&mut members, name) {
                Some(slot) => *slot = value,
                None => members.push((name, value)),
            }
        }
        out.push(Item {
            json: Value::Object(members.into_bump_slice()),
            binary: item.binary,
            paired: ctx.paired(i),
        });
    }
    Some(Ok(ctx.single_output(out.into_bump_slice())))
}

/// The value of member `key` of `members`, `None` when missing. Peeling the slice keeps
/// one pointer in the loop (an iterator's `find` kept two and the closure's state).
#[inline(always)]
fn member_slot<'m, 'a>(
    mut members: &'m mut [(&'a str, Value<'a>)],
    key: &str,
) -> Option<&'m mut Value<'a>> {
    while let [(k, v), rest @ ..] = members {
        if key_eq(k, key) {
            return Some(v);
        }
        members = rest;
    }
    None
}

/// Set's type validation for the values that need no conversion which could fail.
fn convert(field_type: ArchivedFieldType, value: Value<'_>) -> Option<Value<'_>> {
    if value.is_nullish() {
        return Some(Value::Null);
    }
    match (field_type, value) {
        (ArchivedFieldType::String, Value::String(_))
        | (ArchivedFieldType::Boolean, Value::Bool(_))
        | (ArchivedFieldType::Array, Value::Array(_))
        | (ArchivedFieldType::Object, Value::Object(_)) => Some(value),
        (ArchivedFieldType::String, Value::Bool(b)) => {
            Some(Value::String(if b { "true" } else { "false" }))
        }
        (ArchivedFieldType::Number, Value::Number(n)) if !n.is_nan() => Some(value),
        (ArchivedFieldType::Number, Value::String(s)) => {
            let n = string_to_number(s);
            (!n.is_nan()).then_some(Value::Number(n))
        }
        _ => None,
    }
}

fn filter_node<'a>(
    ctx: &mut TypedCtx<'a, '_>,
    filter: &'a ArchivedFastFilter,
) -> Option<NodeResult<'a>> {
    let input = ctx.main_input();
    let mut pass_items = ctx.items_with_capacity(input.len());
    let mut fail_items = ctx.items_with_capacity(0);
    for (i, item) in input.iter().enumerate() {
        let at = ItemAt {
            index: i,
            json: item.json,
        };
        if filter_passes(ctx, filter, at)? {
            pass_items.push(*item);
        } else {
            fail_items.push(*item);
        }
    }
    // If: [true, false]; Filter v2: [kept, discarded]. Both kinds have two outputs.
    Some(Ok(ctx.outputs(&[
        pass_items.into_bump_slice(),
        fail_items.into_bump_slice(),
    ])))
}

fn filter_passes<'a>(
    ctx: &mut TypedCtx<'a, '_>,
    filter: &'a ArchivedFastFilter,
    item: ItemAt<'a>,
) -> Option<bool> {
    for condition in filter.conditions.iter() {
        let pass = condition_passes(ctx, condition, filter.strict, item)?;
        if filter.any && pass {
            return Some(true);
        }
        if !filter.any && !pass {
            return Some(false);
        }
    }
    Some(!filter.any)
}

/// Text of a string-typed operand: strings as they are, null/undefined as `""`.
fn text(value: Value<'_>) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Undefined | Value::Null => Some(""),
        _ => None,
    }
}

fn condition_passes<'a>(
    ctx: &mut TypedCtx<'a, '_>,
    condition: &'a ArchivedFastCondition,
    strict: bool,
    item: ItemAt<'a>,
) -> Option<bool> {
    let left = leaf(ctx, &condition.left, item)?;
    let right = leaf(ctx, &condition.right, item)?;
    // Whether the generic path would accept `right` for an operation that ignores it.
    let right_ignored_ok =
        |exact: bool| exact || right.is_nullish() || condition.single_value || !strict;
    Some(match condition.op {
        ArchivedFastOp::Number(compare) => {
            let (Value::Number(l), Value::Number(r)) = (left, right) else {
                return None;
            };
            match compare {
                ArchivedCompare::Equals => l == r,
                ArchivedCompare::NotEquals => l != r,
                ArchivedCompare::Gt => l > r,
                ArchivedCompare::Lt => l < r,
                ArchivedCompare::Gte => l >= r,
                ArchivedCompare::Lte => l <= r,
            }
        }
        ArchivedFastOp::String(op) => {
            let l = text(left)?;
            match op {
                ArchivedStringOp::Empty | ArchivedStringOp::NotEmpty => {
                    if !right_ignored_ok(matches!(right, Value::String(_))) {
                        return None;
                    }
                    l.is_empty() == matches!(op, ArchivedStringOp::Empty)
                }
                _ => {
                    let r = text(right)?;
                    match op {
                        ArchivedStringOp::Equals => l == r,
                        ArchivedStringOp::NotEquals => l != r,
                        ArchivedStringOp::Contains => l.contains(r),
                        ArchivedStringOp::NotContains => !l.contains(r),
                        ArchivedStringOp::StartsWith => l.starts_with(r),
                        ArchivedStringOp::NotStartsWith => !l.starts_with(r),
                        ArchivedStringOp::EndsWith => l.ends_with(r),
                        ArchivedStringOp::NotEndsWith => !l.ends_with(r),
                        ArchivedStringOp::Empty | ArchivedStringOp::NotEmpty => {
                            unreachable!("handled above")
                        }
                    }
                }
            }
        }
        ArchivedFastOp::True | ArchivedFastOp::False => {
            let l = match left {
                Value::Bool(b) => b,
                Value::Undefined | Value::Null => false,
                _ => return None,
            };
            if !right_ignored_ok(matches!(right, Value::Bool(_))) {
                return None;
            }
            l == matches!(condition.op, ArchivedFastOp::True)
        }
        ArchivedFastOp::BoolEquals | ArchivedFastOp::BoolNotEquals => {
            let equal = match (left, right) {
                (Value::Bool(l), Value::Bool(r)) => l == r,
                (Value::Undefined, Value::Undefined) | (Value::Null, Value::Null) => true,
                (
                    Value::Bool(_) | Value::Undefined | Value::Null,
                    Value::Bool(_) | Value::Undefined | Value::Null,
                ) => false,
                _ => return None,
            };
            equal == matches!(condition.op, ArchivedFastOp::BoolEquals)
        }
    })
}

fn respond_node<'a>(
    ctx: &mut TypedCtx<'a, '_>,
    respond: &'a ArchivedFastRespond,
) -> Option<NodeResult<'a>> {
    let input = ctx.main_input();
    // Item 0 (or none), as the host's scope sees it.
    let first = ItemAt {
        index: 0,
        json: input.first().map_or(Value::Undefined, |item| item.json),
    };
    let mut body = Vec::with_capacity(RESPONSE_BODY_BYTES_INITIAL);
    if matches!(respond.with, ArchivedRespondWith::Json)
        && write_direct_body(ctx, &respond.body, first.json, &mut body).is_some()
    {
        return Some(Ok(respond_with(ctx, respond, body)));
    }
    let data = match respond.with {
        ArchivedRespondWith::Json => match leaf(ctx, &respond.body, first)? {
            // JSON text is parsed by the generic path (and may be invalid there).
            Value::String(_) => return None,
            Value::Undefined => Value::EMPTY_OBJECT,
            other => other,
        },
        ArchivedRespondWith::FirstIncomingItem => {
            input.first().map_or(Value::EMPTY_OBJECT, |item| item.json)
        }
        ArchivedRespondWith::AllIncomingItems => Value::Array(
            ctx.arena
                .alloc_slice_fill_iter(input.iter().map(|item| item.json)),
        ),
    };
    data.write_json(&mut body);
    Some(Ok(respond_with(ctx, respond, body)))
}

/// Sets the response and passes the input on.
fn respond_with<'a>(
    ctx: &mut TypedCtx<'a, '_>,
    respond: &ArchivedFastRespond,
    body: Vec<u8>,
) -> NodeOutcome<'a> {
    ctx.response = Some(NodeResponse {
        status: respond.status.to_native(),
        headers: json_headers(),
        body,
    });
    pass_main_input(ctx.arena, ctx.inputs)
}

/// A response body that is an object literal with a direct form, written straight to
/// `body` (item 0's `json` as `$json`, as [`leaf`]); `None` otherwise, `body` unchanged.
fn write_direct_body<'a>(
    ctx: &TypedCtx<'a, '_>,
    raw: &'a ArchivedPValue,
    json: Value<'a>,
    body: &mut Vec<u8>,
) -> Option<()> {
    let compiled = direct_expression(ctx, raw)?;
    write_direct_json(compiled, ctx.arena, json, body)
}
