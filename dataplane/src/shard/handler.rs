//! The shard's [`RequestHandler`]: routing, admission and one engine execution per
//! webhook request, in an arena lent from the shard's pool for as long as the execution
//! is in flight. The execution is a future: it suspends on effects (see `effects.rs`) and
//! completes on its first poll when it has none.

use std::rc::Rc;
use std::time::Instant;

use bumpalo::collections::{String as BumpString, Vec as BumpVec};
use bumpalo::Bump;
use linkflow_codec::plan::{ArchivedResponseMode, ArchivedTrigger};

use super::arena::ArenaLease;
use super::effects::{effect_node, perform, EffectEnv, Performed, Shared};
use super::journaling::{self, Started};
use super::{now_ms, PlanTable, ShardState};
use crate::admission::{Refusal, RETRY_AFTER_SECONDS};
use crate::engine::execution::{Config, Effect, Execution, Outcome, Start};
use crate::engine::value::Value;
use crate::engine::webhook::{last_node_response, trigger_item, WebhookRequest, WebhookResponse};
use crate::ingress::body::parse_body;
use crate::ingress::http::{self, code};
use crate::ingress::{Admit, Request, RequestHandler, Responder};
use crate::journal::record::TriggerKind;
use crate::journal::Durability;
use crate::router::{Lookup, WEBHOOK_TEST_PREFIX};

/// Header carrying the correlation id in and out.
const CORRELATION_HEADER: &str = "x-correlation-id";

/// Serves webhook requests from the shard's current plan table.
pub struct WebhookHandler {
    state: Rc<ShardState>,
}

/// A request admitted on a table (which it keeps alive until it has executed).
pub struct Ticket {
    table: Rc<PlanTable>,
    route: usize,
    received: Instant,
    arena: ArenaLease,
}

impl WebhookHandler {
    pub(crate) fn new(state: Rc<ShardState>) -> Self {
        WebhookHandler { state }
    }

    // The arguments are one error answer plus where it goes; a struct literal at each of
    // the five call sites would only move the list.
    #[allow(clippy::too_many_arguments)]
    fn answer_error(
        &self,
        out: &mut Vec<u8>,
        request: &Request<'_>,
        status: u16,
        error_code: &str,
        message: &str,
        headers: &[(&str, &str)],
        received: Instant,
    ) {
        http::write_error(
            out,
            status,
            error_code,
            message,
            headers,
            request.keep_alive,
        );
        self.state
            .metrics
            .borrow_mut()
            .record_response(status, received.elapsed().as_micros() as u64);
    }
}

impl RequestHandler for WebhookHandler {
    type Ticket = Ticket;

    fn admit(&self, request: &Request<'_>, out: &mut Vec<u8>) -> Admit<Ticket> {
        let received = Instant::now();
        let table = self.state.table.borrow().clone();
        let route =
            match table
                .router
                .lookup(request.method, request.path, self.state.config.test_mode)
            {
                Lookup::Found(route) => route,
                Lookup::NotFound => {
                    let message = format!(
                        "The requested webhook \"{} {}\" is not registered.",
                        request.method, request.path
                    );
                    self.answer_error(out, request, 404, code::NOT_FOUND, &message, &[], received);
                    return Admit::Answered;
                }
                Lookup::TestDisabled => {
                    self.answer_error(
                        out,
                        request,
                        404,
                        code::TEST_WEBHOOK_DISABLED,
                        "test webhooks are served only in test mode",
                        &[],
                        received,
                    );
                    return Admit::Answered;
                }
                Lookup::MethodNotAllowed { allow } => {
                    let message = format!(
                        "This webhook is not registered for {}; it accepts {allow}.",
                        request.method
                    );
                    self.answer_error(
                        out,
                        request,
                        405,
                        code::METHOD_NOT_ALLOWED,
                        &message,
                        &[("allow", &allow)],
                        received,
                    );
                    return Admit::Answered;
                }
            };
        let installed = &table.plans[table.router.route(route).plan];
        let budget_ms = installed.bytes.latency_budget_ms();
        match self.state.admission.enter(budget_ms) {
            Ok(()) => {}
            Err(refusal) => {
                self.state.metrics.borrow_mut().workflows[installed.stats].rejected += 1;
                let message = match refusal {
                    Refusal::Budget => "the workflow's latency budget cannot be met now",
                    Refusal::QueueFull => "the shard's queue is full",
                };
                self.answer_error(
                    out,
                    request,
                    503,
                    code::OVERLOADED,
                    message,
                    &[("retry-after", RETRY_AFTER_SECONDS)],
                    received,
                );
                return Admit::Answered;
            }
        }
        // The arena is taken at admission: a request admitted is one the shard has memory
        // for, and the in-flight bound is enforced here, before any work is done.
        let Some(arena) = self.state.arenas.lease() else {
            self.state.admission.leave();
            self.state.metrics.borrow_mut().workflows[installed.stats].rejected += 1;
            self.answer_error(
                out,
                request,
                503,
                code::OVERLOADED,
                "the shard runs as many executions as it may hold in flight",
                &[("retry-after", RETRY_AFTER_SECONDS)],
                received,
            );
            return Admit::Answered;
        };
        let ticket = Ticket {
            table,
            route,
            received,
            arena,
        };
        if budget_ms > 0 {
            Admit::Queue(ticket)
        } else {
            Admit::Run(ticket)
        }
    }

