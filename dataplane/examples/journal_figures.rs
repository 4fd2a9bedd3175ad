//! Journal figures (issue #7): bytes per record at each level (`none`, `summary`, `all`)
//! and records/s appended by one shard (one core) in each durability mode at the
//! `summary` and `all` levels, printed as two Markdown tables.
//!
//! `cargo run --release -p linkflow-dataplane --example journal_figures [DIR]`
//! (DIR defaults to a folder under the system temp dir; use a real disk, not tmpfs).
//! Level `none` writes nothing at all (no record), so it has no throughput row.

use std::rc::Rc;
use std::time::{Duration, Instant};

use glommio::LocalExecutorBuilder;
use linkflow_dataplane::journal::record::{Record, RecordError, Status, TriggerKind};
use linkflow_dataplane::journal::{Durability, JournalConfig, ShardJournal};

/// Records per measured run.
const RECORDS: u64 = 200_000;
/// Executions in flight at once in `sync` mode (each waits for its fdatasync).
const SYNC_IN_FLIGHT: u64 = 256;

/// n8n `runData` of the reference webhook workflow (Webhook -> Set -> If -> Respond), as
/// the shard writes it at level `all`.
const RUN_DATA: &[u8] = br#"{"Webhook":[{"data":{"main":[[{"json":{"headers":{"host":"127.0.0.1:19100","content-type":"application/json","content-length":"24"},"params":{},"query":{},"body":{"a":41,"name":"bench"},"webhookUrl":"http://localhost:5678/webhook/bench","executionMode":"production"}}]]}}],"Edit Fields":[{"data":{"main":[[{"json":{"headers":{"host":"127.0.0.1:19100","content-type":"application/json","content-length":"24"},"params":{},"query":{},"body":{"a":41,"name":"bench"},"webhookUrl":"http://localhost:5678/webhook/bench","executionMode":"production","b":42}}]]}}],"If":[{"data":{"main":[[{"json":{"b":42}}],[]]}}],"Respond True":[{"data":{"main":[[{"json":{"b":42}}]]}}]}"#;

fn record<'a>(
    sequence: u64,
    id: &'a str,
    data: Option<&'a [u8]>,
    failed: bool,
) -> Record<&'a str, &'a [u8]> {
    Record {
        shard: 0,
        sequence,
        execution_id: id,
        workflow_id: "benchWebhook0001",
        workflow_version: 1,
        plan_id: "0123456789abcdef",
        trigger: TriggerKind::Webhook,
        trigger_detail: "POST /webhook/bench",
        status: if failed {
            Status::Error
        } else {
            Status::Success
        },
        started_ms: 1_764_460_800_000,
        ended_ms: 1_764_460_800_001,
        last_node: "Respond True",
        error: failed.then_some(RecordError {
            code: "LF-ENGINE-010",
            node: "If",
            message: "Wrong type: '42' is a string but was expecting a number",
        }),
        data,
    }
}

fn main() {
    let base = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("lf-journal-figures"));
    println!("| level | bytes per record (frame) |");
    println!("|---|---:|");
    println!("| none | 0 (no record is written) |");
    for (level, data, failed) in [
        ("summary, success", None, false),
        ("summary, error (code, node, message)", None, true),
        (
            "all, reference workflow (4 nodes' output)",
            Some(RUN_DATA),
            false,
        ),
    ] {
        let mut out = Vec::new();
        let bytes = record(1, "0-1", data, failed).encode(&mut out);
        println!("| {level} | {bytes} |");
    }
    println!();
    println!("| durability | level | records | records/s appended | records/s durable | writes | records/write |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for durability in [Durability::None, Durability::Batch, Durability::Sync] {
        for (level, data) in [("summary", None), ("all", Some(RUN_DATA))] {
            let dir = base.join(format!("{}-{level}", durability.as_str()));
            let _ = std::fs::remove_dir_all(&dir);
            let mut config = JournalConfig::new(&dir);
            config.durability = durability;
            let handle = LocalExecutorBuilder::default()
                .spawn(move || async move {
                    let journal = ShardJournal::open(&config, 0, None).expect("journal opens");
                    let records = if durability == Durability::Sync {
                        RECORDS / 10
                    } else {
                        RECORDS
                    };
                    let started = Instant::now();
                    if durability == Durability::Sync {
                        // Executions in flight each wait for the fdatasync covering their
                        // record, as the shard's handler does.
                        let per_task = records / SYNC_IN_FLIGHT;
                        let tasks: Vec<_> = (0..SYNC_IN_FLIGHT)
                            .map(|t| {
                                let journal: Rc<ShardJournal> = journal.clone();
                                glommio::spawn_local(async move {
                                    for i in 0..per_task {
                                        let sequence = t * per_task + i + 1;
                                        let id = format!("0-{sequence}");
                                        let lsn = journal
                                            .append(&record(sequence, &id, data, false))
                                            .unwrap();
                                        journal.durable(lsn).await;
                                    }
                                })
                            })
                            .collect();
                        for task in tasks {
                            task.await;
                        }
                    } else {
                        for sequence in 1..=records {
                            let id = format!("0-{sequence}");
                            while journal
                                .append(&record(sequence, &id, data, false))
                                .is_none()
                            {
                                glommio::timer::sleep(Duration::from_millis(1)).await;
                            }
                            if sequence % 1024 == 0 {
                                // Let the flusher run, as a serving shard does between requests.
                                glommio::yield_if_needed().await;
                            }
                        }
                    }
                    let appended = started.elapsed();
                    journal.close().await;
                    let total = started.elapsed();
                    let stats = journal.stats();
                    (records, appended, total, stats.writes)
                })
                .unwrap();
            let (records, appended, total, writes) = handle.join().unwrap();
            println!(
                "| {} | {level} | {records} | {:.0} | {:.0} | {writes} | {:.1} |",
                durability.as_str(),
                records as f64 / appended.as_secs_f64(),
                records as f64 / total.as_secs_f64(),
                records as f64 / writes.max(1) as f64,
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
