//! The QUIC plan receiver: how plans reach a running node.
//!
//! quinn needs tokio, and the hot-path rules keep tokio off the shards, so the receiver runs
//! on its own thread (`lf-control`) with a current-thread tokio runtime. It talks to the
//! shards only through the node's [`ShardLink`] (channel messages), like the admin port.
//!
//! Protocol ([`linkflow_codec::wire`]): mutual TLS 1.3 (the client certificate must chain
//! to the configured CA; there is no plaintext mode), ALPN `linkflow-plan/1`, one request
//! frame per bidirectional stream, one reply frame back. A Deploy's sealed plan streams
//! from the wire into one aligned buffer, is validated once (envelope: header, hash,
//! bytecheck), then shared by every shard; the reply is sent after every shard installed it
//! and lists each shard's plan table generation. Installs and removals are serialized, so
//! the idempotency check (same plan id: no-op) and the version check see a settled state.
//! A refused plan changes nothing: the node keeps serving what it had.
//!
//! Bounds: [`CONNECTIONS_MAX`] connections, [`STREAMS_PER_CONNECTION_MAX`] streams each,
//! [`REQUESTS_IN_FLIGHT_MAX`] requests buffered at once (each up to
//! [`linkflow_codec::wire::PLAN_BYTES_MAX`]), [`REQUEST_TIMEOUT`] per request.

mod apply;
mod serve;
mod tls;

use std::net::SocketAddr;
use std::time::Duration;

pub use apply::SHARD_ACK_TIMEOUT;
pub use tls::{load_certs, load_key, server_config, ServerTlsFiles};

use crate::node::ShardLink;

/// Most client connections at once; more are refused at the handshake.
pub const CONNECTIONS_MAX: usize = 64;
/// Most concurrent request streams per connection (QUIC flow control enforces it).
pub const STREAMS_PER_CONNECTION_MAX: u8 = 16;
/// Most requests being read or applied at once across all connections; more get
/// `LF-QUIC-010` (busy) without their frame being buffered.
pub const REQUESTS_IN_FLIGHT_MAX: usize = 8;
/// Longest a request may take from stream open to reply (reading a large plan included).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// A connection without traffic for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the receiver waits for a client to take its reply before closing the stream.
pub const REPLY_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest the receiver may take to bind and start.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the receiver did not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Certificate, key or CA files are missing or invalid.
    #[error("LF-QUIC-001: TLS configuration: {0}")]
    Tls(String),
    /// The UDP socket could not be bound or the runtime could not start.
    #[error("LF-QUIC-011: plan receiver on {addr}: {message}")]
    Start {
        /// The address.
        addr: SocketAddr,
        /// The reason.
        message: String,
    },
}

/// Settings of the receiver.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// UDP address to listen on (port 0 picks a free port).
    pub addr: SocketAddr,
    /// Certificate files.
    pub tls: ServerTlsFiles,
    /// Node id reported in Hello replies.
    pub node_id: String,
}

/// A running receiver; stops when [`ReceiverHandle::stop`] is called or it is dropped.
#[derive(Debug)]
pub struct ReceiverHandle {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReceiverHandle {
    /// The bound UDP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection and joins the control thread.
    pub fn stop(mut self) {
        self.shutdown_and_join();
    }

    fn shutdown_and_join(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ReceiverHandle {
    fn drop(&mut self) {
        self.shutdown_and_join();
    }
}

/// Starts the receiver on `addr` with the certificates `tls`, installing into the shards of
/// `link`. Returns once the socket is bound; certificate problems are reported here.
pub fn spawn_quic_receiver(
    addr: SocketAddr,
    tls: ServerTlsFiles,
    link: ShardLink,
) -> Result<ReceiverHandle, ControlError> {
    let node_id = format!("linkflow-node@{addr}");
    spawn_receiver(ReceiverConfig { addr, tls, node_id }, link)
}

/// [`spawn_quic_receiver`] with every setting.
pub fn spawn_receiver(
    config: ReceiverConfig,
    link: ShardLink,
) -> Result<ReceiverHandle, ControlError> {
    let server_config = tls::server_config(&config.tls)?;
    let start_error = |message: String| ControlError::Start {
        addr: config.addr,
        message,
    };
    let socket = std::net::UdpSocket::bind(config.addr).map_err(|e| start_error(e.to_string()))?;
    let addr = socket
        .local_addr()
        .map_err(|e| start_error(e.to_string()))?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel();
    let (started_tx, started_rx) = std::sync::mpsc::sync_channel(1);
    let node_id = config.node_id.clone();
    let thread = std::thread::Builder::new()
        .name("lf-control".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = started_tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(serve::run(
                socket,
                server_config,
                serve::Context::new(link, node_id),
                started_tx,
                shutdown_rx,
            ));
        })
        .map_err(|e| start_error(e.to_string()))?;
    let mut handle = ReceiverHandle {
        addr,
        shutdown: Some(shutdown_tx),
        thread: Some(thread),
    };
    match started_rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(())) => {
            tracing::info!(quic = %addr, node = %config.node_id, "plan receiver started");
            Ok(handle)
        }
        Ok(Err(message)) => {
            handle.shutdown_and_join();
            Err(start_error(message))
        }
        Err(e) => {
            handle.shutdown_and_join();
            Err(start_error(format!("did not start: {e}")))
        }
    }
}
