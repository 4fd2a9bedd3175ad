//! Webhook ingress: SO_REUSEPORT listeners (one per shard), the HTTP/1.1 connection loop
//! and the narrow [`RequestHandler`] interface the shard plugs its engine into.
//!
//! Socket layer: glommio's `TcpStream` (plain non-blocking recv/send, io_uring for
//! readiness). It stays behind [`serve`]/[`bind`] so a raw io_uring loop can replace it
//! without touching routing, admission or execution.

pub mod body;
mod conn;
pub mod fixed;
pub mod http;
mod small_json;

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use futures_lite::future;
use glommio::net::{TcpListener, TcpStream};

pub use conn::Request;

/// Default largest request body, as n8n's `N8N_PAYLOAD_SIZE_MAX` (16 MiB).
pub const BODY_BYTES_MAX_DEFAULT: u64 = 16 * 1024 * 1024;
/// Default largest request head (request line + headers).
pub const HEAD_BYTES_MAX_DEFAULT: usize = 32 * 1024;
/// Default time a client has to send a whole request once it started one.
pub const REQUEST_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// Default time an idle keep-alive connection is kept.
pub const IDLE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(60);
/// Default most open connections per shard.
pub const CONNECTIONS_PER_SHARD_MAX_DEFAULT: usize = 10_000;

/// Limits of one listener's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body (413 above it).
    pub body_bytes_max: u64,
    /// Largest request head (431 above it).
    pub head_bytes_max: usize,
    /// Time to receive a whole request once its first byte arrived (408 after it).
    pub request_timeout: Duration,
    /// Time an idle keep-alive connection is kept before it is closed silently.
    pub idle_timeout: Duration,
    /// Most open connections per shard (503 and close above it).
    pub connections_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes_max: BODY_BYTES_MAX_DEFAULT,
            head_bytes_max: HEAD_BYTES_MAX_DEFAULT,
            request_timeout: REQUEST_TIMEOUT_DEFAULT,
            idle_timeout: IDLE_TIMEOUT_DEFAULT,
            connections_max: CONNECTIONS_PER_SHARD_MAX_DEFAULT,
        }
    }
}

/// What a handler decided for a request before executing it.
pub enum Admit<T> {
    /// The handler already wrote the response (404, 405, 503, ...).
    Answered,
    /// Execute now.
    Run(T),
    /// Admitted into the shard's queue: let other ready requests reach admission first
    /// (so the queue depth the handler sees is real), then execute.
    Queue(T),
}

/// The shard side of a request: routing/admission (synchronous: it only looks at tables),
/// then execution, which is a future: an execution waiting on an effect (outbound HTTP,
/// a timer) suspends its connection's task, never the shard. An execution that needs no
/// effect completes on its first poll; the connection awaits it inline, so the fast path
/// pays neither a spawn nor a box.
pub trait RequestHandler {
    /// What admission hands to execution (the route, the plan it was admitted on).
    type Ticket;
    /// Routes and admits `request`; writes the response into `out` when it answers itself.
    fn admit(&self, request: &Request<'_>, out: &mut Vec<u8>) -> Admit<Self::Ticket>;
    /// Executes an admitted request and appends its response to `responder`.
    fn execute(
        &self,
        ticket: Self::Ticket,
        request: Request<'_>,
        responder: &mut Responder<'_>,
    ) -> impl std::future::Future<Output = ()>;
}

/// Where an execution writes its response. Responses of one connection leave in request
/// order (the connection runs one request at a time); pipelined answers gather in the
/// buffer and leave in one write, unless an execution must wait on an effect: then it
/// [`Responder::flush`]es first, so answers already known are not held back by the wait.
pub struct Responder<'c> {
    stream: &'c mut TcpStream,
    out: &'c mut Vec<u8>,
    broken: bool,
}

impl<'c> Responder<'c> {
    pub(crate) fn new(stream: &'c mut TcpStream, out: &'c mut Vec<u8>) -> Self {
        Responder {
            stream,
            out,
            broken: false,
        }
    }

    /// The response buffer (bytes not yet written).
    pub fn out(&mut self) -> &mut Vec<u8> {
        self.out
    }

    /// Writes the buffered bytes now. False when the peer is gone (the execution still
    /// finishes; its answer is dropped with the connection).
    pub async fn flush(&mut self) -> bool {
        if self.broken {
            return false;
        }
        if self.out.is_empty() {
            return true;
        }
        use futures_lite::AsyncWriteExt;
        let ok = self.stream.write_all(self.out).await.is_ok();
        self.out.clear();
        self.broken = !ok;
        ok
    }

    /// Whether an early write failed.
    pub fn broken(&self) -> bool {
        self.broken
    }
}

/// State shared by a shard's connection tasks (single-threaded: plain `Cell`s).
#[derive(Debug, Default)]
pub struct IngressState {
    /// Limits applied to every connection.
    pub limits: Limits,
    /// Open connections.
    pub connections: Cell<usize>,
    /// Set when the shard drains: stop accepting, close connections after their response.
    pub draining: Cell<bool>,
    /// Requests answered 408 because the client was too slow.
    pub timeouts: Cell<u64>,
}

impl IngressState {
    /// State with `limits`.
    pub fn new(limits: Limits) -> Self {
        IngressState {
            limits,
            ..IngressState::default()
        }
    }
}

/// Binds `addr` with SO_REUSEPORT (glommio sets it), so every shard binds the same port and
/// the kernel spreads connections over them.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).map_err(std::io::Error::from)
}

/// Accepts connections until `stop` resolves, serving each on its own task.
pub async fn serve<H: RequestHandler + 'static>(
    listener: TcpListener,
    handler: Rc<H>,
    state: Rc<IngressState>,
    stop: impl std::future::Future<Output = ()>,
) {
    let accept_loop = async {
        loop {
            match listener.accept().await {
                Ok(stream) => {
                    let handler = handler.clone();
                    let state = state.clone();
                    glommio::spawn_local(conn::serve_connection(stream, handler, state)).detach();
                }
                Err(error) => {
                    // EMFILE and friends: log and keep accepting; the listener stays valid.
                    tracing::warn!(%error, "accept failed");
                    glommio::timer::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    };
    future::or(accept_loop, stop).await;
}
