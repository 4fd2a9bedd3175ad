//! Expression front end: `={{ ... }}` templates parsed into an AST and classified as
//! fast-path (evaluated natively by the engine) or JavaScript fallback.
//!
//! (Placeholder: the parser lands with the expression front end.)

use rkyv::{Archive, Deserialize, Serialize};

/// A compiled parameter expression as stored in a plan.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct CompiledExpression {
    /// The parameter string as written, including the leading `=`.
    pub source: String,
}
