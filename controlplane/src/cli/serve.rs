//! `linkflow serve`: control plane + embedded data plane in one process, SQLite by default,
//! everything on 127.0.0.1.
//!
//! The data plane is the real node of `linkflow dataplane` (glommio shards serving the
//! webhook address); the REST API runs on a tokio runtime beside it. Shutdown order: stop
//! the API (no new deploys), then drain the shards (open webhook requests finish).

use std::sync::Arc;

use anyhow::Context;

use crate::auth::{random_secret, TokenSigner};
pub use crate::config::ServeArgs;
use crate::config::{secret, ServeConfig};
use crate::credentials::EncryptionKey;
use crate::deploy::embedded::EmbeddedNode;
use crate::deploy::executions::StoreExecutions;
use crate::deploy::journal_source::JournalExecutions;
use crate::deploy::{EngineCompiler, InProcessDeployer};
use crate::server::{app, serve, Parts};
use crate::storage::{SqlStore, Store};
use linkflow_dataplane::journal::JournalConfig;
use linkflow_dataplane::node::NodeConfig;

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

/// What every control plane needs before it serves: the database and its two secrets.
pub(crate) struct Foundation {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Credential key.
    pub key: EncryptionKey,
    /// Access-token signer.
    pub signer: TokenSigner,
}

/// Creates the data dir, reads (or generates) the secrets and opens the database.
pub(crate) async fn foundation(config: &ServeConfig) -> anyhow::Result<Foundation> {
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
    Ok(Foundation {
        store,
        key,
        signer: TokenSigner::new(jwt_secret.as_bytes()),
    })
}

async fn serve_until_signal(config: ServeConfig) -> anyhow::Result<()> {
    let Foundation { store, key, signer } = foundation(&config).await?;
    let node = start_node(&config)?;
    let deployer = Arc::new(InProcessDeployer::new(node.sink()));
    let executions = match node.link().journal() {
        Some(journal) => JournalExecutions::shared(journal.clone()),
        None => StoreExecutions::shared(store.clone()),
    };
    let (router, _) = app(Parts {
        executions,
        store,
        compiler: EngineCompiler::shared(),
        deployer,
        signer,
        key,
        rate_limits: config.rate_limits.clone(),
        body_bytes_max: config.body_bytes_max,
    });

    let api = tokio::net::TcpListener::bind(config.api)
        .await
        .with_context(|| format!("cannot listen on {}", config.api))?;
    tracing::info!(api = %config.api, webhook = %node.webhook_addr(), shards = config.shards,
        data_dir = %config.data_dir.display(), "linkflow serving");
    println!(
        "linkflow: API on http://{}/api/v1, webhooks on http://{}/webhook/",
        config.api,
        node.webhook_addr()
    );

    // The API stops first (no deploys during the drain), then the shards drain.
    let served = serve(api, router, shutdown_signal()).await;
    tracing::info!("shutting down");
    let draining = node.clone();
    tokio::task::spawn_blocking(move || draining.stop()).await?;
    served?;
    Ok(())
}

/// Starts the embedded data-plane node on the webhook address.
fn start_node(config: &ServeConfig) -> anyhow::Result<Arc<EmbeddedNode>> {
    let mut node_config = NodeConfig::new(config.webhook);
    node_config.shards = config.shards;
    node_config.base_url = format!("http://{}/", config.webhook);
    let mut journal = JournalConfig::new(config.data_dir.join("journal"));
    journal.durability = config.durability;
    journal.record_level = config.record_level;
    node_config.journal = Some(journal);
    EmbeddedNode::start(node_config)
        .with_context(|| format!("cannot start the data plane on {}", config.webhook))
}

/// Completes on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
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
