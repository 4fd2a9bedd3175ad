//! `linkflow dataplane`: one data-plane node — per-core shards serving webhooks, an admin
//! port, plans from local files and over QUIC (`--quic ADDR --certs DIR`). SIGTERM drains.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use linkflow_dataplane::ingress::Limits;
use linkflow_dataplane::node::{Node, NodeConfig, Placement};
use linkflow_dataplane::shard::PlanBytes;

/// Arguments of `linkflow dataplane`.
#[derive(Debug, Clone, clap::Args)]
pub struct DataplaneArgs {
    /// Number of shards (default: one per CPU the process may run on).
    #[arg(long, env = "LINKFLOW_SHARDS")]
    pub shards: Option<usize>,
    /// Webhook listener address.
    #[arg(long, env = "LINKFLOW_WEBHOOK", default_value = "127.0.0.1:5678")]
    pub webhook: SocketAddr,
    /// Admin listener address (`/health/live`, `/health/ready`, `/metrics`).
    #[arg(long, env = "LINKFLOW_ADMIN", default_value = "127.0.0.1:9464")]
    pub admin: SocketAddr,
    /// A sealed plan to install (repeatable).
    #[arg(long = "plan")]
    pub plans: Vec<PathBuf>,
    /// An n8n workflow export to compile (as `linkflow compile` does) and install
    /// (repeatable); an invalid one stops the command with every error the codec found.
    #[arg(long = "workflow")]
    pub workflows: Vec<PathBuf>,
    /// Do not pin shards to CPUs.
    #[arg(long)]
    pub unbound: bool,
    /// Serve `/webhook-test/` URLs too.
    #[arg(long, env = "LINKFLOW_TEST_WEBHOOKS")]
    pub test_webhooks: bool,
    /// Largest request body in bytes (413 above it).
    #[arg(long, env = "LINKFLOW_BODY_BYTES_MAX", default_value_t = linkflow_dataplane::ingress::BODY_BYTES_MAX_DEFAULT)]
    pub body_bytes_max: u64,
    /// Time a client has to send a whole request, in milliseconds (408 after it).
    #[arg(long, env = "LINKFLOW_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Most open connections per shard.
    #[arg(long, env = "LINKFLOW_CONNECTIONS_MAX", default_value_t = linkflow_dataplane::ingress::CONNECTIONS_PER_SHARD_MAX_DEFAULT)]
    pub connections_max: usize,
    /// Base URL webhooks are reachable at (`webhookUrl` in trigger items); default: the
    /// bound webhook address (`http://localhost:PORT/` for a wildcard bind).
    #[arg(long, env = "WEBHOOK_URL")]
    pub base_url: Option<String>,
    /// UDP address of the QUIC plan receiver (`linkflow plan submit --to`); needs --certs.
    #[arg(long, env = "LINKFLOW_QUIC", requires = "certs")]
    pub quic: Option<SocketAddr>,
    /// Directory with ca.pem, node.pem and node-key.pem (`linkflow certs init DIR`).
    #[arg(long, env = "LINKFLOW_CERTS")]
    pub certs: Option<PathBuf>,
    /// Execution journal: --journal, --durability, retention, --nats-url.
    #[command(flatten)]
    pub journal: super::journal::JournalArgs,
}

/// Starts the node, installs the plans, serves until SIGTERM/SIGINT.
pub fn run(args: &DataplaneArgs) -> anyhow::Result<()> {
    super::init_logs();
    let mut plans = Vec::new();
    for path in &args.plans {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        // `linkflow compile -o` writes sealed plans; bare archives are accepted too.
        let plan = if bytes.starts_with(&linkflow_codec::envelope::MAGIC) {
            PlanBytes::from_sealed(linkflow_codec::envelope::aligned(&bytes))
        } else {
            PlanBytes::from_bytes(&bytes)
        };
        plans.push(plan.with_context(|| format!("loading {}", path.display()))?);
    }
    for path in &args.workflows {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        plans.push(
            PlanBytes::from_workflow_json(&text)
                .with_context(|| format!("compiling {}", path.display()))?,
        );
    }
    let mut config = NodeConfig::new(args.webhook);
    if let Some(shards) = args.shards {
        config.shards = shards.max(1);
    }
    config.admin_addr = Some(args.admin);
    config.placement = if args.unbound {
        Placement::Unbound
    } else {
        Placement::Pinned
    };
    config.test_mode = args.test_webhooks;
    config.limits = Limits {
        body_bytes_max: args.body_bytes_max,
        request_timeout: Duration::from_millis(args.request_timeout_ms.max(1)),
        connections_max: args.connections_max.max(1),
        ..Limits::default()
    };
    if let Some(base_url) = &args.base_url {
        config.base_url = Some(if base_url.ends_with('/') {
            base_url.clone()
        } else {
            format!("{base_url}/")
        });
    }
    config.journal = args.journal.config();
    let node = Node::start(config)?;
    for plan in plans {
        tracing::info!(workflow = plan.workflow_id(), "installing plan");
        node.install(plan);
    }
    let receiver = match (args.quic, &args.certs) {
        (Some(quic), Some(certs)) => Some(
            linkflow_dataplane::control::spawn_quic_receiver(
                quic,
                linkflow_dataplane::control::ServerTlsFiles::from_dir(certs),
                node.link(),
            )
            .context("starting the QUIC plan receiver")?,
        ),
        _ => None,
    };
    println!(
        "linkflow dataplane: webhooks on http://{} admin on http://{}{}",
        node.webhook_addr(),
        node.admin_addr().map(|a| a.to_string()).unwrap_or_default(),
        receiver
            .as_ref()
            .map(|r| format!(" plans (QUIC, mTLS) on {}", r.addr()))
            .unwrap_or_default()
    );
    node.run_until_signal().context("waiting for signals")?;
    if let Some(receiver) = receiver {
        receiver.stop();
    }
    Ok(())
}
