//! Scripted conversations: send, expect a reply that matches within a time, capture part of
//! it, use it in the next send. A script is a TOML file a person writes by hand:
//!
//! ```toml
//! version = 1                 # optional
//! frame = "len:2be"           # how replies are cut into messages (the --frame words)
//! encoding = "utf-8"          # for text in sends and expects
//! timeout_ms = 2000           # each expect's, unless it says otherwise
//!
//! [[step]]
//! send_hex = "01 03 00 00 00 02"
//! checksum = "crc16-modbus"   # appended to the send
//!
//! [[step]]
//! expect_regex = '(?s-u)^\x00\x09\x01\x03\x04(?P<reg>.{4})'
//! checksum = "crc16-modbus"   # the reply's checksum must be right too
//! checksum_from = 2
//!
//! [[step]]
//! repeat = 3
//!   [[step.step]]
//!   send = "ECHO {reg} #{counter}\n"
//!   [[step.step]]
//!   expect = "ECHO"
//!   on_fail = "continue"
//! ```
//!
//! Each step has exactly one of `send` (text, variables allowed), `send_hex`, `send_payload`
//! (a library payload by name), `expect` (text the message contains), `expect_exact` (the
//! whole message, as text), `expect_hex` (the whole message, exact bytes), `expect_regex`
//! (named groups become variables for later sends), `expect_any`, `expect_checksum` (any
//! message whose checksum is right), `wait_ms`, or `repeat` (with its own `[[step.step]]`).
//! Optional: `timeout_ms`, `encoding`, `eol`, `checksum` (+ `checksum_order`,
//! `checksum_from`), `vars`, `counter`, `strict`, `on_fail` (`stop` or `continue`), `label`.
//!
//! An expect waits, within its timeout, for a message that matches and passes over those that
//! do not (as the Unix `expect` tool does); with `strict = true` the next message has to
//! match. Messages that arrive while no expect waits are kept for the next one.
//!
//! Pure: [`Conversation`] is a state machine fed with messages and the time; the caller owns
//! the socket.

use std::collections::{HashMap, VecDeque};

use regex::bytes::Regex;
use serde::Deserialize;

use super::checksum::{ByteOrder, Checksum, ChecksumSpec, Verdict};
use super::encoding::TextEncoding;
use super::frame::{DEFAULT_CAP, Frame, Framer, Framing};
use super::library::{Library, Payload};
use super::vars::{Context, CounterSpec};

/// The file format's version.
pub const VERSION: u32 = 1;
/// An expect's timeout when neither it nor the script gives one.
pub const DEFAULT_TIMEOUT_MS: u64 = 2000;
/// Messages kept for the next expect; past this the oldest are dropped (and counted).
pub const INBOX_CAP: usize = 1024;
/// Bytes kept for the next expect, all messages together (each is at most the framing's cap).
pub const INBOX_BYTES: usize = 16 * 1024 * 1024;
/// Passed-over messages kept as an expect's evidence (the rest are counted).
pub const EVIDENCE_CAP: usize = 8;
/// Steps in one script, counting those inside repeats once.
pub const MAX_STEPS: usize = 10_000;
/// Repeats inside repeats.
const MAX_DEPTH: usize = 8;

/// A mistake in a script, with its line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ScriptError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    version: Option<u32>,
    name: Option<String>,
    frame: Option<String>,
    encoding: Option<String>,
    timeout_ms: Option<u64>,
    strict: Option<bool>,
    on_fail: Option<String>,
    #[serde(default)]
    step: Vec<toml::Spanned<StepDef>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StepDef {
    send: Option<String>,
    send_hex: Option<String>,
    send_payload: Option<String>,
    expect: Option<String>,
    expect_exact: Option<String>,
    expect_hex: Option<String>,
    expect_regex: Option<String>,
    expect_any: Option<bool>,
    expect_checksum: Option<String>,
    wait_ms: Option<u64>,
    repeat: Option<u64>,
    #[serde(default)]
    step: Vec<toml::Spanned<StepDef>>,
    timeout_ms: Option<u64>,
    encoding: Option<String>,
    eol: Option<String>,
    checksum: Option<String>,
    checksum_order: Option<String>,
    checksum_from: Option<usize>,
    vars: Option<bool>,
    counter: Option<CounterSpec>,
    strict: Option<bool>,
    on_fail: Option<String>,
    label: Option<String>,
}

/// What a failed expect does to the rest of the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFail {
    Stop,
    Continue,
}

/// What a message must be for an expect to hold.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The message contains these bytes.
    Contains(Vec<u8>),
    /// The message is exactly these bytes.
    Exact(Vec<u8>),
    /// The regular expression matches (over the message decoded from the script's
    /// encoding); its named groups become variables.
    Regex(Regex),
    /// Any message.
    Any,
}

/// One expect: the matcher, and optionally a checksum the message must carry rightly.
#[derive(Debug, Clone)]
pub struct Expect {
    pub matcher: Matcher,
    pub checksum: Option<ChecksumSpec>,
    pub timeout_ms: u64,
    pub strict: bool,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    Send(Box<Payload>),
    Expect(Box<Expect>),
    Wait(u64),
    /// The next `body` steps (those nested, counted all the way down) run `times` times.
    Repeat {
        times: u64,
        body: usize,
    },
}

/// One step, with where it is in the file.
#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    /// Repeats around it.
    pub depth: usize,
    pub kind: StepKind,
    pub on_fail: OnFail,
    pub label: Option<String>,
}

