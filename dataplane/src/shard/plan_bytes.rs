//! Installed plan bytes: validated once when they arrive, then read in place by every
//! shard (shared read-only through an `Arc`; only installs touch the reference count).

use linkflow_codec::envelope::{self, SealedBytes};
use linkflow_codec::plan::ArchivedPlan;
use linkflow_codec::validate::Diagnostic;
use linkflow_codec::{compile_workflow, CompileExportError, Compiled, Export};
use rkyv::util::AlignedVec;

use crate::engine::credentials::CredentialMap;

/// Error code: plan bytes are not a valid archived plan.
pub const CODE_INVALID_PLAN: &str = "LF-DATAPLANE-001";
/// Error code: a workflow file did not compile and the codec gave no code of its own
/// (a refused workflow normally carries the codec's `LF-IMP-`/`LF-WF-`/`LF-CMP-` code).
pub const CODE_INVALID_WORKFLOW: &str = "LF-DATAPLANE-002";

/// At most this many of a refused workflow's errors are spelled out in the message (the
/// count says how many there were), so a broken 1,000-node file gives a readable error.
const WORKFLOW_ERRORS_SHOWN_MAX: usize = 16;

/// Why plan bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct PlanError {
    /// Stable code.
    pub code: &'static str,
    /// Reason.
    pub message: String,
}

/// Error code: sealed plan bytes failed the envelope checks (the message holds the
/// envelope's own `LF-ENV-NNN` code).
pub const CODE_SEALED_PLAN: &str = "LF-DATAPLANE-003";

/// A validated archived plan.
#[derive(Debug)]
pub struct PlanBytes {
    bytes: AlignedVec,
    workflow_id: String,
    /// Hex of the first bytes of the archive's blake3 hash: the envelope's plan id.
    plan_id: String,
    /// The credentials the plan's nodes refer to, delivered with it (memory only: never
    /// written to disk, the journal or any answer).
    credentials: CredentialMap,
    /// blake3 of the delivered credentials (all zero without any): a redeploy of the same
    /// plan with changed credentials is a change, not a no-op.
    credentials_digest: [u8; 32],
}

