//! Property access (`object.name`, `object[key]`) and the binary operators.

use bumpalo::collections::String as BumpString;
use linkflow_codec::expr::ast::ArchivedBinaryOp;

use super::eval::{fail, type_error, Eval, Res, CODE_NOT_FAST};
use super::scope::Scope;
use super::val::{self, Val};

impl<'a, S: Scope<'a> + ?Sized> Eval<'a, '_, S> {
    /// `object.name`.
    pub fn member(&mut self, o: Val<'a>, name: &'a str) -> Res<'a> {
        match o {
            Val::Undefined | Val::Null => type_error(format!(
                "Cannot read properties of {} (reading '{name}')",
                o.kind()
            )),
            Val::Object(members) => Ok(members
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| Val::from(*v))
                .unwrap_or(Val::Undefined)),
            Val::Array(items) => Ok(match name {
                "length" => Val::Number(items.len() as f64),
                _ => match array_index(name) {
                    Some(i) => items
                        .get(i)
                        .map(|v| Val::from(*v))
                        .unwrap_or(Val::Undefined),
                    None => Val::Undefined,
                },
            }),
            Val::String(s) => Ok(match name {
                "length" => Val::Number(val::utf16_len(s) as f64),
                _ => match array_index(name) {
                    Some(i) => super::strings::char_at(self, s, i as f64),
                    None => Val::Undefined,
                },
            }),
            Val::DateTime(d) => Ok(super::dates::date_property(self, d, name)),
            Val::Duration(d) => Ok(match crate::engine::datetime::Unit::from_name(name) {
                Some(unit) if name.ends_with('s') => Val::Number(d.get(unit)),
                _ => Val::Undefined,
            }),
            Val::Input => Ok(match name {
                "item" => match self.scope.input_items().get(self.scope.item_index()) {
                    Some(item) => self.item_object(item),
                    None => Val::Undefined,
                },
                _ => Val::Undefined,
            }),
            Val::NodeRef(node) => self.node_property(node, name),
            Val::Legacy(at) => self.legacy_member(at, name),
            _ => Ok(Val::Undefined),
        }
    }

    fn node_property(&mut self, node: &'a str, name: &str) -> Res<'a> {
        Ok(match name {
            "item" => {
                let item = self.scope.paired_item(node)?;
                self.item_object(&item)
            }
            "isExecuted" => Val::Bool(self.scope.node_executed(node)?),
            // Legacy `$node["Name"].json`: the item at the current index of its last run.
            "json" | "binary" => {
                let items = self.scope.node_items(node, 0, None)?;
                let index = Val::Number(self.scope.item_index() as f64);
                let item = self.legacy_item(items, node, index)?;
                self.item_part(&item, name == "json")
            }
            _ => Val::Undefined,
        })
    }

    /// `object[key]`.
    pub fn index(&mut self, o: Val<'a>, key: Val<'a>) -> Res<'a> {
        if let Val::Number(n) = key {
            if n >= 0.0 && n.fract() == 0.0 {
                match o {
                    Val::Array(items) => {
                        return Ok(items
                            .get(n as usize)
                            .map(|v| Val::from(*v))
                            .unwrap_or(Val::Undefined))
                    }
                    Val::String(s) => return Ok(super::strings::char_at(self, s, n)),
                    _ => {}
                }
            }
        }
        let key = self.str_of(key);
        self.member(o, key)
    }

    pub(crate) fn binary(&mut self, op: &ArchivedBinaryOp, l: Val<'a>, r: Val<'a>) -> Res<'a> {
        use std::cmp::Ordering;
        let arena = self.arena;
        let num = |v| val::to_number(arena, v);
        Ok(match op {
            ArchivedBinaryOp::Add => match (l, r) {
                (Val::Number(a), Val::Number(b)) => Val::Number(a + b),
                _ => {
                    let (pl, pr) = (val::to_primitive(arena, l), val::to_primitive(arena, r));
                    if matches!(pl, Val::String(_)) || matches!(pr, Val::String(_)) {
                        let (a, b) = (self.str_of(pl), self.str_of(pr));
                        self.check_len(a.len() + b.len())?;
                        let mut out = BumpString::with_capacity_in(a.len() + b.len(), arena);
                        out.push_str(a);
                        out.push_str(b);
                        Val::String(out.into_bump_str())
                    } else {
                        Val::Number(num(pl) + num(pr))
                    }
                }
            },
            ArchivedBinaryOp::Sub => Val::Number(num(l) - num(r)),
            ArchivedBinaryOp::Mul => Val::Number(num(l) * num(r)),
            ArchivedBinaryOp::Div => Val::Number(num(l) / num(r)),
            ArchivedBinaryOp::Rem => Val::Number(num(l) % num(r)),
            ArchivedBinaryOp::Pow => Val::Number(val::js_pow(num(l), num(r))),
            ArchivedBinaryOp::Eq => Val::Bool(val::loose_equals(arena, l, r)),
            ArchivedBinaryOp::NotEq => Val::Bool(!val::loose_equals(arena, l, r)),
            ArchivedBinaryOp::StrictEq => Val::Bool(val::strict_equals(l, r)),
            ArchivedBinaryOp::StrictNotEq => Val::Bool(!val::strict_equals(l, r)),
            ArchivedBinaryOp::Lt => Val::Bool(val::compare(arena, l, r) == Some(Ordering::Less)),
            ArchivedBinaryOp::LtEq => Val::Bool(matches!(
                val::compare(arena, l, r),
                Some(Ordering::Less | Ordering::Equal)
            )),
            ArchivedBinaryOp::Gt => Val::Bool(val::compare(arena, l, r) == Some(Ordering::Greater)),
            ArchivedBinaryOp::GtEq => Val::Bool(matches!(
                val::compare(arena, l, r),
                Some(Ordering::Greater | Ordering::Equal)
            )),
            ArchivedBinaryOp::BitAnd => {
                Val::Number((val::to_int32(num(l)) & val::to_int32(num(r))) as f64)
            }
            ArchivedBinaryOp::BitOr => {
                Val::Number((val::to_int32(num(l)) | val::to_int32(num(r))) as f64)
            }
            ArchivedBinaryOp::BitXor => {
                Val::Number((val::to_int32(num(l)) ^ val::to_int32(num(r))) as f64)
            }
            ArchivedBinaryOp::Shl => Val::Number(
                val::to_int32(num(l)).wrapping_shl(val::to_int32(num(r)) as u32 & 31) as f64,
            ),
            ArchivedBinaryOp::Shr => Val::Number(
                val::to_int32(num(l)).wrapping_shr(val::to_int32(num(r)) as u32 & 31) as f64,
            ),
            ArchivedBinaryOp::UShr => Val::Number(
                (val::to_int32(num(l)) as u32).wrapping_shr(val::to_int32(num(r)) as u32 & 31)
                    as f64,
            ),
            ArchivedBinaryOp::In => {
                return fail(CODE_NOT_FAST, "`in` needs the JavaScript evaluator")
            }
        })
    }
}

/// A canonical array index (`"0"`, `"12"`, not `"01"`).
fn array_index(key: &str) -> Option<usize> {
    if key.is_empty()
        || (key.len() > 1 && key.starts_with('0'))
        || !key.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    key.parse().ok()
}
