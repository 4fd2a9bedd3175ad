//! Parameter trees: JSON -> [`PValue`] with compiled expressions, per-kind parameter
//! checks, and webhook trigger settings.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::compiler::{BAD_PARAMETER, UNSUPPORTED_EXPRESSION};
use super::types::*;
use crate::catalog;
use crate::expr::{self, CompiledExpression};
use crate::model::{json_kind, Node};
use crate::validate::Diagnostic;

/// Collects the expressions of a plan; identical sources share one entry.
#[derive(Debug, Default)]
pub(crate) struct Params {
    expressions: Vec<CompiledExpression>,
    by_source: HashMap<String, u32>,
}

impl Params {
    /// Converts a node's parameters, reporting expressions with unsupported features.
    pub(crate) fn convert_node(&mut self, node: &Node, out: &mut Vec<Diagnostic>) -> PValue {
        let Some(params) = &node.parameters else {
            return PValue::Object {
                keys: Vec::new(),
                values: Vec::new(),
            };
        };
        let mut path = "parameters".to_owned();
        let converted = self.object(params, &mut path, &node.name, out);
        if node.type_name == HTML_TYPE {
            return self.html_resolvables(node, converted, out);
        }
        converted
    }

    /// The HTML node's template is plain text in which n8n evaluates every `{{ ... }}`
    /// at run time (`getResolvables`); each one is compiled here, in order, and added as
    /// `$resolvables: [{text, expr}]` so that the engine needs no compiler.
    fn html_resolvables(
        &mut self,
        node: &Node,
        converted: PValue,
        out: &mut Vec<Diagnostic>,
    ) -> PValue {
        let operation = node
            .param("operation")
            .and_then(Value::as_str)
            .unwrap_or("generateHtmlTemplate");
        let Some(Value::String(html)) = node.param("html") else {
            return converted;
        };
        if operation != "generateHtmlTemplate" || html.starts_with('=') {
            return converted;
        }
        let PValue::Object {
            mut keys,
            mut values,
        } = converted
        else {
            return converted;
        };
        let mut entries = Vec::new();
        for text in resolvables(html) {
            let source = format!("={text}");
            let expr = self.expression(&source, "parameters.html", &node.name, out);
            entries.push(PValue::Object {
                keys: vec!["text".to_owned(), "expr".to_owned()],
                values: vec![PValue::String(text.to_owned()), PValue::Expr(expr)],
            });
        }
        keys.push(HTML_RESOLVABLES.to_owned());
        values.push(PValue::Array(entries));
        PValue::Object { keys, values }
    }

    fn object(
        &mut self,
        map: &Map<String, Value>,
        path: &mut String,
        node: &str,
        out: &mut Vec<Diagnostic>,
    ) -> PValue {
        let mut keys = Vec::with_capacity(map.len());
        let mut values = Vec::with_capacity(map.len());
        for (key, value) in map {
            let len = path.len();
            path.push('.');
            path.push_str(key);
            keys.push(key.clone());
            values.push(self.value(value, path, node, out));
            path.truncate(len);
        }
        PValue::Object { keys, values }
    }

    fn value(
        &mut self,
        value: &Value,
        path: &mut String,
        node: &str,
        out: &mut Vec<Diagnostic>,
    ) -> PValue {
        match value {
            Value::String(s) if s.starts_with('=') => {
                PValue::Expr(self.expression(s, path, node, out))
            }
            Value::Array(items) => {
                let mut converted = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    converted.push(self.value(item, path, node, out));
                    path.truncate(len);
                }
                PValue::Array(converted)
            }
            Value::Object(map) => self.object(map, path, node, out),
            other => pvalue_plain(other),
        }
    }

    fn expression(
        &mut self,
        source: &str,
        path: &str,
        node: &str,
        out: &mut Vec<Diagnostic>,
    ) -> u32 {
        if let Some(&index) = self.by_source.get(source) {
            return index;
        }
        // A syntax error was reported by validation as a warning; the plan keeps it as an
        // invalid expression so that the node fails at run time, as in n8n.
        let compiled = expr::compile(source)
            .unwrap_or_else(|error| CompiledExpression::invalid(source, &error));
        let unsupported = compiled.unsupported_features();
        if !unsupported.is_empty() {
            out.push(Diagnostic::error(
                UNSUPPORTED_EXPRESSION,
                Some(node),
                path,
                format!(
                    "expression uses unsupported features: {}",
                    unsupported.join(", ")
                ),
            ));
        }
        let index = u32::try_from(self.expressions.len()).unwrap_or(u32::MAX);
        self.expressions.push(compiled);
        self.by_source.insert(source.to_owned(), index);
        index
    }

    /// The expressions, in the order their indices were given.
    pub(crate) fn into_expressions(self) -> Vec<CompiledExpression> {
        self.expressions
    }
}

