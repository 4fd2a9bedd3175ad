//! HTTP Request pagination (`options.pagination`, v4.1+ in the editor), as a sans-IO loop: the node hands
//! out one HTTP effect per page (and a timer effect for `requestInterval`), and keeps the
//! loop's state in its [`NodeState`](crate::engine::node::NodeState) between effects.
//!
//! Follows n8n's `requestWithAuthenticationPaginated`: before every request the
//! pagination parameters (`nextURL`, or `parameters` into `qs` / `body` / `headers`) are
//! evaluated with the additional keys `$response` (`{body, headers, statusCode}` of the
//! previous page, `{}` before the first), `$pageCount` (pages received so far),
//! `$request` and `$version`; an undefined (or null) value leaves the request as it was.
//! After every page the pagination completes when `maxRequests` pages were fetched
//! (`limitPagesFetched`), or when the continue expression n8n derives from
//! `paginationCompleteWhen` is falsy: `responseIsEmpty` (an empty array body or a falsy
//! body), `receiveSpecificStatusCodes`, or `other` (`!(completeExpression)`). A page with
//! a status outside 2xx fails the node only when another page would follow. Every page's
//! response becomes items as a single response would. Five responses of the same length
//! with the same etag or body hash in a row stop the loop with n8n's error.

use bumpalo::Bump;

use super::request::RequestSpec;
use crate::engine::node::{HttpResponse, NodeCtx, NodeError};
use crate::engine::nodes::coerce::{json_string, parse_json, string_of};
use crate::engine::value::Value;

/// Pages one input item may fetch. Why: a continue expression that never turns false
/// (an API that always answers with a next link) must end as an error, not as an
/// execution that only the effect budget stops.
pub const PAGES_MAX: u32 = 1_000;
/// Longest `requestInterval` honoured, in milliseconds (a larger value is clamped): the
/// data plane refuses waits over 5 minutes.
pub const INTERVAL_MS_MAX: f64 = 300_000.0;

/// Error code: more than [`PAGES_MAX`] pages for one item.
pub const CODE_PAGES: &str = "LF-NODE-HTTP-008";
/// Error code: the pagination settings are unusable (empty complete expression, a
/// parameter without name or value, a next URL that is not a URL).
pub const CODE_SETTINGS: &str = "LF-NODE-HTTP-009";
/// Error code: the same response came back five times in a row.
pub const CODE_IDENTICAL: &str = "LF-NODE-HTTP-010";
/// Error code: a page answered with a status outside 2xx while more pages would follow.
pub const CODE_PAGE_STATUS: &str = "LF-NODE-HTTP-011";

const PREFIX: &str = "options.pagination.pagination.";

/// Where an `updateAParameterInEachRequest` parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The query string.
    Query,
    /// The (JSON or form) body.
    Body,
    /// A header.
    Header,
}

/// The pagination settings of one item.
pub struct Settings<'a> {
    /// The `nextURL` parameter (`responseContainsNextURL` mode).
    pub next_url: Option<&'a linkflow_codec::plan::ArchivedPValue>,
    /// The parameters (`updateAParameterInEachRequest` mode): target, name, raw value.
    pub parameters: Vec<(Target, &'a str, &'a linkflow_codec::plan::ArchivedPValue)>,
    /// The continue expression (template text without `=`).
    pub continue_when: String,
}

/// The state of one item's loop between effects, kept as a JSON value in the node state.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Input item being paginated.
    pub item: usize,
    /// Output items before this item's first page: a failure drops its pages' items (n8n
    /// returns all pages of an item or none).
    pub kept: usize,
    /// Pages received.
    pub pages: u32,
    /// `$response` of the last page (`{}` before the first).
    pub response: Value<'a>,
    /// Content length of the last page (n8n: 0 without the header).
    pub length: f64,
    /// Etag or body hash of the last page.
    pub hash: &'a str,
    /// Identical responses in a row.
    pub identical: u32,
    /// Waiting for the interval timer before the next page.
    pub waiting: bool,
}

impl<'a> Progress<'a> {
    /// The loop of `item` before its first page, `kept` items already output.
    pub fn start(item: usize, kept: usize) -> Self {
        Progress {
            item,
            kept,
            pages: 0,
            response: Value::EMPTY_OBJECT,
            length: 0.0,
            hash: "",
            identical: 0,
            waiting: false,
        }
    }

