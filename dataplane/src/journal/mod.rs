//! # The execution journal
//!
//! Every shard appends one record per finished execution to its own append-only segment
//! files — no shared database, no transaction per node (n8n writes 41–51 per execution).
//! Every execution the shard runs is one record: webhook requests, schedule fires and
//! sub-workflows (a separate execution in n8n's model, mode `integrated`).
//! What is kept per workflow follows n8n's settings (`saveDataSuccessExecution`,
//! `saveDataErrorExecution`: `all` keeps the per-node output data, `summary` — a LinkFlow
//! extension — keeps ids, status, times and error, `none` keeps nothing, not even a
//! summary, as n8n deletes such executions; absent or `DEFAULT` take the node's
//! [`RecordLevel`], `--record-level`, `all` unless set, n8n's instance default;
//! `saveManualExecutions` for manual runs, which are kept whole when kept). How soon a
//! record is on disk is the process's [`Durability`] mode.
//!
//! ## Layout
//!
//! `<dir>/shard-<i>/<segment:020>.lfj`: a 32-byte segment header, then length-framed,
//! CRC-32C-checked records ([`record`]), zero padding to the last 4 KiB block. Segments
//! roll at [`JournalConfig::segment_bytes_max`] and are deleted whole by retention
//! ([`retention`]), so disk space really comes back.
//!
//! ## The model
//!
//! The pieces that decide are sans-IO and tested without files: the record format
//! ([`record`]), the segment scan that finds a torn tail ([`scan`]), group commit
//! ([`commit`]: what to write where, which records a completed write made durable), the
//! index ([`index`]) and the retention policy ([`retention`]). The I/O layer ([`writer`])
//! runs on the shard's glommio executor and writes with O_DIRECT through io_uring (glommio
//! `DmaFile`), one block-aligned write per group of records; [`recovery`] scans the
//! segments at start (plain reads: nothing is served yet), cuts a torn tail and rebuilds
//! the index. Queries reach a shard's index over a channel ([`query`]); the NATS export
//! ([`export`]) runs on its own thread with tokio and reads the segment files itself.
//!
//! ## What each durability mode promises
//!
//! - `none`: the response is sent when the execution ends; the record is written by the
//!   next flush (every [`JournalConfig::flush_interval`]) without fdatasync. A process
//!   crash loses the records of the last flush interval (default 10 ms); a power loss may
//!   lose whatever the kernel had not written back.
//! - `batch` (default): as `none`, and every flush ends with fdatasync. A crash of the
//!   process or the machine loses at most the records appended in the last flush interval
//!   plus the duration of one write+fdatasync; a response may have reached its client
//!   for those.
//! - `sync`: the response is held until the fdatasync that covers its record completed
//!   (records of concurrent executions share one write: group commit). A response that
//!   reached its client means its record survives a process crash or power loss. The
//!   exception is an answer the workflow gives before it ends (`onReceived` webhooks, a
//!   Respond to Webhook node before a wait): it leaves when given, before the record exists.

pub mod commit;
pub mod data;
pub mod export;
pub mod hook;
pub mod index;
pub mod query;
pub mod record;
pub mod recovery;
pub mod retention;
pub mod scan;
pub mod writer;

use std::path::PathBuf;
use std::time::Duration;

pub use query::JournalLink;
pub use writer::ShardJournal;

/// Default group-commit interval of `batch` and `none` modes.
pub const FLUSH_INTERVAL_DEFAULT: Duration = Duration::from_millis(10);
/// Default size at which a segment is closed and the next one started.
pub const SEGMENT_BYTES_MAX_DEFAULT: u64 = 64 * 1024 * 1024;
/// Default retention by age: n8n's default (`EXECUTIONS_DATA_MAX_AGE`, 336 hours).
pub const MAX_AGE_DEFAULT: Duration = Duration::from_secs(336 * 3600);
/// Default retention by size, per shard. Why a bound by default: the journal and its
/// in-memory index (100–150 bytes per record: a hash-map slot and an order entry) would
/// otherwise grow for as long as the node runs; 1 GiB holds a million records of a
/// kilobyte each per shard.
pub const MAX_BYTES_DEFAULT: u64 = 1024 * 1024 * 1024;
/// Pending (not yet written) bytes above which a flush starts at once instead of at the
/// next interval.
pub const FLUSH_BYTES_EARLY: usize = 1024 * 1024;
/// Pending bytes above which new records are refused (counted, logged) rather than held:
/// memory stays bounded when the disk cannot keep up.
pub const PENDING_BYTES_MAX: usize = 256 * 1024 * 1024;

