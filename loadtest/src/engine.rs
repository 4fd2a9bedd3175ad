//! The event loop: one thread, epoll through mio, N keep-alive connections, one request
//! in flight per connection (no pipelining, like wrk without a pipeline script).
//!
//! Closed loop: each connection sends its next request when the previous answer arrives.
//! Open loop: requests are *intended* at `start + k / rate`; a request that cannot go out
//! on time (every connection busy) waits in a backlog and its latency is still measured
//! from its intended time, so server stalls are not hidden (coordinated omission, as wrk2
//! corrects it).

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::http::{parse_response, Parse};
use crate::stats::{ErrorCounts, RunStats};
use crate::template::{Rng, Template};

/// Most connections one generator opens.
pub const CONNECTIONS_MAX: usize = 10_000;
/// Longest measured run.
pub const DURATION_MAX: Duration = Duration::from_secs(3600);
/// Highest open-loop arrival rate, requests per second.
pub const RATE_MAX_RPS: f64 = 10_000_000.0;
/// Most requests waiting for a free connection in open loop; beyond it intended sends are
/// counted as `backlog_overflow` errors instead of growing memory without bound.
pub const BACKLOG_MAX: usize = 1_000_000;
/// Largest latency the histogram records, in microseconds (1 hour).
pub const LATENCY_MAX_US: u64 = 3_600_000_000;
/// Bytes read per `read` call.
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// How often timeouts and reconnects are checked.
const HOUSEKEEPING_PERIOD: Duration = Duration::from_millis(10);
/// Pause before reconnecting after a failed connect, so a dead server is not hammered.
const RECONNECT_DELAY: Duration = Duration::from_millis(100);

/// Token of the open-loop send timer.
const TIMER_TOKEN: Token = Token(usize::MAX);

/// A timerfd for open-loop send times: epoll_wait's timeout has millisecond resolution,
/// which would make every send up to 1 ms late and add that to every latency measured
/// from the intended time.
struct SendTimer(std::os::fd::OwnedFd);

impl SendTimer {
    fn new(poll: &Poll) -> std::io::Result<Self> {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: timerfd_create returns a new fd or -1; ownership moves into OwnedFd.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        poll.registry().register(
            &mut mio::unix::SourceFd(&fd.as_raw_fd()),
            TIMER_TOKEN,
            Interest::READABLE,
        )?;
        Ok(Self(fd))
    }

    /// Fires once after `d` (at least 1 ns: a zero value would disarm the timer).
    fn arm(&self, d: Duration) {
        use std::os::fd::AsRawFd;
        let d = d.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: valid fd and spec; the old value is not wanted.
        unsafe { libc::timerfd_settime(self.0.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    }

    /// Consumes the expiration count so the next expiry is a new edge.
    fn clear(&self) {
        use std::os::fd::AsRawFd;
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into buf; EAGAIN is fine.
        unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Server address.
    pub addr: SocketAddr,
    /// `Host` header value.
    pub host: String,
    /// Keep-alive connections.
    pub connections: usize,
    /// Measured time.
    pub duration: Duration,
    /// Unmeasured time before it (fills caches, JITs, connection setup).
    pub warmup: Duration,
    /// Open-loop arrival rate; `None` is closed loop.
    pub rate_rps: Option<f64>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The request.
    pub template: Template,
    /// Show a live progress line.
    pub progress: bool,
}

/// Rejected configuration, with a stable code.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// Connections outside `1..=CONNECTIONS_MAX`.
    #[error("connections must be 1..={CONNECTIONS_MAX}, got {0}")]
    Connections(usize),
    /// Duration zero or above [`DURATION_MAX`].
    #[error("duration must be > 0 and <= {}s", DURATION_MAX.as_secs())]
    Duration,
    /// Rate not in `(0, RATE_MAX_RPS]`.
    #[error("rate must be > 0 and <= {RATE_MAX_RPS}, got {0}")]
    Rate(f64),
}

impl ConfigError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Connections(_) => "config_connections",
            Self::Duration => "config_duration",
            Self::Rate(_) => "config_rate",
        }
    }
}

impl RunConfig {
    /// Checks every bound.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.connections == 0 || self.connections > CONNECTIONS_MAX {
            return Err(ConfigError::Connections(self.connections));
        }
        if self.duration.is_zero() || self.duration > DURATION_MAX || self.warmup > DURATION_MAX {
            return Err(ConfigError::Duration);
        }
        if let Some(r) = self.rate_rps {
            if !(r > 0.0 && r <= RATE_MAX_RPS) {
                return Err(ConfigError::Rate(r));
            }
        }
        Ok(())
    }
}

/// One connection's state.
struct Conn {
    stream: Option<TcpStream>,
    connected: bool,
    retry_at: Option<Instant>,
    wbuf: Vec<u8>,
    woff: usize,
    rbuf: Vec<u8>,
    /// Intended send time and actual send time of the request in flight.
    inflight: Option<(Instant, Instant)>,
}

impl Conn {
    fn idle(&self) -> bool {
        self.connected && self.inflight.is_none()
    }
}

