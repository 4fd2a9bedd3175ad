//! The shard's hook: turn a finished execution into a record at the workflow's level and
//! append it. Called once per execution, synchronously, right after the engine finished;
//! in `sync` mode the shard then awaits [`ShardJournal::durable`] before responding.

use std::fmt::Write as _;

use linkflow_codec::plan::{ArchivedPersistence, ArchivedPlan, ArchivedSaveLevel};

use super::data::write_run_data;
use super::record::{Record, RecordError, Status, TriggerKind};
use super::writer::ShardJournal;
use super::RecordLevel;
use crate::engine::execution::Outcome;
use crate::engine::run_data::TaskRun;

/// What the shard knows of a finished execution besides the engine's run data.
#[derive(Clone, Copy)]
pub struct Finished<'e> {
    /// The plan it ran.
    pub plan: &'e ArchivedPlan,
    /// The plan id (16 hex digits; "" when unknown).
    pub plan_id: &'e str,
    /// Workflow id (the plan table's key).
    pub workflow_id: &'e str,
    /// `<shard>-<sequence>`.
    pub execution_id: &'e str,
    /// What started it.
    pub trigger: TriggerKind,
    /// Method of a webhook request ("" otherwise).
    pub method: &'e str,
    /// Path of a webhook request, the cron of a schedule, the calling execution's id for
    /// a sub-workflow.
    pub path: &'e str,
    /// Start, Unix ms.
    pub started_ms: i64,
    /// End, Unix ms.
    pub ended_ms: i64,
    /// How it ended.
    pub outcome: &'e Outcome,
    /// n8n `lastNodeExecuted`.
    pub last_node: Option<&'e str>,
}

impl ShardJournal {
    /// Records `finished` at its workflow's level (n8n's `saveData*` settings); `runs(i)`
    /// are node `i`'s recorded runs. Returns the lsn to await in `sync` mode, or `None`
    /// when the level keeps nothing (or the record was refused, see
    /// [`ShardJournal::append`]).
    pub fn record_execution<'a, 'r>(
        &self,
        finished: &Finished<'_>,
        runs: impl Fn(u32) -> &'r [TaskRun<'a>],
    ) -> Option<u64>
    where
        'a: 'r,
    {
        let failed = matches!(finished.outcome, Outcome::Failed(_));
        let status = if failed {
            Status::Error
        } else {
            Status::Success
        };
        let keep_data = match level(
            &finished.plan.settings.persistence,
            finished.trigger,
            failed,
            self.record_level(),
        ) {
            RecordLevel::None => return None,
            RecordLevel::Summary => false,
            RecordLevel::All => true,
        };
        let sequence = finished
            .execution_id
            .rsplit_once('-')
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(0);
        let mut scratch = self.scratch.borrow_mut();
        let (data, detail) = &mut *scratch;
        data.clear();
        detail.clear();
        if keep_data {
            write_run_data(finished.plan, runs, data);
        }
        if finished.method.is_empty() {
            detail.push_str(finished.path);
        } else {
            let _ = write!(detail, "{} {}", finished.method, finished.path);
        }
        let error = match finished.outcome {
            Outcome::Success => None,
            Outcome::Failed(error) => Some(RecordError {
                code: error.code,
                node: error.node.as_deref().unwrap_or(""),
                message: error.message.as_str(),
            }),
        };
        let record = Record {
            shard: self.shard(),
            sequence,
            execution_id: finished.execution_id,
            workflow_id: finished.workflow_id,
            workflow_version: finished.plan.workflow_version.to_native(),
            plan_id: finished.plan_id,
            trigger: finished.trigger,
            trigger_detail: detail.as_str(),
            status,
            started_ms: finished.started_ms,
            ended_ms: finished.ended_ms,
            last_node: finished.last_node.unwrap_or(""),
            error,
            data: keep_data.then_some(data.as_slice()),
        };
        self.append(&record)
    }
}

/// What is kept of an execution of a workflow with `persistence`, as n8n's save hook
/// decides: a manual run is kept whole when `saveManualExecutions` holds and not at all
/// otherwise; any other run at the level of its status, the workflow leaving it to the
/// node (`DEFAULT`) meaning `default` (`--record-level`).
pub fn level(
    persistence: &ArchivedPersistence,
    trigger: TriggerKind,
    failed: bool,
    default: RecordLevel,
) -> RecordLevel {
    if trigger == TriggerKind::Manual {
        return if persistence.manual {
            RecordLevel::All
        } else {
            RecordLevel::None
        };
    }
    let setting = if failed {
        &persistence.error
    } else {
        &persistence.success
    };
    match setting {
        ArchivedSaveLevel::None => RecordLevel::None,
        ArchivedSaveLevel::Summary => RecordLevel::Summary,
        ArchivedSaveLevel::All => RecordLevel::All,
        ArchivedSaveLevel::Default => default,
    }
}

#[cfg(test)]
#[path = "hook_tests.rs"]
mod tests;
