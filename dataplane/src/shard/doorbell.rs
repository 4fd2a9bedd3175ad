//! A shard's command queue with a doorbell: how a thread that is not a shard (the QUIC
//! control thread on tokio, the admin thread, the node's stop path) hands a command to a
//! shard and wakes it, so the shard's control task sleeps until there is work instead of
//! polling on a timer.
//!
//! The queue is a bounded crossbeam channel (any thread may push, no lock on the shard's
//! side). The doorbell is one end of a Unix stream socket pair: after pushing, the sender
//! writes one byte without blocking; the shard awaits readability of the other end through
//! glommio's reactor (io_uring), reads every pending byte at once and then drains the
//! queue. Why not glommio's own `shared_channel`: it is single-producer and both ends must
//! be connected from inside glommio executors, while our senders are several plain
//! threads. Why a socket and not an eventfd: glommio can await a socket it owns
//! (`glommio::net::UnixStream`), not an arbitrary file descriptor.
//!
//! Rings coalesce: the socket buffer bounds how many bytes can be pending, and a full
//! buffer (`EAGAIN`) means the shard has unread rings already, so the ring is not needed.
//! A ring always follows its push, and the shard drains the queue after consuming the
//! rings it read, so no command is left in the queue while the shard sleeps. When every
//! sender is gone the socket reads end-of-file and the queue reports disconnection: the
//! shard drains and stops, as it did when the queue alone disconnected.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError};
use futures_lite::AsyncReadExt;

use super::ShardCommand;

/// Most ring bytes the shard reads per wake-up. Why: one read consumes every ring pending
/// at once in practice (a burst of deploys to several shards rings each shard once per
/// command); more pending bytes are read at the next wake-up, which then finds the queue
/// empty, so the bound only costs a spare wake-up.
const RING_READ_BYTES_MAX: usize = 64;
/// Attempts to write a ring interrupted by a signal before giving up on that ring (the
/// command is queued anyway and is seen at the shard's next wake-up).
const RING_ATTEMPTS_MAX: usize = 3;

/// The shard is gone (stopped or never started): its queue accepts nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("LF-DATAPLANE-012: the shard's command queue is closed (the shard stopped)")]
pub struct ShardGone;

/// The sending side of one shard's command queue; clone it for every thread that talks to
/// the shard.
#[derive(Debug, Clone)]
pub struct ShardSender {
    // Declared before `bell`: when the last sender is dropped, the queue disconnects
    // before the socket closes, so the shard that wakes up on end-of-file finds the queue
    // disconnected too.
    commands: Sender<ShardCommand>,
    bell: Arc<UnixStream>,
}

/// The shard's side before it is attached to its executor (it is `Send`, so it travels to
/// the shard's thread).
#[derive(Debug)]
pub struct ShardInbox {
    commands: Receiver<ShardCommand>,
    bell: UnixStream,
}

/// A queue of at most `depth` commands with its doorbell.
pub fn queue(depth: usize) -> io::Result<(ShardSender, ShardInbox)> {
    assert!(
        depth > 0,
        "a shard command queue holds at least one command"
    );
    let (sender_end, shard_end) = UnixStream::pair()?;
    // The sender never waits for the shard: a full socket buffer means it was rung.
    sender_end.set_nonblocking(true)?;
    let (tx, rx) = bounded(depth);
    Ok((
        ShardSender {
            commands: tx,
            bell: Arc::new(sender_end),
        },
        ShardInbox {
            commands: rx,
            bell: shard_end,
        },
    ))
}

impl ShardSender {
    /// Queues `command` (waiting while the queue is full) and rings the shard.
    pub fn send(&self, command: ShardCommand) -> Result<(), ShardGone> {
        self.commands.send(command).map_err(|_| ShardGone)?;
        self.ring();
        Ok(())
    }

