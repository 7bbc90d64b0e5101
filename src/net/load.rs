//! The load generator: N TCP clients at once doing request/response, at a set
//! rate or flat out, or a UDP stream at a set rate; connect-time and round-trip histograms
//! (hdrhistogram), messages and bytes per second, errors by kind. Live samples twice a
//! second and a report at the end, over a flume channel; stop at any time.
//!
//! One thread and one `mio` poll drive every client (10,000 threads would be a load test of
//! the scheduler, not of the server). A client sends one message, waits for its whole answer
//! (as many bytes as it sent, for an echo server; or the first bytes of any answer), then
//! sends the next: at once when flat out, or at its turn when a rate is set (each of N
//! clients sends every N/rate seconds, their turns spread evenly). The round trip is timed
//! from the first byte written to the last byte of the answer. A client whose connection
//! fails or breaks counts the error by kind and connects again a second later, so the
//! offered load stays at N clients. At most [`MAX_CONNECTING`] connects are in progress at
//! once (a ramp, so 10,000 SYNs do not all meet a listen backlog of 128 in the same instant).
//!
//! UDP: each of N sockets sends datagrams at its share of the rate; a datagram carries its
//! client, sequence number and send time, so an echoed one gives its round trip. Datagrams
//! not back within the time limit after the run are counted lost.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};

use crate::net::engine::{self, Engine, Stop};
use crate::net::sys::{self, FileLimit};
use crate::net::{NetError, NetErrorKind, Tagged, Waker};

/// The most clients one run may have.
pub const MAX_CLIENTS: usize = 10_000;
/// The largest message.
pub const MAX_SIZE: usize = 1 << 20;
/// The smallest UDP datagram: it carries its client, sequence number and send time.
pub const UDP_MIN_SIZE: usize = 24;
/// Connects in progress at once.
pub const MAX_CONNECTING: usize = 512;
/// How often a live sample is sent.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// A client whose connection failed tries again after this long.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);
/// Descriptors kept for everything else the process has open.
const SPARE_FILES: u64 = 64;

/// When an answer is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// As many bytes back as were sent, the same bytes (an echo server).
    Echo,
    /// The first bytes of any answer (a server that answers with its own text); bytes that
    /// arrive after them count towards the next answer.
    Any,
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub addr: SocketAddr,
    pub clients: usize,
    /// Stop after this long (`None`: when stopped, or when every client has sent `messages`).
    pub duration: Option<Duration>,
    /// Messages per client, then it closes (`None`: no limit).
    pub messages: Option<u64>,
    /// Messages per second, all clients together (`None`: flat out). UDP needs a rate.
    pub rate: Option<f64>,
    /// Bytes per message (TCP: the last one is a newline; UDP: at least [`UDP_MIN_SIZE`]).
    pub size: usize,
    pub udp: bool,
    pub reply: Reply,
    /// How long a connect or an answer may take before it counts as an error.
    pub timeout: Duration,
}

impl LoadConfig {
    /// What is wrong with this configuration, in words for the command line (panels check
    /// their fields themselves).
    pub fn problem(&self) -> Option<String> {
        if self.clients == 0 || self.clients > MAX_CLIENTS {
            return Some(format!("clients must be 1 to {MAX_CLIENTS}"));
        }
        if self.size == 0 || self.size > MAX_SIZE {
            return Some(format!("size must be 1 to {MAX_SIZE} bytes"));
        }
        if self.udp && self.size < UDP_MIN_SIZE {
            return Some(format!(
                "a UDP datagram needs at least {UDP_MIN_SIZE} bytes"
            ));
        }
        if let Some(r) = self.rate
            && !(r.is_finite() && r > 0.0 && r <= 10_000_000.0)
        {
            return Some("rate must be more than 0 and at most 10,000,000 a second".into());
        }
        if self.udp && self.rate.is_none() {
            return Some("a UDP stream needs --rate".into());
        }
        if self.timeout.is_zero() {
            return Some("timeout must be more than 0".into());
        }
        None
    }
}

/// What went wrong, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoadError {
    /// Nothing listening (RST to the SYN).
    Refused,
    /// No answer to the SYN within the time limit.
    ConnectTimeout,
    /// The connection was reset.
    Reset,
    /// The server closed the connection in the middle of the run.
    Closed,
    /// No (whole) answer within the time limit.
    ReplyTimeout,
    /// The answer was not the message sent back.
    WrongReply,
    /// This process ran out of descriptors.
    TooManyOpenFiles,
    /// This machine ran out of local ports (or the address is not usable).
    NoLocalPort,
    /// UDP: a datagram not back within the time limit after the run.
    Lost,
    Other,
}

