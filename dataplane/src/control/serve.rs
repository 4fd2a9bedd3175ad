//! The receiver's event loop: accept connections, one task per request stream.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use linkflow_codec::envelope::SealedBytes;
use linkflow_codec::wire::{
    self, codes, FrameKind, FrameReader, HelloReply, Reply, Request, WireError,
};
use tokio::sync::{oneshot, Mutex, Semaphore};

use super::{apply, CONNECTIONS_MAX, REPLY_FLUSH_TIMEOUT, REQUESTS_IN_FLIGHT_MAX, REQUEST_TIMEOUT};
use crate::node::ShardLink;

/// Largest chunk taken from a stream at once (quinn hands out what it has buffered).
const CHUNK_BYTES_MAX: usize = 256 * 1024;
/// QUIC application error code sent when the receiver stops reading a stream early.
const STOP_CODE_REFUSED: u32 = 1;
/// How long shutdown waits for connections to close cleanly.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// What every connection task shares.
#[derive(Clone)]
pub(super) struct Context {
    link: ShardLink,
    node_id: Arc<str>,
    /// Bounds requests buffered or applied at once.
    permits: Arc<Semaphore>,
    /// Serializes installs and removals so checks and changes see a settled plan table.
    apply_lock: Arc<Mutex<()>>,
    connections: Arc<AtomicUsize>,
}

impl Context {
    pub(super) fn new(link: ShardLink, node_id: String) -> Self {
        Context {
            link,
            node_id: node_id.into(),
            permits: Arc::new(Semaphore::new(REQUESTS_IN_FLIGHT_MAX)),
            apply_lock: Arc::new(Mutex::new(())),
            connections: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// Runs until `shutdown` fires. `started` receives `Ok` once the endpoint accepts.
pub(super) async fn run(
    socket: std::net::UdpSocket,
    server_config: quinn::ServerConfig,
    context: Context,
    started: std::sync::mpsc::SyncSender<Result<(), String>>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let endpoint = match quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(server_config),
        socket,
        Arc::new(quinn::TokioRuntime),
    ) {
        Ok(endpoint) => endpoint,
        Err(e) => {
            let _ = started.send(Err(e.to_string()));
            return;
        }
    };
    let _ = started.send(Ok(()));
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                if context.connections.load(Ordering::Relaxed) >= CONNECTIONS_MAX {
                    tracing::warn!(remote = %incoming.remote_address(), "plan receiver: connection refused, at CONNECTIONS_MAX");
                    incoming.refuse();
                    continue;
                }
                tokio::spawn(connection(incoming, context.clone()));
            }
        }
    }
    endpoint.close(0u32.into(), b"node stopping");
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, endpoint.wait_idle()).await;
    tracing::info!("plan receiver stopped");
}

async fn connection(incoming: quinn::Incoming, context: Context) {
    let remote = incoming.remote_address();
    let connecting = match incoming.accept() {
        Ok(connecting) => connecting,
        Err(e) => {
            tracing::warn!(%remote, error = %e, "plan receiver: connection failed");
            return;
        }
    };
    let connection = match connecting.await {
        Ok(connection) => connection,
        Err(e) => {
            // Unknown CA, no client certificate, wrong ALPN: refused in the handshake.
            tracing::warn!(%remote, error = %e, "plan receiver: handshake refused");
            return;
        }
    };
    context.connections.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(%remote, "plan client connected");
    while let Ok((send, recv)) = connection.accept_bi().await {
        tokio::spawn(stream(send, recv, context.clone()));
    }
    context.connections.fetch_sub(1, Ordering::Relaxed);
}

