//! Fuzz target: the expression front end (`codec::expr::compile`): template splitting,
//! lexer, parser and fast-path/JavaScript classification.
//!
//! The input is used twice: as a whole parameter string (which may or may not start with
//! `=` and contain `{{ }}`), and wrapped as `={{ INPUT }}` so that every input reaches the
//! JavaScript-subset parser. Properties: no panic, no hang (nesting and length are bounded),
//! compiling is deterministic, a syntax error points inside the source, and a compiled
//! expression survives the rkyv round trip a plan puts it through.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkflow_codec::expr::{self, CompiledExpression};

fuzz_target!(|data: &[u8]| {
    // n8n parameters are JSON strings, so always valid UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check(text);
    check(&format!("={{{{ {text} }}}}"));
});

fn check(source: &str) {
    match expr::compile(source) {
        Ok(compiled) => {
            assert_eq!(compiled.source, source);
            let _ = compiled.path();
            let _ = compiled.unsupported_features();
            assert_eq!(
                Ok(&compiled),
                expr::compile(source).as_ref(),
                "compile is not deterministic"
            );
            let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&compiled).expect("serialise");
            let back = rkyv::from_bytes::<CompiledExpression, rkyv::rancor::Error>(&bytes)
                .expect("a serialised expression validates and deserialises");
            assert_eq!(back, compiled, "rkyv round trip changed the expression");
        }
        Err(error) => {
            assert!(
                error.code.starts_with("LF-EXPR-"),
                "unexpected code {}",
                error.code
            );
            if error.code != expr::CODE_TOO_LONG {
                assert!(error.offset <= source.len(), "error offset past the source");
            }
            let kept = CompiledExpression::invalid(source, &error);
            assert_eq!(kept.source, source);
        }
    }
}