/// The running generator.
struct Engine<'c> {
    cfg: &'c RunConfig,
    poll: Poll,
    conns: Vec<Conn>,
    hist: Histogram<u64>,
    errors: ErrorCounts,
    completed: u64,
    /// Request bytes written for the responses counted in `completed`.
    bytes_sent: u64,
    /// Response bytes (head and body) counted in `completed`.
    bytes_received: u64,
    seq: u64,
    rng: Rng,
    static_req: Option<Vec<u8>>,
    backlog: VecDeque<Instant>,
    measure_start: Instant,
}

/// Runs one load test to completion.
pub fn run(cfg: &RunConfig) -> anyhow::Result<RunStats> {
    cfg.validate()?;
    let poll = Poll::new()?;
    let static_req = cfg.template.is_static().then(|| {
        let mut v = Vec::new();
        cfg.template.render(&cfg.host, 0, &mut Rng::new(1), &mut v);
        v
    });
    let start = Instant::now();
    let mut e = Engine {
        cfg,
        poll,
        conns: Vec::with_capacity(cfg.connections),
        hist: Histogram::new_with_bounds(1, LATENCY_MAX_US, 3)?,
        errors: ErrorCounts::default(),
        completed: 0,
        bytes_sent: 0,
        bytes_received: 0,
        seq: 0,
        rng: Rng::new(start.elapsed().as_nanos() as u64 ^ std::process::id() as u64),
        static_req,
        backlog: VecDeque::new(),
        measure_start: start + cfg.warmup,
    };
    for i in 0..cfg.connections {
        e.conns.push(Conn {
            stream: None,
            connected: false,
            retry_at: None,
            wbuf: Vec::with_capacity(512),
            woff: 0,
            rbuf: Vec::with_capacity(READ_CHUNK_BYTES),
            inflight: None,
        });
        e.connect(i, start);
    }
    e.event_loop(start)
}

