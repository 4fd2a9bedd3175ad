//! Request bodies into arena values: JSON parsed in place with simd-json (strings borrow
//! the mutated request buffer), urlencoded forms as n8n's body parser reads them, and
//! anything else as a string.

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use simd_json::{Node, StaticNode};

use super::small_json;
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

/// simd-json's working buffers (input copy, structural indexes, strings, stack), kept by
/// a shard and lent to every parse: allocating them per request was four heap
/// allocations (and frees) per JSON body. They grow to the largest body parsed, which
/// the ingress bounds (`body_bytes_max`).
pub type BodyBuffers = simd_json::Buffers;

/// Parses `body` according to `content_type` into a value living in `arena`, with
/// `buffers` as the JSON parser's working memory.
/// An empty body is `Undefined` (the engine then shows `{}` as n8n does).
pub fn parse_body<'a>(
    arena: &'a Bump,
    content_type: &str,
    body: &'a mut [u8],
    buffers: &mut BodyBuffers,
) -> Result<Value<'a>, BodyError> {
    if body.is_empty() {
        return Ok(Value::Undefined);
    }
    // Compared without case rather than lower-cased: no string allocated per request.
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        let text = std::str::from_utf8(body).map_err(|_| BodyError {
            message: "form body is not UTF-8".into(),
        })?;
        return Ok(parse_query(arena, text));
    }
    // n8n parses JSON for `application/json` and `+json` types; a body without a content
    // type is treated as JSON too, since curl-style clients often omit it.
    let is_json = essence.is_empty()
        || essence.eq_ignore_ascii_case("application/json")
        || ends_with_ignore_ascii_case(essence, "+json");
    if !is_json {
        let text = std::str::from_utf8(body).map_err(|_| BodyError {
            message: "body is not UTF-8".into(),
        })?;
        return Ok(Value::String(text));
    }
    if body.len() <= small_json::SMALL_BODY_BYTES_MAX {
        let body: &'a [u8] = body;
        if let Some(value) = std::str::from_utf8(body)
            .ok()
            .and_then(|text| small_json::read(arena, text))
        {
            return Ok(value);
        }
        // Declined: simd-json parses (in place, so a copy: the body was lent out as text).
        return parse_json(arena, arena.alloc_slice_copy(body), buffers);
    }
    parse_json(arena, body, buffers)
}

/// `body` as JSON through simd-json's tape.
fn parse_json<'a>(
    arena: &'a Bump,
    body: &'a mut [u8],
    buffers: &mut BodyBuffers,
) -> Result<Value<'a>, BodyError> {
    let tape = simd_json::to_tape_with_buffers(body, buffers).map_err(|e| BodyError {
        message: e.to_string(),
    })?;
    let nodes = tape.0;
    let (value, _) = convert(arena, &nodes, 0);
    Ok(value)
}

/// `text` ends with `suffix`, ASCII letters compared without case.
fn ends_with_ignore_ascii_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text.as_bytes()[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// The tape conversion, for the small reader's tests to compare with.
#[cfg(test)]
pub(super) fn convert_for_tests<'a>(arena: &'a Bump, nodes: &[Node<'a>]) -> (Value<'a>, usize) {
    convert(arena, nodes, 0)
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
        let body = parse_body(
            &arena,
            "application/json",
            &mut bytes,
            &mut BodyBuffers::default(),
        )
        .unwrap();
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
        let v = parse_body(
            &arena,
            "application/json",
            &mut body,
            &mut BodyBuffers::default(),
        )
        .unwrap();
        assert_eq!(
            json(v),
            r#"{"a":7,"name":"bénch","list":[1,2.5,null,true]}"#
        );
    }

    #[test]
    fn bad_json_is_an_error_not_a_panic() {
        let arena = Bump::new();
        let mut body = b"{\"a\":".to_vec();
        assert!(parse_body(
            &arena,
            "application/json",
            &mut body,
            &mut BodyBuffers::default()
        )
        .is_err());
    }

    #[test]
    fn forms_and_text_bodies_follow_content_type() {
        let arena = Bump::new();
        let mut form = b"a=1&b=x+y".to_vec();
        let v = parse_body(
            &arena,
            "application/x-www-form-urlencoded",
            &mut form,
            &mut BodyBuffers::default(),
        )
        .unwrap();
        assert_eq!(json(v), r#"{"a":"1","b":"x y"}"#);
        let mut text = b"hello".to_vec();
        let v = parse_body(&arena, "text/plain", &mut text, &mut BodyBuffers::default()).unwrap();
        assert_eq!(json(v), r#""hello""#);
    }

    /// A shard's buffers, reused across bodies of every size, valid and not, parse each
    /// body as fresh buffers do (and report the same errors).
    #[test]
    fn reused_buffers_parse_as_fresh_ones() {
        let big = format!(
            "{{\"items\":[{}],\"s\":\"{}\"}}",
            (0..500)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
            "x\\n\\u00e9".repeat(300)
        );
        let bodies = [
            r#"{"a":41,"name":"bench"}"#.to_owned(),
            big,
            r#"{"a":"#.to_owned(),
            r#"[1,{"k":"v\"w"},[],{}]"#.to_owned(),
            "\"just a string\"".to_owned(),
            r#"{"é":"✓","n":-1.5e3,"t":true,"z":null}"#.to_owned(),
            "{\"a\":1} trailing".to_owned(),
            "7".to_owned(),
        ];
        let mut shared = BodyBuffers::default();
        for body in bodies.iter().chain(bodies.iter().rev()) {
            let (lent, fresh) = (Bump::new(), Bump::new());
            let mut a = body.clone().into_bytes();
            let mut b = body.clone().into_bytes();
            let with_shared = parse_body(&lent, "application/json", &mut a, &mut shared);
            let with_fresh = parse_body(
                &fresh,
                "application/json",
                &mut b,
                &mut BodyBuffers::default(),
            );
            match (with_shared, with_fresh) {
                (Ok(x), Ok(y)) => assert_eq!(json(x), json(y), "{body}"),
                (Err(x), Err(y)) => assert_eq!(x, y, "{body}"),
                (x, y) => panic!("{body}: {x:?} vs {y:?}"),
            }
        }
    }

    /// The content type is compared without case, as the lower-cased copy it replaced.
    #[test]
    fn content_types_compare_as_lower_cased() {
        let kind = |content_type: &str| {
            let arena = Bump::new();
            let mut body = br#"{"a":1}"#.to_vec();
            parse_body(&arena, content_type, &mut body, &mut BodyBuffers::default())
                .map(json)
                .unwrap_or_else(|e| e.message)
        };
        let lower_cased = |content_type: &str| {
            let essence = content_type
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if essence == "application/x-www-form-urlencoded" {
                r#"{"{\"a\":1}":""}"#.to_owned()
            } else if essence.is_empty()
                || essence == "application/json"
                || essence.ends_with("+json")
            {
                r#"{"a":1}"#.to_owned()
            } else {
                r#""{\"a\":1}""#.to_owned()
            }
        };
        for content_type in [
            "",
            " ",
            "application/json",
            "Application/JSON; charset=utf-8",
            " APPLICATION/JSON ;",
            "application/vnd.api+json",
            "application/vnd.api+JSON",
            "+json",
            "json",
            "application/jsonx",
            "application/x-www-form-urlencoded",
            "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8",
            "text/plain",
            "text/json",
            "é+json",
            "application/jsoné",
        ] {
            assert_eq!(
                kind(content_type),
                lower_cased(content_type),
                "{content_type:?}"
            );
        }
    }
}
