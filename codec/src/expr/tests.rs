//! Parser and classifier tests.

use super::ast::{BinaryOp, Expr, LogicalOp, Root};
use super::*;

fn single(source: &str) -> Expr {
    match compile(source).expect("compiles").body {
        Body::Single(segment) => segment.expr,
        other => panic!("expected a single segment, got {other:?}"),
    }
}

fn path(source: &str) -> ExprPath {
    compile(source).expect("compiles").path()
}

#[test]
fn json_path_compiles_to_one_path_node() {
    assert_eq!(
        single("={{ $json.body.a }}"),
        Expr::Path {
            root: Root::Json,
            keys: vec!["body".into(), "a".into()]
        }
    );
}

#[test]
fn addition_binds_looser_than_multiplication() {
    let e = single("={{ 1 + 2 * 3 }}");
    let Expr::Binary {
        op: BinaryOp::Add,
        right,
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    assert!(matches!(
        *right,
        Expr::Binary {
            op: BinaryOp::Mul,
            ..
        }
    ));
}

#[test]
fn exponent_is_right_associative() {
    let e = single("={{ 2 ** 3 ** 2 }}");
    let Expr::Binary {
        op: BinaryOp::Pow,
        left,
        right,
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(*left, Expr::Number(2.0));
    assert!(matches!(
        *right,
        Expr::Binary {
            op: BinaryOp::Pow,
            ..
        }
    ));
}

#[test]
fn subtraction_is_left_associative() {
    let e = single("={{ 5 - 2 - 1 }}");
    let Expr::Binary {
        op: BinaryOp::Sub,
        left,
        right,
    } = e
    else {
        panic!("{e:?}")
    };
    assert!(matches!(
        *left,
        Expr::Binary {
            op: BinaryOp::Sub,
            ..
        }
    ));
    assert_eq!(*right, Expr::Number(1.0));
}

#[test]
fn text_without_braces_is_plain_text() {
    assert_eq!(
        compile("=just text").unwrap().body,
        Body::Text("just text".into())
    );
    assert_eq!(compile("plain").unwrap().body, Body::Text("plain".into()));
}

#[test]
fn mixed_text_and_segments_become_parts() {
    let body = compile("=a{{ 1 + 1 }}b{{ 'c' }}").unwrap().body;
    let Body::Parts(parts) = body else { panic!() };
    assert_eq!(parts.len(), 4);
    assert_eq!(parts[0], Part::Text("a".into()));
    assert!(matches!(&parts[1], Part::Code(s) if s.code == " 1 + 1 "));
}

#[test]
fn braces_inside_object_literals_and_strings_do_not_close_a_segment() {
    let e = single(r#"={{ {"a":{"b":1}} }}"#);
    assert!(matches!(e, Expr::Object { .. }));
    assert_eq!(single("={{ 'x}}y' }}"), Expr::String("x}}y".into()));
}

#[test]
fn empty_segment_is_undefined() {
    assert_eq!(single("={{ }}"), Expr::Undefined);
}

#[test]
fn unclosed_double_brace_stays_text() {
    assert_eq!(
        compile("=a {{ b").unwrap().body,
        Body::Text("a {{ b".into())
    );
}

#[test]
fn number_literals_in_every_radix() {
    assert_eq!(single("={{ 0x1F }}"), Expr::Number(31.0));
    assert_eq!(single("={{ 0b101 }}"), Expr::Number(5.0));
    assert_eq!(single("={{ 0o17 }}"), Expr::Number(15.0));
    assert_eq!(single("={{ 1.5e3 }}"), Expr::Number(1500.0));
    assert_eq!(single("={{ .5 }}"), Expr::Number(0.5));
    assert_eq!(single("={{ 1_000 }}"), Expr::Number(1000.0));
}

#[test]
fn string_escapes_resolve() {
    assert_eq!(
        single(r#"={{ "a\n\t\u00e9\x41\u{1F600}" }}"#),
        Expr::String("a\n\té\u{41}😀".into())
    );
    assert_eq!(
        single(r#"={{ '\uD83D\uDE00' }}"#),
        Expr::String("😀".into())
    );
}

#[test]
fn template_literal_with_substitutions() {
    let e = single("={{ `a${ $json.x }b` }}");
    let Expr::Template(parts) = e else { panic!() };
    assert_eq!(parts.len(), 3);
}

#[test]
fn regex_literal_versus_division() {
    assert!(matches!(
        single(r"={{ 'a'.replace(/\s+/g, '_') }}"),
        Expr::Method { .. }
    ));
    assert!(matches!(
        single("={{ 4 / 2 / 1 }}"),
        Expr::Binary {
            op: BinaryOp::Div,
            ..
        }
    ));
}

#[test]
fn optional_chain_is_wrapped_once() {
    let e = single("={{ $json.a?.b?.c ?? 'x' }}");
    let Expr::Logical {
        op: LogicalOp::Nullish,
        left,
        ..
    } = e
    else {
        panic!()
    };
    assert!(matches!(*left, Expr::Chain(_)));
}

#[test]
fn arrow_parameters_become_local_slots() {
    let e = single("={{ $json.a.map(x => x.b).filter((y, i) => i > 0) }}");
    let Expr::Method { args, .. } = e else {
        panic!()
    };
    let Expr::Arrow {
        params: 2,
        first_slot: 0,
        body,
    } = &args[0]
    else {
        panic!("{args:?}")
    };
    assert!(matches!(body.as_ref(), Expr::Binary { .. }));
}

#[test]
fn block_arrow_with_single_return_stays_fast() {
    assert_eq!(
        path("={{ [1].map(x => { return x + 1; }) }}"),
        ExprPath::Fast
    );
    assert_eq!(
        path("={{ [1].map(x => { const y = x; return y; }) }}"),
        ExprPath::Js
    );
}

#[test]
fn node_reference_forms_are_fast() {
    assert_eq!(path("={{ $('Items').item.json.name }}"), ExprPath::Fast);
    assert_eq!(path("={{ $node[\"Webhook\"].json.body }}"), ExprPath::Fast);
    assert_eq!(
        path("={{ $input.all().map(i => i.json.name).join('|') }}"),
        ExprPath::Fast
    );
}

#[test]
fn unknown_methods_and_identifiers_go_to_javascript() {
    let c = compile("={{ $json.a.someOddMethod() }}").unwrap();
    assert_eq!(c.path(), ExprPath::Js);
    assert_eq!(c.js_reasons, vec!["method .someOddMethod()".to_owned()]);
    assert_eq!(path("={{ foo + 1 }}"), ExprPath::Js);
    assert_eq!(path("={{ function(){ return 1 }() }}"), ExprPath::Js);
    assert_eq!(path("={{ Math.random() }}"), ExprPath::Js);
    assert_eq!(path("={{ $jmespath($json, 'a.b') }}"), ExprPath::Js);
}

#[test]
fn node_and_input_properties_without_fast_support_go_to_javascript() {
    assert_eq!(path("={{ $node['X'].parameter.url }}"), ExprPath::Js);
    assert_eq!(path("={{ $node.X.parameter.url }}"), ExprPath::Js);
    assert_eq!(path("={{ $('X').params.url }}"), ExprPath::Js);
    assert_eq!(path("={{ $input.params }}"), ExprPath::Js);
    assert_eq!(path("={{ $execution.customData }}"), ExprPath::Js);
    assert_eq!(
        path("={{ $node.X.json.a + $('X').item.json.b + $input.item.json.c }}"),
        ExprPath::Fast
    );
}

#[test]
fn legacy_item_function_reads_are_fast_and_the_rest_goes_to_javascript() {
    assert_eq!(path("={{ $item(0).$json.name }}"), ExprPath::Fast);
    assert_eq!(
        path("={{ $item(\"0\").$node[\"Read\"].json.a }}"),
        ExprPath::Fast
    );
    assert_eq!(path("={{ $item(1, 0).$node.Read.binary }}"), ExprPath::Fast);
    assert_eq!(path("={{ $item($itemIndex).$itemIndex }}"), ExprPath::Fast);
    // The proxies themselves, their other members and methods: JavaScript.
    assert_eq!(path("={{ $item(0) }}"), ExprPath::Js);
    assert_eq!(path("={{ $item(0).$node }}"), ExprPath::Js);
    assert_eq!(path("={{ $item(0).$node.Read }}"), ExprPath::Js);
    assert_eq!(path("={{ $item(0).$node.Read.parameter }}"), ExprPath::Js);
    assert_eq!(path("={{ $item(0).$node.Read.first() }}"), ExprPath::Js);
    assert_eq!(path("={{ $item(0).$workflow.id }}"), ExprPath::Js);
    assert_eq!(path("={{ $item(0)['$json'] }}"), ExprPath::Js);
    assert_eq!(path("={{ $item }}"), ExprPath::Js);
    // Arguments are classified too.
    assert_eq!(
        path("={{ $item($json.a.oddMethod()).$json }}"),
        ExprPath::Js
    );
}

#[test]
fn from_ai_is_unsupported() {
    let c = compile("={{ $fromAI('email', 'the address') }}").unwrap();
    assert_eq!(
        c.unsupported_features(),
        vec!["$fromAI (AI agent tools only)".to_owned()]
    );
    assert_eq!(c.path(), ExprPath::Js);
}

#[test]
fn missing_operand_is_a_syntax_error_with_offset() {
    let err = compile("={{ $json.body.a + }}").unwrap_err();
    assert_eq!(err.code, CODE_SYNTAX);
    assert_eq!(err.offset, 19);
}

#[test]
fn unterminated_string_is_reported() {
    assert_eq!(compile("={{ 'abc }}").unwrap_err().code, CODE_UNTERMINATED);
}

#[test]
fn unbalanced_bracket_is_a_syntax_error() {
    assert_eq!(compile("={{ (1 + 2 }}").unwrap_err().code, CODE_SYNTAX);
    assert_eq!(compile("={{ 1 + 2) }}").unwrap_err().code, CODE_SYNTAX);
}

#[test]
fn deep_nesting_is_rejected_without_overflow() {
    let source = format!("={{{{ {}1{} }}}}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(compile(&source).unwrap_err().code, CODE_NESTING);
    let source = format!("={{{{ {}1 }}}}", "-".repeat(10_000));
    assert_eq!(compile(&source).unwrap_err().code, CODE_NESTING);
}

#[test]
fn statements_go_to_javascript() {
    assert_eq!(path("={{ const a = 1; a }}"), ExprPath::Js);
    assert_eq!(path("={{ $json.a = 1 }}"), ExprPath::Js);
}

#[test]
fn object_literal_with_spread_shorthand_and_trailing_comma() {
    let e = single("={{ { ...$json, a: 1, 'b c': 2, } }}");
    let Expr::Object { keys, values } = e else {
        panic!()
    };
    assert_eq!(keys.len(), 3);
    assert_eq!(values.len(), 3);
}

#[test]
fn invalid_expression_keeps_the_error_for_run_time() {
    let err = compile("={{ 1 + }}").unwrap_err();
    let c = CompiledExpression::invalid("={{ 1 + }}", &err);
    assert!(matches!(c.body, Body::Invalid(ref i) if i.code == CODE_SYNTAX));
}

#[test]
fn compiled_expression_round_trips_through_rkyv() {
    let c =
        compile("={{ $json.a.map(x => x * 2).join(', ') }} and {{ /a+/gi.test('x') }}").unwrap();
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&c).unwrap();
    let archived = rkyv::access::<ArchivedCompiledExpression, rkyv::rancor::Error>(&bytes).unwrap();
    let back: CompiledExpression = rkyv::deserialize::<_, rkyv::rancor::Error>(archived).unwrap();
    assert_eq!(back, c);
}

#[test]
fn hostile_inputs_never_panic() {
    for s in [
        "={{",
        "={{}}",
        "={{ `",
        "={{ `${",
        "={{ /",
        "={{ ]}}",
        "={{ {}}}",
        "={{ a?.}}",
        "={{ 1..x }}",
        "={{ '\\",
        "={{ \u{0}é }}",
        "={{ x => }}",
        "={{ (a, b) => }}",
        "={{ new }}",
    ] {
        let _ = compile(s);
    }
}

/// Every `=`-string of the corpus (../shared/corpus relative to the workspace): none may
/// panic; prints the fast share, the syntax errors and the top reasons for JavaScript.
/// Run with `cargo test -p linkflow-codec corpus_expressions -- --ignored --nocapture`.
#[test]
#[ignore = "reads the shared corpus; run on demand"]
fn corpus_expressions() {
    use std::collections::HashMap;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/n8n-workflows");
    let mut files = Vec::new();
    let mut pending = vec![dir];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if s.starts_with('=') => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut sources = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        for node in json["nodes"].as_array().into_iter().flatten() {
            walk(&node["parameters"], &mut sources);
        }
    }
    let (mut fast, mut errors) = (0, Vec::new());
    let mut reasons: HashMap<String, usize> = HashMap::new();
    for s in &sources {
        match compile(s) {
            Ok(c) if c.fast => fast += 1,
            Ok(c) => {
                for r in c.js_reasons.iter().chain(c.unsupported.iter()) {
                    *reasons.entry(r.clone()).or_default() += 1;
                }
            }
            Err(e) => errors.push((e, s.clone())),
        }
    }
    let mut top: Vec<_> = reasons.into_iter().collect();
    top.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    println!(
        "expressions: {}, fast: {fast}, syntax errors: {}",
        sources.len(),
        errors.len()
    );
    for (reason, count) in top.iter().take(40) {
        println!("  {count:6} {reason}");
    }
    for (e, s) in errors.iter().take(60) {
        let at = e.offset.min(s.len());
        let from = s.floor_char_boundary(at.saturating_sub(40));
        let to = s.ceil_char_boundary((at + 40).min(s.len()));
        println!("ERR {e} :: {:?}", &s[from..to]);
    }
}
