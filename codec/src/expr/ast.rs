//! The expression AST: the JavaScript subset that n8n expressions use, as stored in a plan.
//!
//! Why this shape: the engine evaluates the *archived* form in place, so every node is a
//! plain rkyv value (boxes and vectors become relative pointers) and strings are read
//! straight out of the plan bytes. Identifiers are resolved at compile time: `$json` is a
//! [`Root`], `Math` a [`Global`], an arrow parameter a [`Expr::Local`] slot, so evaluation
//! never compares names. Anything the fast evaluator does not implement is still parsed
//! (so syntax errors are caught at compile time) and marked [`Expr::Opaque`]; such an
//! expression is classified for the JavaScript fallback.

// The rkyv derive generates resolver types whose struct-variant fields carry no docs and
// accept no attributes; everything written in this file is documented.
#![allow(missing_docs)]

use rkyv::{Archive, Deserialize, Serialize};

/// An n8n data root: an identifier starting with `$` that the engine provides.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub enum Root {
    /// `$json`: the current item's json.
    Json,
    /// `$binary`: the current item's binary map.
    Binary,
    /// `$input`: the node's input (`.item`, `.first()`, `.last()`, `.all()`).
    Input,
    /// `$itemIndex`.
    ItemIndex,
    /// `$runIndex`.
    RunIndex,
    /// `$now`: the execution clock as a DateTime in the workflow timezone.
    Now,
    /// `$today`: `$now` at the start of its day.
    Today,
    /// `$workflow`: `{id, name, active}`.
    Workflow,
    /// `$execution`: `{id, mode, resumeUrl}`.
    Execution,
    /// `$prevNode`: `{name, outputIndex, runIndex}`.
    PrevNode,
    /// `$vars`: instance variables.
    Vars,
    /// `$env`: process environment, subject to policy.
    Env,
    /// `$node`: node outputs by name (`$node["Name"].json`).
    Node,
}

/// A global object or function of the JavaScript / n8n environment.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub enum Global {
    /// `$('Node name')`.
    NodeFn,
    /// `Math`.
    Math,
    /// `JSON`.
    Json,
    /// `Object`.
    Object,
    /// `Array`.
    Array,
    /// `Number`.
    Number,
    /// `String`.
    String,
    /// `Boolean`.
    Boolean,
    /// Luxon `DateTime`.
    DateTime,
    /// JavaScript `Date`.
    Date,
    /// `parseInt`.
    ParseInt,
    /// `parseFloat`.
    ParseFloat,
    /// `isNaN`.
    IsNaN,
    /// `isFinite`.
    IsFinite,
    /// `encodeURIComponent`.
    EncodeUriComponent,
    /// `decodeURIComponent`.
    DecodeUriComponent,
    /// `encodeURI`.
    EncodeUri,
    /// `decodeURI`.
    DecodeUri,
    /// `$ifEmpty(value, fallback)`.
    IfEmpty,
    /// `$if(condition, then, else)`.
    If,
    /// `$jmespath(data, query)`.
    Jmespath,
    /// `$max(...numbers)`.
    Max,
    /// `$min(...numbers)`.
    Min,
    /// Legacy `$item(index, runIndex?)`: the data proxy as seen from another item index
    /// (`$item(0).$json`, `$item(0).$node["Name"].json`).
    ItemFn,
}

/// A unary operator.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub enum UnaryOp {
    /// `!x`
    Not,
    /// `-x`
    Neg,
    /// `+x`
    Plus,
    /// `typeof x`
    Typeof,
    /// `void x`
    Void,
    /// `~x`
    BitNot,
}

/// A binary (non short-circuit) operator, named after JavaScript's.
#[allow(missing_docs)]
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    Eq,
    NotEq,
    StrictEq,
    StrictNotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    UShr,
    /// `key in object`
    In,
}

/// A short-circuit operator.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub enum LogicalOp {
    /// `&&`
    And,
    /// `||`
    Or,
    /// `??`
    Nullish,
}

/// The key of an object-literal member.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub enum ObjectKey {
    /// `name: value`, `"name": value` or shorthand `name`.
    Static(String),
    /// `...value`: the value's members are copied in.
    Spread,
}

