//! Runs one execution to completion in-process, synchronously: a webhook request
//! (`{"method","path","headers","query","body"}`) or, without one, the manual trigger.
//! Engine tests and benchmarks use it; `linkflow run` and the golden tests use the parts
//! shared here (the request shape, the trigger lookup, the output) through
//! `crate::shard::local`, which performs effects the way a data-plane shard does.
//!
//! Effects are answered synchronously: timers fire at once on a virtual clock, HTTP calls
//! and sub-workflows fail with [`CODE_NO_OUTBOUND`] and [`CODE_SUBWORKFLOW_NOT_GIVEN`]
//! (a sans-IO engine performs neither).

use bumpalo::Bump;
use linkflow_codec::plan::{ArchivedPlan, ArchivedTrigger, ArchivedWebhookTrigger};
use linkflow_codec::{compile_workflow, Export};

use super::execution::{Config, Effect, Execution, Outcome, Services, Start};
use super::item::Item;
use super::node::EffectResult;
use super::nodes::trigger::manual_item;
use super::run_data::TraceEntry;
use super::value::Value;
use super::webhook::{
    find_webhook, run_webhook_traced, WebhookEnv, WebhookRequest, WebhookResponse, WebhookRun,
};

/// Base URL of webhooks in `webhookUrl` when the caller does not configure one.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:5678/";

/// A webhook request as `linkflow run --request` reads it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RunRequest {
    /// HTTP method (default `GET`).
    #[serde(default)]
    pub method: String,
    /// Request path, e.g. `/webhook/bench`, optionally with `?query`.
    pub path: String,
    /// Request headers.
    #[serde(default)]
    pub headers: serde_json::Map<String, serde_json::Value>,
    /// Query: an object of strings (or arrays of strings), or a raw query string.
    #[serde(default)]
    pub query: serde_json::Value,
    /// JSON body.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Exact body text (used instead of `body` when present).
    #[serde(default)]
    pub raw_body: Option<String>,
}

/// What a manual run produced.
#[derive(Debug, Clone)]
pub struct ManualRun {
    /// The last node's output 0 as a JSON array of the items' json.
    pub items_json: Vec<u8>,
    /// How the execution ended.
    pub outcome: Outcome,
    /// Node runs in order.
    pub trace: Vec<TraceEntry>,
}

/// Error code: no trigger of the plan answers the request.
pub const CODE_NO_ROUTE: &str = "LF-ENGINE-050";
/// Error code: the plan has no manual trigger.
pub const CODE_NO_MANUAL: &str = "LF-ENGINE-051";
/// Error code: an HTTP call in a runtime without outbound HTTP (this synchronous runner,
/// `linkflow run --offline`).
pub const CODE_NO_OUTBOUND: &str = "LF-ENGINE-040";
/// Error code: an Execute Workflow node calls a workflow the runtime was not given (this
/// synchronous runner has none; `linkflow run` those of `--workflows`/`--workflow-file`).
pub const CODE_SUBWORKFLOW_NOT_GIVEN: &str = "LF-ENGINE-041";

/// What a synchronous run answers an effect it does not perform: a timer fires at once
/// (the run keeps a virtual clock), an HTTP call fails with [`CODE_NO_OUTBOUND`], a
/// sub-workflow with [`CODE_SUBWORKFLOW_NOT_GIVEN`]. `None` for `Respond` and `Done`, which
/// are not waiting for a result.
pub fn synchronous_answer(effect: &Effect<'_>) -> Option<EffectResult<'static>> {
    match effect {
        Effect::Timer { .. } => Some(EffectResult::TimerFired),
        Effect::HttpCall { .. } => Some(EffectResult::HttpFailed(
            "LF-ENGINE-040: outbound HTTP is not available in this runtime",
        )),
        Effect::SubWorkflow { .. } => Some(EffectResult::SubWorkflowFailed(
            "LF-ENGINE-041: sub-workflows are not available in this runtime",
        )),
        Effect::Respond(_) | Effect::Done(_) => None,
    }
}

/// A [`RunRequest`] routed to its webhook trigger, in the execution's arena.
pub struct RoutedRequest<'a> {
    /// The trigger answering it.
    pub webhook: &'a ArchivedWebhookTrigger,
    /// The request as the trigger item reads it.
    pub request: WebhookRequest<'a>,
    /// Values of the route's `:name` path segments.
    pub params: Vec<(&'a str, &'a str)>,
}

