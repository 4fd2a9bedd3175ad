//! Fleet export: every journal record is also published to NATS JetStream, from a thread
//! of its own (tokio + async-nats; never on a shard). The exporter reads the segment files
//! itself and keeps a cursor per shard (`<dir>/export/shard-<i>.cursor`), so when NATS is
//! down nothing is lost — the journal holds the records — and export resumes where the
//! last acknowledged batch ended, after a restart too.
//!
//! Contract: **at least once**. A batch is published, then its acks are awaited; only
//! then does the cursor move. A batch that fails part-way is published again, so a record
//! may arrive twice: both copies carry the same `Nats-Msg-Id` (`<node id>:<execution id>`)
//! and JetStream drops the second inside its duplicate window ([`DUPLICATE_WINDOW`]);
//! consumers that read across a longer outage dedup on the execution id in the payload.
//! Retention wins over export: a segment deleted before it was exported is skipped and
//! counted ([`ExportStats::segments_skipped`]).
//!
//! On a node's drain the shards stop first, so their journals are final; the exporter then
//! gets up to [`DRAIN_EXPORT_MAX`] to publish what is left ([`ExportHandle::drain`]), so a
//! node taken out of a fleet does not strand its last executions in a journal nobody reads.
//! When NATS is unreachable it stops at once: the records stay in the journal for the next
//! start.
//!
//! Subjects and event names follow `{service}.{entity}.{action}`:
//! `linkflow.execution.completed` (n8n status `success`) and `linkflow.execution.failed`
//! (`error`); the subject is the event name, and the stream captures `linkflow.execution.>`
//! ([`super::JournalConfig::nats_subject_prefix`] replaces the first token).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;

use super::query::record_json;
use super::record::{self, Frame};
use super::scan::{SegmentHeader, SEGMENT_HEADER_BYTES};
use super::{parse_segment_file_name, segment_file_name, JournalConfig, CODE_EXPORT};

/// JetStream stream the export publishes into by default.
pub const STREAM_DEFAULT: &str = "LINKFLOW_EXECUTIONS";
/// JetStream duplicate window set on a stream the exporter creates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Records published before their acks are awaited and the cursor moves.
pub const BATCH_RECORDS_MAX: usize = 256;
/// Attempts to publish one batch before the exporter reconnects.
pub const ATTEMPTS_MAX: u32 = 5;
/// First retry delay; doubles per attempt up to [`RETRY_DELAY_MAX`].
pub const RETRY_DELAY_MIN: Duration = Duration::from_millis(100);
/// Longest delay between attempts (and between reconnects).
pub const RETRY_DELAY_MAX: Duration = Duration::from_secs(5);
/// How often an idle exporter looks for new records.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Longest a connect or an ack may take.
pub const NATS_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a draining node waits for the exporter to publish the rest of the journal.
pub const DRAIN_EXPORT_MAX: Duration = Duration::from_secs(10);
/// Largest message body; a record with more node data is exported without it
/// (`"dataOmitted": true`). NATS's default `max_payload` is 1 MiB.
pub const PAYLOAD_BYTES_MAX: usize = 1024 * 1024 - 4096;

/// Counters of the exporter (shared with the thread; read any time).
#[derive(Debug, Default)]
pub struct ExportStats {
    /// Records acknowledged by JetStream.
    pub published: AtomicU64,
    /// Of those, acknowledged as duplicates (re-sent after a failure).
    pub duplicates: AtomicU64,
    /// Failed publish attempts.
    pub failures: AtomicU64,
    /// Segments deleted by retention before they were exported.
    pub segments_skipped: AtomicU64,
    /// 1 while connected.
    pub connected: AtomicU64,
    /// 1 once a draining exporter found nothing left to publish.
    pub caught_up: AtomicU64,
}

/// A running exporter.
pub struct ExportHandle {
    stop: Arc<AtomicBool>,
    draining: Arc<AtomicBool>,
    stats: Arc<ExportStats>,
    thread: Option<JoinHandle<()>>,
}

impl ExportHandle {
    /// The counters.
    pub fn stats(&self) -> &ExportStats {
        &self.stats
    }

