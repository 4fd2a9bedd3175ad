//! `linkflow controlplane`: the control plane alone (REST API, storage, deploys), pushing
//! plans over QUIC to the data-plane nodes named by `--dataplane HOST:PORT`.
//!
//! Certificates are not generated here: the nodes and the control plane must share a CA,
//! so they come from `linkflow certs init DIR` (the control plane reads `ca.pem`,
//! `client.pem`, `client-key.pem`). Executions are read from the nodes' admin ports
//! (`--dataplane-admin URL`, `GET /executions`); without any, from the database.
//!
//! On start, every workflow the database records as active is deployed again to every
//! connected node before the API opens (nodes keep plans in memory only), and to a node
//! whenever it is reached over a new connection later (down at start, restarted). An
//! activation is all or nothing: when a node fails, the nodes that installed the plan are
//! rolled back.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::startup::{bind_api, foundation, resync_hook, shutdown_signal};
use crate::config::{ServeArgs, ServeConfig, CERTS_DIR};
use crate::deploy::admin_source::AdminExecutions;
use crate::deploy::executions::StoreExecutions;
use crate::deploy::quic::{QuicDeployer, TARGETS_MAX};
use crate::deploy::EngineCompiler;
use crate::quic::ClientTls;
use crate::server::serve;

/// Arguments of `linkflow controlplane` (each may also come from its `LINKFLOW_*` variable;
/// rate limits and the body limit come from `--config`).
#[derive(Debug, Clone, clap::Args)]
pub struct ControlplaneArgs {
    /// Directory for generated secrets, and the SQLite database when no --database-url is
    /// given [default: ./data].
    #[arg(long, env = "LINKFLOW_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the REST API [default: 127.0.0.1:8080].
    #[arg(long, env = "LINKFLOW_API", value_name = "ADDR")]
    pub api: Option<SocketAddr>,
    /// PostgreSQL URL (postgres://...); without it, SQLite in the data dir.
    #[arg(long, env = "LINKFLOW_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// QUIC address of a data-plane node (`linkflow dataplane --quic`); repeatable, the
    /// variable takes a comma-separated list. Every activation deploys to all of them.
    #[arg(
        long = "dataplane",
        env = "LINKFLOW_DATAPLANES",
        value_name = "HOST:PORT",
        value_delimiter = ',',
        required = true
    )]
    pub dataplanes: Vec<String>,
    /// Admin base URL of a data-plane node (e.g. http://10.0.0.5:9464) to read executions
    /// from; repeatable. Without it, executions come from the database.
    #[arg(
        long = "dataplane-admin",
        env = "LINKFLOW_DATAPLANE_ADMINS",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub dataplane_admins: Vec<String>,
    /// Directory with `ca.pem`, `client.pem`, `client-key.pem` (from `linkflow certs init`)
    /// [default: <data-dir>/certs].
    #[arg(long, env = "LINKFLOW_CERTS", value_name = "DIR")]
    pub certs: Option<PathBuf>,
    /// TOML config file (see `linkflow serve --help`).
    #[arg(long, env = "LINKFLOW_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs the control plane until Ctrl-C / SIGTERM.
pub fn run(args: &ControlplaneArgs) -> anyhow::Result<()> {
    if args.dataplanes.len() > TARGETS_MAX {
        anyhow::bail!("at most {TARGETS_MAX} --dataplane addresses");
    }
    let serve_args = ServeArgs {
        data_dir: args.data_dir.clone(),
        api: args.api,
        database_url: args.database_url.clone(),
        config: args.config.clone(),
        ..ServeArgs::default()
    };
    let config = ServeConfig::load(&serve_args).map_err(anyhow::Error::msg)?;
    super::init_logs();
    let certs = args
        .certs
        .clone()
        .unwrap_or_else(|| config.data_dir.join(CERTS_DIR));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve_control_plane(args, config, certs))
}

async fn serve_control_plane(
    args: &ControlplaneArgs,
    config: ServeConfig,
    certs: PathBuf,
) -> anyhow::Result<()> {
    let foundation = foundation(&config).await?;
    let compiler = EngineCompiler::shared();
    let deployer = Arc::new(
        QuicDeployer::new(&args.dataplanes, ClientTls::from_dir(&certs))
            .map_err(anyhow::Error::msg)?
            .with_resync(resync_hook(
                foundation.store.clone(),
                compiler.clone(),
                foundation.key.clone(),
            )),
    );
    let connected = deployer.connect_all().await;
    tracing::info!(connected, configured = args.dataplanes.len(), certs = %certs.display(),
        "data planes");
    // Active workflows are back on the connected nodes before the API opens; nodes that
    // come up later get them from the watcher.
    deployer.sync().await;
    deployer.watch();
    let executions = if args.dataplane_admins.is_empty() {
        StoreExecutions::shared(foundation.store.clone())
    } else {
        let bases = args
            .dataplane_admins
            .iter()
            .map(|b| b.trim_end_matches('/').to_owned())
            .collect();
        AdminExecutions::shared(bases)
    };
    let api = bind_api(&config, foundation, compiler, deployer, executions).await?;
    println!(
        "linkflow controlplane: API on http://{}/api/v1, {connected}/{} data planes connected",
        api.addr,
        args.dataplanes.len()
    );
    serve(api.listener, api.router, shutdown_signal()).await?;
    Ok(())
}
