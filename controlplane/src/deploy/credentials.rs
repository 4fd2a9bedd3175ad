//! The credentials a plan's nodes refer to, resolved from the store for a deploy.
//!
//! A compiled plan lists its nodes' references (`{"httpHeaderAuth": {"id", "name"}}` in
//! the n8n export). Before a plan goes to the data planes (activation, rollback, restore
//! after a node restart) each reference is looked up by id, checked against the type the
//! node asks for, decrypted, and attached to the deploy as a [`DeployCredential`]. The
//! values travel only inside the mutual-TLS QUIC connection and live on the node in memory
//! with the plan. Errors name the credential (type, id, node reference name), never a value.

use std::sync::Arc;

use linkflow_codec::wire::{self, DeployCredential};
use serde_json::Value;

use super::CompiledPlan;
use crate::credentials::EncryptionKey;
use crate::storage::{Store, StoreError};

/// Stable code: a referenced credential does not exist, has no id, or is of another type.
pub const CODE_CREDENTIAL_MISSING: &str = "CREDENTIAL_MISSING";
/// Stable code: a referenced credential breaks a delivery bound (fields, sizes, count).
pub const CODE_CREDENTIAL_INVALID: &str = "CREDENTIAL_INVALID";

/// A credential reference of a plan: (credential type, id, name) as the node names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialUse {
    /// Credential type the node asks for, e.g. `httpHeaderAuth`.
    pub kind: String,
    /// Credential id ("" when the export has none).
    pub id: String,
    /// Display name in the reference.
    pub name: String,
}

/// Why a plan's credentials could not be resolved. Messages carry no secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A reference names no stored credential of its type.
    #[error("{CODE_CREDENTIAL_MISSING}: {0}")]
    Missing(String),
    /// A stored credential cannot be delivered (a bound of the wire, a non-text field).
    #[error("{CODE_CREDENTIAL_INVALID}: {0}")]
    Invalid(String),
    /// Reading the store failed.
    #[error("reading credential {id}: {source}")]
    Store {
        /// The credential id.
        id: String,
        /// The store's error.
        source: StoreError,
    },
    /// The stored secret does not open under the configured key.
    #[error("credential {0} cannot be decrypted with LINKFLOW_ENCRYPTION_KEY")]
    Decrypt(String),
}

/// Resolves every credential `plan` refers to and attaches them to it (decrypted). A plan
/// without references is left as it is and costs no store access.
pub async fn resolve(
    store: &dyn Store,
    key: &EncryptionKey,
    plan: &mut CompiledPlan,
) -> Result<(), CredentialError> {
    if plan.credential_uses.is_empty() {
        return Ok(());
    }
    if plan.credential_uses.len() > wire::DEPLOY_CREDENTIALS_MAX {
        return Err(CredentialError::Invalid(format!(
            "the workflow refers to {} credentials, at most {}",
            plan.credential_uses.len(),
            wire::DEPLOY_CREDENTIALS_MAX
        )));
    }
    let mut delivered: Vec<DeployCredential> = Vec::with_capacity(plan.credential_uses.len());
    for used in &plan.credential_uses {
        let named = || {
            format!(
                "{} credential `{}` (id `{}`)",
                used.kind, used.name, used.id
            )
        };
        if used.id.is_empty() {
            return Err(CredentialError::Missing(format!(
                "{} has no id; save the node with a stored credential",
                named()
            )));
        }
        if delivered
            .iter()
            .any(|d| d.id == used.id && d.kind == used.kind)
        {
            continue;
        }
        let row = match store.credential(&used.id).await {
            Ok(row) => row,
            Err(StoreError::NotFound) => {
                return Err(CredentialError::Missing(format!(
                    "{} does not exist",
                    named()
                )))
            }
            Err(source) => {
                return Err(CredentialError::Store {
                    id: used.id.clone(),
                    source,
                })
            }
        };
        if row.kind != used.kind {
            return Err(CredentialError::Missing(format!(
                "{} is stored as type {}, the node needs {}",
                named(),
                row.kind,
                used.kind
            )));
        }
        let plain = key
            .open(&row.id, &row.ciphertext)
            .map_err(|_| CredentialError::Decrypt(row.id.clone()))?;
        let data: serde_json::Map<String, Value> =
            serde_json::from_slice(&plain).map_err(|_| CredentialError::Decrypt(row.id.clone()))?;
        let mut fields = Vec::with_capacity(data.len());
        for (field, value) in data {
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                _ => {
                    return Err(CredentialError::Invalid(format!(
                        "{}: field `{field}` is not text, a number or a boolean",
                        named()
                    )))
                }
            };
            fields.push((field, text));
        }
        delivered.push(DeployCredential {
            kind: row.kind,
            id: row.id,
            name: row.name,
            fields,
        });
    }
    // The node would refuse what breaks a bound; say so here, as the user's error.
    wire::check_credentials(&delivered).map_err(|e| CredentialError::Invalid(e.to_string()))?;
    plan.credentials = Arc::new(delivered);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::{Compiler, EngineCompiler};

    const WITH_CREDENTIAL: &str = r#"{"name": "c", "nodes": [
        {"id": "1", "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
         "position": [0, 0], "parameters": {"path": "c", "httpMethod": "POST"}},
        {"id": "2", "name": "Call", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
         "position": [200, 0], "parameters": {"url": "http://127.0.0.1:9/x",
            "authentication": "genericCredentialType", "genericAuthType": "httpHeaderAuth"},
         "credentials": {"httpHeaderAuth": {"id": "cred-1", "name": "My key"}}},
        {"id": "3", "name": "Again", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
         "position": [400, 0], "parameters": {"url": "http://127.0.0.1:9/y",
            "authentication": "genericCredentialType", "genericAuthType": "httpHeaderAuth"},
         "credentials": {"httpHeaderAuth": {"id": "cred-1", "name": "My key"}}}],
      "connections": {"Webhook": {"main": [[{"node": "Call", "type": "main", "index": 0}]]},
                      "Call": {"main": [[{"node": "Again", "type": "main", "index": 0}]]}}}"#;

    #[test]
    fn the_compiler_lists_each_reference_once() {
        let plan = EngineCompiler.compile(WITH_CREDENTIAL, "wf", 1).unwrap();
        assert_eq!(
            plan.credential_uses,
            vec![CredentialUse {
                kind: "httpHeaderAuth".into(),
                id: "cred-1".into(),
                name: "My key".into(),
            }]
        );
        assert!(plan.credentials.is_empty(), "resolved only for a deploy");
    }
}
