//! Limits on one execution. Every bound is a named constant with its unit last; an
//! execution that hits one ends with a clean error carrying a stable code.

/// Items one node may emit on one output.
pub const ITEMS_PER_OUTPUT_MAX: usize = 100_000;
/// Bytes the execution arena may hold (checked after every node run).
pub const ARENA_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Node runs per execution: the loop guard for back edges (splitInBatches loops).
pub const NODE_RUNS_MAX: u32 = 10_000;
/// Wall time of one execution, effects included.
pub const EXECUTION_TIME_MS_MAX: u64 = 300_000;
/// Memory one JavaScript evaluation may use (passed to the JS runtime).
pub const JS_MEMORY_BYTES_MAX: usize = 32 * 1024 * 1024;
/// Wall time one JavaScript evaluation may take (passed to the JS runtime).
pub const JS_TIME_MS_MAX: u64 = 5_000;

/// Error code: a node emitted more than [`Limits::items_per_output`] items.
pub const CODE_ITEMS: &str = "LF-ENGINE-101";
/// Error code: the arena grew past [`Limits::arena_bytes`].
pub const CODE_ARENA: &str = "LF-ENGINE-102";
/// Error code: more than [`Limits::node_runs`] node runs.
pub const CODE_NODE_RUNS: &str = "LF-ENGINE-103";
/// Error code: the execution ran longer than [`Limits::execution_time_ms`].
pub const CODE_TIME: &str = "LF-ENGINE-104";

/// The limits of one execution (defaults: the constants above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`ITEMS_PER_OUTPUT_MAX`].
    pub items_per_output: usize,
    /// See [`ARENA_BYTES_MAX`].
    pub arena_bytes: usize,
    /// See [`NODE_RUNS_MAX`].
    pub node_runs: u32,
    /// See [`EXECUTION_TIME_MS_MAX`]; a plan's `executionTimeout` may lower it.
    pub execution_time_ms: u64,
    /// See [`JS_MEMORY_BYTES_MAX`].
    pub js_memory_bytes: usize,
    /// See [`JS_TIME_MS_MAX`].
    pub js_time_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            items_per_output: ITEMS_PER_OUTPUT_MAX,
            arena_bytes: ARENA_BYTES_MAX,
            node_runs: NODE_RUNS_MAX,
            execution_time_ms: EXECUTION_TIME_MS_MAX,
            js_memory_bytes: JS_MEMORY_BYTES_MAX,
            js_time_ms: JS_TIME_MS_MAX,
        }
    }
}
