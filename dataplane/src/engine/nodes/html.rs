//! HTML v1–v1.2: `generateHtmlTemplate` (the default) and `convertToHtmlTable`.
//!
//! - Template: n8n takes the `html` parameter as plain text and replaces each `{{ ... }}`
//!   in it, in order, with `String(value)` of that expression for the item (JavaScript's
//!   `String.prototype.replace`, so the first occurrence of the same text, and `$$`, `$&`
//!   patterns in the value apply). The codec compiles every such `{{ ... }}` into the
//!   plan as `html.$resolvables` (`[{text, expr}]`), so nothing is parsed at run time.
//! - Table: one item `{table}` with a `<table>` of every input item's json, columns in
//!   first-seen key order, booleans as checkboxes, n8n's inline styles unless
//!   `customStyling`.
//!
//! `extractHtmlContent` needs a CSS selector engine over parsed HTML (cheerio in n8n); the
//! codec rejects it at compile time, and the node answers a clear error if a plan holds it.

use super::coerce::string_of;
use crate::engine::item::{Item, PairedItem};
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;
use linkflow_codec::plan::ArchivedPValue;

const CODE_OPERATION: &str = "LF-NODE-HTML-001";

const TABLE_STYLE: &str = "style='border-spacing:0; font-family:helvetica,arial,sans-serif'";
const HEADER_STYLE: &str = "style='margin:0; padding:7px 20px 7px 0px; border-bottom:1px solid #eee; text-align:left; color:#888; font-weight:normal'";
const CELL_STYLE: &str = "style='margin:0; padding:7px 20px 7px 0px; border-bottom:1px solid #eee'";

/// Runs an HTML node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    match ctx.param_str("operation", 0, "generateHtmlTemplate")? {
        "generateHtmlTemplate" => template(ctx, input),
        "convertToHtmlTable" if input.is_empty() => Ok(ctx.single_output(&[])),
        "convertToHtmlTable" => table(ctx, input),
        other => Err(NodeError::new(
            CODE_OPERATION,
            format!("HTML operation '{other}' is not supported"),
        )),
    }
}

