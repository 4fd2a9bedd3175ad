//! Differential property test: generated expressions over generated JSON, evaluated by
//! the fast evaluator ([`crate::engine::expr::evaluate`]) and by JavaScript
//! ([`JsRuntime::eval_template`]). Where the codec sends an expression to the fast path,
//! both must print the same JSON (or both fail).
//!
//! The generator is a small deterministic one (xorshift, fixed seeds) so a failure
//! reproduces exactly and the test needs no extra dependency.

use bumpalo::Bump;
use linkflow_codec::expr::{compile, ArchivedCompiledExpression};

use super::JsRuntime;
use crate::engine::expr::evaluate;
use crate::engine::expr::mock::MockScope;
use crate::engine::item::Item;
use crate::engine::value::Value;

/// Expressions generated per seed.
const CASES_PER_SEED: usize = 400;
/// Seeds run (each with fresh input data every few cases).
const SEEDS: [u64; 3] = [0x5eed_0001, 0x5eed_0002, 0x00c0_ffee];
/// Nesting of generated expressions.
const EXPR_DEPTH_MAX: u32 = 3;

/// Constructs where the fast evaluator is known to differ from JavaScript; cases using
/// them are counted but not compared (reported to the expression evaluator's owner):
/// - `split('')` splits by Unicode scalar in the fast path, by UTF-16 unit in JavaScript.
const KNOWN_DIVERGENCES: [&str; 1] = ["split('')"];

/// xorshift64*: deterministic, good enough to spread choices.
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'t>(&mut self, items: &[&'t str]) -> &'t str {
        items[self.below(items.len())]
    }
}

const KEYS: [&str; 6] = ["a", "b", "s", "n", "arr", "obj"];
const STRINGS: [&str; 8] = ["", "x", "Abc", "é😀", "10", "a b", "-0", "true"];
const NUMBERS: [&str; 9] = ["0", "1", "-1", "2.5", "-0", "1e21", "0.1", "7", "100"];

/// A random JSON value (bounded depth), as JSON text.
pub(crate) fn json_value(rng: &mut Rng, depth: u32) -> String {
    let kinds = if depth == 0 { 4 } else { 6 };
    match rng.below(kinds) {
        0 => rng.pick(&["null", "true", "false"]).to_owned(),
        1 => rng.pick(&NUMBERS).replace("-0", "-0.0"),
        2 | 3 => serde_json::Value::String(rng.pick(&STRINGS).to_owned()).to_string(),
        4 => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n).map(|_| json_value(rng, depth - 1)).collect();
            format!("[{}]", items.join(","))
        }
        _ => json_object(rng, depth - 1),
    }
}

fn json_object(rng: &mut Rng, depth: u32) -> String {
    let mut members = Vec::new();
    for key in KEYS {
        if rng.below(4) > 0 {
            members.push(format!("\"{key}\":{}", json_value(rng, depth)));
        }
    }
    format!("{{{}}}", members.join(","))
}

fn atom(rng: &mut Rng) -> String {
    let key = rng.pick(&KEYS);
    let other = rng.pick(&KEYS);
    let index = rng.pick(&[
        "0",
        "1",
        "2",
        "'0'",
        "'1'",
        "'01'",
        "-1",
        "1.5",
        "$itemIndex",
    ]);
    match rng.below(16) {
        0 => format!("$json.{key}"),
        1 => format!("$json.{key}.{other}"),
        2 => format!("$json[\"{key}\"]"),
        3 => format!("$json.{key}[{}]", rng.below(3)),
        4 => rng.pick(&NUMBERS).to_owned(),
        5 => format!("'{}'", rng.pick(&STRINGS)),
        6 => rng.pick(&["true", "false", "null"]).to_owned(),
        7 => "$itemIndex".to_owned(),
        8 => "$input.all().length".to_owned(),
        9 => format!("$input.first().json.{key}"),
        10 => format!("$json.{key}?.length"),
        // Legacy item accessors over the input and over node "Read" (1–3 items).
        12 => format!("$item({index}).$json.{key}"),
        13 => format!("$item({index}).$node[\"Read\"].json.{key}"),
        14 => format!(
            "$item({index}, {}).$node.Read.{}",
            rng.pick(&["0", "-1"]),
            rng.pick(&["json", "binary"])
        ),
        15 => rng
            .pick(&[
                "$node[\"Read\"].json",
                "$item(1).$itemIndex",
                "$node.Read.binary",
            ])
            .to_owned(),
        _ => format!("$json.{key}"),
    }
}