impl PlanBytes {
    /// Validates archived plan bytes (copied into aligned memory, as rkyv requires).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PlanError> {
        let mut aligned = AlignedVec::with_capacity(bytes.len());
        aligned.extend_from_slice(bytes);
        Self::from_aligned(aligned)
    }

    /// Validates aligned archived plan bytes.
    pub fn from_aligned(bytes: AlignedVec) -> Result<Self, PlanError> {
        let plan =
            rkyv::access::<ArchivedPlan, rkyv::rancor::Error>(&bytes).map_err(|e| PlanError {
                code: CODE_INVALID_PLAN,
                message: e.to_string(),
            })?;
        let workflow_id = workflow_key(plan);
        let plan_id = hex_prefix(blake3::hash(&bytes).as_bytes());
        Ok(PlanBytes {
            bytes,
            workflow_id,
            plan_id,
            credentials: CredentialMap::default(),
            credentials_digest: [0; 32],
        })
    }

    /// Takes a sealed plan (envelope header + archive, as `linkflow compile` writes and QUIC
    /// delivers it), validates it once (header, hash, bytecheck) and keeps the archive.
    /// The header is dropped by moving the archive down inside the same buffer, so a large
    /// plan is never held twice.
    pub fn from_sealed(mut sealed: SealedBytes) -> Result<Self, PlanError> {
        let plan = envelope::open(&sealed).map_err(|e| PlanError {
            code: CODE_SEALED_PLAN,
            message: e.to_string(),
        })?;
        let workflow_id = workflow_key(plan);
        let plan_id = envelope::plan_id(&sealed).map_err(|e| PlanError {
            code: CODE_SEALED_PLAN,
            message: e.to_string(),
        })?;
        let archive_bytes = sealed.len() - envelope::HEADER_BYTES;
        sealed
            .as_mut_slice()
            .copy_within(envelope::HEADER_BYTES.., 0);
        sealed.resize(archive_bytes, 0);
        // rkyv archives are position independent (relative offsets) and the buffer start
        // keeps its 16-byte alignment, so the validation above still holds for the moved
        // archive.
        debug_assert!(rkyv::access::<ArchivedPlan, rkyv::rancor::Error>(&sealed).is_ok());
        debug_assert_eq!(hex_prefix(blake3::hash(&sealed).as_bytes()), plan_id);
        Ok(PlanBytes {
            bytes: sealed,
            workflow_id,
            plan_id,
            credentials: CredentialMap::default(),
            credentials_digest: [0; 32],
        })
    }

    /// The plan id (same as the sealed envelope's: hex of the content hash prefix).
    pub fn plan_id(&self) -> &str {
        &self.plan_id
    }

    /// The workflow version the control plane assigned (0 for plans from files).
    pub fn version(&self) -> u64 {
        self.plan().workflow_version.to_native()
    }

    /// Compiles an n8n workflow export with the codec's validating compiler, exactly as
    /// `linkflow compile` does (for `--workflow` local use). A workflow the codec refuses
    /// fails with the codec's code and every error's node, path and reason.
    pub fn from_workflow_json(text: &str) -> Result<Self, PlanError> {
        let compiled = compile_workflow(Export::Bytes(text.as_bytes())).map_err(|e| match e {
            CompileExportError::Import(e) => PlanError {
                code: e.code,
                message: format!("at {}: {}", e.path, e.message),
            },
            CompileExportError::Invalid(_) => compile_error(&e),
        })?;
        for warning in &compiled.warnings {
            tracing::warn!(workflow = %compiled.plan.workflow_name, "{warning}");
        }
        Self::from_compiled(&compiled)
    }

    /// The archive of a plan the codec compiled ([`linkflow_codec::compile_workflow`]),
    /// validated as any other.
    pub fn from_compiled(compiled: &Compiled) -> Result<Self, PlanError> {
        Self::from_aligned(compiled.archive())
    }

    /// The plan, read in place.
    pub fn plan(&self) -> &ArchivedPlan {
        // SAFETY: the bytes were validated by `rkyv::access` in `from_aligned` and are
        // immutable since (no `&mut` access exists), so the unchecked access is sound and
        // spares a validation per request.
        unsafe { rkyv::access_unchecked::<ArchivedPlan>(&self.bytes) }
    }

    /// The workflow id (the name when the plan carries no id): the key for swaps,
    /// metrics and schedule ownership.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The plan with the credentials its nodes refer to (installed and replaced with it).
    pub fn with_credentials(mut self, credentials: CredentialMap, digest: [u8; 32]) -> Self {
        self.credentials = credentials;
        self.credentials_digest = digest;
        self
    }

    /// The plan's credentials, as executions of it see them.
    pub fn credentials(&self) -> &CredentialMap {
        &self.credentials
    }

    /// Digest of the plan's credentials (all zero without any).
    pub fn credentials_digest(&self) -> [u8; 32] {
        self.credentials_digest
    }

    /// The plan's p99 latency budget in milliseconds (0 = none).
    pub fn latency_budget_ms(&self) -> u32 {
        self.plan().settings.latency_budget_ms.to_native()
    }
}

/// The key of a plan's workflow: its id, or its name when it has none.
fn workflow_key(plan: &ArchivedPlan) -> String {
    if plan.workflow_id.is_empty() {
        plan.workflow_name.as_str().to_owned()
    } else {
        plan.workflow_id.as_str().to_owned()
    }
}

/// Plan id of an archive hash, as [`envelope`] derives it.
fn hex_prefix(hash: &[u8]) -> String {
    use std::fmt::Write as _;
    hash[..envelope::PLAN_ID_BYTES].iter().fold(
        String::with_capacity(2 * envelope::PLAN_ID_BYTES),
        |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        },
    )
}

