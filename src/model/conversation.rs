//! A scripted conversation running in a panel (see `proto::script`): fed with what the
//! panel's connection receives, asked each frame what to send, keeping each step's result.

use std::time::{Duration, SystemTime};

use super::log::{Direction, LogBook, LogNote};
use super::rx::micros;
use crate::proto::frame::Framing;
use crate::proto::script::{Driver, Env, Next, Recorded, Report, Script};

/// Step results kept (the oldest go first; a long repeat keeps its latest rounds).
pub const MAX_REPORTS: usize = 2000;

/// Where a step stands in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Waiting,
    Running,
    Passed,
    Failed,
}

pub struct ConversationRun {
    driver: Driver,
    /// Each step's results as they ended, oldest first.
    pub reports: std::collections::VecDeque<Report>,
    pub dropped_reports: u64,
    random: crate::proto::vars::Random,
    /// The last step each script step ended with (by step index).
    last: Vec<Option<usize>>,
    /// Reports kept so far (`last` holds these numbers; `reports` the latest of them).
    seq: usize,
    paused: bool,
}

impl std::fmt::Debug for ConversationRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversationRun")
            .field("reports", &self.reports.len())
            .finish()
    }
}

impl ConversationRun {
    /// A run of `script`, at once or step by step.
    pub fn new(script: Script, stepping: bool) -> Self {
        let steps = script.steps.len();
        let mut driver = Driver::new(script);
        driver.conversation.set_stepping(stepping);
        Self {
            driver,
            reports: Default::default(),
            dropped_reports: 0,
            random: Box::new(crate::proto::vars::weak_random()),
            last: vec![None; steps],
            seq: 0,
            paused: false,
        }
    }

    pub fn script(&self) -> &Script {
        self.driver.conversation.script()
    }

    /// Bytes one recv() (or datagram) returned.
    pub fn received(&mut self, data: &[u8], at: SystemTime) {
        self.driver.data(data, micros(at));
    }

    /// The connection ended.
    pub fn closed(&mut self, at: SystemTime) {
        self.driver.closed(micros(at));
    }

    /// Step by step: let the next step run.
    pub fn step_once(&mut self) {
        self.driver.conversation.step_once();
    }

    /// Moves the run on: what to send now, and when to look again (none: a message, a step
    /// or nothing is awaited).
    pub fn poll(&mut self, now: SystemTime) -> (Vec<Vec<u8>>, Option<Duration>) {
        let mut sends = Vec::new();
        let local = chrono::DateTime::<chrono::Local>::from(now);
        let wake = loop {
            let mut env = Env {
                now: local.naive_local(),
                unix_ms: u64::try_from(local.timestamp_millis()).unwrap_or(0),
                random: &mut *self.random,
            };
            let next = self.driver.poll(micros(now), &mut env);
            for r in self.driver.conversation.take_reports() {
                self.keep(r);
            }
            match next {
                Next::Send(bytes) => sends.push(bytes),
                Next::Until(t) => {
                    break Some(Duration::from_micros(t.saturating_sub(micros(now))));
                }
                Next::Paused => {
                    self.paused = true;
                    break None;
                }
                Next::Done => break None,
            }
            self.paused = false;
        };
        (sends, wake)
    }

    fn keep(&mut self, r: Report) {
        if let Some(slot) = self.last.get_mut(r.step) {
            *slot = Some(self.seq);
        }
        self.seq += 1;
        self.reports.push_back(r);
        if self.reports.len() > MAX_REPORTS {
            self.reports.pop_front();
            self.dropped_reports += 1;
        }
    }

    /// The last result of step `i`, if it is still kept.
    pub fn last_report(&self, i: usize) -> Option<&Report> {
        let seq = (*self.last.get(i)?)?;
        let first = self.seq - self.reports.len();
        self.reports.get(seq.checked_sub(first)?)
    }

    /// Where step `i` stands.
    pub fn state(&self, i: usize) -> StepState {
        if self.driver.conversation.current() == Some(i) && !self.paused {
            return StepState::Running;
        }
        match self.last_report(i) {
            Some(r) if r.ok() => StepState::Passed,
            Some(_) => StepState::Failed,
            None => StepState::Waiting,
        }
    }

    /// The step about to run or running.
    pub fn current(&self) -> Option<usize> {
        self.driver.conversation.current()
    }

    /// Over (run to the end, or stopped by a failure).
    pub fn done(&self) -> bool {
        self.driver.conversation.is_done()
    }

    /// Expects that held and failed.
    pub fn tally(&self) -> (u64, u64) {
        self.driver.conversation.tally()
    }

    /// Stopped by a failed step.
    pub fn stopped_at(&self) -> Option<usize> {
        self.driver.conversation.stopped_at()
    }

    /// Whether step-by-step is waiting for the next step.
    pub fn waiting_for_step(&self) -> bool {
        self.paused
    }
}

/// The log of the connection open now (or last), as a conversation to record: what was sent,
/// and each message received (its framing's delimiter left out); and how many entries were
/// left out because the log holds them only in part (too big to keep whole).
/// `peer`: only that connection's entries (a server's client).
pub fn recorded_from_log(
    log: &LogBook,
    framing: &Framing,
    peer: Option<u64>,
) -> (Vec<Recorded>, u64) {
    let entries: Vec<_> = log
        .entries()
        .iter()
        .filter(|e| peer.is_none_or(|id| e.peer.is_some_and(|p| p.id == id)))
        .collect();
    // From the last connection's start.
    let start = entries
        .iter()
        .rposition(|e| {
            matches!(
                e.note,
                Some(LogNote::Connected { .. })
                    | Some(LogNote::UdpBound { .. })
                    | Some(LogNote::Accepted)
            )
        })
        .map_or(0, |i| i + 1);
    let mut items = Vec::new();
    let mut partial = 0;
    for e in &entries[start..] {
        if e.len as usize != e.data.len() {
            partial += 1;
            continue;
        }
        match e.dir {
            Direction::Tx => items.push(Recorded::Sent(e.data.to_vec())),
            Direction::Rx => {
                let whole = !matches!(
                    &e.note,
                    Some(LogNote::Rx(rx)) if rx.frame.is_some_and(|(_, complete)| !complete)
                );
                let body = match framing {
                    Framing::Delimiter(d) if whole => {
                        e.data.strip_suffix(d.as_slice()).unwrap_or(&e.data)
                    }
                    _ => &e.data,
                };
                items.push(Recorded::Received(body.to_vec()));
            }
            Direction::Info | Direction::Error => {}
        }
    }
    (items, partial)
}
