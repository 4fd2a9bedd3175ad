//! Decides, per expression, whether the fast evaluator runs it or the JavaScript fallback
//! must, and what neither can run. Nothing is dropped: every construct either maps to an
//! evaluator feature or adds a reason.

use super::ast::{BinaryOp, Expr, Global, Root};
use super::support::{global_members, is_callable_global, is_fast_method, UNSUPPORTED_IDENTIFIERS};
use super::{Body, Part};

/// The outcome of walking an expression.
#[derive(Default)]
pub(crate) struct Classification {
    /// Why the fast path cannot run it (deduplicated, in order of appearance).
    pub js_reasons: Vec<String>,
    /// What no path can run.
    pub unsupported: Vec<String>,
}

/// Properties of `$('Name')` / `$node["Name"]` the fast path implements.
const NODE_PROPERTIES: &[&str] = &["item", "json", "binary", "isExecuted"];
/// Properties of `$input` the fast path implements.
const INPUT_PROPERTIES: &[&str] = &["item"];
/// Properties of `$execution` the fast path implements.
const EXECUTION_PROPERTIES: &[&str] = &["id", "mode", "resumeUrl"];

/// Members of the legacy `$item(i)` proxy the fast path implements.
const ITEM_PROXY_PROPERTIES: &[&str] = &["$json", "$binary", "$itemIndex"];
/// Properties of `$item(i).$node["Name"]` the fast path implements.
const ITEM_NODE_PROPERTIES: &[&str] = &["json", "binary"];

/// `$item(args)`: its arguments.
fn item_call(e: &Expr) -> Option<&[Expr]> {
    match e {
        Expr::Call { callee, args, .. }
            if matches!(callee.as_ref(), Expr::Global(Global::ItemFn)) =>
        {
            Some(args)
        }
        _ => None,
    }
}

/// `$item(args).$node`.
fn item_nodes(e: &Expr) -> Option<&[Expr]> {
    match e {
        Expr::Member { object, name, .. } if name == "$node" => item_call(object),
        _ => None,
    }
}

/// A read of item data through the legacy `$item(i)` proxy that the fast path implements:
/// `$item(i).$json`, `$item(i).$binary`, `$item(i).$itemIndex`, `$item(i).$node["Name"].json`
/// and `.binary`. Returns the sub-expressions still to classify (arguments, computed name).
/// Why a whole-chain match: the proxy objects themselves never leave the fast evaluator,
/// so `$item(0)` as a value, its methods and other members go to JavaScript.
fn item_read(e: &Expr) -> Option<Vec<&Expr>> {
    let Expr::Member { object, name, .. } = e else {
        return None;
    };
    if let Some(args) = item_call(object) {
        return ITEM_PROXY_PROPERTIES
            .contains(&name.as_str())
            .then(|| args.iter().collect());
    }
    if !ITEM_NODE_PROPERTIES.contains(&name.as_str()) {
        return None;
    }
    match object.as_ref() {
        Expr::Member { object: nodes, .. } => item_nodes(nodes).map(|args| args.iter().collect()),
        Expr::Index {
            object: nodes,
            index,
            ..
        } => item_nodes(nodes).map(|args| {
            let mut sub: Vec<&Expr> = args.iter().collect();
            sub.push(index);
            sub
        }),
        _ => None,
    }
}

/// `$('Name')` or `$node["Name"]`.
fn is_node_proxy(e: &Expr) -> bool {
    match e {
        Expr::Call { callee, .. } => matches!(callee.as_ref(), Expr::Global(Global::NodeFn)),
        Expr::Index { object, .. } => matches!(object.as_ref(), Expr::Root(Root::Node)),
        _ => false,
    }
}

impl Classification {
    /// Static paths on roots whose members the fast path only partly implements.
    fn path(&mut self, root: Root, keys: &[Box<str>]) {
        let (allowed, key) = match root {
            Root::Node => (NODE_PROPERTIES, keys.get(1)),
            Root::Input => (INPUT_PROPERTIES, keys.first()),
            Root::Execution => (EXECUTION_PROPERTIES, keys.first()),
            _ => return,
        };
        if let Some(key) = key.map(|k| &**k).filter(|k| !allowed.contains(k)) {
            self.js(format!("{root:?} property .{key}"));
        }
    }

    fn js(&mut self, reason: String) {
        if !self.js_reasons.contains(&reason) {
            self.js_reasons.push(reason);
        }
    }