/// A script, read and checked.
#[derive(Debug, Clone)]
pub struct Script {
    pub name: Option<String>,
    pub framing: Framing,
    pub encoding: TextEncoding,
    /// In file order, a repeat's body right after it.
    pub steps: Vec<Step>,
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

fn err(line: usize, message: impl Into<String>) -> ScriptError {
    ScriptError {
        line: Some(line),
        message: message.into(),
    }
}

/// Script-wide defaults a step inherits.
struct Defaults {
    encoding: TextEncoding,
    timeout_ms: u64,
    strict: bool,
    on_fail: OnFail,
}

fn on_fail_of(word: Option<&str>, default: OnFail) -> Result<OnFail, String> {
    match word {
        None => Ok(default),
        Some("stop") => Ok(OnFail::Stop),
        Some("continue") => Ok(OnFail::Continue),
        Some(other) => Err(format!("on_fail is 'stop' or 'continue', not '{other}'")),
    }
}

fn checksum_of(
    name: Option<&str>,
    order: Option<&str>,
    from: Option<usize>,
) -> Result<Option<ChecksumSpec>, String> {
    let Some(name) = name else {
        if order.is_some() || from.is_some() {
            return Err("checksum_order and checksum_from need a checksum".into());
        }
        return Ok(None);
    };
    let algo = Checksum::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Checksum::ALL.iter().map(|c| c.name()).collect();
        format!("unknown checksum '{name}' ({})", names.join(", "))
    })?;
    let mut spec = ChecksumSpec::new(algo);
    match order {
        None => {}
        Some("big") => spec.order = ByteOrder::Big,
        Some("little") => spec.order = ByteOrder::Little,
        Some(other) => return Err(format!("unknown checksum_order '{other}' (big, little)")),
    }
    spec.from = from.unwrap_or(0);
    Ok(Some(spec))
}

impl Script {
    /// Reads a script file's text. `library` resolves `send_payload`. Every step is checked
    /// now — its options, its regex, its variables (a `{name}` must be captured by an
    /// earlier `expect_regex`) — so a mistake is said at once with its line.
    pub fn parse(text: &str, library: Option<&Library>) -> Result<Script, ScriptError> {
        let def: FileDef = toml::from_str(text).map_err(|e| ScriptError {
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_owned(),
        })?;
        if let Some(v) = def.version
            && v != VERSION
        {
            return Err(ScriptError {
                line: None,
                message: format!("version {v} (this program reads version {VERSION})"),
            });
        }
        let top = |m: String| ScriptError {
            line: None,
            message: m,
        };
        let framing = match &def.frame {
            Some(words) => Framing::parse(words).map_err(top)?,
            None => Framing::Recv,
        };
        let encoding = match &def.encoding {
            Some(label) => TextEncoding::from_label(label)
                .ok_or_else(|| top(format!("unknown encoding '{label}'")))?,
            None => TextEncoding::Utf8,
        };
        let defaults = Defaults {
            encoding,
            timeout_ms: def.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
            strict: def.strict.unwrap_or(false),
            on_fail: on_fail_of(def.on_fail.as_deref(), OnFail::Stop).map_err(top)?,
        };
        if def.step.is_empty() {
            return Err(top("the script has no [[step]]".into()));
        }
        let mut steps = Vec::new();
        let mut captures = HashMap::new();
        let mut b = Builder {
            text,
            library,
            defaults: &defaults,
            captures: &mut captures,
        };
        b.steps(&def.step, 0, &mut steps)?;
        Ok(Script {
            name: def.name,
            framing,
            encoding,
            steps,
        })
    }

    /// How many expects the script has (each counted once, however often it repeats).
    pub fn expects(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.kind, StepKind::Expect(_)))
            .count()
    }
}

struct Builder<'a> {
    text: &'a str,
    library: Option<&'a Library>,
    defaults: &'a Defaults,
    /// Names captured by the regexes seen so far (to check later sends' variables).
    captures: &'a mut HashMap<String, Vec<u8>>,
}

