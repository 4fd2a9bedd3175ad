//! What the receiver does with a decoded request, over the node's [`ShardLink`]. Plain
//! blocking functions (run on tokio's blocking pool, never on a shard), so they are tested
//! without a network.

use std::time::Duration;

use linkflow_codec::envelope::SealedBytes;
use linkflow_codec::wire::{
    codes, DeployCredential, DeployOutcome, DeployReply, DeployRequest, ErrorReply, ListReply,
    PlanRef, Reply, ShardPlans, ShardStats, ShardVersion, StatsReply, UndeployReply,
};

use crate::engine::credentials::{Credential, CredentialMap};
use crate::node::ShardLink;
use crate::shard::{InstalledPlan, PlanBytes, ShardPlanList};

/// Longest a shard may take to acknowledge an install, removal or listing.
pub const SHARD_ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// An error reply.
pub fn error(code: &str, message: impl Into<String>) -> Reply {
    Reply::Error(ErrorReply {
        code: code.to_owned(),
        message: message.into(),
    })
}

fn shard_timeout(shard: usize) -> Reply {
    error(
        codes::SHARD_TIMEOUT,
        format!(
            "shard {shard} did not answer within {} s",
            SHARD_ACK_TIMEOUT.as_secs()
        ),
    )
}

fn plan_ref(plan: &InstalledPlan) -> PlanRef {
    PlanRef {
        workflow_id: plan.workflow_id.clone(),
        version: plan.version,
        plan_id: plan.plan_id.clone(),
    }
}

fn versions(lists: &[ShardPlanList]) -> Vec<ShardVersion> {
    lists
        .iter()
        .map(|l| ShardVersion {
            shard: l.shard as u32,
            generation: l.generation,
        })
        .collect()
}

/// The delivered credentials as the engine's source, and their digest. The wire decoder
/// checked the bounds; the values are moved, never copied or logged.
fn credentials(delivered: Vec<DeployCredential>) -> (CredentialMap, [u8; 32]) {
    if delivered.is_empty() {
        return (CredentialMap::default(), [0; 32]);
    }
    let mut hasher = blake3::Hasher::new();
    let mut hash = |text: &str| {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    };
    let mut list = Vec::with_capacity(delivered.len());
    for credential in delivered {
        hash(&credential.kind);
        hash(&credential.id);
        hash(&credential.name);
        for (key, value) in &credential.fields {
            hash(key);
            hash(value);
        }
        list.push(Credential::new(
            &credential.kind,
            &credential.id,
            &credential.name,
            credential.fields,
        ));
    }
    (
        CredentialMap::from_credentials(list),
        *hasher.finalize().as_bytes(),
    )
}

/// Validates a sealed plan once and installs it, with its credentials, on every shard;
/// answers after every shard acknowledged. Same plan id and credentials everywhere
/// already: no-op success. A lower workflow version than installed is refused unless
/// `allow_older`.
pub fn deploy(link: &ShardLink, request: DeployRequest, sealed: SealedBytes) -> Reply {
    let plan = match PlanBytes::from_sealed(sealed) {
        Ok(plan) => plan,
        Err(e) => return error(codes::PLAN_REFUSED, format!("plan refused: {}", e.message)),
    };
    let (credentials, digest) = credentials(request.credentials);
    let plan = plan.with_credentials(credentials, digest);
    let incoming = PlanRef {
        workflow_id: plan.workflow_id().to_owned(),
        version: plan.version(),
        plan_id: plan.plan_id().to_owned(),
    };
    let before = match link.plans(SHARD_ACK_TIMEOUT) {
        Ok(lists) => lists,
        Err(shard) => return shard_timeout(shard),
    };
    let current: Vec<Option<&InstalledPlan>> = before
        .iter()
        .map(|l| {
            l.plans
                .iter()
                .find(|p| p.workflow_id == incoming.workflow_id)
        })
        .collect();
    if current
        .iter()
        .all(|p| p.is_some_and(|p| p.plan_id == incoming.plan_id && p.credentials_digest == digest))
    {
        return Reply::Deployed(DeployReply {
            replaced: None,
            plan: incoming,
            outcome: DeployOutcome::Unchanged,
            shards: versions(&before),
        });
    }
    let newest = current.iter().flatten().max_by_key(|p| p.version).copied();
    if let Some(newest) = newest {
        if newest.version > incoming.version && !request.allow_older {
            return error(
                codes::OLDER_VERSION,
                format!(
                    "workflow {} runs version {} (plan {}); refusing version {} (plan {}) without allow_older",
                    incoming.workflow_id, newest.version, newest.plan_id, incoming.version, incoming.plan_id
                ),
            );
        }
    }
    let replaced = newest
        .filter(|p| p.plan_id != incoming.plan_id)
        .map(plan_ref);
    let credential_count = plan.credentials().len();
    if !request.activate {
        return Reply::Deployed(DeployReply {
            plan: incoming,
            outcome: DeployOutcome::Validated,
            replaced: None,
            shards: versions(&before),
        });
    }
    let after = match link.install_and_wait(plan, SHARD_ACK_TIMEOUT) {
        Ok(lists) => lists,
        Err(shard) => return shard_timeout(shard),
    };
    debug_assert!(after
        .iter()
        .all(|l| l.plans.iter().any(|p| p.plan_id == incoming.plan_id)));
    tracing::info!(workflow = %incoming.workflow_id, version = incoming.version, plan = %incoming.plan_id, credentials = credential_count, "plan installed on every shard");
    Reply::Deployed(DeployReply {
        plan: incoming,
        outcome: DeployOutcome::Installed,
        replaced,
        shards: versions(&after),
    })
}

