//! Assembles the control plane: state, router, listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;

use crate::api::{self, AppState, Metrics};
use crate::auth::TokenSigner;
use crate::credentials::EncryptionKey;
use crate::deploy::{Compiler, Deployer, ExecutionSource};
use crate::ratelimit::{RateLimiter, TierLimits};
use crate::storage::Store;

/// What the control plane is built from.
pub struct Parts {
    /// Storage backend.
    pub store: Arc<dyn Store>,
    /// Workflow compiler.
    pub compiler: Arc<dyn Compiler>,
    /// Plan delivery.
    pub deployer: Arc<dyn Deployer>,
    /// Execution queries.
    pub executions: Arc<dyn ExecutionSource>,
    /// Access-token signer.
    pub signer: TokenSigner,
    /// Credential key.
    pub key: EncryptionKey,
    /// Request budgets.
    pub rate_limits: TierLimits,
    /// Request body limit, bytes.
    pub body_bytes_max: usize,
}

/// Builds the router and the state it shares.
pub fn app(parts: Parts) -> (Router, AppState) {
    let state = AppState {
        store: parts.store,
        signer: parts.signer,
        key: parts.key,
        compiler: parts.compiler,
        deployer: parts.deployer,
        executions: parts.executions,
        limiter: Arc::new(RateLimiter::new(parts.rate_limits)),
        metrics: Arc::new(Metrics::default()),
    };
    (api::router(state.clone(), parts.body_bytes_max), state)
}

/// Serves `router` on `listener` until `shutdown` completes (in-flight requests finish).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
