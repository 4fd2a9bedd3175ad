//! One HTTP/1.1 connection: read, frame, hand to the shard's handler, write. Pipelined
//! requests already in the buffer are answered before the next read, and their responses
//! leave in one write.

use std::io::ErrorKind;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use super::http::{self, code, Chunked, HEADERS_MAX};
use super::{Admit, IngressState, RequestHandler, Responder};

/// Bytes read per `recv` (the buffer grows for larger heads and bodies).
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Response bytes buffered before they are written even if more pipelined requests wait.
const OUT_FLUSH_BYTES: usize = 64 * 1024;
/// Longest single wait of an idle connection, so a draining shard closes idle keep-alive
/// connections promptly instead of after the whole idle timeout.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// A framed request. Strings and headers borrow the connection buffer; the body is mutable
/// so simd-json can parse it in place.
pub struct Request<'b> {
    /// Method as sent (n8n's methods are upper case).
    pub method: &'b str,
    /// Path without the query string.
    pub path: &'b str,
    /// Query string without `?` (may be empty).
    pub query: &'b str,
    /// Header lines as received.
    pub headers: &'b [httparse::Header<'b>],
    /// Body bytes (decoded when chunked).
    pub body: &'b mut [u8],
    /// The connection stays open after the response.
    pub keep_alive: bool,
}

impl<'b> Request<'b> {
    /// The first header named `name` (case-insensitive) as text, if present and UTF-8.
    pub fn header(&self, name: &str) -> Option<&'b str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    }
}

enum Step {
    /// A request was answered; look for the next one.
    Answered,
    /// The buffer holds no complete request.
    NeedBytes,
    /// Flush and close.
    Close,
}

struct Conn {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    out: Vec<u8>,
    chunk_body: Vec<u8>,
    continue_sent: bool,
    deadline: Option<Instant>,
    idle_since: Option<Instant>,
}

struct ConnectionSlot(Rc<IngressState>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.set(self.0.connections.get() - 1);
    }
}

pub(super) async fn serve_connection<H: RequestHandler>(
    mut stream: TcpStream,
    handler: Rc<H>,
    state: Rc<IngressState>,
) {
    if state.connections.get() >= state.limits.connections_max {
        let mut out = Vec::new();
        http::write_error(
            &mut out,
            503,
            code::OVERLOADED,
            "too many connections on this shard",
            &[("retry-after", "1")],
            false,
        );
        let _ = stream.write_all(&out).await;
        return;
    }
    state.connections.set(state.connections.get() + 1);
    let _slot = ConnectionSlot(state.clone());
    // Responses are written whole; Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        buf: vec![0; READ_CHUNK_BYTES],
        start: 0,
        end: 0,
        out: Vec::with_capacity(4096),
        chunk_body: Vec::new(),
        continue_sent: false,
        deadline: None,
        idle_since: None,
    };
    loop {
        match conn.step(&*handler, &state, &mut stream).await {
            Step::Answered => {
                if conn.out.len() >= OUT_FLUSH_BYTES && !flush(&mut stream, &mut conn.out).await {
                    return;
                }
            }
            Step::Close => {
                let _ = flush(&mut stream, &mut conn.out).await;
                return;
            }
            Step::NeedBytes => {
                if !flush(&mut stream, &mut conn.out).await {
                    return;
                }
                if !conn.read(&mut stream, &state).await {
                    let _ = flush(&mut stream, &mut conn.out).await;
                    return;
                }
            }
        }
    }
}

async fn flush(stream: &mut TcpStream, out: &mut Vec<u8>) -> bool {
    if out.is_empty() {
        return true;
    }
    let ok = stream.write_all(out).await.is_ok();
    out.clear();
    ok
}