/// A random expression over `$json` (bounded depth).
pub(crate) fn expression(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 {
        return atom(rng);
    }
    let a = expression(rng, depth - 1);
    match rng.below(14) {
        0 | 1 => atom(rng),
        2 | 3 => {
            let op = rng.pick(&[
                "+", "-", "*", "/", "%", "===", "!==", "==", "!=", "<", "<=", ">", ">=", "&&",
                "||", "??",
            ]);
            format!("({a} {op} {})", expression(rng, depth - 1))
        }
        4 => format!("{}({a})", rng.pick(&["!", "-", "typeof "])),
        5 => format!("({a} ? {} : {})", expression(rng, depth - 1), atom(rng)),
        6 => format!(
            "{}({a})",
            rng.pick(&["String", "Number", "Boolean", "JSON.stringify"])
        ),
        7 => format!(
            "String({a}).{}",
            rng.pick(&[
                "toUpperCase()",
                "toLowerCase()",
                "length",
                "trim()",
                "includes('a')",
                "split('').length",
                "slice(1)",
                "startsWith('A')",
            ])
        ),
        8 => format!("Math.{}({a})", rng.pick(&["round", "floor", "abs", "ceil"])),
        9 => format!("[{a}, {}].join('-')", atom(rng)),
        10 => format!(
            "$json.arr.{}",
            rng.pick(&[
                "length",
                "first()",
                "last()",
                "isEmpty()",
                "join(',')",
                "includes(1)"
            ])
        ),
        11 => format!("Object.keys($json).{}", rng.pick(&["length", "join('|')"])),
        12 => format!("`t${{{a}}}`"),
        _ => a,
    }
}

/// A template: one segment (keeps its type) or text around segments.
pub(crate) fn template(rng: &mut Rng) -> String {
    let e = expression(rng, EXPR_DEPTH_MAX);
    match rng.below(4) {
        0 => format!("pre {{{{ {e} }}}} post {{{{ {} }}}}", expression(rng, 1)),
        _ => format!("{{{{ {e} }}}}"),
    }
}

fn printed(value: Value<'_>) -> String {
    let mut out = Vec::new();
    value.write_json(&mut out);
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn fast_path_and_javascript_agree_on_generated_expressions() {
    let mut rt = JsRuntime::new().expect("runtime");
    let mut compared = 0;
    let mut skipped = 0;
    let mut mismatches = Vec::new();
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        let arena = Bump::new();
        let mut input_text = String::new();
        let mut scope = MockScope::new(&arena);
        for case in 0..CASES_PER_SEED {
            if case % 20 == 0 {
                input_text = format!(
                    "[{},{}]",
                    json_object(&mut rng, 2),
                    json_object(&mut rng, 1)
                );
                let parsed = serde_json::from_str::<serde_json::Value>(&input_text).expect("json");
                let items = Value::from_json(&arena, &parsed);
                let items = items.as_array().expect("array");
                scope.input = arena.alloc_slice_fill_iter(items.iter().map(|v| Item::new(*v)));
                let read: Vec<String> = (0..1 + rng.below(3))
                    .map(|_| json_object(&mut rng, 1))
                    .collect();
                let parsed: serde_json::Value =
                    serde_json::from_str(&format!("[{}]", read.join(","))).expect("json");
                let read = Value::from_json(&arena, &parsed);
                let read = read.as_array().expect("array");
                let read = arena.alloc_slice_fill_iter(read.iter().map(|v| Item::new(*v)));
                scope.nodes = vec![("Read", Some(&*read))];
                scope.item_index = rng.below(2);
            }
            let source = format!("={}", template(&mut rng));
            let Ok(compiled) = compile(&source) else {
                continue;
            };
            if !compiled.fast {
                continue;
            }
            if KNOWN_DIVERGENCES
                .iter()
                .any(|marker| source.contains(marker))
            {
                skipped += 1;
                continue;
            }
            let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&compiled).expect("archives");
            let archived = rkyv::access::<ArchivedCompiledExpression, rkyv::rancor::Error>(&bytes)
                .expect("archive");
            let fast = evaluate(archived, &scope).map(printed);
            let js = rt.eval_template(&scope, &source[1..]).map(printed);
            compared += 1;
            let agree = match (&fast, &js) {
                (Ok(a), Ok(b)) => a == b,
                (Err(_), Err(_)) => true,
                _ => false,
            };
            if !agree {
                mismatches.push(format!(
                    "{source}\n  input {input_text}\n  fast {fast:?}\n  js   {js:?}"
                ));
            }
        }
    }
    assert!(
        compared > 200,
        "too few fast-path expressions compared: {compared} ({skipped} skipped)"
    );
    assert!(
        mismatches.is_empty(),
        "{} of {compared} differ:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn generator_is_deterministic() {
    let run = |seed| {
        let mut rng = Rng::new(seed);
        (0..20).map(|_| template(&mut rng)).collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}
