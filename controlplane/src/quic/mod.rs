//! The QUIC plan client: pushes sealed plans to data-plane nodes and asks what they run.
//!
//! Used by the control plane's deployer and by `linkflow plan submit|list|remove`. One
//! [`PlanClient`] per node keeps one QUIC connection open and reuses it for every request
//! (one bidirectional stream per request, see [`linkflow_codec::wire`]); a connection found
//! closed is replaced on the next request. Every request has a timeout; transient failures
//! (connection lost, timeout, node busy, a shard slow to acknowledge) are retried with the
//! platform's backoff ([`RetryPolicy`]: 100 ms, doubling, 10 s max, 3 attempts, ±10 %
//! jitter). Retrying a deploy is safe: a plan id the node already runs is a no-op.
//!
//! A Deploy writes the frame header and message, then the caller's sealed bytes straight
//! from its buffer: the plan is never copied into a frame.

mod retry;
mod tls;

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use linkflow_codec::wire::{
    self, codes, DeployReply, DeployRequest, FrameKind, FrameReader, HelloReply, HelloRequest,
    ListReply, Reply, Request, StatsReply, UndeployReply, UndeployRequest, WireError,
};
use tokio::sync::Mutex;

pub use retry::{jitter_unit, RetryPolicy};
pub use tls::{ClientTls, SERVER_NAME_DEFAULT};

/// Longest a connection attempt (UDP + TLS handshake) may take.
pub const CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
/// Longest one request may take (send, node applies on every shard, reply).
pub const REQUEST_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// Largest chunk read from a reply stream at once.
const CHUNK_BYTES_MAX: usize = 64 * 1024;
/// Keep-alive so an idle reused connection survives the node's idle timeout.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Why a request failed. [`QuicError::code`] gives the stable code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QuicError {
    /// Certificate files missing or invalid.
    #[error("LF-QUIC-001: TLS configuration: {0}")]
    Tls(String),
    /// The node could not be reached or the address not resolved (transient).
    #[error("LF-QUIC-002: connecting: {0}")]
    Connect(String),
    /// The TLS handshake was refused: unknown CA, wrong name, no client certificate.
    #[error("LF-QUIC-002: handshake refused: {0}")]
    Handshake(String),
    /// The request did not complete in time (transient).
    #[error("LF-QUIC-003: timed out: {0}")]
    Timeout(String),
    /// The stream or connection failed mid-request (transient).
    #[error("LF-QUIC-008: stream failed: {0}")]
    Stream(String),
    /// The node's reply is not a valid frame.
    #[error("{0}")]
    Wire(WireError),
    /// The node refused the request; nothing changed there.
    #[error("{code}: {message}")]
    Refused {
        /// The node's code (`LF-QUIC-NNN`, `LF-WIRE-NNN`).
        code: String,
        /// The node's message.
        message: String,
    },
    /// The node answered with a reply of another kind.
    #[error("LF-QUIC-012: unexpected reply: {0}")]
    Unexpected(String),
}

impl QuicError {
    /// The stable code.
    pub fn code(&self) -> &str {
        match self {
            QuicError::Tls(_) => codes::TLS_CONFIG,
            QuicError::Connect(_) | QuicError::Handshake(_) => codes::CONNECT,
            QuicError::Timeout(_) => codes::TIMEOUT,
            QuicError::Stream(_) => codes::STREAM,
            QuicError::Wire(e) => e.code(),
            QuicError::Refused { code, .. } => code,
            QuicError::Unexpected(_) => "LF-QUIC-012",
        }
    }

    /// Whether retrying may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            QuicError::Connect(_) | QuicError::Timeout(_) | QuicError::Stream(_) => true,
            QuicError::Refused { code, .. } => code == codes::BUSY || code == codes::SHARD_TIMEOUT,
            _ => false,
        }
    }
}

/// Client settings.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// Connect (and handshake) timeout.
    pub connect_timeout: Duration,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: CONNECT_TIMEOUT_DEFAULT,
            request_timeout: REQUEST_TIMEOUT_DEFAULT,
            retry: RetryPolicy::default(),
        }
    }
}

/// Options of one deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeployOptions {
    /// Install and route traffic (`false`: validate only).
    pub activate: bool,
    /// Accept a lower workflow version than the node runs (a rollback).
    pub allow_older: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            activate: true,
            allow_older: false,
        }
    }
}

/// A client of one data-plane node. Cheap to share (`&self` methods); requests from several
/// tasks run concurrently on the one connection.
#[derive(Debug)]
pub struct PlanClient {
    endpoint: quinn::Endpoint,
    addr: SocketAddr,
    server_name: String,
    options: ClientOptions,
    connection: Mutex<Option<quinn::Connection>>,
    /// Connections opened so far: a new one may reach a restarted node.
    connects: std::sync::atomic::AtomicU64,
}

impl PlanClient {
    /// Connects to `addr` (`HOST:PORT`) with default options. Must run inside a tokio
    /// runtime. Handshake problems (unknown CA) surface here.
    pub async fn connect(addr: &str, tls: &ClientTls) -> Result<PlanClient, QuicError> {
        Self::connect_with(addr, tls, ClientOptions::default()).await
    }

