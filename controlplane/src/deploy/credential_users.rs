//! Which active workflows use a credential, and pushing a changed credential to them.
//!
//! A credential travels with the plans that refer to it (see [`super::credentials`]), so a
//! data plane holds the value it got at the last deploy. When a credential is updated, the
//! active workflows whose activated version refers to it are deployed again (same version,
//! same plan, new credential) through the deploy gate an activation holds; the data plane
//! takes a changed credential fingerprint as a change. When a credential is deleted, the
//! same query finds the workflows that would fail on their next restore, and the delete is
//! refused while there are any.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::restore::{activated_version, compile_version, RESTORE_PAGE_ROWS};
use super::{Compiler, Deployer, Scope, TargetReport};
use crate::credentials::EncryptionKey;
use crate::storage::{Cursor, Store, StoreError, WorkflowFilter};

/// Most active workflows one query reads (a bound on the work of one credential update or
/// delete; the same bound as a restore, far above what one control plane serves).
pub const ACTIVE_WORKFLOWS_SCANNED_MAX: usize = super::restore::RESTORE_WORKFLOWS_MAX;

/// An active workflow whose activated version refers to a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialUser {
    /// Workflow id.
    pub id: String,
    /// Workflow name.
    pub name: String,
    /// The activated version (the one the data planes run).
    pub version: i64,
}

/// Whether the n8n workflow JSON `body` has a node whose `credentials` map names
/// `credential_id` (`{"httpHeaderAuth": {"id": "...", "name": "..."}}`). A body that is
/// not JSON refers to nothing (it could not have been activated).
pub fn refers_to(body: &str, credential_id: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    let Some(nodes) = doc.get("nodes").and_then(Value::as_array) else {
        return false;
    };
    nodes
        .iter()
        .filter_map(|node| node.get("credentials").and_then(Value::as_object))
        .flat_map(|map| map.values())
        .any(|reference| reference.get("id").and_then(Value::as_str) == Some(credential_id))
}

/// The active workflows whose activated version refers to `credential_id`, in list order.
/// Reads every active workflow (paged), up to [`ACTIVE_WORKFLOWS_SCANNED_MAX`].
pub async fn active_users(
    store: &dyn Store,
    credential_id: &str,
) -> Result<Vec<CredentialUser>, StoreError> {
    assert!(!credential_id.is_empty(), "a stored credential has an id");
    let filter = WorkflowFilter {
        active: Some(true),
        ..WorkflowFilter::default()
    };
    let mut users = Vec::new();
    let mut cursor = Cursor::START;
    let mut scanned = 0usize;
    loop {
        let page = store
            .list_workflows(&filter, &cursor, RESTORE_PAGE_ROWS)
            .await?;
        for workflow in &page.data {
            scanned += 1;
            if scanned > ACTIVE_WORKFLOWS_SCANNED_MAX {
                tracing::warn!(
                    credential = credential_id,
                    "more than {ACTIVE_WORKFLOWS_SCANNED_MAX} active workflows; the rest are not checked"
                );
                return Ok(users);
            }
            let version = activated_version(store, workflow).await?;
            let stored = match store.version(&workflow.id, version).await {
                Ok(stored) => stored,
                // Deleted between the list and this read: it no longer runs.
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            if refers_to(&stored.body, credential_id) {
                users.push(CredentialUser {
                    id: workflow.id.clone(),
                    name: workflow.name.clone(),
                    version,
                });
            }
        }
        match page.next_cursor.as_deref().and_then(Cursor::decode) {
            Some(next) if !page.data.is_empty() => cursor = next,
            _ => break,
        }
    }
    Ok(users)
}

/// What redeploying one workflow after a credential update did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Redeploy {
    /// Workflow id.
    pub workflow_id: String,
    /// Workflow name.
    pub name: String,
    /// The version deployed again.
    pub version: i64,
    /// Whether every data plane took the new credential.
    pub ok: bool,
    /// One entry per data plane (empty when the plan could not be built).
    pub targets: Vec<TargetReport>,
    /// Why the plan could not be built (names the credential, never a value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Deploys each of `users` again (its activated version, credentials resolved now) to every
/// data plane. The caller holds the deploy gate shared for the whole call, as an activation
/// does, so a node's resync or a deactivation never interleaves with it. (Taking it again
/// here would deadlock: the gate is fair, so a writer queued meanwhile blocks a second
/// shared acquisition while it waits for the first.) Failures are reported, never fatal:
/// one node that is down must not keep the others from getting the new credential.
pub async fn redeploy(
    store: &dyn Store,
    compiler: &Arc<dyn Compiler>,
    key: &EncryptionKey,
    deployer: &dyn Deployer,
    users: &[CredentialUser],
) -> Vec<Redeploy> {
    let mut done = Vec::with_capacity(users.len());
    for user in users {
        let plan = compile_version(store, compiler, key, &user.id, user.version).await;
        let entry = match plan {
            Ok(plan) => {
                let report = deployer
                    .deploy(Scope::All, &user.id, user.version, &plan)
                    .await;
                Redeploy {
                    workflow_id: user.id.clone(),
                    name: user.name.clone(),
                    version: user.version,
                    ok: report.all_ok(),
                    targets: report.targets,
                    error: None,
                }
            }
            Err(why) => Redeploy {
                workflow_id: user.id.clone(),
                name: user.name.clone(),
                version: user.version,
                ok: false,
                targets: Vec::new(),
                error: Some(why.to_string()),
            },
        };
        if !entry.ok {
            tracing::warn!(workflow = %entry.workflow_id, version = entry.version,
                "redeploying after a credential update failed on a data plane");
        }
        done.push(entry);
    }
    done
}

#[cfg(test)]
mod tests {
    use super::refers_to;

    #[test]
    fn a_reference_is_a_node_credentials_id() {
        let body = r#"{"nodes": [{"name": "A"},
            {"name": "B", "credentials": {"httpHeaderAuth": {"id": "c-1", "name": "k"}}}]}"#;
        assert!(refers_to(body, "c-1"));
        assert!(!refers_to(body, "c-2"));
        // A name equal to the id is not a reference; neither is text elsewhere.
        assert!(!refers_to(
            r#"{"nodes": [{"name": "c-1", "credentials": {"x": {"name": "c-1"}}}]}"#,
            "c-1"
        ));
        assert!(!refers_to("not json", "c-1"));
        assert!(!refers_to(r#"{"nodes": 3}"#, "c-1"));
    }
}