    pub fn body(&mut self, body: &Body) {
        match body {
            Body::Text(_) | Body::Invalid(_) => {}
            Body::Single(segment) => self.expr(&segment.expr),
            Body::Parts(parts) => {
                for part in parts {
                    if let Part::Code(segment) = part {
                        self.expr(&segment.expr);
                    }
                }
            }
        }
    }

    fn exprs(&mut self, exprs: &[Expr]) {
        for e in exprs {
            self.expr(e);
        }
    }

    fn global_member(&mut self, global: Global, name: &str) {
        if !global_members(global).contains(&name) {
            self.js(format!("{global:?}.{name}"));
        }
    }

    pub fn expr(&mut self, expr: &Expr) {
        if let Some(sub) = item_read(expr) {
            for e in sub {
                self.expr(e);
            }
            return;
        }
        match expr {
            Expr::Undefined
            | Expr::Null
            | Expr::Bool(_)
            | Expr::Number(_)
            | Expr::String(_)
            | Expr::Root(_)
            | Expr::Local(_) => {}
            Expr::Path { root, keys } => self.path(*root, keys),
            Expr::Regex { pattern, flags } => {
                if let Err(reason) = super::regex::translate(pattern, flags).and_then(|t| t.check())
                {
                    self.js(format!("regex: {reason}"));
                }
            }
            Expr::Global(g) => self.js(format!("{g:?} used as a value")),
            Expr::Template(parts) | Expr::Array(parts) | Expr::Sequence(parts) => self.exprs(parts),
            Expr::Member { object, name, .. } => match object.as_ref() {
                Expr::Global(g) => self.global_member(*g, name),
                object => {
                    if is_node_proxy(object) && !NODE_PROPERTIES.contains(&name.as_str()) {
                        self.js(format!("node property .{name}"));
                    }
                    self.expr(object)
                }
            },
            Expr::Index { object, index, .. } => {
                if let Expr::Global(g) = object.as_ref() {
                    self.js(format!("{g:?}[...]"));
                } else {
                    self.expr(object);
                }
                self.expr(index);
            }
            Expr::Call { callee, args, .. } => {
                match callee.as_ref() {
                    Expr::Global(Global::ItemFn) => {
                        self.js("$item() other than .$json/.$binary/.$node[...].json".to_owned())
                    }
                    Expr::Global(g) if is_callable_global(*g) => {}
                    Expr::Global(g) => self.js(format!("{g:?}() call")),
                    // An unknown callee already names its own reason.
                    other @ Expr::Opaque(_) => self.expr(other),
                    other => {
                        self.expr(other);
                        self.js("call of a computed function".to_owned());
                    }
                }
                self.exprs(args);
            }
            Expr::Method {
                object, name, args, ..
            } => {
                match object.as_ref() {
                    Expr::Global(g) => self.global_member(*g, name),
                    object => {
                        if !is_fast_method(name) {
                            self.js(format!("method .{name}()"));
                        }
                        self.expr(object);
                    }
                }
                self.exprs(args);
            }
            Expr::Chain(inner) | Expr::Spread(inner) => self.expr(inner),
            Expr::Unary { operand, .. } => self.expr(operand),
            Expr::Binary { op, left, right } => {
                if *op == BinaryOp::In {
                    self.js("`in` operator".to_owned());
                }
                self.expr(left);
                self.expr(right);
            }
            Expr::Logical { left, right, .. } => {
                self.expr(left);
                self.expr(right);
            }
            Expr::Conditional {
                test,
                then,
                otherwise,
            } => {
                self.expr(test);
                self.expr(then);
                self.expr(otherwise);
            }
            Expr::Object { values, .. } => self.exprs(values),
            Expr::Arrow { body, .. } => self.expr(body),
            Expr::New { callee, args } => {
                if !matches!(callee.as_ref(), Expr::Global(Global::Date)) {
                    self.js("`new` of anything but Date".to_owned());
                }
                self.exprs(args);
            }
            Expr::Opaque(feature) => {
                let name = feature.strip_prefix("identifier ").unwrap_or("");
                match UNSUPPORTED_IDENTIFIERS.iter().find(|(id, _)| *id == name) {
                    Some((_, reason)) => {
                        if !self.unsupported.iter().any(|u| u == reason) {
                            self.unsupported.push((*reason).to_owned());
                        }
                    }
                    None => self.js(feature.clone()),
                }
            }
        }
    }
}
