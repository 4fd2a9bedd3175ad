//! The webhook side of an execution, sans IO: the trigger item built from a request, and
//! the HTTP response n8n would send (responseMode onReceived / lastNode / responseNode).
//!
//! The data plane parses the request into a [`WebhookRequest`] (body already in the
//! execution arena), calls [`run_webhook`] (or drives an [`Execution`] itself when
//! effects must be awaited) and writes the [`WebhookResponse`].

use std::borrow::Cow;

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use linkflow_codec::plan::{
    ArchivedPlan, ArchivedResponseData, ArchivedResponseMode, ArchivedTrigger,
    ArchivedWebhookTrigger,
};

use super::execution::{Config, Effect, Execution, Outcome, Services, Start};
use super::item::{single_lineage, Item};
use super::node::{EffectResult, Header, Headers, NodeResponse};
use super::run_data::TraceEntry;
use super::value::{key_eq, Members, Value};

/// `Content-Type` of JSON responses, as n8n sends it.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// Effects one synchronous webhook run may answer before it gives up.
pub const EFFECTS_PER_RUN_MAX: u32 = 10_000;

/// The header list of a JSON response: `content-type` only.
static JSON_HEADERS: [Header; 1] = [(
    Cow::Borrowed("content-type"),
    Cow::Borrowed(JSON_CONTENT_TYPE),
)];

/// The headers of a JSON response: `content-type` only, borrowed from a static list
/// (no allocation per response).
pub fn json_headers() -> Headers {
    Cow::Borrowed(&JSON_HEADERS)
}

/// An HTTP request to a webhook, parsed by the runtime.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// Upper-case method.
    pub method: &'a str,
    /// Request path, e.g. `/webhook/g/case` (no query string).
    pub path: &'a str,
    /// Raw query string without `?` (may be empty).
    pub query: &'a str,
    /// Header pairs as received (names are lower-cased for the trigger item).
    pub headers: &'a [(&'a str, &'a str)],
    /// Parsed body (`Undefined` for none; a string for non-JSON bodies).
    pub body: Value<'a>,
}

/// The HTTP response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// Status code.
    pub status: u16,
    /// Header pairs.
    pub headers: Headers,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl WebhookResponse {
    /// A JSON response.
    pub fn json(status: u16, body: Vec<u8>) -> Self {
        WebhookResponse {
            status,
            headers: json_headers(),
            body,
        }
    }

    /// n8n's answer to a failed execution: 500 `{"message":"Error in workflow"}`.
    pub fn workflow_error() -> Self {
        Self::json(500, br#"{"message":"Error in workflow"}"#.to_vec())
    }

    fn from_node(response: NodeResponse) -> Self {
        WebhookResponse {
            status: response.status,
            headers: response.headers,
            body: response.body,
        }
    }
}

/// Settings of a webhook run that do not come from the plan.
#[derive(Debug, Clone, Copy)]
pub struct WebhookEnv<'a> {
    /// Base URL webhooks are reachable at (`WEBHOOK_URL`), ending in `/`.
    pub base_url: &'a str,
    /// The `webhookUrl` of the trigger [`run_webhook`] is given, when the caller has it
    /// already (the data plane's router computes it once per route: it is the same for
    /// every request); `None` builds it from `base_url` for this run.
    pub webhook_url: Option<&'a str>,
    /// Execution configuration (limits, id, clock start).
    pub config: Config<'a>,
}

/// Everything one webhook execution produced.
#[derive(Debug, Clone)]
pub struct WebhookRun {
    /// The response to send.
    pub response: WebhookResponse,
    /// How the execution ended.
    pub outcome: Outcome,
    /// Name of the last executed node ([`run_webhook_traced`] only).
    pub last_node: Option<String>,
    /// Node runs in order ([`run_webhook_traced`] only).
    pub trace: Vec<TraceEntry>,
}

