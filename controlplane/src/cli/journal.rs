//! The execution-journal flags shared by `linkflow dataplane` and `linkflow serve`
//! (`#[command(flatten)]`); they build the data plane's [`JournalConfig`].

use std::path::PathBuf;
use std::time::Duration;

use linkflow_dataplane::journal::{Durability, JournalConfig, RecordLevel};

/// Where and how executions are recorded.
#[derive(Debug, Clone, clap::Args)]
pub struct JournalArgs {
    /// Directory of the execution journal (one `shard-<i>/` folder of segments per shard);
    /// without it executions are not recorded.
    #[arg(long, env = "LINKFLOW_JOURNAL")]
    pub journal: Option<PathBuf>,
    /// none: write every flush interval, never fdatasync; batch: write and fdatasync every
    /// flush interval (group commit); sync: a response waits for the fdatasync holding its
    /// record. See the README section "Execution journal".
    #[arg(long, env = "LINKFLOW_DURABILITY", default_value = "batch")]
    pub durability: Durability,
    /// What is kept of executions of workflows whose saveDataSuccessExecution /
    /// saveDataErrorExecution are absent or "DEFAULT" (n8n's instance default): all (the
    /// per-node data too, n8n's default), summary (ids, status, times, error) or none.
    #[arg(long, env = "LINKFLOW_RECORD_LEVEL", default_value = "all")]
    pub record_level: RecordLevel,
    /// Group-commit interval of batch and none, in milliseconds.
    #[arg(long, env = "LINKFLOW_JOURNAL_FLUSH_MS", default_value_t = 10)]
    pub journal_flush_ms: u64,
    /// Segment size at which the next segment starts, in MiB.
    #[arg(long, env = "LINKFLOW_JOURNAL_SEGMENT_MIB", default_value_t = 64)]
    pub journal_segment_mib: u64,
    /// Retention: delete segments whose newest record is older than this many seconds.
    #[arg(long, env = "LINKFLOW_JOURNAL_MAX_AGE_S")]
    pub journal_max_age_s: Option<u64>,
    /// Retention: most MiB of segments kept per shard (oldest deleted first).
    #[arg(long, env = "LINKFLOW_JOURNAL_MAX_MIB")]
    pub journal_max_mib: Option<u64>,
    /// Retention: most segments kept per shard.
    #[arg(long, env = "LINKFLOW_JOURNAL_MAX_SEGMENTS")]
    pub journal_max_segments: Option<usize>,
    /// NATS URL: also publish every record to JetStream (`linkflow.execution.<action>`).
    #[arg(long, env = "LINKFLOW_NATS_URL", requires = "journal")]
    pub nats_url: Option<String>,
    /// JetStream stream of the export (created when missing).
    #[arg(long, env = "LINKFLOW_NATS_STREAM", default_value = linkflow_dataplane::journal::export::STREAM_DEFAULT)]
    pub nats_stream: String,
}

impl JournalArgs {
    /// The journal settings, or `None` without `--journal`.
    pub fn config(&self) -> Option<JournalConfig> {
        let dir = self.journal.as_ref()?;
        let mut config = JournalConfig::new(dir);
        config.durability = self.durability;
        config.record_level = self.record_level;
        config.flush_interval = Duration::from_millis(self.journal_flush_ms.max(1));
        // A segment holds at least one block after its header.
        config.segment_bytes_max = (self.journal_segment_mib.max(1)) * 1024 * 1024;
        config.max_age = self.journal_max_age_s.map(Duration::from_secs);
        config.max_bytes = self.journal_max_mib.map(|m| m * 1024 * 1024);
        config.max_segments = self.journal_max_segments;
        config.nats_url = self.nats_url.clone();
        config.nats_stream = self.nats_stream.clone();
        Some(config)
    }
}
