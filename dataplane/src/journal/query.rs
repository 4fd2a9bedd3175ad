//! Execution queries: a [`JournalLink`] (any thread) asks each shard's journal over a
//! channel, merges the answers newest-first and reads record bytes from the segment files
//! itself, so a shard only does index look-ups for a query. The JSON shapes are the admin
//! port's `GET /executions` and `GET /executions/{id}` answers and the control plane's.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender};
use serde_json::{json, Value};

use super::index::{Cursor, Filter, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX};
use super::record::{self, Frame, Record, Status, TriggerKind};
use super::CODE_QUERY;

/// Longest a query waits for one shard's answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// Queries waiting per shard before a sender blocks.
pub const QUERY_QUEUE_DEPTH: usize = 64;

/// A query sent to one shard.
#[derive(Debug)]
pub enum JournalRequest {
    /// Newest-first summaries after a cursor.
    List {
        /// Filters.
        filter: Filter,
        /// Exclusive start (newest-first order).
        after: Option<Cursor>,
        /// Most summaries.
        limit: usize,
        /// Where the answer goes.
        reply: Sender<ShardPage>,
    },
    /// The journal's counters and what recovery found.
    Stats {
        /// Where the answer goes.
        reply: Sender<ShardJournalStats>,
    },
    /// Where the record of a sequence number is.
    Get {
        /// Sequence number.
        sequence: u64,
        /// Where the answer goes.
        reply: Sender<Option<Fetched>>,
    },
}

/// A listed execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Shard.
    pub shard: u16,
    /// Sequence number on the shard.
    pub sequence: u64,
    /// Workflow id.
    pub workflow_id: String,
    /// Outcome.
    pub status: Status,
    /// What started it.
    pub trigger: TriggerKind,
    /// Start, Unix ms.
    pub started_ms: i64,
    /// End, Unix ms.
    pub ended_ms: i64,
}

impl Summary {
    /// The execution id (`<shard>-<sequence>`).
    pub fn id(&self) -> String {
        format!("{}-{}", self.shard, self.sequence)
    }

    /// Its position in the newest-first order.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            started_ms: self.started_ms,
            shard: self.shard,
            sequence: self.sequence,
        }
    }

    /// The JSON of a list entry (n8n's execution summary field names, plus `trigger`:
    /// [`TriggerKind::name`]).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id(),
            "workflowId": self.workflow_id,
            "status": self.status.as_str(),
            "finished": self.status == Status::Success,
            "mode": self.trigger.as_str(),
            "trigger": self.trigger.name(),
            "startedAt": iso(self.started_ms),
            "stoppedAt": iso(self.ended_ms),
        })
    }
}

/// One shard's answer to a list query.
#[derive(Debug, Clone, Default)]
pub struct ShardPage {
    /// Matching summaries, newest first.
    pub items: Vec<Summary>,
    /// Set when the shard stopped at its scan bound: the last entry it looked at.
    pub resume: Option<Cursor>,
}

/// Where a record's frame is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Not yet written: the frame's bytes.
    Bytes(Vec<u8>),
    /// In a segment file.
    File {
        /// Segment path.
        path: PathBuf,
        /// Frame offset.
        offset: u64,
        /// Frame bytes.
        frame_bytes: u32,
    },
}

/// One shard's journal counters and recovery report.
#[derive(Debug, Clone)]
pub struct ShardJournalStats {
    /// Shard.
    pub shard: u16,
    /// Counters since start.
    pub stats: super::writer::JournalStats,
    /// Executions indexed now.
    pub indexed: usize,
    /// Segments kept now.
    pub segments: usize,
    /// What recovery found at start.
    pub recovery: super::recovery::RecoveryReport,
}

/// A query the caller got wrong (400 on the admin port).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{CODE_QUERY}: {0}")]
pub struct QueryError(pub String);

