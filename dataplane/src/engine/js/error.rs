//! JavaScript errors with stable codes.

use crate::engine::node::{JsMode, NodeError};

/// What went wrong while running JavaScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsErrorKind {
    /// The runtime's memory limit was hit.
    MemoryLimit,
    /// The per-evaluation deadline passed.
    TimeLimit,
    /// The stack limit was hit (deep recursion).
    StackLimit,
    /// The source does not parse.
    Syntax,
    /// The code threw (an `Error`, or any other value).
    Thrown,
    /// The result cannot become a [`crate::engine::value::Value`] or items (too deep,
    /// cyclic, wrong shape).
    Result,
    /// The engine could not be set up.
    Init,
}

impl JsErrorKind {
    /// The stable error code.
    pub fn code(self) -> &'static str {
        match self {
            JsErrorKind::MemoryLimit => "LF-JS-001",
            JsErrorKind::TimeLimit => "LF-JS-002",
            JsErrorKind::StackLimit => "LF-JS-003",
            JsErrorKind::Syntax => "LF-JS-004",
            JsErrorKind::Thrown => "LF-JS-005",
            JsErrorKind::Result => "LF-JS-006",
            JsErrorKind::Init => "LF-JS-007",
        }
    }
}

/// An error from the JavaScript engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsError {
    /// Category (gives the stable code).
    pub kind: JsErrorKind,
    /// The message as JavaScript reports it (`error.message`), or ours for limits.
    pub message: String,
    /// The JavaScript error class (`TypeError`, `Error` ...), empty for non-errors.
    pub name: String,
    /// Line in the user's code (1-based), when known.
    pub line: Option<u32>,
    /// An extra explanation (n8n's error `description`).
    pub description: Option<String>,
}

impl JsError {
    /// An error of `kind` with `message`.
    pub fn new(kind: JsErrorKind, message: impl Into<String>) -> Self {
        JsError {
            kind,
            message: message.into(),
            name: String::new(),
            line: None,
            description: None,
        }
    }

    /// The stable code (`LF-JS-00N`).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// A node error as n8n reports Code node failures: the message followed by
    /// `[line N]` (all-items modes) or `[line N, for item I]` (each-item modes).
    pub fn into_node_error(self, mode: JsMode, item: usize) -> NodeError {
        let each = matches!(mode, JsMode::EachItem | JsMode::LegacyFunctionItem);
        let suffix = match (self.line, each) {
            (Some(line), true) => format!(" [line {line}, for item {item}]"),
            (Some(line), false) => format!(" [line {line}]"),
            (None, true) => format!(" [item {item}]"),
            (None, false) => String::new(),
        };
        let mut error = NodeError::new(self.kind.code(), format!("{}{suffix}", self.message));
        if let Some(description) = self.description {
            error = error.with_description(description);
        }
        error
    }
}

impl std::fmt::Display for JsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for JsError {}
