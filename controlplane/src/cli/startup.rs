//! Start-up steps `linkflow serve` and `linkflow controlplane` share: open the database
//! and its secrets ([`foundation`]), build and bind the REST API ([`bind_api`]), the
//! [`Resync`] that brings (re)connected data planes up to date ([`resync_hook`]), and the
//! shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;

use crate::auth::{random_secret, TokenSigner};
use crate::config::{secret, ServeConfig};
use crate::credentials::EncryptionKey;
use crate::deploy::quic::{QuicDeployer, Resync};
use crate::deploy::restore::restore_active;
use crate::deploy::{Compiler, Deployer, ExecutionSource, Scope};
use crate::server::{app, Parts};
use crate::storage::{SqlStore, Store};

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

/// The API of a control plane, bound and ready to serve.
pub(crate) struct Api {
    /// The listener (bound to `config.api`).
    pub listener: tokio::net::TcpListener,
    /// The bound address (resolved when port 0 was asked for).
    pub addr: SocketAddr,
    /// The routes.
    pub router: Router,
}

/// Builds the REST API over `foundation` and binds `config.api`: the start-up step
/// `serve` and `controlplane` share.
pub(crate) async fn bind_api(
    config: &ServeConfig,
    foundation: Foundation,
    compiler: Arc<dyn Compiler>,
    deployer: Arc<dyn Deployer>,
    executions: Arc<dyn ExecutionSource>,
) -> anyhow::Result<Api> {
    let Foundation { store, key, signer } = foundation;
    let (router, _) = app(Parts {
        executions,
        store,
        compiler,
        deployer,
        signer,
        key,
        rate_limits: config.rate_limits.clone(),
        body_bytes_max: config.body_bytes_max,
    });
    let listener = tokio::net::TcpListener::bind(config.api)
        .await
        .with_context(|| format!("cannot listen on {}", config.api))?;
    let addr = listener.local_addr()?;
    Ok(Api {
        listener,
        addr,
        router,
    })
}

/// The [`Resync`] of `serve` and `controlplane`: deploys every active workflow to the
/// nodes it is given (after a restart they run nothing), with the deploy gate held so no
/// activation changes the database meanwhile, and logs what did not come back.
pub(crate) fn resync_hook(
    store: Arc<dyn Store>,
    compiler: Arc<dyn Compiler>,
    key: EncryptionKey,
) -> Resync {
    Arc::new(move |deployer: Arc<QuicDeployer>, targets: Vec<String>| {
        let (store, compiler, key) = (store.clone(), compiler.clone(), key.clone());
        Box::pin(async move {
            let _gate = deployer.gate().write().await;
            let restored = restore_active(
                store.as_ref(),
                &compiler,
                &key,
                deployer.as_ref(),
                Scope::Only(&targets),
            )
            .await;
            match restored {
                Ok(summary) => {
                    tracing::info!(nodes = ?targets, restored = summary.restored,
                        failed = summary.failed.len(), removed = summary.removed.len(),
                        "active workflows deployed to (re)connected nodes, inactive ones removed");
                    for (workflow, why) in &summary.failed {
                        tracing::warn!(workflow = %workflow, why = %why, "active workflow not restored");
                    }
                    summary.failed_targets
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading the active workflows failed; nodes resync later");
                    targets
                }
            }
        })
    })
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