/// Copies `request` into `arena` and finds the webhook trigger of `plan` answering it;
/// `Err` is the 404 answer n8n gives for an unregistered webhook (boxed: the rare path).
pub fn route_request<'a>(
    arena: &'a Bump,
    plan: &'a ArchivedPlan,
    request: &RunRequest,
) -> Result<RoutedRequest<'a>, Box<WebhookRun>> {
    let method_upper = if request.method.is_empty() {
        "GET".to_owned()
    } else {
        request.method.to_ascii_uppercase()
    };
    let method: &'a str = arena.alloc_str(&method_upper);
    let (path, query_in_path) = request
        .path
        .split_once('?')
        .unwrap_or((request.path.as_str(), ""));
    let path: &'a str = arena.alloc_str(path);
    let query: &'a str = arena.alloc_str(&query_string(&request.query, query_in_path));
    let headers: Vec<(&'a str, &'a str)> = request
        .headers
        .iter()
        .map(|(k, v)| {
            (
                &*arena.alloc_str(k),
                &*arena.alloc_str(
                    v.as_str()
                        .map_or_else(|| v.to_string(), str::to_owned)
                        .as_str(),
                ),
            )
        })
        .collect();
    let headers = arena.alloc_slice_copy(&headers);
    let body = match (&request.raw_body, &request.body) {
        (Some(raw), _) => match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(json) => Value::from_json(arena, &json),
            Err(_) => Value::String(arena.alloc_str(raw)),
        },
        (None, Some(json)) => Value::from_json(arena, json),
        (None, None) => Value::EMPTY_OBJECT,
    };
    let Some((trigger, params)) = find_webhook(plan, method, path) else {
        let message = format!(
            "{{\"code\":404,\"message\":\"The requested webhook \\\"{} {}\\\" is not registered.\",\"lf_code\":\"{CODE_NO_ROUTE}\"}}",
            method,
            path.trim_start_matches("/webhook/")
        );
        return Err(Box::new(WebhookRun {
            response: WebhookResponse::json(404, message.into_bytes()),
            outcome: Outcome::Success,
            last_node: None,
            trace: Vec::new(),
        }));
    };
    Ok(RoutedRequest {
        webhook: trigger,
        request: WebhookRequest {
            method,
            path,
            query,
            headers,
            body,
        },
        params,
    })
}

/// Runs the webhook execution `request` asks for.
pub fn run_request<'a, S: Services<'a>>(
    arena: &'a Bump,
    plan: &'a ArchivedPlan,
    request: &RunRequest,
    services: S,
    env: &WebhookEnv<'a>,
) -> WebhookRun {
    let routed = match route_request(arena, plan, request) {
        Ok(routed) => routed,
        Err(not_found) => return *not_found,
    };
    run_webhook_traced(
        arena,
        plan,
        routed.webhook,
        &routed.request,
        &routed.params,
        services,
        env,
        &mut |_| None,
    )
}

/// The query string of a request: the path's own query, then the `query` field.
fn query_string(query: &serde_json::Value, in_path: &str) -> String {
    let mut parts: Vec<String> = in_path
        .split('&')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    match query {
        serde_json::Value::String(s) => parts.extend(
            s.trim_start_matches('?')
                .split('&')
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
        ),
        serde_json::Value::Object(members) => {
            for (key, value) in members {
                let values = match value {
                    serde_json::Value::Array(values) => values.clone(),
                    other => vec![other.clone()],
                };
                for value in values {
                    let text = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned);
                    parts.push(format!("{}={}", encode(key), encode(&text)));
                }
            }
        }
        _ => {}
    }
    parts.join("&")
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Runs the plan from its manual trigger and returns the last node's items.
pub fn run_manual<'a, S: Services<'a>>(
    arena: &'a Bump,
    plan: &'a ArchivedPlan,
    services: S,
    config: Config<'a>,
) -> Result<ManualRun, String> {
    let start = manual_start(arena, plan)?;
    let mut execution = Execution::new(arena, plan, start, services, config);
    let mut now_ms = config.started_ms;
    let outcome = loop {
        match execution.poll(now_ms) {
            Effect::Done(outcome) => break outcome,
            Effect::Respond(_) => {}
            effect => {
                let (node, at_ms) = match &effect {
                    Effect::Timer { node, at_ms } => (*node, *at_ms),
                    Effect::HttpCall { node, .. } | Effect::SubWorkflow { node, .. } => {
                        (*node, now_ms)
                    }
                    Effect::Respond(_) | Effect::Done(_) => unreachable!("handled above"),
                };
                let result = synchronous_answer(&effect).expect("an effect waiting for a result");
                now_ms = now_ms.max(at_ms);
                execution.complete(node, result);
            }
        }
    };
    Ok(ManualRun {
        items_json: items_json(execution.last_node_items()),
        outcome,
        trace: execution.trace(),
    })
}

