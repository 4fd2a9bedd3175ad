//! n8n's legacy item accessors: `$item(index, runIndex?)` and `$node["Name"].json`.
//!
//! In n8n (`WorkflowDataProxy`), `$item(i, r)` is a whole data proxy built as if the
//! current item index were `i` and the default run of other nodes `r` (their last run when
//! absent). Reading `.$json` / `.$binary` indexes the node's input; `.$node["Name"].json`
//! indexes `Name`'s output of run `r`. An index at or past the end fails the node with
//! `"<node>" node has N item(s) but you're trying to access item I`; an index that is no
//! array index at all (negative, fractional) reads `undefined`, whose `.json` is a
//! TypeError (the segment becomes `null`). An empty output fails as "hasn't been executed".
//!
//! The codec sends only whole reads to the fast path (`$item(0).$json...`,
//! `$item(0).$node["X"].json...`), so the proxy values below never leave the evaluator.

use super::eval::{fail, type_error, Eval, Res, CODE_NODE_REFERENCE, CODE_NOT_FAST};
use super::scope::Scope;
use super::val::{self, Val};
use crate::engine::item::Item;
use crate::engine::value::Value;

/// Where a `$item(i)` read has got to.
#[derive(Clone, Copy)]
pub(crate) enum LegacyStep<'a> {
    /// `$item(i)`.
    Proxy,
    /// `$item(i).$node`.
    Nodes,
    /// `$item(i).$node["Name"]`.
    Node(&'a str),
}

/// The state of a `$item(i, r)` read.
#[derive(Clone, Copy)]
pub(crate) struct LegacyItem<'a> {
    /// The index as written (a number or a string: n8n uses it as a property key).
    pub index: Val<'a>,
    /// The run of other nodes to read (`None`: their last run).
    pub run: Option<usize>,
    pub step: LegacyStep<'a>,
}

/// A canonical non-negative integer run index, `Some(None)` for "last run" (absent or -1),
/// `None` when the fast path does not decide (JavaScript does).
fn run_arg(v: Val<'_>) -> Option<Option<usize>> {
    match v {
        Val::Undefined => Some(None),
        Val::Number(-1.0) => Some(None),
        Val::Number(n) if n >= 0.0 && n.fract() == 0.0 && n < u32::MAX as f64 => {
            Some(Some(n as usize))
        }
        _ => None,
    }
}

/// The item `index` names when JavaScript uses it as a key of an array: a canonical array
/// index (`0`, `"0"`, `-0`), not `"01"`, `1.5` or `-1`.
fn array_index(index: Val<'_>) -> Option<usize> {
    match index {
        Val::Number(n) if n >= 0.0 && n.fract() == 0.0 && n < u32::MAX as f64 => Some(n as usize),
        Val::String(s) => {
            let canonical = !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s.len() == 1 || !s.starts_with('0'));
            canonical.then(|| s.parse().ok()).flatten()
        }
        _ => None,
    }
}

