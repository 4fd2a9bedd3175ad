//! Test support: plans from small n8n workflow JSON (see [`super::quick_plan`]) and a fake
//! expression evaluator, so engine and node tests need neither the codec's plan compiler
//! nor the full expression engine.
//!
//! The fake evaluator understands `={{ $json.path }}`, `={{ $runIndex }}`,
//! `={{ $itemIndex }}` and `={{ $('Node').item.json.path }}`; anything else is an error.

pub use super::quick_plan::{access, archive, plan_from_workflow};
use bumpalo::Bump;

use super::execution::Services;
use super::node::{JsMode, JsOutput, NodeError};
use super::nodes::coerce::get_path;
use super::run_data::ExecView;
use super::value::Value;

/// A fake [`Services`]: simple `$json` paths, `$runIndex`, `$itemIndex` and
/// `$('Node').item.json` paths; a fixed clock.
pub struct FakeServices {
    /// What `now_ms` answers.
    pub now_ms: i64,
}

impl<'a> Services<'a> for FakeServices {
    fn eval_expr(
        &mut self,
        view: &ExecView<'a, '_>,
        expr: u32,
        item: usize,
    ) -> Result<Value<'a>, NodeError> {
        let source = view.plan.expressions[expr as usize].source.as_str();
        let inner = source
            .strip_prefix("={{")
            .and_then(|s| s.strip_suffix("}}"))
            .map(str::trim)
            .ok_or_else(|| {
                NodeError::new("LF-TEST-001", format!("fake evaluator cannot run {source}"))
            })?;
        if inner == "$runIndex" {
            return Ok(Value::Number(f64::from(view.run_index)));
        }
        if inner == "$itemIndex" {
            return Ok(Value::Number(item as f64));
        }
        if let Some(path) = inner.strip_prefix("$json") {
            let json = view
                .input_items()
                .get(item)
                .map_or(Value::Undefined, |i| i.json);
            return Ok(if path.is_empty() {
                json
            } else {
                get_path(json, path.trim_start_matches('.'))
            });
        }
        if let Some(rest) = inner.strip_prefix("$('") {
            let (name, path) = rest
                .split_once("').item.json")
                .ok_or_else(|| NodeError::new("LF-TEST-001", "unsupported"))?;
            let found = view
                .paired_item(name, item)
                .map_err(|e| NodeError::new("LF-TEST-002", e.message()))?;
            return Ok(get_path(found.json, path.trim_start_matches('.')));
        }
        Err(NodeError::new(
            "LF-TEST-001",
            format!("fake evaluator cannot run {source}"),
        ))
    }

    fn run_js(
        &mut self,
        _: &ExecView<'a, '_>,
        _: &str,
        _: JsMode,
        _: usize,
    ) -> Result<JsOutput<'a>, NodeError> {
        Err(NodeError::new("LF-TEST-003", "no JavaScript in unit tests"))
    }

    fn now_ms(&mut self) -> i64 {
        self.now_ms
    }
}

/// Parses JSON text into an arena value.
pub fn json_value<'a>(arena: &'a Bump, text: &str) -> Value<'a> {
    Value::from_json(arena, &serde_json::from_str(text).expect("test JSON"))
}
