//! Request handlers of the benchmark servers, on the data plane's shards, listeners and
//! HTTP/1.1 layer (`linkflow_dataplane::ingress`), so every server a scenario measures
//! pays the same port handling:
//!
//! - [`Echo`]: answers the request body back (what the HTTP Request node calls in the
//!   `http-request-echo` scenario);
//! - [`Stalling`]: the fixed reference answer, but the whole shard stops for a while once
//!   per period (what the `stall` scenario uses to show coordinated omission).

use std::cell::Cell;
use std::time::{Duration, Instant};

use linkflow_dataplane::ingress::fixed::FixedResponse;
use linkflow_dataplane::ingress::http::write_response;
use linkflow_dataplane::ingress::{Admit, Request, RequestHandler, Responder};

/// Content type of an echo whose request named none.
const ECHO_CONTENT_TYPE_DEFAULT: &str = "application/octet-stream";
/// Longest stall. Why: a stall blocks the shard thread; longer than this is a typo, not a
/// benchmark.
pub const STALL_MS_MAX: u64 = 10_000;

/// Answers `200` with the request's body and content type.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

impl RequestHandler for Echo {
    type Ticket = ();

    fn admit(&self, _request: &Request<'_>, _out: &mut Vec<u8>) -> Admit<()> {
        Admit::Run(())
    }

    async fn execute(&self, _ticket: (), request: Request<'_>, responder: &mut Responder<'_>) {
        let content_type = request
            .header("content-type")
            .unwrap_or(ECHO_CONTENT_TYPE_DEFAULT);
        write_response(
            responder.out(),
            200,
            [("content-type", content_type)],
            request.body,
            request.keep_alive,
        );
    }
}

/// The fixed response, but the first request after each period boundary blocks the
/// shard for `stall` before it is answered: every connection of the shard waits, as in a
/// garbage-collection pause or a swapped-out process.
#[derive(Debug)]
pub struct Stalling {
    response: FixedResponse,
    stall: Duration,
    every: Duration,
    next_stall: Cell<Instant>,
}

impl Stalling {
    /// A server answering `response` that stalls for `stall` once every `every`
    /// (the first stall one period after start).
    ///
    /// Panics unless `0 < stall < every` and `stall <= STALL_MS_MAX` ms (checked by the
    /// command line first).
    pub fn new(response: FixedResponse, stall: Duration, every: Duration) -> Self {
        assert!(
            !stall.is_zero() && stall < every,
            "a stall is shorter than its period"
        );
        assert!(
            stall <= Duration::from_millis(STALL_MS_MAX),
            "stall too long"
        );
        Stalling {
            response,
            stall,
            every,
            next_stall: Cell::new(Instant::now() + every),
        }
    }
}

impl RequestHandler for Stalling {
    type Ticket = ();

    fn admit(&self, _request: &Request<'_>, _out: &mut Vec<u8>) -> Admit<()> {
        Admit::Run(())
    }

    async fn execute(&self, ticket: (), request: Request<'_>, responder: &mut Responder<'_>) {
        let now = Instant::now();
        if now >= self.next_stall.get() {
            // Blocking the executor thread on purpose: the stall must stop the whole shard
            // (every connection, accepts included), not just this request's task.
            std::thread::sleep(self.stall);
            // The next stall is one period after this one began; a period without
            // requests does not queue up several stalls.
            let mut next = self.next_stall.get() + self.every;
            while next <= now {
                next += self.every;
            }
            self.next_stall.set(next);
        }
        self.response.execute(ticket, request, responder).await;
    }
}
