//! The benchmark servers over real sockets, as `linkflow-bench` starts them: `bare_server
//! --echo` answers bodies back, the data plane running the `http-request-echo` workflow
//! returns the echo's answer through its HTTP Request node, and `bare_server --stall-ms`
//! refuses a stall that is not shorter than its period.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linkflow_bench::workflows::{http_echo_workflow, HTTP_ECHO_PATH};
use serde_json::{json, Value};

/// Longest a server may take to listen, or a request to be answered.
const WAIT_MAX: Duration = Duration::from_secs(30);
/// Interval between connection attempts while a server starts.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A `bare_server` process, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Starts `bare_server --shards 1 --unbound --addr ADDR EXTRA...` and waits until it
/// accepts connections.
fn bare_server(extra: &[&str]) -> Server {
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_bare_server"))
        .args(["--shards", "1", "--unbound", "--addr", &addr.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bare_server starts");
    let mut server = Server { child, addr };
    let deadline = Instant::now() + WAIT_MAX;
    while TcpStream::connect(addr).is_err() {
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "bare_server {extra:?} exited before listening"
        );
        assert!(
            Instant::now() < deadline,
            "bare_server {extra:?} never listened"
        );
        std::thread::sleep(POLL_INTERVAL);
    }
    server
}

/// One keep-alive connection sending HTTP/1.1 requests with a body.
struct Client(TcpStream);

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT_MAX)).unwrap();
        Client(stream)
    }

    /// POSTs `body` with `content_type`; returns status, content type and body.
    fn post(&mut self, path: &str, content_type: &str, body: &str) -> (u16, String, String) {
        write!(
            self.0,
            "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let header = |name: &str| {
                    head.lines().find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                    })
                };
                let length: usize = header("content-length")
                    .expect("content-length")
                    .parse()
                    .unwrap();
                if buf.len() >= end + 4 + length {
                    let status = head[9..12].parse().unwrap();
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string();
                    return (status, header("content-type").unwrap_or_default(), body);
                }
            }
            let n = self.0.read(&mut chunk).expect("answer");
            assert!(n > 0, "connection closed before the answer");
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[test]
fn echo_server_answers_each_body_back_with_its_content_type() {
    let echo = bare_server(&["--echo"]);
    let mut client = Client::connect(echo.addr);
    for (path, content_type, body) in [
        ("/echo", "application/json", r#"{"a":41,"name":"bench"}"#),
        ("/any/path?q=1", "text/plain", "plain text"),
        ("/echo", "application/json", ""),
    ] {
        let (status, ct, answer) = client.post(path, content_type, body);
        assert_eq!(status, 200);
        assert_eq!(ct, content_type);
        assert_eq!(answer, body);
    }
}

#[test]
fn data_plane_returns_the_echo_through_its_http_request_node() {
    let echo = bare_server(&["--echo"]);
    let workflow = http_echo_workflow(&format!("http://{}/echo", echo.addr));
    let dir = std::env::temp_dir().join(format!("linkflow-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("http-echo.json");
    std::fs::write(&file, workflow.to_string()).unwrap();
    let linkflow = bare_server(&["--workflow", file.to_str().unwrap()]);
    let mut client = Client::connect(linkflow.addr);
    let path = format!("/webhook/{HTTP_ECHO_PATH}");
    // Plans install through the shard's control queue after the listener is up.
    let deadline = Instant::now() + WAIT_MAX;
    let mut first = client.post(&path, "application/json", r#"{"n":0}"#);
    while first.0 == 404 && Instant::now() < deadline {
        std::thread::sleep(POLL_INTERVAL);
        first = client.post(&path, "application/json", r#"{"n":0}"#);
    }
    assert_eq!(first.0, 200, "{}", first.2);
    assert_eq!(
        serde_json::from_str::<Value>(&first.2).unwrap(),
        json!({"n": 0})
    );
    // Different bodies on one keep-alive connection: each answer is its own request's.
    for n in 1..20 {
        let body = json!({"a": n, "name": "bench", "tags": ["x", n]});
        let (status, _, answer) = client.post(&path, "application/json", &body.to_string());
        assert_eq!(status, 200, "{answer}");
        assert_eq!(serde_json::from_str::<Value>(&answer).unwrap(), body);
    }
    drop(linkflow);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stall_not_shorter_than_its_period_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_bare_server"))
        .args(["--addr", &free_addr().to_string()])
        .args(["--stall-ms", "1000", "--stall-every-ms", "1000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stall_out_of_range"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
