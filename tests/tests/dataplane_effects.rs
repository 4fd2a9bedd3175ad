//! Effects through the real data plane: an HTTP Request node calling a local echo server
//! (pooled keep-alive connections), retries on 503, the per-host circuit breaker opening,
//! connect errors, Wait nodes that suspend their execution but not the shard, answers
//! sent before a wait (onReceived), pagination page by page, sub-workflows on the same shard, and the in-flight
//! execution bound answering 503.

mod dataplane_common;

use std::net::TcpListener;
use std::sync::atomic::Ordering;

use dataplane_common::peer::{Behaviour, PeerServer};
use dataplane_common::*;
use linkflow_dataplane::ingress::Limits;
use linkflow_dataplane::node::{Node, NodeConfig, Placement};
use linkflow_dataplane::shard::PlanBytes;
use serde_json::{json, Value};

/// An HTTP Request node (v4.2) POSTing `{"x": <a + 1>}` to `url`.
fn http_node(url: &str, continue_on_fail: bool) -> Value {
    let mut node = json!({"name": "Call", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
        "position": [200, 0],
        "parameters": {"method": "POST", "url": url, "sendBody": true, "contentType": "json",
            "specifyBody": "json", "jsonBody": "={{ { \"x\": $json.body.a + 1 } }}", "options": {}}});
    if continue_on_fail {
        node["onError"] = json!("continueRegularOutput");
    }
    node
}

/// A Wait node for `seconds`.
fn wait_node(seconds: f64) -> Value {
    json!({"name": "Wait", "type": "n8n-nodes-base.wait", "typeVersion": 1.1, "position": [200, 0],
           "parameters": {"resume": "timeInterval", "amount": seconds, "unit": "seconds"}})
}

fn start(shards: usize, executions_max: usize, workflows: &[Value]) -> Node {
    let mut config = NodeConfig::new("127.0.0.1:0".parse().unwrap());
    config.shards = shards;
    config.placement = Placement::Unbound;
    config.limits = Limits::default();
    config.executions_max = executions_max;
    let node = Node::start(config).expect("node starts");
    for workflow in workflows {
        node.install(PlanBytes::from_workflow_json(&workflow.to_string()).expect("plan"));
    }
    wait_for_plans(&node, workflows.len());
    node
}

const BODY: &str = r#"{"a":41}"#;

#[test]
fn http_request_node_calls_a_local_server_over_pooled_connections() {
    let server = PeerServer::start(Behaviour::Echo);
    let workflow = chain(
        "caller",
        vec![
            webhook("call", "POST", "lastNode", json!({})),
            http_node(&server.url("/echo?q=1"), false),
        ],
        json!({}),
    );
    let node = start(1, 64, &[workflow]);
    let mut client = Client::connect(node.webhook_addr());
    for _ in 0..3 {
        let r = client.request("POST", "/webhook/call", Some(BODY));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let answer = r.json();
        assert_eq!(answer["method"], json!("POST"));
        assert_eq!(answer["path"], json!("/echo?q=1"));
        assert_eq!(answer["body"], json!({"x": 42}));
    }
    assert_eq!(server.requests(), 3);
    // One shard, sequential calls: the pooled keep-alive connection is reused.
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    node.drain();
}

#[test]
fn paginated_http_request_fetches_every_page_through_the_outbound_client() {
    let server = PeerServer::start(Behaviour::Echo);
    let paged = json!({"name": "Call", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
        "position": [200, 0],
        "parameters": {"method": "GET", "url": server.url("/items"), "options": {"pagination": {
            "pagination": {
                "parameters": {"parameters": [{"name": "page", "value": "={{ $pageCount + 1 }}"}]},
                "paginationCompleteWhen": "other",
                "completeExpression": "={{ $response.body.path.endsWith('page=3') }}"}}}}});
    let workflow = chain(
        "pages",
        vec![
            webhook(
                "pages",
                "POST",
                "lastNode",
                json!({"responseData": "allEntries"}),
            ),
            paged,
        ],
        json!({}),
    );
    let node = start(1, 64, &[workflow]);
    let mut client = Client::connect(node.webhook_addr());
    let r = client.request("POST", "/webhook/pages", Some(BODY));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let paths: Vec<Value> = r
        .json()
        .as_array()
        .expect("all entries")
        .iter()
        .map(|page| page["path"].clone())
        .collect();
    assert_eq!(
        paths,
        [
            json!("/items?page=1"),
            json!("/items?page=2"),
            json!("/items?page=3")
        ]
    );
    assert_eq!(server.requests(), 3);
    node.drain();
}