    fn ring(&self) {
        let byte = [1u8];
        for _ in 0..RING_ATTEMPTS_MAX {
            // SAFETY: `byte` outlives the call and is one byte long; the descriptor is owned
            // by `self.bell`, alive for the call. MSG_NOSIGNAL: a shard that stopped yields
            // EPIPE here instead of SIGPIPE killing the process.
            let written = unsafe {
                libc::send(
                    self.bell.as_raw_fd(),
                    byte.as_ptr().cast(),
                    byte.len(),
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
            if written >= 0 {
                return;
            }
            let error = io::Error::last_os_error();
            match error.kind() {
                io::ErrorKind::Interrupted => continue,
                // Unread rings fill the buffer: the shard will wake up and drain anyway.
                io::ErrorKind::WouldBlock => return,
                _ => {
                    // The shard stopped; the queued command is dropped with the queue.
                    tracing::debug!(%error, "shard doorbell not rung");
                    return;
                }
            }
        }
    }
}

/// Why the shard's control task woke up.
#[derive(Debug)]
pub(crate) enum Wake {
    /// Someone rang: commands may be queued.
    Rung,
    /// Every sender is gone.
    Closed,
    /// Reading the doorbell failed; the caller falls back to polling.
    Failed(io::Error),
}

/// The shard's side, attached to its executor.
pub(crate) struct Doorbell {
    commands: Receiver<ShardCommand>,
    bell: glommio::net::UnixStream,
}

impl ShardInbox {
    /// Attaches the doorbell to the current glommio executor. Call it on the shard's thread.
    pub(crate) fn attach(self) -> Doorbell {
        let fd = self.bell.into_raw_fd();
        // SAFETY: `fd` was just released by `into_raw_fd`, so it is open, a connected
        // Unix stream socket, and owned by nothing else; the glommio stream takes
        // ownership and closes it.
        let bell = unsafe { glommio::net::UnixStream::from_raw_fd(fd) };
        Doorbell {
            commands: self.commands,
            bell,
        }
    }
}

impl Doorbell {
    /// The next queued command, if any.
    pub(crate) fn try_recv(&self) -> Result<ShardCommand, TryRecvError> {
        self.commands.try_recv()
    }

    /// Sleeps until the doorbell rings (returns at once when rings are pending).
    pub(crate) async fn wait(&mut self) -> Wake {
        let mut rings = [0u8; RING_READ_BYTES_MAX];
        match self.bell.read(&mut rings).await {
            Ok(0) => Wake::Closed,
            Ok(_) => Wake::Rung,
            Err(error) => Wake::Failed(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `body` on a fresh glommio executor with the shard's side of a queue whose
    /// sending side is `sender` (moved to a plain thread by the caller).
    fn on_shard<T: Send + 'static>(
        inbox: ShardInbox,
        body: impl FnOnce(Doorbell) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>
            + Send
            + 'static,
    ) -> T {
        glommio::LocalExecutorBuilder::default()
            .spawn(move || async move { body(inbox.attach()).await })
            .expect("executor starts")
            .join()
            .expect("executor ends")
    }

    fn removed(command: ShardCommand) -> String {
        match command {
            ShardCommand::Remove(workflow) => workflow,
            other => panic!("expected a removal, got {other:?}"),
        }
    }

    #[test]
    fn a_command_from_another_thread_wakes_the_sleeping_shard() {
        let (sender, inbox) = queue(4).expect("socket pair");
        // The sender thread waits until the shard is asleep on its doorbell (it cannot
        // know, so it only sends after the shard signalled it is about to wait): the
        // shard must then be woken by the ring, since nothing else would wake it.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            ready_rx.recv().expect("shard ready");
            sender
                .send(ShardCommand::Remove("a".into()))
                .expect("queued");
            sender
        });
        let got = on_shard(inbox, move |mut doorbell| {
            Box::pin(async move {
                assert!(matches!(doorbell.try_recv(), Err(TryRecvError::Empty)));
                ready_tx.send(()).expect("sender thread alive");
                assert!(matches!(doorbell.wait().await, Wake::Rung));
                removed(doorbell.try_recv().expect("command queued before the ring"))
            })
        });
        assert_eq!(got, "a");
        drop(thread.join().expect("sender thread"));
    }

    #[test]
    fn rings_coalesce_and_every_queued_command_is_handled_in_order() {
        let commands = 200;
        let (sender, inbox) = queue(commands).expect("socket pair");
        for i in 0..commands {
            sender
                .send(ShardCommand::Remove(i.to_string()))
                .expect("queued");
        }
        let got = on_shard(inbox, move |mut doorbell| {
            Box::pin(async move {
                let mut got = Vec::new();
                // More rings are pending than one read takes: each wake-up drains the
                // queue; the spare wake-ups find it empty.
                let mut wakes = 0;
                while got.len() < commands {
                    assert!(matches!(doorbell.wait().await, Wake::Rung));
                    wakes += 1;
                    while let Ok(command) = doorbell.try_recv() {
                        got.push(removed(command));
                    }
                }
                assert!(wakes <= commands.div_ceil(RING_READ_BYTES_MAX));
                drop(sender);
                got
            })
        });
        let expected: Vec<String> = (0..commands).map(|i| i.to_string()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn the_last_sender_gone_closes_the_doorbell_and_disconnects_the_queue() {
        let (sender, inbox) = queue(4).expect("socket pair");
        let second = sender.clone();
        second
            .send(ShardCommand::Remove("last".into()))
            .expect("queued");
        drop(sender);
        drop(second);
        let (wake, first, then) = on_shard(inbox, |mut doorbell| {
            Box::pin(async move {
                let mut wake = doorbell.wait().await;
                // The pending ring is read first, then end-of-file.
                if matches!(wake, Wake::Rung) {
                    wake = doorbell.wait().await;
                }
                let first = doorbell.try_recv().map(removed);
                let then = doorbell.try_recv().map(removed);
                (format!("{wake:?}"), first, then)
            })
        });
        assert_eq!(wake, "Closed");
        assert_eq!(first.as_deref(), Ok("last"));
        assert_eq!(then, Err(TryRecvError::Disconnected));
    }

    #[test]
    fn sending_to_a_stopped_shard_is_an_error_not_a_signal() {
        let (sender, inbox) = queue(1).expect("socket pair");
        drop(inbox);
        assert_eq!(
            sender.send(ShardCommand::Remove("x".into())),
            Err(ShardGone)
        );
    }
}