impl<'a, S: Scope<'a> + ?Sized> Eval<'a, '_, S> {
    /// `$item(index, runIndex?)`.
    pub(crate) fn call_item(&mut self, args: &'a [Val<'a>]) -> Res<'a> {
        let index = args.first().copied().unwrap_or(Val::Undefined);
        let run = args.get(1).copied().unwrap_or(Val::Undefined);
        let (true, Some(run)) = (
            matches!(index, Val::Number(_) | Val::String(_)),
            run_arg(run),
        ) else {
            return fail(CODE_NOT_FAST, "$item() with an unusual index or run");
        };
        Ok(Val::Legacy(self.arena.alloc(LegacyItem {
            index,
            run,
            step: LegacyStep::Proxy,
        })))
    }

    /// A member of a `$item(i)` proxy value.
    pub(crate) fn legacy_member(&mut self, at: &'a LegacyItem<'a>, name: &'a str) -> Res<'a> {
        let step = match (at.step, name) {
            (LegacyStep::Proxy, "$json" | "$binary") => {
                let items = self.scope.input_items();
                let item = self.legacy_item(items, "$input", at.index)?;
                return Ok(self.item_part(&item, name == "$json"));
            }
            (LegacyStep::Proxy, "$itemIndex") => return Ok(at.index),
            (LegacyStep::Proxy, "$node") => LegacyStep::Nodes,
            (LegacyStep::Nodes, node) => LegacyStep::Node(node),
            (LegacyStep::Node(node), "json" | "binary") => {
                let items = self.scope.node_items(node, 0, at.run)?;
                let item = self.legacy_item(items, node, at.index)?;
                return Ok(self.item_part(&item, name == "json"));
            }
            _ => return fail(CODE_NOT_FAST, format!("$item() member .{name}")),
        };
        Ok(Val::Legacy(self.arena.alloc(LegacyItem { step, ..*at })))
    }

    /// `item.json`, or `item.binary` (a new `{}` when the item has none, as n8n's proxy).
    pub(crate) fn item_part(&self, item: &Item<'a>, json: bool) -> Val<'a> {
        if json {
            Val::from(item.json)
        } else if item.binary.is_nullish() {
            // A fresh object each read (`a.binary === a.binary` is false in n8n): object
            // identity here is the address of the members, so the empty slice must start
            // at an address of its own.
            let unique = self.arena.alloc_slice_copy(&[("", Value::Undefined)]);
            Val::Object(&unique[..0])
        } else {
            Val::from(item.binary)
        }
    }

    /// n8n's checks when legacy syntax reads item `index` of `node`'s `items`.
    pub(crate) fn legacy_item(
        &mut self,
        items: &'a [Item<'a>],
        node: &str,
        index: Val<'a>,
    ) -> Result<Item<'a>, super::eval::Fault> {
        if items.is_empty() {
            return fail(
                CODE_NODE_REFERENCE,
                format!("Node '{node}' hasn't been executed"),
            );
        }
        // JavaScript's `items.length <= index`: a numeric comparison.
        if items.len() as f64 <= val::to_number(self.arena, index) {
            let shown = self.str_of(index);
            return fail(
                CODE_NODE_REFERENCE,
                format!(
                    "\"{node}\" node has {} item(s) but you're trying to access item {shown}",
                    items.len()
                ),
            );
        }
        match array_index(index).and_then(|i| items.get(i)) {
            Some(item) => Ok(*item),
            None => type_error("Cannot read properties of undefined (reading 'json')"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::expr::mock::MockScope;
    use crate::engine::expr::tests::run_with;
    use crate::engine::expr::CODE_NODE_REFERENCE;
    use serde_json::json;

    /// Input: three items (`i` = 0, 1, 2); node "Read" ran twice, the last run has two items.
    fn scope(scope: &mut MockScope<'_>) {
        let arena = scope.arena;
        let item = |j: serde_json::Value| Item::new(Value::from_json(arena, &j));
        scope.input = arena.alloc_slice_copy(&[
            item(json!({"i": 0})),
            item(json!({"i": 1})),
            item(json!({"i": 2})),
        ]);
        let read = arena.alloc_slice_copy(&[
            item(json!({"name": "r0", "body": {"id": 7}})),
            item(json!({"name": "r1"})),
        ]);
        scope.nodes = vec![("Read", Some(read)), ("Never", None)];
        scope.item_index = 2;
    }

    fn ok(source: &str) -> serde_json::Value {
        run_with(source, scope).expect("evaluates")
    }

    #[test]
    fn item_reads_input_and_nodes_at_another_index() {
        assert_eq!(ok("={{ $item(0).$json.i }}"), json!(0));
        assert_eq!(ok("={{ $item(\"1\").$json.i }}"), json!(1));
        assert_eq!(ok("={{ $item($itemIndex).$json.i }}"), json!(2));
        assert_eq!(ok("={{ $item('0').$node['Read'].json.body.id }}"), json!(7));
        assert_eq!(ok("={{ $item(1, 0).$node.Read.json.name }}"), json!("r1"));
        assert_eq!(ok("={{ $item(1, -1).$node.Read.binary }}"), json!({}));
        assert_eq!(ok("={{ $item('1').$itemIndex }}"), json!("1"));
    }

    #[test]
    fn item_out_of_range_fails_the_node_and_a_non_index_is_null() {
        let e = run_with("={{ $item(3).$json.i }}", scope).unwrap_err();
        assert_eq!(e.code, CODE_NODE_REFERENCE);
        assert!(e.message.contains("has 3 item(s)"), "{}", e.message);
        let e = run_with("={{ $item(2).$node['Read'].json }}", scope).unwrap_err();
        assert_eq!(
            e.message,
            "\"Read\" node has 2 item(s) but you're trying to access item 2"
        );
        // A run that does not exist reads nothing: as unexecuted.
        let e = run_with("={{ $item(0, 5).$node['Read'].json }}", scope).unwrap_err();
        assert_eq!(e.code, CODE_NODE_REFERENCE);
        // Not an array index: undefined, whose `.json` is a TypeError (null).
        assert_eq!(ok("={{ $item(-1).$json.i }}"), json!(null));
        assert_eq!(ok("={{ $item(0.5).$json }}"), json!(null));
        assert_eq!(ok("={{ $item('01').$json }}"), json!(null));
        // Missing or unexecuted nodes fail as `$node` does.
        let e = run_with("={{ $item(0).$node['Nope'].json }}", scope).unwrap_err();
        assert_eq!(e.code, CODE_NODE_REFERENCE);
        let e = run_with("={{ $item(0).$node['Never'].json }}", scope).unwrap_err();
        assert_eq!(e.code, CODE_NODE_REFERENCE);
    }

    #[test]
    fn legacy_node_json_past_the_end_fails_as_in_n8n() {
        // Current item 2, "Read" has two items.
        let e = run_with("={{ $node['Read'].json.name }}", scope).unwrap_err();
        assert_eq!(e.code, CODE_NODE_REFERENCE);
        let v = run_with("={{ $node['Read'].json.name }}", |s| {
            scope(s);
            s.item_index = 1;
        });
        assert_eq!(v.unwrap(), json!("r1"));
    }

    #[test]
    fn unusual_arguments_are_left_to_javascript() {
        let arena = bumpalo::Bump::new();
        let mock = MockScope::new(&arena);
        let mut ev = Eval::new(&mock);
        for args in [
            &[Val::Bool(true)][..],
            &[][..],
            &[Val::Number(0.0), Val::Number(-2.0)][..],
        ] {
            let args = arena.alloc_slice_copy(args);
            assert!(matches!(
                ev.call_item(args),
                Err(super::super::eval::Fault::Fail(e)) if e.code == CODE_NOT_FAST
            ));
        }
    }

    #[test]
    fn array_index_follows_javascript_keys() {
        assert_eq!(array_index(Val::Number(0.0)), Some(0));
        assert_eq!(array_index(Val::Number(-0.0)), Some(0));
        assert_eq!(array_index(Val::String("12")), Some(12));
        assert_eq!(array_index(Val::String("0")), Some(0));
        assert_eq!(array_index(Val::String("01")), None);
        assert_eq!(array_index(Val::String("")), None);
        assert_eq!(array_index(Val::String("-1")), None);
        assert_eq!(array_index(Val::Number(1.5)), None);
        assert_eq!(array_index(Val::Number(-1.0)), None);
        assert_eq!(array_index(Val::Bool(true)), None);
    }

    #[test]
    fn run_argument_last_or_exact() {
        assert_eq!(run_arg(Val::Undefined), Some(None));
        assert_eq!(run_arg(Val::Number(-1.0)), Some(None));
        assert_eq!(run_arg(Val::Number(2.0)), Some(Some(2)));
        assert_eq!(run_arg(Val::Number(-2.0)), None);
        assert_eq!(run_arg(Val::String("1")), None);
    }
}