#[test]
fn calls_answered_503_are_retried_until_they_succeed() {
    let server = PeerServer::start(Behaviour::FailFirst(2));
    let workflow = chain(
        "retrying",
        vec![
            webhook("retry", "POST", "lastNode", json!({})),
            http_node(&server.url("/flaky"), false),
        ],
        json!({}),
    );
    let node = start(1, 64, &[workflow]);
    let mut client = Client::connect(node.webhook_addr());
    let r = client.request("POST", "/webhook/retry", Some(BODY));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["seen"], json!(3), "third attempt succeeded");
    assert_eq!(server.requests(), 3);
    node.drain();
}

#[test]
fn breaker_opens_after_repeated_failures_and_stops_calling_the_host() {
    let server = PeerServer::start(Behaviour::AlwaysUnavailable);
    let workflow = chain(
        "breaking",
        vec![
            webhook("break", "POST", "lastNode", json!({})),
            http_node(&server.url("/down"), true),
        ],
        json!({}),
    );
    let node = start(1, 64, &[workflow]);
    let mut client = Client::connect(node.webhook_addr());
    // Two calls of three attempts each: six failures, the breaker opens at the fifth.
    for _ in 0..2 {
        let r = client.request("POST", "/webhook/break", Some(BODY));
        assert_eq!(r.status, 200);
        let message = r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(
            message.contains("Service unavailable") || message.contains("LF-OUTBOUND-004"),
            "{message}"
        );
    }
    let calls_before = server.requests();
    assert!((5..=6).contains(&calls_before), "{calls_before}");
    let r = client.request("POST", "/webhook/break", Some(BODY));
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(message.contains("LF-OUTBOUND-004"), "{message}");
    assert_eq!(
        server.requests(),
        calls_before,
        "an open breaker sends nothing"
    );
    node.drain();
}

#[test]
fn refused_connections_fail_the_node_with_a_connect_code() {
    // A port that was free a moment ago: nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let workflow = chain(
        "refused",
        vec![
            webhook("refused", "POST", "lastNode", json!({})),
            http_node(&format!("http://{closed}/x"), true),
        ],
        json!({}),
    );
    let node = start(1, 64, &[workflow]);
    let mut client = Client::connect(node.webhook_addr());
    let r = client.request("POST", "/webhook/refused", Some(BODY));
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(message.starts_with("LF-OUTBOUND-002"), "{message}");
    node.drain();
}

