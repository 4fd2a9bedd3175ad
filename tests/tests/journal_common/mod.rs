//! Helpers of the journal tests: the `linkflow dataplane` binary as a child process, a
//! load client that logs which executions were answered, and admin-port history queries.
//! A test that includes this module includes `dataplane_common` as `common` too (the child
//! process handle lives there, shared with every test that spawns `linkflow`).

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::common::process::Process;

use serde_json::Value;

/// Longest any single read in these tests may block.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// A fresh, empty folder under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `linkflow dataplane` child process with a journal; the shared [`Process`] handle
/// kills and reaps it on drop, so a failing or panicking test leaves no server behind.
pub struct Dataplane {
    /// The process.
    pub process: Process,
    /// Webhook address.
    pub webhook: SocketAddr,
    /// Admin address.
    pub admin: SocketAddr,
}

impl Dataplane {
    /// Starts `linkflow dataplane` with `workflow` installed and a journal in `journal`,
    /// returning once it prints its addresses (it does so after every shard serves).
    pub fn start(bin: &Path, workflow: &Path, journal: &Path, extra: &[&str]) -> Dataplane {
        let (workflow, journal) = (workflow.to_string_lossy(), journal.to_string_lossy());
        let mut args = vec!["dataplane", "--shards", "2", "--unbound"];
        args.extend(["--webhook", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
        args.extend(["--workflow", &workflow, "--journal", &journal]);
        args.extend(extra);
        let process = Process::start(&bin.to_path_buf(), &args, &[], "webhooks on http://");
        // "linkflow dataplane: webhooks on http://A admin on http://B"
        let webhook = process.addr_after("webhooks on http://");
        let admin = process.addr_after("admin on http://");
        Dataplane {
            process,
            webhook,
            admin,
        }
    }

    /// SIGKILL: no drain, no final flush.
    pub fn kill_9(self) {
        self.process.kill();
    }

    /// SIGTERM and wait (drain, final flush); panics unless it exits with success in time.
    pub fn stop(self) {
        assert!(
            self.process.stop(),
            "linkflow dataplane exits cleanly on SIGTERM"
        );
    }
}

/// A GET with `Connection: close`: status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Every execution id in the node's journal, paging `GET /executions` by cursor.
pub fn journal_ids(admin: SocketAddr, filter: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/executions?limit=200{filter}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, body) = http_get(admin, &path);
        assert_eq!(status, 200, "{path}: {body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        for item in page["data"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "{id} listed twice");
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

/// Tells a load loop when to stop and hears about each answer.
pub trait LoadControl {
    /// Stop sending.
    fn stopped(&self) -> bool;
    /// One more response arrived whole.
    fn answered(&self) {}
}

impl LoadControl for std::sync::atomic::AtomicBool {
    fn stopped(&self) -> bool {
        self.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// One webhook request on a fresh connection; the execution id of a 200 answer.
pub fn load_one(addr: SocketAddr, path: &str, body: &str) -> Option<String> {
    let stop = OneShot(std::cell::Cell::new(false));
    load_until_gone(addr, path, body, &stop).pop()
}

struct OneShot(std::cell::Cell<bool>);

impl LoadControl for OneShot {
    fn stopped(&self) -> bool {
        self.0.get()
    }

    fn answered(&self) {
        self.0.set(true);
    }
}

/// Sends webhook requests on one keep-alive connection until the server goes away or
/// `control` says stop; returns the execution ids of the responses that arrived whole (from
/// the `x-correlation-id: lf-<id>` header the data plane sets).
pub fn load_until_gone(
    addr: SocketAddr,
    path: &str,
    body: &str,
    control: &impl LoadControl,
) -> Vec<String> {
    load_logged(addr, path, body, control)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// As [`load_until_gone`], with the client's log: when each answer arrived whole.
pub fn load_logged(
    addr: SocketAddr,
    path: &str,
    body: &str,
    control: &impl LoadControl,
) -> Vec<(String, Instant)> {
    let mut answered = Vec::new();
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return answered;
    };
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut buf = Vec::new();
    while !control.stopped() {
        if stream.write_all(request.as_bytes()).is_err() {
            break;
        }
        match read_response(&mut stream, &mut buf) {
            Some((200, Some(id))) => {
                answered.push((id, Instant::now()));
                control.answered();
            }
            Some(_) => {}
            None => break,
        }
    }
    answered
}

/// Reads one response; its status and the execution id of its correlation header.
fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(u16, Option<String>)> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
            let mut length = 0usize;
            let mut id = None;
            for line in head.split("\r\n").skip(1) {
                let Some((name, value)) = line.split_once(':') else {
                    continue;
                };
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().ok()?;
                } else if name.eq_ignore_ascii_case("x-correlation-id") {
                    id = value.strip_prefix("lf-").map(str::to_owned);
                }
            }
            let total = end + 4 + length;
            while buf.len() < total {
                let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..total);
            return Some((status, id));
        }
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
}
