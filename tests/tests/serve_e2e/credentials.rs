//! Credentials from the API to an HTTP Request node's outbound call, through `linkflow
//! serve`: created encrypted, resolved on activation, delivered with the plan over the
//! QUIC mTLS channel, held by the node in memory only. A local server records the
//! requests it receives (and answers without echoing them, so only a leak could put the
//! secret into the execution record). Checked: the header arrives; an updated credential
//! reaches the active workflow without a re-activation; a restart restores plan and
//! credential; deleting a credential in use is refused until the workflow is deactivated; the
//! secret is in no API answer, no log line (debug level) and no file under the data dir
//! (journal, database, keys); a missing credential refuses the activation with a code and
//! deploys nothing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::dataplane_common::api::call_webhook;
use super::dataplane_common::process::linkflow_bin;
use super::dataplane_common::{chain, webhook};
use super::{fresh_dir, start_serve_logging};

const SECRET: &str = "lf-secret-6f1d2c9a";
const ROTATED: &str = "lf-secret-rotated-77b3";
const HEADER: &str = "X-Echo-Key";
/// Largest request head the recorder reads (the node's requests are small).
const HEAD_BYTES_MAX: usize = 64 * 1024;
/// Largest file the data-dir scan reads whole (journal segments and the database fit).
const SCAN_FILE_BYTES_MAX: u64 = 512 * 1024 * 1024;

