//! Recovery at start: read every segment of a shard, cut a torn tail at the last valid
//! record, rebuild the index, and say where writing resumes. Runs before the shard serves
//! anything, so plain blocking reads are fine here.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::commit::BLOCK_BYTES;
use super::index::{Entry, Index};
use super::record::{self, FrameError};
use super::retention::SegmentInfo;
use super::scan::{self, Tail, SEGMENT_HEADER_BYTES};
use super::{parse_segment_file_name, segment_file_name};

/// A torn tail that recovery cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Segment number.
    pub segment: u64,
    /// Offset of the first byte cut (the end of the last valid record).
    pub offset: u64,
    /// Bytes cut (torn frame and anything after it, padding included).
    pub cut_bytes: u64,
    /// Why the frame there was refused.
    pub reason: &'static str,
}

/// What recovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments read.
    pub segments: usize,
    /// Valid records indexed.
    pub records: usize,
    /// Torn tails cut.
    pub torn: Vec<TornTail>,
    /// Files that were not segments of this version (renamed to `*.bad`, never read).
    pub bad_files: Vec<PathBuf>,
}

/// A shard's journal as found on disk.
#[derive(Debug)]
pub struct Recovered {
    /// The rebuilt index.
    pub index: Index,
    /// Segments kept, ascending.
    pub segments: Vec<SegmentInfo>,
    /// Segment to continue writing (the newest), its valid bytes and its partial last
    /// block; `None` when the shard has no segment yet.
    pub resume: Option<(u64, u64, Vec<u8>)>,
    /// What was found.
    pub report: RecoveryReport,
}

/// Recovers the shard folder `dir` (created when missing).
pub fn recover(dir: &Path, shard: u16) -> io::Result<Recovered> {
    fs::create_dir_all(dir)?;
    let mut numbered = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if let Some(segment) = name.to_str().and_then(parse_segment_file_name) {
            numbered.push(segment);
        }
    }
    numbered.sort_unstable();
    let mut index = Index::new(shard);
    let mut segments = Vec::new();
    let mut report = RecoveryReport::default();
    let mut resume = None;
    for segment in numbered {
        let path = dir.join(segment_file_name(segment));
        let bytes = fs::read(&path)?;
        let scan = match scan::scan(&bytes) {
            Ok(scan) => scan,
            Err(_) if bytes.len() < SEGMENT_HEADER_BYTES || bytes.iter().all(|&b| b == 0) => {
                // Created, but its header never reached the disk: nothing to lose.
                report.torn.push(TornTail {
                    segment,
                    offset: 0,
                    cut_bytes: bytes.len() as u64,
                    reason: FrameError::Incomplete.reason(),
                });
                fs::remove_file(&path)?;
                continue;
            }
            Err(_) => {
                let bad = path.with_extension("lfj.bad");
                fs::rename(&path, &bad)?;
                report.bad_files.push(bad);
                continue;
            }
        };
        let mut newest_ms = scan.header.created_ms;
        for located in &scan.records {
            // The checksum held, so a payload that does not decode is a bug or a record
            // of a newer format: stop there as for a torn frame.
            let Ok(record) = record::decode_summary(located.payload) else {
                break;
            };
            newest_ms = newest_ms.max(record.ended_ms);
            let workflow = index.intern(&record.workflow_id);
            index.insert(Entry {
                sequence: record.sequence,
                workflow,
                status: record.status,
                trigger: record.trigger,
                started_ms: record.started_ms,
                ended_ms: record.ended_ms,
                segment,
                offset: located.offset,
                frame_bytes: located.frame_bytes,
            });
            report.records += 1;
        }
        if let Tail::Torn { reason, cut_bytes } = scan.tail {
            report.torn.push(TornTail {
                segment,
                offset: scan.valid_bytes,
                cut_bytes,
                reason: reason.reason(),
            });
            let file = fs::OpenOptions::new().write(true).open(&path)?;
            file.set_len(scan.valid_bytes)?;
            file.sync_all()?;
        }
        let valid = scan.valid_bytes;
        let block = valid - valid % BLOCK_BYTES as u64;
        resume = Some((
            segment,
            valid,
            bytes[block as usize..valid as usize].to_vec(),
        ));
        segments.push(SegmentInfo {
            segment,
            bytes: valid,
            newest_ms,
        });
        report.segments += 1;
    }
    Ok(Recovered {
        index,
        segments,
        resume,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::commit::GroupCommit;
    use crate::journal::record::tests::sample;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("lf-journal-recovery-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// Writes `records` records through the group-commit core into segment files.
    fn write_segments(dir: &Path, records: u64, segment_bytes_max: u64) {
        fs::create_dir_all(dir).unwrap();
        let mut commit = GroupCommit::resume(0, 0, 0, Vec::new(), segment_bytes_max, 0);
        for sequence in 1..=records {
            let mut record = sample(sequence, Some(b"{\"n\":[]}"));
            record.execution_id = "0-x";
            commit.append(&record, 0);
        }
        while let Some(op) = commit.begin_flush() {
            let path = dir.join(segment_file_name(op.segment));
            let mut bytes = fs::read(&path).unwrap_or_default();
            let end = op.offset as usize + op.padded_bytes();
            bytes.resize(bytes.len().max(end), 0);
            bytes[op.offset as usize..op.offset as usize + op.bytes.len()]
                .copy_from_slice(&op.bytes);
            fs::write(&path, bytes).unwrap();
            commit.finish_flush(&op);
        }
    }

    #[test]
    fn a_clean_journal_recovers_every_record_and_resumes_at_its_end() {
        let dir = temp_dir("clean");
        write_segments(&dir, 100, 8 * 1024);
        let recovered = recover(&dir, 0).unwrap();
        assert_eq!(recovered.report.records, 100);
        assert!(recovered.report.torn.is_empty());
        assert!(recovered.segments.len() > 1);
        assert_eq!(recovered.index.sequence_max(), 100);
        let (segment, valid, tail) = recovered.resume.unwrap();
        assert_eq!(segment, recovered.segments.last().unwrap().segment);
        assert_eq!(tail.len() as u64, valid % BLOCK_BYTES as u64);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_segment_truncated_mid_record_is_cut_and_reported() {
        let dir = temp_dir("torn");
        write_segments(&dir, 10, 1 << 20);
        let path = dir.join(segment_file_name(0));
        let bytes = fs::read(&path).unwrap();
        let before = scan::scan(&bytes).unwrap();
        let last = before.records.last().unwrap();
        let cut_at = last.offset + 11;
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(cut_at)
            .unwrap();
        let recovered = recover(&dir, 0).unwrap();
        assert_eq!(recovered.report.records, 9);
        assert_eq!(recovered.report.torn.len(), 1);
        assert_eq!(recovered.report.torn[0].offset, last.offset);
        assert_eq!(recovered.report.torn[0].cut_bytes, 11);
        assert_eq!(fs::metadata(&path).unwrap().len(), last.offset);
        // A second recovery finds a clean journal.
        let again = recover(&dir, 0).unwrap();
        assert!(again.report.torn.is_empty());
        assert_eq!(again.report.records, 9);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn foreign_files_are_set_aside_not_read() {
        let dir = temp_dir("foreign");
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(segment_file_name(3)),
            b"this is not a journal segment at all!",
        )
        .unwrap();
        fs::write(dir.join("notes.txt"), b"ignored").unwrap();
        let recovered = recover(&dir, 0).unwrap();
        assert_eq!(recovered.report.bad_files.len(), 1);
        assert!(recovered.resume.is_none());
        fs::remove_dir_all(&dir).unwrap();
    }
}
