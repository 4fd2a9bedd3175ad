//! The admin port of a node: `/health/live`, `/health/ready`, `/metrics`, and the
//! execution history of the node's journal (`GET /executions?workflowId=&status=&limit=&cursor=`
//! -> `{"data":[...],"nextCursor":...}`, `GET /executions/{id}`). A plain blocking thread:
//! scrapes and queries are rare and must never share an executor with webhooks.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::ingress::http::{self, code};
use crate::journal::query::{record_json, ListQuery};
use crate::node::ShardLink;

/// Largest admin request head.
const ADMIN_HEAD_BYTES_MAX: usize = 8 * 1024;
/// Time an admin client has to send its request.
const ADMIN_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the accept loop looks at the stop flag while no client connects.
const ADMIN_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A running admin port.
pub struct AdminHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl AdminHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the admin thread.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Binds `addr` and serves admin requests on a thread.
pub fn start(addr: SocketAddr, link: ShardLink) -> std::io::Result<AdminHandle> {
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    // Non-blocking accept so the thread notices `stop` without a connection arriving.
    listener.set_nonblocking(true)?;
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = stop.clone();
    let thread = std::thread::Builder::new()
        .name("lf-admin".into())
        .spawn(move || {
            while !thread_stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &link),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(ADMIN_POLL_INTERVAL);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "admin accept failed");
                        std::thread::sleep(ADMIN_POLL_INTERVAL);
                    }
                }
            }
        })?;
    Ok(AdminHandle { addr, stop, thread })
}

fn serve(mut stream: TcpStream, link: &ShardLink) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(ADMIN_READ_TIMEOUT));
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head_len = loop {
        if let Some(end) = http::head_end(&buf) {
            break end;
        }
        if buf.len() > ADMIN_HEAD_BYTES_MAX {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; http::HEADERS_MAX];
    let mut request = httparse::Request::new(&mut headers);
    let mut out = Vec::new();
    match request.parse(&buf[..head_len]) {
        Ok(httparse::Status::Complete(_)) => {
            let target = request.path.unwrap_or("/");
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            respond(&mut out, request.method.unwrap_or("GET"), path, query, link);
        }
        _ => http::write_error(
            &mut out,
            400,
            code::BAD_REQUEST,
            "malformed HTTP request",
            &[],
            false,
        ),
    }
    let _ = stream.write_all(&out);
}

fn respond(out: &mut Vec<u8>, method: &str, path: &str, query: &str, link: &ShardLink) {
    if method != "GET" && method != "HEAD" {
        http::write_error(
            out,
            405,
            code::METHOD_NOT_ALLOWED,
            "admin endpoints accept GET",
            &[("allow", "GET")],
            false,
        );
        return;
    }
    match path {
        "/health/live" => http::write_response(out, 200, [JSON], br#"{"status":"ok"}"#, false),
        "/health/ready" => {
            if link.ready() {
                http::write_response(out, 200, [JSON], br#"{"status":"ready"}"#, false);
            } else {
                http::write_error(
                    out,
                    503,
                    "NOT_READY",
                    "shards are starting, draining or have no plans installed",
                    &[],
                    false,
                );
            }
        }
        "/metrics" => {
            let mut text = link.metrics_text();
            if let Some(journal) = link.journal() {
                text.push_str(&journal.metrics_text());
            }
            http::write_response(
                out,
                200,
                [("content-type", "text/plain; version=0.0.4")],
                text.as_bytes(),
                false,
            );
        }
        "/executions" => executions(out, query, link),
        _ => match path.strip_prefix("/executions/") {
            Some(id) if !id.is_empty() && !id.contains('/') => execution(out, id, link),
            _ => http::write_error(
                out,
                404,
                code::NOT_FOUND,
                "admin endpoints: /health/live, /health/ready, /metrics, /executions, /executions/{id}",
                &[],
                false,
            ),
        },
    }
}

const JSON: (&str, &str) = ("content-type", "application/json");

fn no_journal(out: &mut Vec<u8>) {
    http::write_error(
        out,
        404,
        code::NOT_FOUND,
        "this node keeps no execution journal (start it with --journal DIR)",
        &[],
        false,
    );
}

/// `GET /executions`: newest first over every shard, filtered, one page.
fn executions(out: &mut Vec<u8>, query: &str, link: &ShardLink) {
    let Some(journal) = link.journal() else {
        return no_journal(out);
    };
    match ListQuery::parse(query) {
        Ok(query) => {
            let page = journal.list(&query).to_json();
            http::write_response(out, 200, [JSON], page.to_string().as_bytes(), false);
        }
        Err(error) => {
            http::write_error(out, 400, "VALIDATION_ERROR", &error.to_string(), &[], false)
        }
    }
}

/// `GET /executions/{id}`: one execution with its node data when the level kept it.
fn execution(out: &mut Vec<u8>, id: &str, link: &ShardLink) {
    let Some(journal) = link.journal() else {
        return no_journal(out);
    };
    match journal.get(id) {
        Some(record) => {
            let body = record_json(&record).to_string();
            http::write_response(out, 200, [JSON], body.as_bytes(), false);
        }
        None => http::write_error(
            out,
            404,
            code::NOT_FOUND,
            &format!("execution `{id}` is not in this node's journal"),
            &[],
            false,
        ),
    }
}