    async fn execute(&self, ticket: Ticket, request: Request<'_>, responder: &mut Responder<'_>) {
        let state = &*self.state;
        state.admission.leave();
        let table = &*ticket.table;
        let route = table.router.route(ticket.route);
        let installed = &table.plans[route.plan];
        let plan = installed.bytes.plan();
        let ArchivedTrigger::Webhook(webhook) = &plan.triggers[route.trigger] else {
            // The router only indexes webhook triggers.
            unreachable!("route points at a webhook trigger");
        };
        let correlation = request.header(CORRELATION_HEADER);
        let arena: &Bump = &ticket.arena;
        let execution_id = state.next_execution_id_in(arena);
        let keep_alive = request.keep_alive;
        let content_type = request.header("content-type").unwrap_or("");
        let parsed = parse_body(
            arena,
            content_type,
            request.body,
            &mut state.body_buffers.borrow_mut(),
        );
        let body = match parsed {
            Ok(body) => body,
            Err(error) => {
                let message = format!("The request body is not valid JSON: {}", error.message);
                http::write_error(
                    responder.out(),
                    400,
                    code::INVALID_JSON,
                    &message,
                    &[],
                    keep_alive,
                );
                state
                    .metrics
                    .borrow_mut()
                    .record_response(400, ticket.received.elapsed().as_micros() as u64);
                return;
            }
        };
        let mut headers = BumpVec::with_capacity_in(request.headers.len(), arena);
        for header in request.headers {
            // Non-UTF-8 header values are passed on lossily rather than refused.
            let value: &str = match std::str::from_utf8(header.value) {
                Ok(value) => value,
                Err(_) => arena.alloc_str(&String::from_utf8_lossy(header.value)),
            };
            headers.push((header.name, value));
        }
        let webhook_request = WebhookRequest {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: headers.into_bump_slice(),
            body: if matches!(body, Value::Undefined) {
                Value::Undefined
            } else {
                body
            },
        };
        let correlation = match correlation {
            Some(id) => id,
            None => {
                let mut id = BumpString::with_capacity_in(3 + execution_id.len(), arena);
                id.push_str("lf-");
                id.push_str(execution_id);
                id.into_bump_str()
            }
        };
        let item = trigger_item(
            arena,
            &webhook_request,
            route.params_in(arena, request.path),
            route.webhook_url(),
        );
        let start = Start {
            node: webhook.node.to_native(),
            items: std::slice::from_ref(item),
        };
        let config = Config::new("webhook", execution_id, now_ms());
        let mut execution = Execution::new(
            arena,
            plan,
            start,
            Shared::new(state, &installed.bytes),
            config,
        );
        let env = EffectEnv {
            state,
            table,
            arena,
            depth: 0,
            execution_id,
        };
        let mode = &webhook.response_mode;
        // The response, once known; written to the connection at most once.
        let mut response = match mode {
            ArchivedResponseMode::OnReceived => Some(WebhookResponse::json(
                webhook.response_code.to_native(),
                br#"{"message":"Workflow was started"}"#.to_vec(),
            )),
            _ => None,
        };
        let mut written = false;
        let mut effects = 0u32;
        let outcome = loop {
            match execution.poll(now_ms()) {
                Effect::Done(outcome) => break outcome,
                Effect::Respond(node_response) => {
                    if matches!(mode, ArchivedResponseMode::ResponseNode) && response.is_none() {
                        response = Some(WebhookResponse {
                            status: node_response.status,
                            headers: node_response.headers,
                            body: node_response.body,
                        });
                    }
                }
                effect => {
                    // About to wait: an answer already known leaves now, not after the wait.
                    if let (Some(known), false) = (&response, written) {
                        write(responder.out(), known, correlation, keep_alive);
                        written = true;
                        responder.flush().await;
                    }
                    effects += 1;
                    let node = effect_node(&effect);
                    // Boxed: effects are the slow path; the fast path's future stays small
                    // (it is built inside every connection's task).
                    match Box::pin(perform(env, &effect, effects)).await {
                        Performed::Done(result) => execution.complete(node, result),
                        Performed::Abort(error) => break Outcome::Failed(error),
                    }
                }
            }
        };
        let response = match response {
            Some(response) => response,
            None => match (&outcome, mode) {
                (Outcome::Failed(_), _) => WebhookResponse::workflow_error(),
                (Outcome::Success, ArchivedResponseMode::ResponseNode) => {
                    WebhookResponse::json(200, Vec::new())
                }
                (Outcome::Success, _) => last_node_response(&execution, webhook),
            },
        };
        if !written {
            write(responder.out(), &response, correlation, keep_alive);
        }
        // Journal (issue #7): the execution is over and its response is in the
        // connection's buffer (or already sent, for onReceived/Respond to Webhook answers
        // given before a wait). Append its record (cheap, no await); in `sync` mode wait
        // for the fdatasync that covers it before returning, so the buffered response
        // leaves only once the record is durable.
        // A `/webhook-test/` request is a manual run in n8n's model (`saveManualExecutions`).
        let trigger = if request.path.starts_with(WEBHOOK_TEST_PREFIX) {
            TriggerKind::Manual
        } else {
            TriggerKind::Webhook
        };
        let started = Started {
            trigger,
            method: request.method,
            detail: request.path,
            execution_id,
            started_ms: config.started_ms,
        };
        let lsn = journaling::record(state, &installed.bytes, &execution, &started, &outcome);
        if let (Some(lsn), Some(journal)) = (lsn, &state.journal) {
            if journal.durability() == Durability::Sync {
                journal.durable(lsn).await;
            }
        }
        drop(execution);
        let done = Instant::now();
        state.admission.record_completion(ticket.received, done);
        let latency_us = done.duration_since(ticket.received).as_micros() as u64;
        let budget_ms = installed.bytes.latency_budget_ms();
        let mut metrics = state.metrics.borrow_mut();
        metrics.record_response(response.status, latency_us);
        let stats = &mut metrics.workflows[installed.stats];
        match &outcome {
            Outcome::Success => stats.success += 1,
            Outcome::Failed(error) => {
                stats.error += 1;
                tracing::debug!(
                    execution_id = %execution_id,
                    correlation_id = %correlation,
                    workflow = installed.bytes.workflow_id(),
                    code = error.code,
                    "execution failed"
                );
            }
        }
        if budget_ms > 0 && latency_us > u64::from(budget_ms) * 1000 {
            stats.budget_violations += 1;
        }
    }
}

/// Appends `response` with the correlation header.
fn write(out: &mut Vec<u8>, response: &WebhookResponse, correlation: &str, keep_alive: bool) {
    http::write_response(
        out,
        response.status,
        response
            .headers
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
            .chain([(CORRELATION_HEADER, correlation)]),
        &response.body,
        keep_alive,
    );
}
