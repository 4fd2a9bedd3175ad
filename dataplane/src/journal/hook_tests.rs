//! Persistence levels at the journal: which level each n8n setting gives per status and
//! trigger ([`level`]), and what each level writes — bytes appended and records on disk —
//! for one real execution of a workflow compiled by the codec.

use bumpalo::Bump;
use linkflow_codec::plan::ArchivedPlan;
use serde_json::{json, Value as Json};

use super::{level, Finished};
use crate::engine::execution::{Config, Effect, ExecError, Execution, Outcome, Start};
use crate::engine::nodes::trigger::manual_item;
use crate::engine::services::EngineServices;
use crate::journal::record::TriggerKind;
use crate::journal::{recovery, JournalConfig, RecordLevel, ShardJournal};
use linkflow_codec::{compile_workflow, Export};

/// Manual trigger -> Set: one execution with node data worth keeping.
fn workflow(settings: Json) -> Json {
    json!({
        "id": "levels", "name": "levels",
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0], "parameters": {}},
            {"name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [200, 0],
             "parameters": {"mode": "manual", "includeOtherFields": true, "options": {},
               "assignments": {"assignments": [{"id": "1", "name": "greeting",
                 "value": "a value long enough that keeping it shows in the record", "type": "string"}]}}}
        ],
        "connections": {"Start": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}},
        "settings": settings,
    })
}

fn compiled(settings: Json) -> rkyv::util::AlignedVec {
    compile_workflow(Export::Json(&workflow(settings)))
        .expect("the test workflow compiles")
        .archive()
}

fn plan(bytes: &rkyv::util::AlignedVec) -> &ArchivedPlan {
    rkyv::access::<ArchivedPlan, rkyv::rancor::Error>(bytes).expect("a valid plan")
}

#[test]
fn each_setting_gives_its_level_per_status_and_default_is_the_nodes() {
    let cases = [
        (json!({}), RecordLevel::Summary, RecordLevel::Summary),
        (
            json!({"saveDataSuccessExecution": "DEFAULT", "saveDataErrorExecution": "DEFAULT"}),
            RecordLevel::Summary,
            RecordLevel::Summary,
        ),
        (
            json!({"saveDataSuccessExecution": "none", "saveDataErrorExecution": "all"}),
            RecordLevel::None,
            RecordLevel::All,
        ),
        (
            json!({"saveDataSuccessExecution": "summary", "saveDataErrorExecution": "none"}),
            RecordLevel::Summary,
            RecordLevel::None,
        ),
    ];
    for (settings, success, error) in cases {
        let bytes = compiled(settings.clone());
        let persistence = &plan(&bytes).settings.persistence;
        for trigger in [
            TriggerKind::Webhook,
            TriggerKind::Schedule,
            TriggerKind::SubWorkflow,
        ] {
            let default = RecordLevel::Summary;
            assert_eq!(
                level(persistence, trigger, false, default),
                success,
                "{settings}"
            );
            assert_eq!(
                level(persistence, trigger, true, default),
                error,
                "{settings}"
            );
        }
    }
}

#[test]
fn manual_runs_are_kept_whole_or_not_at_all_whatever_the_status_levels() {
    let kept =
        compiled(json!({"saveDataSuccessExecution": "none", "saveDataErrorExecution": "none"}));
    let persistence = &plan(&kept).settings.persistence;
    for failed in [false, true] {
        let got = level(persistence, TriggerKind::Manual, failed, RecordLevel::None);
        assert_eq!(got, RecordLevel::All);
    }
    let dropped = compiled(json!({"saveManualExecutions": false}));
    let persistence = &plan(&dropped).settings.persistence;
    assert_eq!(
        level(persistence, TriggerKind::Manual, false, RecordLevel::All),
        RecordLevel::None
    );
    assert_eq!(
        level(persistence, TriggerKind::Webhook, false, RecordLevel::All),
        RecordLevel::All
    );
}