/// Error code: the journal directory could not be opened or recovered.
pub const CODE_OPEN: &str = "LF-JOURNAL-001";
/// Error code: a write or fdatasync failed (the records stay pending and are retried).
pub const CODE_WRITE: &str = "LF-JOURNAL-002";
/// Error code: a torn tail was cut at recovery.
pub const CODE_TORN: &str = "LF-JOURNAL-003";
/// Error code: a record was refused because too many bytes wait to be written.
pub const CODE_BACKLOG: &str = "LF-JOURNAL-004";
/// Error code: a query was malformed (bad cursor, status or limit).
pub const CODE_QUERY: &str = "LF-JOURNAL-005";
/// Error code: publishing to NATS failed (export pauses and resumes from its cursor).
pub const CODE_EXPORT: &str = "LF-JOURNAL-006";

/// When the journal writes and syncs, and what a response waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Write every flush interval, never fdatasync; responses never wait.
    None,
    /// Write and fdatasync every flush interval (group commit); responses never wait.
    #[default]
    Batch,
    /// Write and fdatasync as soon as records are pending; a response waits for the
    /// fdatasync that covers its execution's record.
    Sync,
}

impl Durability {
    /// Parses `none`, `batch` or `sync`.
    pub fn parse(text: &str) -> Option<Durability> {
        match text {
            "none" => Some(Durability::None),
            "batch" => Some(Durability::Batch),
            "sync" => Some(Durability::Sync),
            _ => None,
        }
    }

    /// The flag's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::None => "none",
            Durability::Batch => "batch",
            Durability::Sync => "sync",
        }
    }

    /// Whether flushes end with fdatasync.
    pub fn syncs(self) -> bool {
        !matches!(self, Durability::None)
    }
}

impl std::str::FromStr for Durability {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Durability::parse(text).ok_or_else(|| format!("`{text}`: expected none, batch or sync"))
    }
}

/// What the journal keeps of an execution whose workflow leaves it to the node (its save
/// settings are absent or `DEFAULT`): n8n's instance default, `--record-level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordLevel {
    /// No record.
    None,
    /// Ids, status, times, error; no per-node data.
    Summary,
    /// The summary and the per-node output data (n8n's default, `all`).
    #[default]
    All,
}

impl RecordLevel {
    /// Parses `none`, `summary` or `all`.
    pub fn parse(text: &str) -> Option<RecordLevel> {
        match text {
            "none" => Some(RecordLevel::None),
            "summary" => Some(RecordLevel::Summary),
            "all" => Some(RecordLevel::All),
            _ => None,
        }
    }

    /// The flag's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordLevel::None => "none",
            RecordLevel::Summary => "summary",
            RecordLevel::All => "all",
        }
    }
}

impl std::str::FromStr for RecordLevel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RecordLevel::parse(text).ok_or_else(|| format!("`{text}`: expected none, summary or all"))
    }
}

/// Settings of a node's journal (`linkflow dataplane --journal DIR ...`; `linkflow serve`
/// passes the same type through).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    /// Directory holding `shard-<i>/` segment folders.
    pub dir: PathBuf,
    /// Durability mode.
    pub durability: Durability,
    /// Level of workflows that do not set one (`--record-level`).
    pub record_level: RecordLevel,
    /// Group-commit interval of `batch` and `none`.
    pub flush_interval: Duration,
    /// Segment size at which the next segment starts.
    pub segment_bytes_max: u64,
    /// Retention: delete segments whose newest record is older than this (`None` = keep;
    /// default [`MAX_AGE_DEFAULT`]).
    pub max_age: Option<Duration>,
    /// Retention: most bytes of segments kept per shard (`None` = no bound; default
    /// [`MAX_BYTES_DEFAULT`]).
    pub max_bytes: Option<u64>,
    /// Retention: most segments kept per shard (`None` = no bound).
    pub max_segments: Option<usize>,
    /// NATS URL for the fleet export (`None` = no export).
    pub nats_url: Option<String>,
    /// JetStream stream the export publishes into (created when missing).
    pub nats_stream: String,
    /// First subject token: subjects are `<prefix>.execution.<action>` (default
    /// `linkflow`; tests use their own so their streams never overlap a real one).
    pub nats_subject_prefix: String,
}