/// A local HTTP server recording the head of every request; answers `{"received": n}`.
struct Recorder {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let kept = heads.clone();
        // The thread ends with the test process (the listener lives in it).
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                record(stream, &kept);
            }
        });
        Recorder { addr, heads }
    }

    /// The value of `name` in the last request received.
    fn last_header(&self, name: &str) -> Option<String> {
        let heads = self.heads.lock().unwrap();
        heads.last()?.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// Reads one request head (the node's GET has no body), answers, closes.
fn record(mut stream: TcpStream, heads: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < HEAD_BYTES_MAX {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    let mut heads = heads.lock().unwrap();
    heads.push(String::from_utf8_lossy(&head).into_owned());
    let payload = json!({"received": heads.len()}).to_string();
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{payload}",
        payload.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// Webhook `path` -> HTTP Request (generic credential type httpHeaderAuth, credential
/// `credential_id`) to `url` -> Respond with what the server said.
fn calling_workflow(id: &str, path: &str, url: &str, credential_id: &str) -> Value {
    let http = json!({"name": "Call", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
        "position": [200, 0],
        "parameters": {"method": "GET", "url": url, "authentication": "genericCredentialType",
            "genericAuthType": "httpHeaderAuth", "options": {}},
        "credentials": {"httpHeaderAuth": {"id": credential_id, "name": "Echo key"}}});
    let respond = json!({"name": "Respond", "type": "n8n-nodes-base.respondToWebhook",
        "typeVersion": 1.5, "position": [400, 0],
        "parameters": {"respondWith": "json", "options": {},
            "responseBody": "={{ { \"received\": $json.received } }}"}});
    chain(
        id,
        vec![
            webhook(path, "POST", "responseNode", json!({})),
            http,
            respond,
        ],
        json!({}),
    )
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push(path);
            } else if meta.len() <= SCAN_FILE_BYTES_MAX {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn credentials_reach_the_node_only_with_the_plan() {
    let Some(bin) = linkflow_bin() else {
        println!("skipped: the linkflow binary is not built (cargo test --workspace builds it, or set LINKFLOW_BIN)");
        return;
    };
    let recorder = Recorder::start();
    let url = format!("http://{}/called", recorder.addr);
    let data = fresh_dir("credentials");
    let mut serve = start_serve_logging(&bin, &data, None, "debug");
    serve.api.owner().await;
    let mut answers: Vec<Value> = Vec::new();

    let (status, created) = serve
        .api
        .post(
            "/api/v1/credentials",
            &json!({"name": "Echo key", "type": "httpHeaderAuth",
                    "data": {"name": HEADER, "value": SECRET}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let credential = created["id"].as_str().unwrap().to_owned();
    answers.push(created);

    // A workflow whose credential does not exist is refused before anything is deployed.
    let orphan = serve
        .api
        .create_workflow(&calling_workflow(
            "orphan",
            "orphan",
            &url,
            "no-such-credential",
        ))
        .await;
    let (status, refused) = serve.api.set_active(&orphan, true).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "CREDENTIAL_MISSING", "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("no-such-credential"), "{message}");
    assert!(!serve.api.is_active(&orphan).await);
    assert_eq!(
        call_webhook(serve.webhook, "orphan", &json!({})).await.0,
        404
    );
    // A credential of another type than the node needs is refused the same way.
    let (status, basic) = serve
        .api
        .post(
            "/api/v1/credentials",
            &json!({"name": "Basic", "type": "httpBasicAuth",
                    "data": {"user": "u", "password": SECRET}}),
        )
        .await;
    assert_eq!(status, 201, "{basic}");
    let mistyped = serve
        .api
        .create_workflow(&calling_workflow(
            "mistyped",
            "mistyped",
            &url,
            basic["id"].as_str().unwrap(),
        ))
        .await;
    let (status, refused_type) = serve.api.set_active(&mistyped, true).await;
    assert_eq!(status, 400, "{refused_type}");
    assert_eq!(refused_type["error"]["code"], "CREDENTIAL_MISSING");
    assert!(
        refused_type["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stored as type httpBasicAuth"),
        "{refused_type}"
    );
    answers.extend([refused, basic, refused_type]);

    let id = serve
        .api
        .create_workflow(&calling_workflow("creds", "creds", &url, &credential))
        .await;
    let (status, activated) = serve.api.set_active(&id, true).await;
    assert_eq!(status, 200, "{activated}");
    answers.push(activated);
    let (status, answer) = call_webhook(serve.webhook, "creds", &json!({"a": 1})).await;
    assert_eq!((status, &answer), (200, &json!({"received": 1})));
    assert_eq!(recorder.last_header(HEADER).as_deref(), Some(SECRET));

    // The execution record (with its data) holds the node's output, not the secret.
    let executions = serve.api.executions(&id, 1).await;
    assert_eq!(executions.len(), 1, "{executions:?}");
    assert_eq!(executions[0]["status"], "success", "{executions:?}");
    let exec_id = executions[0]["id"].as_str().unwrap().to_owned();
    let (status, one) = serve
        .api
        .get(&format!("/api/v1/executions/{exec_id}"))
        .await;
    assert_eq!(status, 200, "{one}");
    answers.extend([json!(executions), one]);

    // A changed credential reaches the running workflow without a re-activation: the
    // update deploys every active workflow that uses it again (same plan, new secret).
    let (status, updated) = serve
        .api
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/credentials/{credential}"),
            Some(&json!({"name": "Echo key", "type": "httpHeaderAuth",
                         "data": {"name": HEADER, "value": ROTATED}})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["redeployOk"], true, "{updated}");
    let redeployed = updated["redeployed"].as_array().unwrap();
    assert_eq!(redeployed.len(), 1, "only the active user: {updated}");
    assert_eq!(redeployed[0]["workflowId"], id.as_str(), "{updated}");
    assert_eq!(redeployed[0]["name"], "creds", "{updated}");
    let targets = redeployed[0]["targets"].as_array().unwrap();
    assert!(!targets.is_empty(), "{updated}");
    assert!(
        targets.iter().all(|t| t["status"] == "installed"),
        "{updated}"
    );
    answers.push(updated);
    assert_eq!(
        call_webhook(serve.webhook, "creds", &json!({})).await,
        (200, json!({"received": 2}))
    );
    assert_eq!(recorder.last_header(HEADER).as_deref(), Some(ROTATED));

    // Restarted, the node runs nothing until the control plane restores the workflow, and
    // its credential comes back with it.
    let log = serve.process.output();
    assert!(serve.process.stop(), "serve exits cleanly on SIGTERM");
    let mut serve = start_serve_logging(&bin, &data, None, "debug");
    assert_eq!(
        call_webhook(serve.webhook, "creds", &json!({})).await,
        (200, json!({"received": 3}))
    );
    assert_eq!(recorder.last_header(HEADER).as_deref(), Some(ROTATED));
    serve.api.login().await;
    let (status, listed) = serve.api.get("/api/v1/credentials").await;
    assert_eq!(status, 200, "{listed}");
    let (status, fetched) = serve
        .api
        .get(&format!("/api/v1/credentials/{credential}"))
        .await;
    assert_eq!(status, 200, "{fetched}");
    answers.extend([listed, fetched, json!(serve.api.executions(&id, 3).await)]);
    // Deleting a credential an active workflow uses is refused, naming the workflow.
    let credential_path = format!("/api/v1/credentials/{credential}");
    let (status, in_use) = serve
        .api
        .call(reqwest::Method::DELETE, &credential_path, None)
        .await;
    assert_eq!(status, 409, "{in_use}");
    assert_eq!(in_use["error"]["code"], "CREDENTIAL_IN_USE", "{in_use}");
    assert_eq!(
        in_use["error"]["details"]["workflows"],
        json!([{"id": id, "name": "creds", "version": 1}]),
        "{in_use}"
    );
    answers.push(in_use);
    assert_eq!(
        call_webhook(serve.webhook, "creds", &json!({})).await,
        (200, json!({"received": 4}))
    );
    let (status, off) = serve.api.set_active(&id, false).await;
    assert_eq!(status, 200, "{off}");
    // Once no active workflow uses it, the credential can go.
    let (status, deleted) = serve
        .api
        .call(reqwest::Method::DELETE, &credential_path, None)
        .await;
    assert_eq!(status, 204, "{deleted}");
    let (status, gone) = serve.api.get(&credential_path).await;
    assert_eq!(status, 404, "{gone}");
    assert_eq!(
        call_webhook(serve.webhook, "creds", &json!({})).await.0,
        404
    );
    let log = log + &serve.process.output();
    assert!(serve.process.stop(), "serve exits cleanly on SIGTERM");

    assert!(
        log.contains("plan installed on every shard"),
        "the log is the debug-level log"
    );
    for secret in [SECRET, ROTATED] {
        for answer in &answers {
            let text = answer.to_string();
            assert!(
                !text.contains(secret),
                "an API answer holds the secret: {text}"
            );
        }
        assert!(!log.contains(secret), "the serve log holds the secret");
        let files = files_containing(&data, secret);
        assert!(
            files.is_empty(),
            "files hold the secret in clear: {files:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&data);
}
