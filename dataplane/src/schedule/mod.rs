//! Schedule firing: each workflow's cron triggers run on exactly one shard, its owner by
//! rendezvous hashing of the workflow id over the shards, in the trigger's time zone.
//!
//! A plan table install restarts the owner's timers; a timer of an older table exits when
//! it wakes, and the last fired slot per workflow is remembered, so a swap never fires a
//! slot twice. Fires missed while the process was stopped are not replayed (n8n does not
//! replay them either); after a long executor stall the next future slot is used.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use linkflow_codec::plan::{ArchivedNodeKind, ArchivedTrigger};

use crate::engine::execution::{Config, Execution, Outcome, Start};
use crate::engine::nodes::trigger::schedule_item;
use crate::journal::record::TriggerKind;
use crate::shard::effects::{drive, EffectEnv, Shared};
use crate::shard::journaling::{self, Started};
use crate::shard::{now_ms, PlanBytes, PlanTable, ShardState};

/// The shard that owns `workflow_id` among `shards`: highest hash of (id, shard) wins, so
/// adding a shard moves only the workflows the new shard wins.
pub fn owner_shard(workflow_id: &str, shards: usize) -> usize {
    (0..shards.max(1))
        .max_by_key(|&shard| {
            // DefaultHasher::new() uses fixed keys: the same owner on every shard thread.
            let mut hasher = DefaultHasher::new();
            workflow_id.hash(&mut hasher);
            shard.hash(&mut hasher);
            hasher.finish()
        })
        .unwrap_or(0)
}

/// Parses a cron expression with an optional seconds field.
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expr)
        .map_err(|e| e.to_string())
}

/// Starts the timers of the schedule triggers this shard owns in `table`.
pub(crate) fn start(state: &Rc<ShardState>, table: &Rc<PlanTable>) {
    for installed in &table.plans {
        let bytes = &installed.bytes;
        if owner_shard(bytes.workflow_id(), state.config.shards) != state.config.index {
            continue;
        }
        let plan = bytes.plan();
        for trigger in plan.triggers.iter() {
            let ArchivedTrigger::Schedule(schedule) = trigger else {
                continue;
            };
            let zone = if schedule.timezone.is_empty() {
                plan.settings.timezone.as_str()
            } else {
                schedule.timezone.as_str()
            };
            let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
            for expr in schedule.cron.iter() {
                match parse_cron(expr.as_str()) {
                    Ok(cron) => {
                        let task = fire_loop(
                            state.clone(),
                            bytes.clone(),
                            installed.stats,
                            table.generation,
                            schedule.node.to_native(),
                            (cron, expr.as_str().to_owned()),
                            tz,
                        );
                        glommio::spawn_local(task).detach();
                    }
                    Err(error) => tracing::warn!(
                        workflow = bytes.workflow_id(),
                        cron = expr.as_str(),
                        %error,
                        "invalid cron expression; trigger not scheduled"
                    ),
                }
            }
        }
    }
}

async fn fire_loop(
    state: Rc<ShardState>,
    bytes: Arc<PlanBytes>,
    stats: usize,
    generation: u64,
    node: u32,
    (cron, expr): (Cron, String),
    tz: chrono_tz::Tz,
) {
    loop {
        let now = Utc::now().with_timezone(&tz);
        let Ok(next) = cron.find_next_occurrence(&now, false) else {
            return;
        };
        let next_ms = next.timestamp_millis();
        let wait_ms = (next_ms - now.timestamp_millis()).max(0) as u64;
        glommio::timer::sleep(Duration::from_millis(wait_ms)).await;
        // Timers sleep at least as long as asked; wait out any remainder of the slot.
        let late = next_ms - now_ms();
        if late > 0 {
            glommio::timer::sleep(Duration::from_millis(late as u64)).await;
        }
        if state.table.borrow().generation != generation {
            return;
        }
        if !claim_slot(&state, bytes.workflow_id(), next_ms) {
            continue;
        }
        fire(&state, &bytes, stats, (node, &expr), next_ms).await;
    }
}

/// Records `slot_ms` as fired for `workflow`; false when it (or a later slot) already was.
fn claim_slot(state: &ShardState, workflow: &str, slot_ms: i64) -> bool {
    let mut fires = state.last_fires.borrow_mut();
    match fires.iter_mut().find(|(w, _)| w == workflow) {
        Some((_, last)) if *last >= slot_ms => false,
        Some((_, last)) => {
            *last = slot_ms;
            true
        }
        None => {
            fires.push((workflow.to_owned(), slot_ms));
            true
        }
    }
}

/// Runs one execution from the schedule trigger `node` (firing on `cron`) on the shard,
/// performing its effects (outbound HTTP, timers, sub-workflows) as webhook executions do,
/// and journals it (trigger `schedule`, detail the cron expression). Nobody waits for an
/// answer, so even in `sync` mode the fire does not wait for its record's fdatasync.
async fn fire(
    state: &ShardState,
    bytes: &PlanBytes,
    stats: usize,
    (node, cron): (u32, &str),
    slot_ms: i64,
) {
    let plan = bytes.plan();
    let legacy = matches!(plan.nodes[node as usize].kind, ArchivedNodeKind::Cron);
    let Some(arena) = state.arenas.lease() else {
        // Every arena is in use: the fire is dropped (and counted) rather than queued.
        state.metrics.borrow_mut().workflows[stats].rejected += 1;
        tracing::warn!(
            shard = state.config.index,
            workflow = bytes.workflow_id(),
            "schedule fire skipped: the shard runs as many executions as it may hold"
        );
        return;
    };
    let table = state.table.borrow().clone();
    let execution_id = state.next_execution_id();
    let start = Start {
        node,
        items: schedule_item(&arena, slot_ms, legacy),
    };
    let config = Config::new("trigger", &execution_id, slot_ms);
    let mut execution = Execution::new(&arena, plan, start, Shared::new(state, bytes), config);
    let env = EffectEnv {
        state,
        table: &table,
        arena: &arena,
        depth: 0,
        execution_id: &execution_id,
    };
    let outcome = drive(env, &mut execution).await;
    let started = Started {
        trigger: TriggerKind::Schedule,
        method: "",
        detail: cron,
        execution_id: &execution_id,
        started_ms: slot_ms,
    };
    journaling::record(state, bytes, &execution, &started, &outcome);
    drop(execution);
    drop(arena);
    let mut metrics = state.metrics.borrow_mut();
    let counters = &mut metrics.workflows[stats];
    counters.schedule_fires += 1;
    match outcome {
        Outcome::Success => counters.success += 1,
        Outcome::Failed(_) => counters.error += 1,
    }
    tracing::info!(
        shard = state.config.index,
        workflow = bytes.workflow_id(),
        execution_id = %execution_id,
        slot = %Utc.timestamp_millis_opt(slot_ms).single().map(|t| t.to_rfc3339()).unwrap_or_default(),
        "schedule fired"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_is_stable_and_within_range() {
        for shards in 1..6 {
            let owner = owner_shard("workflow-1", shards);
            assert!(owner < shards);
            assert_eq!(owner, owner_shard("workflow-1", shards));
        }
    }

    #[test]
    fn cron_with_seconds_and_five_fields_parse() {
        assert!(parse_cron("*/5 * * * * *").is_ok());
        assert!(parse_cron("0 12 * * MON").is_ok());
        assert!(parse_cron("not a cron").is_err());
    }
}
