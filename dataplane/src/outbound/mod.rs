//! Outbound HTTP for the HTTP Request node, on the shard that runs the execution.
//!
//! One [`Client`] per shard: HTTP/1.1 over glommio's `TcpStream`, TLS through rustls
//! (ring provider), a pool of idle keep-alive connections per host, a circuit breaker per
//! host and retries with backoff. The decisions (framing, retry, breaker) are sans-IO
//! modules with their own tests: [`http1`], [`policy`], [`url`]; this file only performs
//! them. Nothing here is shared across shards: no locks, no atomics.
//!
//! Limits: a call takes at most its timeout for each attempt (30 s by default, the node's
//! `timeout` option when set), at most [`policy::RetryPolicy::attempts_max`] attempts,
//! responses at most [`OutboundConfig::response_bytes_max`] bytes, at most
//! [`OutboundConfig::idle_per_host_max`] idle connections per host and
//! [`HOSTS_MAX`] hosts with state per shard.

pub mod http1;
pub mod policy;
pub mod tls;
pub mod url;

use std::cell::{Cell, OnceCell, RefCell};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bumpalo::Bump;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use crate::engine::node::{EffectResult, HttpRequest, HttpResponse};
use crate::engine::nodes::http_request::request::TIMEOUT_MS_DEFAULT as NODE_TIMEOUT_MS_UNSET;
use policy::{Attempt, Breaker, BreakerPolicy, Decision, RetryPolicy};

/// Default timeout of one attempt when the node sets none, milliseconds.
pub const TIMEOUT_MS_DEFAULT: u32 = 30_000;
/// Default largest response body (as the webhook request limit).
pub const RESPONSE_BYTES_MAX_DEFAULT: u64 = 16 * 1024 * 1024;
/// Default idle keep-alive connections kept per host.
pub const IDLE_PER_HOST_MAX_DEFAULT: usize = 16;
/// Default time an idle pooled connection is kept.
pub const IDLE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(20);
/// Hosts with a pool and a breaker per shard; past it the least recently used is dropped.
pub const HOSTS_MAX: usize = 1024;
/// Bytes read per `recv` of a response.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Error code: the URL is not an absolute http(s) URL.
pub const CODE_URL: &str = "LF-OUTBOUND-001";
/// Error code: the connection could not be made (DNS, refused, TLS handshake).
pub const CODE_CONNECT: &str = "LF-OUTBOUND-002";
/// Error code: the call took longer than its timeout.
pub const CODE_TIMEOUT: &str = "LF-OUTBOUND-003";
/// Error code: the host's circuit breaker is open.
pub const CODE_BREAKER_OPEN: &str = "LF-OUTBOUND-004";
/// Error code: the response is larger than the limit.
pub const CODE_TOO_LARGE: &str = "LF-OUTBOUND-005";
/// Error code: the peer broke the exchange (reset, malformed response).
pub const CODE_EXCHANGE: &str = "LF-OUTBOUND-006";

/// Outbound settings of a shard.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Timeout of one attempt when the node sets none.
    pub timeout_ms_default: u32,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Breaker policy.
    pub breaker: BreakerPolicy,
    /// Largest response body.
    pub response_bytes_max: u64,
    /// Idle connections kept per host.
    pub idle_per_host_max: usize,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
    /// PEM bundle of trusted roots (`None`: no system roots).
    pub ca_file: Option<PathBuf>,
    /// Extra trusted roots (DER), e.g. a private CA.
    pub extra_roots: Vec<Vec<u8>>,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            timeout_ms_default: TIMEOUT_MS_DEFAULT,
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
            response_bytes_max: RESPONSE_BYTES_MAX_DEFAULT,
            idle_per_host_max: IDLE_PER_HOST_MAX_DEFAULT,
            idle_timeout: IDLE_TIMEOUT_DEFAULT,
            ca_file: Some(PathBuf::from(tls::SYSTEM_CA_FILE)),
            extra_roots: Vec::new(),
        }
    }
}