#[test]
fn a_waiting_execution_suspends_itself_not_the_shard() {
    let waiting = chain(
        "waiting",
        vec![
            webhook("wait", "POST", "lastNode", json!({})),
            wait_node(1.0),
        ],
        json!({}),
    );
    let node = start(1, 64, &[waiting, bench_workflow()]);
    let mut slow = Client::connect(node.webhook_addr());
    slow.send_raw(&request_bytes("POST", "/webhook/wait", Some(BODY), &[]));
    // On the same (single) shard, other requests are served while the wait runs.
    let mut fast = Client::connect(node.webhook_addr());
    for _ in 0..5 {
        let r = fast.request("POST", "/webhook/bench", Some(r#"{"a":41,"name":"x"}"#));
        assert_eq!(r.json()["b"], json!(42));
    }
    let r = slow.read_response().expect("the waiting execution answers");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["body"], json!({"a": 41}));
    node.drain();
}

#[test]
fn on_received_answers_before_the_wait_and_the_execution_still_finishes() {
    let workflow = chain(
        "background",
        vec![
            webhook("bg", "POST", "onReceived", json!({})),
            wait_node(0.5),
            set_node("Set", "done", "={{ true }}", "boolean"),
        ],
        json!({}),
    );
    let node = start(1, 64, &[workflow]);
    let mut client = Client::connect(node.webhook_addr());
    let r = client.request("POST", "/webhook/bg", Some(BODY));
    assert_eq!(r.json(), json!({"message": "Workflow was started"}));
    let link = node.link();
    wait_until("the background execution counted as successful", || {
        link.snapshots()
            .iter()
            .flat_map(|s| s.workflows.iter())
            .any(|w| w.workflow == "background" && w.success == 1)
    });
    node.drain();
}

#[test]
fn sub_workflows_run_on_the_same_shard_and_missing_ones_fail_the_caller() {
    let child = json!({
        "id": "child", "name": "child",
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.executeWorkflowTrigger", "typeVersion": 1,
             "position": [0, 0], "parameters": {}},
            set_node("Set", "c", "={{ $json.body.a * 2 }}", "number")
        ],
        "connections": {"Start": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"}
    });
    let call = |id: &str, path: &str, target: &str| {
        chain(
            id,
            vec![
                webhook(path, "POST", "lastNode", json!({})),
                json!({"name": "Call", "type": "n8n-nodes-base.executeWorkflow", "typeVersion": 1.1,
                       "position": [200, 0],
                       "parameters": {"source": "database", "workflowId": target, "options": {}}}),
            ],
            json!({}),
        )
    };
    let node = start(
        2,
        64,
        &[
            child,
            call("parent", "parent", "child"),
            call("orphan", "orphan", "nowhere"),
        ],
    );
    let mut client = Client::connect(node.webhook_addr());
    let r = client.request("POST", "/webhook/parent", Some(BODY));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["c"], json!(82));
    // A call to a workflow that is not installed fails the caller (n8n's answer to a
    // failed execution), and is counted as an error, not a success.
    let r = client.request("POST", "/webhook/orphan", Some(BODY));
    assert_eq!(r.status, 500);
    assert_eq!(r.json(), json!({"message": "Error in workflow"}));
    let link = node.link();
    let errors: u64 = link
        .snapshots()
        .iter()
        .flat_map(|s| s.workflows.iter())
        .filter(|w| w.workflow == "orphan")
        .map(|w| w.error)
        .sum();
    assert_eq!(errors, 1);
    node.drain();
}

#[test]
fn executions_above_the_in_flight_bound_get_503() {
    let waiting = chain(
        "holding",
        vec![
            webhook("hold", "POST", "lastNode", json!({})),
            wait_node(1.0),
        ],
        json!({}),
    );
    let node = start(1, 1, &[waiting]);
    let mut first = Client::connect(node.webhook_addr());
    first.send_raw(&request_bytes("POST", "/webhook/hold", Some(BODY), &[]));
    let link = node.link();
    // The first execution holds the only arena once the shard has admitted it.
    let mut second = Client::connect(node.webhook_addr());
    let mut refused = None;
    wait_until("a request refused for lack of an arena", || {
        let r = second.request("POST", "/webhook/hold", Some(BODY));
        if r.status == 503 {
            refused = Some(r);
            true
        } else {
            false
        }
    });
    let refused = refused.unwrap();
    assert_eq!(refused.error_code(), "OVERLOADED");
    assert_eq!(refused.header("retry-after"), Some("1"));
    let r = first
        .read_response()
        .expect("the admitted execution finishes");
    assert_eq!(r.status, 200);
    assert!(link.snapshots().iter().any(|s| s
        .workflows
        .iter()
        .any(|w| w.workflow == "holding" && w.rejected >= 1)));
    node.drain();
}
