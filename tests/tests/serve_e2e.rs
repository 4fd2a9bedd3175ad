//! `linkflow serve` end to end, as a user runs it: the real binary from a fresh data dir.
//!
//! First start: the mTLS certificates appear in `<data-dir>/certs` (keys 0600) and the
//! control plane reaches its embedded data plane over QUIC (`/health/ready`). Owner setup
//! -> login -> create the reference workflow -> activate (the report names the QUIC node
//! and the version it runs) -> the webhook answers -> the execution is listed from the
//! journal. Then `serve` stops (SIGTERM) and starts again on the same data dir: the same
//! certificates, and the webhook answers again without re-activation (the active workflow
//! was deployed again on start); deactivation makes it 404. Once on SQLite (the default)
//! and once on the real PostgreSQL when `LINKFLOW_TEST_DATABASE_URL` is set.
//!
//! Credentials (`credentials_reach_the_node_only_with_the_plan`): a credential created
//! through the API reaches an HTTP Request node's outbound call, and its secret appears in
//! no API answer, log line or file under the data dir.

#[path = "serve_e2e/credentials.rs"]
mod credentials;
mod dataplane_common;

use std::path::{Path, PathBuf};

use dataplane_common::api::{call_webhook, Api};
use dataplane_common::process::{linkflow_bin, Process};
use serde_json::{json, Value};
use sqlx::Connection;

const PG_URL_VAR: &str = "LINKFLOW_TEST_DATABASE_URL";
/// Marker of serve's start line, printed once the API listens.
const READY: &str = "plans (QUIC, mTLS) on ";
const CERT_FILES: [&str; 5] = [
    "ca.pem",
    "node.pem",
    "node-key.pem",
    "client.pem",
    "client-key.pem",
];

fn reference_workflow() -> Option<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/workflows/webhook-bench.json");
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).expect("the reference workflow is JSON"))
}

fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lf-serve-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

struct Serve {
    process: Process,
    api: Api,
    webhook: std::net::SocketAddr,
    quic: std::net::SocketAddr,
}

fn start_serve(bin: &PathBuf, data: &Path, database_url: Option<&str>) -> Serve {
    start_serve_logging(bin, data, database_url, "warn")
}

/// [`start_serve`] logging at `level` (`LINKFLOW_LOG`); the log is the process's output.
fn start_serve_logging(
    bin: &PathBuf,
    data: &Path,
    database_url: Option<&str>,
    level: &str,
) -> Serve {
    let data = data.to_str().unwrap();
    let mut args = vec![
        "serve",
        "--data-dir",
        data,
        "--api",
        "127.0.0.1:0",
        "--webhook",
        "127.0.0.1:0",
        "--quic",
        "127.0.0.1:0",
        "--shards",
        "1",
        "--rate-limit-anonymous",
        "unlimited",
        "--rate-limit-authenticated",
        "unlimited",
    ];
    if let Some(url) = database_url {
        args.extend(["--database-url", url]);
    }
    let process = Process::start(bin, &args, &[("LINKFLOW_LOG", level)], READY);
    Serve {
        api: Api::new(process.addr_after("API on http://")),
        webhook: process.addr_after("webhooks on http://"),
        quic: process.addr_after(READY),
        process,
    }
}

async fn round_trip(tag: &str, database_url: Option<&str>) {
    let Some(bin) = linkflow_bin() else {
        println!("skipped: the linkflow binary is not built (cargo test --workspace builds it, or set LINKFLOW_BIN)");
        return;
    };
    let Some(workflow) = reference_workflow() else {
        println!("skipped: ../shared/reference/workflows/webhook-bench.json not found");
        return;
    };
    let data = fresh_dir(tag);
    let certs = data.join("certs");

    // First start: certificates generated, the embedded node connected over QUIC.
    let mut serve = start_serve(&bin, &data, database_url);
    for file in CERT_FILES {
        assert!(
            certs.join(file).is_file(),
            "{file} generated on first start"
        );
    }
    #[cfg(unix)]
    for key in ["node-key.pem", "client-key.pem"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(certs.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key} is readable by the owner only");
    }
    let ca = std::fs::read(certs.join("ca.pem")).unwrap();
    let (status, ready) = serve.api.get("/health/ready").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["dataplanes"], 1);

    serve.api.owner().await;
    let id = serve.api.create_workflow(&workflow).await;
    let request = json!({"a": 20, "name": "x"});
    let expected = json!({"a": 20, "name": "x", "b": 21});
    // Not active yet: the data plane does not answer the path.
    assert_eq!(call_webhook(serve.webhook, "bench", &request).await.0, 404);

    let (status, activated) = serve.api.set_active(&id, true).await;
    assert_eq!(status, 200, "{activated}");
    let target = &activated["targets"][0];
    assert_eq!(target["target"], serve.quic.to_string());
    assert_eq!(
        (target["status"].as_str(), target["version"].as_i64()),
        (Some("installed"), Some(1))
    );
    assert!(
        target["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "Webhook"),
        "{target}"
    );
    assert_eq!(
        call_webhook(serve.webhook, "bench", &request).await,
        (200, expected.clone())
    );

    let executions = serve.api.executions(&id, 1).await;
    assert_eq!(executions.len(), 1, "{executions:?}");
    assert_eq!(executions[0]["status"], "success");
    let exec_id = executions[0]["id"].as_str().unwrap();
    let (status, one) = serve
        .api
        .get(&format!("/api/v1/executions/{exec_id}"))
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(
        (one["workflowId"].as_str(), one["workflowVersion"].as_i64()),
        (Some(id.as_str()), Some(1))
    );

    // Restart on the same data dir: same certificates, the webhook is back without
    // anyone activating it again.
    assert!(serve.process.stop(), "serve exits cleanly on SIGTERM");
    let mut serve = start_serve(&bin, &data, database_url);
    assert_eq!(
        std::fs::read(certs.join("ca.pem")).unwrap(),
        ca,
        "certificates are reused"
    );
    assert_eq!(
        call_webhook(serve.webhook, "bench", &request).await,
        (200, expected)
    );
    serve.api.login().await;
    assert!(serve.api.is_active(&id).await);
    // The journal kept the first start's execution too.
    let executions = serve.api.executions(&id, 2).await;
    assert_eq!(executions.len(), 2, "{executions:?}");

    let (status, off) = serve.api.set_active(&id, false).await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(call_webhook(serve.webhook, "bench", &request).await.0, 404);
    assert!(serve.process.stop(), "serve exits cleanly on SIGTERM");
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn serve_over_quic_from_a_fresh_data_dir_and_restored_after_restart_sqlite() {
    round_trip("sqlite", None).await;
}

#[tokio::test]
async fn serve_over_quic_from_a_fresh_data_dir_and_restored_after_restart_postgres() {
    let Ok(base) = std::env::var(PG_URL_VAR) else {
        println!("skipped: {PG_URL_VAR} is not set");
        return;
    };
    // A schema of its own keeps this run apart from other tests on the same server.
    sqlx::any::install_default_drivers();
    let schema = format!("lf_serve_{}", std::process::id());
    let mut conn = sqlx::AnyConnection::connect(&base).await.unwrap();
    let sql = |text: String| sqlx::AssertSqlSafe(text);
    sqlx::query(sql(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(sql(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    round_trip("postgres", Some(&url)).await;
    sqlx::query(sql(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut conn)
        .await
        .unwrap();
}