/// The [`PlanError`] of a workflow the codec refused: the first error's code (the codec's
/// own `LF-WF-`/`LF-CMP-` code) and every error, each with its code, node, path and reason.
fn compile_error(refused: &CompileExportError) -> PlanError {
    let errors: Vec<&Diagnostic> = refused.errors().take(WORKFLOW_ERRORS_SHOWN_MAX).collect();
    // The compiler fails only with at least one error; the fallback code keeps the
    // refusal explicit should that ever change.
    debug_assert!(!errors.is_empty(), "a refused workflow has an error");
    let total = refused.errors().count();
    let mut message = format!("the workflow does not compile ({total} error(s))");
    for error in &errors {
        message.push_str("; ");
        message.push_str(&error.to_string());
    }
    PlanError {
        code: errors.first().map_or(CODE_INVALID_WORKFLOW, |d| d.code),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_bytes_are_refused_with_a_code() {
        let error = PlanBytes::from_bytes(&[1, 2, 3]).unwrap_err();
        assert_eq!(error.code, CODE_INVALID_PLAN);
    }

    #[test]
    fn an_invalid_workflow_fails_with_the_codecs_codes_naming_node_and_path() {
        let error = PlanBytes::from_workflow_json("{not json").unwrap_err();
        assert_eq!(error.code, linkflow_codec::model::CODE_NOT_JSON);
        let text = serde_json::json!({
            "name": "w",
            "nodes": [
                {"name": "Hook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
                 "position": [0, 0], "parameters": {"path": "p"}},
                {"name": "Odd", "type": "n8n-nodes-base.noSuchNode", "typeVersion": 1,
                 "position": [0, 0], "parameters": {}}
            ],
            "connections": {"Hook": {"main": [[{"node": "Gone", "type": "main", "index": 0}]]}}
        })
        .to_string();
        let error = PlanBytes::from_workflow_json(&text).unwrap_err();
        // Every error is listed; the code is the codec's first one.
        assert!(error.code.starts_with("LF-WF-"), "{error}");
        assert!(
            error
                .message
                .contains(linkflow_codec::validate::UNKNOWN_TARGET),
            "{error}"
        );
        assert!(
            error
                .message
                .contains(linkflow_codec::validate::UNKNOWN_TYPE),
            "{error}"
        );
        assert!(error.message.contains("\"Odd\""), "{error}");
        assert!(error.message.contains("Gone"), "{error}");
    }

    #[test]
    fn compiled_workflow_keeps_budget_methods_and_schedules() {
        let text = serde_json::json!({
            "id": "wf1", "name": "w", "settings": {"latencyBudgetMs": 25},
            "nodes": [
                {"name": "Hook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
                 "position": [0, 0],
                 "parameters": {"path": "p", "multipleMethods": true, "httpMethod": ["GET", "POST"]}},
                {"name": "Every", "type": "n8n-nodes-base.scheduleTrigger", "typeVersion": 1.2,
                 "position": [0, 0],
                 "parameters": {"rule": {"interval": [{"field": "seconds", "secondsInterval": 1},
                                                      {"field": "cronExpression", "expression": "5 4 * * *"}]}}}
            ],
            "connections": {}
        })
        .to_string();
        let bytes = PlanBytes::from_workflow_json(&text).unwrap();
        assert_eq!(bytes.workflow_id(), "wf1");
        assert_eq!(bytes.latency_budget_ms(), 25);
        let plan = bytes.plan();
        let methods: Vec<&str> = plan
            .triggers
            .iter()
            .find_map(|t| match t {
                linkflow_codec::plan::ArchivedTrigger::Webhook(w) => {
                    Some(w.methods.iter().map(|m| m.as_str()).collect())
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(methods, ["GET", "POST"]);
        let crons: Vec<&str> = plan
            .triggers
            .iter()
            .find_map(|t| match t {
                linkflow_codec::plan::ArchivedTrigger::Schedule(s) => {
                    Some(s.cron.iter().map(|c| c.as_str()).collect())
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(crons, ["* * * * * *", "0 5 4 * * *"]);
    }
}