impl Conn {
    /// Frames and answers the request at the front of the buffer, if it is complete.
    async fn step<H: RequestHandler>(
        &mut self,
        handler: &H,
        state: &IngressState,
        stream: &mut TcpStream,
    ) -> Step {
        let limits = state.limits;
        let Conn {
            buf,
            start,
            end,
            out,
            chunk_body,
            continue_sent,
            deadline,
            ..
        } = self;
        let pending = &mut buf[*start..*end];
        if pending.is_empty() {
            return Step::NeedBytes;
        }
        let Some(head_len) = http::head_end(pending) else {
            if pending.len() > limits.head_bytes_max {
                return too_large_head(out);
            }
            return Step::NeedBytes;
        };
        if head_len > limits.head_bytes_max {
            return too_large_head(out);
        }
        let (head, rest) = pending.split_at_mut(head_len);
        let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(head) {
            Ok(httparse::Status::Complete(_)) => {}
            Err(httparse::Error::TooManyHeaders) => return too_large_head(out),
            Ok(httparse::Status::Partial) | Err(_) => {
                return bad_request(out, "malformed HTTP request");
            }
        }
        let framing = match http::framing(&parsed) {
            Ok(framing) => framing,
            Err(http::FramingError::Bad(message)) => return bad_request(out, message),
        };
        let (body, consumed): (&mut [u8], usize) = if framing.chunked {
            match http::scan_chunked(rest, limits.body_bytes_max) {
                Chunked::Complete { consumed, .. } => {
                    http::decode_chunked(&rest[..consumed], chunk_body);
                    (&mut chunk_body[..], consumed)
                }
                Chunked::Partial => return need_body(out, framing.expect_continue, continue_sent),
                Chunked::TooLarge => return too_large_body(out),
                Chunked::Bad => return bad_request(out, "malformed chunked body"),
            }
        } else {
            let length = framing.content_length.unwrap_or(0);
            if length > limits.body_bytes_max {
                return too_large_body(out);
            }
            let length = length as usize;
            if rest.len() < length {
                return need_body(out, framing.expect_continue, continue_sent);
            }
            (&mut rest[..length], length)
        };
        // `Complete` guarantees method and path.
        let method = parsed.method.unwrap_or("GET");
        let target = parsed.path.unwrap_or("/");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let keep_alive = framing.keep_alive && !state.draining.get();
        let request = Request {
            method,
            path,
            query,
            headers: parsed.headers,
            body,
            keep_alive,
        };
        let broken = match handler.admit(&request, out) {
            Admit::Answered => false,
            Admit::Run(ticket) => {
                let mut responder = Responder::new(stream, out);
                handler.execute(ticket, request, &mut responder).await;
                responder.broken()
            }
            Admit::Queue(ticket) => {
                // Let the other connections with ready requests reach admission, so the
                // queue depth admission sees counts them, then run.
                futures_lite::future::yield_now().await;
                let mut responder = Responder::new(stream, out);
                handler.execute(ticket, request, &mut responder).await;
                responder.broken()
            }
        };
        if broken {
            return Step::Close;
        }
        *start += head_len + consumed;
        if *start == *end {
            *start = 0;
            *end = 0;
        }
        *continue_sent = false;
        *deadline = None;
        if keep_alive {
            Step::Answered
        } else {
            Step::Close
        }
    }

    /// Reads more bytes; false when the connection must close (peer gone, timeout).
    async fn read(&mut self, stream: &mut TcpStream, state: &IngressState) -> bool {
        let limits = state.limits;
        let mid_request = self.start < self.end;
        let timeout = if mid_request {
            let now = Instant::now();
            let deadline = *self.deadline.get_or_insert(now + limits.request_timeout);
            deadline.saturating_duration_since(now)
        } else {
            if state.draining.get() {
                return false;
            }
            let now = Instant::now();
            let idle_since = *self.idle_since.get_or_insert(now);
            let left = limits
                .idle_timeout
                .saturating_sub(now.duration_since(idle_since));
            if left.is_zero() {
                return false;
            }
            left.min(IDLE_POLL)
        };
        if timeout.is_zero() {
            self.request_timeout(state);
            return false;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let grown = (self.buf.len() * 2).max(READ_CHUNK_BYTES);
                self.buf.resize(grown, 0);
            }
        }
        // glommio refuses a zero timeout; the check above keeps it positive.
        let _ = stream.set_read_timeout(Some(timeout.max(Duration::from_millis(1))));
        match stream.read(&mut self.buf[self.end..]).await {
            Ok(0) => false,
            Ok(n) => {
                self.end += n;
                self.idle_since = None;
                true
            }
            Err(error) if error.kind() == ErrorKind::TimedOut => {
                if mid_request {
                    self.request_timeout(state);
                    return false;
                }
                // An idle poll elapsed: the next call checks draining and the idle limit.
                true
            }
            Err(_) => false,
        }
    }

    fn request_timeout(&mut self, state: &IngressState) {
        state.timeouts.set(state.timeouts.get() + 1);
        http::write_error(
            &mut self.out,
            408,
            code::REQUEST_TIMEOUT,
            "the request was not received in time",
            &[],
            false,
        );
    }
}

fn need_body(out: &mut Vec<u8>, expect_continue: bool, continue_sent: &mut bool) -> Step {
    // The client waits for this before sending the body (RFC 9110 §10.1.1).
    if expect_continue && !*continue_sent {
        out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        *continue_sent = true;
    }
    Step::NeedBytes
}

fn bad_request(out: &mut Vec<u8>, message: &str) -> Step {
    http::write_error(out, 400, code::BAD_REQUEST, message, &[], false);
    Step::Close
}

fn too_large_head(out: &mut Vec<u8>) -> Step {
    http::write_error(
        out,
        431,
        code::HEADERS_TOO_LARGE,
        "the request head is larger than the limit",
        &[],
        false,
    );
    Step::Close
}

fn too_large_body(out: &mut Vec<u8>) -> Step {
    http::write_error(
        out,
        413,
        code::PAYLOAD_TOO_LARGE,
        "the request body is larger than the limit",
        &[],
        false,
    );
    Step::Close
}
