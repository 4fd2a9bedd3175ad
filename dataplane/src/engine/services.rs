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