impl JournalConfig {
    /// Defaults (`batch`, level `all`, 10 ms, 64 MiB segments, retention 14 days and 1 GiB
    /// per shard, no export) in `dir`, made absolute: glommio's `Directory::open` fails with EBADF on a
    /// relative path (`./data/journal`, `serve`'s default), and every write would then be
    /// retried forever.
    pub fn new(dir: impl Into<PathBuf>) -> JournalConfig {
        let dir = dir.into();
        JournalConfig {
            dir: std::path::absolute(&dir).unwrap_or(dir),
            durability: Durability::default(),
            record_level: RecordLevel::default(),
            flush_interval: FLUSH_INTERVAL_DEFAULT,
            segment_bytes_max: SEGMENT_BYTES_MAX_DEFAULT,
            max_age: Some(MAX_AGE_DEFAULT),
            max_bytes: Some(MAX_BYTES_DEFAULT),
            max_segments: None,
            nats_url: None,
            nats_stream: export::STREAM_DEFAULT.to_owned(),
            nats_subject_prefix: "linkflow".to_owned(),
        }
    }

    /// The folder of shard `shard`.
    pub fn shard_dir(&self, shard: usize) -> PathBuf {
        self.dir.join(format!("shard-{shard}"))
    }

    /// The retention policy these settings describe.
    pub fn retention(&self) -> retention::Policy {
        retention::Policy {
            max_age_ms: self.max_age.map(|d| d.as_millis() as i64),
            max_bytes: self.max_bytes,
            max_segments: self.max_segments,
        }
    }
}

/// Wall clock in Unix epoch milliseconds (record times, segment headers, retention).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What a shard needs to run its journal: the node's settings and the channel its
/// queries arrive on (see [`JournalLink::new`]).
#[derive(Debug, Clone)]
pub struct ShardJournalConfig {
    /// The node's journal settings.
    pub config: JournalConfig,
    /// Queries for this shard.
    pub queries: crossbeam_channel::Receiver<query::JournalRequest>,
}

/// File name of segment `segment`.
pub fn segment_file_name(segment: u64) -> String {
    format!("{segment:020}.lfj")
}

/// Segment number of a file name written by [`segment_file_name`].
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".lfj")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_by_number_and_parse_back() {
        assert_eq!(segment_file_name(7), "00000000000000000007.lfj");
        assert_eq!(parse_segment_file_name(&segment_file_name(7)), Some(7));
        assert!(segment_file_name(9) < segment_file_name(10));
        assert_eq!(parse_segment_file_name("7.lfj"), None);
        assert_eq!(parse_segment_file_name("export.cursor"), None);
    }

    #[test]
    fn a_relative_journal_dir_is_made_absolute() {
        let config = JournalConfig::new("./data/journal");
        assert!(config.dir.is_absolute(), "{}", config.dir.display());
        assert!(config.dir.ends_with("data/journal"));
    }

    #[test]
    fn durability_parses_its_three_modes_only() {
        for mode in [Durability::None, Durability::Batch, Durability::Sync] {
            assert_eq!(Durability::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(Durability::parse("fsync"), None);
        assert_eq!(Durability::default(), Durability::Batch);
    }

    #[test]
    fn record_level_parses_its_three_levels_and_defaults_to_all_as_n8n() {
        for level in [RecordLevel::None, RecordLevel::Summary, RecordLevel::All] {
            assert_eq!(RecordLevel::parse(level.as_str()), Some(level));
        }
        assert_eq!(RecordLevel::parse("DEFAULT"), None);
        assert!("full".parse::<RecordLevel>().is_err());
        assert_eq!(RecordLevel::default(), RecordLevel::All);
    }
}
