//! The bare reference server: the same shards, listeners and HTTP layer as the data
//! plane, answering every request with a fixed response and no workflow. What
//! `bench/src/bin/bare_server.rs` runs to measure the cost of the workflow itself.

use std::net::SocketAddr;
use std::rc::Rc;

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};

use super::{bind, http, serve, Admit, IngressState, Limits, Request, RequestHandler, Responder};
use crate::node::affinity_cpus;

/// Answers every request with the same status, content type and body.
#[derive(Debug, Clone)]
pub struct FixedResponse {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RequestHandler for FixedResponse {
    type Ticket = ();

    fn admit(&self, _request: &Request<'_>, _out: &mut Vec<u8>) -> Admit<()> {
        Admit::Run(())
    }

    async fn execute(&self, _ticket: (), request: Request<'_>, responder: &mut Responder<'_>) {
        http::write_response(
            responder.out(),
            self.status,
            [("content-type", self.content_type.as_str())],
            &self.body,
            request.keep_alive,
        );
    }
}

/// Starts `shards` executors (pinned to the affinity mask's CPUs unless `unbound`), each
/// with its own SO_REUSEPORT listener on `addr`, answering with `response`. Returns the
/// bound address and the executors (which run until the process ends).
pub fn start_fixed_server(
    addr: SocketAddr,
    shards: usize,
    unbound: bool,
    response: FixedResponse,
) -> std::io::Result<(SocketAddr, Vec<ExecutorJoinHandle<()>>)> {
    start_handler_server(addr, shards, unbound, move || response.clone())
}

/// Like [`start_fixed_server`], with any handler: `make` builds one handler on each shard
/// (handlers are single-threaded, so each shard owns its own). What the benchmark servers
/// (echo, periodic stall) are built on, so they share the data plane's port handling.
pub fn start_handler_server<H, F>(
    addr: SocketAddr,
    shards: usize,
    unbound: bool,
    make: F,
) -> std::io::Result<(SocketAddr, Vec<ExecutorJoinHandle<()>>)>
where
    H: RequestHandler + 'static,
    F: Fn() -> H + Clone + Send + 'static,
{
    let cpus = affinity_cpus();
    let mut addr = addr;
    let mut executors = Vec::new();
    for index in 0..shards.max(1) {
        let placement = if unbound || cpus.is_empty() {
            Placement::Unbound
        } else {
            Placement::Fixed(cpus[index % cpus.len()])
        };
        let (tx, rx) = crossbeam_channel::bounded(1);
        let make = make.clone();
        let executor = LocalExecutorBuilder::new(placement)
            .name(&format!("bare-shard-{index}"))
            .spawn(move || async move {
                let listener = match bind(addr) {
                    Ok(listener) => listener,
                    Err(error) => {
                        let _ = tx.send(Err(error));
                        return;
                    }
                };
                let _ = tx.send(listener.local_addr().map_err(std::io::Error::from));
                let state = Rc::new(IngressState::new(Limits::default()));
                serve(listener, Rc::new(make()), state, std::future::pending()).await;
            })
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        addr = rx.recv().map_err(std::io::Error::other)??;
        executors.push(executor);
    }
    Ok((addr, executors))
}
