//! The fast expression evaluator: runs compiled n8n expressions (the archived AST from the
//! plan) natively, with JavaScript semantics, allocating results in the execution arena.
//!
//! Entry point: [`evaluate`]. Expressions the codec classified for the JavaScript fallback
//! (`ArchivedCompiledExpression::fast == false`) are not run here.

mod scope;

pub use scope::{ExecutionInfo, PrevNode, Scope, ScopeError, WorkflowInfo};
