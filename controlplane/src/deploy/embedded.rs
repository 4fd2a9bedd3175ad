//! The data plane embedded in `linkflow serve`: the real node of `linkflow dataplane`
//! (one glommio shard per core, SO_REUSEPORT webhook ingress, admission, metrics) started
//! inside the control plane's process.
//!
//! Nothing here runs a request: webhooks reach the shards directly, the control plane only
//! installs and removes plans. Plans arrive sealed (the codec's envelope); the envelope is
//! checked once here, then the shards read the archive in place. An install returns only
//! after every shard has swapped its plan table (a snapshot request queued behind the
//! install on each shard's FIFO control channel is the barrier), so a webhook called right
//! after `activate` answers.

use std::net::SocketAddr;
use std::sync::Arc;

use linkflow_codec::envelope;
use linkflow_dataplane::node::{Node, NodeConfig, NodeError, ShardLink};
use linkflow_dataplane::shard::PlanBytes;
use parking_lot::Mutex;

use super::{PlanCommand, PlanSink};

/// A data-plane node owned by the control plane's process.
pub struct EmbeddedNode {
    node: Mutex<Option<Node>>,
    link: ShardLink,
    shards: usize,
    webhook_addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
}

impl EmbeddedNode {
    /// Starts the node's shards (and admin port when configured); returns once every shard
    /// accepts connections.
    pub fn start(config: NodeConfig) -> Result<Arc<EmbeddedNode>, NodeError> {
        let shards = config.shards.max(1);
        let node = Node::start(config)?;
        Ok(Arc::new(EmbeddedNode {
            link: node.link(),
            shards,
            webhook_addr: node.webhook_addr(),
            admin_addr: node.admin_addr(),
            node: Mutex::new(Some(node)),
        }))
    }

    /// The bound webhook address (resolved when port 0 was asked for).
    pub fn webhook_addr(&self) -> SocketAddr {
        self.webhook_addr
    }

    /// The bound admin address, if any.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// A handle to the shards (metrics, readiness, plan receivers).
    pub fn link(&self) -> ShardLink {
        self.link.clone()
    }

    /// The sink an [`super::InProcessDeployer`] delivers to. It blocks until every shard
    /// acknowledged (call it off the async executor).
    pub fn sink(self: &Arc<Self>) -> PlanSink {
        let me = self.clone();
        Arc::new(move |command| me.apply(command))
    }

    fn apply(&self, command: PlanCommand) -> Result<(), String> {
        let guard = self.node.lock();
        let Some(node) = guard.as_ref() else {
            return Err("the embedded data plane is stopped".into());
        };
        match command {
            PlanCommand::Install { plan, .. } => {
                let sealed = envelope::aligned(&plan.bytes);
                envelope::open(&sealed).map_err(|e| e.to_string())?;
                let bytes = PlanBytes::from_bytes(&sealed[envelope::HEADER_BYTES..])
                    .map_err(|e| e.to_string())?;
                node.install(bytes);
            }
            PlanCommand::Remove { workflow_id } => node.remove(&workflow_id),
        }
        drop(guard);
        // Each shard handles its control messages in order: its snapshot answer follows the
        // swap of its plan table.
        let answered = self.link.snapshots().len();
        if answered == self.shards {
            Ok(())
        } else {
            Err(format!(
                "{} of {} shards did not acknowledge the plan change",
                self.shards - answered,
                self.shards
            ))
        }
    }

    /// Stops accepting webhooks, lets open requests finish and stops the shards. Later
    /// plan commands are refused.
    pub fn stop(&self) {
        let node = self.node.lock().take();
        if let Some(node) = node {
            node.drain();
        }
    }
}
