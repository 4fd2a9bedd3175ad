//! Request bodies into arena values: JSON parsed in place with simd-json (strings borrow
//! the mutated request buffer), urlencoded forms as n8n's body parser reads them, and
//! anything else as a string.

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use simd_json::{Node, StaticNode};

use crate::engine::value::{unique_empty, Value};
use crate::engine::webhook::parse_query;

/// Objects with more keys than this find duplicates through a hash map instead of a scan.
const LINEAR_DEDUP_KEYS_MAX: usize = 32;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// Human-readable reason (simd-json's message).
    pub message: String,
}

/// Parses `body` according to `content_type` into a value living in `arena`.
/// An empty body is `Undefined` (the engine then shows `{}` as n8n does).
pub fn parse_body<'a>(
    arena: &'a Bump,
    content_type: &str,
    body: &'a mut [u8],
) -> Result<Value<'a>, BodyError> {
    if body.is_empty() {
        return Ok(Value::Undefined);
    }
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        let text = std::str::from_utf8(body).map_err(|_| BodyError {
            message: "form body is not UTF-8".into(),
        })?;
        return Ok(parse_query(arena, text));
    }
    // n8n parses JSON for `application/json` and `+json` types; a body without a content
    // type is treated as JSON too, since curl-style clients often omit it.
    let is_json = essence.is_empty() || essence == "application/json" || essence.ends_with("+json");
    if !is_json {
        let text = std::str::from_utf8(body).map_err(|_| BodyError {
            message: "body is not UTF-8".into(),
        })?;
        return Ok(Value::String(text));
    }
    let tape = simd_json::to_tape(body).map_err(|e| BodyError {
        message: e.to_string(),
    })?;
    let nodes = tape.0;
    let (value, _) = convert(arena, &nodes, 0);
    Ok(value)
}

/// Converts the tape value at `at`; returns it and the index after it.
fn convert<'a>(arena: &'a Bump, nodes: &[Node<'a>], at: usize) -> (Value<'a>, usize) {
    match nodes[at] {
        Node::String(s) => (Value::String(s), at + 1),
        Node::Static(s) => (static_value(s), at + 1),
        Node::Array { len: 0, .. } => (Value::Array(unique_empty(arena, Value::Null)), at + 1),
        Node::Object { len: 0, .. } => (
            Value::Object(unique_empty(arena, ("", Value::Null))),
            at + 1,
        ),
        Node::Array { len, .. } => {
            let mut items = BumpVec::with_capacity_in(len, arena);
            let mut next = at + 1;
            for _ in 0..len {
                let (item, after) = convert(arena, nodes, next);
                items.push(item);
                next = after;
            }
            (Value::Array(items.into_bump_slice()), next)
        }
        Node::Object { len, .. } => {
            let mut members: BumpVec<'a, (&'a str, Value<'a>)> =
                BumpVec::with_capacity_in(len, arena);
            let mut next = at + 1;
            let mut index: Option<std::collections::HashMap<&'a str, usize>> =
                (len > LINEAR_DEDUP_KEYS_MAX).then(std::collections::HashMap::new);
            for _ in 0..len {
                let key = match nodes[next] {
                    Node::String(k) => k,
                    // simd-json only produces string keys; keep going defensively.
                    _ => "",
                };
                let (value, after) = convert(arena, nodes, next + 1);
                next = after;
                // JSON.parse keeps the last of duplicate keys, in the first key's position.
                let existing = match &mut index {
                    Some(map) => map.get(key).copied(),
                    None => members.iter().position(|(k, _)| *k == key),
                };
                match existing {
                    Some(i) => members[i].1 = value,
                    None => {
                        if let Some(map) = &mut index {
                            map.insert(key, members.len());
                        }
                        members.push((key, value));
                    }
                }
            }
            (Value::Object(members.into_bump_slice()), next)
        }
    }
}

fn static_value<'a>(node: StaticNode) -> Value<'a> {
    match node {
        StaticNode::Null => Value::Null,
        StaticNode::Bool(b) => Value::Bool(b),
        StaticNode::I64(n) => Value::Number(n as f64),
        StaticNode::U64(n) => Value::Number(n as f64),
        StaticNode::F64(n) => Value::Number(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(v: Value<'_>) -> String {
        let mut out = Vec::new();
        v.write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn empty_containers_each_have_an_address_of_their_own() {
        let arena = Bump::new();
        let mut bytes = br#"{"a":[],"b":[],"c":{},"d":{}}"#.to_vec();
        let body = parse_body(&arena, "application/json", &mut bytes).unwrap();
        let Value::Object(members) = body else {
            panic!("an object: {body:?}")
        };
        let address = |i: usize| match members[i].1 {
            Value::Array(items) => items.as_ptr() as usize,
            Value::Object(members) => members.as_ptr() as usize,
            other => panic!("a container: {other:?}"),
        };
        assert_ne!(address(0), address(1), "[] and [] are two arrays");
        assert_ne!(address(2), address(3), "{{}} and {{}} are two objects");
    }

    #[test]
    fn json_body_parses_in_place_with_last_duplicate_winning() {
        let arena = Bump::new();
        let mut body = br#"{"a":41,"name":"b\u00e9nch","a":7,"list":[1,2.5,null,true]}"#.to_vec();
        let v = parse_body(&arena, "application/json", &mut body).unwrap();
        assert_eq!(
            json(v),
            r#"{"a":7,"name":"bénch","list":[1,2.5,null,true]}"#
        );
    }

    #[test]
    fn bad_json_is_an_error_not_a_panic() {
        let arena = Bump::new();
        let mut body = b"{\"a\":".to_vec();
        assert!(parse_body(&arena, "application/json", &mut body).is_err());
    }

    #[test]
    fn forms_and_text_bodies_follow_content_type() {
        let arena = Bump::new();
        let mut form = b"a=1&b=x+y".to_vec();
        let v = parse_body(&arena, "application/x-www-form-urlencoded", &mut form).unwrap();
        assert_eq!(json(v), r#"{"a":"1","b":"x y"}"#);
        let mut text = b"hello".to_vec();
        let v = parse_body(&arena, "text/plain", &mut text).unwrap();
        assert_eq!(json(v), r#""hello""#);
    }
}
