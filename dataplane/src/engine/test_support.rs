//! Test support: plans from small n8n workflow JSON, compiled by the codec's validating
//! compiler (the one source of plans: `linkflow run`, the data plane and the golden tests
//! use it too), and a fake expression evaluator, so engine and node tests need not run the
//! full expression engine.
//!
//! The fake evaluator understands `={{ $json.path }}`, `={{ $runIndex }}`,
//! `={{ $itemIndex }}` and `={{ $('Node').item.json.path }}`; anything else is an error.

use bumpalo::Bump;
use linkflow_codec::plan::{ArchivedPlan, PValue, Plan};
use linkflow_codec::{compile_workflow, CompileExportError, Export};

use super::execution::Services;
use super::node::{JsMode, JsOutput, NodeError};
use super::nodes::coerce::get_path;
use super::run_data::ExecView;
use super::value::Value;

/// Compiles a test workflow with the codec's compiler. A test workflow must be a valid n8n
/// workflow: when it is not, this panics listing every error the codec found (code, node,
/// path and why), so the test names what to fix.
pub fn plan_from_workflow(workflow: &serde_json::Value) -> Plan {
    match compile_workflow(Export::Json(workflow)) {
        Ok(compiled) => compiled.plan,
        Err(error @ CompileExportError::Import(_)) => {
            panic!("the test workflow does not import: {error}")
        }
        Err(error) => panic!(
            "the test workflow does not compile:\n{}",
            error.one_per_line()
        ),
    }
}

/// Sets parameter `key` of node `node` in a compiled plan to the plain string `value`.
///
/// Why: the engine keeps runtime checks for parameters the codec refuses (a plan from an
/// older or another compiler may hold them); tests reach those checks by editing a plan
/// compiled from a valid workflow, never by skipping validation.
pub fn set_param(plan: &mut Plan, node: &str, key: &str, value: &str) {
    let node = plan
        .nodes
        .iter_mut()
        .find(|n| n.name == node)
        .unwrap_or_else(|| panic!("no node {node:?} in the plan"));
    let PValue::Object { keys, values } = &mut node.params else {
        panic!("the parameters of {:?} are not an object", node.name);
    };
    let value = PValue::String(value.to_owned());
    match keys.iter().position(|k| k == key) {
        Some(at) => values[at] = value,
        None => {
            keys.push(key.to_owned());
            values.push(value);
        }
    }
}

/// Serialises a plan into aligned bytes that can be accessed as an [`ArchivedPlan`].
pub fn archive(plan: &Plan) -> rkyv::util::AlignedVec {
    linkflow_codec::envelope::archive(plan)
}

/// Accesses archived plan bytes (validated: tests may hand in any bytes).
pub fn access(bytes: &[u8]) -> &ArchivedPlan {
    rkyv::access::<ArchivedPlan, rkyv::rancor::Error>(bytes).expect("plan bytes are valid")
}

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
