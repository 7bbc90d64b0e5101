//! "Check my server": plays a class against a student's exercise-1
//! server — many clients at once, each sending several messages and checking the answers —
//! plus the awkward clients a real class has, and gives a verdict per check with its
//! evidence. Structured results; the words (in either language) are `i18n`'s.
//!
//! Blocking std sockets on one thread per client, each read and connect with a time limit,
//! so a server that never answers costs the timeout and nothing more.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::net::engine::{self, Emitter, Engine, Stop};
use crate::net::{NetError, NetErrorKind, Tagged, Waker};
use crate::proto::encoding::TextEncoding;

/// What a reply must be.
#[derive(Debug, Clone)]
pub enum Expect {
    /// The same bytes back.
    Echo,
    /// Any reply at all.
    Any,
    /// This text (in the chosen encoding), exactly.
    Text(String),
    /// These bytes, exactly (a fixed reply typed in hex).
    Bytes(Vec<u8>),
    /// A reply (decoded) that matches this expression.
    Regex(regex::Regex),
}

impl Expect {
    /// For hex messages: a fixed text reply read as hex digits (`"4F 4B 0A"`).
    pub fn in_hex(self) -> Result<Self, String> {
        match self {
            Expect::Text(t) => crate::proto::hex::parse_hex(&t)
                .map(Expect::Bytes)
                .map_err(|e| format!("'{t}' is not hex: {e}")),
            other => Ok(other),
        }
    }

    /// `echo`, `any`, `text:STR` or `regex:RE`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "echo" => Ok(Expect::Echo),
            "any" => Ok(Expect::Any),
            _ => {
                if let Some(t) = s.strip_prefix("text:") {
                    Ok(Expect::Text(t.to_owned()))
                } else if let Some(r) = s.strip_prefix("regex:") {
                    regex::Regex::new(r)
                        .map(Expect::Regex)
                        .map_err(|e| format!("'{r}' is not a regular expression: {e}"))
                } else {
                    Err(format!(
                        "'{s}' is not an expectation (use echo, any, text:STR or regex:RE)"
                    ))
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub addr: SocketAddr,
    pub clients: usize,
    pub messages: usize,
    pub expect: Expect,
    pub encoding: TextEncoding,
    /// Messages are bytes, not text: every byte value from 00 to FF, and the evidence is
    /// shown in hex (a fixed reply is then given in hex, see [`Expect::in_hex`]).
    pub hex: bool,
    /// How long a reply (or a connection) may take.
    pub timeout: Duration,
    /// Further checks left out (the class check always runs).
    pub skip: Vec<CheckKind>,
}

impl CheckConfig {
    /// The checks this configuration runs, in order.
    pub fn checks(&self) -> Vec<CheckKind> {
        CheckKind::ALL
            .into_iter()
            .filter(|k| *k == CheckKind::Class || !self.skip.contains(k))
            .collect()
    }
}

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// N clients at once, M messages each.
    Class,
    /// A client that connects and closes at once; the server must go on.
    ConnectClose,
    /// A client that sends one byte at a time.
    Slow,
    /// A client that sends 64 KB in one go.
    Big,
    /// A client that half-closes (FIN) and expects the server to close too.
    HalfClose,
    /// Clients that leave half-way; then a new client, after all have gone, must be served.
    Reconnect,
}

impl CheckKind {
    pub const ALL: [CheckKind; 6] = [
        CheckKind::Class,
        CheckKind::ConnectClose,
        CheckKind::Slow,
        CheckKind::Big,
        CheckKind::HalfClose,
        CheckKind::Reconnect,
    ];

    /// The further checks (each can be left out).
    pub const FURTHER: [CheckKind; 5] = [
        CheckKind::ConnectClose,
        CheckKind::Slow,
        CheckKind::Big,
        CheckKind::HalfClose,
        CheckKind::Reconnect,
    ];

