//! A shard's journal: the I/O layer around the sans-IO core, on the shard's glommio
//! executor. `append` is synchronous and cheap (encode into the pending buffer); a flusher
//! task performs the group commit with O_DIRECT writes through io_uring (glommio
//! `DmaFile`) and wakes the executions waiting for durability; a query task answers index
//! look-ups; retention deletes whole old segments.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};
use futures_lite::future;
use glommio::io::{Directory, DmaFile, OpenOptions};

use super::commit::{GroupCommit, WriteOp};
use super::index::{Entry, Index};
use super::query::{Fetched, JournalRequest, ShardJournalStats, ShardPage, Summary};
use super::record::RecordRef;
use super::recovery::{self, RecoveryReport};
use super::retention::{Policy, SegmentInfo};
use super::{
    segment_file_name, Durability, JournalConfig, RecordLevel, CODE_BACKLOG, CODE_OPEN, CODE_TORN,
    CODE_WRITE, FLUSH_BYTES_EARLY, PENDING_BYTES_MAX,
};

/// How often the query task looks at its channel (queries are rare; polling keeps the
/// admin thread free of any executor handle).
pub const QUERY_POLL_INTERVAL: Duration = Duration::from_millis(5);
/// How often retention runs.
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(10);
/// Pause after a failed write before the records are retried.
pub const WRITE_RETRY_DELAY: Duration = Duration::from_millis(100);

/// Counters of one shard's journal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Records appended.
    pub appended: u64,
    /// Frame bytes appended.
    pub appended_bytes: u64,
    /// Records refused because too many bytes waited ([`CODE_BACKLOG`]).
    pub refused: u64,
    /// Completed writes (each a group of records).
    pub writes: u64,
    /// Failed writes or syncs (retried).
    pub write_errors: u64,
    /// Segments deleted by retention.
    pub segments_deleted: u64,
}

/// One shard's journal.
pub struct ShardJournal {
    shard: u16,
    dir: PathBuf,
    durability: Durability,
    record_level: RecordLevel,
    flush_interval: Duration,
    policy: Policy,
    commit: RefCell<GroupCommit>,
    index: RefCell<Index>,
    /// Segments on disk or being written, ascending; the last one is active.
    segments: RefCell<Vec<SegmentInfo>>,
    waiters: RefCell<Vec<(u64, Waker)>>,
    flusher: RefCell<Option<Waker>>,
    stats: Cell<JournalStats>,
    stopping: Cell<bool>,
    recovery: RecoveryReport,
    /// Reused per record: node data JSON and the trigger detail (no allocation per
    /// execution once warm).
    pub(super) scratch: RefCell<(Vec<u8>, String)>,
}

impl std::fmt::Debug for ShardJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardJournal")
            .field("shard", &self.shard)
            .field("dir", &self.dir)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

impl ShardJournal {
    /// Recovers shard `shard`'s folder and starts the flusher, query and retention tasks
    /// on the current glommio executor. Call inside the shard's executor, before serving.
    pub fn open(
        config: &JournalConfig,
        shard: usize,
        queries: Option<Receiver<JournalRequest>>,
    ) -> Result<Rc<ShardJournal>, String> {
        let dir = config.shard_dir(shard);
        let shard = shard as u16;
        let recovered = recovery::recover(&dir, shard)
            .map_err(|e| format!("{CODE_OPEN}: journal folder {}: {e}", dir.display()))?;
        for torn in &recovered.report.torn {
            tracing::warn!(
                shard,
                segment = torn.segment,
                offset = torn.offset,
                cut_bytes = torn.cut_bytes,
                reason = torn.reason,
                code = CODE_TORN,
                "journal: torn tail cut at the last valid record"
            );
        }
        for bad in &recovered.report.bad_files {
            tracing::warn!(shard, file = %bad.display(), code = CODE_OPEN, "journal: not a segment of this version; set aside");
        }
        tracing::info!(
            shard,
            segments = recovered.report.segments,
            records = recovered.report.records,
            durability = config.durability.as_str(),
            "journal recovered"
        );
        let now = super::now_ms();
        let (segment, end, tail) = recovered.resume.unwrap_or_default();
        let commit = GroupCommit::resume(
            u32::from(shard),
            segment,
            end,
            tail,
            config.segment_bytes_max,
            now,
        );
        let mut segments = recovered.segments;
        if end == 0 {
            segments.push(SegmentInfo {
                segment,
                bytes: 0,
                newest_ms: now,
            });
        }
        let journal = Rc::new(ShardJournal {
            shard,
            dir,
            durability: config.durability,
            record_level: config.record_level,
            flush_interval: config.flush_interval,
            policy: config.retention(),
            commit: RefCell::new(commit),
            index: RefCell::new(recovered.index),
            segments: RefCell::new(segments),
            waiters: RefCell::new(Vec::new()),
            flusher: RefCell::new(None),
            stats: Cell::new(JournalStats::default()),
            stopping: Cell::new(false),
            recovery: recovered.report,
            scratch: RefCell::new((Vec::new(), String::new())),
        });
        glommio::spawn_local(flusher(journal.clone())).detach();
        if let Some(queries) = queries {
            glommio::spawn_local(serve_queries(journal.clone(), queries)).detach();
        }
        if journal.policy.bounded() {
            glommio::spawn_local(retention(journal.clone())).detach();
        }
        Ok(journal)
    }

