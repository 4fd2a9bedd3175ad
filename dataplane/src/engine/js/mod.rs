//! The embedded JavaScript engine: QuickJS through rquickjs.
//!
//! Why QuickJS: no JIT to warm up, a small footprint per runtime, and hard limits on
//! memory, stack and run time that fail cleanly (the runtime stays usable). One
//! [`JsRuntime`] per shard; it keeps one context alive and compiles each distinct source
//! once, so an evaluation costs a function call, not a context set-up (~1.9 µs vs ~100 µs).
//!
//! Public API:
//! - [`JsRuntime::new`] / [`JsRuntime::with_limits`]: one per shard (not `Send`).
//! - [`JsRuntime::eval_expression`]: the JavaScript of one `{{ }}` segment.
//! - [`JsRuntime::eval_template`]: a whole template (`Hello {{ $json.name }}`).
//! - [`JsRuntime::run_code`]: Code v1/v2 and legacy Function / FunctionItem nodes.
//! - [`JsError`] (stable `LF-JS-*` codes) and [`JsError::into_node_error`].
//!
//! Both entry points read the context through the expression [`Scope`] trait, lazily: an
//! item is converted to JavaScript only when the code touches it.

mod bridge;
mod code;
mod error;
mod host;
mod runtime;
mod template;

#[cfg(test)]
mod proptest_gen;
#[cfg(test)]
mod test_scope;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_code;

pub use error::{JsError, JsErrorKind};
pub use runtime::{JsLimits, JsRuntime};
pub use template::split_template;

pub use crate::engine::expr::Scope;