/// An expression node.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(serialize_bounds(
    __S: rkyv::ser::Writer + rkyv::ser::Allocator,
    __S::Error: rkyv::rancor::Source,
))]
#[rkyv(deserialize_bounds(__D::Error: rkyv::rancor::Source))]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(bytecheck(bounds(
    __C: rkyv::validation::ArchiveContext,
    __C::Error: rkyv::rancor::Source,
)))]
pub enum Expr {
    /// `undefined` (also the value of an empty `{{ }}`).
    Undefined,
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number literal.
    Number(f64),
    /// A string literal (escapes resolved).
    String(String),
    /// A template literal: the pieces are concatenated with `String()` semantics
    /// (literal text pieces are [`Expr::String`]).
    Template(#[rkyv(omit_bounds)] Vec<Expr>),
    /// A regular expression literal `/pattern/flags`.
    Regex {
        /// The pattern source, as written between the slashes.
        pattern: String,
        /// The flags (`gimsuy`).
        flags: String,
    },
    /// An n8n data root such as `$json`.
    Root(Root),
    /// A global object or function such as `Math`.
    Global(Global),
    /// An arrow-function parameter: index of its slot in the evaluator's local stack.
    Local(u32),
    /// A chain of static property reads on a root (`$json.body.a`): the hot path.
    Path {
        /// Where the chain starts.
        root: Root,
        /// The property names, in order. Boxed, not `String`: an archived box reads as
        /// pointer and length, while an archived `String` of at most 8 bytes (most keys)
        /// finds its length by scanning for its padding on every read, and the engine
        /// reads these keys per item.
        keys: Vec<Box<str>>,
    },
    /// `object.name` / `object?.name`.
    Member {
        /// The receiver.
        #[rkyv(omit_bounds)]
        object: Box<Expr>,
        /// The property name.
        name: String,
        /// Written with `?.`.
        optional: bool,
    },
    /// `object[index]` / `object?.[index]`.
    Index {
        /// The receiver.
        #[rkyv(omit_bounds)]
        object: Box<Expr>,
        /// The computed key.
        #[rkyv(omit_bounds)]
        index: Box<Expr>,
        /// Written with `?.`.
        optional: bool,
    },
    /// `callee(args)` where the callee is not a member access.
    Call {
        /// The function called.
        #[rkyv(omit_bounds)]
        callee: Box<Expr>,
        /// The arguments (may hold spreads).
        #[rkyv(omit_bounds)]
        args: Vec<Expr>,
        /// Written `callee?.(args)`.
        optional: bool,
    },
    /// `object.name(args)`: a method call (receiver kept as `this`).
    Method {
        /// The receiver.
        #[rkyv(omit_bounds)]
        object: Box<Expr>,
        /// The method name.
        name: String,
        /// The arguments (may hold spreads).
        #[rkyv(omit_bounds)]
        args: Vec<Expr>,
        /// Written `object?.name(args)`.
        optional: bool,
    },
    /// The end of an optional chain: a `?.` inside that meets `null`/`undefined` makes the
    /// whole chain `undefined`.
    Chain(#[rkyv(omit_bounds)] Box<Expr>),
    /// A unary operation.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        #[rkyv(omit_bounds)]
        operand: Box<Expr>,
    },
    /// A binary operation.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        #[rkyv(omit_bounds)]
        left: Box<Expr>,
        /// The right operand.
        #[rkyv(omit_bounds)]
        right: Box<Expr>,
    },
    /// `&&`, `||`, `??`.
    Logical {
        /// The operator.
        op: LogicalOp,
        /// The left operand.
        #[rkyv(omit_bounds)]
        left: Box<Expr>,
        /// The right operand.
        #[rkyv(omit_bounds)]
        right: Box<Expr>,
    },
    /// `test ? then : otherwise`.
    Conditional {
        /// The condition.
        #[rkyv(omit_bounds)]
        test: Box<Expr>,
        /// Value when the condition is truthy.
        #[rkyv(omit_bounds)]
        then: Box<Expr>,
        /// Value when it is falsy.
        #[rkyv(omit_bounds)]
        otherwise: Box<Expr>,
    },
    /// An array literal; elements may be [`Expr::Spread`].
    Array(#[rkyv(omit_bounds)] Vec<Expr>),
    /// An object literal: `keys[i]` names `values[i]`.
    Object {
        /// Member keys (or spreads).
        keys: Vec<ObjectKey>,
        /// Member values (for a spread, the spread operand).
        #[rkyv(omit_bounds)]
        values: Vec<Expr>,
    },
    /// `...value` inside an array literal or argument list.
    Spread(#[rkyv(omit_bounds)] Box<Expr>),
    /// An arrow function with an expression body. Its parameters occupy local slots
    /// `first_slot .. first_slot + params`.
    Arrow {
        /// Number of parameters.
        params: u32,
        /// Slot of the first parameter.
        first_slot: u32,
        /// The body expression.
        #[rkyv(omit_bounds)]
        body: Box<Expr>,
    },
    /// `new Callee(args)`.
    New {
        /// The function called.
        #[rkyv(omit_bounds)]
        callee: Box<Expr>,
        /// The arguments (may hold spreads).
        #[rkyv(omit_bounds)]
        args: Vec<Expr>,
    },
    /// `a, b`: evaluates both, yields the last.
    Sequence(#[rkyv(omit_bounds)] Vec<Expr>),
    /// A construct only the JavaScript fallback runs; the string names the feature
    /// (e.g. `function`, `block arrow body`, `assignment`, `identifier foo`).
    Opaque(String),
}