impl Builder<'_> {
    fn steps(
        &mut self,
        defs: &[toml::Spanned<StepDef>],
        depth: usize,
        out: &mut Vec<Step>,
    ) -> Result<(), ScriptError> {
        for spanned in defs {
            let line = line_of(self.text, spanned.span().start);
            if out.len() >= MAX_STEPS {
                return Err(err(line, format!("more than {MAX_STEPS} steps")));
            }
            self.step(spanned.get_ref(), line, depth, out)?;
        }
        Ok(())
    }

    fn step(
        &mut self,
        d: &StepDef,
        line: usize,
        depth: usize,
        out: &mut Vec<Step>,
    ) -> Result<(), ScriptError> {
        let e = |m: String| err(line, m);
        let actions = [
            d.send.is_some(),
            d.send_hex.is_some(),
            d.send_payload.is_some(),
            d.expect.is_some(),
            d.expect_exact.is_some(),
            d.expect_hex.is_some(),
            d.expect_regex.is_some(),
            d.expect_any == Some(true),
            d.expect_checksum.is_some(),
            d.wait_ms.is_some(),
            d.repeat.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if actions != 1 {
            return Err(e(format!(
                "a step has exactly one of send, send_hex, send_payload, expect, expect_exact, \
                 expect_hex, expect_regex, expect_any, expect_checksum, wait_ms, repeat \
                 (this one has {actions})"
            )));
        }
        if !d.step.is_empty() && d.repeat.is_none() {
            return Err(e("only a repeat step has steps inside it".into()));
        }
        let encoding = match &d.encoding {
            Some(label) => TextEncoding::from_label(label)
                .ok_or_else(|| e(format!("unknown encoding '{label}'")))?,
            None => self.defaults.encoding,
        };
        let on_fail = on_fail_of(d.on_fail.as_deref(), self.defaults.on_fail).map_err(e)?;
        if d.checksum.is_some() && d.expect_checksum.is_some() {
            return Err(e("expect_checksum already names the checksum".into()));
        }
        let checksum = checksum_of(
            d.checksum.as_deref().or(d.expect_checksum.as_deref()),
            d.checksum_order.as_deref(),
            d.checksum_from,
        )
        .map_err(e)?;
        let is_send = d.send.is_some() || d.send_hex.is_some() || d.send_payload.is_some();
        let is_expect = d.expect.is_some()
            || d.expect_exact.is_some()
            || d.expect_hex.is_some()
            || d.expect_regex.is_some()
            || d.expect_any == Some(true)
            || d.expect_checksum.is_some();
        let misplaced = |key: &str, ok: bool| -> Result<(), ScriptError> {
            if ok {
                Ok(())
            } else {
                Err(e(format!("'{key}' does not apply to this kind of step")))
            }
        };
        if d.eol.is_some() {
            misplaced("eol", d.send.is_some())?;
        }
        if d.vars.is_some() {
            misplaced("vars", d.send.is_some() || d.send_hex.is_some())?;
        }
        if d.counter.is_some() {
            misplaced("counter", d.send.is_some() || d.send_hex.is_some())?;
        }
        if d.timeout_ms.is_some() {
            misplaced("timeout_ms", is_expect)?;
        }
        if d.strict.is_some() {
            misplaced("strict", is_expect)?;
        }
        if checksum.is_some() {
            misplaced("checksum", is_send || is_expect)?;
        }
        let kind = if is_send {
            let payload = if let Some(name) = &d.send_payload {
                if checksum.is_some() {
                    return Err(e(
                        "a library payload carries its own checksum: set it there".into(),
                    ));
                }
                let lib = self.library.ok_or_else(|| {
                    e(format!(
                        "send_payload '{name}' needs a payload library (--payloads FILE)"
                    ))
                })?;
                lib.find(name).map_err(|le| e(le.message))?.clone()
            } else {
                Payload {
                    name: String::new(),
                    text: d.send.clone(),
                    hex: d.send_hex.clone(),
                    encoding: Some(encoding.label().to_owned()),
                    eol: d.eol.clone(),
                    checksum: d.checksum.clone(),
                    checksum_order: d.checksum_order.clone(),
                    checksum_from: d.checksum_from,
                    vars: d.vars.unwrap_or(true),
                    counter: d.counter,
                    note: None,
                }
            };
            // A dry run: the payload's options and variables, with the captures named so far.
            let mut random = |buf: &mut [u8]| buf.fill(0);
            let mut ctx = Context {
                counter: 0,
                counter_spec: payload.counter(),
                now: chrono::NaiveDateTime::default(),
                unix_ms: 0,
                random: &mut random,
                captures: self.captures,
            };
            payload.build(encoding, &mut ctx).map_err(|le| {
                let hint = if le.message.contains("unknown variable") {
                    " (a name must be captured by an earlier expect_regex's (?P<name>…))"
                } else {
                    ""
                };
                e(format!("{}{hint}", le.message))
            })?;
            StepKind::Send(Box::new(payload))
        } else if is_expect {
            let text = |t: &str| {
                encoding
                    .encode(t)
                    .map_err(|x| e(format!("'{t}' in {}: {x}", encoding.label())))
            };
            let matcher = if let Some(t) = &d.expect {
                Matcher::Contains(text(t)?)
            } else if let Some(t) = &d.expect_exact {
                Matcher::Exact(text(t)?)
            } else if let Some(h) = &d.expect_hex {
                Matcher::Exact(super::hex::parse_hex(h).map_err(|x| e(x.to_string()))?)
            } else if let Some(r) = &d.expect_regex {
                let re = regex::bytes::RegexBuilder::new(r)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|x| e(format!("expect_regex: {x}")))?;
                for name in re.capture_names().flatten() {
                    self.captures.insert(name.to_owned(), Vec::new());
                }
                Matcher::Regex(re)
            } else {
                Matcher::Any
            };
            StepKind::Expect(Box::new(Expect {
                matcher,
                checksum,
                timeout_ms: d.timeout_ms.unwrap_or(self.defaults.timeout_ms),
                strict: d.strict.unwrap_or(self.defaults.strict),
            }))
        } else if let Some(ms) = d.wait_ms {
            StepKind::Wait(ms)
        } else {
            let times = d.repeat.unwrap_or(0);
            if depth >= MAX_DEPTH {
                return Err(e(format!("repeats nest at most {MAX_DEPTH} deep")));
            }
            if d.step.is_empty() {
                return Err(e(
                    "a repeat needs the steps to repeat, as [[step.step]] tables".into(),
                ));
            }
            let at = out.len();
            out.push(Step {
                line,
                depth,
                kind: StepKind::Repeat { times, body: 0 },
                on_fail,
                label: d.label.clone(),
            });
            self.steps(&d.step, depth + 1, out)?;
            let body = out.len() - at - 1;
            out[at].kind = StepKind::Repeat { times, body };
            return Ok(());
        };
        out.push(Step {
            line,
            depth,
            kind,
            on_fail,
            label: d.label.clone(),
        });
        Ok(())
    }
}

impl Matcher {
    /// Whether `msg` matches; a regex's named groups go into `captures`.
    fn matches(
        &self,
        msg: &[u8],
        encoding: TextEncoding,
        captures: &mut Vec<(String, Vec<u8>)>,
    ) -> bool {
        match self {
            Matcher::Contains(want) => {
                want.is_empty() || msg.windows(want.len()).any(|w| w == want.as_slice())
            }
            Matcher::Exact(want) => msg == want.as_slice(),
            Matcher::Any => true,
            Matcher::Regex(re) => {
                // UTF-8 (and binary) messages are matched as they are; others are decoded
                // first, and what a group captured goes back into the script's encoding.
                let decoded;
                let hay: &[u8] = if encoding == TextEncoding::Utf8 {
                    msg
                } else {
                    decoded = encoding.decode_display(msg).into_bytes();
                    &decoded
                };
                let Some(caps) = re.captures(hay) else {
                    return false;
                };
                for name in re.capture_names().flatten() {
                    let value = caps.name(name).map(|m| m.as_bytes()).unwrap_or_default();
                    let value = if encoding == TextEncoding::Utf8 {
                        value.to_vec()
                    } else {
                        encoding
                            .encode(&String::from_utf8_lossy(value))
                            .unwrap_or_else(|_| value.to_vec())
                    };
                    captures.push((name.to_owned(), value));
                }
                true
            }
        }
    }
}

