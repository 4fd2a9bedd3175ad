//! The direct `$json` path read must answer exactly what the evaluator answers: every case
//! runs both ways on the same archived expression and input.

use bumpalo::Bump;
use linkflow_codec::expr::{compile, ArchivedBody, ArchivedCompiledExpression};
use serde_json::{json, Value as Json};

use super::mock::MockScope;
use super::{direct_json_path, evaluate, evaluate_generic};
use crate::engine::item::Item;
use crate::engine::value::Value;

/// Compiles `source`, archives it as a plan would, and hands `check` the archived form,
/// the arena, the item's `json` (from `input`) and a scope whose input is that item.
fn with_expression<R>(
    source: &str,
    input: &Json,
    check: impl for<'a> FnOnce(&'a ArchivedCompiledExpression, &'a Bump, Value<'a>, &MockScope<'a>) -> R,
) -> R {
    let compiled = compile(source).expect("expression compiles");
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&compiled).expect("archives");
    let archived = rkyv::access::<ArchivedCompiledExpression, rkyv::rancor::Error>(&bytes)
        .expect("valid archive");
    let arena = Bump::new();
    let mut scope = MockScope::new(&arena);
    let json = Value::from_json(&arena, input);
    scope.input = arena.alloc_slice_copy(&[Item::new(json)]);
    check(archived, &arena, json, &scope)
}

/// Writes `archived` with `write_direct_json` after `prefix` and checks the bytes against
/// the evaluator's answer written as JSON, or, when the writer declines, that the buffer
/// is unchanged. True when it wrote.
fn writer_agrees<'a>(
    archived: &'a ArchivedCompiledExpression,
    arena: &'a Bump,
    json: Value<'a>,
    scope: &MockScope<'a>,
    prefix: &[u8],
    label: &str,
) -> bool {
    let mut out = prefix.to_vec();
    if super::write_direct_json(archived, arena, json, &mut out).is_none() {
        assert_eq!(out, prefix, "{label}: buffer changed");
        return false;
    }
    let mut expected = prefix.to_vec();
    evaluate_generic(archived, scope)
        .expect("evaluates")
        .write_json(&mut expected);
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&expected),
        "{label}"
    );
    true
}

/// (direct answer, generic answer, whether the direct read applied) for `source` on `input`.
fn both_ways(source: &str, input: &Json) -> (Option<Json>, Option<Json>, bool) {
    with_expression(source, input, |archived, _, _, scope| {
        let applied = match &archived.body {
            ArchivedBody::Single(segment) => direct_json_path(&segment.expr, scope).is_some(),
            _ => false,
        };
        let direct = evaluate(archived, scope).ok().map(|v| v.to_json());
        let generic = evaluate_generic(archived, scope).ok().map(|v| v.to_json());
        (direct, generic, applied)
    })
}

#[test]
fn direct_json_path_agrees_with_the_evaluator() {
    let inputs = [
        json!({"body": {"a": 41, "name": "bench", "n": null, "list": [1, 2], "s": "héllo"}, "b": 42}),
        json!({"body": "text", "b": {"c": {"d": true}}}),
        json!({"body": null}),
        json!({"body": [{"a": 1}], "length": 3}),
        json!({}),
    ];
    let sources = [
        "={{ $json }}",
        "={{ $json.b }}",
        "={{ $json.body }}",
        "={{ $json.body.a }}",
        "={{ $json.body.name }}",
        "={{ $json.body.n }}",
        "={{ $json.body.n.x }}",
        "={{ $json.body.list }}",
        "={{ $json.body.list.length }}",
        "={{ $json.body.s.length }}",
        "={{ $json.body.length }}",
        "={{ $json.length }}",
        "={{ $json.missing }}",
        "={{ $json.missing.deeper }}",
        "={{ $json.b.c.d }}",
        "={{ $json.body.a + 1 }}",
        "={{ $json['body'].a }}",
    ];
    let mut applied_count = 0;
    for input in &inputs {
        for source in sources {
            let (direct, generic, applied) = both_ways(source, input);
            assert_eq!(direct, generic, "{source} on {input}");
            applied_count += usize::from(applied);
        }
    }
    // The direct read is taken for the object-only paths (not only the fallback).
    assert!(
        applied_count >= 20,
        "direct path applied {applied_count} times"
    );
}

#[test]
fn direct_json_path_leaves_non_objects_to_the_evaluator() {
    let input = json!({"body": "text", "list": [7]});
    for source in [
        "={{ $json.body.length }}",
        "={{ $json.list.length }}",
        "={{ $json.none.x }}",
    ] {
        let (direct, generic, applied) = both_ways(source, &input);
        assert!(!applied, "{source} must fall back");
        assert_eq!(direct, generic, "{source}");
    }
    assert_eq!(
        both_ways("={{ $json.body.length }}", &input).0,
        Some(json!(4))
    );
    assert_eq!(
        both_ways("={{ $json.none.x }}", &input).0,
        Some(json!(null))
    );
}