    /// As a value for the node state.
    pub fn to_value(self, arena: &'a Bump) -> Value<'a> {
        Value::Object(arena.alloc_slice_copy(&[
            ("item", Value::Number(self.item as f64)),
            ("kept", Value::Number(self.kept as f64)),
            ("pages", Value::Number(f64::from(self.pages))),
            ("response", self.response),
            ("length", Value::Number(self.length)),
            ("hash", Value::String(self.hash)),
            ("identical", Value::Number(f64::from(self.identical))),
            ("waiting", Value::Bool(self.waiting)),
        ]))
    }

    /// Back from the node state (`None` when the state holds no loop).
    pub fn from_value(value: Value<'a>) -> Option<Self> {
        let number = |key| match value.get(key) {
            Value::Number(n) => Some(n),
            _ => None,
        };
        Some(Progress {
            item: number("item")? as usize,
            kept: number("kept")? as usize,
            pages: number("pages")? as u32,
            response: value.get("response"),
            length: number("length")?,
            hash: value.get("hash").as_str()?,
            identical: number("identical")? as u32,
            waiting: matches!(value.get("waiting"), Value::Bool(true)),
        })
    }
}

/// True when the node paginates: a pagination mode other than `off` (the option exists
/// from v4.1; n8n's v3 code, shared by 3–4.2, reads it whenever it is present).
pub fn enabled(ctx: &mut NodeCtx<'_, '_>, item: usize) -> Result<bool, NodeError> {
    if ctx.version() < 3.0 || ctx.param_raw("options.pagination").is_none() {
        return Ok(false);
    }
    let mode = ctx.param_str(
        &format!("{PREFIX}paginationMode"),
        item,
        "updateAParameterInEachRequest",
    )?;
    Ok(mode != "off")
}

impl<'a> Settings<'a> {
    /// Reads the settings of `item` (expressions stay unevaluated: they need `$response`).
    pub fn read(ctx: &mut NodeCtx<'a, '_>, item: usize) -> Result<Self, NodeError> {
        let mode = ctx.param_str(
            &format!("{PREFIX}paginationMode"),
            item,
            "updateAParameterInEachRequest",
        )?;
        let complete = ctx.param_str(
            &format!("{PREFIX}paginationCompleteWhen"),
            item,
            "responseIsEmpty",
        )?;
        let continue_when = match complete {
            "receiveSpecificStatusCodes" => {
                let codes = ctx.param(&format!("{PREFIX}statusCodesWhenComplete"), item)?;
                let codes: Vec<String> = string_of(codes)
                    .split(',')
                    .map(|code| match code.trim().parse::<i64>() {
                        Ok(n) => n.to_string(),
                        // parseInt of garbage: NaN, which matches no status.
                        Err(_) => "NaN".to_owned(),
                    })
                    .collect();
                format!(
                    "{{{{ ![{}].includes($response.statusCode) }}}}",
                    codes.join(",")
                )
            }
            "responseIsEmpty" => {
                "{{ Array.isArray($response.body) ? $response.body.length : !!$response.body }}"
                    .to_owned()
            }
            _ => {
                let source = raw_source(ctx, &format!("{PREFIX}completeExpression"));
                let body = source
                    .trim()
                    .strip_prefix("={{")
                    .and_then(|s| s.strip_suffix("}}"));
                match body {
                    Some(body) => format!("{{{{ !({body}) }}}}"),
                    None => {
                        return Err(NodeError::new(
                            CODE_SETTINGS,
                            "Invalid or empty Complete Expression",
                        ))
                    }
                }
            }
        };
        let mut settings = Settings {
            next_url: None,
            parameters: Vec::new(),
            continue_when,
        };
        if mode == "responseContainsNextURL" {
            settings.next_url = ctx.param_raw(&format!("{PREFIX}nextURL"));
            return Ok(settings);
        }
        let list = ctx
            .param_raw(&format!("{PREFIX}parameters.parameters"))
            .and_then(raw_array)
            .unwrap_or(&[]);
        for (index, parameter) in list.iter().enumerate() {
            let field = |key: &str| crate::engine::node::lookup(parameter, key);
            let name = field("name").and_then(raw_str).unwrap_or("");
            let value = field("value");
            let empty_value = value.is_none_or(|v| raw_str(v) == Some(""));
            if list.len() == 1 && name.is_empty() && empty_value {
                return Err(NodeError::new(
                    CODE_SETTINGS,
                    "At least one entry with 'Name' and 'Value' filled must be included in 'Parameters' to use 'Update a Parameter in Each Request' mode ",
                ));
            }
            if name.is_empty() {
                return Err(NodeError::new(
                    CODE_SETTINGS,
                    format!(
                        "Parameter name must be set for parameter [{}] in pagination settings",
                        index + 1
                    ),
                ));
            }
            let Some(value) = value.filter(|_| !empty_value) else {
                return Err(NodeError::new(
                    CODE_SETTINGS,
                    format!(
                        "Some value must be provided for parameter [{}] in pagination settings, omitting it will result in an infinite loop",
                        index + 1
                    ),
                ));
            };
            let target = match field("type").and_then(raw_str).unwrap_or("qs") {
                "body" => Target::Body,
                "headers" => Target::Header,
                _ => Target::Query,
            };
            settings.parameters.push((target, name, value));
        }
        Ok(settings)
    }
}

fn raw_array(
    raw: &linkflow_codec::plan::ArchivedPValue,
) -> Option<&[linkflow_codec::plan::ArchivedPValue]> {
    match raw {
        linkflow_codec::plan::ArchivedPValue::Array(items) => Some(items.as_slice()),
        _ => None,
    }
}

fn raw_str(raw: &linkflow_codec::plan::ArchivedPValue) -> Option<&str> {
    match raw {
        linkflow_codec::plan::ArchivedPValue::String(s) => Some(s.as_str()),
        _ => None,
    }
}

/// The text of a parameter as written (`=` prefix kept for expressions), `""` if absent.
fn raw_source<'a>(ctx: &NodeCtx<'a, '_>, path: &str) -> &'a str {
    match ctx.param_raw(path) {
        Some(linkflow_codec::plan::ArchivedPValue::Expr(index)) => ctx.plan.expressions
            [index.to_native() as usize]
            .source
            .as_str(),
        Some(linkflow_codec::plan::ArchivedPValue::String(s)) => s.as_str(),
        _ => "",
    }
}

/// Evaluates a raw parameter with the pagination keys (expressions through JavaScript).
pub fn resolve<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    raw: &'a linkflow_codec::plan::ArchivedPValue,
    item: usize,
    keys: &[(&'static str, Value<'a>)],
) -> Result<Value<'a>, NodeError> {
    match raw {
        linkflow_codec::plan::ArchivedPValue::Expr(index) => {
            let source = ctx.plan.expressions[index.to_native() as usize]
                .source
                .as_str();
            let template = source.strip_prefix('=').unwrap_or(source);
            ctx.host.eval_with_keys(template, item, keys)
        }
        other => ctx.resolve(other, item),
    }
}