    /// The shard this journal belongs to.
    pub fn shard(&self) -> u16 {
        self.shard
    }

    /// The durability mode.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The level of workflows that leave it to the node (`--record-level`).
    pub fn record_level(&self) -> RecordLevel {
        self.record_level
    }

    /// Highest execution sequence number on disk (the shard continues after it, so ids
    /// stay unique across restarts).
    pub fn sequence_max(&self) -> u64 {
        self.index.borrow().sequence_max()
    }

    /// What recovery found at start.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// Counters.
    pub fn stats(&self) -> JournalStats {
        self.stats.get()
    }

    /// Appends a record and indexes it; returns its lsn, or `None` when it was refused
    /// because [`PENDING_BYTES_MAX`] bytes already wait for the disk.
    pub fn append(&self, record: &RecordRef<'_>) -> Option<u64> {
        let mut stats = self.stats.get();
        let mut commit = self.commit.borrow_mut();
        if commit.pending_bytes() >= PENDING_BYTES_MAX {
            stats.refused += 1;
            self.stats.set(stats);
            tracing::warn!(
                shard = self.shard,
                execution_id = record.execution_id,
                code = CODE_BACKLOG,
                "journal backlog full; record refused"
            );
            return None;
        }
        let appended = commit.append(record, record.ended_ms);
        let pending = commit.pending_bytes();
        drop(commit);
        {
            let mut segments = self.segments.borrow_mut();
            if segments
                .last()
                .is_none_or(|s| s.segment != appended.segment)
            {
                segments.push(SegmentInfo {
                    segment: appended.segment,
                    bytes: 0,
                    newest_ms: record.ended_ms,
                });
            }
            let last = segments.last_mut().expect("pushed above");
            last.newest_ms = last.newest_ms.max(record.ended_ms);
        }
        let mut index = self.index.borrow_mut();
        let workflow = index.intern(record.workflow_id);
        index.insert(Entry {
            sequence: record.sequence,
            workflow,
            status: record.status,
            trigger: record.trigger,
            started_ms: record.started_ms,
            ended_ms: record.ended_ms,
            segment: appended.segment,
            offset: appended.offset,
            frame_bytes: appended.frame_bytes,
        });
        stats.appended += 1;
        stats.appended_bytes += u64::from(appended.frame_bytes);
        self.stats.set(stats);
        let threshold = match self.durability {
            Durability::Sync => 1,
            _ => FLUSH_BYTES_EARLY,
        };
        if pending >= threshold {
            if let Some(waker) = self.flusher.borrow_mut().take() {
                waker.wake();
            }
        }
        Some(appended.lsn)
    }