/// (direct-form answer, generic answer, whether the direct form applied) for `source`.
fn direct_form_both_ways(source: &str, input: &Json) -> (Option<Json>, Option<Json>, bool) {
    with_expression(source, input, |archived, _, _, scope| {
        let applied = match &archived.body {
            ArchivedBody::Single(segment) => super::direct::direct(&segment.expr, scope).is_some(),
            _ => false,
        };
        let direct = evaluate(archived, scope).ok().map(|v| v.to_json());
        let generic = evaluate_generic(archived, scope).ok().map(|v| v.to_json());
        (direct, generic, applied)
    })
}

#[test]
fn direct_arithmetic_and_object_literals_agree_with_the_evaluator() {
    let inputs = [
        json!({"body": {"a": 41, "name": "bench", "n": null, "s": "7"}, "b": 42, "z": 0}),
        json!({"body": {"a": "41", "name": 3}, "b": true}),
        json!({"body": "text", "b": null}),
        json!({}),
    ];
    let sources = [
        "={{ $json.body.a + 1 }}",
        "={{ 1 + $json.body.a }}",
        "={{ $json.body.a - $json.b }}",
        "={{ $json.body.a * 2 }}",
        "={{ $json.body.a / $json.z }}",
        "={{ $json.body.a % 5 }}",
        "={{ $json.body.a + 1 + 2 }}",
        "={{ $json.body.s + 1 }}",
        "={{ $json.body.n + 1 }}",
        "={{ $json.missing + 1 }}",
        "={{ $json.body.a ** 2 }}",
        "={{ $json.body.a < 2 }}",
        "={{ { \"a\": $json.body.a, \"name\": $json.body.name, \"b\": $json.b } }}",
        "={{ { a: $json.body.a, a: 2, c: \"x\", d: true, e: null } }}",
        "={{ { sum: $json.body.a + 1, inner: { b: $json.b } } }}",
        "={{ { missing: $json.missing, deep: $json.body.n } }}",
        "={{ { ...$json.body } }}",
        "={{ { [\"k\"]: 1 } }}",
        "={{ { len: $json.body.name.length } }}",
        "={{ {} }}",
        "={{ 42 }}",
        "={{ \"text\" }}",
    ];
    let mut applied_count = 0;
    for input in &inputs {
        for source in sources {
            let (direct, generic, applied) = direct_form_both_ways(source, input);
            assert_eq!(direct, generic, "{source} on {input}");
            applied_count += usize::from(applied);
        }
    }
    // Both the direct form and the fall-back are exercised.
    assert!(
        applied_count >= 24,
        "direct form applied {applied_count} times"
    );
    let reference = json!({"body": {"a": 41, "name": "bench"}, "b": 42});
    for (source, applies) in [
        ("={{ $json.body.a + 1 }}", true),
        (
            "={{ { \"a\": $json.body.a, \"name\": $json.body.name, \"b\": $json.b } }}",
            true,
        ),
        ("={{ $json.body.name + 1 }}", false),
        ("={{ { ...$json.body } }}", false),
        ("={{ $json.body.a ** 2 }}", false),
    ] {
        let (direct, generic, applied) = direct_form_both_ways(source, &reference);
        assert_eq!(applied, applies, "{source}");
        assert_eq!(direct, generic, "{source}");
    }
    assert_eq!(
        direct_form_both_ways("={{ $json.body.name + 1 }}", &reference).0,
        Some(json!("bench1"))
    );
}

/// `evaluate_direct` (the typed nodes' call, with the item's json in hand) answers what
/// the evaluator answers whenever it answers, and nothing for text, templates and the
/// expressions without a direct form.
#[test]
fn evaluate_direct_agrees_with_the_evaluator_on_the_item_json() {
    let inputs = [
        json!({"body": {"a": 41, "name": "bench"}, "b": 42}),
        json!({"body": {"a": "41"}, "b": null}),
        json!({"body": "text"}),
    ];
    let sources = [
        "={{ $json.body.a + 1 }}",
        "={{ $json.b }}",
        "={{ $json.body.name }}",
        "={{ $json.body.length }}",
        "={{ { \"a\": $json.body.a, \"name\": $json.body.name, \"b\": $json.b } }}",
        "={{ $json.body.a }} and text",
        "plain text",
        "={{ $json.body.a.toString() }}",
    ];
    let mut answered = 0;
    for input in &inputs {
        for source in sources {
            with_expression(source, input, |archived, arena, json, scope| {
                let generic = evaluate_generic(archived, scope).ok().map(|v| v.to_json());
                match super::evaluate_direct(archived, arena, json) {
                    Some(direct) => {
                        answered += 1;
                        assert_eq!(Some(direct.to_json()), generic, "{source} on {input}");
                    }
                    None => assert!(
                        !matches!(archived.body, ArchivedBody::Single(_))
                            || super::direct::direct(
                                match &archived.body {
                                    ArchivedBody::Single(segment) => &segment.expr,
                                    _ => unreachable!(),
                                },
                                scope
                            )
                            .is_none(),
                        "{source}: the scope's direct form answered, evaluate_direct did not"
                    ),
                }
            });
        }
    }
    assert!(answered >= 10, "evaluate_direct answered {answered} times");
}