/// The additional keys of an evaluation: `$response`, `$pageCount`, `$request`,
/// `$version`.
pub fn keys<'a>(
    ctx: &NodeCtx<'a, '_>,
    progress: &Progress<'a>,
    request: Value<'a>,
) -> [(&'static str, Value<'a>); 4] {
    [
        ("$response", progress.response),
        ("$pageCount", Value::Number(f64::from(progress.pages))),
        ("$request", request),
        ("$version", Value::Number(ctx.version())),
    ]
}

/// n8n's `$request`: the request options before the pagination parameters apply.
pub fn request_value<'a>(arena: &'a Bump, spec: &RequestSpec<'a>) -> Value<'a> {
    let pairs = |pairs: &[(String, String)]| {
        Value::Object(
            arena.alloc_slice_fill_iter(
                pairs
                    .iter()
                    .map(|(k, v)| (&*arena.alloc_str(k), Value::String(arena.alloc_str(v)))),
            ),
        )
    };
    Value::Object(arena.alloc_slice_copy(&[
        ("method", Value::String(arena.alloc_str(&spec.method))),
        ("uri", Value::String(spec.url)),
        ("qs", pairs(&spec.query)),
        ("headers", pairs(&spec.headers)),
        (
            "body",
            match spec.body {
                Value::Undefined => Value::EMPTY_OBJECT,
                body => body,
            },
        ),
    ]))
}

