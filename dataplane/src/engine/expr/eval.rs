//! The tree-walking evaluator over the archived AST.
//!
//! Errors follow n8n: a JavaScript `TypeError` (reading a property of `undefined`, calling
//! something that is not a function) ends the segment with [`Fault::Type`], which the
//! caller turns into `null`; a broken node reference or a denied `$env` read is
//! [`Fault::Fail`] and fails the node.

use bumpalo::collections::{String as BumpString, Vec as BumpVec};
use bumpalo::Bump;
use linkflow_codec::expr::ast::{
    ArchivedExpr, ArchivedGlobal, ArchivedLogicalOp, ArchivedObjectKey, ArchivedRoot,
    ArchivedUnaryOp,
};

use super::scope::{Scope, ScopeError};
use super::val::{self, Val};
use super::EvalError;
use crate::engine::datetime::{DateTime, Zone};
use crate::engine::item::Item;
use crate::engine::value::Value;

/// Error code: a node reference that cannot be resolved (missing node, no paired item).
pub const CODE_NODE_REFERENCE: &str = "LF-EXPR-102";
/// Error code: `$env` denied by policy.
pub const CODE_ENV_DENIED: &str = "LF-EXPR-103";
/// Error code: an evaluation limit was hit.
pub const CODE_LIMIT: &str = "LF-EXPR-105";
/// Error code: the fast evaluator met a construct it does not implement.
pub const CODE_NOT_FAST: &str = "LF-EXPR-101";

/// Longest string an expression may build, in bytes. Why: `'x'.repeat(1e9)` must be an
/// error, not an arena of a gigabyte (JavaScript itself stops near 512 MiB).
pub const STRING_BYTES_MAX: usize = 32 << 20;
/// Deepest nesting of arrow-function calls. Why: bounds native recursion.
pub const CALL_DEPTH_MAX: usize = 64;

/// Why evaluation stopped.
#[derive(Debug)]
pub(crate) enum Fault {
    /// A JavaScript TypeError: the segment's value becomes `null` (n8n swallows it).
    Type(String),
    /// An error that fails the node.
    Fail(EvalError),
    /// `?.` met `null`/`undefined`: the enclosing chain is `undefined`.
    Short,
}

pub(crate) type Res<'a> = Result<Val<'a>, Fault>;

pub(crate) fn type_error<T>(message: impl Into<String>) -> Result<T, Fault> {
    Err(Fault::Type(message.into()))
}

pub(crate) fn fail<T>(code: &'static str, message: impl Into<String>) -> Result<T, Fault> {
    Err(Fault::Fail(EvalError {
        code,
        message: message.into(),
    }))
}

impl From<ScopeError> for Fault {
    fn from(e: ScopeError) -> Self {
        let code = match e {
            ScopeError::EnvDenied => CODE_ENV_DENIED,
            _ => CODE_NODE_REFERENCE,
        };
        Fault::Fail(EvalError {
            code,
            message: e.to_string(),
        })
    }
}

/// Evaluation state for one expression.
pub(crate) struct Eval<'a, 's, S: Scope<'a> + ?Sized> {
    pub scope: &'s S,
    pub arena: &'a Bump,
    /// Arrow-function parameters, by slot.
    locals: BumpVec<'a, Val<'a>>,
    depth: usize,
}