/// Type name of n8n's HTML node.
const HTML_TYPE: &str = "n8n-nodes-base.html";
/// Parameter key under which the HTML node's compiled `{{ }}` segments are stored.
pub const HTML_RESOLVABLES: &str = "$resolvables";

/// n8n's `getResolvables`: every `{{ ... }}` (shortest match, across lines) in order.
pub fn resolvables(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start + 2..].find("}}") else {
            break;
        };
        let stop = start + 2 + end + 2;
        found.push(&text[offset + start..offset + stop]);
        offset += stop;
        rest = &text[offset..];
    }
    found
}

/// JSON -> [`PValue`] without expression compilation (pinned data, static data).
pub fn pvalue_plain(value: &Value) -> PValue {
    match value {
        Value::Null => PValue::Null,
        Value::Bool(b) => PValue::Bool(*b),
        Value::Number(n) => PValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => PValue::String(s.clone()),
        Value::Array(items) => PValue::Array(items.iter().map(pvalue_plain).collect()),
        Value::Object(map) => PValue::Object {
            keys: map.keys().cloned().collect(),
            values: map.values().map(pvalue_plain).collect(),
        },
    }
}

/// Expected JSON shape of a parameter.
#[derive(Debug, Clone, Copy)]
enum Shape {
    String,
    Number,
}

/// Per-kind checks of the parameters the engine relies on: present when required, of the
/// right JSON type unless an expression.
pub(crate) fn check_params(node: &Node, out: &mut Vec<Diagnostic>) {
    let Some(entry) = catalog::lookup(&node.type_name) else {
        return;
    };
    let version = node.version();
    let language = node
        .param("language")
        .and_then(Value::as_str)
        .unwrap_or("javaScript");
    // (parameter, shape, required)
    let checks: &[(&str, Shape, bool)] = match entry.kind {
        NodeKind::HttpRequest => &[("url", Shape::String, true)],
        NodeKind::Code if language == "javaScript" => &[("jsCode", Shape::String, false)],
        NodeKind::Function | NodeKind::FunctionItem => &[("functionCode", Shape::String, false)],
        NodeKind::Webhook => &[("path", Shape::String, false)],
        NodeKind::SplitInBatches => &[("batchSize", Shape::Number, false)],
        NodeKind::Limit => &[("maxItems", Shape::Number, false)],
        NodeKind::SplitOut => &[("fieldToSplitOut", Shape::String, version >= 1.0)],
        _ => &[],
    };
    if let Some(reason) = unsupported_operation(entry.kind, node) {
        out.push(Diagnostic::error(
            BAD_PARAMETER,
            Some(&node.name),
            "parameters.operation",
            reason,
        ));
    }
    if entry.kind == NodeKind::Code && language != "javaScript" {
        out.push(Diagnostic::error(
            BAD_PARAMETER,
            Some(&node.name),
            "parameters.language",
            format!("Code node language {language:?} is not supported (only JavaScript)"),
        ));
    }
    for &(key, shape, required) in checks {
        let path = format!("parameters.{key}");
        match (node.param(key), shape) {
            (None, _) if required => out.push(Diagnostic::error(
                BAD_PARAMETER,
                Some(&node.name),
                path,
                "required parameter is missing",
            )),
            (None, _)
            | (Some(Value::String(_)), Shape::String)
            | (Some(Value::Number(_)), Shape::Number) => {}
            (Some(Value::String(s)), Shape::Number) if s.starts_with('=') => {}
            (Some(other), _) => out.push(Diagnostic::error(
                BAD_PARAMETER,
                Some(&node.name),
                path,
                format!("expected a {shape:?}, found a {}", json_kind(other)).to_lowercase(),
            )),
        }
    }
}

