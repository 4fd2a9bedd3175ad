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
    /// Retention: delete segments whose newest record is older than this many seconds
    /// (default 14 days, n8n's; 0 = no bound by age).
    #[arg(long, env = "LINKFLOW_JOURNAL_MAX_AGE_S", default_value_t = linkflow_dataplane::journal::MAX_AGE_DEFAULT.as_secs())]
    pub journal_max_age_s: u64,
    /// Retention: most MiB of segments kept per shard, oldest deleted first (0 = no bound
    /// by size; without one the journal and its in-memory index grow without end).
    #[arg(long, env = "LINKFLOW_JOURNAL_MAX_MIB", default_value_t = linkflow_dataplane::journal::MAX_BYTES_DEFAULT / (1024 * 1024))]
    pub journal_max_mib: u64,
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
        config.max_age =
            (self.journal_max_age_s > 0).then(|| Duration::from_secs(self.journal_max_age_s));
        config.max_bytes =
            (self.journal_max_mib > 0).then(|| self.journal_max_mib.saturating_mul(1024 * 1024));
        config.max_segments = self.journal_max_segments;
        config.nats_url = self.nats_url.clone();
        config.nats_stream = self.nats_stream.clone();
        Some(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        journal: JournalArgs,
    }

    fn config(args: &[&str]) -> JournalConfig {
        let args = ["linkflow", "--journal", "/tmp/lf-journal-args"]
            .iter()
            .chain(args)
            .copied();
        Command::parse_from(args)
            .journal
            .config()
            .expect("--journal given")
    }

    #[test]
    fn retention_is_bounded_by_default_and_zero_lifts_a_bound() {
        let defaults = config(&[]);
        assert_eq!(defaults.max_age, Some(Duration::from_secs(336 * 3600)));
        assert_eq!(defaults.max_bytes, Some(1024 * 1024 * 1024));
        assert_eq!(defaults.max_segments, None);
        let lifted = config(&["--journal-max-age-s", "0", "--journal-max-mib", "0"]);
        assert_eq!((lifted.max_age, lifted.max_bytes), (None, None));
        let set = config(&["--journal-max-age-s", "60", "--journal-max-mib", "5"]);
        assert_eq!(set.max_age, Some(Duration::from_secs(60)));
        assert_eq!(set.max_bytes, Some(5 * 1024 * 1024));
    }
}
