//! SIGTERM drain over real sockets: with an execution in flight (suspended on a Wait),
//! a SIGTERM sent to the process makes the node stop accepting, finish that execution and
//! answer it, then stop. Its own test binary: the signal handler it installs is
//! process-wide.

mod dataplane_common;

use std::net::TcpStream;
use std::sync::atomic::Ordering;

use dataplane_common::*;
use linkflow_dataplane::ingress::Limits;
use linkflow_dataplane::node::register_stop_signals;
use serde_json::json;

#[test]
fn sigterm_stops_accepting_finishes_in_flight_executions_and_exits() {
    let waiting = chain(
        "draining",
        vec![
            webhook("slow", "POST", "lastNode", json!({})),
            json!({"name": "Wait", "type": "n8n-nodes-base.wait", "typeVersion": 1.1,
                   "position": [200, 0],
                   "parameters": {"resume": "timeInterval", "amount": 1, "unit": "seconds"}}),
        ],
        json!({}),
    );
    let node = start_node(1, Limits::default(), &[waiting]);
    let addr = node.webhook_addr();
    let link = node.link();
    let mut in_flight = Client::connect(addr);
    in_flight.send_raw(&request_bytes(
        "POST",
        "/webhook/slow",
        Some(r#"{"a":1}"#),
        &[],
    ));
    wait_until("the execution is in flight", || {
        link.snapshots().iter().any(|s| s.executions_in_flight == 1)
    });
    // The handler is installed before the signal is sent: the test process survives it.
    let stop = register_stop_signals().expect("signal handlers");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    wait_until("SIGTERM observed", || stop.load(Ordering::Relaxed));
    let runner = std::thread::spawn(move || node.run_until(&stop));
    // The in-flight execution finishes and is answered; the connection then closes.
    let r = in_flight
        .read_response()
        .expect("in-flight request answered");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["body"], json!({"a": 1}));
    assert!(
        in_flight.closed_by_server(),
        "a draining node closes the connection"
    );
    runner.join().expect("node stopped");
    // Nothing accepts any more.
    let refused = match TcpStream::connect(addr) {
        Err(_) => true,
        Ok(mut stream) => {
            // A connection the kernel completed before the listener closed is reset or
            // closed without an answer.
            use std::io::{Read, Write};
            let _ = stream.write_all(&request_bytes("POST", "/webhook/slow", Some("{}"), &[]));
            let mut byte = [0u8; 1];
            !matches!(stream.read(&mut byte), Ok(n) if n > 0)
        }
    };
    assert!(refused, "the drained node still accepted a connection");
}