/// Finds the webhook trigger for `method` + `path` (`/webhook/<trigger path>` or
/// `/webhook-test/...`), with the values of `:name` path segments. The data plane's
/// [`Router`](crate::router::Router) decides, so that `linkflow run` and the tests route
/// a request exactly as a shard does (slashes trimmed on both ends, static routes before
/// parameterised ones, no empty parameter); a router is built per call, which suits
/// one-shot runs, not a request path.
pub fn find_webhook<'p>(
    plan: &'p ArchivedPlan,
    method: &str,
    path: &'p str,
) -> Option<(&'p ArchivedWebhookTrigger, Vec<(&'p str, &'p str)>)> {
    use crate::router::{Lookup, Router, WEBHOOK_PREFIX, WEBHOOK_TEST_PREFIX};
    let router = Router::build([plan], "");
    let Lookup::Found(index) = router.lookup(&method.to_ascii_uppercase(), path, true) else {
        return None;
    };
    let ArchivedTrigger::Webhook(webhook) = &plan.triggers[router.route(index).trigger] else {
        unreachable!("the router only indexes webhook triggers");
    };
    let rest = path
        .strip_prefix(WEBHOOK_PREFIX)
        .or_else(|| path.strip_prefix(WEBHOOK_TEST_PREFIX))?;
    // The parameter names borrowed from the plan (the router owns its copies).
    let params = match_path(trim_slashes(webhook.path.as_str()), trim_slashes(rest))?;
    Some((webhook, params))
}

/// `s` without trailing `/`. Byte scans: `trim_matches('/')` and `split('/')` run a UTF-8
/// char searcher, which showed up in the per-request instruction count.
fn trim_slashes_end(s: &str) -> &str {
    let end = s
        .bytes()
        .rposition(|b| b != b'/')
        .map_or(0, |last| last + 1);
    // `/` is ASCII, so `end` is a char boundary.
    &s[..end]
}

/// `s` without leading and trailing `/` (byte scans, as [`trim_slashes_end`]); the data
/// plane's router trims with it too.
pub(crate) fn trim_slashes(s: &str) -> &str {
    let s = trim_slashes_end(s);
    let start = s.bytes().position(|b| b != b'/').unwrap_or(s.len());
    &s[start..]
}

fn match_path<'p>(pattern: &'p str, path: &'p str) -> Option<Vec<(&'p str, &'p str)>> {
    // Without `:name` segments, equal segments are equal strings: one comparison.
    if !pattern.bytes().any(|b| b == b':') {
        // `key_eq`: short paths compare in line, not through `memcmp`.
        return key_eq(pattern, path).then(Vec::new);
    }
    let mut params = Vec::new();
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(s)) => {
                if let Some(name) = p.strip_prefix(':') {
                    params.push((name, s));
                } else if p != s {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The `webhookUrl` of a webhook trigger at `webhook_path` served under `base_url` (ending
/// in `/`): n8n's production URL, `<base>webhook/<path without leading slashes>`.
pub fn webhook_url(base_url: &str, webhook_path: &str) -> String {
    // A byte scan: `trim_start_matches('/')` runs a char searcher.
    let start = webhook_path
        .bytes()
        .position(|b| b != b'/')
        .unwrap_or(webhook_path.len());
    let path = &webhook_path[start..];
    let mut url = String::with_capacity(base_url.len() + "webhook/".len() + path.len());
    url.push_str(base_url);
    url.push_str("webhook/");
    url.push_str(path);
    url
}

/// The trigger item n8n's Webhook node emits:
/// `{headers, params, query, body, webhookUrl, executionMode}`, with the lineage of the
/// trigger node's input item 0 (what the execution stamps on its input). `webhook_url` is
/// the trigger's [`webhook_url`], the same for every request to it. The item is in the
/// arena already (the execution's start borrows it from there: no copy).
pub fn trigger_item<'a>(
    arena: &'a Bump,
    request: &WebhookRequest<'a>,
    path_params: &[(&'a str, &'a str)],
    webhook_url: &'a str,
) -> &'a Item<'a> {
    let headers = arena.alloc_slice_fill_iter(request.headers.iter().map(|&(name, value)| {
        let name: &'a str = if has_ascii_uppercase(name.as_bytes()) {
            // Lower-cased in the arena: `to_ascii_lowercase` allocated (and freed) a heap
            // string per such header, and clients send `Host`, `User-Agent`, `Accept` ...
            let lower = arena.alloc_str(name);
            lower.make_ascii_lowercase();
            lower
        } else {
            name
        };
        (name, Value::String(value))
    }));
    // A static route has no parameters: no allocation to size (as for an empty query).
    let params: Members<'a> = if path_params.is_empty() {
        &[]
    } else {
        arena.alloc_slice_fill_iter(path_params.iter().map(|&(k, v)| (k, Value::String(v))))
    };
    let members = arena.alloc_slice_copy(&[
        ("headers", Value::Object(headers)),
        ("params", Value::Object(params)),
        ("query", parse_query(arena, request.query)),
        (
            "body",
            if matches!(request.body, Value::Undefined) {
                Value::EMPTY_OBJECT
            } else {
                request.body
            },
        ),
        ("webhookUrl", Value::String(webhook_url)),
        ("executionMode", Value::String("production")),
    ]);
    // The lineage the execution stamps on the trigger node's input anyway (item 0 of
    // input 0): with it already here, the first node run needs no re-stamped copy.
    arena.alloc(Item {
        paired: single_lineage(arena, 0, 0),
        ..Item::new(Value::Object(members))
    })
}