    /// [`PlanClient::connect`] with explicit options.
    pub async fn connect_with(
        addr: &str,
        tls: &ClientTls,
        options: ClientOptions,
    ) -> Result<PlanClient, QuicError> {
        let resolved = addr
            .to_socket_addrs()
            .map_err(|e| QuicError::Connect(format!("resolving {addr}: {e}")))?
            .next()
            .ok_or_else(|| QuicError::Connect(format!("{addr} resolves to no address")))?;
        let mut config = tls.client_config()?;
        let mut transport = quinn::TransportConfig::default();
        transport.keep_alive_interval(Some(KEEP_ALIVE_INTERVAL));
        config.transport_config(std::sync::Arc::new(transport));
        let bind: SocketAddr = if resolved.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let mut endpoint = quinn::Endpoint::client(bind)
            .map_err(|e| QuicError::Connect(format!("binding a UDP socket: {e}")))?;
        endpoint.set_default_client_config(config);
        let client = PlanClient {
            endpoint,
            addr: resolved,
            server_name: tls.server_name.clone(),
            options,
            connection: Mutex::new(None),
            connects: std::sync::atomic::AtomicU64::new(0),
        };
        // Connect now (with retries for a node still starting) so certificate problems are
        // reported by `connect`, not by the first request.
        client
            .with_retries(|| async { client.connection().await.map(drop) })
            .await?;
        Ok(client)
    }