    /// Resolves once the record with `lsn` is durable (written and synced in the modes
    /// that sync). In `sync` mode the shard awaits it before sending the response.
    pub fn durable(&self, lsn: u64) -> Durable<'_> {
        Durable { journal: self, lsn }
    }

    /// Writes everything pending and stops the tasks (drain). Records appended later are
    /// still written by a later `close`.
    pub async fn close(&self) {
        self.stopping.set(true);
        if let Some(waker) = self.flusher.borrow_mut().take() {
            waker.wake();
        }
        let target = self.commit.borrow().appended_lsn();
        self.durable(target).await;
    }

    fn wake_durable(&self) {
        let durable = self.commit.borrow().durable_lsn();
        let mut waiters = self.waiters.borrow_mut();
        let mut i = 0;
        while i < waiters.len() {
            if waiters[i].0 <= durable {
                waiters.swap_remove(i).1.wake();
            } else {
                i += 1;
            }
        }
    }

    fn segment_path(&self, segment: u64) -> PathBuf {
        self.dir.join(segment_file_name(segment))
    }

    fn answer(&self, request: JournalRequest) {
        match request {
            JournalRequest::List {
                filter,
                after,
                limit,
                reply,
            } => {
                let index = self.index.borrow();
                let (entries, resume) = index.list(&filter, after, limit);
                let items = entries
                    .into_iter()
                    .map(|e| Summary {
                        shard: self.shard,
                        sequence: e.sequence,
                        workflow_id: index.workflow(e.workflow).to_owned(),
                        status: e.status,
                        trigger: e.trigger,
                        started_ms: e.started_ms,
                        ended_ms: e.ended_ms,
                    })
                    .collect();
                let _ = reply.send(ShardPage { items, resume });
            }
            JournalRequest::Stats { reply } => {
                let _ = reply.send(ShardJournalStats {
                    shard: self.shard,
                    stats: self.stats.get(),
                    indexed: self.index.borrow().len(),
                    segments: self.segments.borrow().len(),
                    recovery: self.recovery.clone(),
                });
            }
            JournalRequest::Get { sequence, reply } => {
                let index = self.index.borrow();
                let fetched = index.get(sequence).map(|e| {
                    match self
                        .commit
                        .borrow()
                        .read_unwritten(e.segment, e.offset, e.frame_bytes)
                    {
                        Some(bytes) => Fetched::Bytes(bytes),
                        None => Fetched::File {
                            path: self.segment_path(e.segment),
                            offset: e.offset,
                            frame_bytes: e.frame_bytes,
                        },
                    }
                });
                let _ = reply.send(fetched);
            }
        }
    }
}

/// Future of [`ShardJournal::durable`].
pub struct Durable<'j> {
    journal: &'j ShardJournal,
    lsn: u64,
}

impl Future for Durable<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.journal.commit.borrow().durable_lsn() >= self.lsn {
            return Poll::Ready(());
        }
        let mut waiters = self.journal.waiters.borrow_mut();
        match waiters.iter_mut().find(|(lsn, _)| *lsn == self.lsn) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => waiters.push((self.lsn, cx.waker().clone())),
        }
        Poll::Pending
    }
}

/// Resolves when at least `threshold` bytes are pending or the journal stops.
struct PendingAtLeast<'j> {
    journal: &'j ShardJournal,
    threshold: usize,
}

impl Future for PendingAtLeast<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let commit = self.journal.commit.borrow();
        if (commit.has_pending() && commit.pending_bytes() >= self.threshold)
            || self.journal.stopping.get()
        {
            return Poll::Ready(());
        }
        *self.journal.flusher.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// The group-commit loop of one shard.
async fn flusher(journal: Rc<ShardJournal>) {
    let mut file: Option<(u64, DmaFile)> = None;
    loop {
        match journal.durability {
            Durability::Sync => {
                PendingAtLeast {
                    journal: &journal,
                    threshold: 1,
                }
                .await
            }
            Durability::Batch | Durability::None => {
                future::or(glommio::timer::sleep(journal.flush_interval), async {
                    PendingAtLeast {
                        journal: &journal,
                        threshold: FLUSH_BYTES_EARLY,
                    }
                    .await
                })
                .await;
            }
        }
        let failed = flush_all(&journal, &mut file).await;
        if failed {
            glommio::timer::sleep(WRITE_RETRY_DELAY).await;
        }
        if journal.stopping.get() && !journal.commit.borrow().has_pending() {
            if let Some((_, f)) = file.take() {
                let _ = f.close().await;
            }
            // Stay alive for records appended while draining: `close` waits on them.
            journal.stopping.set(false);
        }
    }
}