impl<'a, 's, S: Scope<'a> + ?Sized> Eval<'a, 's, S> {
    pub fn new(scope: &'s S) -> Self {
        let arena = scope.arena();
        Eval {
            scope,
            arena,
            locals: BumpVec::new_in(arena),
            depth: 0,
        }
    }

    /// The workflow zone (UTC when the name is unknown).
    pub fn zone(&self) -> Zone {
        Zone::from_name(self.scope.timezone()).unwrap_or(Zone::Utc)
    }

    pub fn now(&self) -> DateTime {
        DateTime::new(self.scope.now_ms(), self.zone())
    }

    pub fn alloc_str(&self, s: &str) -> &'a str {
        self.arena.alloc_str(s)
    }

    /// Checks a string about to be built against [`STRING_BYTES_MAX`].
    pub fn check_len(&self, bytes: usize) -> Result<(), Fault> {
        if bytes > STRING_BYTES_MAX {
            return fail(
                CODE_LIMIT,
                format!("string of {bytes} bytes exceeds {STRING_BYTES_MAX}"),
            );
        }
        Ok(())
    }

    pub fn to_value(&self, v: Val<'a>) -> Value<'a> {
        v.into_value(self.arena)
    }

    pub fn str_of(&self, v: Val<'a>) -> &'a str {
        val::to_str(self.arena, v)
    }

    pub fn num_of(&self, v: Val<'a>) -> f64 {
        val::to_number(self.arena, v)
    }

    /// An item as `$input.all()` shows it: `{json, binary?}`.
    pub fn item_object(&self, item: &Item<'a>) -> Val<'a> {
        let members: &'a [(&'a str, Value<'a>)] = if matches!(item.binary, Value::Undefined) {
            self.arena.alloc_slice_copy(&[("json", item.json)])
        } else {
            self.arena
                .alloc_slice_copy(&[("json", item.json), ("binary", item.binary)])
        };
        Val::Object(members)
    }

    pub fn items_array(&self, items: &'a [Item<'a>]) -> Val<'a> {
        let values = self
            .arena
            .alloc_slice_fill_iter(items.iter().map(|i| self.to_value(self.item_object(i))));
        Val::Array(values)
    }

    fn object_of(&self, members: &[(&'a str, Value<'a>)]) -> Val<'a> {
        Val::Object(self.arena.alloc_slice_copy(members))
    }

    fn root(&mut self, root: &ArchivedRoot) -> Res<'a> {
        let s = self.scope;
        Ok(match root {
            ArchivedRoot::Json => Val::from(s.json()),
            ArchivedRoot::Binary => Val::from(s.binary()),
            ArchivedRoot::Input => Val::Input,
            ArchivedRoot::ItemIndex => Val::Number(s.item_index() as f64),
            ArchivedRoot::RunIndex => Val::Number(s.run_index() as f64),
            ArchivedRoot::Now => Val::DateTime(self.now()),
            ArchivedRoot::Today => {
                Val::DateTime(self.now().start_of(crate::engine::datetime::Unit::Days))
            }
            ArchivedRoot::Workflow => {
                let w = s.workflow();
                self.object_of(&[
                    ("id", Value::String(w.id)),
                    ("name", Value::String(w.name)),
                    ("active", Value::Bool(w.active)),
                ])
            }
            ArchivedRoot::Execution => {
                let e = s.execution();
                self.object_of(&[
                    ("id", Value::String(e.id)),
                    ("mode", Value::String(e.mode)),
                    ("resumeUrl", Value::String(e.resume_url)),
                ])
            }
            ArchivedRoot::PrevNode => {
                let p = s.prev_node();
                self.object_of(&[
                    ("name", Value::String(p.name)),
                    ("outputIndex", Value::Number(p.output_index as f64)),
                    ("runIndex", Value::Number(p.run_index as f64)),
                ])
            }
            ArchivedRoot::Vars => Val::from(s.vars()),
            // `$env` and `$node` are only read through a key (see `keyed_root`).
            ArchivedRoot::Env | ArchivedRoot::Node => Val::Object(&[]),
        })
    }

    /// `$node[key]` and `$env[key]`.
    fn keyed_root(&mut self, root: &ArchivedRoot, key: &'a str) -> Option<Res<'a>> {
        match root {
            ArchivedRoot::Node => Some(Ok(Val::NodeRef(key))),
            ArchivedRoot::Env => Some(self.scope.env(key).map(Val::from).map_err(Fault::from)),
            _ => None,
        }
    }

    pub fn eval(&mut self, e: &'a ArchivedExpr) -> Res<'a> {
        match e {
            ArchivedExpr::Undefined => Ok(Val::Undefined),
            ArchivedExpr::Null => Ok(Val::Null),
            ArchivedExpr::Bool(b) => Ok(Val::Bool(*b)),
            ArchivedExpr::Number(n) => Ok(Val::Number(n.to_native())),
            ArchivedExpr::String(s) => Ok(Val::String(s.as_str())),
            ArchivedExpr::Template(parts) => {
                let mut out = BumpString::new_in(self.arena);
                for part in parts.iter() {
                    let v = self.eval(part)?;
                    val::push_str_of(&mut out, v, self.arena);
                    self.check_len(out.len())?;
                }
                Ok(Val::String(out.into_bump_str()))
            }
            ArchivedExpr::Regex { pattern, flags } => {
                Ok(Val::Regex(pattern.as_str(), flags.as_str()))
            }
            ArchivedExpr::Root(root) => self.root(root),
            ArchivedExpr::Global(g) => fail(CODE_NOT_FAST, format!("{g:?} used as a value")),
            ArchivedExpr::Local(slot) => Ok(self
                .locals
                .get(slot.to_native() as usize)
                .copied()
                .unwrap_or(Val::Undefined)),
            ArchivedExpr::Path {
                root: ArchivedRoot::Json,
                keys,
            } => {
                // The hot path: straight through the item's objects (a member read on an
                // object is exactly a key search); the first non-object goes on through
                // `member` with JavaScript's rules.
                let mut value = self.scope.json();
                let mut keys = keys.iter();
                while let Value::Object(members) = value {
                    let Some(key) = keys.next() else { break };
                    let key = key.get();
                    value = members
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map_or(Value::Undefined, |(_, v)| *v);
                }
                let mut v = Val::from(value);
                for key in keys {
                    v = self.member(v, key.get())?;
                }
                Ok(v)
            }
            ArchivedExpr::Path { root, keys } => {
                let mut keys = keys.iter();
                let mut v = match keys
                    .as_slice()
                    .first()
                    .and_then(|k| self.keyed_root(root, k.get()))
                {
                    Some(v) => {
                        keys.next();
                        v?
                    }
                    None => self.root(root)?,
                };
                for key in keys {
                    v = self.member(v, key.get())?;
                }
                Ok(v)
            }
            ArchivedExpr::Member {
                object,
                name,
                optional,
            } => {
                if let ArchivedExpr::Global(g) = object.get() {
                    return super::globals::global_member(self, g, name.as_str());
                }
                let o = self.eval(object.get())?;
                if *optional && o.is_nullish() {
                    return Err(Fault::Short);
                }
                self.member(o, name.as_str())
            }
            ArchivedExpr::Index {
                object,
                index,
                optional,
            } => {
                if let ArchivedExpr::Root(root @ (ArchivedRoot::Node | ArchivedRoot::Env)) =
                    object.get()
                {
                    let key = self.eval(index.get())?;
                    let key = self.str_of(key);
                    return self.keyed_root(root, key).unwrap_or(Ok(Val::Undefined));
                }
                let o = self.eval(object.get())?;
                if *optional && o.is_nullish() {
                    return Err(Fault::Short);
                }
                let key = self.eval(index.get())?;
                self.index(o, key)
            }
            ArchivedExpr::Call {
                callee,
                args,
                optional,
            } => {
                let args = self.args(args)?;
                match callee.get() {
                    ArchivedExpr::Global(g) => super::globals::call_global(self, g, args),
                    other => {
                        let f = self.eval(other)?;
                        if *optional && f.is_nullish() {
                            return Err(Fault::Short);
                        }
                        self.call(f, args)
                    }
                }
            }
            ArchivedExpr::Method {
                object,
                name,
                args,
                optional,
            } => {
                if let ArchivedExpr::Global(g) = object.get() {
                    let args = self.args(args)?;
                    return super::globals::call_global_member(self, g, name.as_str(), args);
                }
                let receiver = self.eval(object.get())?;
                if *optional && receiver.is_nullish() {
                    return Err(Fault::Short);
                }
                if receiver.is_nullish() {
                    return type_error(format!(
                        "Cannot read properties of {} (reading '{}')",
                        receiver.kind(),
                        name.as_str()
                    ));
                }
                let args = self.args(args)?;
                super::methods::call_method(self, receiver, name.as_str(), args)
            }
            ArchivedExpr::Chain(inner) => match self.eval(inner.get()) {
                Err(Fault::Short) => Ok(Val::Undefined),
                other => other,
            },
            ArchivedExpr::Unary { op, operand } => {
                let v = self.eval(operand.get())?;
                Ok(match op {
                    ArchivedUnaryOp::Not => Val::Bool(!v.truthy()),
                    ArchivedUnaryOp::Neg => Val::Number(-self.num_of(v)),
                    ArchivedUnaryOp::Plus => Val::Number(self.num_of(v)),
                    ArchivedUnaryOp::Typeof => Val::String(v.type_of()),
                    ArchivedUnaryOp::Void => Val::Undefined,
                    ArchivedUnaryOp::BitNot => Val::Number(!val::to_int32(self.num_of(v)) as f64),
                })
            }
            ArchivedExpr::Binary { op, left, right } => {
                let l = self.eval(left.get())?;
                let r = self.eval(right.get())?;
                self.binary(op, l, r)
            }
            ArchivedExpr::Logical { op, left, right } => {
                let l = self.eval(left.get())?;
                let take_left = match op {
                    ArchivedLogicalOp::And => !l.truthy(),
                    ArchivedLogicalOp::Or => l.truthy(),
                    ArchivedLogicalOp::Nullish => !l.is_nullish(),
                };
                if take_left {
                    Ok(l)
                } else {
                    self.eval(right.get())
                }
            }
            ArchivedExpr::Conditional {
                test,
                then,
                otherwise,
            } => {
                if self.eval(test.get())?.truthy() {
                    self.eval(then.get())
                } else {
                    self.eval(otherwise.get())
                }
            }
            ArchivedExpr::Array(items) => {
                // At least one slot: a literal is a new object, `[] === []` is false (see
                // `unique_empty`).
                let mut out = BumpVec::with_capacity_in(items.len().max(1), self.arena);
                for item in items.iter() {
                    if let ArchivedExpr::Spread(inner) = item {
                        let v = self.eval(inner.get())?;
                        self.spread_into(v, &mut out)?;
                    } else {
                        let v = self.eval(item)?;
                        out.push(self.to_value(v));
                    }
                }
                Ok(Val::Array(out.into_bump_slice()))
            }
            ArchivedExpr::Object { keys, values } => {
                let mut out: BumpVec<'a, (&'a str, Value<'a>)> =
                    BumpVec::with_capacity_in(keys.len().max(1), self.arena);
                for (key, value) in keys.iter().zip(values.iter()) {
                    let v = self.eval(value)?;
                    match key {
                        ArchivedObjectKey::Static(k) => {
                            let v = self.to_value(v);
                            set_member(&mut out, k.as_str(), v);
                        }
                        ArchivedObjectKey::Spread => match v {
                            Val::Object(members) => {
                                for (k, v) in members {
                                    set_member(&mut out, k, *v);
                                }
                            }
                            Val::Array(items) => {
                                for (i, v) in items.iter().enumerate() {
                                    let k = self.alloc_str(&i.to_string());
                                    set_member(&mut out, k, *v);
                                }
                            }
                            Val::String(s) => {
                                for (i, c) in s.chars().enumerate() {
                                    let k = self.alloc_str(&i.to_string());
                                    let c = self.alloc_str(c.encode_utf8(&mut [0; 4]));
                                    set_member(&mut out, k, Value::String(c));
                                }
                            }
                            _ => {}
                        },
                    }
                }
                Ok(Val::Object(out.into_bump_slice()))
            }
            ArchivedExpr::Spread(_) => type_error("spread outside an array, object or call"),
            ArchivedExpr::Arrow { .. } => Ok(Val::Func(e)),
            ArchivedExpr::New { callee, args } => {
                let args = self.args(args)?;
                match callee.get() {
                    ArchivedExpr::Global(ArchivedGlobal::Date) => {
                        super::globals::new_date(self, args)
                    }
                    _ => fail(CODE_NOT_FAST, "`new` of anything but Date"),
                }
            }
            ArchivedExpr::Sequence(items) => {
                let mut last = Val::Undefined;
                for item in items.iter() {
                    last = self.eval(item)?;
                }
                Ok(last)
            }
            ArchivedExpr::Opaque(feature) => fail(
                CODE_NOT_FAST,
                format!("`{}` needs the JavaScript evaluator", feature.as_str()),
            ),
        }
    }

    /// Evaluates call arguments, expanding spreads.
    fn args(&mut self, args: &'a [ArchivedExpr]) -> Result<&'a [Val<'a>], Fault> {
        if args.is_empty() {
            return Ok(&[]);
        }
        let mut out = BumpVec::with_capacity_in(args.len(), self.arena);
        for arg in args {
            if let ArchivedExpr::Spread(inner) = arg {
                let v = self.eval(inner.get())?;
                let mut values = BumpVec::new_in(self.arena);
                self.spread_into(v, &mut values)?;
                out.extend(values.iter().map(|v| Val::from(*v)));
            } else {
                out.push(self.eval(arg)?);
            }
        }
        Ok(out.into_bump_slice())
    }

    fn spread_into(&self, v: Val<'a>, out: &mut BumpVec<'a, Value<'a>>) -> Result<(), Fault> {
        match v {
            Val::Array(items) => out.extend_from_slice(items),
            Val::String(s) => {
                for c in s.chars() {
                    out.push(Value::String(self.alloc_str(c.encode_utf8(&mut [0; 4]))));
                }
            }
            other => return type_error(format!("{} is not iterable", other.kind())),
        }
        Ok(())
    }

    /// Calls an arrow function with `args`.
    pub fn call(&mut self, f: Val<'a>, args: &[Val<'a>]) -> Res<'a> {
        let Val::Func(ArchivedExpr::Arrow {
            params,
            first_slot,
            body,
        }) = f
        else {
            return type_error(format!("{} is not a function", f.kind()));
        };
        if self.depth >= CALL_DEPTH_MAX {
            return fail(CODE_LIMIT, "expression calls nested too deeply");
        }
        let first = first_slot.to_native() as usize;
        self.locals.truncate(first);
        while self.locals.len() < first {
            self.locals.push(Val::Undefined);
        }
        for i in 0..params.to_native() as usize {
            self.locals
                .push(args.get(i).copied().unwrap_or(Val::Undefined));
        }
        self.depth += 1;
        let result = self.eval(body.get());
        self.depth -= 1;
        self.locals.truncate(first);
        result
    }
}

/// Sets `key` in an object under construction: a repeated key keeps its first position and
/// takes the last value, as JavaScript object literals do.
pub(crate) fn set_member<'a>(
    out: &mut BumpVec<'a, (&'a str, Value<'a>)>,
    key: &'a str,
    value: Value<'a>,
) {
    match out.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => out.push((key, value)),
    }
}
