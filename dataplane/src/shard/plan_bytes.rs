//! Installed plan bytes: validated once when they arrive, then read in place by every
//! shard (shared read-only through an `Arc`; only installs touch the reference count).

use linkflow_codec::envelope::{self, SealedBytes};
use linkflow_codec::plan::{ArchivedPlan, Plan, ScheduleTrigger, Trigger};
use rkyv::util::AlignedVec;
use serde_json::Value as Json;

use crate::engine::quick_plan::{archive, plan_from_workflow};

/// Error code: plan bytes are not a valid archived plan.
pub const CODE_INVALID_PLAN: &str = "LF-DATAPLANE-001";
/// Error code: a workflow file could not be translated.
pub const CODE_INVALID_WORKFLOW: &str = "LF-DATAPLANE-002";

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

    /// Translates an n8n workflow export into a plan (for `--workflow` local use).
    pub fn from_workflow_json(text: &str) -> Result<Self, PlanError> {
        let workflow: Json = serde_json::from_str(text).map_err(|e| PlanError {
            code: CODE_INVALID_WORKFLOW,
            message: e.to_string(),
        })?;
        if !workflow["nodes"].is_array() {
            return Err(PlanError {
                code: CODE_INVALID_WORKFLOW,
                message: "the workflow has no `nodes` array".into(),
            });
        }
        let mut plan = plan_from_workflow(&workflow);
        complete_plan(&mut plan, &workflow);
        Self::from_aligned(archive(&plan))
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

/// Fills in what the quick translation leaves out and the data plane needs: several
/// methods per webhook node, the latency budget, the time zone and schedule triggers.
fn complete_plan(plan: &mut Plan, workflow: &Json) {
    let settings = &workflow["settings"];
    if let Some(budget) = settings["latencyBudgetMs"].as_u64() {
        plan.settings.latency_budget_ms = budget.min(u64::from(u32::MAX)) as u32;
    }
    if let Some(tz) = settings["timezone"].as_str() {
        if tz != "DEFAULT" {
            plan.settings.timezone = tz.to_owned();
        }
    }
    let nodes = workflow["nodes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for trigger in &mut plan.triggers {
        let Trigger::Webhook(webhook) = trigger else {
            continue;
        };
        let params = &nodes[webhook.node as usize]["parameters"];
        if params["multipleMethods"].as_bool() == Some(true) {
            if let Some(methods) = params["httpMethod"].as_array() {
                webhook.methods = methods
                    .iter()
                    .filter_map(Json::as_str)
                    .map(str::to_ascii_uppercase)
                    .collect();
            }
        }
    }
    let has_schedule = plan
        .triggers
        .iter()
        .any(|t| matches!(t, Trigger::Schedule(_)));
    if has_schedule {
        return;
    }
    for (index, node) in nodes.iter().enumerate() {
        if node["disabled"].as_bool() == Some(true) {
            continue;
        }
        let type_name = node["type"].as_str().unwrap_or("");
        if type_name.ends_with(".scheduleTrigger") || type_name.ends_with(".cron") {
            let cron = schedule_crons(type_name, &node["parameters"]);
            if !cron.is_empty() {
                plan.triggers.push(Trigger::Schedule(ScheduleTrigger {
                    node: index as u32,
                    cron,
                    timezone: String::new(),
                }));
            }
        }
    }
}

/// Cron expressions (with seconds) of a Schedule Trigger's rules or a legacy Cron node's
/// times, translated by the codec's compiler rules so `--workflow` plans fire exactly as
/// compiled plans do. A rule the compiler refuses is skipped here (the compiler reports it).
fn schedule_crons(type_name: &str, params: &Json) -> Vec<String> {
    use linkflow_codec::plan::schedule;
    if type_name.ends_with(".cron") {
        return schedule::cron_trigger(params.as_object()).unwrap_or_default();
    }
    params["rule"]["interval"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_object)
        .filter_map(|rule| schedule::schedule_rule(rule).ok())
        .collect()
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
    fn workflow_translation_keeps_budget_methods_and_schedules() {
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