/// True when `bytes` has an ASCII upper-case letter. Eight bytes at a time: header names
/// are mostly lower case already and longer than a word (`content-type`), and the byte
/// loop was ~5 instructions a byte per header per request.
fn has_ascii_uppercase(bytes: &[u8]) -> bool {
    /// Whether a word has a byte in `A..=Z`: per byte, with the top bit cleared, `+ 0x3f`
    /// sets bit 7 from `A` (0x41) up and `+ 0x25` from `[` (0x5b) up; bytes with their top
    /// bit set (UTF-8 lead and continuation bytes) are masked out by `!word`. No carry
    /// crosses a byte: each sum stays below 0x100.
    fn word_has_uppercase(word: u64) -> bool {
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let low = word & LOW7;
        let from_a = low + 0x3f3f_3f3f_3f3f_3f3f;
        let from_bracket = low + 0x2525_2525_2525_2525;
        from_a & !from_bracket & !word & HIGH != 0
    }
    let word_at = |at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(word)
    };
    if bytes.len() < 8 {
        return bytes.iter().any(u8::is_ascii_uppercase);
    }
    // Whole words, then the last eight bytes (overlapping the last whole word).
    (0..bytes.len() / 8).any(|i| word_has_uppercase(word_at(i * 8)))
        || word_has_uppercase(word_at(bytes.len() - 8))
}

/// Parses a query string as Express (qs) does for flat keys: a repeated key becomes an
/// array, `key=` gives `""`, `+` is a space, `%XX` is decoded.
#[inline]
pub fn parse_query<'a>(arena: &'a Bump, query: &str) -> Value<'a> {
    if query.is_empty() {
        // The common case, decided in line without the call.
        return Value::EMPTY_OBJECT;
    }
    parse_query_pairs(arena, query)
}

/// [`parse_query`] of a non-empty query string.
fn parse_query_pairs<'a>(arena: &'a Bump, query: &str) -> Value<'a> {
    let mut members: BumpVec<'a, (&'a str, Value<'a>)> = BumpVec::new_in(arena);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(arena, key);
        let value = Value::String(percent_decode(arena, value));
        match members.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => {
                let mut values: Vec<Value<'a>> = match *existing {
                    Value::Array(a) => a.to_vec(),
                    v => vec![v],
                };
                values.push(value);
                *existing = Value::Array(arena.alloc_slice_copy(&values));
            }
            None => members.push((key, value)),
        }
    }
    Value::Object(members.into_bump_slice())
}