/// A connection to a host, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<futures_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
        }
    }
}

/// Pool and breaker of one host.
struct Host {
    tls: bool,
    name: String,
    port: u16,
    breaker: Breaker,
    idle: Vec<(Stream, Instant)>,
    used: Instant,
}

/// Why one attempt failed.
enum Failure {
    Connect(String),
    Timeout,
    TooLarge,
    Exchange(String),
}

/// The shard's HTTP client.
pub struct Client {
    config: OutboundConfig,
    tls: OnceCell<Result<Arc<rustls::ClientConfig>, String>>,
    hosts: RefCell<Vec<Host>>,
    random: Cell<u64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("hosts", &self.hosts.borrow().len())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with `config`; TLS roots are loaded at the first https call.
    pub fn new(config: OutboundConfig) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64);
        Client {
            config,
            tls: OnceCell::new(),
            hosts: RefCell::new(Vec::new()),
            random: Cell::new(seed | 1),
        }
    }

    /// Performs `request` with retries and the host's breaker; the response (or the
    /// failure message) lives in `arena`.
    pub async fn call<'a>(&self, arena: &'a Bump, request: &HttpRequest<'_>) -> EffectResult<'a> {
        let fail = |code: &str, message: &str| {
            EffectResult::HttpFailed(arena.alloc_str(&format!("{code}: {message}")))
        };
        let target = match url::parse(request.url) {
            Ok(target) => target,
            Err(_) => {
                return fail(
                    CODE_URL,
                    &format!(
                        "Invalid URL: {} (expected http:// or https://)",
                        request.shown_url()
                    ),
                )
            }
        };
        let timeout_ms = match request.timeout_ms {
            0 | NODE_TIMEOUT_MS_UNSET => self.config.timeout_ms_default,
            ms => ms,
        };
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        let mut wire = Vec::with_capacity(256 + request.body.len());
        http1::write_request(
            &mut wire,
            request.method,
            &target,
            request.headers,
            request.body,
        );
        let head_request = request.method.eq_ignore_ascii_case("HEAD");
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let host = self.host_index(&target);
            let permit = match self.hosts.borrow_mut()[host].breaker.admit(now_ms()) {
                Ok(permit) => permit,
                Err(until_ms) => {
                    return fail(
                        CODE_BREAKER_OPEN,
                        &format!(
                            "the circuit breaker for {}:{} is open (too many failures); calls resume in {} ms",
                            target.host,
                            target.port,
                            (until_ms - now_ms()).max(0)
                        ),
                    )
                }
            };
            let result =
                futures_lite::future::or(self.attempt(&target, &wire, head_request), async {
                    glommio::timer::sleep(timeout).await;
                    Err(Failure::Timeout)
                })
                .await;
            let outcome = match &result {
                Ok(parsed) => Attempt::Status {
                    status: parsed.status,
                    retry_after_ms: parsed
                        .headers
                        .iter()
                        .find(|(n, _)| n == "retry-after")
                        .and_then(|(_, v)| policy::retry_after_ms(v, now_ms())),
                },
                Err(Failure::Connect(_)) => Attempt::ConnectFailed,
                Err(_) => Attempt::Failed,
            };
            let healthy = matches!(&result, Ok(parsed) if parsed.status < 500);
            if let Some(host) = self.find_host(&target) {
                self.hosts.borrow_mut()[host]
                    .breaker
                    .record(permit, healthy, now_ms());
            }
            match self
                .config
                .retry
                .decide(attempt, outcome, self.next_random())
            {
                Decision::Retry { wait_ms } => {
                    tracing::debug!(
                        url = request.shown_url(),
                        attempt,
                        wait_ms,
                        "retrying outbound call"
                    );
                    glommio::timer::sleep(Duration::from_millis(wait_ms)).await;
                }
                Decision::Stop => {
                    return match result {
                        Ok(parsed) => EffectResult::Http(into_arena(arena, parsed)),
                        Err(Failure::Connect(message)) => fail(CODE_CONNECT, &message),
                        Err(Failure::Timeout) => fail(
                            CODE_TIMEOUT,
                            &format!(
                                "timeout of {timeout_ms}ms exceeded calling {}",
                                request.shown_url()
                            ),
                        ),
                        Err(Failure::TooLarge) => fail(
                            CODE_TOO_LARGE,
                            &format!(
                                "the response is larger than {} bytes",
                                self.config.response_bytes_max
                            ),
                        ),
                        Err(Failure::Exchange(message)) => fail(CODE_EXCHANGE, &message),
                    };
                }
            }
        }
    }

    /// One exchange: a pooled or new connection, the request, the response.
    async fn attempt(
        &self,
        target: &url::Target<'_>,
        wire: &[u8],
        head_request: bool,
    ) -> Result<http1::Parsed, Failure> {
        // A pooled connection may have been closed by the peer meanwhile: a failure on it
        // before any response byte is retried once on a fresh connection.
        if let Some(mut stream) = self.take_idle(target) {
            match self.exchange(&mut stream, wire, head_request).await {
                Ok((parsed, _)) => {
                    if parsed.reusable {
                        self.put_idle(target, stream);
                    }
                    return Ok(parsed);
                }
                Err((failure, false)) => return Err(failure),
                Err((_, true)) => {}
            }
        }
        let mut stream = self.connect(target).await?;
        match self.exchange(&mut stream, wire, head_request).await {
            Ok((parsed, _)) => {
                if parsed.reusable {
                    self.put_idle(target, stream);
                }
                Ok(parsed)
            }
            Err((failure, _)) => Err(failure),
        }
    }

    /// Writes `wire` and reads one response. On error, the flag says whether nothing of a
    /// response was received (a stale pooled connection).
    async fn exchange(
        &self,
        stream: &mut Stream,
        wire: &[u8],
        head_request: bool,
    ) -> Result<(http1::Parsed, bool), (Failure, bool)> {
        if let Err(error) = stream.write_all(wire).await {
            return Err((Failure::Exchange(error.to_string()), true));
        }
        let limit = self.config.response_bytes_max;
        let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK_BYTES);
        let mut chunk = vec![0u8; READ_CHUNK_BYTES];
        loop {
            let (n, eof) = match stream.read(&mut chunk).await {
                Ok(0) => (0, true),
                Ok(n) => (n, false),
                Err(error) => return Err((Failure::Exchange(error.to_string()), buf.is_empty())),
            };
            if eof && buf.is_empty() {
                return Err((
                    Failure::Exchange("the connection closed without a response".into()),
                    true,
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            match http1::parse_response(&buf, head_request, eof, limit) {
                http1::Progress::More => {}
                http1::Progress::Done(parsed) => return Ok((parsed, false)),
                http1::Progress::TooLarge => return Err((Failure::TooLarge, false)),
                http1::Progress::Bad(why) => return Err((Failure::Exchange(why.into()), false)),
            }
            if buf.len() as u64 > limit + http1::RESPONSE_HEAD_BYTES_MAX as u64 {
                return Err((Failure::TooLarge, false));
            }
        }
    }

    async fn connect(&self, target: &url::Target<'_>) -> Result<Stream, Failure> {
        let addr = resolve(target.host, target.port).await?;
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| Failure::Connect(format!("connecting to {addr}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        if !target.tls {
            return Ok(Stream::Plain(tcp));
        }
        let config = self
            .tls
            .get_or_init(|| {
                tls::client_config(self.config.ca_file.as_deref(), &self.config.extra_roots)
            })
            .clone()
            .map_err(Failure::Connect)?;
        let name = rustls::pki_types::ServerName::try_from(target.host.to_owned())
            .map_err(|e| Failure::Connect(format!("server name {}: {e}", target.host)))?;
        let stream = futures_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| Failure::Connect(format!("TLS handshake with {}: {e}", target.host)))?;
        Ok(Stream::Tls(Box::new(stream)))
    }

    fn find_host(&self, target: &url::Target<'_>) -> Option<usize> {
        self.hosts
            .borrow()
            .iter()
            .position(|h| h.tls == target.tls && h.port == target.port && h.name == target.host)
    }

    /// The index of `target`'s host state, created (evicting the least recently used one
    /// past [`HOSTS_MAX`]) when new.
    fn host_index(&self, target: &url::Target<'_>) -> usize {
        if let Some(index) = self.find_host(target) {
            self.hosts.borrow_mut()[index].used = Instant::now();
            return index;
        }
        let mut hosts = self.hosts.borrow_mut();
        if hosts.len() >= HOSTS_MAX {
            let oldest = hosts
                .iter()
                .enumerate()
                .min_by_key(|(_, h)| h.used)
                .map_or(0, |(i, _)| i);
            hosts.swap_remove(oldest);
        }
        hosts.push(Host {
            tls: target.tls,
            name: target.host.to_owned(),
            port: target.port,
            breaker: Breaker::new(self.config.breaker),
            idle: Vec::new(),
            used: Instant::now(),
        });
        hosts.len() - 1
    }

    fn take_idle(&self, target: &url::Target<'_>) -> Option<Stream> {
        let index = self.find_host(target)?;
        let mut hosts = self.hosts.borrow_mut();
        let idle = &mut hosts[index].idle;
        let now = Instant::now();
        idle.retain(|(_, since)| now.duration_since(*since) < self.config.idle_timeout);
        idle.pop().map(|(stream, _)| stream)
    }

    fn put_idle(&self, target: &url::Target<'_>, stream: Stream) {
        let Some(index) = self.find_host(target) else {
            return;
        };
        let mut hosts = self.hosts.borrow_mut();
        let idle = &mut hosts[index].idle;
        if idle.len() < self.config.idle_per_host_max {
            idle.push((stream, Instant::now()));
        }
    }

    /// The breaker state of `host:port` (plain HTTP), for tests and metrics.
    pub fn breaker_state(&self, tls: bool, host: &str, port: u16) -> Option<policy::BreakerState> {
        self.hosts
            .borrow()
            .iter()
            .find(|h| h.tls == tls && h.port == port && h.name == host)
            .map(|h| h.breaker.state())
    }

    /// xorshift64: jitter needs spread, not secrecy.
    fn next_random(&self) -> u64 {
        let mut x = self.random.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random.set(x);
        x
    }
}

/// Resolves `host`: IP literals and `localhost` at once, other names on glommio's
/// blocking thread (getaddrinfo blocks; the shard must not).
async fn resolve(host: &str, port: u16) -> Result<SocketAddr, Failure> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let name = host.to_owned();
    let resolved = glommio::executor()
        .spawn_blocking(move || {
            (name.as_str(), port)
                .to_socket_addrs()
                .map(|mut a| a.next())
        })
        .await;
    match resolved {
        Ok(Some(addr)) => Ok(addr),
        Ok(None) => Err(Failure::Connect(format!("{host} has no address"))),
        Err(error) => Err(Failure::Connect(format!("resolving {host}: {error}"))),
    }
}

/// Copies a parsed response into the execution's arena.
fn into_arena<'a>(arena: &'a Bump, parsed: http1::Parsed) -> HttpResponse<'a> {
    let headers = arena.alloc_slice_fill_iter(
        parsed
            .headers
            .iter()
            .map(|(n, v)| (&*arena.alloc_str(n), &*arena.alloc_str(v))),
    );
    HttpResponse {
        status: parsed.status,
        headers,
        body: arena.alloc_slice_copy(&parsed.body),
    }
}

/// Wall clock in Unix epoch milliseconds (breaker and Retry-After dates).
fn now_ms() -> i64 {
    crate::shard::now_ms()
}
