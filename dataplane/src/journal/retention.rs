//! Retention, sans-IO: which whole segments to delete. Only the oldest segments go, in
//! order, and never the one being written, so the remaining segments stay contiguous and
//! the index can forget a prefix ([`super::index::Index::forget_segments_through`]).

/// What retention keeps (per shard). `None` = no bound of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Delete segments whose newest record ended more than this many ms ago.
    pub max_age_ms: Option<i64>,
    /// Delete oldest segments while the total exceeds this many bytes.
    pub max_bytes: Option<u64>,
    /// Delete oldest segments while there are more than this many.
    pub max_segments: Option<usize>,
}

/// A segment as retention sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Segment number.
    pub segment: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// End time of its newest record (Unix ms; creation time when it holds none).
    pub newest_ms: i64,
}

impl Policy {
    /// Whether any bound is set.
    pub fn bounded(&self) -> bool {
        self.max_age_ms.is_some() || self.max_bytes.is_some() || self.max_segments.is_some()
    }

    /// How many of the oldest `segments` (ascending by number; the last one is being
    /// written and is never deleted) to delete at `now_ms`.
    pub fn deletions(&self, segments: &[SegmentInfo], now_ms: i64) -> usize {
        let Some(closed) = segments.len().checked_sub(1) else {
            return 0;
        };
        debug_assert!(segments.windows(2).all(|w| w[0].segment < w[1].segment));
        let mut delete = 0;
        if let Some(max_age_ms) = self.max_age_ms {
            // Newest-record times are not monotonic across segments when clocks jump;
            // deleting only a prefix of old segments keeps the rest contiguous.
            while delete < closed && now_ms - segments[delete].newest_ms > max_age_ms {
                delete += 1;
            }
        }
        if let Some(max_segments) = self.max_segments {
            let max_segments = max_segments.max(1);
            delete = delete.max(segments.len().saturating_sub(max_segments).min(closed));
        }
        if let Some(max_bytes) = self.max_bytes {
            let mut total: u64 = segments[delete..].iter().map(|s| s.bytes).sum();
            while delete < closed && total > max_bytes {
                total -= segments[delete].bytes;
                delete += 1;
            }
        }
        debug_assert!(delete <= closed, "the segment being written is kept");
        delete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(n: u64) -> Vec<SegmentInfo> {
        (0..n)
            .map(|segment| SegmentInfo {
                segment,
                bytes: 1000,
                newest_ms: segment as i64 * 100,
            })
            .collect()
    }

    #[test]
    fn no_bound_deletes_nothing() {
        assert_eq!(Policy::default().deletions(&segments(10), 1 << 40), 0);
    }

    #[test]
    fn age_deletes_the_old_prefix_but_never_the_active_segment() {
        let policy = Policy {
            max_age_ms: Some(250),
            ..Policy::default()
        };
        // now 1000: segments with newest <= 749 are too old: 0..=7.
        assert_eq!(policy.deletions(&segments(10), 1000), 8);
        assert_eq!(policy.deletions(&segments(10), 1_000_000), 9);
        assert_eq!(policy.deletions(&segments(1), 1_000_000), 0);
    }

    #[test]
    fn size_and_count_bounds_delete_the_oldest_segments() {
        let by_bytes = Policy {
            max_bytes: Some(3500),
            ..Policy::default()
        };
        assert_eq!(by_bytes.deletions(&segments(10), 0), 7);
        let by_count = Policy {
            max_segments: Some(4),
            ..Policy::default()
        };
        assert_eq!(by_count.deletions(&segments(10), 0), 6);
        assert_eq!(by_count.deletions(&segments(3), 0), 0);
    }
}