/// `{}` from the direct form is a new object, as from the evaluator: two of them are not
/// the same address (`===` compares addresses).
#[test]
fn direct_empty_object_literals_have_addresses_of_their_own() {
    let compiled = compile("={{ {} }}").expect("expression compiles");
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&compiled).expect("archives");
    let archived = rkyv::access::<ArchivedCompiledExpression, rkyv::rancor::Error>(&bytes)
        .expect("valid archive");
    let arena = Bump::new();
    let first = super::evaluate_direct(archived, &arena, Value::EMPTY_OBJECT);
    let second = super::evaluate_direct(archived, &arena, Value::EMPTY_OBJECT);
    match (first, second) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            assert!(a.is_empty() && b.is_empty());
            assert!(
                !std::ptr::eq(a.as_ptr(), b.as_ptr()),
                "both `{{}}` share an address"
            );
        }
        other => panic!("direct form of `{{}}`: {other:?}"),
    }
}

/// `write_direct_json` writes byte for byte the JSON of the evaluator's answer, or
/// declines and leaves the buffer as it was.
#[test]
fn write_direct_json_writes_the_evaluators_answer() {
    let inputs = [
        json!({"body": {"a": 41, "name": "bench"}, "b": 42}),
        json!({"body": {"a": "x\"y", "name": null}, "b": [1, {"c": true}]}),
        json!({"body": {"name": "n"}}),
        json!({"body": 3, "b": {}}),
    ];
    let sources = [
        "={{ { \"a\": $json.body.a, \"name\": $json.body.name, \"b\": $json.b } }}",
        "={{ {} }}",
        "={{ { \"a\": $json.missing, \"b\": 1 } }}",
        "={{ { \"a\": 1, \"b\": 2, \"a\": 3 } }}",
        "={{ { \"k\\\"ey\": $json.body.a + 1, \"n\": { \"x\": $json.b } } }}",
        "={{ { [\"a\"]: 1 } }}",
        "={{ { \"a\": $json.body.a.length } }}",
        // Keys the plan renders with escapes; an undefined member first and in between.
        "={{ { \"m\": $json.missing, \"q\\\"b\\\\\": $json.b, \"t\\tn\\n\\u0001\": 1, \"x\": $json.nope, \"\u{e9}\": $json.body.name, \"\": 2 } }}",
        "={{ $json.body }}",
        "={{ [1, 2] }}",
    ];
    let mut written = 0;
    for input in &inputs {
        for source in sources {
            with_expression(source, input, |archived, arena, json, scope| {
                let label = format!("{source} on {input}");
                written += usize::from(writer_agrees(
                    archived, arena, json, scope, b"prefix", &label,
                ));
            });
        }
    }
    assert!(written >= 8, "write_direct_json wrote {written} times");
}

