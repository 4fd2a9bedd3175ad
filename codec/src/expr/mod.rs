//! Expression front end: `={{ ... }}` templates parsed into an AST and classified as
//! fast-path (evaluated natively by the engine) or JavaScript fallback.
//!
//! PLACEHOLDER API (the expression engineer replaces the body, keeping these signatures):
//! - [`compile`] parses a parameter string that starts with `=`.
//! - [`CompiledExpression::path`] says which evaluator runs it.
//! - [`CompiledExpression::unsupported_features`] lists what neither path supports
//!   (e.g. `$fromAI`), for `linkflow compat`.

use rkyv::{Archive, Deserialize, Serialize};

/// A compiled parameter expression as stored in a plan.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct CompiledExpression {
    /// The parameter string as written, including the leading `=`.
    pub source: String,
}

/// Which evaluator runs an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprPath {
    /// Native evaluation of the compiled AST.
    Fast,
    /// The embedded JavaScript engine.
    Js,
}

/// A malformed expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message} (at byte {offset})")]
pub struct ExprError {
    /// Stable error code, e.g. `LF-EXPR-001`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// Byte offset in the parameter string.
    pub offset: usize,
}

/// Compiles a parameter string (`=...`).
pub fn compile(source: &str) -> Result<CompiledExpression, ExprError> {
    Ok(CompiledExpression { source: source.to_owned() })
}

impl CompiledExpression {
    /// Which evaluator runs this expression.
    pub fn path(&self) -> ExprPath {
        ExprPath::Js
    }

    /// Features that neither evaluator supports (empty when the expression can run).
    pub fn unsupported_features(&self) -> Vec<String> {
        Vec::new()
    }
}
