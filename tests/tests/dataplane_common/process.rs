//! `linkflow` subcommands as child processes: started from the binary cargo built, ready
//! when they print their start line, and killed when the handle drops, so a failing test
//! leaves no process behind.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::WAIT_MAX;

/// Interval between checks that a terminated child has exited.
const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(20);
/// SIGTERM's number (POSIX).
const SIGTERM: i32 = 15;
/// Most stdout a child's [`Process::output`] keeps (the rest is read and dropped).
const OUTPUT_BYTES_MAX: usize = 16 * 1024 * 1024;

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

/// The `linkflow` binary next to this test (`cargo test --workspace` builds it), or
/// `LINKFLOW_BIN`. `None` when neither exists: the caller prints that it skipped.
pub fn linkflow_bin() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("LINKFLOW_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("linkflow");
    bin.exists().then_some(bin)
}

/// A running `linkflow` child process; killed (SIGKILL) on drop unless [`Process::stop`]
/// ended it first.
pub struct Process {
    child: Child,
    what: String,
    /// The start line (the stdout line that contained the ready marker).
    pub line: String,
    /// Everything the child printed on stdout (its JSON log), up to [`OUTPUT_BYTES_MAX`].
    output: Arc<Mutex<String>>,
}

impl Process {
    /// Runs `bin ARGS` with `envs` added and waits, at most [`WAIT_MAX`], for a stdout line
    /// containing `ready`. Panics when the child exits or stays silent instead.
    pub fn start(bin: &PathBuf, args: &[&str], envs: &[(&str, &str)], ready: &str) -> Process {
        let what = format!("linkflow {}", args.first().copied().unwrap_or(""));
        let mut command = Command::new(bin);
        command
            .args(args)
            .env("LINKFLOW_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{what} starts: {e}"));
        let stdout = child.stdout.take().expect("stdout piped");
        // A reader thread hands lines over (so the wait is bounded) and keeps draining
        // afterwards, so the child never writes into a full or closed pipe.
        let (lines_tx, lines_rx) = mpsc::channel::<String>();
        let output = Arc::new(Mutex::new(String::new()));
        let kept = output.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Ok(mut kept) = kept.lock() {
                    if kept.len() + line.len() <= OUTPUT_BYTES_MAX {
                        kept.push_str(&line);
                    }
                }
                // The receiver is gone after the start line: keep reading, drop the text.
                let _ = lines_tx.send(std::mem::take(&mut line));
            }
        });
        let mut process = Process {
            child,
            what,
            line: String::new(),
            output,
        };
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines_rx.recv_timeout(left) {
                Ok(line) if line.contains(ready) => {
                    process.line = line.trim_end().to_owned();
                    return process;
                }
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("{} printed no `{ready}` within {WAIT_MAX:?}", process.what)
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = process.child.wait().ok();
                    panic!(
                        "{} exited ({status:?}) before printing `{ready}`",
                        process.what
                    )
                }
            }
        }
    }

    /// The address written right after `marker` in the start line (`HOST:PORT`, ended by
    /// a space, a comma or a slash).
    pub fn addr_after(&self, marker: &str) -> SocketAddr {
        let rest = self
            .line
            .split(marker)
            .nth(1)
            .unwrap_or_else(|| panic!("no `{marker}` in start line {:?}", self.line));
        let end = rest.find([' ', ',', '/']).unwrap_or(rest.len());
        rest[..end]
            .parse()
            .unwrap_or_else(|e| panic!("`{}` after `{marker}`: {e}", &rest[..end]))
    }

    /// What the child printed on stdout so far (its log), up to [`OUTPUT_BYTES_MAX`].
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL and reap: no drain, no final flush (crash tests).
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL the child");
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit (graceful: drains, flushes); SIGKILL after
    /// [`WAIT_MAX`]. Returns whether it exited on its own with success.
    pub fn stop(mut self) -> bool {
        match self.terminate_within(WAIT_MAX) {
            Some((status, _)) => status.success(),
            None => {
                eprintln!(
                    "{} did not exit within {WAIT_MAX:?} of SIGTERM; killing it",
                    self.what
                );
                false
            }
        }
    }

    /// SIGTERM, then waits at most `limit` for the exit: its status and how long it took
    /// after the signal, or `None` when it still runs (dropping the handle kills it).
    pub fn terminate_within(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let signalled = Instant::now();
        // SAFETY: kill(2) on the pid of our own child, which has not been waited for.
        unsafe {
            libc_kill(self.child.id() as i32, SIGTERM);
        }
        while signalled.elapsed() < limit {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some((status, signalled.elapsed())),
                Ok(None) => std::thread::sleep(EXIT_POLL_INTERVAL),
                Err(_) => return None,
            }
        }
        None
    }
}

/// A test that fails or panics while the child runs must not leave it behind: kill it and
/// reap it (no zombie either).
impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