/// Applies the evaluated pagination parameters to the item's request (n8n merges them
/// into the request options: same names are replaced, new ones added).
pub fn apply<'a>(
    arena: &'a Bump,
    spec: &mut RequestSpec<'a>,
    next_url: Value<'a>,
    parameters: &[(Target, &'a str, Value<'a>)],
) -> Result<(), NodeError> {
    match next_url {
        Value::Undefined | Value::Null => {}
        url => {
            let url = string_of(url);
            let trimmed = url.trim();
            if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
                return Err(
                    NodeError::new(CODE_SETTINGS, format!("'{url}' is not a valid URL."))
                        .with_description(
                            "Make sure the \"Next URL\" parameter evaluates to a valid URL.",
                        ),
                );
            }
            spec.url = arena.alloc_str(trimmed);
        }
    }
    for &(target, name, value) in parameters {
        if value.is_nullish() {
            continue;
        }
        match target {
            Target::Query => replace_pair(&mut spec.query, name, value),
            Target::Header => replace_pair(&mut spec.headers, name, value),
            Target::Body => {
                spec.body = match spec.body {
                    Value::Object(_) | Value::Undefined => {
                        let base = match spec.body {
                            Value::Object(members) => members,
                            _ => &[],
                        };
                        let mut members: Vec<(&'a str, Value<'a>)> =
                            base.iter().filter(|(k, _)| *k != name).copied().collect();
                        members.push((name, value));
                        Value::Object(arena.alloc_slice_copy(&members))
                    }
                    // A raw (text) body has no fields to set: n8n's merge leaves it too.
                    other => other,
                };
            }
        }
    }
    Ok(())
}

fn replace_pair(pairs: &mut Vec<(String, String)>, name: &str, value: Value<'_>) {
    let text = match value {
        Value::Object(_) | Value::Array(_) => json_string(value),
        other => string_of(other),
    };
    match pairs.iter_mut().find(|(k, _)| k == name) {
        Some(pair) => pair.1 = text,
        None => pairs.push((name.to_owned(), text)),
    }
}

/// n8n's `$response` of a page: `{body, headers, statusCode}`, the body parsed when the
/// content type says JSON (`{}` when that fails), else text.
pub fn response_value<'a>(arena: &'a Bump, response: &HttpResponse<'a>) -> Value<'a> {
    let content_type = header(response, "content-type").unwrap_or("");
    let text = String::from_utf8_lossy(response.body);
    let body = if content_type.contains("application/json") {
        parse_json(arena, &text).unwrap_or(Value::EMPTY_OBJECT)
    } else {
        Value::String(arena.alloc_str(&text))
    };
    let headers = Value::Object(
        arena.alloc_slice_fill_iter(response.headers.iter().map(|(k, v)| (*k, Value::String(v)))),
    );
    Value::Object(arena.alloc_slice_copy(&[
        ("body", body),
        ("headers", headers),
        ("statusCode", Value::Number(f64::from(response.status))),
    ]))
}

fn header<'a>(response: &HttpResponse<'a>, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// n8n's guard against a loop on the same page: updates `progress` with this response;
/// an error on the fifth identical response in a row.
pub fn check_identical<'a>(
    arena: &'a Bump,
    progress: &mut Progress<'a>,
    response: &HttpResponse<'a>,
) -> Result<(), NodeError> {
    let length = header(response, "content-length")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    if progress.length == length {
        let hash = match header(response, "etag") {
            Some(etag) => arena.alloc_str(etag),
            None => arena.alloc_str(&format!("{:016x}", fnv1a(response.body))),
        };
        if progress.hash == hash {
            progress.identical += 1;
            if progress.identical > 2 {
                return Err(NodeError::new(
                    CODE_IDENTICAL,
                    "The returned response was identical 5x, so requests got stopped",
                )
                .with_description(
                    "Check if \"Pagination Completed When\" has been configured correctly.",
                ));
            }
        } else {
            progress.identical = 0;
        }
        progress.hash = hash;
    } else {
        progress.identical = 0;
    }
    progress.length = length;
    Ok(())
}

/// FNV-1a: a body fingerprint (n8n hashes with MD5; only equality matters).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The error n8n raises when a page outside 2xx would be followed by another.
pub fn status_error(response: &HttpResponse<'_>) -> NodeError {
    let text = String::from_utf8_lossy(response.body);
    NodeError::new(
        CODE_PAGE_STATUS,
        format!("{} - \"{text}\"", response.status),
    )
}
