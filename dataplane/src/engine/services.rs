//! The production [`Services`]: expressions through the fast evaluator when the codec
//! classified them so, else through the embedded JavaScript engine; node JavaScript
//! through the same runtime; the wall clock from the caller.

use linkflow_codec::expr::ArchivedBody;

use super::credentials::{Credential, CredentialSource};
use super::execution::Services;
use super::js::{JsError, JsLimits, JsRuntime};
use super::limits::Limits;
use super::node::{JsMode, JsOutput, NodeError};
use super::run_data::ExecView;
use super::scope::ItemScope;
use super::value::Value;

/// Error code: an expression needs JavaScript but the services have no runtime.
pub const CODE_NO_JS: &str = "LF-ENGINE-060";
/// Error code: the expression did not parse (n8n fails the node with "invalid syntax").
pub const CODE_SYNTAX: &str = "LF-ENGINE-061";

/// Expression and JavaScript services of one execution (or of a shard, reused).
pub struct EngineServices<'c> {
    js: Option<JsRuntime>,
    clock: Clock<'c>,
    credentials: Option<Box<dyn CredentialSource + 'c>>,
}

/// Where the wall-time limit reads the time.
enum Clock<'c> {
    /// Always this instant (one-shot runs, benchmarks): no boxed closure to allocate.
    Fixed(i64),
    /// The caller's clock.
    Custom(Box<dyn FnMut() -> i64 + 'c>),
}

impl<'c> EngineServices<'c> {
    /// Services with a JavaScript runtime and a fixed clock at `now_ms` (the wall-time
    /// limit then never trips: for one-shot runs and tests).
    pub fn with_js(now_ms: i64) -> Result<Self, JsError> {
        Self::with_js_limits(now_ms, &Limits::default())
    }

    /// Services with a JavaScript runtime bounded by the execution limits
    /// `js_memory_bytes` and `js_time_ms` (the passthrough of [`Limits`] to QuickJS).
    pub fn with_js_limits(now_ms: i64, limits: &Limits) -> Result<Self, JsError> {
        let js_limits = JsLimits {
            memory_bytes: limits.js_memory_bytes,
            deadline_ms: limits.js_time_ms,
            ..JsLimits::default()
        };
        Ok(EngineServices {
            js: Some(JsRuntime::with_limits(js_limits)?),
            clock: Clock::Fixed(now_ms),
            credentials: None,
        })
    }

    /// Services without JavaScript: expressions the codec classified for JavaScript and
    /// Code nodes fail with [`CODE_NO_JS`]. The fast path of benchmarks and shards that
    /// run JS-free plans.
    pub fn fast_only(now_ms: i64) -> Self {
        EngineServices {
            js: None,
            clock: Clock::Fixed(now_ms),
            credentials: None,
        }
    }

    /// Replaces the clock the wall-time limit reads (Unix epoch milliseconds).
    pub fn with_clock(mut self, clock: impl FnMut() -> i64 + 'c) -> Self {
        self.clock = Clock::Custom(Box::new(clock));
        self
    }

    /// Hands nodes the credentials of `source` (by default they get none).
    pub fn with_credentials(mut self, source: Box<dyn CredentialSource + 'c>) -> Self {
        self.credentials = Some(source);
        self
    }

    /// Gives back the JavaScript runtime (to reuse it for the next execution).
    pub fn into_js(self) -> Option<JsRuntime> {
        self.js
    }

    /// Services around an existing runtime.
    pub fn from_runtime(js: JsRuntime, now_ms: i64) -> Self {
        EngineServices {
            js: Some(js),
            clock: Clock::Fixed(now_ms),
            credentials: None,
        }
    }
}

fn expression_error(error: JsError) -> NodeError {
    let mut node_error = NodeError::new(error.code(), error.message);
    if let Some(description) = error.description {
        node_error = node_error.with_description(description);
    }
    node_error
}

impl<'a> Services<'a> for EngineServices<'_> {
    fn eval_expr(
        &mut self,
        view: &ExecView<'a, '_>,
        expr: u32,
        item: usize,
    ) -> Result<Value<'a>, NodeError> {
        let compiled = &view.plan.expressions[expr as usize];
        if let ArchivedBody::Invalid(_) = compiled.body {
            return Err(NodeError::new(CODE_SYNTAX, "invalid syntax"));
        }
        let scope = ItemScope {
            view,
            item,
            keys: &[],
        };
        if compiled.fast {
            match super::expr::evaluate(compiled, &scope) {
                // The fast path met a case it does not cover at run time (e.g. a locale
                // argument): JavaScript evaluates the same expression from the start.
                Err(e) if e.code == super::expr::CODE_NOT_FAST => {}
                other => return other.map_err(|e| NodeError::new(e.code, e.message)),
            }
        }
        let source = compiled.source.as_str();
        let template = source.strip_prefix('=').unwrap_or(source);
        match &mut self.js {
            Some(js) => js.eval_template(&scope, template).map_err(expression_error),
            None => Err(NodeError::new(
                CODE_NO_JS,
                format!("{CODE_NO_JS}: expression needs JavaScript: {source}"),
            )),
        }
    }

    fn run_js(
        &mut self,
        view: &ExecView<'a, '_>,
        code: &str,
        mode: JsMode,
        item: usize,
    ) -> Result<JsOutput<'a>, NodeError> {
        let Some(js) = &mut self.js else {
            return Err(NodeError::new(
                CODE_NO_JS,
                format!("{CODE_NO_JS}: Code nodes need the JavaScript runtime"),
            ));
        };
        let scope = ItemScope {
            view,
            item,
            keys: &[],
        };
        js.run_code(&scope, code, mode)
            .map_err(|e| e.into_node_error(mode, item))
    }

    fn eval_with_keys(
        &mut self,
        view: &ExecView<'a, '_>,
        template: &str,
        item: usize,
        keys: &[(&'static str, Value<'a>)],
    ) -> Result<Value<'a>, NodeError> {
        let scope = ItemScope { view, item, keys };
        match &mut self.js {
            Some(js) => js.eval_template(&scope, template).map_err(expression_error),
            None => Err(NodeError::new(
                CODE_NO_JS,
                format!("{CODE_NO_JS}: expression needs JavaScript: {template}"),
            )),
        }
    }

    fn credential(&mut self, kind: &str, id: &str, name: &str) -> Option<Credential> {
        self.credentials.as_ref()?.find(kind, id, name).cloned()
    }

    fn direct_expressions(&self) -> bool {
        // `eval_expr` above runs `expr::evaluate`, whose first step is the direct form.
        true
    }

    fn now_ms(&mut self) -> i64 {
        match &mut self.clock {
            Clock::Fixed(now_ms) => *now_ms,
            Clock::Custom(clock) => clock(),
        }
    }
}