fn template<'a>(ctx: &mut NodeCtx<'a, '_>, input: &'a [Item<'a>]) -> NodeResult<'a> {
    let resolvables: Vec<(&'a str, u32)> = match ctx.param_raw("$resolvables") {
        Some(ArchivedPValue::Array(entries)) => entries
            .iter()
            .filter_map(|entry| {
                let text = super::super::node::lookup(entry, "text")?;
                let expr = super::super::node::lookup(entry, "expr")?;
                match (text, expr) {
                    (ArchivedPValue::String(t), ArchivedPValue::Expr(e)) => {
                        Some((t.as_str(), e.to_native()))
                    }
                    _ => None,
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut out = ctx.items_with_capacity(input.len());
    for i in 0..input.len() {
        let result = render(ctx, i, &resolvables);
        let html = match result {
            Ok(html) => html,
            Err(error) if ctx.continue_on_fail() => {
                let message = Value::String(ctx.alloc_str(&error.message));
                out.push(Item {
                    json: Value::Object(ctx.arena.alloc_slice_copy(&[("error", message)])),
                    binary: Value::Undefined,
                    paired: ctx.paired(i),
                });
                continue;
            }
            Err(error) => return Err(error.at_item(i)),
        };
        let html = Value::String(ctx.alloc_str(&html));
        out.push(Item {
            json: Value::Object(ctx.arena.alloc_slice_copy(&[("html", html)])),
            binary: Value::Undefined,
            paired: ctx.paired(i),
        });
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

fn render(
    ctx: &mut NodeCtx<'_, '_>,
    item: usize,
    resolvables: &[(&str, u32)],
) -> Result<String, NodeError> {
    let mut html = string_of(match ctx.param("html", item)? {
        Value::Undefined => Value::String(""),
        other => other,
    });
    for &(text, expr) in resolvables {
        let value = string_of(ctx.host.eval_expr(expr, item)?);
        html = replace_first(&html, text, &value);
    }
    Ok(html)
}

/// JavaScript `haystack.replace(needle, replacement)` with a string needle: the first
/// occurrence only, and the `$$`, `$&`, `` $` ``, `$'` patterns of the replacement.
pub fn replace_first(haystack: &str, needle: &str, replacement: &str) -> String {
    let Some(at) = haystack.find(needle) else {
        return haystack.to_owned();
    };
    let before = &haystack[..at];
    let after = &haystack[at + needle.len()..];
    let mut expanded = String::with_capacity(replacement.len());
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            expanded.push(c);
            continue;
        }
        match chars.peek() {
            Some('$') => expanded.push('$'),
            Some('&') => expanded.push_str(needle),
            Some('`') => expanded.push_str(before),
            Some('\'') => expanded.push_str(after),
            _ => {
                expanded.push('$');
                continue;
            }
        }
        chars.next();
    }
    format!("{before}{expanded}{after}")
}

/// n8n's `capitalizeHeader`: `first_name` -> `First Name`.
pub fn capitalize_header(header: &str) -> String {
    header
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            // JavaScript's `word[0].toUpperCase()` works on the first UTF-16 unit; for
            // the BMP that is the first char.
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
            format!("{}{}", first.unwrap_or_default(), chars.as_str())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn table<'a>(ctx: &mut NodeCtx<'a, '_>, input: &'a [Item<'a>]) -> NodeResult<'a> {
    let custom = ctx.param_bool("options.customStyling", 0, false)?;
    let capitalize = ctx.param_bool("options.capitalize", 0, false)?;
    let (table_style, header_style, cell_style) = if custom {
        ("", "", "")
    } else {
        (TABLE_STYLE, HEADER_STYLE, CELL_STYLE)
    };
    let text = |v: Value<'_>| match v {
        Value::Undefined | Value::Null => String::new(),
        other => string_of(other),
    };
    let table_attributes = text(ctx.param("options.tableAttributes", 0)?);
    let header_attributes = text(ctx.param("options.headerAttributes", 0)?);
    let caption = ctx.param("options.caption", 0)?;
    let mut headers: Vec<&str> = Vec::new();
    for item in input {
        for &(key, _) in item.json.as_object().unwrap_or(&[]) {
            if !headers.contains(&key) {
                headers.push(key);
            }
        }
    }
    let mut table = format!("<table {table_style} {table_attributes}>");
    if super::super::execution::is_truthy(caption) {
        table.push_str(&format!("<caption>{}</caption>", string_of(caption)));
    }
    table.push_str(&format!("<thead {header_style} {header_attributes}>"));
    table.push_str("<tr>");
    for header in &headers {
        let shown = if capitalize {
            capitalize_header(header)
        } else {
            (*header).to_owned()
        };
        table.push_str(&format!("<th>{shown}</th>"));
    }
    table.push_str("</tr></thead><tbody>");
    for (i, item) in input.iter().enumerate() {
        let row_attributes = text(ctx.param("options.rowAttributes", i)?);
        let cell_attributes = text(ctx.param("options.cellAttributes", i)?);
        table.push_str(&format!("<tr  {row_attributes}>"));
        for header in &headers {
            table.push_str(&format!("<td {cell_style} {cell_attributes}>"));
            match item.json.get(header) {
                Value::Bool(checked) => {
                    let mark = if checked { "checked=\"checked\"" } else { "" };
                    table.push_str(&format!("<input type=\"checkbox\" {mark}/>"));
                }
                other => table.push_str(&string_of(other)),
            }
            table.push_str("</td>");
        }
        table.push_str("</tr>");
    }
    table.push_str("</tbody></table>");
    let json = Value::Object(
        ctx.arena
            .alloc_slice_copy(&[("table", Value::String(ctx.alloc_str(&table)))]),
    );
    let paired = ctx
        .arena
        .alloc_slice_fill_iter((0..input.len()).map(|i| PairedItem {
            item: i as u32,
            input: 0,
        }));
    let item = Item {
        json,
        binary: Value::Undefined,
        paired,
    };
    Ok(ctx.single_output(ctx.arena.alloc_slice_copy(&[item])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_follows_javascript_string_replace() {
        assert_eq!(replace_first("a {{x}} {{x}}", "{{x}}", "1"), "a 1 {{x}}");
        assert_eq!(replace_first("ab", "zz", "1"), "ab");
        assert_eq!(replace_first("<b>", "b", "$$-$&-$`-$'"), "<$-b-<->>");
        assert_eq!(replace_first("x", "x", "$1 $"), "$1 $");
        assert_eq!(replace_first("é☃", "☃", "ü"), "éü");
    }

    #[test]
    fn headers_capitalize_like_n8n() {
        assert_eq!(capitalize_header("first_name"), "First Name");
        assert_eq!(capitalize_header("__a__b"), "A B");
        assert_eq!(capitalize_header("élan"), "Élan");
        assert_eq!(capitalize_header(""), "");
    }
}
