//! The in-memory index of one shard's journal: execution summaries by sequence number
//! (get by id is one hash look-up) and in start order (list newest-first with filters and
//! a cursor). Rebuilt from the segments at start; only what queries need is kept in memory,
//! the node data stays on disk.

use std::collections::{HashMap, VecDeque};

use super::record::{Status, TriggerKind};

/// Default page size of a list query.
pub const LIST_LIMIT_DEFAULT: usize = 50;
/// Largest page size of a list query.
pub const LIST_LIMIT_MAX: usize = 200;
/// Most index entries one list query looks at per shard before it returns a short page
/// with a cursor (a rare filter must not turn a query into a scan of millions).
pub const LIST_SCAN_MAX: usize = 200_000;

/// What the index keeps of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Per-shard sequence number.
    pub sequence: u64,
    /// Interned workflow id (see [`Index::workflow`]).
    pub workflow: u32,
    /// Outcome.
    pub status: Status,
    /// What started it.
    pub trigger: TriggerKind,
    /// Start, Unix ms.
    pub started_ms: i64,
    /// End, Unix ms.
    pub ended_ms: i64,
    /// Segment holding the record.
    pub segment: u64,
    /// Offset of its frame.
    pub offset: u64,
    /// Frame bytes.
    pub frame_bytes: u32,
}

/// A position in the newest-first order of all shards: `(started_ms, shard, sequence)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    /// Start time of the last execution returned.
    pub started_ms: i64,
    /// Its shard.
    pub shard: u16,
    /// Its sequence number.
    pub sequence: u64,
}

impl Cursor {
    /// The opaque text form handed to clients.
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.started_ms, self.shard, self.sequence)
    }

    /// Parses [`Cursor::encode`]'s form.
    pub fn parse(text: &str) -> Option<Cursor> {
        let mut parts = text.split('.');
        let cursor = Cursor {
            started_ms: parts.next()?.parse().ok()?,
            shard: parts.next()?.parse().ok()?,
            sequence: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(cursor)
    }
}

/// Filters of a list query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this workflow.
    pub workflow_id: Option<String>,
    /// Only this status.
    pub status: Option<Status>,
}

/// One shard's index.
#[derive(Debug, Default)]
pub struct Index {
    shard: u16,
    workflows: Vec<String>,
    workflow_ids: HashMap<String, u32>,
    by_sequence: HashMap<u64, Entry>,
    /// `(started_ms, sequence)` ascending; listing walks it from the back.
    order: VecDeque<(i64, u64)>,
}

impl Index {
    /// An empty index of `shard`.
    pub fn new(shard: u16) -> Index {
        Index {
            shard,
            ..Index::default()
        }
    }

    /// Number of executions indexed.
    pub fn len(&self) -> usize {
        self.by_sequence.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.by_sequence.is_empty()
    }

    /// Highest sequence number indexed (0 when empty).
    pub fn sequence_max(&self) -> u64 {
        self.by_sequence.keys().copied().max().unwrap_or(0)
    }

    /// The interned number of `workflow_id` (added when new).
    pub fn intern(&mut self, workflow_id: &str) -> u32 {
        if let Some(&n) = self.workflow_ids.get(workflow_id) {
            return n;
        }
        let n = self.workflows.len() as u32;
        self.workflows.push(workflow_id.to_owned());
        self.workflow_ids.insert(workflow_id.to_owned(), n);
        n
    }

    /// The workflow id of an interned number.
    pub fn workflow(&self, n: u32) -> &str {
        &self.workflows[n as usize]
    }

    /// Adds an execution. Insertion keeps start order; executions usually end in start
    /// order, so the search from the back is short.
    pub fn insert(&mut self, entry: Entry) {
        // The same sequence twice (a record appended again) replaces the older entry.
        if let Some(old) = self.by_sequence.remove(&entry.sequence) {
            let old_key = (old.started_ms, old.sequence);
            if let Some(i) = self.order.iter().rposition(|k| *k == old_key) {
                self.order.remove(i);
            }
        }
        let key = (entry.started_ms, entry.sequence);
        let at = self
            .order
            .iter()
            .rposition(|k| *k < key)
            .map_or(0, |i| i + 1);
        self.order.insert(at, key);
        self.by_sequence.insert(entry.sequence, entry);
        debug_assert_eq!(self.order.len(), self.by_sequence.len());
    }

    /// The entry of `sequence`.
    pub fn get(&self, sequence: u64) -> Option<&Entry> {
        self.by_sequence.get(&sequence)
    }

    /// Drops every execution stored in a segment numbered `segment` or lower (retention).
    pub fn forget_segments_through(&mut self, segment: u64) -> usize {
        let before = self.by_sequence.len();
        self.by_sequence.retain(|_, e| e.segment > segment);
        let by_sequence = &self.by_sequence;
        self.order.retain(|(_, s)| by_sequence.contains_key(s));
        before - self.by_sequence.len()
    }

