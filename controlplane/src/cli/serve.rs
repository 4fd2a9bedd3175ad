//! `linkflow serve`: control plane + embedded data plane in one process, SQLite by default,
//! everything on 127.0.0.1.

use std::sync::Arc;

use anyhow::Context;

use crate::auth::{random_secret, TokenSigner};
pub use crate::config::ServeArgs;
use crate::config::{secret, ServeConfig};
use crate::credentials::EncryptionKey;
use crate::deploy::embedded::EmbeddedDataPlane;
use crate::deploy::{EngineCompiler, InProcessDeployer};
use crate::server::{app, serve, Parts};
use crate::storage::{SqlStore, Store};

/// Runs the server until Ctrl-C / SIGTERM.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let config = ServeConfig::load(args).map_err(anyhow::Error::msg)?;
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LINKFLOW_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve_until_signal(config))
}

async fn serve_until_signal(config: ServeConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    let (key_text, generated) = secret(
        "LINKFLOW_ENCRYPTION_KEY",
        &config.data_dir,
        "encryption.key",
        || EncryptionKey::generate_hex().map_err(|e| e.to_string()),
    )
    .map_err(anyhow::Error::msg)?;
    if generated {
        tracing::warn!(dir = %config.data_dir.display(),
            "LINKFLOW_ENCRYPTION_KEY not set: generated encryption.key in the data dir; back it up");
    }
    let key = EncryptionKey::parse(&key_text)?;
    let (jwt_secret, _) = secret("LINKFLOW_JWT_SECRET", &config.data_dir, "jwt.key", || {
        random_secret().map_err(|e| e.to_string())
    })
    .map_err(anyhow::Error::msg)?;

    let store: Arc<dyn Store> = Arc::new(
        SqlStore::connect(&config.database_url)
            .await
            .context("cannot open the database")?,
    );
    let base_url = format!("http://{}/", config.webhook);
    let dataplane = EmbeddedDataPlane::new(store.clone(), base_url);
    let deployer = Arc::new(InProcessDeployer::new(dataplane.sink()));
    let (router, _) = app(Parts {
        store,
        compiler: EngineCompiler::shared(),
        deployer,
        signer: TokenSigner::new(jwt_secret.as_bytes()),
        key,
        rate_limits: config.rate_limits.clone(),
        body_bytes_max: config.body_bytes_max,
    });

    let api = tokio::net::TcpListener::bind(config.api)
        .await
        .with_context(|| format!("cannot listen on {}", config.api))?;
    let hooks = tokio::net::TcpListener::bind(config.webhook)
        .await
        .with_context(|| format!("cannot listen on {}", config.webhook))?;
    tracing::info!(api = %config.api, webhook = %config.webhook,
        data_dir = %config.data_dir.display(), "linkflow serving");
    println!(
        "linkflow: API on http://{}/api/v1, webhooks on http://{}/webhook/",
        config.api, config.webhook
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let api_task = tokio::spawn(serve(api, router, stopped(stop_rx.clone())));
    let hook_task = tokio::spawn(serve(hooks, dataplane.router(), stopped(stop_rx)));
    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    api_task.await??;
    hook_task.await??;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
