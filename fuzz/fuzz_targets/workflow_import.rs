//! Fuzz target: n8n workflow import (`codec::model::import`) and everything after it.
//!
//! Properties checked for any input bytes:
//! - import, validation and compilation return values, never panic or hang;
//! - an imported document round-trips: import -> export -> import gives the same export;
//! - a workflow that compiles seals to bytes that `envelope::open` accepts, and compiling
//!   it again yields the same bytes (plans are content-addressed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkflow_codec::{envelope, model, plan::compiler, validate};

fuzz_target!(|data: &[u8]| {
    let Ok(document) = model::import(data) else {
        return;
    };
    let exported = model::export(&document);
    let bytes = serde_json::to_vec(&exported).expect("an exported document serialises");
    let again = model::import(&bytes).expect("an exported document imports again");
    assert_eq!(
        exported,
        model::export(&again),
        "import -> export -> import changed the document"
    );

    let _ = validate::validate(&document.workflow, validate::Stage::Import);
    let Ok(compiled) = compiler::compile(&document.workflow) else {
        return;
    };
    let (sealed, plan_id) = envelope::seal(&compiled.plan);
    envelope::open(&sealed).expect("a freshly sealed plan opens");
    assert_eq!(envelope::plan_id(&sealed).as_deref(), Ok(plan_id.as_str()));
    let recompiled =
        compiler::compile(&again.workflow).expect("the round-tripped workflow compiles");
    let (resealed, _) = envelope::seal(&recompiled.plan);
    assert_eq!(
        &sealed[..],
        &resealed[..],
        "the same workflow sealed to different bytes"
    );
});