/// Operations of supported node types that the engine does not implement, with why: a
/// workflow using one does not compile (instead of failing at run time).
fn unsupported_operation(kind: NodeKind, node: &Node) -> Option<String> {
    let operation = node.param("operation").and_then(Value::as_str);
    match (kind, operation) {
        (NodeKind::Html, Some("extractHtmlContent")) => Some(
            "HTML operation 'extractHtmlContent' is not supported (it needs a CSS selector engine over parsed HTML)"
                .to_owned(),
        ),
        _ => None,
    }
}

/// Webhook routing of a Webhook node, or (parameter path, reason).
pub(crate) fn webhook(node: &Node, at: u32) -> Result<WebhookTrigger, (&'static str, String)> {
    let text = |key: &str| node.param(key).and_then(Value::as_str);
    // `httpMethod` is a string, or an array when `multipleMethods` is on (webhook 2.x).
    let methods = match node.param("httpMethod") {
        None | Some(Value::Null) => vec!["GET".to_owned()],
        Some(Value::String(m)) => vec![m.clone()],
        Some(Value::Array(ms)) => ms
            .iter()
            .map(|m| {
                m.as_str()
                    .map(str::to_owned)
                    .ok_or("each method must be a string")
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ("parameters.httpMethod", e.to_owned()))?,
        Some(other) => {
            return Err((
                "parameters.httpMethod",
                format!("expected a string, found a {}", json_kind(other)),
            ))
        }
    };
    let mut methods: Vec<String> = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
    if let Some(bad) = methods.iter().find(|m| m.starts_with('=') || m.is_empty()) {
        return Err((
            "parameters.httpMethod",
            format!("method {bad:?} must be a static HTTP method"),
        ));
    }
    methods.dedup();
    let path = text("path").unwrap_or("");
    if path.starts_with('=') {
        return Err((
            "parameters.path",
            "webhook path must be static, not an expression".to_owned(),
        ));
    }
    let path = path.trim_start_matches('/');
    // An empty path is the webhook id in n8n (the editor fills it with a UUID).
    let path = if path.is_empty() {
        node.get("webhookId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    } else {
        path.to_owned()
    };
    let response_mode = match text("responseMode").unwrap_or("onReceived") {
        "onReceived" => ResponseMode::OnReceived,
        "lastNode" => ResponseMode::LastNode,
        "responseNode" => ResponseMode::ResponseNode,
        other => {
            return Err((
                "parameters.responseMode",
                format!("unknown response mode {other:?}"),
            ))
        }
    };
    let response_data = match text("responseData").unwrap_or("firstEntryJson") {
        "firstEntryJson" => ResponseData::FirstEntryJson,
        "allEntries" => ResponseData::AllEntries,
        "noData" => ResponseData::NoData,
        "firstEntryBinary" => ResponseData::FirstEntryBinary,
        other => {
            return Err((
                "parameters.responseData",
                format!("unknown response data {other:?}"),
            ))
        }
    };
    let code = node.param("options").and_then(|o| o.get("responseCode"));
    let response_code = match code {
        None | Some(Value::Null) => 200,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
            .filter(|c| (100..=599).contains(c))
            .ok_or((
                "parameters.options.responseCode",
                format!("{n} is not an HTTP status"),
            ))?,
        Some(other) => {
            return Err((
                "parameters.options.responseCode",
                format!("expected a number, found a {}", json_kind(other)),
            ))
        }
    };
    Ok(WebhookTrigger {
        node: at,
        methods,
        path,
        response_mode,
        response_data,
        response_code,
    })
}

#[cfg(test)]
mod resolvable_tests {
    use super::resolvables;

    #[test]
    fn resolvables_are_the_shortest_double_brace_segments_in_order() {
        assert_eq!(
            resolvables("<p>{{ $json.a }}</p>{{\n 1 + 1 }}{{ x"),
            vec!["{{ $json.a }}", "{{\n 1 + 1 }}"]
        );
        assert_eq!(resolvables("{{ a }} }}"), vec!["{{ a }}"]);
        assert!(resolvables("no braces, é ☃").is_empty());
    }
}