/// Keys of every length class the member search and the key writer distinguish (1-3, 4-8,
/// 9-16 and more bytes), unicode and escaped ones, missing ones, and non-objects on the
/// way: the direct forms answer as the evaluator, the writer writes the evaluator's JSON.
#[test]
fn direct_forms_agree_on_long_unicode_and_escaped_keys() {
    let inputs = [
        json!({
            "ab": {"abcd": 1, "abcdefgh": {"abcdefghi": "x\"y\n", "sixteen_bytes_16": [1, {"z": 2}]}},
            "héllo": {"seventeen_bytes17": 3.5, "wörld_wörld_wörld": "é😀"},
            "abc": null, "abcdefgi": 7, "sixteen_bytes_1x": 8
        }),
        json!({"ab": [1, 2], "héllo": "text", "abc": {"abc": {}}}),
        json!({"ab": {"abcd": "4", "abcdefgh": null}, "héllo": {"seventeen_bytes17": {}}}),
    ];
    let sources = [
        "={{ $json.ab.abcd }}",
        "={{ $json.ab.abcdefgh.abcdefghi }}",
        "={{ $json.ab.abcdefgh.sixteen_bytes_16 }}",
        "={{ $json.héllo.seventeen_bytes17 }}",
        "={{ $json.héllo.wörld_wörld_wörld }}",
        "={{ $json.héllo.seventeen_bytes17 + 1 }}",
        "={{ $json.abc.abc }}",
        "={{ $json.abcdefgi }}",
        "={{ $json.sixteen_bytes_1x }}",
        "={{ $json.ab.missing_key_longer_than_16 }}",
        "={{ $json.ab.abcd.more }}",
        "={{ { \"seventeen_bytes17\": $json.héllo.seventeen_bytes17, \"é😀\\\"\\\\\": $json.ab.abcd, \"k\": $json.héllo.wörld_wörld_wörld } }}",
        "={{ { \"a_key_longer_than_sixteen\": $json.ab.abcdefgh, \"ab\": $json.ab, \"x\": $json.abc } }}",
        "={{ { \"d\": 1, \"d\": $json.ab.abcd, \"é\": $json.abcdefgi } }}",
        "={{ { \"arr\": $json.ab.abcdefgh.sixteen_bytes_16, \"n\": $json.nope.x } }}",
    ];
    let mut answered = 0;
    let mut written = 0;
    for input in &inputs {
        for source in sources {
            let (direct, generic, applied) = direct_form_both_ways(source, input);
            assert_eq!(direct, generic, "{source} on {input}");
            answered += usize::from(applied);
            with_expression(source, input, |archived, arena, json, scope| {
                let label = format!("{source} on {input}");
                written += usize::from(writer_agrees(archived, arena, json, scope, b"[", &label));
            });
        }
    }
    assert!(answered >= 20, "direct forms answered {answered} times");
    assert!(written >= 4, "the writer wrote {written} times");
}

/// The one-frame forms of `direct_with_json` (a path, a number, a path or number `op` a
/// path or number) answer as the evaluator on numbers of every kind (negative, zero,
/// NaN and infinite results, large and fractional), on operands that are not numbers or
/// not there, and on non-objects along the path; the writer writes the same JSON.
#[test]
fn one_frame_forms_agree_with_the_evaluator_on_varied_numbers() {
    let inputs = [
        json!({"body": {"a": 41, "n": -7.5, "z": 0, "big": 1.0e308, "s": "3", "t": true, "e": "x\"\n\u{1}é"}, "b": 42, "z": 0}),
        json!({"body": {"a": -0.0, "n": 9007199254740993u64, "z": -0.0, "big": -1.0e308, "s": null}, "b": 1.0e-7}),
        json!({"body": {"a": [1, 2], "n": {"x": 1}, "z": "", "big": 123456.789}, "b": "42"}),
        json!({"body": 5, "b": null}),
        json!({"body": [41]}),
        json!([1, 2]),
    ];
    let sources = [
        "={{ $json.body.a }}",
        "={{ $json.body.a.x }}",
        "={{ $json.body.n + $json.body.a }}",
        "={{ $json.body.a - 1 }}",
        "={{ 2 - $json.body.n }}",
        "={{ $json.body.n * $json.body.big }}",
        "={{ $json.body.big * 10 }}",
        "={{ $json.body.z / $json.z }}",
        "={{ $json.body.a / $json.body.z }}",
        "={{ $json.body.n % 2 }}",
        "={{ -5 % $json.b }}",
        "={{ $json.body.a.x + 1 }}",
        "={{ $json.body.s + 1 }}",
        "={{ $json.body.t * 2 }}",
        "={{ $json.nope + $json.body.a }}",
        "={{ $json.body.a == 41 }}",
        "={{ $json.body.a > $json.b }}",
        "={{ $json.body.a ** 2 }}",
        "={{ 2 * 3 }}",
        "={{ 7 }}",
        "={{ { \"e\": $json.body.e, \"q\": $json.body.a / $json.body.z, \"big\": $json.body.big * 10 } }}",
        "={{ { \"m\": $json.missing } }}",
        "={{ { \"m\": $json.missing, \"n\": $json.body.n, \"o\": $json.nope } }}",
        "={{ { \"a,b\": $json.body, \"\": $json.b, \"x\": $json.body.a.x } }}",
    ];
    let mut answered = 0;
    for input in &inputs {
        for source in sources {
            with_expression(source, input, |archived, arena, json, scope| {
                let generic = evaluate_generic(archived, scope).ok().map(|v| v.to_json());
                if let Some(direct) = super::evaluate_direct(archived, arena, json) {
                    answered += 1;
                    assert_eq!(Some(direct.to_json()), generic, "{source} on {input}");
                }
                writer_agrees(
                    archived,
                    arena,
                    json,
                    scope,
                    b"{",
                    &format!("{source} on {input}"),
                );
            });
        }
    }
    assert!(answered >= 36, "the direct forms answered {answered} times");
}
