//! The peer engines (Node-RED, n8n) from `shared/reference/peers`, started and stopped by
//! the harness through `run-peers.sh serve-*` / `stop`, and pinned to the server core.
//!
//! The script owns how each peer is installed, configured and given the reference flow;
//! the harness only decides when. A peer that is not installed is skipped with a note (install
//! them with `run-peers.sh install`: n8n takes several minutes and about 1 GB).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

/// How long `run-peers.sh serve-*` may take (n8n imports the workflow, migrates its
/// SQLite database and registers the webhook before it answers).
pub const PEER_START_TIMEOUT: Duration = Duration::from_secs(240);

/// One peer engine the script can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Row name in the table.
    pub name: &'static str,
    /// `run-peers.sh` subcommand that starts it and leaves it running.
    pub serve: &'static str,
    /// Executable under `PEERS_DIR` whose presence means "installed".
    pub installed_marker: &'static str,
    /// Pid file under `PEERS_DIR` written by the script.
    pub pid_file: &'static str,
    /// The reference webhook.
    pub url: &'static str,
}

/// Every peer, cheapest to start first.
pub const PEERS: [Peer; 2] = [
    Peer {
        name: "Node-RED 4.1",
        serve: "serve-nodered",
        installed_marker: "nodered/node_modules/.bin/node-red",
        pid_file: "nodered.pid",
        url: "http://127.0.0.1:1880/webhook/bench",
    },
    Peer {
        name: "n8n 1.123",
        serve: "serve-n8n",
        installed_marker: "n8n/node_modules/.bin/n8n",
        pid_file: "n8n.pid",
        url: "http://127.0.0.1:5678/webhook/bench",
    },
];

/// Where `run-peers.sh` installs and keeps state (its own default).
pub fn peers_dir() -> PathBuf {
    std::env::var_os("PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("linkflow-peers"))
}

/// Which peers are installed.
pub fn installed(dir: &Path) -> Vec<Peer> {
    PEERS
        .into_iter()
        .filter(|p| dir.join(p.installed_marker).exists())
        .collect()
}

/// A running peer; stopped (through the script) on drop.
pub struct Running {
    script: PathBuf,
    /// The peer's server process.
    pub pid: u32,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Starts `peer` with the script and pins its whole process tree to `cpu`.
pub fn start(script: &Path, peer: &Peer, dir: &Path, cpu: u32) -> anyhow::Result<Running> {
    if !script.exists() {
        bail!("peer_script_missing: {}", script.display());
    }
    let mut child = Command::new("bash")
        .arg(script)
        .arg(peer.serve)
        .env("PEERS_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {} with {}", peer.name, script.display()))?;
    // The script returns once the webhook answers 200; bound the wait in case it hangs.
    let deadline = std::time::Instant::now() + PEER_START_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "peer_start_timeout: {} not up after {PEER_START_TIMEOUT:?}",
                peer.name
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let pid_path = dir.join(peer.pid_file);
    // Owning `Running` from here on stops the peer even when the start half failed.
    let pid = std::fs::read_to_string(&pid_path)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    let running = Running {
        script: script.to_path_buf(),
        pid: pid.unwrap_or(0),
    };
    if !status.success() || pid.is_none() {
        let mut log = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut log);
        }
        bail!(
            "peer_start_failed: {} ({status}); run-peers.sh said: {}",
            peer.name,
            log.trim()
        );
    }
    pin_tree(running.pid, cpu);
    Ok(running)
}

/// `taskset -a -c -p CPU` on a process and its descendants (every thread: node's libuv
/// pool and V8 helper threads too), so a peer gets the same one core as LinkFlow.
fn pin_tree(pid: u32, cpu: u32) {
    let mut pids = vec![pid];
    let mut i = 0;
    while i < pids.len() {
        let children = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children", p = pids[i]))
            .unwrap_or_default();
        pids.extend(
            children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok()),
        );
        i += 1;
    }
    for p in pids {
        let _ = Command::new("taskset")
            .args(["-a", "-c", "-p", &cpu.to_string(), &p.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