impl LoadError {
    pub const ALL: [LoadError; 10] = [
        LoadError::Refused,
        LoadError::ConnectTimeout,
        LoadError::Reset,
        LoadError::Closed,
        LoadError::ReplyTimeout,
        LoadError::WrongReply,
        LoadError::TooManyOpenFiles,
        LoadError::NoLocalPort,
        LoadError::Lost,
        LoadError::Other,
    ];

    /// The key in JSON.
    pub fn name(self) -> &'static str {
        match self {
            LoadError::Refused => "refused",
            LoadError::ConnectTimeout => "connect_timeout",
            LoadError::Reset => "reset",
            LoadError::Closed => "closed",
            LoadError::ReplyTimeout => "reply_timeout",
            LoadError::WrongReply => "wrong_reply",
            LoadError::TooManyOpenFiles => "too_many_open_files",
            LoadError::NoLocalPort => "no_local_port",
            LoadError::Lost => "lost",
            LoadError::Other => "other",
        }
    }

    fn of(err: &io::Error, connecting: bool) -> Self {
        match NetError::from_io(err).kind {
            NetErrorKind::Refused => LoadError::Refused,
            NetErrorKind::TimedOut if connecting => LoadError::ConnectTimeout,
            NetErrorKind::TimedOut => LoadError::ReplyTimeout,
            NetErrorKind::Reset | NetErrorKind::BrokenPipe => LoadError::Reset,
            NetErrorKind::TooManyOpenFiles => LoadError::TooManyOpenFiles,
            NetErrorKind::AddrNotAvailable | NetErrorKind::AddrInUse => LoadError::NoLocalPort,
            _ => LoadError::Other,
        }
    }
}

/// p50/p95/p99/max of a histogram, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

/// A live sample, twice a second.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub at: Duration,
    /// Clients connected now.
    pub connected: usize,
    /// Answers a second, over the last interval.
    pub messages_per_s: f64,
    /// Bytes sent and received a second, over the last interval.
    pub sent_per_s: f64,
    pub received_per_s: f64,
    /// Round trips of the last interval.
    pub rtt: Percentiles,
    /// Errors so far.
    pub errors: u64,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub clients: usize,
    /// Clients that connected at least once.
    pub clients_connected: usize,
    /// The most connected at the same moment.
    pub peak_connected: usize,
    pub elapsed: Duration,
    /// Answers received (UDP: datagrams back).
    pub messages: u64,
    /// Messages sent.
    pub sent_messages: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub messages_per_s: f64,
    pub bytes_per_s: f64,
    pub connect: Percentiles,
    pub rtt: Percentiles,
    pub errors: BTreeMap<LoadError, u64>,
    /// Stopped by the user (or Ctrl+C) before its end.
    pub stopped: bool,
    pub udp: bool,
    pub limit: FileLimit,
}