/// Writes every pending byte; true when a write failed (its records stay pending).
async fn flush_all(journal: &ShardJournal, file: &mut Option<(u64, DmaFile)>) -> bool {
    loop {
        let op = journal.commit.borrow_mut().begin_flush();
        let Some(op) = op else {
            return false;
        };
        match write(journal, &op, file).await {
            Ok(()) => {
                journal.commit.borrow_mut().finish_flush(&op);
                let mut stats = journal.stats.get();
                stats.writes += 1;
                journal.stats.set(stats);
                if let Some(info) = journal
                    .segments
                    .borrow_mut()
                    .iter_mut()
                    .rev()
                    .find(|s| s.segment == op.segment)
                {
                    info.bytes = info.bytes.max(op.offset + op.bytes.len() as u64);
                }
                journal.wake_durable();
            }
            Err(error) => {
                journal.commit.borrow_mut().abort_flush(&op);
                // A failed file handle may be unusable (e.g. after EIO): reopen next time.
                if let Some((_, f)) = file.take() {
                    let _ = f.close().await;
                }
                let mut stats = journal.stats.get();
                stats.write_errors += 1;
                journal.stats.set(stats);
                tracing::error!(shard = journal.shard, segment = op.segment, %error, code = CODE_WRITE, "journal write failed; retrying");
                return true;
            }
        }
    }
}

async fn write(
    journal: &ShardJournal,
    op: &WriteOp,
    file: &mut Option<(u64, DmaFile)>,
) -> std::io::Result<()> {
    if file.as_ref().map(|(segment, _)| *segment) != Some(op.segment) {
        if let Some((_, old)) = file.take() {
            let _ = old.close().await;
        }
        let path = journal.segment_path(op.segment);
        let created = op.offset == 0;
        let opened = OpenOptions::new()
            .write(true)
            .create(created)
            .truncate(created)
            .dma_open(&path)
            .await?;
        if created && journal.durability.syncs() {
            // The new file's directory entry must survive a crash too.
            let dir = Directory::open(&journal.dir).await?;
            dir.sync().await?;
            let _ = dir.close().await;
        }
        *file = Some((op.segment, opened));
    }
    let (_, f) = file.as_ref().expect("opened above");
    let padded = op.padded_bytes();
    let mut buffer = f.alloc_dma_buffer(padded);
    let bytes = buffer.as_bytes_mut();
    bytes[..op.bytes.len()].copy_from_slice(&op.bytes);
    bytes[op.bytes.len()..].fill(0);
    let written = f.write_at(buffer, op.offset).await?;
    if written < padded {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            format!("short write: {written} of {padded} bytes"),
        ));
    }
    if journal.durability.syncs() {
        f.fdatasync().await?;
    }
    if op.closes_segment {
        if let Some((_, f)) = file.take() {
            f.close().await?;
        }
    }
    Ok(())
}

async fn serve_queries(journal: Rc<ShardJournal>, queries: Receiver<JournalRequest>) {
    loop {
        loop {
            match queries.try_recv() {
                Ok(request) => journal.answer(request),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        glommio::timer::sleep(QUERY_POLL_INTERVAL).await;
    }
}

async fn retention(journal: Rc<ShardJournal>) {
    loop {
        glommio::timer::sleep(RETENTION_INTERVAL).await;
        apply_retention(&journal, super::now_ms());
    }
}

/// Deletes the segments the policy lets go and forgets their records. Segment deletion is
/// a single unlink per file: rare, small, and not worth a ring round trip.
pub(crate) fn apply_retention(journal: &ShardJournal, now_ms: i64) -> usize {
    let delete = journal.policy.deletions(&journal.segments.borrow(), now_ms);
    if delete == 0 {
        return 0;
    }
    let doomed: Vec<u64> = journal.segments.borrow()[..delete]
        .iter()
        .map(|s| s.segment)
        .collect();
    let mut deleted = 0;
    for segment in &doomed {
        match std::fs::remove_file(journal.segment_path(*segment)) {
            Ok(()) => deleted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => deleted += 1,
            Err(error) => {
                tracing::warn!(shard = journal.shard, segment, %error, "journal retention could not delete a segment");
                break;
            }
        }
    }
    if deleted > 0 {
        let last = doomed[deleted - 1];
        journal.segments.borrow_mut().drain(..deleted);
        let forgotten = journal.index.borrow_mut().forget_segments_through(last);
        let mut stats = journal.stats.get();
        stats.segments_deleted += deleted as u64;
        journal.stats.set(stats);
        tracing::info!(
            shard = journal.shard,
            segments = deleted,
            records = forgotten,
            "journal retention deleted segments"
        );
    }
    deleted
}