    /// Stops the exporter (the cursor of the last acknowledged batch is kept).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Lets the exporter publish every record the journals hold (call once the shards
    /// stopped writing), then stops it. Gives up after `within`, or at once when NATS is
    /// unreachable; what is left stays in the journal and goes out on the next start.
    /// Returns whether the exporter caught up.
    pub fn drain(mut self, within: Duration) -> bool {
        self.draining.store(true, Ordering::Relaxed);
        let deadline = std::time::Instant::now() + within;
        let Some(thread) = self.thread.take() else {
            return false;
        };
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL);
        }
        // Past the deadline a publish in flight still ends within its own timeouts.
        self.stop.store(true, Ordering::Relaxed);
        let _ = thread.join();
        self.stats.caught_up.load(Ordering::Relaxed) == 1
    }
}

/// Where export stands in one shard's journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportCursor {
    /// Segment number.
    pub segment: u64,
    /// Offset of the next frame to export.
    pub offset: u64,
}

impl ExportCursor {
    /// Reads a cursor file (`<segment> <offset>`); `None` when absent or unreadable.
    pub fn load(path: &Path) -> Option<ExportCursor> {
        let text = fs::read_to_string(path).ok()?;
        let mut words = text.split_whitespace();
        Some(ExportCursor {
            segment: words.next()?.parse().ok()?,
            offset: words.next()?.parse().ok()?,
        })
    }

    /// Writes the cursor file atomically (temporary file, fsync, rename).
    pub fn store(&self, path: &Path) -> io::Result<()> {
        let temporary = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut file = fs::File::create(&temporary)?;
            writeln!(file, "{} {}", self.segment, self.offset)?;
            file.sync_all()?;
        }
        fs::rename(&temporary, path)
    }
}

/// The node id stored in `<dir>/node-id` (created once, random), which makes execution
/// ids unique across a fleet in `Nats-Msg-Id` and event payloads.
pub fn node_id(dir: &Path) -> io::Result<String> {
    let path = dir.join("node-id");
    if let Ok(text) = fs::read_to_string(&path) {
        let id = text.trim();
        if !id.is_empty() {
            return Ok(id.to_owned());
        }
    }
    fs::create_dir_all(dir)?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        ^ (u128::from(std::process::id()) << 64);
    let id = format!("{:016x}", crc_mix(seed));
    fs::write(&path, format!("{id}\n"))?;
    Ok(id)
}

fn crc_mix(seed: u128) -> u64 {
    let bytes = seed.to_le_bytes();
    (u64::from(record::checksum(&bytes[..8])) << 32) | u64::from(record::checksum(&bytes[8..]))
}

/// Starts exporting the journal of `shards` shards to `config.nats_url`.
pub fn start(config: &JournalConfig, shards: usize) -> io::Result<ExportHandle> {
    let url = config
        .nats_url
        .clone()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no NATS URL"))?;
    let node = node_id(&config.dir)?;
    fs::create_dir_all(config.dir.join("export"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let draining = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(ExportStats::default());
    let job = Job {
        url,
        stream: config.nats_stream.clone(),
        prefix: config.nats_subject_prefix.clone(),
        node,
        dir: config.dir.clone(),
        shards,
        stop: stop.clone(),
        draining: draining.clone(),
        stats: stats.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("lf-export".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    tracing::error!(%error, code = CODE_EXPORT, "export runtime did not start");
                    return;
                }
            };
            runtime.block_on(job.run());
        })?;
    Ok(ExportHandle {
        stop,
        draining,
        stats,
        thread: Some(thread),
    })
}

struct Job {
    url: String,
    stream: String,
    prefix: String,
    node: String,
    dir: PathBuf,
    shards: usize,
    stop: Arc<AtomicBool>,
    /// The shards stopped: publish what is left, then end.
    draining: Arc<AtomicBool>,
    stats: Arc<ExportStats>,
}

/// A record read for export.
struct Pending {
    execution_id: String,
    subject: String,
    event: String,
    body: Vec<u8>,
    /// Cursor just after this record.
    next: ExportCursor,
}

impl Job {
    async fn run(self) {
        let mut delay = RETRY_DELAY_MIN;
        while !self.stop.load(Ordering::Relaxed) {
            match self.session().await {
                Ok(()) => return,
                Err(error) => {
                    self.stats.connected.store(0, Ordering::Relaxed);
                    if self.draining.load(Ordering::Relaxed) {
                        tracing::warn!(url = %self.url, %error, code = CODE_EXPORT, "NATS export stopped by the drain; the journal keeps the rest for the next start");
                        return;
                    }
                    tracing::warn!(url = %self.url, %error, code = CODE_EXPORT, "NATS export paused; the journal keeps the records");
                    self.pause(delay).await;
                    delay = (delay * 2).min(RETRY_DELAY_MAX);
                }
            }
        }
    }

