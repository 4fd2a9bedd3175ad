//! Group commit, sans-IO: appended records wait in memory until the I/O layer takes them
//! as one block-aligned write, then learns they are on disk.
//!
//! The write path of a shard is: [`GroupCommit::append`] (encode into the pending chunk of
//! the newest segment, get a log sequence number), [`GroupCommit::begin_flush`] (one
//! [`WriteOp`] holding every pending byte of the oldest segment, prefixed by the part of
//! its last 4 KiB block that is already on disk, padded with zeroes to whole blocks — what
//! O_DIRECT needs), then [`GroupCommit::finish_flush`] once the write (and the fdatasync,
//! in the modes that sync) completed. One write at a time: records appended during a write
//! ride the next one, which is what makes the commit a group commit.
//!
//! Sequence numbers (`lsn`) count records per shard since the process started; a record is
//! durable when [`GroupCommit::durable_lsn`] reached its lsn.

use std::collections::VecDeque;

use super::record::{RecordRef, FRAME_HEADER_BYTES};
use super::scan::{SegmentHeader, SEGMENT_HEADER_BYTES};

/// Block size of direct I/O writes (and the padding unit of segments).
pub const BLOCK_BYTES: usize = 4096;

/// Where a record was put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Its log sequence number (durable once `durable_lsn() >= lsn`).
    pub lsn: u64,
    /// Segment number.
    pub segment: u64,
    /// Offset of its frame in the segment.
    pub offset: u64,
    /// Frame bytes.
    pub frame_bytes: u32,
}

/// Pending bytes of one segment.
#[derive(Debug)]
struct Chunk {
    segment: u64,
    /// Offset in the segment of `bytes[0]`.
    start: u64,
    bytes: Vec<u8>,
    /// Lsn of the last record in `bytes` (0 when the chunk holds only a header).
    last_lsn: u64,
}

/// One write the I/O layer performs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOp {
    /// Segment to write to (create it when `offset == 0`).
    pub segment: u64,
    /// Block-aligned file offset.
    pub offset: u64,
    /// Bytes to write at `offset`; pad with zeroes to [`WriteOp::padded_bytes`].
    pub bytes: Vec<u8>,
    /// Every record up to this lsn is in `bytes` or already on disk.
    pub lsn: u64,
    /// The segment is complete after this write: sync it and move to the next one.
    pub closes_segment: bool,
}

impl WriteOp {
    /// `bytes.len()` rounded up to whole blocks.
    pub fn padded_bytes(&self) -> usize {
        self.bytes.len().div_ceil(BLOCK_BYTES) * BLOCK_BYTES
    }
}

/// The group-commit state of one shard's journal.
#[derive(Debug)]
pub struct GroupCommit {
    shard: u32,
    segment_bytes_max: u64,
    /// Newest segment and its logical end (on disk + pending).
    segment: u64,
    segment_end: u64,
    chunks: VecDeque<Chunk>,
    /// The chunk being written (kept so queries can read records in flight).
    in_flight: Option<Chunk>,
    /// Segment whose partial last block is in `tail`, and that block's offset.
    tail_segment: u64,
    tail_offset: u64,
    tail: Vec<u8>,
    pending_bytes: usize,
    appended_lsn: u64,
    durable_lsn: u64,
}

impl GroupCommit {
    /// State for a shard whose newest segment `segment` ends (valid bytes) at `end`, with
    /// `tail` the bytes from `end` rounded down to a block up to `end` (read at recovery).
    /// `end == 0` starts a fresh segment (its header is the first pending write).
    pub fn resume(
        shard: u32,
        segment: u64,
        end: u64,
        tail: Vec<u8>,
        segment_bytes_max: u64,
        now_ms: i64,
    ) -> GroupCommit {
        assert!(segment_bytes_max as usize >= SEGMENT_HEADER_BYTES + BLOCK_BYTES);
        let tail_offset = end - end % BLOCK_BYTES as u64;
        assert_eq!(
            tail.len() as u64,
            end - tail_offset,
            "tail is the partial block"
        );
        let mut commit = GroupCommit {
            shard,
            segment_bytes_max,
            segment,
            segment_end: end,
            chunks: VecDeque::new(),
            in_flight: None,
            tail_segment: segment,
            tail_offset,
            tail,
            pending_bytes: 0,
            appended_lsn: 0,
            durable_lsn: 0,
        };
        if end == 0 {
            commit.open_segment(segment, now_ms);
        }
        commit
    }

    fn open_segment(&mut self, segment: u64, now_ms: i64) {
        let header = SegmentHeader {
            shard: self.shard,
            segment,
            created_ms: now_ms,
        };
        self.segment = segment;
        self.segment_end = SEGMENT_HEADER_BYTES as u64;
        self.pending_bytes += SEGMENT_HEADER_BYTES;
        self.chunks.push_back(Chunk {
            segment,
            start: 0,
            bytes: header.encode().to_vec(),
            last_lsn: 0,
        });
    }

