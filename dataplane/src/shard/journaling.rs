//! The shard's side of the journal (issue #7): every execution the shard runs — webhook
//! requests, schedule fires, sub-workflows — leaves one record through [`record`], with
//! its trigger kind and detail. The level (what is kept) is decided by the journal from
//! the plan's settings; this only gathers what the shard knows of the execution.

use super::{now_ms, PlanBytes, ShardState};
use crate::engine::execution::{Execution, Outcome, Services};
use crate::journal::hook::Finished;
use crate::journal::record::TriggerKind;

/// How an execution was started, as its record states it.
#[derive(Clone, Copy)]
pub(crate) struct Started<'s> {
    /// What started it.
    pub(crate) trigger: TriggerKind,
    /// Method of a webhook request ("" otherwise).
    pub(crate) method: &'s str,
    /// Path of a webhook request, the cron of a schedule, the calling execution's id.
    pub(crate) detail: &'s str,
    /// Execution id (`<shard>-<sequence>`).
    pub(crate) execution_id: &'s str,
    /// Start, Unix ms.
    pub(crate) started_ms: i64,
}

/// Appends the record of `execution` (finished with `outcome`) to the shard's journal;
/// returns the lsn a `sync`-mode response waits for, or `None` when there is no journal
/// or nothing is kept. Cheap and synchronous: the record is encoded into the pending
/// buffer, the disk write happens in the journal's flusher.
pub(crate) fn record<'a, S: Services<'a>>(
    state: &ShardState,
    bytes: &PlanBytes,
    execution: &Execution<'a, S>,
    started: &Started<'_>,
    outcome: &Outcome,
) -> Option<u64> {
    let journal = state.journal.as_ref()?;
    let plan = bytes.plan();
    let finished = Finished {
        plan,
        plan_id: bytes.plan_id(),
        workflow_id: bytes.workflow_id(),
        execution_id: started.execution_id,
        trigger: started.trigger,
        method: started.method,
        path: started.detail,
        started_ms: started.started_ms,
        ended_ms: now_ms(),
        outcome,
        last_node: execution
            .last_node()
            .map(|n| plan.nodes[n as usize].name.as_str()),
    };
    journal.record_execution(&finished, |node| execution.runs(node))
}