/// Serves one request stream: read one frame, apply it, write one reply.
async fn stream(mut send: quinn::SendStream, mut recv: quinn::RecvStream, context: Context) {
    let reply = match context.permits.clone().try_acquire_owned() {
        Err(_) => apply::error(
            codes::BUSY,
            format!("{REQUESTS_IN_FLIGHT_MAX} requests in progress; retry later"),
        ),
        Ok(_permit) => {
            match tokio::time::timeout(REQUEST_TIMEOUT, handle(&mut recv, &context)).await {
                Ok(reply) => reply,
                Err(_) => apply::error(
                    codes::TIMEOUT,
                    format!(
                        "request not complete within {} s",
                        REQUEST_TIMEOUT.as_secs()
                    ),
                ),
            }
        }
    };
    // Whatever is still unread (a refused frame's rest) is not wanted.
    let _ = recv.stop(STOP_CODE_REFUSED.into());
    let bytes = match wire::encode_reply(&reply) {
        Ok(bytes) => bytes,
        Err(e) => match wire::encode_reply(&apply::error(e.code(), e.to_string())) {
            Ok(bytes) => bytes,
            Err(_) => return,
        },
    };
    if send.write_all(&bytes).await.is_err() || send.finish().is_err() {
        return;
    }
    // quinn drops unacknowledged data when a stream is dropped; wait for the peer to take it.
    let _ = tokio::time::timeout(REPLY_FLUSH_TIMEOUT, send.stopped()).await;
}

fn wire_error(e: WireError) -> Reply {
    apply::error(e.code(), e.to_string())
}

async fn handle(recv: &mut quinn::RecvStream, context: &Context) -> Reply {
    let (request, body) = match read_request(recv).await {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    match request {
        Request::Hello(hello) if hello.protocol_version != wire::PROTOCOL_VERSION => apply::error(
            codes::PROTOCOL,
            format!(
                "client speaks protocol {}, node speaks {}",
                hello.protocol_version,
                wire::PROTOCOL_VERSION
            ),
        ),
        Request::Hello(hello) => {
            tracing::debug!(client = %hello.client, "plan client hello");
            Reply::Hello(HelloReply {
                protocol_version: wire::PROTOCOL_VERSION,
                node_id: context.node_id.to_string(),
                shards: context.link.shards() as u32,
            })
        }
        Request::Deploy(deploy) => {
            let _applying = context.apply_lock.lock().await;
            let link = context.link.clone();
            blocking(move || apply::deploy(&link, deploy, body)).await
        }
        Request::Undeploy(undeploy) => {
            let _applying = context.apply_lock.lock().await;
            let link = context.link.clone();
            blocking(move || apply::undeploy(&link, &undeploy.target)).await
        }
        Request::List => {
            let link = context.link.clone();
            blocking(move || apply::list(&link)).await
        }
        Request::Stats => {
            let link = context.link.clone();
            blocking(move || apply::stats(&link)).await
        }
    }
}

/// Runs shard round trips (blocking channel waits) and plan validation off the runtime
/// thread, so other streams keep moving.
async fn blocking(f: impl FnOnce() -> Reply + Send + 'static) -> Reply {
    match tokio::task::spawn_blocking(f).await {
        Ok(reply) => reply,
        Err(e) => apply::error(codes::STREAM, format!("request task failed: {e}")),
    }
}

async fn read_request(recv: &mut quinn::RecvStream) -> Result<(Request, SealedBytes), Reply> {
    let mut reader = FrameReader::new(FrameKind::Request);
    loop {
        match recv.read_chunk(CHUNK_BYTES_MAX, true).await {
            Ok(Some(chunk)) => {
                let used = reader.push(&chunk.bytes).map_err(wire_error)?;
                if used < chunk.bytes.len() {
                    return Err(wire_error(WireError::Trailing {
                        bytes: (chunk.bytes.len() - used) as u64,
                    }));
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Err(apply::error(
                    codes::STREAM,
                    format!("reading the request after {} bytes: {e}", reader.received()),
                ))
            }
        }
    }
    let frame = reader.finish().map_err(wire_error)?;
    let request = wire::decode_request(&frame.header, &frame.meta).map_err(wire_error)?;
    Ok((request, frame.body))
}
