//! A peer for HTTP Request nodes: a local HTTP/1.1 server on std threads that echoes
//! each request as JSON (or answers 503 on demand) and counts requests and connections.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

/// What the test server answers.
#[derive(Clone, Copy)]
pub enum Behaviour {
    /// 200 with `{"method","path","body"}` of the request.
    Echo,
    /// 503 for the first `n` requests, then echo.
    FailFirst(usize),
    /// Always 503.
    AlwaysUnavailable,
}

/// A local HTTP/1.1 server on a std thread, counting requests and connections.
pub struct PeerServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Requests answered so far.
    pub requests: Arc<AtomicUsize>,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
}

impl PeerServer {
    pub fn start(behaviour: Behaviour) -> PeerServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (r, c) = (requests.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let r = r.clone();
                std::thread::spawn(move || serve(stream, behaviour, &r));
            }
        });
        PeerServer {
            addr,
            requests,
            connections,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(mut stream: TcpStream, behaviour: Behaviour, requests: &AtomicUsize) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
        buf.drain(..head_end + length);
        let mut parts = head.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let seen = requests.fetch_add(1, Ordering::SeqCst) + 1;
        let unavailable = match behaviour {
            Behaviour::Echo => false,
            Behaviour::FailFirst(n) => seen <= n,
            Behaviour::AlwaysUnavailable => true,
        };
        let (status, payload) = if unavailable {
            ("503 Service Unavailable", json!({"busy": true}))
        } else {
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
            (
                "200 OK",
                json!({"method": method, "path": path, "body": body, "seen": seen}),
            )
        };
        let payload = payload.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{payload}",
            payload.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
