//! Webhook ingress over real sockets: response modes, keep-alive and pipelining, chunked
//! bodies with `Expect: 100-continue`, the error paths (400/404/405/408/413), path
//! parameters with several methods, and the admin port.

mod dataplane_common;

use std::time::Duration;

use dataplane_common::*;
use linkflow_dataplane::ingress::Limits;
use serde_json::json;

const BODY: &str = r#"{"a":41,"name":"bench"}"#;

fn last_node_workflow(id: &str, path: &str, extra: serde_json::Value) -> serde_json::Value {
    chain(
        id,
        vec![
            webhook(path, "POST", "lastNode", extra),
            set_node("Set", "b", "={{ $json.body.a + 1 }}", "number"),
        ],
        json!({}),
    )
}

fn node_with_modes() -> linkflow_dataplane::node::Node {
    let limits = Limits {
        body_bytes_max: 1024,
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    start_node(
        2,
        limits,
        &[
            bench_workflow(),
            last_node_workflow("first", "first", json!({})),
            last_node_workflow("all", "all", json!({"responseData": "allEntries"})),
            last_node_workflow("none", "none", json!({"responseData": "noData"})),
            chain(
                "received",
                vec![webhook("received", "POST", "onReceived", json!({}))],
                json!({}),
            ),
            chain(
                "users",
                vec![webhook(
                    "users/:id",
                    "GET",
                    "lastNode",
                    json!({"multipleMethods": true, "httpMethod": ["GET", "PUT"]}),
                )],
                json!({}),
            ),
        ],
    )
}

#[test]
fn every_response_mode_answers_like_n8n() {
    let node = node_with_modes();
    let mut client = Client::connect(node.webhook_addr());

    let r = client.request("POST", "/webhook/bench", Some(BODY));
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"a": 41, "name": "bench", "b": 42}));
    assert!(r.header("x-correlation-id").is_some());

    let r = client.request("POST", "/webhook/first", Some(BODY));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["b"], json!(42));
    assert_eq!(r.json()["body"], json!({"a": 41, "name": "bench"}));
    // Without a configured base URL, `webhookUrl` names the port the listener really bound
    // (port 0 asked for any), so a workflow that hands it out hands out one that works.
    let port = node.webhook_addr().port();
    assert_eq!(
        r.json()["webhookUrl"],
        json!(format!("http://127.0.0.1:{port}/webhook/first"))
    );

    let r = client.request("POST", "/webhook/all", Some(BODY));
    assert_eq!(r.status, 200);
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));
    assert_eq!(r.json()[0]["b"], json!(42));

    let r = client.request("POST", "/webhook/none", Some(BODY));
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());

    let r = client.request("POST", "/webhook/received", Some(BODY));
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"message": "Workflow was started"}));
    node.drain();
}

#[test]
fn keep_alive_and_pipelined_requests_answer_in_order() {
    let node = node_with_modes();
    let mut client = Client::connect(node.webhook_addr());
    let mut batch = Vec::new();
    for a in [1, 2, 3] {
        let body = format!(r#"{{"a":{a},"name":"p"}}"#);
        batch.extend(request_bytes("POST", "/webhook/bench", Some(&body), &[]));
    }
    client.send_raw(&batch);
    for a in [1, 2, 3] {
        let r = client.read_response().expect("pipelined response");
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["b"], json!(a + 1));
    }
    // The connection is still open for the next request.
    let r = client.request("POST", "/webhook/bench", Some(BODY));
    assert_eq!(r.json()["b"], json!(42));
    node.drain();
}

#[test]
fn chunked_body_with_expect_continue_is_read_after_100() {
    let node = node_with_modes();
    let mut client = Client::connect(node.webhook_addr());
    client.send_raw(
        b"POST /webhook/bench HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = client.read_response().expect("100 Continue");
    assert_eq!(interim.status, 100);
    client.send_raw(b"a\r\n{\"a\":41,\"n\r\nd\r\name\":\"bench\"}\r\n0\r\n\r\n");
    let r = client.read_response().expect("response");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"a": 41, "name": "bench", "b": 42}));
    node.drain();
}

#[test]
fn errors_use_the_json_error_format_and_status() {
    let node = node_with_modes();
    let mut client = Client::connect(node.webhook_addr());

    let r = client.request("POST", "/webhook/bench", Some("{\"a\":"));
    assert_eq!((r.status, r.error_code().as_str()), (400, "INVALID_JSON"));
    assert_eq!(r.json()["error"]["details"], json!({}));

    let r = client.request("POST", "/webhook/nope", Some(BODY));
    assert_eq!((r.status, r.error_code().as_str()), (404, "NOT_FOUND"));

    let r = client.request("GET", "/webhook/bench", None);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (405, "METHOD_NOT_ALLOWED")
    );
    assert_eq!(r.header("allow"), Some("POST"));

    let r = client.request("POST", "/webhook-test/bench", Some(BODY));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (404, "TEST_WEBHOOK_DISABLED")
    );

    // 413: declared body above the 1 KiB limit; the server answers without reading it.
    let mut big = Client::connect(node.webhook_addr());
    big.send_raw(b"POST /webhook/bench HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");
    let r = big.read_response().expect("413");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (413, "PAYLOAD_TOO_LARGE")
    );
    assert!(big.closed_by_server());

    // 408: half a request, then silence past the 300 ms request timeout.
    let mut slow = Client::connect(node.webhook_addr());
    slow.send_raw(b"POST /webhook/bench HTTP/1.1\r\nHost: t\r\nContent-Len");
    let r = slow.read_response().expect("408");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (408, "REQUEST_TIMEOUT")
    );

    // The shard kept serving others meanwhile.
    let r = client.request("POST", "/webhook/bench", Some(BODY));
    assert_eq!(r.status, 200);
    node.drain();
}

#[test]
fn path_parameters_and_several_methods_route_to_one_node() {
    let node = node_with_modes();
    let mut client = Client::connect(node.webhook_addr());
    let r = client.request("GET", "/webhook/users/42?x=1", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["params"], json!({"id": "42"}));
    assert_eq!(r.json()["query"], json!({"x": "1"}));
    let r = client.request("PUT", "/webhook/users/7", Some("{}"));
    assert_eq!(r.json()["params"], json!({"id": "7"}));
    let r = client.request("DELETE", "/webhook/users/7", None);
    assert_eq!(r.status, 405);
    node.drain();
}

#[test]
fn admin_port_reports_health_and_merged_metrics() {
    let node = node_with_modes();
    let mut client = Client::connect(node.webhook_addr());
    for _ in 0..5 {
        assert_eq!(
            client.request("POST", "/webhook/bench", Some(BODY)).status,
            200
        );
    }
    assert_eq!(client.request("POST", "/webhook/nope", None).status, 404);
    assert_eq!(admin_get(&node, "/health/live").0, 200);
    assert_eq!(admin_get(&node, "/health/ready").0, 200);
    let (status, text) = admin_get(&node, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(
        metric(&text, "http_requests_total{status=\"200\"}"),
        Some(5.0)
    );
    assert_eq!(
        metric(&text, "http_requests_total{status=\"404\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(&text, "http_request_duration_seconds_count"),
        Some(6.0)
    );
    assert_eq!(
        metric(
            &text,
            "workflow_executions_total{workflow=\"benchWebhook0001\",status=\"success\"}"
        ),
        Some(5.0)
    );
    node.drain();
}