impl Report {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LoadEvent {
    /// The run began: the descriptor limit as raised for it.
    Started {
        limit: FileLimit,
        clients: usize,
    },
    Sample(Sample),
    Done(Report),
}

pub type LoadMsg = Tagged<LoadEvent>;

/// A run on its thread (see [`super::engine`]). `stop` ends it within a poll slice; a report
/// still follows.
pub type LoadRun = Engine<Stop>;

/// Starts a run. Samples come twice a second and the report last; with a bounded channel
/// a reader that stops reading loses samples, never the report (sent with a blocking send).
pub fn spawn_load(
    config: LoadConfig,
    events: flume::Sender<LoadMsg>,
    waker: Waker,
) -> io::Result<LoadRun> {
    engine::spawn("load", events, waker, None, move |emitter, control| {
        let mut out = |e: LoadEvent| match e {
            LoadEvent::Done(_) => emitter.emit(e),
            _ => {
                emitter.offer(e);
            }
        };
        run(&config, control.stop_flag(), &mut out);
    })
}

/// Runs on this thread until done or `stop`; every event goes to `out`, the report last.
pub fn run(config: &LoadConfig, stop: &AtomicBool, out: &mut dyn FnMut(LoadEvent)) -> Report {
    let want = config.clients as u64 + SPARE_FILES;
    let limit = sys::raise_file_limit(want);
    out(LoadEvent::Started {
        limit,
        clients: config.clients,
    });
    let mut stats = Stats::new(config, limit);
    let result = if config.udp {
        run_udp(config, stop, &mut stats, out)
    } else {
        run_tcp(config, stop, &mut stats, out)
    };
    if let Err(e) = result {
        stats.error(LoadError::of(&e, false));
    }
    let report = stats.report(stop.load(Ordering::Relaxed));
    out(LoadEvent::Done(report.clone()));
    report
}

/// One poll; a signal is not an error.
fn poll_once(poll: &mut Poll, events: &mut Events, wait: Duration) -> io::Result<()> {
    match poll.poll(events, Some(wait)) {
        Err(e) if e.kind() != ErrorKind::Interrupted => Err(e),
        _ => Ok(()),
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs to an hour, 3 significant figures. The bounds are constants that are valid.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant bounds are valid")
}

struct Stats {
    clients: usize,
    udp: bool,
    limit: FileLimit,
    started: Instant,
    connect: Histogram<u64>,
    rtt: Histogram<u64>,
    interval_rtt: Histogram<u64>,
    errors: BTreeMap<LoadError, u64>,
    messages: u64,
    sent_messages: u64,
    bytes_sent: u64,
    bytes_received: u64,
    ever_connected: usize,
    connected: usize,
    peak_connected: usize,
    last_sample: Instant,
    at_last: (u64, u64, u64),
}

impl Stats {
    fn new(config: &LoadConfig, limit: FileLimit) -> Self {
        let now = Instant::now();
        Self {
            clients: config.clients,
            udp: config.udp,
            limit,
            started: now,
            connect: histogram(),
            rtt: histogram(),
            interval_rtt: histogram(),
            errors: BTreeMap::new(),
            messages: 0,
            sent_messages: 0,
            bytes_sent: 0,
            bytes_received: 0,
            ever_connected: 0,
            connected: 0,
            peak_connected: 0,
            last_sample: now,
            at_last: (0, 0, 0),
        }
    }

    fn error(&mut self, kind: LoadError) {
        *self.errors.entry(kind).or_default() += 1;
    }

    fn round_trip(&mut self, took: Duration) {
        let us = (took.as_micros() as u64).max(1);
        self.rtt.saturating_record(us);
        self.interval_rtt.saturating_record(us);
        self.messages += 1;
    }

    fn connected(&mut self, took: Duration, first: bool) {
        self.connect
            .saturating_record((took.as_micros() as u64).max(1));
        self.joined(first);
    }

    /// A client (or UDP socket) that is now in the run.
    fn joined(&mut self, first: bool) {
        self.connected += 1;
        self.peak_connected = self.peak_connected.max(self.connected);
        if first {
            self.ever_connected += 1;
        }
    }

    fn sample_due(&self, now: Instant) -> bool {
        now.duration_since(self.last_sample) >= SAMPLE_EVERY
    }

    fn sample(&mut self, now: Instant) -> Sample {
        let dt = now.duration_since(self.last_sample).as_secs_f64().max(1e-6);
        let (m, s, r) = self.at_last;
        let sample = Sample {
            at: now.duration_since(self.started),
            connected: self.connected,
            messages_per_s: (self.messages - m) as f64 / dt,
            sent_per_s: (self.bytes_sent - s) as f64 / dt,
            received_per_s: (self.bytes_received - r) as f64 / dt,
            rtt: Percentiles::of(&self.interval_rtt),
            errors: self.errors.values().sum(),
        };
        self.interval_rtt.reset();
        self.last_sample = now;
        self.at_last = (self.messages, self.bytes_sent, self.bytes_received);
        sample
    }

    fn report(&self, stopped: bool) -> Report {
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        Report {
            clients: self.clients,
            clients_connected: self.ever_connected,
            peak_connected: self.peak_connected,
            elapsed: self.started.elapsed(),
            messages: self.messages,
            sent_messages: self.sent_messages,
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            messages_per_s: self.messages as f64 / secs,
            bytes_per_s: self.bytes_received as f64 / secs,
            connect: Percentiles::of(&self.connect),
            rtt: Percentiles::of(&self.rtt),
            errors: self.errors.clone(),
            stopped,
            udp: self.udp,
            limit: self.limit,
        }
    }
}

/// The message a TCP client sends: its header (client and sequence number), then `x`s, then
/// a newline. The byte at `offset` of it.
fn message_byte(header: &[u8], size: usize, offset: usize) -> u8 {
    if offset + 1 == size {
        b'\n'
    } else if offset < header.len() {
        header[offset]
    } else {
        b'x'
    }
}

fn header(client: usize, seq: u64) -> Vec<u8> {
    format!("load {client} {seq} ").into_bytes()
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Not connected; waiting in the ramp's queue.
    Idle,
    Connecting {
        since: Instant,
    },
    /// Connected, waiting for its turn to send.
    Ready,
    /// A message on its way: `written` of it sent, `got` of its answer received.
    Busy {
        since: Instant,
        written: usize,
        got: usize,
    },
    /// Sent all its messages (or the run is over).
    Finished,
}

struct Client {
    stream: Option<mio::net::TcpStream>,
    phase: Phase,
    seq: u64,
    header: Vec<u8>,
    done: u64,
    ever: bool,
    /// When its next message is due (rate mode).
    next_send: Option<Instant>,
    /// Its turn is in the queue of turns.
    queued: bool,
}

/// The TCP clients and what drives them.
struct Tcp<'a> {
    config: &'a LoadConfig,
    poll: Poll,
    clients: Vec<Client>,
    /// Clients waiting to connect, in the order they may (a reconnect goes to the back, a
    /// second later than now, so the queue stays in time order).
    idle: std::collections::VecDeque<(Instant, usize)>,
    /// Rate mode: the clients' next turns.
    turns: BinaryHeap<Reverse<(Instant, usize)>>,
    connecting: usize,
    finished: usize,
    period: Option<Duration>,
    scratch: Vec<u8>,
}

fn run_tcp(
    config: &LoadConfig,
    stop: &AtomicBool,
    stats: &mut Stats,
    out: &mut dyn FnMut(LoadEvent),
) -> io::Result<()> {
    let n = config.clients;
    let start = stats.started;
    let end = config.duration.map(|d| start + d);
    // Rate mode: each client sends every `period`; client i first at i/n of it.
    let period = config
        .rate
        .map(|r| Duration::from_secs_f64((n as f64 / r).min(86_400.0)));
    let mut t = Tcp {
        config,
        poll: Poll::new()?,
        clients: (0..n)
            .map(|i| Client {
                stream: None,
                phase: Phase::Idle,
                seq: 0,
                header: header(i, 0),
                done: 0,
                ever: false,
                next_send: period.map(|p| start + p.mul_f64(i as f64 / n as f64)),
                queued: false,
            })
            .collect(),
        idle: (0..n).map(|i| (start, i)).collect(),
        turns: BinaryHeap::new(),
        connecting: 0,
        finished: 0,
        period,
        scratch: vec![0u8; 64 * 1024],
    };
    let mut events = Events::with_capacity(1024);
    let mut last_sweep = start;
    let mut touched = Vec::with_capacity(1024);
    loop {
        let now = Instant::now();
        if stop.load(Ordering::Relaxed) || end.is_some_and(|e| now >= e) || t.finished == n {
            break;
        }
        // The ramp: start connects while fewer than MAX_CONNECTING are in progress.
        while t.connecting < MAX_CONNECTING {
            match t.idle.front() {
                Some(&(at, i)) if at <= now => {
                    t.idle.pop_front();
                    t.connect(i, now, stats);
                }
                _ => break,
            }
        }
        // Sleep until the next turn or a short slice.
        let mut wait = Duration::from_millis(20);
        if let Some(Reverse((at, _))) = t.turns.peek() {
            wait = wait.min(at.saturating_duration_since(now));
        }
        if let Some(&(at, _)) = t.idle.front()
            && t.connecting < MAX_CONNECTING
        {
            wait = wait.min(at.saturating_duration_since(now));
        }
        poll_once(&mut t.poll, &mut events, wait)?;
        let now = Instant::now();
        touched.clear();
        touched.extend(events.iter().map(|e| e.token().0));
        // Turns that have come.
        while let Some(Reverse((at, i))) = t.turns.peek().copied() {
            if at > now {
                break;
            }
            t.turns.pop();
            t.clients[i].queued = false;
            touched.push(i);
        }
        for &i in &touched {
            if i < n {
                t.step(i, now, stats);
            }
        }
        // Time limits, a few times a second.
        if now.duration_since(last_sweep) >= Duration::from_millis(100) {
            last_sweep = now;
            for i in 0..n {
                let late = match t.clients[i].phase {
                    Phase::Connecting { since } if now.duration_since(since) > config.timeout => {
                        Some(LoadError::ConnectTimeout)
                    }
                    Phase::Busy { since, .. } if now.duration_since(since) > config.timeout => {
                        Some(LoadError::ReplyTimeout)
                    }
                    _ => None,
                };
                if let Some(kind) = late {
                    t.fail(i, kind, now, stats);
                }
            }
        }
        if stats.sample_due(now) {
            out(LoadEvent::Sample(stats.sample(now)));
        }
    }
    for i in 0..n {
        t.close(i, stats);
    }
    Ok(())
}

impl Tcp<'_> {
    fn connect(&mut self, i: usize, now: Instant, stats: &mut Stats) {
        let attempt = mio::net::TcpStream::connect(self.config.addr).and_then(|mut s| {
            self.poll.registry().register(
                &mut s,
                Token(i),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            Ok(s)
        });
        match attempt {
            Ok(stream) => {
                self.clients[i].stream = Some(stream);
                self.clients[i].phase = Phase::Connecting { since: now };
                self.connecting += 1;
            }
            Err(e) => {
                stats.error(LoadError::of(&e, true));
                self.idle.push_back((now + RECONNECT_AFTER, i));
            }
        }
    }

    /// Drops a client's connection after an error; it connects again a second later.
    fn fail(&mut self, i: usize, kind: LoadError, now: Instant, stats: &mut Stats) {
        stats.error(kind);
        self.close(i, stats);
        self.idle.push_back((now + RECONNECT_AFTER, i));
    }

    fn close(&mut self, i: usize, stats: &mut Stats) {
        let c = &mut self.clients[i];
        match c.phase {
            Phase::Connecting { .. } => self.connecting = self.connecting.saturating_sub(1),
            Phase::Ready | Phase::Busy { .. } => {
                stats.connected = stats.connected.saturating_sub(1)
            }
            Phase::Idle | Phase::Finished => {}
        }
        if !matches!(c.phase, Phase::Finished) {
            c.phase = Phase::Idle;
        }
        if let Some(mut s) = c.stream.take() {
            let _ = self.poll.registry().deregister(&mut s);
        }
    }

    fn step(&mut self, i: usize, now: Instant, stats: &mut Stats) {
        // A finished connect?
        if let Phase::Connecting { since } = self.clients[i].phase {
            let Some(s) = self.clients[i].stream.as_ref() else {
                return;
            };
            let failed = match s.take_error() {
                Ok(Some(e)) | Err(e) => Some(e),
                Ok(None) => match s.peer_addr() {
                    Ok(_) => None,
                    Err(e)
                        if matches!(e.kind(), ErrorKind::NotConnected | ErrorKind::WouldBlock) =>
                    {
                        return; // still connecting
                    }
                    Err(e) => Some(e),
                },
            };
            if let Some(e) = failed {
                self.fail(i, LoadError::of(&e, true), now, stats);
                return;
            }
            let _ = s.set_nodelay(true);
            self.connecting = self.connecting.saturating_sub(1);
            let c = &mut self.clients[i];
            stats.connected(Instant::now().duration_since(since), !c.ever);
            c.ever = true;
            c.phase = Phase::Ready;
        }
        loop {
            match self.clients[i].phase {
                Phase::Ready => {
                    let c = &mut self.clients[i];
                    if self.config.messages.is_some_and(|m| c.done >= m) {
                        self.close(i, stats);
                        self.clients[i].phase = Phase::Finished;
                        self.finished += 1;
                        return;
                    }
                    if let Some(at) = c.next_send
                        && at > now
                    {
                        if !c.queued {
                            c.queued = true;
                            self.turns.push(Reverse((at, i)));
                        }
                        // Nothing to send yet; still read (a server may talk unasked).
                        self.drain_unasked(i, now, stats);
                        return;
                    }
                    if let (Some(p), Some(at)) = (self.period, c.next_send) {
                        // The next turn; a client that fell behind does not make up for it
                        // with a burst.
                        c.next_send = Some((at + p).max(now));
                    }
                    c.header = header(i, c.seq);
                    c.phase = Phase::Busy {
                        since: now,
                        written: 0,
                        got: 0,
                    };
                    stats.sent_messages += 1;
                }
                Phase::Busy {
                    since,
                    written,
                    got,
                } => {
                    match self.exchange(i, since, written, got, stats) {
                        Ok(true) => continue, // answered: the next message (or its turn)
                        Ok(false) => return,  // waiting for the socket
                        Err(kind) => {
                            self.fail(i, kind, now, stats);
                            return;
                        }
                    }
                }
                Phase::Idle | Phase::Connecting { .. } | Phase::Finished => return,
            }
        }
    }

    /// Writes what the socket takes and reads what has come; true when the answer is whole.
    fn exchange(
        &mut self,
        i: usize,
        since: Instant,
        mut written: usize,
        mut got: usize,
        stats: &mut Stats,
    ) -> Result<bool, LoadError> {
        let size = self.config.size;
        let reply = self.config.reply;
        let c = &mut self.clients[i];
        let Some(s) = c.stream.as_mut() else {
            return Err(LoadError::Other);
        };
        let scratch = &mut self.scratch;
        while written < size {
            let k = (size - written).min(scratch.len());
            for (o, b) in scratch[..k].iter_mut().enumerate() {
                *b = message_byte(&c.header, size, written + o);
            }
            match s.write(&scratch[..k]) {
                Ok(0) => return Err(LoadError::Closed),
                Ok(w) => {
                    written += w;
                    stats.bytes_sent += w as u64;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(LoadError::of(&e, false)),
            }
        }
        let mut complete = false;
        loop {
            match s.read(scratch) {
                Ok(0) => return Err(LoadError::Closed),
                Ok(r) => {
                    stats.bytes_received += r as u64;
                    if reply == Reply::Echo {
                        let same = got + r <= written
                            && scratch[..r]
                                .iter()
                                .enumerate()
                                .all(|(o, b)| *b == message_byte(&c.header, size, got + o));
                        if !same {
                            return Err(LoadError::WrongReply);
                        }
                    }
                    got += r;
                    if reply == Reply::Any || got >= size {
                        complete = true;
                        if reply == Reply::Echo {
                            break;
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(LoadError::of(&e, false)),
            }
        }
        if complete && written >= size {
            stats.round_trip(since.elapsed());
            c.done += 1;
            c.seq += 1;
            c.phase = Phase::Ready;
            return Ok(true);
        }
        c.phase = Phase::Busy {
            since,
            written,
            got,
        };
        Ok(false)
    }

    /// Reads (and counts) what a server sends while nothing was asked.
    fn drain_unasked(&mut self, i: usize, now: Instant, stats: &mut Stats) {
        let Some(s) = self.clients[i].stream.as_mut() else {
            return;
        };
        let failed = loop {
            match s.read(&mut self.scratch) {
                Ok(0) => break Some(LoadError::Closed),
                Ok(r) => stats.bytes_received += r as u64,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break None,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break Some(LoadError::of(&e, false)),
            }
        };
        if let Some(kind) = failed {
            self.fail(i, kind, now, stats);
        }
    }
}

const UDP_MAGIC: &[u8; 4] = b"SWLD";

fn run_udp(
    config: &LoadConfig,
    stop: &AtomicBool,
    stats: &mut Stats,
    out: &mut dyn FnMut(LoadEvent),
) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let n = config.clients;
    let start = stats.started;
    let rate = config.rate.unwrap_or(1000.0);
    let period = Duration::from_secs_f64((n as f64 / rate).min(86_400.0));
    let end = config.duration.map(|d| start + d);
    let local: SocketAddr = if config.addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        match mio::net::UdpSocket::bind(local).and_then(|mut s| {
            s.connect(config.addr)?;
            poll.registry()
                .register(&mut s, Token(i), Interest::READABLE)?;
            Ok(s)
        }) {
            Ok(s) => {
                stats.joined(true);
                sockets.push(Some(s));
            }
            Err(e) => {
                stats.error(LoadError::of(&e, true));
                sockets.push(None);
            }
        }
    }
    let mut next: Vec<Instant> = (0..n)
        .map(|i| start + period.mul_f64(i as f64 / n as f64))
        .collect();
    let mut seq = vec![0u64; n];
    let mut buf = vec![0u8; config.size.max(65_536)];
    let mut sending = true;
    let mut drain_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if sending
            && (stop.load(Ordering::Relaxed)
                || end.is_some_and(|e| now >= e)
                || config.messages.is_some_and(|m| seq.iter().all(|s| *s >= m)))
        {
            sending = false;
            // Stragglers may still come back; a stop by the user does not wait.
            drain_until = Some(if stop.load(Ordering::Relaxed) {
                now
            } else {
                now + config.timeout.min(Duration::from_secs(2))
            });
        }
        if let Some(d) = drain_until
            && (now >= d || stats.messages >= stats.sent_messages)
        {
            break;
        }
        if sending {
            for i in 0..n {
                let Some(s) = sockets[i].as_ref() else {
                    continue;
                };
                if config.messages.is_some_and(|m| seq[i] >= m) {
                    continue;
                }
                // At most a few turns at once for a socket that fell behind.
                let mut burst = 0;
                while next[i] <= now && burst < 64 {
                    burst += 1;
                    next[i] += period;
                    let t = now.duration_since(start).as_nanos() as u64;
                    let d = &mut buf[..config.size];
                    d.fill(b'x');
                    d[..4].copy_from_slice(UDP_MAGIC);
                    d[4..8].copy_from_slice(&(i as u32).to_be_bytes());
                    d[8..16].copy_from_slice(&seq[i].to_be_bytes());
                    d[16..24].copy_from_slice(&t.to_be_bytes());
                    match s.send(d) {
                        Ok(w) => {
                            seq[i] += 1;
                            stats.sent_messages += 1;
                            stats.bytes_sent += w as u64;
                        }
                        // A full send buffer: this turn is skipped, not queued.
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => {
                            stats.error(LoadError::of(&e, false));
                        }
                    }
                    if config.messages.is_some_and(|m| seq[i] >= m) {
                        break;
                    }
                }
                if next[i] < now {
                    next[i] = now;
                }
            }
        }
        let soonest = next.iter().min().copied().unwrap_or(now);
        let wait = if sending {
            soonest
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(20))
        } else {
            Duration::from_millis(20)
        };
        poll_once(&mut poll, &mut events, wait)?;
        for ev in events.iter() {
            let i = ev.token().0;
            let Some(s) = sockets.get(i).and_then(|s| s.as_ref()) else {
                continue;
            };
            loop {
                match s.recv(&mut buf) {
                    Ok(r) => {
                        stats.bytes_received += r as u64;
                        let d = &buf[..r];
                        let ours = r >= UDP_MIN_SIZE
                            && &d[..4] == UDP_MAGIC
                            && d[4..8] == (i as u32).to_be_bytes();
                        if ours {
                            let mut t = [0u8; 8];
                            t.copy_from_slice(&d[16..24]);
                            let sent = start + Duration::from_nanos(u64::from_be_bytes(t));
                            stats.round_trip(Instant::now().saturating_duration_since(sent));
                        } else {
                            stats.error(LoadError::WrongReply);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // "Port unreachable" from an earlier datagram, and the like.
                    Err(e) => {
                        stats.error(LoadError::of(&e, false));
                        break;
                    }
                }
            }
        }
        let now = Instant::now();
        if stats.sample_due(now) {
            let s = stats.sample(now);
            out(LoadEvent::Sample(s));
        }
    }
    let lost = stats.sent_messages.saturating_sub(stats.messages);
    if lost > 0 {
        *stats.errors.entry(LoadError::Lost).or_default() += lost;
    }
    stats.connected = 0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_its_header_then_x_then_a_newline() {
        let h = header(3, 7);
        let m: Vec<u8> = (0..16).map(|o| message_byte(&h, 16, o)).collect();
        assert_eq!(m, b"load 3 7 xxxxxx\n");
        assert_eq!(message_byte(&h, 1, 0), b'\n');
    }

    #[test]
    fn percentiles_are_in_order() {
        let mut h = histogram();
        for v in 1..=10_000u64 {
            h.saturating_record(v * 10);
        }
        let p = Percentiles::of(&h);
        assert!(p.p50_ms <= p.p95_ms && p.p95_ms <= p.p99_ms && p.p99_ms <= p.max_ms);
        assert!((p.p50_ms - 50.0).abs() < 0.1, "{p:?}");
    }
}