    /// The check named `name` (as [`CheckKind::name`] spells it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Class => "class",
            CheckKind::ConnectClose => "connect-close",
            CheckKind::Slow => "slow",
            CheckKind::Big => "big",
            CheckKind::HalfClose => "half-close",
            CheckKind::Reconnect => "reconnect",
        }
    }
}

/// How one client's conversation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Every message answered as expected.
    Done,
    /// Could not connect.
    NoConnection(NetErrorKind),
    /// No (complete) answer to message `at` (0-based) within the timeout.
    Timeout { at: usize },
    /// The server closed (or reset) the connection before answering message `at`.
    Closed { at: usize },
    /// The answer to message `at` was not the expected one.
    Wrong {
        at: usize,
        sent: Vec<u8>,
        got: Vec<u8>,
    },
}

/// One client of the class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRun {
    /// Messages answered as expected.
    pub answered: usize,
    pub ending: Ending,
}

/// A check's verdict, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Passed,
    /// Nothing accepts connections there.
    NotListening(NetErrorKind),
    /// `served` clients got every answer; the other `waiting` connected (the backlog took
    /// them) but got nothing within the timeout: accept() is not in a loop.
    OnlyFirstServed {
        served: usize,
        waiting: usize,
        /// Could not even connect: the backlog was full.
        unconnected: usize,
        timeout_s: f64,
    },
    /// This check's client could not connect (the server is stuck, or its backlog full).
    NoConnection(NetErrorKind),
    /// Every client connected, none got any answer (the server is busy with someone else,
    /// or never answers).
    NoReply {
        clients: usize,
        timeout_s: f64,
    },
    /// Every client got its first answer, none its second: recv() is not in a loop.
    FirstAnswerOnly {
        clients: usize,
    },
    /// An answer that was not the expected one.
    WrongReply {
        client: usize,
        message: usize,
        sent: String,
        got: String,
    },
    /// The server closed a connection before answering.
    ClosedEarly {
        client: usize,
        message: usize,
    },
    /// Some answers missing: `answered` of `expected`.
    Partial {
        answered: usize,
        expected: usize,
    },
    /// After the client's FIN the server did not close within the timeout.
    NoCloseAfterFin {
        timeout_s: f64,
    },
    /// After the awkward client, a new client was not served.
    StuckAfter {
        ending: Ending,
    },
}

impl Verdict {
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Passed)
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub kind: CheckKind,
    pub verdict: Verdict,
    /// The class check's clients (empty for the others).
    pub clients: Vec<ClientRun>,
    pub took: Duration,
}

/// Where one client of the class is, as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    Connecting,
    /// Connected; `answered` messages answered so far.
    Talking {
        answered: usize,
    },
    Done,
    /// Ended short of its messages (see its [`Ending`] in the result).
    Failed {
        answered: usize,
    },
}

/// What a run started with [`start`] tells its watcher.
#[derive(Debug, Clone)]
pub enum CheckEvent {
    /// A check begins.
    Begin(CheckKind),
    /// Client `i` (0-based) of the class check moved on.
    Client { i: usize, live: Live },
    /// A check ended.
    Result(CheckResult),
    /// Every chosen check has run, or the run was stopped (its results are then partial).
    Finished { stopped: bool },
}

/// The watcher's side of a run: where events go, and the stop flag it raises. The default
/// watches nothing and never stops (the command line's and the tests' runs).
#[derive(Clone, Default)]
pub struct Watch {
    events: Option<Emitter<CheckEvent>>,
    stop: Arc<AtomicBool>,
}