    /// Sleeps `delay` in short steps so `stop` is noticed, and a drain too (it wants one
    /// more attempt now, not after a backoff of up to [`RETRY_DELAY_MAX`]).
    async fn pause(&self, delay: Duration) {
        let step = POLL_INTERVAL.min(delay);
        let mut slept = Duration::ZERO;
        let woken = || self.stop.load(Ordering::Relaxed) || self.draining.load(Ordering::Relaxed);
        while slept < delay && !woken() {
            tokio::time::sleep(step).await;
            slept += step;
        }
    }

    /// One connection: publish until stopped (Ok) or until NATS fails (Err).
    async fn session(&self) -> Result<(), String> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(NATS_TIMEOUT)
            .connect(self.url.as_str())
            .await
            .map_err(|e| e.to_string())?;
        let jetstream = async_nats::jetstream::new(client);
        jetstream
            .get_or_create_stream(async_nats::jetstream::stream::Config {
                name: self.stream.clone(),
                subjects: vec![format!("{}.execution.>", self.prefix)],
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("stream {}: {e}", self.stream))?;
        self.stats.connected.store(1, Ordering::Relaxed);
        tracing::info!(url = %self.url, stream = %self.stream, "NATS export connected");
        let mut cursors: Vec<Option<ExportCursor>> = vec![None; self.shards];
        while !self.stop.load(Ordering::Relaxed) {
            // Read before the pass: the shards stopped before the drain began, so an idle
            // pass that started draining saw every record there will be.
            let draining = self.draining.load(Ordering::Relaxed);
            let mut idle = true;
            for (shard, slot) in cursors.iter_mut().enumerate() {
                let cursor_path = self.cursor_path(shard);
                let cursor = match *slot {
                    Some(cursor) => cursor,
                    None => ExportCursor::load(&cursor_path).unwrap_or(ExportCursor {
                        segment: 0,
                        offset: SEGMENT_HEADER_BYTES as u64,
                    }),
                };
                let (batch, cursor) = self.read_batch(shard, cursor);
                *slot = Some(cursor);
                if batch.is_empty() {
                    continue;
                }
                idle = false;
                self.publish(&jetstream, &batch).await?;
                let next = batch.last().expect("not empty").next;
                next.store(&cursor_path)
                    .map_err(|e| format!("cursor {}: {e}", cursor_path.display()))?;
                *slot = Some(next);
            }
            if idle {
                if draining {
                    self.stats.caught_up.store(1, Ordering::Relaxed);
                    return Ok(());
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
        Ok(())
    }

    fn cursor_path(&self, shard: usize) -> PathBuf {
        self.dir
            .join("export")
            .join(format!("shard-{shard}.cursor"))
    }

    /// Reads up to [`BATCH_RECORDS_MAX`] records at `cursor`; moves the cursor to the next
    /// segment when the current one is complete (a newer one exists), or past segments
    /// retention deleted.
    fn read_batch(&self, shard: usize, mut cursor: ExportCursor) -> (Vec<Pending>, ExportCursor) {
        let dir = self.dir.join(format!("shard-{shard}"));
        let mut segments: Vec<u64> = fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(parse_segment_file_name))
            .collect();
        segments.sort_unstable();
        let mut batch = Vec::new();
        loop {
            if !segments.contains(&cursor.segment) {
                match segments.iter().find(|&&s| s > cursor.segment) {
                    Some(&next) => {
                        // Segments before `next` are gone (retention) and were not
                        // exported to their end.
                        self.stats
                            .segments_skipped
                            .fetch_add(next - cursor.segment, Ordering::Relaxed);
                        cursor = ExportCursor {
                            segment: next,
                            offset: SEGMENT_HEADER_BYTES as u64,
                        };
                    }
                    None => return (batch, cursor),
                }
            }
            let Ok(bytes) = fs::read(dir.join(segment_file_name(cursor.segment))) else {
                return (batch, cursor);
            };
            if SegmentHeader::decode(&bytes).is_none() {
                return (batch, cursor);
            }
            let mut at = cursor.offset as usize;
            while batch.len() < BATCH_RECORDS_MAX && at < bytes.len() {
                let Ok(Frame::Record {
                    payload,
                    frame_bytes,
                }) = record::read_frame(&bytes[at..])
                else {
                    break;
                };
                at += frame_bytes;
                let next = ExportCursor {
                    segment: cursor.segment,
                    offset: at as u64,
                };
                if let Ok(record) = record::decode(payload) {
                    batch.push(self.message(&record, next));
                }
            }
            let reached_end = batch.len() < BATCH_RECORDS_MAX;
            let newer = segments.iter().any(|&s| s > cursor.segment);
            if let Some(last) = batch.last() {
                cursor = last.next;
            }
            if !(reached_end && newer && batch.is_empty()) {
                // Either the batch is full, or this is the newest segment (more may come),
                // or records were found (publish them before moving on).
                return (batch, cursor);
            }
            // A complete older segment with nothing left: continue with the next one.
            let next = *segments
                .iter()
                .find(|&&s| s > cursor.segment)
                .expect("newer exists");
            cursor = ExportCursor {
                segment: next,
                offset: SEGMENT_HEADER_BYTES as u64,
            };
        }
    }

    fn message(&self, record: &record::Record, next: ExportCursor) -> Pending {
        let event = format!("linkflow.execution.{}", record.status.event_action());
        let mut execution = record_json(record);
        let mut body = serde_json::to_vec(&json!({
            "event": event, "nodeId": self.node, "execution": execution,
        }))
        .unwrap_or_default();
        if body.len() > PAYLOAD_BYTES_MAX {
            execution["data"] = serde_json::Value::Null;
            execution["dataOmitted"] = json!(true);
            body = serde_json::to_vec(&json!({
                "event": event, "nodeId": self.node, "execution": execution,
            }))
            .unwrap_or_default();
        }
        Pending {
            execution_id: record.execution_id.clone(),
            subject: format!("{}.execution.{}", self.prefix, record.status.event_action()),
            event,
            body,
            next,
        }
    }

    /// Publishes a batch and awaits every ack; retries the whole batch (duplicates are
    /// dropped by JetStream through `Nats-Msg-Id`) up to [`ATTEMPTS_MAX`] times.
    async fn publish(
        &self,
        jetstream: &async_nats::jetstream::Context,
        batch: &[Pending],
    ) -> Result<(), String> {
        let mut delay = RETRY_DELAY_MIN;
        let mut last_error = String::new();
        for attempt in 1..=ATTEMPTS_MAX {
            match self.publish_once(jetstream, batch).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(attempt, %error, code = CODE_EXPORT, "NATS publish failed");
                    last_error = error;
                    if attempt < ATTEMPTS_MAX {
                        self.pause(delay).await;
                        delay = (delay * 2).min(RETRY_DELAY_MAX);
                    }
                }
            }
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
        }
        Err(last_error)
    }