fn percent_decode<'a>(arena: &'a Bump, s: &str) -> &'a str {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return arena.alloc_str(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(hex_value),
                bytes.get(i + 2).and_then(hex_value),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    arena.alloc_str(&String::from_utf8_lossy(&out))
}

fn hex_value(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).map(|d| d as u8)
}

/// Runs one webhook execution to completion. `on_effect` answers HTTP calls, timers and
/// sub-workflows synchronously (`None` = not available: the node fails with a clear
/// error); the data plane drives [`Execution`] itself when it must await them.
// Each argument is a distinct input of the sans-IO run (arena, plan, route, request,
// route params, services, environment, effect answers); bundling them would only move
// the list into a struct literal at every call site.
#[allow(clippy::too_many_arguments)]
pub fn run_webhook<'a, S: Services<'a>>(
    arena: &'a Bump,
    plan: &'a ArchivedPlan,
    webhook: &'a ArchivedWebhookTrigger,
    request: &WebhookRequest<'a>,
    path_params: &[(&'a str, &'a str)],
    services: S,
    env: &WebhookEnv<'a>,
    on_effect: &mut dyn FnMut(&Effect<'a>) -> Option<EffectResult<'a>>,
) -> WebhookRun {
    drive(
        arena,
        plan,
        webhook,
        request,
        path_params,
        services,
        env,
        on_effect,
        false,
    )
}

/// [`run_webhook`] that also records the node-run trace ([`WebhookRun::trace`]) and the
/// last node's name; both allocate (the trace per node run), so the hot path leaves them out.
#[allow(clippy::too_many_arguments)]
pub fn run_webhook_traced<'a, S: Services<'a>>(
    arena: &'a Bump,
    plan: &'a ArchivedPlan,
    webhook: &'a ArchivedWebhookTrigger,
    request: &WebhookRequest<'a>,
    path_params: &[(&'a str, &'a str)],
    services: S,
    env: &WebhookEnv<'a>,
    on_effect: &mut dyn FnMut(&Effect<'a>) -> Option<EffectResult<'a>>,
) -> WebhookRun {
    drive(
        arena,
        plan,
        webhook,
        request,
        path_params,
        services,
        env,
        on_effect,
        true,
    )
}

#[allow(clippy::too_many_arguments)]
fn drive<'a, S: Services<'a>>(
    arena: &'a Bump,
    plan: &'a ArchivedPlan,
    webhook: &'a ArchivedWebhookTrigger,
    request: &WebhookRequest<'a>,
    path_params: &[(&'a str, &'a str)],
    services: S,
    env: &WebhookEnv<'a>,
    on_effect: &mut dyn FnMut(&Effect<'a>) -> Option<EffectResult<'a>>,
    record_trace: bool,
) -> WebhookRun {
    let webhook_url = match env.webhook_url {
        Some(url) => url,
        None => arena.alloc_str(&webhook_url(env.base_url, webhook.path.as_str())),
    };
    let item = trigger_item(arena, request, path_params, webhook_url);
    let start = Start {
        node: webhook.node.to_native(),
        items: std::slice::from_ref(item),
    };
    let mut execution = Execution::new(arena, plan, start, services, env.config);
    let mut response = PendingResponse::new(webhook);
    let mut now_ms = env.config.started_ms;
    let mut effects = 0u32;
    let outcome = loop {
        match execution.poll(now_ms) {
            Effect::Done(outcome) => break outcome,
            Effect::Respond(node_response) => response.respond(node_response),
            effect => {
                effects += 1;
                let (node, at_ms) = match &effect {
                    Effect::HttpCall { node, .. } | Effect::SubWorkflow { node, .. } => {
                        (*node, None)
                    }
                    Effect::Timer { node, at_ms } => (*node, Some(*at_ms)),
                    _ => unreachable!("handled above"),
                };
                let result = if effects > EFFECTS_PER_RUN_MAX {
                    None
                } else {
                    on_effect(&effect)
                };
                let result = match result {
                    Some(result) => result,
                    None => super::runner::synchronous_answer(&effect)
                        .expect("an effect waiting for a result"),
                };
                if let Some(at_ms) = at_ms {
                    now_ms = now_ms.max(at_ms);
                }
                execution.complete(node, result);
            }
        }
    };
    let response = response.finish(&outcome, &execution);
    WebhookRun {
        response,
        outcome,
        // Both allocate; the hot path (and the data plane, which reads the name from the
        // plan when it journals) does without.
        last_node: if record_trace {
            execution
                .last_node()
                .map(|n| plan.nodes[n as usize].name.as_str().to_owned())
        } else {
            None
        },
        trace: if record_trace {
            execution.trace()
        } else {
            Vec::new()
        },
    }
}

/// The response of a webhook execution as it becomes known: at once for `onReceived`,
/// from the first Respond to Webhook node for `responseNode`, at the end from the last
/// node (or n8n's error answer) otherwise. Every runtime that drives a webhook execution
/// itself (the synchronous run here, `linkflow run`'s shard) keeps one.
pub struct PendingResponse<'w> {
    webhook: &'w ArchivedWebhookTrigger,
    response: Option<WebhookResponse>,
}

impl<'w> PendingResponse<'w> {
    /// The response of an execution started by `webhook`; known already for `onReceived`.
    // In line: a call per execution for a match and a move.
    #[inline]
    pub fn new(webhook: &'w ArchivedWebhookTrigger) -> Self {
        let response = match webhook.response_mode {
            ArchivedResponseMode::OnReceived => Some(WebhookResponse::json(
                webhook.response_code.to_native(),
                br#"{"message":"Workflow was started"}"#.to_vec(),
            )),
            _ => None,
        };
        PendingResponse { webhook, response }
    }

    /// A `Respond` effect: the answer in `responseNode` mode when it is the first one.
    // In line: a call per execution for a match and a move.
    #[inline]
    pub fn respond(&mut self, node_response: NodeResponse) {
        if matches!(
            self.webhook.response_mode,
            ArchivedResponseMode::ResponseNode
        ) && self.response.is_none()
        {
            self.response = Some(WebhookResponse::from_node(node_response));
        }
    }

    /// The response once the execution ended with `outcome`.
    pub fn finish<'a, S: Services<'a>>(
        self,
        outcome: &Outcome,
        execution: &Execution<'a, S>,
    ) -> WebhookResponse {
        match self.response {
            Some(response) => response,
            None => match (outcome, &self.webhook.response_mode) {
                (Outcome::Failed(_), _) => WebhookResponse::workflow_error(),
                (Outcome::Success, ArchivedResponseMode::ResponseNode) => {
                    WebhookResponse::json(200, Vec::new())
                }
                (Outcome::Success, _) => last_node_response(execution, self.webhook),
            },
        }
    }
}

/// The `lastNode` response: output 0 of the last run of the last executed node (public: the
/// data plane builds it itself after awaiting effects).
pub fn last_node_response<'a, S: Services<'a>>(
    execution: &Execution<'a, S>,
    webhook: &ArchivedWebhookTrigger,
) -> WebhookResponse {
    let items = execution.last_node_items();
    let status = webhook.response_code.to_native();
    let mut body = Vec::new();
    match webhook.response_data {
        ArchivedResponseData::AllEntries => {
            body.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                item.json.write_json(&mut body);
            }
            body.push(b']');
        }
        ArchivedResponseData::FirstEntryJson => match items.first() {
            Some(item) => item.json.write_json(&mut body),
            None => {
                return WebhookResponse::json(
                    500,
                    br#"{"code":0,"message":"No item to return was found","stacktrace":""}"#
                        .to_vec(),
                )
            }
        },
        ArchivedResponseData::NoData => {}
        ArchivedResponseData::FirstEntryBinary => {
            return WebhookResponse::json(
                500,
                br#"{"code":0,"message":"LF-ENGINE-042: binary responses are not supported"}"#
                    .to_vec(),
            )
        }
    }
    WebhookResponse::json(status, body)
}

// Why a file of its own: the module is near the line limit without them.
#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