/// Services lent to an execution: a runtime keeps one set of services (and its JavaScript
/// runtime) for many executions, as a shard does, instead of moving it into each one —
/// [`EngineServices`] is a few hundred bytes, copied at every move and dropped field by
/// field with each execution.
impl<'a, S: Services<'a> + ?Sized> Services<'a> for &mut S {
    fn credential(&mut self, kind: &str, id: &str, name: &str) -> Option<Credential> {
        (**self).credential(kind, id, name)
    }

    fn eval_expr(
        &mut self,
        view: &ExecView<'a, '_>,
        expr: u32,
        item: usize,
    ) -> Result<Value<'a>, NodeError> {
        (**self).eval_expr(view, expr, item)
    }

    fn run_js(
        &mut self,
        view: &ExecView<'a, '_>,
        code: &str,
        mode: JsMode,
        item: usize,
    ) -> Result<JsOutput<'a>, NodeError> {
        (**self).run_js(view, code, mode, item)
    }

    fn now_ms(&mut self) -> i64 {
        (**self).now_ms()
    }

    fn direct_expressions(&self) -> bool {
        (**self).direct_expressions()
    }

    fn eval_with_keys(
        &mut self,
        view: &ExecView<'a, '_>,
        template: &str,
        item: usize,
        keys: &[(&'static str, Value<'a>)],
    ) -> Result<Value<'a>, NodeError> {
        (**self).eval_with_keys(view, template, item, keys)
    }
}

#[cfg(test)]
mod tests {
    use bumpalo::Bump;
    use serde_json::json;

    use super::*;
    use crate::engine::execution::Config;
    use crate::engine::test_support::{access, archive, json_value, plan_from_workflow};
    use crate::engine::webhook::{find_webhook, run_webhook_traced, WebhookEnv, WebhookRequest};

    /// Runs POST /webhook/t of a Webhook -> Set (`value`) -> Respond workflow with
    /// `services`; returns the status, the body and the trace.
    fn run<'a, S: Services<'a>>(
        arena: &'a Bump,
        bytes: &'a [u8],
        services: S,
    ) -> (u16, Vec<u8>, Vec<String>) {
        let plan = access(bytes);
        let (trigger, params) = find_webhook(plan, "POST", "/webhook/t").expect("route");
        let request = WebhookRequest {
            method: "POST",
            path: "/webhook/t",
            query: "",
            headers: &[],
            body: json_value(arena, r#"{"a":41}"#),
        };
        let env = WebhookEnv {
            base_url: "http://localhost/",
            webhook_url: None,
            config: Config::new("webhook", "1", 0),
        };
        let run = run_webhook_traced(
            arena,
            plan,
            trigger,
            &request,
            &params,
            services,
            &env,
            &mut |_| None,
        );
        let trace = run.trace.iter().map(|t| format!("{t:?}")).collect();
        (run.response.status, run.response.body, trace)
    }

    #[test]
    fn lent_services_answer_as_owned_ones() {
        // A fast expression, and one that needs JavaScript (which these services lack).
        for value in ["={{ $json.body.a + 1 }}", "={{ [1, 2].map(x => x * 2) }}"] {
            let workflow = json!({"name": "w", "nodes": [
                {"name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
                 "position": [0, 0],
                 "parameters": {"path": "t", "httpMethod": "POST", "responseMode": "lastNode"}},
                {"name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3.4,
                 "position": [200, 0],
                 "parameters": {"mode": "manual", "assignments": {"assignments": [
                     {"id": "b", "name": "b", "value": value, "type": "string"}]}}}],
                "connections": {"Webhook": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}}});
            let bytes = archive(&plan_from_workflow(&workflow));
            let (owned_arena, lent_arena) = (Bump::new(), Bump::new());
            let owned = run(&owned_arena, &bytes, EngineServices::fast_only(0));
            let mut services = EngineServices::fast_only(0);
            let lent = run(&lent_arena, &bytes, &mut services);
            assert_eq!(owned, lent, "{value}");
            // The same services serve the next execution too.
            assert_eq!(lent, run(&Bump::new(), &bytes, &mut services), "{value}");
        }
    }
}