impl Engine<'_> {
    fn connect(&mut self, i: usize, now: Instant) {
        let c = &mut self.conns[i];
        if let Some(mut s) = c.stream.take() {
            let _ = self.poll.registry().deregister(&mut s);
        }
        c.connected = false;
        c.inflight = None;
        c.rbuf.clear();
        c.woff = 0;
        c.wbuf.clear();
        match TcpStream::connect(self.cfg.addr) {
            Ok(mut s) => {
                let _ = s.set_nodelay(true);
                match self.poll.registry().register(
                    &mut s,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    Ok(()) => {
                        c.stream = Some(s);
                        c.retry_at = None;
                    }
                    Err(_) => {
                        self.errors.connect += 1;
                        c.retry_at = Some(now + RECONNECT_DELAY);
                    }
                }
            }
            Err(_) => {
                self.errors.connect += 1;
                c.retry_at = Some(now + RECONNECT_DELAY);
            }
        }
    }

    fn event_loop(&mut self, start: Instant) -> anyhow::Result<RunStats> {
        let end = self.measure_start + self.cfg.duration;
        let interval = self.cfg.rate_rps.map(|r| Duration::from_secs_f64(1.0 / r));
        let mut intended_k: u64 = 0;
        let mut events = Events::with_capacity(1024);
        let mut next_housekeeping = start + HOUSEKEEPING_PERIOD;
        let progress =
            crate::progress::Progress::new(self.cfg.progress, self.cfg.warmup + self.cfg.duration);
        let mut measuring = false;
        let timer = match interval {
            Some(_) => Some(SendTimer::new(&self.poll)?),
            None => None,
        };
        loop {
            let now = Instant::now();
            if now >= end {
                break;
            }
            if !measuring && now >= self.measure_start {
                // Samples from the warm-up are dropped; open-loop intentions before the
                // measured window that are still queued keep their intended time.
                measuring = true;
                self.hist.reset();
                self.errors = ErrorCounts::default();
                self.completed = 0;
                self.bytes_sent = 0;
                self.bytes_received = 0;
            }
            // Open loop: issue every request whose intended time has come.
            if let Some(iv) = interval {
                loop {
                    let due = start + iv.mul_f64(intended_k as f64);
                    if due > now {
                        break;
                    }
                    intended_k += 1;
                    if self.backlog.len() >= BACKLOG_MAX {
                        self.errors.backlog_overflow += 1;
                    } else {
                        self.backlog.push_back(due);
                    }
                }
                self.drain_backlog(now);
            }
            if now >= next_housekeeping {
                self.housekeeping(now);
                next_housekeeping = now + HOUSEKEEPING_PERIOD;
                progress.tick(now - start, self.completed);
            }
            let wait = (end - now).min(HOUSEKEEPING_PERIOD);
            if let (Some(iv), Some(t)) = (interval, &timer) {
                let due = start + iv.mul_f64(intended_k as f64);
                t.arm(due.saturating_duration_since(now));
            }
            match self.poll.poll(&mut events, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            for ev in events.iter() {
                if ev.token() == TIMER_TOKEN {
                    if let Some(t) = &timer {
                        t.clear();
                    }
                    continue;
                }
                let i = ev.token().0;
                let now = Instant::now();
                if ev.is_writable() {
                    self.on_writable(i, now);
                }
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.on_readable(i, now);
                }
            }
        }
        progress.finish();
        let incomplete = self.conns.iter().filter(|c| c.inflight.is_some()).count() as u64
            + self.backlog.len() as u64;
        Ok(RunStats {
            hist: std::mem::replace(&mut self.hist, Histogram::new(1)?),
            errors: self.errors.clone(),
            completed: self.completed,
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            incomplete,
            elapsed: self.cfg.duration,
        })
    }

    /// Hands queued open-loop requests to idle connections.
    fn drain_backlog(&mut self, now: Instant) {
        if self.backlog.is_empty() {
            return;
        }
        for i in 0..self.conns.len() {
            if !self.conns[i].idle() {
                continue;
            }
            let Some(intended) = self.backlog.pop_front() else {
                return;
            };
            self.send(i, intended, now);
        }
    }

    fn housekeeping(&mut self, now: Instant) {
        for i in 0..self.conns.len() {
            let c = &self.conns[i];
            if let Some(at) = c.retry_at {
                if now >= at {
                    self.connect(i, now);
                }
                continue;
            }
            if let Some((_, sent)) = c.inflight {
                if now - sent > self.cfg.timeout {
                    self.errors.timeout += 1;
                    self.connect(i, now);
                }
            }
        }
    }

    fn send(&mut self, i: usize, intended: Instant, now: Instant) {
        let seq = self.seq;
        self.seq += 1;
        let c = &mut self.conns[i];
        match &self.static_req {
            Some(req) => {
                c.wbuf.clear();
                c.wbuf.extend_from_slice(req);
            }
            None => self
                .cfg
                .template
                .render(&self.cfg.host, seq, &mut self.rng, &mut c.wbuf),
        }
        c.woff = 0;
        c.inflight = Some((intended, now));
        self.flush(i, now);
    }

    fn flush(&mut self, i: usize, now: Instant) {
        let c = &mut self.conns[i];
        let Some(s) = c.stream.as_mut() else { return };
        while c.woff < c.wbuf.len() {
            match s.write(&c.wbuf[c.woff..]) {
                Ok(0) => break,
                Ok(n) => c.woff += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.errors.io += 1;
                    self.connect(i, now);
                    return;
                }
            }
        }
    }

    fn on_writable(&mut self, i: usize, now: Instant) {
        let c = &mut self.conns[i];
        let Some(s) = c.stream.as_ref() else { return };
        if !c.connected {
            // A non-blocking connect finishes with writability; an error or no peer
            // address means it failed.
            if matches!(s.take_error(), Ok(Some(_)) | Err(_)) || s.peer_addr().is_err() {
                self.errors.connect += 1;
                c.stream = None;
                c.retry_at = Some(now + RECONNECT_DELAY);
                return;
            }
            c.connected = true;
            self.on_idle(i, now);
            return;
        }
        if c.woff < c.wbuf.len() {
            self.flush(i, now);
        }
    }

    /// A connection can take a request: closed loop sends at once, open loop takes
    /// the oldest queued intention.
    fn on_idle(&mut self, i: usize, now: Instant) {
        if self.cfg.rate_rps.is_none() {
            self.send(i, now, now);
        } else if let Some(intended) = self.backlog.pop_front() {
            self.send(i, intended, now);
        }
    }

    fn on_readable(&mut self, i: usize, now: Instant) {
        let mut chunk = [0u8; READ_CHUNK_BYTES];
        loop {
            let c = &mut self.conns[i];
            let Some(s) = c.stream.as_mut() else { return };
            match s.read(&mut chunk) {
                Ok(0) => {
                    // Closed by the server: an error only if an answer was owed.
                    if c.inflight.is_some() {
                        self.errors.io += 1;
                    }
                    self.connect(i, now);
                    return;
                }
                Ok(n) => c.rbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    if c.connected {
                        self.errors.io += 1;
                    } else {
                        self.errors.connect += 1;
                    }
                    self.connect(i, now);
                    return;
                }
            }
        }
        let c = &mut self.conns[i];
        if c.rbuf.is_empty() {
            return;
        }
        match parse_response(&c.rbuf) {
            Parse::Partial => {}
            Parse::Invalid => {
                self.errors.parse += 1;
                self.connect(i, now);
            }
            Parse::Done(resp) => {
                let Some((intended, _)) = c.inflight.take() else {
                    // An answer nobody asked for breaks request/response pairing.
                    self.errors.parse += 1;
                    self.connect(i, now);
                    return;
                };
                c.rbuf.drain(..resp.len);
                if intended >= self.measure_start {
                    let us = now.saturating_duration_since(intended).as_micros() as u64;
                    let _ = self.hist.record(us.clamp(1, LATENCY_MAX_US));
                    self.completed += 1;
                    self.bytes_sent += c.wbuf.len() as u64;
                    self.bytes_received += resp.len as u64;
                    self.errors.count_status(resp.status);
                }
                if resp.close {
                    self.connect(i, now);
                } else {
                    self.on_idle(i, now);
                }
            }
        }
    }
}