/// A received message, with when it arrived (microseconds on the caller's clock).
#[derive(Debug, Clone)]
struct Incoming {
    bytes: Vec<u8>,
    complete: bool,
    at_us: u64,
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No matching message within the timeout.
    Timeout { ms: u64 },
    /// The next message did not match (a strict expect).
    Mismatch,
    /// The peer closed (or the connection failed) before a matching message.
    Closed,
    /// A send's variable had no value (a capture that did not happen).
    Variable(String),
}

/// What happened to a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Waited { ms: u64 },
    Matched,
    Failed(Failure),
}

/// One step's result, handed to the caller as it happens.
#[derive(Debug, Clone)]
pub struct Report {
    /// The step's index in [`Script::steps`].
    pub step: usize,
    pub line: usize,
    /// The innermost repeat's round (1-based), when inside a repeat.
    pub round: Option<u64>,
    pub outcome: Outcome,
    /// What was sent (a send step).
    pub sent: Option<Vec<u8>>,
    /// What the expect wanted (the caller puts it in words).
    pub expected: Option<Expect>,
    /// The message that matched, or for a strict failure the one that did not.
    pub got: Option<Vec<u8>>,
    /// The checksum the expect names, and its verdict on `got`.
    pub checksum: Option<ChecksumSpec>,
    pub verdict: Option<Verdict>,
    /// Messages an expect passed over (the first few; `passed_over_count` counts them all).
    pub passed_over: Vec<Vec<u8>>,
    pub passed_over_count: u64,
    /// From the last send to the matching message.
    pub rtt_us: Option<u64>,
    pub captured: Vec<(String, Vec<u8>)>,
    /// When the step ended (the caller's clock).
    pub at_us: u64,
}

impl Report {
    fn new(step: usize, line: usize, round: Option<u64>, outcome: Outcome, at_us: u64) -> Self {
        Report {
            step,
            line,
            round,
            outcome,
            sent: None,
            expected: None,
            got: None,
            checksum: None,
            verdict: None,
            passed_over: Vec::new(),
            passed_over_count: 0,
            rtt_us: None,
            captured: Vec::new(),
            at_us,
        }
    }

    /// Whether the step held (a failed one did not).
    pub fn ok(&self) -> bool {
        !matches!(self.outcome, Outcome::Failed(_))
    }
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send these bytes, then poll again.
    Send(Vec<u8>),
    /// Nothing to do until this time (or a message, or the connection closing).
    Until(u64),
    /// Step by step: waiting for [`Conversation::step_once`].
    Paused,
    /// The conversation is over.
    Done,
}

/// What the caller's world supplies for a send: the time and random bytes.
pub struct Env<'a> {
    pub now: chrono::NaiveDateTime,
    pub unix_ms: u64,
    pub random: &'a mut dyn FnMut(&mut [u8]),
}

#[derive(Debug, Clone)]
enum Phase {
    /// About to start the step at `pc`.
    Ready,
    Waiting {
        until: u64,
    },
    Expecting {
        until: u64,
        passed_over: Vec<Vec<u8>>,
        count: u64,
    },
}

#[derive(Debug, Clone)]
struct Round {
    start: usize,
    end: usize,
    times: u64,
    round: u64,
}

/// A script running: fed with messages and the time, it says what to send and reports each
/// step as it ends.
#[derive(Debug)]
pub struct Conversation {
    script: Script,
    pc: usize,
    rounds: Vec<Round>,
    phase: Phase,
    inbox: VecDeque<Incoming>,
    inbox_bytes: usize,
    /// Messages dropped because the inbox was full.
    pub dropped: u64,
    captures: HashMap<String, Vec<u8>>,
    sends: HashMap<usize, u64>,
    last_send_us: Option<u64>,
    closed: bool,
    stepping: bool,
    allowance: u32,
    reports: Vec<Report>,
    passed: u64,
    failed: u64,
    done: bool,
    stopped_at: Option<usize>,
}

impl Conversation {
    pub fn new(script: Script) -> Self {
        Conversation {
            script,
            pc: 0,
            rounds: Vec::new(),
            phase: Phase::Ready,
            inbox: VecDeque::new(),
            inbox_bytes: 0,
            dropped: 0,
            captures: HashMap::new(),
            sends: HashMap::new(),
            last_send_us: None,
            closed: false,
            stepping: false,
            allowance: 0,
            reports: Vec::new(),
            passed: 0,
            failed: 0,
            done: false,
            stopped_at: None,
        }
    }

    pub fn script(&self) -> &Script {
        &self.script
    }

    /// Step by step: each step waits for [`Self::step_once`].
    pub fn set_stepping(&mut self, on: bool) {
        self.stepping = on;
    }

    /// Lets the next step run (step by step).
    pub fn step_once(&mut self) {
        self.allowance = self.allowance.saturating_add(1);
    }

    /// The step about to run or running (none when done).
    pub fn current(&self) -> Option<usize> {
        (!self.done && self.pc < self.script.steps.len()).then_some(self.pc)
    }

