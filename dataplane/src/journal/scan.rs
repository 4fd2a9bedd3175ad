//! Segment layout and the recovery scan, over bytes (no files here).
//!
//! A segment is a 32-byte header followed by frames ([`super::record`]) and zero padding up
//! to the last 4 KiB block. [`scan`] walks the frames and says where the valid part ends
//! and why: a clean end (zero padding or the end of the bytes) or a torn tail (a frame that
//! is incomplete, impossible or fails its checksum). Recovery truncates a torn segment at
//! [`Scan::valid_bytes`], so everything before the torn frame is kept and nothing after it
//! is ever read as a record.

use super::record::{self, Frame, FrameError};

/// First bytes of every segment. `\r\n` catches transfers that rewrite line endings.
pub const SEGMENT_MAGIC: [u8; 8] = *b"LFJRNL\r\n";
/// Version of the segment layout.
pub const SEGMENT_VERSION: u32 = 1;
/// Bytes of the segment header; the first frame starts here.
pub const SEGMENT_HEADER_BYTES: usize = 32;

/// The header of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Shard that writes the segment.
    pub shard: u32,
    /// Segment number within the shard (file name order).
    pub segment: u64,
    /// Creation time, Unix epoch milliseconds.
    pub created_ms: i64,
}

impl SegmentHeader {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut out = [0; SEGMENT_HEADER_BYTES];
        out[..8].copy_from_slice(&SEGMENT_MAGIC);
        out[8..12].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
        out[12..16].copy_from_slice(&self.shard.to_le_bytes());
        out[16..24].copy_from_slice(&self.segment.to_le_bytes());
        out[24..32].copy_from_slice(&self.created_ms.to_le_bytes());
        out
    }

    /// Parses a header; `None` when the bytes are not a segment of this version.
    pub fn decode(bytes: &[u8]) -> Option<SegmentHeader> {
        if bytes.len() < SEGMENT_HEADER_BYTES || bytes[..8] != SEGMENT_MAGIC {
            return None;
        }
        let word = |range: std::ops::Range<usize>| {
            let mut out = [0; 8];
            out[..range.len()].copy_from_slice(&bytes[range]);
            u64::from_le_bytes(out)
        };
        if word(8..12) != u64::from(SEGMENT_VERSION) {
            return None;
        }
        Some(SegmentHeader {
            shard: word(12..16) as u32,
            segment: word(16..24),
            created_ms: word(24..32) as i64,
        })
    }
}

/// Where one valid record lies in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located<'b> {
    /// Offset of the frame in the segment.
    pub offset: u64,
    /// Frame bytes (header + payload).
    pub frame_bytes: u32,
    /// The checked payload.
    pub payload: &'b [u8],
}

/// How the valid part of a segment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Zero padding or the end of the bytes: nothing was lost.
    Clean,
    /// A frame at [`Scan::valid_bytes`] could not be read: the bytes from there on are cut.
    Torn {
        /// Why the frame was refused.
        reason: FrameError,
        /// Bytes from the torn frame to the end of the segment (including padding).
        cut_bytes: u64,
    },
}

/// The result of scanning one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan<'b> {
    /// The segment header.
    pub header: SegmentHeader,
    /// Every valid record, in file order.
    pub records: Vec<Located<'b>>,
    /// End of the last valid record: where the next record is written.
    pub valid_bytes: u64,
    /// How the valid part ended.
    pub tail: Tail,
}

/// Why a segment could not be scanned at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanError {
    /// The header is missing or not a LinkFlow journal segment of this version.
    BadHeader,
}

/// Scans a whole segment (header and frames).
pub fn scan(bytes: &[u8]) -> Result<Scan<'_>, ScanError> {
    let header = SegmentHeader::decode(bytes).ok_or(ScanError::BadHeader)?;
    let mut records = Vec::new();
    let mut at = SEGMENT_HEADER_BYTES;
    let tail = loop {
        match record::read_frame(&bytes[at..]) {
            Ok(Frame::Record {
                payload,
                frame_bytes,
            }) => {
                records.push(Located {
                    offset: at as u64,
                    frame_bytes: frame_bytes as u32,
                    payload,
                });
                at += frame_bytes;
            }
            Ok(Frame::End) => {
                // Padding must be zero to the end; anything else is a frame whose first
                // sector did not reach the disk while a later one did.
                if bytes[at..].iter().all(|&b| b == 0) {
                    break Tail::Clean;
                }
                break Tail::Torn {
                    reason: FrameError::Incomplete,
                    cut_bytes: (bytes.len() - at) as u64,
                };
            }
            Err(reason) => {
                break Tail::Torn {
                    reason,
                    cut_bytes: (bytes.len() - at) as u64,
                }
            }
        }
    };
    Ok(Scan {
        header,
        records,
        valid_bytes: at as u64,
        tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::tests::sample;

    fn segment(records: u64) -> (Vec<u8>, Vec<usize>) {
        let header = SegmentHeader {
            shard: 1,
            segment: 4,
            created_ms: 5,
        };
        let mut bytes = header.encode().to_vec();
        let mut ends = Vec::new();
        for sequence in 0..records {
            sample(sequence, Some(b"{}")).encode(&mut bytes);
            ends.push(bytes.len());
        }
        (bytes, ends)
    }

    #[test]
    fn a_clean_segment_with_padding_yields_every_record() {
        let (mut bytes, ends) = segment(5);
        bytes.resize(4096, 0);
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.header.segment, 4);
        assert_eq!(scan.records.len(), 5);
        assert_eq!(scan.valid_bytes, *ends.last().unwrap() as u64);
        assert_eq!(scan.tail, Tail::Clean);
        assert_eq!(scan.records[0].offset, SEGMENT_HEADER_BYTES as u64);
    }

    #[test]
    fn a_segment_cut_mid_record_keeps_every_record_before_the_cut() {
        let (bytes, ends) = segment(5);
        let cut = ends[3] - 7;
        let scan = scan(&bytes[..cut]).unwrap();
        assert_eq!(scan.records.len(), 3);
        assert_eq!(scan.valid_bytes, ends[2] as u64);
        assert_eq!(
            scan.tail,
            Tail::Torn {
                reason: FrameError::Incomplete,
                cut_bytes: (cut - ends[2]) as u64
            }
        );
    }

    #[test]
    fn garbage_after_the_last_record_is_a_torn_tail() {
        let (mut bytes, ends) = segment(2);
        bytes.extend_from_slice(&[0, 0, 0, 0, 9, 9]);
        bytes.resize(4096, 0);
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.records.len(), 2);
        assert_eq!(scan.valid_bytes, ends[1] as u64);
        assert!(matches!(scan.tail, Tail::Torn { .. }));
    }

    #[test]
    fn a_corrupted_middle_record_ends_the_valid_part_there() {
        let (mut bytes, ends) = segment(4);
        bytes[ends[1] + 20] ^= 0x40;
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.records.len(), 2);
        assert_eq!(
            scan.tail,
            Tail::Torn {
                reason: FrameError::BadChecksum,
                cut_bytes: (bytes.len() - ends[1]) as u64
            }
        );
    }

    #[test]
    fn a_file_without_the_magic_is_refused() {
        assert_eq!(scan(b"not a journal").unwrap_err(), ScanError::BadHeader);
        assert_eq!(scan(&[0; 64]).unwrap_err(), ScanError::BadHeader);
    }
}