    /// The node's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections this client has opened: a change means the node may have
    /// restarted since (and lost the plans it ran).
    pub fn connections(&self) -> u64 {
        self.connects.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Protocol version, node id and shard count.
    pub async fn hello(&self) -> Result<HelloReply, QuicError> {
        let request = Request::Hello(HelloRequest {
            protocol_version: wire::PROTOCOL_VERSION,
            client: format!("linkflow-controlplane {}", env!("CARGO_PKG_VERSION")),
        });
        match self.request(&request, &[]).await? {
            Reply::Hello(hello) => Ok(hello),
            other => Err(unexpected("hello", &other)),
        }
    }

    /// Installs a sealed plan on every shard of the node; returns after every shard did.
    pub async fn deploy(
        &self,
        sealed: &[u8],
        options: DeployOptions,
    ) -> Result<DeployReply, QuicError> {
        self.deploy_with_credentials(sealed, options, Vec::new())
            .await
    }

    /// [`PlanClient::deploy`] with the decrypted credentials the plan's nodes refer to: they
    /// travel in the Deploy message, inside this mutually authenticated TLS connection,
    /// and the node installs them with the plan (memory only).
    pub async fn deploy_with_credentials(
        &self,
        sealed: &[u8],
        options: DeployOptions,
        credentials: Vec<wire::DeployCredential>,
    ) -> Result<DeployReply, QuicError> {
        let request = Request::Deploy(DeployRequest {
            plan_bytes: sealed.len() as u64,
            activate: options.activate,
            allow_older: options.allow_older,
            credentials,
        });
        match self.request(&request, sealed).await? {
            Reply::Deployed(reply) => Ok(reply),
            other => Err(unexpected("deploy", &other)),
        }
    }

    /// Removes the plan with this plan id or workflow id from every shard.
    pub async fn undeploy(&self, target: &str) -> Result<UndeployReply, QuicError> {
        let request = Request::Undeploy(UndeployRequest {
            target: target.to_owned(),
        });
        match self.request(&request, &[]).await? {
            Reply::Undeployed(reply) => Ok(reply),
            other => Err(unexpected("undeploy", &other)),
        }
    }

    /// What every shard runs.
    pub async fn list(&self) -> Result<ListReply, QuicError> {
        match self.request(&Request::List, &[]).await? {
            Reply::Listing(reply) => Ok(reply),
            other => Err(unexpected("list", &other)),
        }
    }

    /// Per-shard counters and latency percentiles.
    pub async fn stats(&self) -> Result<StatsReply, QuicError> {
        match self.request(&Request::Stats, &[]).await? {
            Reply::Stats(reply) => Ok(reply),
            other => Err(unexpected("stats", &other)),
        }
    }

    /// Closes the connection (pending requests fail) and waits until the node knows.
    pub async fn close(&self) {
        if let Some(connection) = self.connection.lock().await.take() {
            connection.close(0u32.into(), b"client closing");
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }

    /// Sends `request` (and `body`) with retries of transient failures; a refusal by the
    /// node comes back as [`QuicError::Refused`].
    pub async fn request(&self, request: &Request, body: &[u8]) -> Result<Reply, QuicError> {
        let head = wire::encode_request(request).map_err(QuicError::Wire)?;
        let reply = self
            .with_retries(|| async {
                match self.request_once(&head, body).await? {
                    Reply::Error(error) => Err(QuicError::Refused {
                        code: error.code,
                        message: error.message,
                    }),
                    reply => Ok(reply),
                }
            })
            .await?;
        Ok(reply)
    }

    /// Sends `bytes` as they are on a new stream (no retries) and returns the node's reply,
    /// refusals included. For diagnostics and tests of the node's frame checks.
    pub async fn send_raw(&self, bytes: &[u8]) -> Result<Reply, QuicError> {
        self.request_once(bytes, &[]).await
    }

    async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T, QuicError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, QuicError>>,
    {
        let mut failed = 0;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) if error.is_transient() => {
                    failed += 1;
                    // The connection may be what failed: the next attempt opens a new one.
                    if matches!(error, QuicError::Stream(_) | QuicError::Timeout(_)) {
                        self.connection.lock().await.take();
                    }
                    match self.options.retry.delay(failed, jitter_unit()) {
                        Some(delay) => {
                            tracing::debug!(node = %self.addr, %error, ?delay, "retrying plan request");
                            tokio::time::sleep(delay).await;
                        }
                        None => return Err(error),
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The open connection, or a new one.
    async fn connection(&self) -> Result<quinn::Connection, QuicError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            if connection.close_reason().is_none() {
                return Ok(connection.clone());
            }
        }
        let connecting = self
            .endpoint
            .connect(self.addr, &self.server_name)
            .map_err(|e| QuicError::Connect(format!("{}: {e}", self.addr)))?;
        let connection = match tokio::time::timeout(self.options.connect_timeout, connecting).await
        {
            Err(_) => {
                return Err(QuicError::Connect(format!(
                    "{}: no answer within {} ms",
                    self.addr,
                    self.options.connect_timeout.as_millis()
                )))
            }
            Ok(Err(e)) => return Err(connection_error(self.addr, e)),
            Ok(Ok(connection)) => connection,
        };
        *slot = Some(connection.clone());
        self.connects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(connection)
    }

    async fn request_once(&self, head: &[u8], body: &[u8]) -> Result<Reply, QuicError> {
        let connection = self.connection().await?;
        let exchange = async {
            let (mut send, mut recv) = connection
                .open_bi()
                .await
                .map_err(|e| connection_error(self.addr, e))?;
            // A node that refuses a frame early stops reading; its reply still follows.
            let written = async {
                send.write_all(head).await?;
                if !body.is_empty() {
                    send.write_all(body).await?;
                }
                Ok::<_, quinn::WriteError>(())
            }
            .await;
            match written {
                Ok(()) => {
                    let _ = send.finish();
                }
                Err(quinn::WriteError::Stopped(_)) => {}
                Err(e) => return Err(QuicError::Stream(format!("sending the request: {e}"))),
            }
            let mut reader = FrameReader::new(FrameKind::Reply);
            loop {
                match recv.read_chunk(CHUNK_BYTES_MAX, true).await {
                    Ok(Some(chunk)) => {
                        let used = reader.push(&chunk.bytes).map_err(QuicError::Wire)?;
                        if used < chunk.bytes.len() {
                            return Err(QuicError::Wire(WireError::Trailing {
                                bytes: (chunk.bytes.len() - used) as u64,
                            }));
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Err(QuicError::Stream(format!("reading the reply: {e}"))),
                }
            }
            let frame = reader.finish().map_err(QuicError::Wire)?;
            wire::decode_reply(&frame.meta).map_err(QuicError::Wire)
        };
        match tokio::time::timeout(self.options.request_timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(QuicError::Timeout(format!(
                "no reply from {} within {} ms",
                self.addr,
                self.options.request_timeout.as_millis()
            ))),
        }
    }
}

fn connection_error(addr: SocketAddr, error: quinn::ConnectionError) -> QuicError {
    match &error {
        // TLS alerts (unknown CA, bad certificate) arrive as crypto transport errors.
        quinn::ConnectionError::TransportError(e) if is_crypto(e.code) => {
            QuicError::Handshake(format!("{addr}: {error}"))
        }
        quinn::ConnectionError::ConnectionClosed(c) if is_crypto(c.error_code) => {
            QuicError::Handshake(format!("{addr}: {error}"))
        }
        quinn::ConnectionError::TimedOut | quinn::ConnectionError::Reset => {
            QuicError::Connect(format!("{addr}: {error}"))
        }
        _ => QuicError::Stream(format!("{addr}: {error}")),
    }
}

/// QUIC carries TLS alerts as transport error codes 0x100..=0x1ff.
fn is_crypto(code: quinn::TransportErrorCode) -> bool {
    (0x100..=0x1ff).contains(&u64::from(code))
}

fn unexpected(asked: &str, reply: &Reply) -> QuicError {
    let kind = match reply {
        Reply::Hello(_) => "hello",
        Reply::Deployed(_) => "deployed",
        Reply::Undeployed(_) => "undeployed",
        Reply::Listing(_) => "listing",
        Reply::Stats(_) => "stats",
        Reply::Error(_) => "error",
    };
    QuicError::Unexpected(format!("asked {asked}, the node answered {kind}"))
}