    /// A message as framed, arrived at `at_us`.
    pub fn received(&mut self, bytes: Vec<u8>, complete: bool, at_us: u64) {
        self.inbox_bytes += bytes.len();
        while self.inbox.len() >= INBOX_CAP || self.inbox_bytes > INBOX_BYTES {
            let Some(old) = self.inbox.pop_front() else {
                break;
            };
            self.inbox_bytes -= old.bytes.len();
            self.dropped += 1;
        }
        self.inbox.push_back(Incoming {
            bytes,
            complete,
            at_us,
        });
    }

    /// The connection closed: expects that find no message fail at once.
    pub fn closed(&mut self) {
        self.closed = true;
    }

    /// The steps' reports since the last call.
    pub fn take_reports(&mut self) -> Vec<Report> {
        std::mem::take(&mut self.reports)
    }

    /// Expects that held and failed so far.
    pub fn tally(&self) -> (u64, u64) {
        (self.passed, self.failed)
    }

    /// Over: run to the end, or stopped by a failure.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The step a failure stopped the conversation at.
    pub fn stopped_at(&self) -> Option<usize> {
        self.stopped_at
    }

    /// Run to the end (not stopped by a failure, not cut short).
    pub fn finished(&self) -> bool {
        self.done && self.stopped_at.is_none()
    }

    fn round(&self) -> Option<u64> {
        self.rounds.last().map(|r| r.round)
    }

    fn end_step(&mut self, mut report: Report) {
        let step = &self.script.steps[self.pc];
        let failed = !report.ok();
        if matches!(step.kind, StepKind::Expect(_)) {
            if failed {
                self.failed += 1;
            } else {
                self.passed += 1;
            }
        }
        report.step = self.pc;
        self.reports.push(report);
        self.phase = Phase::Ready;
        if failed && step.on_fail == OnFail::Stop {
            self.done = true;
            self.stopped_at = Some(self.pc);
        } else {
            self.pc += 1;
        }
    }

    /// Moves the conversation on at `now_us`: what to do next.
    pub fn poll(&mut self, now_us: u64, env: &mut Env<'_>) -> Next {
        loop {
            if self.done {
                return Next::Done;
            }
            // The end of a repeat's body: the next round, or on past it.
            if let Some(r) = self.rounds.last_mut()
                && self.pc >= r.end
            {
                if r.round < r.times {
                    r.round += 1;
                    self.pc = r.start;
                } else {
                    self.pc = r.end;
                    self.rounds.pop();
                }
                continue;
            }
            if self.pc >= self.script.steps.len() {
                self.done = true;
                return Next::Done;
            }
            if matches!(self.phase, Phase::Ready) {
                let is_repeat = matches!(self.script.steps[self.pc].kind, StepKind::Repeat { .. });
                if self.stepping && !is_repeat {
                    if self.allowance == 0 {
                        return Next::Paused;
                    }
                    self.allowance -= 1;
                }
            }
            let step = self.script.steps[self.pc].clone();
            let round = self.round();
            match (&step.kind, self.phase.clone()) {
                (StepKind::Repeat { times, body }, _) => {
                    if *times == 0 {
                        self.pc += 1 + body;
                    } else {
                        self.rounds.push(Round {
                            start: self.pc + 1,
                            end: self.pc + 1 + body,
                            times: *times,
                            round: 1,
                        });
                        self.pc += 1;
                    }
                }
                (StepKind::Send(payload), _) => {
                    if self.closed {
                        let r = Report::new(
                            self.pc,
                            step.line,
                            round,
                            Outcome::Failed(Failure::Closed),
                            now_us,
                        );
                        self.end_step(r);
                        continue;
                    }
                    let n = self.sends.entry(self.pc).or_insert(0);
                    let mut ctx = Context {
                        counter: payload.counter().value(*n),
                        counter_spec: payload.counter(),
                        now: env.now,
                        unix_ms: env.unix_ms,
                        random: &mut *env.random,
                        captures: &self.captures,
                    };
                    *n += 1;
                    match payload.build(self.script.encoding, &mut ctx) {
                        Ok(bytes) => {
                            let mut r =
                                Report::new(self.pc, step.line, round, Outcome::Sent, now_us);
                            r.sent = Some(bytes.clone());
                            self.last_send_us = Some(now_us);
                            self.end_step(r);
                            return Next::Send(bytes);
                        }
                        Err(e) => {
                            let r = Report::new(
                                self.pc,
                                step.line,
                                round,
                                Outcome::Failed(Failure::Variable(e.message)),
                                now_us,
                            );
                            // A send that cannot be built ends the script: what follows
                            // depends on it.
                            let at = self.pc;
                            self.end_step(r);
                            self.done = true;
                            self.stopped_at = Some(at);
                        }
                    }
                }
                (StepKind::Wait(ms), Phase::Ready) => {
                    let until = now_us.saturating_add(ms.saturating_mul(1000));
                    self.phase = Phase::Waiting { until };
                }
                (StepKind::Wait(ms), Phase::Waiting { until }) => {
                    if now_us < until {
                        return Next::Until(until);
                    }
                    let r = Report::new(
                        self.pc,
                        step.line,
                        round,
                        Outcome::Waited { ms: *ms },
                        now_us,
                    );
                    self.end_step(r);
                }
                (StepKind::Expect(x), Phase::Ready) => {
                    let until = now_us.saturating_add(x.timeout_ms.saturating_mul(1000));
                    self.phase = Phase::Expecting {
                        until,
                        passed_over: Vec::new(),
                        count: 0,
                    };
                }
                (
                    StepKind::Expect(x),
                    Phase::Expecting {
                        until,
                        mut passed_over,
                        mut count,
                    },
                ) => {
                    let enc = self.script.encoding;
                    let (pc, line) = (self.pc, step.line);
                    let report = |outcome, got: Option<Vec<u8>>, at_us| {
                        let mut r = Report::new(pc, line, round, outcome, at_us);
                        r.expected = Some((**x).clone());
                        r.checksum = x.checksum;
                        r.verdict = match (&x.checksum, &got) {
                            (Some(c), Some(g)) => Some(c.verify(g)),
                            _ => None,
                        };
                        r.got = got;
                        r
                    };
                    let mut ended = None;
                    while let Some(msg) = self.inbox.pop_front() {
                        self.inbox_bytes -= msg.bytes.len();
                        let mut caps = Vec::new();
                        let holds = msg.complete
                            && x.matcher.matches(&msg.bytes, enc, &mut caps)
                            && x.checksum
                                .as_ref()
                                .is_none_or(|c| c.verify(&msg.bytes) == Verdict::Ok);
                        if holds {
                            let mut r = report(Outcome::Matched, Some(msg.bytes), msg.at_us);
                            r.rtt_us = self
                                .last_send_us
                                .filter(|s| *s <= msg.at_us)
                                .map(|s| msg.at_us - s);
                            r.passed_over = std::mem::take(&mut passed_over);
                            r.passed_over_count = count;
                            for (name, value) in &caps {
                                self.captures.insert(name.clone(), value.clone());
                            }
                            r.captured = caps;
                            ended = Some(r);
                            break;
                        }
                        if x.strict {
                            let mut r = report(
                                Outcome::Failed(Failure::Mismatch),
                                Some(msg.bytes),
                                msg.at_us,
                            );
                            r.passed_over = std::mem::take(&mut passed_over);
                            r.passed_over_count = count;
                            ended = Some(r);
                            break;
                        }
                        count += 1;
                        if passed_over.len() < EVIDENCE_CAP {
                            passed_over.push(msg.bytes);
                        }
                    }
                    if let Some(r) = ended {
                        self.end_step(r);
                        continue;
                    }
                    let fail = if self.closed {
                        Some(Failure::Closed)
                    } else if now_us >= until {
                        Some(Failure::Timeout { ms: x.timeout_ms })
                    } else {
                        None
                    };
                    match fail {
                        Some(f) => {
                            // The last message passed over is what came instead.
                            let got = passed_over.last().cloned();
                            let mut r = report(Outcome::Failed(f), got, now_us);
                            r.passed_over = passed_over;
                            r.passed_over_count = count;
                            self.end_step(r);
                        }
                        None => {
                            self.phase = Phase::Expecting {
                                until,
                                passed_over,
                                count,
                            };
                            return Next::Until(until);
                        }
                    }
                }
                (StepKind::Wait(_), Phase::Expecting { .. })
                | (StepKind::Expect(_), Phase::Waiting { .. }) => {
                    // Cannot be: a phase belongs to the step that set it.
                    self.phase = Phase::Ready;
                }
            }
        }
    }

