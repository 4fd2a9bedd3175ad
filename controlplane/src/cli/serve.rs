//! `linkflow serve`: control plane + embedded data plane in one process, SQLite by default,
//! everything on 127.0.0.1.
//!
//! The data plane is the real node of `linkflow dataplane` (glommio shards serving the
//! webhook address) with its QUIC plan receiver on `--quic`; the control plane (REST API on
//! a tokio runtime beside it) deploys to it over QUIC with mutual TLS on loopback, exactly
//! as `linkflow controlplane` deploys to remote nodes. The certificates (a dev CA, the
//! node's and the control plane's) are generated into `<data-dir>/certs` on first start
//! and reused afterwards. Before the API opens, every workflow the database records as
//! active is deployed again ([`crate::deploy::restore`]): a restart brings the webhooks
//! back. Shutdown order: stop the API (no new deploys), stop the plan receiver, then drain
//! the shards (open webhook requests finish).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;

use super::startup::{bind_api, foundation, resync_hook, shutdown_signal};
use crate::certs::ensure_dev_certs;
pub use crate::config::ServeArgs;
use crate::config::{ServeConfig, CERTS_DIR};
use crate::deploy::executions::StoreExecutions;
use crate::deploy::journal_source::JournalExecutions;
use crate::deploy::quic::QuicDeployer;
use crate::deploy::EngineCompiler;
use crate::quic::ClientTls;
use crate::server::serve;
use linkflow_dataplane::control::{spawn_quic_receiver, ServerTlsFiles};
use linkflow_dataplane::journal::JournalConfig;
use linkflow_dataplane::node::{Node, NodeConfig};

/// Runs the server until Ctrl-C / SIGTERM.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let config = ServeConfig::load(args).map_err(anyhow::Error::msg)?;
    super::init_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve_until_signal(config))
}

async fn serve_until_signal(config: ServeConfig) -> anyhow::Result<()> {
    let foundation = foundation(&config).await?;
    let certs = config.data_dir.join(CERTS_DIR);
    let made =
        ensure_dev_certs(&certs).with_context(|| format!("certificates in {}", certs.display()))?;
    if made.created {
        tracing::info!(dir = %certs.display(),
            "generated the mTLS certificates of the embedded data plane (first start)");
    }
    let node = start_node(&config)?;
    let receiver =
        match spawn_quic_receiver(config.quic, ServerTlsFiles::from_dir(&certs), node.link()) {
            Ok(receiver) => receiver,
            Err(e) => {
                tokio::task::spawn_blocking(move || node.drain()).await?;
                return Err(e).context("starting the embedded data plane's plan receiver");
            }
        };
    let quic = dial_addr(receiver.addr());
    let compiler = EngineCompiler::shared();
    let deployer = Arc::new(
        QuicDeployer::new(&[quic.to_string()], ClientTls::from_dir(&certs))
            .map_err(anyhow::Error::msg)?
            .with_resync(resync_hook(
                foundation.store.clone(),
                compiler.clone(),
                foundation.key.clone(),
            )),
    );
    if deployer.connect_all().await == 0 {
        tracing::warn!(quic = %quic, "the embedded data plane does not answer over QUIC yet");
    }
    // Active workflows are back on the node before the API (and this start line) is up.
    deployer.sync().await;
    deployer.watch();
    let executions = match node.link().journal() {
        Some(journal) => JournalExecutions::shared(journal.clone()),
        None => StoreExecutions::shared(foundation.store.clone()),
    };
    let api = bind_api(&config, foundation, compiler, deployer, executions).await?;
    tracing::info!(api = %api.addr, webhook = %node.webhook_addr(), quic = %quic,
        shards = config.shards, data_dir = %config.data_dir.display(), "linkflow serving");
    println!(
        "linkflow: API on http://{}/api/v1, webhooks on http://{}/webhook/, plans (QUIC, mTLS) on {quic}",
        api.addr,
        node.webhook_addr()
    );

    // The API stops first (no deploys during the drain), then the plan receiver, then the
    // shards drain.
    let served = serve(api.listener, api.router, shutdown_signal()).await;
    tracing::info!("shutting down");
    tokio::task::spawn_blocking(move || {
        receiver.stop();
        node.drain();
    })
    .await?;
    served?;
    Ok(())
}

/// The address the control plane dials for a receiver bound to `bound`: a wildcard bind
/// (`0.0.0.0`, `::`) is reached on loopback, which the node certificate names.
fn dial_addr(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound.port())
        }
        _ => bound,
    }
}

/// Starts the embedded data-plane node on the webhook address, its journal under the
/// data dir; returns once every shard accepts.
fn start_node(config: &ServeConfig) -> anyhow::Result<Node> {
    let mut node_config = NodeConfig::new(config.webhook);
    node_config.shards = config.shards;
    let mut journal = JournalConfig::new(config.data_dir.join("journal"));
    journal.durability = config.durability;
    journal.record_level = config.record_level;
    node_config.journal = Some(journal);
    Node::start(node_config)
        .with_context(|| format!("cannot start the data plane on {}", config.webhook))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_dialled_on_loopback() {
        let dial = |s: &str| dial_addr(s.parse().unwrap()).to_string();
        assert_eq!(dial("0.0.0.0:8443"), "127.0.0.1:8443");
        assert_eq!(dial("[::]:8443"), "[::1]:8443");
        assert_eq!(dial("127.0.0.1:9000"), "127.0.0.1:9000");
    }
}