    /// Appends a record; rolls to a new segment when it would not fit the current one.
    pub fn append(&mut self, record: &RecordRef<'_>, now_ms: i64) -> Appended {
        let frame_bytes = (FRAME_HEADER_BYTES + record.payload_bytes()) as u64;
        if self.segment_end + frame_bytes > self.segment_bytes_max
            && self.segment_end > SEGMENT_HEADER_BYTES as u64
        {
            self.open_segment(self.segment + 1, now_ms);
        }
        let lsn = self.appended_lsn + 1;
        self.appended_lsn = lsn;
        let offset = self.segment_end;
        let chunk = match self.chunks.back_mut() {
            Some(chunk) if chunk.segment == self.segment => chunk,
            _ => {
                self.chunks.push_back(Chunk {
                    segment: self.segment,
                    start: offset,
                    bytes: Vec::new(),
                    last_lsn: lsn,
                });
                self.chunks.back_mut().expect("just pushed")
            }
        };
        let written = record.encode(&mut chunk.bytes) as u64;
        chunk.last_lsn = lsn;
        // A record too large for its data is written as a summary: sizes may shrink.
        debug_assert!(written <= frame_bytes);
        self.segment_end += written;
        self.pending_bytes += written as usize;
        Appended {
            lsn,
            segment: self.segment,
            offset,
            frame_bytes: written as u32,
        }
    }

    /// The next write, unless one is in flight or nothing is pending.
    pub fn begin_flush(&mut self) -> Option<WriteOp> {
        if self.in_flight.is_some() {
            return None;
        }
        let chunk = self.chunks.pop_front()?;
        self.pending_bytes -= chunk.bytes.len();
        let (offset, mut bytes) = if chunk.segment == self.tail_segment {
            debug_assert_eq!(self.tail_offset + self.tail.len() as u64, chunk.start);
            (self.tail_offset, std::mem::take(&mut self.tail))
        } else {
            debug_assert_eq!(chunk.start, 0, "a new segment starts with its header");
            (0, Vec::new())
        };
        bytes.extend_from_slice(&chunk.bytes);
        let end = offset + bytes.len() as u64;
        // The partial last block is rewritten with the next write of this segment.
        self.tail_segment = chunk.segment;
        self.tail_offset = end - end % BLOCK_BYTES as u64;
        self.tail = bytes[(self.tail_offset - offset) as usize..].to_vec();
        let closes_segment = !self.chunks.is_empty();
        let lsn = if chunk.last_lsn == 0 {
            self.durable_lsn
        } else {
            chunk.last_lsn
        };
        let op = WriteOp {
            segment: chunk.segment,
            offset,
            bytes,
            lsn,
            closes_segment,
        };
        self.in_flight = Some(chunk);
        Some(op)
    }

    /// The write handed out last completed (and was synced where the mode syncs).
    pub fn finish_flush(&mut self, op: &WriteOp) {
        let chunk = self.in_flight.take().expect("a flush is in flight");
        assert_eq!(chunk.segment, op.segment);
        assert!(op.lsn >= self.durable_lsn, "durability only moves forward");
        self.durable_lsn = op.lsn;
    }

    /// The write handed out last failed; its bytes go back to the front of the queue so
    /// the next flush retries them (nothing acknowledged is lost).
    pub fn abort_flush(&mut self, op: &WriteOp) {
        let chunk = self.in_flight.take().expect("a flush is in flight");
        // Restore the tail as it was before the write.
        let prefix = (chunk.start - op.offset) as usize;
        self.tail_segment = op.segment;
        self.tail_offset = op.offset;
        self.tail = op.bytes[..prefix].to_vec();
        self.pending_bytes += chunk.bytes.len();
        // Records appended to the same segment meanwhile join the restored chunk.
        match self.chunks.front_mut() {
            Some(next) if next.segment == chunk.segment => {
                let mut bytes = chunk.bytes;
                bytes.extend_from_slice(&next.bytes);
                next.bytes = bytes;
                next.start = chunk.start;
            }
            _ => self.chunks.push_front(chunk),
        }
    }

    /// Bytes appended and not yet handed to a write.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Whether anything waits to be written.
    pub fn has_pending(&self) -> bool {
        !self.chunks.is_empty()
    }

    /// Lsn of the newest appended record.
    pub fn appended_lsn(&self) -> u64 {
        self.appended_lsn
    }

    /// Every record up to this lsn is written (and synced, in the modes that sync).
    pub fn durable_lsn(&self) -> u64 {
        self.durable_lsn
    }