    /// Whether every expect held (meaningful once done).
    pub fn passed(&self) -> bool {
        self.failed == 0
    }
}

/// A conversation over a byte stream or datagrams: the script's framing cuts what arrives
/// into the messages its expects look at (the delimiter left out).
#[derive(Debug)]
pub struct Driver {
    pub conversation: Conversation,
    framer: Framer,
}

impl Driver {
    pub fn new(script: Script) -> Self {
        let framer = Framer::new(script.framing.clone(), DEFAULT_CAP);
        Driver {
            conversation: Conversation::new(script),
            framer,
        }
    }

    /// Bytes one `recv()` (or one datagram) returned, at `now_us`.
    pub fn data(&mut self, bytes: &[u8], now_us: u64) {
        for frame in self.framer.push(bytes, now_us) {
            self.deliver(&frame, now_us);
        }
    }

    fn deliver(&mut self, frame: &Frame, now_us: u64) {
        let body = frame.body(self.framer.framing()).to_vec();
        self.conversation.received(body, frame.complete, now_us);
    }

    /// The connection ended: what the framer holds is handed on, then expects that find
    /// nothing fail.
    pub fn closed(&mut self, now_us: u64) {
        if let Some(frame) = self.framer.finish() {
            self.deliver(&frame, now_us);
        }
        self.conversation.closed();
    }

    /// What to do next (a pause that ends a message counts as a time to come back).
    pub fn poll(&mut self, now_us: u64, env: &mut Env<'_>) -> Next {
        if let Some(frame) = self.framer.tick(now_us) {
            self.deliver(&frame, now_us);
        }
        match self.conversation.poll(now_us, env) {
            Next::Until(t) => Next::Until(self.framer.due().map_or(t, |d| d.min(t))),
            other => other,
        }
    }
}

/// One item of a conversation to record: what was sent, or a message received.
#[derive(Debug, Clone)]
pub enum Recorded {
    Sent(Vec<u8>),
    Received(Vec<u8>),
}

/// Text that reads back as these bytes in `encoding`, when they are printable text.
pub fn as_text(bytes: &[u8], encoding: TextEncoding) -> Option<String> {
    let mut text = String::new();
    for segment in encoding.decode_segments(bytes) {
        match segment {
            super::encoding::Segment::Text(t) => text.push_str(&t),
            super::encoding::Segment::Invalid(_) => return None,
        }
    }
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
    (printable && !text.is_empty()).then_some(text)
}

