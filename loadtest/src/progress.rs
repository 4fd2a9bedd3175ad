//! Live progress on stderr when it is a terminal (indicatif), silent otherwise.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress line updated from the event loop.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar over `total` time; `enabled` false (or stderr not a terminal) shows nothing.
    pub fn new(enabled: bool, total: Duration) -> Self {
        use std::io::IsTerminal;
        if !enabled || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new(total.as_millis() as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {elapsed}/{duration} {msg}") {
            bar.set_style(style);
        }
        Self(Some(bar))
    }

    /// Updates position and the running request count.
    pub fn tick(&self, elapsed: Duration, completed: u64) {
        if let Some(b) = &self.0 {
            b.set_position(elapsed.as_millis() as u64);
            b.set_message(format!("{completed} responses"));
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