impl Watch {
    fn send(&self, event: CheckEvent) {
        if let Some(emitter) = &self.events {
            // Unbounded, and bounded by the configuration: per class client one event when
            // it connects, one per answer and one at its end (at most 1,000 × 1,002), and
            // two per check; the panel drains it every frame.
            emitter.emit(event);
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn client(&self, i: Option<usize>, live: Live) {
        if let Some(i) = i {
            self.send(CheckEvent::Client { i, live });
        }
    }
}

pub type CheckMsg = Tagged<CheckEvent>;

/// A run under way on its own thread (see [`super::engine`]). `stop` ends it soon: waiting
/// reads give up within 100 ms (a connect attempt within a second), no further check starts,
/// and `Finished { stopped: true }` follows.
pub type CheckRun = Engine<Stop>;

/// Runs `config`'s checks on a thread of their own.
pub fn spawn_check(
    config: CheckConfig,
    events: flume::Sender<CheckMsg>,
    waker: Waker,
) -> std::io::Result<CheckRun> {
    engine::spawn(
        "check-server",
        events,
        waker,
        None,
        move |emitter, control| {
            let watch = Watch {
                events: Some(emitter),
                stop: control.stop_flag().clone(),
            };
            run_watched(&config, &watch, |_| {});
            watch.send(CheckEvent::Finished {
                stopped: watch.stopped(),
            });
        },
    )
}

/// The `j`th message of client `i`: text the lesson's servers can print, with Chinese in it,
/// ending in a newline.
pub fn message(i: usize, j: usize) -> String {
    format!("同学{:02} 第{}条 hello {i}-{j}\n", i + 1, j + 1)
}

/// The `j`th message of client `i` as sent: the text in the chosen encoding, or with hex
/// messages 24 bytes — a marker, the client and message numbers, every sixteenth byte value
/// from 00 to FF, and a newline.
pub fn payload(config: &CheckConfig, i: usize, j: usize) -> Vec<u8> {
    if !config.hex {
        return encode(config, &message(i, j));
    }
    let mut out = vec![0xA5, 0x5A];
    out.extend_from_slice(&(i as u16).to_be_bytes());
    out.extend_from_slice(&(j as u16).to_be_bytes());
    out.extend((0..16u8).map(|k| k * 17));
    out.extend_from_slice(&[0x80, b'\n']);
    out
}

fn encode(config: &CheckConfig, text: &str) -> Vec<u8> {
    config
        .encoding
        .encode(text)
        .unwrap_or_else(|_| text.as_bytes().to_vec())
}

/// Bytes as the evidence shows them (and a regular expression sees them): decoded text, or
/// hex pairs.
fn shown(config: &CheckConfig, bytes: &[u8]) -> String {
    if config.hex {
        crate::proto::hex::format_hex(bytes)
    } else {
        config.encoding.decode_display(bytes)
    }
}

/// Connects within the timeout, in attempts of at most a second so a stop is heard while a
/// long timeout runs (an attempt cannot be interrupted). A refusal ends it at once.
fn connect(config: &CheckConfig, watch: &Watch) -> Result<TcpStream, NetErrorKind> {
    let deadline = Instant::now() + config.timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let slice = left.clamp(Duration::from_millis(1), CONNECT_SLICE);
        match TcpStream::connect_timeout(&config.addr, slice) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => {
                let kind = NetError::from_io(&e).kind;
                let timed_out = matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock);
                if !timed_out || watch.stopped() || Instant::now() >= deadline {
                    return Err(kind);
                }
            }
        }
    }
}

/// The longest single connect attempt.
const CONNECT_SLICE: Duration = Duration::from_secs(1);