/// A TOML basic string on one line: `"PING 1\n"`, as a person would write it.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Turns a conversation into a script: sends become send steps, messages received become
/// expect steps, exact (`expect_exact` for text, `expect_hex` for bytes), to loosen by hand
/// into `expect` or `expect_regex`. `header` goes at the top as comment lines.
pub fn record(
    items: &[Recorded],
    framing: &Framing,
    encoding: TextEncoding,
    header: &[String],
) -> String {
    let mut out = String::new();
    for line in header {
        out.push_str(&format!("# {line}\n"));
    }
    out.push_str(&format!(
        "version = {VERSION}\nframe = {}\nencoding = {}\n",
        toml_str(&framing.words()),
        toml_str(encoding.label())
    ));
    for item in items {
        out.push_str("\n[[step]]\n");
        match item {
            Recorded::Sent(bytes) => match as_text(bytes, encoding) {
                Some(text) => {
                    out.push_str(&format!("send = {}\n", toml_str(&text)));
                    if text.contains('{') {
                        out.push_str("vars = false\n");
                    }
                }
                None => out.push_str(&format!(
                    "send_hex = {}\n",
                    toml_str(&super::hex::format_hex(bytes))
                )),
            },
            Recorded::Received(bytes) => match as_text(bytes, encoding) {
                Some(text) => out.push_str(&format!("expect_exact = {}\n", toml_str(&text))),
                None => out.push_str(&format!(
                    "expect_hex = {}\n",
                    toml_str(&super::hex::format_hex(bytes))
                )),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_run(conv: &mut Conversation, now: u64) -> Next {
        let mut random = |b: &mut [u8]| b.fill(7);
        let mut env = Env {
            now: chrono::NaiveDateTime::default(),
            unix_ms: 0,
            random: &mut random,
        };
        conv.poll(now, &mut env)
    }

    fn parse(text: &str) -> Script {
        Script::parse(text, None).unwrap()
    }

    #[test]
    fn reads_the_module_example() {
        let text = r#"
frame = "len:2be"
timeout_ms = 500

[[step]]
send_hex = "01 03 00 00 00 02"
checksum = "crc16-modbus"

[[step]]
expect_regex = '(?s-u)^\x00\x09\x01\x03\x04(?P<reg>.{4})'
checksum = "crc16-modbus"
checksum_from = 2

[[step]]
repeat = 3
  [[step.step]]
  send = "ECHO {reg} #{counter}\n"
  [[step.step]]
  expect = "ECHO"
  on_fail = "continue"
"#;
        let s = parse(text);
        assert_eq!(s.steps.len(), 5);
        assert_eq!(s.steps[0].line, 5);
        assert!(matches!(
            s.steps[2].kind,
            StepKind::Repeat { times: 3, body: 2 }
        ));
        assert_eq!(s.steps[3].depth, 1);
        assert_eq!(s.steps[4].on_fail, OnFail::Continue);
        assert_eq!(s.expects(), 2);
    }

    #[test]
    fn mistakes_are_said_with_their_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("[[step]]\nsend = \"a\"\nexpect = \"b\"\n", 1, "exactly one"),
            (
                "[[step]]\nsend = \"a\"\n\n[[step]]\nexpect_regex = \"(\"\n",
                4,
                "regex",
            ),
            ("[[step]]\nsend = \"{nope}\"\n", 1, "unknown variable"),
            ("[[step]]\nsend = \"a\"\ntimeout_ms = 5\n", 1, "timeout_ms"),
            (
                "[[step]]\nexpect = \"a\"\non_fail = \"maybe\"\n",
                1,
                "on_fail",
            ),
            (
                "[[step]]\nsend = \"a\"\nchecksum = \"crc99\"\n",
                1,
                "unknown checksum",
            ),
            ("[[step]]\nsend = \"a\"\nbogus = 1\n", 3, "bogus"),
            ("[[step]]\nrepeat = 2\n", 1, "needs the steps"),
        ];
        for (text, line, words) in cases {
            let e = Script::parse(text, None).unwrap_err();
            assert_eq!(e.line, Some(*line), "{text}: {e}");
            assert!(e.message.contains(words), "{text}: {e}");
        }
        assert!(Script::parse("frame = \"len:9\"\n[[step]]\nsend = \"a\"\n", None).is_err());
        assert!(Script::parse("version = 1\n", None).is_err());
        // A capture from an earlier regex is a known variable.
        parse("[[step]]\nexpect_regex = '(?P<id>\\d+)'\n[[step]]\nsend = \"id={id}\"\n");
        // A JSON body goes as typed.
        parse("[[step]]\nsend = '{\"a\": 1}'\n");
    }

    #[test]
    fn sends_expects_and_captures() {
        let s = parse(
            "[[step]]\nsend = \"LOGIN\\n\"\n[[step]]\nexpect_regex = 'TOKEN (?P<t>\\w+)'\n\
             [[step]]\nsend = \"USE {t}\\n\"\n",
        );
        let mut c = Conversation::new(s);
        assert_eq!(env_run(&mut c, 0), Next::Send(b"LOGIN\n".to_vec()));
        assert!(matches!(env_run(&mut c, 10), Next::Until(_)));
        c.received(b"HELLO\n".to_vec(), true, 15);
        c.received(b"TOKEN abc42\n".to_vec(), true, 20);
        assert_eq!(env_run(&mut c, 21), Next::Send(b"USE abc42\n".to_vec()));
        assert_eq!(env_run(&mut c, 22), Next::Done);
        let reports = c.take_reports();
        assert_eq!(reports.len(), 3);
        assert_eq!(reports[1].rtt_us, Some(20));
        assert_eq!(reports[1].passed_over, vec![b"HELLO\n".to_vec()]);
        assert_eq!(reports[1].captured, vec![("t".into(), b"abc42".to_vec())]);
        assert!(c.passed());
    }

    #[test]
    fn a_timeout_fails_with_what_came_instead_and_stops() {
        let s = parse("timeout_ms = 100\n[[step]]\nexpect = \"OK\"\n[[step]]\nsend = \"never\"\n");
        let mut c = Conversation::new(s);
        assert_eq!(env_run(&mut c, 0), Next::Until(100_000));
        c.received(b"ERR\n".to_vec(), true, 50);
        assert_eq!(env_run(&mut c, 60), Next::Until(100_000));
        assert_eq!(env_run(&mut c, 100_000), Next::Done);
        let r = c.take_reports();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].outcome, Outcome::Failed(Failure::Timeout { ms: 100 }));
        assert_eq!(r[0].got.as_deref(), Some(&b"ERR\n"[..]));
        assert!(!c.passed());
    }

    #[test]
    fn strict_fails_on_the_next_message_and_continue_goes_on() {
        let s = parse(
            "strict = true\non_fail = \"continue\"\n[[step]]\nexpect = \"A\"\n\
             [[step]]\nexpect = \"B\"\n",
        );
        let mut c = Conversation::new(s);
        c.received(b"X".to_vec(), true, 1);
        c.received(b"B".to_vec(), true, 2);
        assert_eq!(env_run(&mut c, 3), Next::Done);
        let r = c.take_reports();
        assert_eq!(r[0].outcome, Outcome::Failed(Failure::Mismatch));
        assert_eq!(r[1].outcome, Outcome::Matched);
        assert_eq!(c.tally(), (1, 1));
    }

    #[test]
    fn repeats_count_rounds_and_counters() {
        let s = parse(
            "[[step]]\nrepeat = 3\n[[step.step]]\nsend = \"n{counter}\"\n\
             [[step.step]]\nexpect_any = true\n[[step]]\nsend = \"end\"\n",
        );
        let mut c = Conversation::new(s);
        let mut sent = Vec::new();
        for t in 0..20 {
            match env_run(&mut c, t) {
                Next::Send(b) => {
                    sent.push(String::from_utf8(b).unwrap());
                    c.received(b"ok".to_vec(), true, t);
                }
                Next::Done => break,
                _ => {}
            }
        }
        assert_eq!(sent, ["n1", "n2", "n3", "end"]);
        let rounds: Vec<_> = c.take_reports().iter().map(|r| r.round).collect();
        assert_eq!(
            rounds,
            [Some(1), Some(1), Some(2), Some(2), Some(3), Some(3), None]
        );
    }

    #[test]
    fn checksums_on_expects() {
        use super::super::checksum::Checksum;
        let good = ChecksumSpec::new(Checksum::Crc16Modbus).append(b"\x01\x03\x02\x00\x2a");
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 0xff;
        let s = parse("timeout_ms = 10\n[[step]]\nexpect_checksum = \"crc16-modbus\"\n");
        let mut c = Conversation::new(s.clone());
        c.received(bad.clone(), true, 1);
        env_run(&mut c, 1);
        assert_eq!(env_run(&mut c, 20_000), Next::Done);
        let r = c.take_reports();
        assert!(matches!(r[0].verdict, Some(Verdict::Wrong { .. })));
        let mut c = Conversation::new(s);
        c.received(bad, true, 1);
        c.received(good, true, 2);
        assert_eq!(env_run(&mut c, 3), Next::Done);
        assert!(c.passed());
    }

    #[test]
    fn closing_fails_waiting_expects_and_later_sends() {
        let s =
            parse("on_fail = \"continue\"\n[[step]]\nexpect_any = true\n[[step]]\nsend = \"x\"\n");
        let mut c = Conversation::new(s);
        assert!(matches!(env_run(&mut c, 0), Next::Until(_)));
        c.closed();
        assert_eq!(env_run(&mut c, 1), Next::Done);
        let r = c.take_reports();
        assert_eq!(r[0].outcome, Outcome::Failed(Failure::Closed));
        assert_eq!(r[1].outcome, Outcome::Failed(Failure::Closed));
    }

    #[test]
    fn step_by_step_waits_for_each_step() {
        let s = parse("[[step]]\nsend = \"a\"\n[[step]]\nwait_ms = 1\n");
        let mut c = Conversation::new(s);
        c.set_stepping(true);
        assert_eq!(env_run(&mut c, 0), Next::Paused);
        c.step_once();
        assert_eq!(env_run(&mut c, 0), Next::Send(b"a".to_vec()));
        assert_eq!(env_run(&mut c, 0), Next::Paused);
        c.step_once();
        assert_eq!(env_run(&mut c, 0), Next::Until(1000));
        assert_eq!(env_run(&mut c, 1000), Next::Done);
    }

    #[test]
    fn the_inbox_is_bounded() {
        let s = parse("[[step]]\nwait_ms = 1\n");
        let mut c = Conversation::new(s);
        for i in 0..(INBOX_CAP + 10) {
            c.received(vec![i as u8], true, 0);
        }
        assert_eq!(c.inbox.len(), INBOX_CAP);
        assert_eq!(c.dropped, 10);
        // Big messages: bounded by bytes too.
        for _ in 0..40 {
            c.received(vec![0; 1024 * 1024], true, 0);
        }
        assert!(c.inbox_bytes <= INBOX_BYTES);
        assert_eq!(
            c.inbox_bytes,
            c.inbox.iter().map(|m| m.bytes.len()).sum::<usize>()
        );
    }

    #[test]
    fn a_recording_replays() {
        let items = [
            Recorded::Sent(b"GET {x}\n".to_vec()),
            Recorded::Received(b"VALUE 1\n".to_vec()),
            Recorded::Sent(vec![0, 1, 0xff]),
            Recorded::Received(vec![0xfe, 0]),
        ];
        let text = record(
            &items,
            &Framing::Delimiter(b"\n".to_vec()),
            TextEncoding::Utf8,
            &["recorded".into()],
        );
        let s = parse(&text);
        let mut c = Conversation::new(s);
        assert_eq!(env_run(&mut c, 0), Next::Send(b"GET {x}\n".to_vec()));
        c.received(b"VALUE 1\n".to_vec(), true, 1);
        assert_eq!(env_run(&mut c, 2), Next::Send(vec![0, 1, 0xff]));
        c.received(vec![0xfe, 0], true, 3);
        assert_eq!(env_run(&mut c, 4), Next::Done);
        assert!(c.passed(), "{text}");
    }
}