    async fn publish_once(
        &self,
        jetstream: &async_nats::jetstream::Context,
        batch: &[Pending],
    ) -> Result<(), String> {
        let mut acks = Vec::with_capacity(batch.len());
        for pending in batch {
            let mut headers = async_nats::HeaderMap::new();
            let id = format!("{}:{}", self.node, pending.execution_id);
            headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
            headers.insert("Lf-Event", pending.event.as_str());
            let ack = tokio::time::timeout(
                NATS_TIMEOUT,
                jetstream.publish_with_headers(
                    pending.subject.clone(),
                    headers,
                    pending.body.clone().into(),
                ),
            )
            .await
            .map_err(|_| "publish timed out".to_owned())?
            .map_err(|e| e.to_string())?;
            acks.push(ack);
        }
        for ack in acks {
            let ack = tokio::time::timeout(NATS_TIMEOUT, ack)
                .await
                .map_err(|_| "ack timed out".to_owned())?
                .map_err(|e| e.to_string())?;
            self.stats.published.fetch_add(1, Ordering::Relaxed);
            if ack.duplicate {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_persist_atomically_and_node_ids_are_stable() {
        let dir = std::env::temp_dir().join(format!("lf-export-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("shard-0.cursor");
        assert_eq!(ExportCursor::load(&path), None);
        let cursor = ExportCursor {
            segment: 3,
            offset: 4096,
        };
        cursor.store(&path).unwrap();
        assert_eq!(ExportCursor::load(&path), Some(cursor));
        let id = node_id(&dir).unwrap();
        assert_eq!(id.len(), 16);
        assert_eq!(node_id(&dir).unwrap(), id);
        fs::remove_dir_all(&dir).unwrap();
    }
}