/// Reads the answer to `sent` as `expect` wants it, until `deadline`.
fn answer(
    s: &mut TcpStream,
    config: &CheckConfig,
    watch: &Watch,
    sent: &[u8],
    at: usize,
) -> Result<(), Ending> {
    let deadline = Instant::now() + config.timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let wrong = |got: Vec<u8>| Ending::Wrong {
            at,
            sent: sent.to_vec(),
            got,
        };
        // Enough to judge?
        match &config.expect {
            Expect::Echo | Expect::Text(_) | Expect::Bytes(_) => {
                let want = match &config.expect {
                    Expect::Text(t) => encode(config, t),
                    Expect::Bytes(b) => b.clone(),
                    _ => sent.to_vec(),
                };
                let n = got.len().min(want.len());
                if got[..n] != want[..n] {
                    return Err(wrong(got));
                }
                if n == want.len() {
                    return Ok(());
                }
            }
            Expect::Any if !got.is_empty() => return Ok(()),
            Expect::Regex(re) if !got.is_empty() => {
                if re.is_match(&shown(config, &got)) {
                    return Ok(());
                }
            }
            Expect::Any | Expect::Regex(_) => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || got.len() > 1 << 20 || watch.stopped() {
            return match (&config.expect, got.is_empty()) {
                (Expect::Regex(_), false) => Err(wrong(got)),
                _ => Err(Ending::Timeout { at }),
            };
        }
        // In slices, so a stop is heard within 100 ms.
        let slice = left.clamp(Duration::from_millis(1), Duration::from_millis(100));
        let _ = s.set_read_timeout(Some(slice));
        match s.read(&mut buf) {
            Ok(0) => return Err(Ending::Closed { at }),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(Ending::Closed { at }),
        }
    }
}

/// One client: connect, then `messages` request/answer rounds (`chunk` bytes per send:
/// 1 for the slow client). `live`: the client's place on the watcher's board, if it has one.
fn converse(
    config: &CheckConfig,
    watch: &Watch,
    live: Option<usize>,
    i: usize,
    messages: usize,
    chunk: usize,
) -> ClientRun {
    let run = converse_inner(config, watch, live, i, messages, chunk);
    watch.client(
        live,
        match run.ending {
            Ending::Done => Live::Done,
            _ => Live::Failed {
                answered: run.answered,
            },
        },
    );
    run
}

fn converse_inner(
    config: &CheckConfig,
    watch: &Watch,
    live: Option<usize>,
    i: usize,
    messages: usize,
    chunk: usize,
) -> ClientRun {
    watch.client(live, Live::Connecting);
    let mut s = match connect(config, watch) {
        Ok(s) => s,
        Err(kind) => {
            return ClientRun {
                answered: 0,
                ending: Ending::NoConnection(kind),
            };
        }
    };
    watch.client(live, Live::Talking { answered: 0 });
    for j in 0..messages {
        let sent = payload(config, i, j);
        for piece in sent.chunks(chunk.max(1)) {
            if s.write_all(piece).is_err() {
                return ClientRun {
                    answered: j,
                    ending: Ending::Closed { at: j },
                };
            }
            if chunk < sent.len() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        if let Err(ending) = answer(&mut s, config, watch, &sent, j) {
            return ClientRun {
                answered: j,
                ending,
            };
        }
        if j + 1 < messages {
            watch.client(live, Live::Talking { answered: j + 1 });
        }
    }
    ClientRun {
        answered: messages,
        ending: Ending::Done,
    }
}

fn text(config: &CheckConfig, bytes: &[u8]) -> String {
    let mut t = shown(config, bytes);
    if t.chars().count() > 80 {
        t = t.chars().take(80).collect::<String>() + "…";
    }
    t
}

/// The class: `clients` at once (a barrier lines them up), `messages` each.
fn class(config: &CheckConfig, watch: &Watch) -> (Verdict, Vec<ClientRun>) {
    let n = config.clients.max(1);
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let config = config.clone();
            let barrier = barrier.clone();
            let watch = watch.clone();
            std::thread::Builder::new()
                .name(format!("check-{i}"))
                .spawn(move || {
                    barrier.wait();
                    converse(&config, &watch, Some(i), i, config.messages, usize::MAX)
                })
        })
        .collect();
    let runs: Vec<ClientRun> = handles
        .into_iter()
        .map(|h| match h {
            Ok(h) => h.join().unwrap_or(ClientRun {
                answered: 0,
                ending: Ending::NoConnection(NetErrorKind::Other),
            }),
            Err(_) => ClientRun {
                answered: 0,
                ending: Ending::NoConnection(NetErrorKind::Other),
            },
        })
        .collect();
    (judge_class(config, &runs), runs)
}