/// Removes the plan whose plan id or workflow id is `target` from every shard.
pub fn undeploy(link: &ShardLink, target: &str) -> Reply {
    let before = match link.plans(SHARD_ACK_TIMEOUT) {
        Ok(lists) => lists,
        Err(shard) => return shard_timeout(shard),
    };
    let mut removed: Vec<PlanRef> = Vec::new();
    for plan in before.iter().flat_map(|l| &l.plans) {
        let matches = plan.plan_id == target || plan.workflow_id == target;
        if matches && !removed.iter().any(|r| r.plan_id == plan.plan_id) {
            removed.push(plan_ref(plan));
        }
    }
    if removed.is_empty() {
        return error(
            codes::NOT_FOUND,
            format!("no installed plan has plan id or workflow id `{target}`"),
        );
    }
    let mut workflows: Vec<&str> = removed.iter().map(|r| r.workflow_id.as_str()).collect();
    workflows.dedup();
    let mut after = before;
    for workflow in workflows {
        after = match link.remove_and_wait(workflow, SHARD_ACK_TIMEOUT) {
            Ok(lists) => lists,
            Err(shard) => return shard_timeout(shard),
        };
    }
    tracing::info!(
        target,
        removed = removed.len(),
        "plan removed from every shard"
    );
    Reply::Undeployed(UndeployReply {
        removed,
        shards: versions(&after),
    })
}

/// What every shard runs.
pub fn list(link: &ShardLink) -> Reply {
    match link.plans(SHARD_ACK_TIMEOUT) {
        Ok(lists) => Reply::Listing(ListReply {
            shards: lists
                .iter()
                .map(|l| ShardPlans {
                    shard: l.shard as u32,
                    generation: l.generation,
                    plans: l.plans.iter().map(plan_ref).collect(),
                })
                .collect(),
        }),
        Err(shard) => shard_timeout(shard),
    }
}

/// Per-shard counters and latency percentiles.
pub fn stats(link: &ShardLink) -> Reply {
    let snapshots = link.snapshots();
    Reply::Stats(StatsReply {
        shards: snapshots
            .iter()
            .map(|m| {
                let count = |f: &dyn Fn(u16) -> bool| {
                    m.responses
                        .iter()
                        .filter(|(s, _)| f(*s))
                        .map(|(_, n)| n)
                        .sum()
                };
                let requests = count(&|_| true);
                let empty = m.latency_us.is_empty();
                let quantile = |q: f64| {
                    if empty {
                        0
                    } else {
                        m.latency_us.value_at_quantile(q)
                    }
                };
                ShardStats {
                    shard: m.shard as u32,
                    plans: m.plans as u32,
                    connections: m.connections as u32,
                    requests,
                    responses_5xx: count(&|s| s >= 500),
                    executions_success: m.workflows.iter().map(|w| w.success).sum(),
                    executions_error: m.workflows.iter().map(|w| w.error).sum(),
                    rejected: m.workflows.iter().map(|w| w.rejected).sum(),
                    latency_us_p50: quantile(0.5),
                    latency_us_p99: quantile(0.99),
                    latency_us_max: if empty { 0 } else { m.latency_us.max() },
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::credentials::CredentialSource;

    fn delivered(value: &str) -> Vec<DeployCredential> {
        vec![DeployCredential {
            kind: "httpHeaderAuth".into(),
            id: "7".into(),
            name: "Key".into(),
            fields: vec![
                ("name".into(), "X-Key".into()),
                ("value".into(), value.into()),
            ],
        }]
    }

    #[test]
    fn delivered_credentials_become_the_plans_source_with_a_digest() {
        let (map, digest) = credentials(delivered("s3cret"));
        let found = map.find("httpHeaderAuth", "7", "").expect("by id");
        assert_eq!(found.field("value"), Some("s3cret"));
        assert_eq!(
            map.find("httpHeaderAuth", "", "Key").map(|c| &c.id),
            Some(&"7".to_owned())
        );
        assert_ne!(digest, [0; 32]);
        // Same credentials, same digest (a redeploy is a no-op); another value, another.
        assert_eq!(credentials(delivered("s3cret")).1, digest);
        assert_ne!(credentials(delivered("s3cret2")).1, digest);
        assert!(!format!("{map:?}").contains("s3cret"));
        let (none, zero) = credentials(Vec::new());
        assert!(none.is_empty());
        assert_eq!(zero, [0; 32]);
    }
}
