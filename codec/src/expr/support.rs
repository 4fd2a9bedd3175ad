//! What the fast evaluator implements, by name. The classifier sends an expression to the
//! JavaScript fallback as soon as it uses anything not listed here.
//!
//! These lists are the contract with `linkflow_dataplane::engine::expr`: a test there checks
//! that every name listed is implemented, so adding a name here without an implementation
//! fails the build's tests rather than silently producing wrong answers.

use super::ast::Global;

/// Methods callable as `value.name(...)` on some receiver type (string, number, boolean,
/// array, object, DateTime, Duration, regex, node reference).
pub const FAST_METHODS: &[&str] = &[
    "all",
    "as",
    "at",
    "average",
    "charAt",
    "charCodeAt",
    "chunk",
    "compact",
    "concat",
    "diff",
    "difference",
    "endOf",
    "endsWith",
    "every",
    "extractDomain",
    "extractEmail",
    "extractUrl",
    "filter",
    "find",
    "findIndex",
    "first",
    "flat",
    "floor",
    "format",
    "hasField",
    "includes",
    "indexOf",
    "intersection",
    "isEmpty",
    "isEven",
    "isNotEmpty",
    "isOdd",
    "join",
    "keys",
    "last",
    "lastIndexOf",
    "map",
    "match",
    "max",
    "min",
    "minus",
    "padEnd",
    "padStart",
    "parseJson",
    "pluck",
    "plus",
    "reduce",
    "removeDuplicates",
    "repeat",
    "replace",
    "replaceAll",
    "reverse",
    "round",
    "setZone",
    "slice",
    "smartJoin",
    "some",
    "sort",
    "split",
    "startOf",
    "startsWith",
    "substr",
    "substring",
    "sum",
    "test",
    "toDateTime",
    "toFixed",
    "toFormat",
    "toISO",
    "toISODate",
    "toISOString",
    "getTime",
    "toJsonString",
    "toLowerCase",
    "toMillis",
    "toNumber",
    "toObject",
    "toSeconds",
    "toSentenceCase",
    "toString",
    "toTitleCase",
    "toUnixInteger",
    "toUpperCase",
    "toUTC",
    "trim",
    "trimEnd",
    "trimStart",
    "union",
    "unique",
    "urlDecode",
    "urlEncode",
    "valueOf",
    "values",
    "ceil",
];

/// True when `name` is a fast-path method.
pub fn is_fast_method(name: &str) -> bool {
    FAST_METHODS.contains(&name)
}

/// Members (properties or functions) of a global that the fast path implements.
pub fn global_members(global: Global) -> &'static [&'static str] {
    match global {
        Global::Math => &[
            "abs", "ceil", "floor", "round", "trunc", "sign", "min", "max", "pow", "sqrt", "cbrt",
            "log", "log10", "log2", "exp", "PI", "E",
        ],
        Global::Json => &["stringify", "parse"],
        Global::Object => &["keys", "values", "entries", "assign", "fromEntries"],
        Global::Array => &["isArray", "from", "of"],
        Global::Number => &[
            "isInteger",
            "isFinite",
            "isNaN",
            "isSafeInteger",
            "parseFloat",
            "parseInt",
            "MAX_SAFE_INTEGER",
            "MIN_SAFE_INTEGER",
        ],
        Global::DateTime => &[
            "now",
            "local",
            "utc",
            "fromISO",
            "fromFormat",
            "fromMillis",
            "fromSeconds",
        ],
        Global::Date => &["now"],
        _ => &[],
    }
}

/// Globals that may be called directly: `String(x)`, `$ifEmpty(a, b)`, `$('Node')`.
pub fn is_callable_global(global: Global) -> bool {
    !matches!(
        global,
        // `$jmespath` has no Rust implementation here: the JavaScript fallback runs it.
        Global::Math
            | Global::Json
            | Global::Object
            | Global::Array
            | Global::DateTime
            | Global::Jmespath
    )
}

/// Identifiers no evaluator can run, with the reason shown by `linkflow compat`.
pub const UNSUPPORTED_IDENTIFIERS: &[(&str, &str)] = &[
    ("$fromAI", "$fromAI (AI agent tools only)"),
    ("$fromai", "$fromAI (AI agent tools only)"),
    ("$fromAi", "$fromAI (AI agent tools only)"),
];