/// The class check's verdict from its clients' runs.
pub fn judge_class(config: &CheckConfig, runs: &[ClientRun]) -> Verdict {
    let m = config.messages.max(1);
    if let Some(ClientRun {
        ending: Ending::NoConnection(kind),
        ..
    }) = runs.first()
        && runs
            .iter()
            .all(|r| matches!(r.ending, Ending::NoConnection(_)))
    {
        return Verdict::NotListening(*kind);
    }
    if runs.iter().all(|r| r.ending == Ending::Done) {
        return Verdict::Passed;
    }
    if let Some((i, r)) = runs
        .iter()
        .enumerate()
        .find(|(_, r)| matches!(r.ending, Ending::Wrong { .. }))
        && let Ending::Wrong { at, sent, got } = &r.ending
    {
        return Verdict::WrongReply {
            client: i + 1,
            message: at + 1,
            sent: text(config, sent),
            got: text(config, got),
        };
    }
    let served = runs.iter().filter(|r| r.ending == Ending::Done).count();
    let waiting = runs
        .iter()
        .filter(|r| r.answered == 0 && matches!(r.ending, Ending::Timeout { at: 0 }))
        .count();
    let unconnected = runs
        .iter()
        .filter(|r| matches!(r.ending, Ending::NoConnection(_)))
        .count();
    if served == 0 && waiting > 0 && waiting + unconnected == runs.len() {
        return Verdict::NoReply {
            clients: waiting,
            timeout_s: config.timeout.as_secs_f64(),
        };
    }
    if served >= 1 && waiting > 0 && served + waiting + unconnected == runs.len() {
        return Verdict::OnlyFirstServed {
            served,
            waiting,
            unconnected,
            timeout_s: config.timeout.as_secs_f64(),
        };
    }
    if m > 1
        && runs.iter().all(|r| {
            r.answered == 1
                && matches!(
                    r.ending,
                    Ending::Timeout { at: 1 } | Ending::Closed { at: 1 }
                )
        })
    {
        return Verdict::FirstAnswerOnly {
            clients: runs.len(),
        };
    }
    if let Some((i, r)) = runs
        .iter()
        .enumerate()
        .find(|(_, r)| matches!(r.ending, Ending::Closed { .. }))
        && let Ending::Closed { at } = r.ending
    {
        return Verdict::ClosedEarly {
            client: i + 1,
            message: at + 1,
        };
    }
    Verdict::Partial {
        answered: runs.iter().map(|r| r.answered).sum(),
        expected: runs.len() * m,
    }
}

/// A single client's run, as a verdict.
fn single(run: &ClientRun, config: &CheckConfig) -> Verdict {
    match &run.ending {
        Ending::Done => Verdict::Passed,
        Ending::NoConnection(kind) => Verdict::NoConnection(*kind),
        Ending::Wrong { at, sent, got } => Verdict::WrongReply {
            client: 1,
            message: at + 1,
            sent: text(config, sent),
            got: text(config, got),
        },
        Ending::Closed { at } => Verdict::ClosedEarly {
            client: 1,
            message: at + 1,
        },
        Ending::Timeout { .. } => Verdict::Partial {
            answered: run.answered,
            expected: run.answered + 1,
        },
    }
}

/// After an awkward client, is a fresh client still served?
fn still_serving(config: &CheckConfig, watch: &Watch) -> Verdict {
    let run = converse(config, watch, None, 90, 2, usize::MAX);
    match run.ending {
        Ending::Done => Verdict::Passed,
        ending => Verdict::StuckAfter { ending },
    }
}