/// What one journal wrote for one execution of the workflow with `settings`, the node
/// started with `record_level`: (bytes appended, records found on disk after close,
/// whether the record on disk has node data).
fn written(settings: Json, record_level: RecordLevel, failed: bool) -> (u64, usize, bool) {
    let dir = std::env::temp_dir().join(format!(
        "lf-journal-levels-{}-{}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = JournalConfig::new(&dir);
    config.record_level = record_level;
    let shard_dir = config.shard_dir(0);
    let appended = glommio::LocalExecutorBuilder::default()
        .spawn(move || async move {
            let journal = ShardJournal::open(&config, 0, None).expect("journal opens");
            let bytes = compiled(settings);
            let plan = plan(&bytes);
            let arena = Bump::new();
            let start = Start {
                node: 0,
                items: manual_item(&arena),
            };
            let config = Config::new("trigger", "0-1", 1_764_460_800_000);
            let services = EngineServices::fast_only(0);
            let mut execution = Execution::new(&arena, plan, start, services, config);
            let mut outcome = loop {
                match execution.poll(config.started_ms) {
                    Effect::Done(outcome) => break outcome,
                    Effect::Respond(_) => {}
                    _ => panic!("the test workflow has no effects"),
                }
            };
            assert_eq!(outcome, Outcome::Success);
            if failed {
                outcome = Outcome::Failed(ExecError {
                    code: "LF-TEST-001",
                    message: "failed on purpose".into(),
                    node: Some("Set".into()),
                });
            }
            let finished = Finished {
                plan,
                plan_id: "0123456789abcdef",
                workflow_id: "levels",
                execution_id: "0-1",
                trigger: TriggerKind::Schedule,
                method: "",
                path: "* * * * * *",
                started_ms: config.started_ms,
                ended_ms: config.started_ms + 1,
                outcome: &outcome,
                last_node: Some("Set"),
            };
            journal.record_execution(&finished, |node| execution.runs(node));
            journal.close().await;
            journal.stats().appended_bytes
        })
        .expect("executor starts")
        .join()
        .expect("executor ends");
    let recovered = recovery::recover(&shard_dir, 0).expect("segments scan");
    if let Some(entry) = recovered.index.get(1) {
        assert_eq!(
            u64::from(entry.frame_bytes),
            appended,
            "one frame, as appended"
        );
    }
    let has_data = has_node_data(&shard_dir);
    let _ = std::fs::remove_dir_all(&dir);
    (appended, recovered.report.records, has_data)
}

static NEXT_DIR: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether the one record in `shard_dir` carries node data (its `Set` output).
fn has_node_data(shard_dir: &std::path::Path) -> bool {
    std::fs::read_dir(shard_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .any(|bytes| bytes.windows(8).any(|w| w == b"greeting"))
}

#[test]
fn each_level_writes_what_it_promises_and_none_writes_nothing() {
    let (all, all_records, all_data) = written(
        json!({"saveDataSuccessExecution": "all"}),
        RecordLevel::None,
        false,
    );
    let (summary, summary_records, summary_data) = written(
        json!({"saveDataSuccessExecution": "summary"}),
        RecordLevel::All,
        false,
    );
    let (none, none_records, _) = written(
        json!({"saveDataSuccessExecution": "none"}),
        RecordLevel::All,
        false,
    );
    println!("bytes per record: all {all}, summary {summary}, none {none}");
    assert_eq!((all_records, summary_records, none_records), (1, 1, 0));
    assert!(all_data && !summary_data);
    assert_eq!(
        none, 0,
        "level none writes no summary either (n8n deletes the execution)"
    );
    assert!(
        summary > 0 && summary < all,
        "summary {summary} B, all {all} B"
    );
    // Absent settings follow the node's --record-level.
    let (default_summary, ..) = written(json!({}), RecordLevel::Summary, false);
    let (default_none, default_none_records, _) = written(json!({}), RecordLevel::None, false);
    assert_eq!(default_summary, summary);
    assert_eq!((default_none, default_none_records), (0, 0));
    // The error level applies to a failed run: `none` for success does not drop errors.
    let settings = json!({"saveDataSuccessExecution": "none", "saveDataErrorExecution": "summary"});
    let (failed, failed_records, failed_data) = written(settings, RecordLevel::All, true);
    assert_eq!((failed_records, failed_data), (1, false));
    assert!(
        failed > summary,
        "an error record carries its error: {failed} B"
    );
}