/// Where a manual run starts: the plan's manual trigger with n8n's one empty item.
pub fn manual_start<'a>(arena: &'a Bump, plan: &ArchivedPlan) -> Result<Start<'a>, String> {
    let node = plan
        .triggers
        .iter()
        .find_map(|t| match t {
            ArchivedTrigger::Manual { node } => Some(node.to_native()),
            _ => None,
        })
        .ok_or_else(|| format!("{CODE_NO_MANUAL}: the workflow has no manual trigger"))?;
    Ok(Start {
        node,
        items: manual_item(arena),
    })
}

/// The JSON array of the items' `json`, as a manual run prints the last node's items.
pub fn items_json(items: &[Item<'_>]) -> Vec<u8> {
    let mut out = vec![b'['];
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item.json.write_json(&mut out);
    }
    out.push(b']');
    out
}

/// What `linkflow run` produced.
#[derive(Debug, Clone)]
pub enum RunOutput {
    /// A webhook execution: the HTTP response and the trace.
    Webhook(WebhookRun),
    /// A manual execution: the last node's items.
    Manual(ManualRun),
}

impl RunOutput {
    /// What `linkflow run` prints: `{"status", "headers", "body"}` for a webhook run (the
    /// body parsed when it is JSON, else a string), the items array for a manual run.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            RunOutput::Webhook(run) => {
                let headers: serde_json::Map<String, serde_json::Value> = run
                    .response
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                    .collect();
                serde_json::json!({
                    "status": run.response.status,
                    "headers": headers,
                    "body": body_json(&run.response.body),
                })
            }
            RunOutput::Manual(run) => body_json(&run.items_json),
        }
    }
}

/// A response body as JSON: parsed when it is JSON, a string otherwise (`""` when empty).
pub fn body_json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// `linkflow run`: compiles `workflow` and executes it once, for `request` or from the
/// manual trigger. `services` evaluates expressions and JavaScript.
pub fn run_workflow<S: for<'a> Services<'a>>(
    workflow: &serde_json::Value,
    request: Option<&RunRequest>,
    services: S,
    base_url: &str,
    started_ms: i64,
) -> Result<RunOutput, String> {
    // Errors one per line, each with its stable code (unsupported node types, broken
    // connections, malformed expressions ...).
    let bytes = compile_workflow(Export::Json(workflow))
        .map_err(|e| e.one_per_line())?
        .archive();
    let plan = rkyv::access::<ArchivedPlan, rkyv::rancor::Error>(&bytes)
        .map_err(|e| format!("LF-ENGINE-053: {e}"))?;
    let arena = Bump::new();
    Ok(match request {
        Some(request) => {
            let env = WebhookEnv {
                base_url,
                webhook_url: None,
                config: Config::new("webhook", "1", started_ms),
            };
            RunOutput::Webhook(run_request(&arena, plan, request, services, &env))
        }
        None => RunOutput::Manual(run_manual(
            &arena,
            plan,
            services,
            Config::new("manual", "1", started_ms),
        )?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_merges_path_query_and_object() {
        let query = serde_json::json!({"b": ["1", "2"], "c": "x y"});
        assert_eq!(query_string(&query, "a=0"), "a=0&b=1&b=2&c=x%20y");
        assert_eq!(query_string(&serde_json::Value::Null, ""), "");
    }
}