    /// The newest segment number.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// Copies the frame at `segment`/`offset` from memory when it has not reached the file
    /// yet (pending or in flight); `None` when it is only on disk.
    pub fn read_unwritten(&self, segment: u64, offset: u64, frame_bytes: u32) -> Option<Vec<u8>> {
        self.in_flight
            .iter()
            .chain(self.chunks.iter())
            .find(|c| {
                c.segment == segment
                    && c.start <= offset
                    && offset + u64::from(frame_bytes) <= c.start + c.bytes.len() as u64
            })
            .map(|c| {
                let at = (offset - c.start) as usize;
                c.bytes[at..at + frame_bytes as usize].to_vec()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::tests::sample;
    use crate::journal::scan::{scan, Tail};

    /// Applies write ops to in-memory "files", as the I/O layer would.
    fn apply(files: &mut Vec<Vec<u8>>, op: &WriteOp) {
        let index = op.segment as usize;
        while files.len() <= index {
            files.push(Vec::new());
        }
        let file = &mut files[index];
        let end = op.offset as usize + op.padded_bytes();
        if file.len() < end {
            file.resize(end, 0);
        }
        let mut padded = op.bytes.clone();
        padded.resize(op.padded_bytes(), 0);
        assert_eq!(op.offset as usize % BLOCK_BYTES, 0, "aligned offset");
        file[op.offset as usize..end].copy_from_slice(&padded);
    }

    fn flush_all(commit: &mut GroupCommit, files: &mut Vec<Vec<u8>>) {
        while let Some(op) = commit.begin_flush() {
            apply(files, &op);
            commit.finish_flush(&op);
        }
    }

    #[test]
    fn records_appended_across_flushes_scan_back_in_order() {
        let mut commit = GroupCommit::resume(1, 0, 0, Vec::new(), 1 << 20, 0);
        let mut files = Vec::new();
        let mut locations = Vec::new();
        for sequence in 0..50 {
            locations.push(commit.append(&sample(sequence, Some(b"[1,2,3]")), 0));
            if sequence % 7 == 3 {
                flush_all(&mut commit, &mut files);
            }
        }
        assert!(commit.durable_lsn() < commit.appended_lsn());
        flush_all(&mut commit, &mut files);
        assert_eq!(commit.durable_lsn(), 50);
        let scan = scan(&files[0]).unwrap();
        assert_eq!(scan.tail, Tail::Clean);
        assert_eq!(scan.records.len(), 50);
        for (found, appended) in scan.records.iter().zip(&locations) {
            assert_eq!(found.offset, appended.offset);
            assert_eq!(found.frame_bytes, appended.frame_bytes);
        }
    }

    #[test]
    fn a_full_segment_rolls_to_the_next_one() {
        let max = (SEGMENT_HEADER_BYTES + BLOCK_BYTES) as u64;
        let mut commit = GroupCommit::resume(0, 0, 0, Vec::new(), max, 0);
        let mut files = Vec::new();
        for sequence in 0..100 {
            commit.append(&sample(sequence, None), 0);
        }
        assert!(commit.segment() > 0);
        flush_all(&mut commit, &mut files);
        let total: usize = files.iter().map(|f| scan(f).unwrap().records.len()).sum();
        assert_eq!(total, 100);
        for file in &files {
            let scan = scan(file).unwrap();
            assert!(scan.valid_bytes <= max);
        }
    }

    #[test]
    fn one_write_at_a_time_and_appends_during_it_ride_the_next() {
        let mut commit = GroupCommit::resume(0, 0, 0, Vec::new(), 1 << 20, 0);
        let mut files = Vec::new();
        commit.append(&sample(1, None), 0);
        let first = commit.begin_flush().unwrap();
        assert!(commit.begin_flush().is_none());
        let second_record = commit.append(&sample(2, None), 0);
        // In flight and pending records are readable from memory.
        assert!(commit
            .read_unwritten(0, second_record.offset, second_record.frame_bytes)
            .is_some());
        apply(&mut files, &first);
        commit.finish_flush(&first);
        assert_eq!(commit.durable_lsn(), 1);
        flush_all(&mut commit, &mut files);
        assert_eq!(commit.durable_lsn(), 2);
        assert!(commit
            .read_unwritten(0, second_record.offset, second_record.frame_bytes)
            .is_none());
        assert_eq!(scan(&files[0]).unwrap().records.len(), 2);
    }

    #[test]
    fn a_failed_write_is_retried_with_what_came_after_it() {
        let mut commit = GroupCommit::resume(0, 0, 0, Vec::new(), 1 << 20, 0);
        let mut files = Vec::new();
        commit.append(&sample(1, None), 0);
        flush_all(&mut commit, &mut files);
        commit.append(&sample(2, None), 0);
        let failed = commit.begin_flush().unwrap();
        commit.append(&sample(3, None), 0);
        commit.abort_flush(&failed);
        assert_eq!(commit.durable_lsn(), 1);
        flush_all(&mut commit, &mut files);
        assert_eq!(commit.durable_lsn(), 3);
        let scan = scan(&files[0]).unwrap();
        assert_eq!(scan.records.len(), 3);
        assert_eq!(scan.tail, Tail::Clean);
    }

    #[test]
    fn resuming_after_recovery_continues_the_partial_block() {
        let mut commit = GroupCommit::resume(0, 0, 0, Vec::new(), 1 << 20, 0);
        let mut files = Vec::new();
        commit.append(&sample(1, None), 0);
        flush_all(&mut commit, &mut files);
        let end = scan(&files[0]).unwrap().valid_bytes;
        let tail = files[0][..end as usize].to_vec();
        let mut resumed = GroupCommit::resume(0, 0, end, tail, 1 << 20, 0);
        resumed.append(&sample(2, None), 0);
        flush_all(&mut resumed, &mut files);
        assert_eq!(scan(&files[0]).unwrap().records.len(), 2);
    }
}