/// A list query (`GET /executions?workflowId=&status=&limit=&cursor=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Filters.
    pub filter: Filter,
    /// Page size (1..=[`LIST_LIMIT_MAX`]).
    pub limit: usize,
    /// Exclusive start from a previous page's `nextCursor`.
    pub cursor: Option<Cursor>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            filter: Filter::default(),
            limit: LIST_LIMIT_DEFAULT,
            cursor: None,
        }
    }
}

impl ListQuery {
    /// Parses a URL query string (`a=b&c=d`, percent-decoded).
    pub fn parse(query: &str) -> Result<ListQuery, QueryError> {
        let mut out = ListQuery::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value);
            match key {
                "workflowId" if !value.is_empty() => out.filter.workflow_id = Some(value),
                "status" if !value.is_empty() => {
                    out.filter.status = Some(Status::parse(&value).ok_or_else(|| {
                        QueryError(format!(
                            "status `{value}` is not one of success, error (query parameter `status`)"
                        ))
                    })?);
                }
                "limit" => {
                    let limit: usize = value.parse().map_err(|_| {
                        QueryError(format!(
                            "limit `{value}` is not a number (query parameter `limit`)"
                        ))
                    })?;
                    if !(1..=LIST_LIMIT_MAX).contains(&limit) {
                        return Err(QueryError(format!(
                            "limit {limit} is outside 1..={LIST_LIMIT_MAX} (query parameter `limit`)"
                        )));
                    }
                    out.limit = limit;
                }
                "cursor" if !value.is_empty() => {
                    out.cursor = Some(Cursor::parse(&value).ok_or_else(|| {
                        QueryError(format!(
                            "cursor `{value}` was not issued by this API (query parameter `cursor`)"
                        ))
                    })?);
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// A page of executions, newest first.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The executions.
    pub data: Vec<Summary>,
    /// Cursor of the next page (`None`: this is the last page).
    pub next_cursor: Option<Cursor>,
}

impl Page {
    /// `{"data":[...],"nextCursor":...}`.
    pub fn to_json(&self) -> Value {
        json!({
            "data": self.data.iter().map(Summary::to_json).collect::<Vec<_>>(),
            "nextCursor": self.next_cursor.map(|c| c.encode()),
        })
    }
}

/// Talks to every shard's journal from any thread.
#[derive(Debug, Clone)]
pub struct JournalLink {
    senders: Vec<Sender<JournalRequest>>,
}

impl JournalLink {
    /// A link to `shards` journals and the receiving end each shard serves.
    pub fn new(shards: usize) -> (JournalLink, Vec<Receiver<JournalRequest>>) {
        let (senders, receivers) = (0..shards).map(|_| bounded(QUERY_QUEUE_DEPTH)).unzip();
        (JournalLink { senders }, receivers)
    }

    /// Lists executions of every shard, newest first.
    pub fn list(&self, query: &ListQuery) -> Page {
        let limit = query.limit.clamp(1, LIST_LIMIT_MAX);
        let replies: Vec<_> = self
            .senders
            .iter()
            .filter_map(|sender| {
                let (tx, rx) = bounded(1);
                sender
                    .send(JournalRequest::List {
                        filter: query.filter.clone(),
                        after: query.cursor,
                        limit,
                        reply: tx,
                    })
                    .ok()
                    .map(|_| rx)
            })
            .collect();
        let pages: Vec<ShardPage> = replies
            .into_iter()
            .filter_map(|rx| rx.recv_timeout(QUERY_TIMEOUT).ok())
            .collect();
        merge(pages, limit)
    }

    /// Every shard's counters and recovery report (shards that do not answer are left out).
    pub fn stats(&self) -> Vec<ShardJournalStats> {
        let replies: Vec<_> = self
            .senders
            .iter()
            .filter_map(|sender| {
                let (tx, rx) = bounded(1);
                sender
                    .send(JournalRequest::Stats { reply: tx })
                    .ok()
                    .map(|_| rx)
            })
            .collect();
        replies
            .into_iter()
            .filter_map(|rx| rx.recv_timeout(QUERY_TIMEOUT).ok())
            .collect()
    }

    /// Prometheus text of the journal counters (appended to the admin port's `/metrics`).
    pub fn metrics_text(&self) -> String {
        use std::fmt::Write as _;
        let stats = self.stats();
        let mut out = String::new();
        type Row = (&'static str, &'static str, fn(&ShardJournalStats) -> u64);
        let rows: [Row; 7] = [
            ("linkflow_journal_records_total", "Records appended.", |s| {
                s.stats.appended
            }),
            (
                "linkflow_journal_bytes_total",
                "Frame bytes appended.",
                |s| s.stats.appended_bytes,
            ),
            (
                "linkflow_journal_refused_total",
                "Records refused (backlog full).",
                |s| s.stats.refused,
            ),
            (
                "linkflow_journal_writes_total",
                "Group-commit writes.",
                |s| s.stats.writes,
            ),
            (
                "linkflow_journal_write_errors_total",
                "Failed writes (retried).",
                |s| s.stats.write_errors,
            ),
            (
                "linkflow_journal_segments_deleted_total",
                "Segments deleted by retention.",
                |s| s.stats.segments_deleted,
            ),
            (
                "linkflow_journal_torn_tails_total",
                "Torn tails cut at recovery.",
                |s| s.recovery.torn.len() as u64,
            ),
        ];
        for (name, help, value) in rows {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for s in &stats {
                let _ = writeln!(out, "{name}{{shard=\"{}\"}} {}", s.shard, value(s));
            }
        }
        out
    }

    /// The record of execution `id` (`<shard>-<sequence>`); `None` when unknown.
    pub fn get(&self, id: &str) -> Option<Record> {
        let (shard, sequence) = id.split_once('-')?;
        let shard: usize = shard.parse().ok()?;
        let sequence: u64 = sequence.parse().ok()?;
        let (tx, rx) = bounded(1);
        self.senders
            .get(shard)?
            .send(JournalRequest::Get {
                sequence,
                reply: tx,
            })
            .ok()?;
        let fetched = rx.recv_timeout(QUERY_TIMEOUT).ok()??;
        let frame = match fetched {
            Fetched::Bytes(bytes) => bytes,
            Fetched::File {
                path,
                offset,
                frame_bytes,
            } => {
                let mut bytes = vec![0; frame_bytes as usize];
                File::open(path)
                    .ok()?
                    .read_exact_at(&mut bytes, offset)
                    .ok()?;
                bytes
            }
        };
        match record::read_frame(&frame) {
            Ok(Frame::Record { payload, .. }) => record::decode(payload).ok(),
            _ => None,
        }
    }
}

/// Merges shard pages into one newest-first page (see the comment inside for cursors).
pub fn merge(pages: Vec<ShardPage>, limit: usize) -> Page {
    // A shard that stopped at its scan bound has only looked at entries down to its
    // resume point; entries of other shards older than that point would leap over the
    // ones it has not looked at yet. So the page ends at the newest resume point.
    let cutoff = pages.iter().filter_map(|p| p.resume).max();
    let mut items: Vec<Summary> = pages
        .into_iter()
        .flat_map(|p| p.items)
        .filter(|s| cutoff.is_none_or(|c| s.cursor() >= c))
        .collect();
    items.sort_unstable_by_key(|s| std::cmp::Reverse(s.cursor()));
    let next_cursor = if items.len() >= limit {
        items.truncate(limit);
        items.last().map(Summary::cursor)
    } else {
        cutoff
    };
    Page {
        data: items,
        next_cursor,
    }
}

/// The JSON of one execution (n8n's execution fields; `data.resultData.runData` when the
/// record kept node data).
pub fn record_json(record: &Record) -> Value {
    let data = record
        .data
        .as_ref()
        .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok());
    let error = record.error.as_ref().map(|e| {
        json!({"code": e.code, "node": if e.node.is_empty() { Value::Null } else { json!(e.node) },
               "message": e.message})
    });
    json!({
        "id": record.execution_id,
        "workflowId": record.workflow_id,
        "workflowVersion": record.workflow_version,
        "planId": record.plan_id,
        "status": record.status.as_str(),
        "finished": record.status == Status::Success,
        "mode": record.trigger.as_str(),
        "trigger": record.trigger.name(),
        "triggerDetail": record.trigger_detail,
        "startedAt": iso(record.started_ms),
        "stoppedAt": iso(record.ended_ms),
        "lastNodeExecuted": if record.last_node.is_empty() { Value::Null } else { json!(record.last_node) },
        "error": error,
        "data": data.map(|run_data| json!({"resultData": {"runData": run_data}})),
    })
}

/// Unix ms as an ISO-8601 UTC timestamp with milliseconds (n8n's `startedAt` form).
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes[i] {
            b'%' if i + 2 < bytes.len() => hex(bytes[i + 1]).zip(hex(bytes[i + 2])),
            _ => None,
        };
        match (decoded, bytes[i]) {
            (Some((high, low)), _) => {
                out.push(high << 4 | low);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(shard: u16, sequence: u64, started_ms: i64) -> Summary {
        Summary {
            shard,
            sequence,
            workflow_id: "w".into(),
            status: Status::Success,
            trigger: TriggerKind::Webhook,
            started_ms,
            ended_ms: started_ms,
        }
    }

    #[test]
    fn query_strings_parse_and_bad_values_name_their_parameter() {
        let q = ListQuery::parse("workflowId=wf%201&status=error&limit=20&cursor=5.0.3").unwrap();
        assert_eq!(q.filter.workflow_id.as_deref(), Some("wf 1"));
        assert_eq!(q.filter.status, Some(Status::Error));
        assert_eq!(q.limit, 20);
        assert_eq!(q.cursor.unwrap().sequence, 3);
        assert_eq!(ListQuery::parse("").unwrap(), ListQuery::default());
        assert!(ListQuery::parse("limit=500")
            .unwrap_err()
            .0
            .contains("`limit`"));
        assert!(ListQuery::parse("status=done")
            .unwrap_err()
            .0
            .contains("`status`"));
        assert!(ListQuery::parse("cursor=zzz")
            .unwrap_err()
            .0
            .contains("`cursor`"));
    }

    #[test]
    fn shard_pages_merge_newest_first_with_a_next_cursor() {
        let a = ShardPage {
            items: vec![summary(0, 3, 30), summary(0, 2, 20), summary(0, 1, 10)],
            resume: None,
        };
        let b = ShardPage {
            items: vec![summary(1, 2, 25), summary(1, 1, 15)],
            resume: None,
        };
        let page = merge(vec![a, b], 3);
        let ids: Vec<String> = page.data.iter().map(Summary::id).collect();
        assert_eq!(ids, ["0-3", "1-2", "0-2"]);
        assert_eq!(page.next_cursor, Some(summary(0, 2, 20).cursor()));
        let last = merge(vec![ShardPage::default()], 3);
        assert!(last.data.is_empty() && last.next_cursor.is_none());
    }

    #[test]
    fn a_shard_stopped_at_its_scan_bound_ends_the_page_at_its_resume_point() {
        let a = ShardPage {
            items: vec![summary(0, 9, 90)],
            resume: Some(summary(0, 5, 50).cursor()),
        };
        let b = ShardPage {
            items: vec![summary(1, 8, 80), summary(1, 2, 20)],
            resume: None,
        };
        let page = merge(vec![a, b], 10);
        let ids: Vec<String> = page.data.iter().map(Summary::id).collect();
        assert_eq!(ids, ["0-9", "1-8"]);
        assert_eq!(page.next_cursor, Some(summary(0, 5, 50).cursor()));
    }

    #[test]
    fn timestamps_are_iso_with_milliseconds() {
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
