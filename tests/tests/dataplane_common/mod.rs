//! Helpers of the data-plane socket tests: start a node with workflows, a raw HTTP/1.1
//! client, readiness waits driven by the node's own state (never fixed sleeps).

#![allow(dead_code)]

pub mod api;
pub mod peer;
pub mod process;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use linkflow_dataplane::ingress::Limits;
use linkflow_dataplane::node::{Node, NodeConfig, Placement};
use linkflow_dataplane::shard::PlanBytes;
use serde_json::{json, Value};

/// Longest any wait in these tests may take before the test fails.
pub const WAIT_MAX: Duration = Duration::from_secs(20);
/// Interval between checks of a condition the node reports.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Starts an unbound node on a free port with `shards` shards and installs `workflows`,
/// returning once every shard has all of them installed.
pub fn start_node(shards: usize, limits: Limits, workflows: &[Value]) -> Node {
    let mut config = NodeConfig::new("127.0.0.1:0".parse().unwrap());
    config.shards = shards;
    config.placement = Placement::Unbound;
    config.limits = limits;
    config.admin_addr = Some("127.0.0.1:0".parse().unwrap());
    let node = Node::start(config).expect("node starts");
    for workflow in workflows {
        node.install(PlanBytes::from_workflow_json(&workflow.to_string()).expect("plan"));
    }
    wait_for_plans(&node, workflows.len());
    node
}

/// Waits until every shard reports `count` installed plans.
pub fn wait_for_plans(node: &Node, count: usize) {
    let link = node.link();
    wait_until("plans installed on every shard", || {
        let snapshots = link.snapshots();
        !snapshots.is_empty() && snapshots.iter().all(|s| s.plans == count)
    });
}

/// Polls `condition` until it holds; panics after [`WAIT_MAX`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_MAX;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// A schedule trigger node named "Every second" that fires every second.
pub fn every_second_trigger() -> Value {
    json!({"name": "Every second", "type": "n8n-nodes-base.scheduleTrigger", "typeVersion": 1.2,
           "position": [0, 0],
           "parameters": {"rule": {"interval": [{"field": "seconds", "secondsInterval": 1}]}}})
}

/// A webhook node.
pub fn webhook(path: &str, method: &str, mode: &str, extra: Value) -> Value {
    let mut parameters =
        json!({"path": path, "httpMethod": method, "responseMode": mode, "options": {}});
    if let (Some(target), Some(extra)) = (parameters.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
    json!({"name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
           "position": [0, 0], "parameters": parameters})
}

/// A Set node assigning `name` = expression `value` (keeping other fields).
pub fn set_node(node_name: &str, name: &str, value: &str, kind: &str) -> Value {
    json!({"name": node_name, "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [200, 0],
           "parameters": {"mode": "manual", "includeOtherFields": true, "options": {},
             "assignments": {"assignments": [{"id": "1", "name": name, "value": value, "type": kind}]}}})
}

/// A linear workflow `nodes[0] -> nodes[1] -> ...`.
pub fn chain(id: &str, nodes: Vec<Value>, settings: Value) -> Value {
    let mut connections = serde_json::Map::new();
    for pair in nodes.windows(2) {
        connections.insert(
            pair[0]["name"].as_str().unwrap().to_owned(),
            json!({"main": [[{"node": pair[1]["name"], "type": "main", "index": 0}]]}),
        );
    }
    let mut settings = settings;
    settings["executionOrder"] = json!("v1");
    json!({"id": id, "name": id, "nodes": nodes, "connections": connections, "settings": settings})
}

/// The reference workflow of the benchmarks (Webhook -> Set b = a + 1 -> If -> Respond).
pub fn bench_workflow() -> Value {
    let respond = |name: &str, y: i64| {
        json!({"name": name, "type": "n8n-nodes-base.respondToWebhook", "typeVersion": 1.5,
               "position": [660, y], "parameters": {"respondWith": "json", "options": {},
               "responseBody": "={{ { \"a\": $json.body.a, \"name\": $json.body.name, \"b\": $json.b } }}"}})
    };
    json!({
        "id": "benchWebhook0001", "name": "webhook-bench",
        "nodes": [
            webhook("bench", "POST", "responseNode", json!({})),
            set_node("Edit Fields", "b", "={{ $json.body.a + 1 }}", "number"),
            {"name": "If", "type": "n8n-nodes-base.if", "typeVersion": 2.2, "position": [440, 0],
             "parameters": {"options": {}, "conditions": {
                "options": {"caseSensitive": true, "leftValue": "", "typeValidation": "strict", "version": 2},
                "conditions": [{"id": "c1", "leftValue": "={{ $json.b }}", "rightValue": 10,
                                "operator": {"type": "number", "operation": "gt"}}],
                "combinator": "and"}}},
            respond("Respond True", -100),
            respond("Respond False", 100)
        ],
        "connections": {
            "Webhook": {"main": [[{"node": "Edit Fields", "type": "main", "index": 0}]]},
            "Edit Fields": {"main": [[{"node": "If", "type": "main", "index": 0}]]},
            "If": {"main": [[{"node": "Respond True", "type": "main", "index": 0}],
                            [{"node": "Respond False", "type": "main", "index": 0}]]}
        },
        "settings": {"executionOrder": "v1"}
    })
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body {:?} is not JSON: {e}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `error.code` of a JSON error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

/// A keep-alive HTTP/1.1 client over one connection.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(WAIT_MAX)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a request with a JSON body (or none) and reads the response.
    pub fn request(&mut self, method: &str, path: &str, body: Option<&str>) -> Response {
        self.send_raw(&request_bytes(method, path, body, &[]));
        self.read_response().expect("response")
    }

    /// Reads one response; `None` when the server closed the connection first.
    pub fn read_response(&mut self) -> Option<Response> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                let mut lines = head.split("\r\n");
                let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let total = end + 4 + length;
                while self.buf.len() < total {
                    if !self.fill() {
                        return None;
                    }
                }
                let body = self.buf[end + 4..total].to_vec();
                self.buf.drain(..total);
                return Some(Response {
                    status,
                    headers,
                    body,
                });
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// True when the server closed the connection (reads EOF).
    pub fn closed_by_server(&mut self) -> bool {
        !self.fill()
    }
}

/// Bytes of a request with an optional JSON body and extra header lines.
pub fn request_bytes(method: &str, path: &str, body: Option<&str>, headers: &[&str]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    for header in headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    if let Some(body) = body {
        out.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads the admin port: status and body.
pub fn admin_get(node: &Node, path: &str) -> (u16, String) {
    let mut client = Client::connect(node.admin_addr().expect("admin port"));
    let response = client.request("GET", path, None);
    (
        response.status,
        String::from_utf8_lossy(&response.body).into_owned(),
    )
}

/// The value of the metric line starting with `prefix` (`name{labels}`), if present.
pub fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