fn half_close(config: &CheckConfig, watch: &Watch) -> Verdict {
    let mut s = match connect(config, watch) {
        Ok(s) => s,
        Err(kind) => return Verdict::NoConnection(kind),
    };
    let sent = payload(config, 80, 0);
    if s.write_all(&sent).is_err() {
        return Verdict::ClosedEarly {
            client: 1,
            message: 1,
        };
    }
    if let Err(ending) = answer(&mut s, config, watch, &sent, 0) {
        return single(
            &ClientRun {
                answered: 0,
                ending,
            },
            config,
        );
    }
    let _ = s.shutdown(Shutdown::Write);
    // The server should see recv() return 0 and close: we then read end-of-file.
    let deadline = Instant::now() + config.timeout;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || watch.stopped() {
            return Verdict::NoCloseAfterFin {
                timeout_s: config.timeout.as_secs_f64(),
            };
        }
        let _ = s.set_read_timeout(Some(left.min(Duration::from_millis(100))));
        match s.read(&mut buf) {
            Ok(0) => return Verdict::Passed,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // A reset is a close too (an abrupt one).
            Err(_) => return Verdict::Passed,
        }
    }
}

/// Runs one check.
pub fn run_check(kind: CheckKind, config: &CheckConfig) -> CheckResult {
    check(kind, config, &Watch::default())
}

fn check(kind: CheckKind, config: &CheckConfig, watch: &Watch) -> CheckResult {
    let started = Instant::now();
    let mut clients = Vec::new();
    let verdict = match kind {
        CheckKind::Class => {
            let (v, runs) = class(config, watch);
            clients = runs;
            v
        }
        CheckKind::ConnectClose => {
            match connect(config, watch) {
                Ok(s) => drop(s),
                Err(kind) => {
                    return CheckResult {
                        kind: CheckKind::ConnectClose,
                        verdict: Verdict::NoConnection(kind),
                        clients,
                        took: started.elapsed(),
                    };
                }
            }
            std::thread::sleep(Duration::from_millis(100));
            still_serving(config, watch)
        }
        CheckKind::Slow => single(&converse(config, watch, None, 70, 1, 1), config),
        CheckKind::Big => {
            // 64 KB in one send: a message of many lines.
            let mut big = Vec::new();
            let mut k = 0;
            while big.len() < 64 * 1024 {
                big.extend(payload(config, 60, k));
                k += 1;
            }
            match connect(config, watch) {
                Err(kind) => Verdict::NoConnection(kind),
                Ok(mut s) => {
                    let sent = big;
                    if s.write_all(&sent).is_err() {
                        Verdict::ClosedEarly {
                            client: 1,
                            message: 1,
                        }
                    } else {
                        match answer(&mut s, config, watch, &sent, 0) {
                            Ok(()) => Verdict::Passed,
                            Err(ending) => single(
                                &ClientRun {
                                    answered: 0,
                                    ending,
                                },
                                config,
                            ),
                        }
                    }
                }
            }
        }
        CheckKind::HalfClose => half_close(config, watch),
        CheckKind::Reconnect => {
            // Five clients leave half-way (one message answered, then gone), then a new one.
            let m = config.messages.max(2);
            for i in 0..5 {
                let _ = converse(config, watch, None, 40 + i, m / 2, usize::MAX);
            }
            std::thread::sleep(Duration::from_millis(100));
            still_serving(config, watch)
        }
    };
    CheckResult {
        kind,
        verdict,
        clients,
        took: started.elapsed(),
    }
}

/// Every chosen check, in order; stops after the class check if nothing is listening.
pub fn run_all(config: &CheckConfig, each: impl FnMut(&CheckResult)) -> Vec<CheckResult> {
    run_watched(config, &Watch::default(), each)
}

fn run_watched(
    config: &CheckConfig,
    watch: &Watch,
    mut each: impl FnMut(&CheckResult),
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for kind in config.checks() {
        if watch.stopped() {
            break;
        }
        watch.send(CheckEvent::Begin(kind));
        let r = check(kind, config, watch);
        if watch.stopped() {
            // Cut short: not a verdict on the server.
            break;
        }
        each(&r);
        watch.send(CheckEvent::Result(r.clone()));
        let stop = matches!(r.verdict, Verdict::NotListening(_));
        out.push(r);
        if stop {
            break;
        }
    }
    out
}
