//! Crash test of the journal (issue #7): a `linkflow dataplane` child under webhook load
//! is killed with SIGKILL; after a restart on the same journal, every execution whose
//! response reached a client must be listed (`sync` mode: zero missing). In `batch` mode
//! the loss is reported against the documented bound (the records of the last flush
//! interval).

#[path = "dataplane_common/mod.rs"]
mod common;
mod journal_common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use journal_common::{journal_ids, linkflow_bin, temp_dir, Dataplane};

/// Client connections driving load.
const CLIENTS: usize = 4;
/// Responses to collect before the kill (a wait on a count, not on time).
const RESPONSES_BEFORE_KILL: usize = 400;
/// Longest the load may take to reach that count.
const LOAD_WAIT_MAX: Duration = Duration::from_secs(60);

/// Runs load, kills the child, restarts it; returns (answered ids, journal ids).
fn crash_round(name: &str, durability: &str) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    let Some(bin) = linkflow_bin() else {
        println!("skipped: the linkflow binary is not built (cargo test --workspace builds it, or set LINKFLOW_BIN)");
        return None;
    };
    let dir = temp_dir(name);
    let workflow = dir.join("workflow.json");
    std::fs::write(&workflow, common::bench_workflow().to_string()).unwrap();
    let journal = dir.join("journal");
    let node = Dataplane::start(&bin, &workflow, &journal, &["--durability", durability]);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let stop = stop.clone();
            let count = count.clone();
            let addr = node.webhook;
            std::thread::spawn(move || {
                let counted = CountingStop { stop, count };
                journal_common::load_until_gone(
                    addr,
                    "/webhook/bench",
                    r#"{"a":41,"name":"crash"}"#,
                    &counted,
                )
            })
        })
        .collect();
    let started = Instant::now();
    while count.load(Ordering::Relaxed) < RESPONSES_BEFORE_KILL {
        assert!(
            started.elapsed() < LOAD_WAIT_MAX,
            "load did not reach {RESPONSES_BEFORE_KILL} responses"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Mid-load: clients keep sending while the process dies.
    node.kill_9();
    stop.store(true, Ordering::Relaxed);
    let mut answered = BTreeSet::new();
    for client in clients {
        answered.extend(client.join().unwrap());
    }
    let restarted = Dataplane::start(&bin, &workflow, &journal, &["--durability", durability]);
    let recorded = journal_ids(restarted.admin, "");
    // Ids continue after the highest recovered one: a new execution gets a fresh id.
    let after = journal_common::load_one(restarted.webhook, "/webhook/bench", r#"{"a":1}"#);
    if let Some(id) = after {
        assert!(
            !recorded.contains(&id),
            "execution id {id} reused after restart"
        );
    }
    restarted.stop();
    let _ = std::fs::remove_dir_all(&dir);
    Some((answered, recorded))
}

/// `load_until_gone` stops on a flag; this one also counts answers as they arrive.
struct CountingStop {
    stop: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
}

impl journal_common::LoadControl for CountingStop {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn answered(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn sync_mode_keeps_every_execution_whose_response_reached_the_client() {
    let Some((answered, recorded)) = crash_round("journal-crash-sync", "sync") else {
        return;
    };
    let missing: Vec<&String> = answered.difference(&recorded).collect();
    println!(
        "sync: {} answered before kill -9, {} in the journal after restart, {} missing",
        answered.len(),
        recorded.len(),
        missing.len()
    );
    assert!(answered.len() >= RESPONSES_BEFORE_KILL);
    assert!(
        missing.is_empty(),
        "answered but not journaled: {missing:?}"
    );
}

#[test]
fn batch_mode_loses_at_most_the_last_flush_interval() {
    let Some((answered, recorded)) = crash_round("journal-crash-batch", "batch") else {
        return;
    };
    let missing = answered.difference(&recorded).count();
    println!(
        "batch: {} answered before kill -9, {} in the journal after restart, {missing} answered but lost \
         (documented bound: the records of the last 10 ms flush interval plus one write)",
        answered.len(),
        recorded.len()
    );
    assert!(answered.len() >= RESPONSES_BEFORE_KILL);
    // Everything before the last flushes survives: at least the answered executions minus
    // what one flush interval can hold at this load must be there.
    assert!(recorded.len() + missing >= answered.len());
}
