//! The shard's [`RequestHandler`]: routing, admission and one engine execution per
//! webhook request, in the shard's reused arena.

use std::rc::Rc;
use std::time::Instant;

use bumpalo::collections::Vec as BumpVec;
use linkflow_codec::plan::ArchivedTrigger;

use super::{now_ms, Lent, PlanTable, ShardState};
use crate::admission::{Refusal, RETRY_AFTER_SECONDS};
use crate::engine::execution::{Config, Outcome};
use crate::engine::value::Value;
use crate::engine::webhook::{run_webhook, WebhookEnv, WebhookRequest};
use crate::ingress::body::parse_body;
use crate::ingress::http::{self, code};
use crate::ingress::{Admit, Request, RequestHandler};
use crate::router::Lookup;

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
        let ticket = Ticket {
            table,
            route,
            received,
        };
        if budget_ms > 0 {
            Admit::Queue(ticket)
        } else {
            Admit::Run(ticket)
        }
    }

    fn execute(&self, ticket: Ticket, request: Request<'_>, out: &mut Vec<u8>) {
        let state = &*self.state;
        state.admission.leave();
        let table = &ticket.table;
        let route = table.router.route(ticket.route);
        let installed = &table.plans[route.plan];
        let plan = installed.bytes.plan();
        let ArchivedTrigger::Webhook(webhook) = &plan.triggers[route.trigger] else {
            // The router only indexes webhook triggers.
            unreachable!("route points at a webhook trigger");
        };
        let correlation = request.header(CORRELATION_HEADER);
        let execution_id = state.next_execution_id();
        let mut arena = state.arena.borrow_mut();
        arena.reset();
        let keep_alive = request.keep_alive;
        let content_type = request.header("content-type").unwrap_or("");
        let body = match parse_body(&arena, content_type, request.body) {
            Ok(body) => body,
            Err(error) => {
                let message = format!("The request body is not valid JSON: {}", error.message);
                drop(arena);
                http::write_error(out, 400, code::INVALID_JSON, &message, &[], keep_alive);
                state
                    .metrics
                    .borrow_mut()
                    .record_response(400, ticket.received.elapsed().as_micros() as u64);
                return;
            }
        };
        let mut headers = BumpVec::with_capacity_in(request.headers.len(), &arena);
        for header in request.headers {
            // Non-UTF-8 header values are passed on lossily rather than refused.
            let value: &str = match std::str::from_utf8(header.value) {
                Ok(value) => value,
                Err(_) => arena.alloc_str(&String::from_utf8_lossy(header.value)),
            };
            headers.push((header.name, value));
        }
        let mut params = BumpVec::with_capacity_in(2, &arena);
        params.extend(route.params(request.path));
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
        let env = WebhookEnv {
            base_url: &state.config.base_url,
            config: Config::new("webhook", &execution_id, now_ms()),
        };
        let mut services = state.services.borrow_mut();
        let run = run_webhook(
            &arena,
            plan,
            webhook,
            &webhook_request,
            params.into_bump_slice(),
            Lent(&mut services),
            &env,
            &mut |_| None,
        );
        drop(services);
        let response = &run.response;
        let generated;
        let correlation = match correlation {
            Some(id) => id,
            None => {
                generated = format!("lf-{execution_id}");
                &generated
            }
        };
        http::write_response(
            out,
            response.status,
            response
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .chain([(CORRELATION_HEADER, correlation)]),
            &response.body,
            keep_alive,
        );
        drop(arena);
        let done = Instant::now();
        state.admission.record_completion(ticket.received, done);
        let latency_us = done.duration_since(ticket.received).as_micros() as u64;
        let budget_ms = installed.bytes.latency_budget_ms();
        let mut metrics = state.metrics.borrow_mut();
        metrics.record_response(response.status, latency_us);
        let stats = &mut metrics.workflows[installed.stats];
        match &run.outcome {
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
