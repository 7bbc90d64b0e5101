//! An engine's events as a test reads them: one line each in a failure message, and a
//! bounded wait for the one that matters. Every engine sends `Tagged<E>` (`net::engine`), so
//! this is written once for all of them.

use std::time::{Duration, Instant};

use flume::Receiver;
use socket_workbench::net::Tagged;
use socket_workbench::net::engine::{Command, Engine};

/// An event in a few words (bytes shortened).
pub trait Brief {
    fn brief(&self) -> String;
}

/// Bytes as text when short, else their count.
pub fn bytes(data: &[u8]) -> String {
    if data.len() <= 40 {
        format!("{:?}", String::from_utf8_lossy(data))
    } else {
        format!("<{} bytes>", data.len())
    }
}

/// The events, a line each (the last 80).
pub fn listing<'a, E: Brief + 'a>(events: impl IntoIterator<Item = &'a Tagged<E>>) -> String {
    const SHOWN: usize = 80;
    let lines: Vec<String> = events
        .into_iter()
        .map(|m| format!("  [session {}] {}\n", m.session, m.event.brief()))
        .collect();
    let skip = lines.len().saturating_sub(SHOWN);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("  ... {skip} earlier events\n"));
    }
    out.extend(lines.into_iter().skip(skip));
    out
}

/// Receives events until one satisfies `pred`; returns every event seen, the match last.
/// Panics with `what` and the events seen (after `earlier`) when `timeout` passes first.
pub fn wait_for<E: Brief>(
    rx: &Receiver<Tagged<E>>,
    what: &str,
    mut pred: impl FnMut(&E) -> bool,
    timeout: Duration,
    earlier: &[Tagged<E>],
) -> Vec<Tagged<E>> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(msg) => {
                let hit = pred(&msg.event);
                seen.push(msg);
                if hit {
                    return seen;
                }
            }
            Err(err) => panic!(
                "waiting for {what}: {err:?} after {timeout:?}; events seen:\n{}",
                listing(earlier.iter().chain(&seen))
            ),
        }
    }
}

/// `join` on a helper thread, bounded by [`LIMIT`](super::LIMIT): an engine that does not end
/// fails the test instead of hanging it. Returns the events still queued: the worker's last
/// act is sending its last event, so everything it sent is there by now.
pub fn join_bounded<C, I, E>(
    handle: Engine<C, I>,
    rx: &Receiver<Tagged<E>>,
    log: &[Tagged<E>],
) -> Vec<Tagged<E>>
where
    C: Command,
    I: Send + 'static,
    E: Brief,
{
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let joiner = std::thread::spawn(move || {
        handle.join();
        let _ = done_tx.send(());
    });
    if done_rx.recv_timeout(super::LIMIT).is_err() {
        panic!(
            "join did not return within {:?}; events:\n{}",
            super::LIMIT,
            listing(log)
        );
    }
    joiner.join().expect("joiner thread");
    rx.try_iter().collect()
}

/// The session's last event is `what` (matched by `is_end`), and it came exactly once.
pub fn assert_ends_once<E: Brief>(log: &[Tagged<E>], what: &str, is_end: impl Fn(&E) -> bool) {
    let ends: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, m)| is_end(&m.event))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        ends,
        vec![log.len().wrapping_sub(1)],
        "{what} must come exactly once, last; events:\n{}",
        listing(log)
    );
}

/// One engine session and everything it has reported so far: the engine tests' view of any
/// `Engine`. `keep` says which events go into the log (the kernel's view, which comes on a
/// clock of its own, is checked elsewhere and left out of exact sequences).
pub struct Watch<C: Command, I, E> {
    pub handle: Option<Engine<C, I>>,
    pub rx: Receiver<Tagged<E>>,
    pub id: socket_workbench::net::SessionId,
    pub log: Vec<Tagged<E>>,
    keep: fn(&E) -> bool,
}

impl<C, I, E> Watch<C, I, E>
where
    C: Command,
    I: Send + 'static,
    E: Brief + Clone,
{
    pub fn new(handle: Engine<C, I>, rx: Receiver<Tagged<E>>, keep: fn(&E) -> bool) -> Self {
        Self {
            id: handle.session(),
            handle: Some(handle),
            rx,
            log: Vec::new(),
            keep,
        }
    }

    /// Sends a command; the session must still be running.
    pub fn command(&self, command: C) {
        let handle = self.handle.as_ref().expect("not joined yet");
        assert!(
            handle.command(command),
            "the session has already ended; events:\n{}",
            listing(&self.log)
        );
    }

    /// Adds events to the log: each must belong to this session.
    pub fn take(&mut self, msgs: Vec<Tagged<E>>) {
        for msg in &msgs {
            assert_eq!(
                msg.session,
                self.id,
                "event from another session: {}",
                msg.event.brief()
            );
        }
        let keep = self.keep;
        self.log.extend(msgs.into_iter().filter(|m| keep(&m.event)));
    }

    /// Waits (bounded by [`LIMIT`](super::LIMIT)) for an event matching `pred`; returns it.
    pub fn wait(&mut self, what: &str, pred: impl FnMut(&E) -> bool) -> E {
        let seen = wait_for(&self.rx, what, pred, super::LIMIT, &self.log);
        let hit = seen
            .last()
            .expect("wait_for returns the match")
            .event
            .clone();
        self.take(seen);
        hit
    }

    pub fn events(&self) -> impl Iterator<Item = &E> {
        self.log.iter().map(|m| &m.event)
    }

    pub fn position(&self, pred: impl Fn(&E) -> bool) -> Option<usize> {
        self.events().position(pred)
    }

    pub fn has(&self, pred: impl Fn(&E) -> bool) -> bool {
        self.position(pred).is_some()
    }

    /// Joins the engine (bounded), takes what is left, and checks that the event `what`
    /// (matched by `is_end`) came exactly once and last; returns it.
    pub fn join_to_end(&mut self, what: &str, is_end: impl Fn(&E) -> bool) -> E {
        let handle = self.handle.take().expect("joined twice");
        let rest = join_bounded(handle, &self.rx, &self.log);
        self.take(rest);
        assert_ends_once(&self.log, what, is_end);
        self.log.last().expect("an end").event.clone()
    }
}