    /// Up to `limit` entries matching `filter` that come after `after` in newest-first
    /// order, newest first, and whether the walk stopped at [`LIST_SCAN_MAX`] (then the
    /// last entry looked at is returned as the resume point).
    pub fn list(
        &self,
        filter: &Filter,
        after: Option<Cursor>,
        limit: usize,
    ) -> (Vec<&Entry>, Option<Cursor>) {
        let workflow = match &filter.workflow_id {
            Some(id) => match self.workflow_ids.get(id) {
                Some(&n) => Some(n),
                None => return (Vec::new(), None),
            },
            None => None,
        };
        let mut out = Vec::with_capacity(limit.min(LIST_LIMIT_MAX));
        let mut scanned = 0;
        for &(started_ms, sequence) in self.order.iter().rev() {
            let here = Cursor {
                started_ms,
                shard: self.shard,
                sequence,
            };
            if after.is_some_and(|a| here >= a) {
                continue;
            }
            if out.len() >= limit {
                break;
            }
            scanned += 1;
            if scanned > LIST_SCAN_MAX {
                return (out, Some(here));
            }
            let entry = &self.by_sequence[&sequence];
            if workflow.is_some_and(|w| w != entry.workflow)
                || filter.status.is_some_and(|s| s != entry.status)
            {
                continue;
            }
            out.push(entry);
        }
        (out, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: &mut Index, sequence: u64, started_ms: i64, workflow: &str, ok: bool) {
        let workflow = index.intern(workflow);
        index.insert(Entry {
            sequence,
            workflow,
            status: if ok { Status::Success } else { Status::Error },
            trigger: TriggerKind::Webhook,
            started_ms,
            ended_ms: started_ms + 1,
            segment: sequence / 10,
            offset: sequence * 100,
            frame_bytes: 100,
        });
    }

    #[test]
    fn listing_is_newest_first_and_pages_with_the_cursor() {
        let mut index = Index::new(0);
        for sequence in 1..=25 {
            entry(&mut index, sequence, 1000 + sequence as i64, "a", true);
        }
        let (page, _) = index.list(&Filter::default(), None, 10);
        let sequences: Vec<u64> = page.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, (16..=25).rev().collect::<Vec<_>>());
        let last = page.last().unwrap();
        let cursor = Cursor {
            started_ms: last.started_ms,
            shard: 0,
            sequence: last.sequence,
        };
        let (next, _) = index.list(&Filter::default(), Some(cursor), 10);
        assert_eq!(next.first().unwrap().sequence, 15);
        assert_eq!(next.len(), 10);
    }

    #[test]
    fn filters_select_by_workflow_and_status() {
        let mut index = Index::new(0);
        for sequence in 1..=20 {
            let workflow = if sequence % 2 == 0 { "even" } else { "odd" };
            entry(
                &mut index,
                sequence,
                sequence as i64,
                workflow,
                sequence % 3 != 0,
            );
        }
        let filter = Filter {
            workflow_id: Some("even".into()),
            status: Some(Status::Error),
        };
        let (page, _) = index.list(&filter, None, 50);
        let sequences: Vec<u64> = page.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, [18, 12, 6]);
        let unknown = Filter {
            workflow_id: Some("nope".into()),
            status: None,
        };
        assert!(index.list(&unknown, None, 50).0.is_empty());
    }

    #[test]
    fn executions_ending_out_of_start_order_list_in_start_order() {
        let mut index = Index::new(0);
        entry(&mut index, 2, 20, "a", true);
        entry(&mut index, 1, 10, "a", true);
        entry(&mut index, 3, 30, "a", true);
        let (page, _) = index.list(&Filter::default(), None, 50);
        let sequences: Vec<u64> = page.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, [3, 2, 1]);
        assert_eq!(index.get(2).unwrap().started_ms, 20);
        assert_eq!(index.sequence_max(), 3);
    }

    #[test]
    fn retention_forgets_whole_segments() {
        let mut index = Index::new(0);
        for sequence in 0..30 {
            entry(&mut index, sequence, sequence as i64, "a", true);
        }
        assert_eq!(index.forget_segments_through(1), 20);
        assert_eq!(index.len(), 10);
        assert!(index.get(19).is_none());
        assert!(index.get(20).is_some());
        assert_eq!(index.list(&Filter::default(), None, 50).0.len(), 10);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor {
            started_ms: 1_700_000_000_000,
            shard: 3,
            sequence: 42,
        };
        assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::parse("1.2"), None);
        assert_eq!(Cursor::parse("1.2.3.4"), None);
        assert_eq!(Cursor::parse("a.b.c"), None);
    }
}
