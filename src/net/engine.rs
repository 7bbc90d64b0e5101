//! The one shape every engine has: commands in, session-tagged events out.
//!
//! An engine is a worker thread started by [`spawn`]. The caller gets an [`Engine`]: the
//! session id, [`Engine::command`] to send it commands, [`Engine::stop`] (or a cloneable
//! [`Stopper`] for a signal handler), and [`Engine::join`], which stops and waits. The worker
//! gets an [`Emitter`] that tags each event with the session and wakes the UI through the
//! flood-coalescing [`Waker`], and a [`Control`]: the receiving end of its inputs and the stop
//! flag.
//!
//! Stopping does three things, so every kind of worker hears it: it sets the stop flag (for
//! loops that poll, like the checkers and the load generator), sends the engine's own stop
//! command ([`Command::stop`], for workers that wait on their inputs), and pokes the worker's
//! readiness loop if it has one (a `mio::Waker`).
//!
//! Dropping an `Engine` stops it. It joins the thread only if the thread has already ended:
//! the UI drops engines on its own thread, which must never wait for a socket. Call
//! [`Engine::join`] to wait (the command line and tests do).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use flume::{Receiver, Sender};

use super::{SessionId, Tagged, Waker, next_session_id};

/// What an engine's worker receives: the caller's commands, and messages from the worker's
/// own helper threads (a reader thread that ended, say).
pub enum Input<C, I = Nothing> {
    Command(C),
    Internal(I),
}

/// The receiving end of a worker's inputs.
pub type Inputs<C, I = Nothing> = Receiver<Input<C, I>>;
/// A sending end of a worker's inputs (for its helper threads).
pub type InputSender<C, I = Nothing> = Sender<Input<C, I>>;

/// No internal messages: the worker has no helper threads that report to it.
pub enum Nothing {}

/// An engine's command type names the command that stops it.
pub trait Command: Send + 'static {
    /// The command [`Engine::stop`] sends (close, disconnect, stop).
    fn stop() -> Self;
}

/// The command of engines that take no other: stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop;

impl Command for Stop {
    fn stop() -> Self {
        Stop
    }
}

/// Sends a worker's events, tagged with its session, and wakes the UI after each.
pub struct Emitter<E> {
    session: SessionId,
    events: Sender<Tagged<E>>,
    waker: Waker,
}

impl<E> Clone for Emitter<E> {
    fn clone(&self) -> Self {
        Self {
            session: self.session,
            events: self.events.clone(),
            waker: self.waker.clone(),
        }
    }
}

impl<E> Emitter<E> {
    pub fn session(&self) -> SessionId {
        self.session
    }

    pub fn emit(&self, event: E) {
        // A closed channel means nobody is listening; the worker hears it through its stop.
        let _ = self.events.send(Tagged::now(self.session, event));
        self.waker.wake();
    }

    /// Someone still holds the receiving end.
    pub fn is_heard(&self) -> bool {
        !self.events.is_disconnected()
    }

    /// Sends without waiting when the channel is bounded and full: for samples that a newer
    /// one replaces. False when the event was dropped.
    pub fn offer(&self, event: E) -> bool {
        let sent = self
            .events
            .try_send(Tagged::now(self.session, event))
            .is_ok();
        self.waker.wake();
        sent
    }
}

type Poke = Arc<dyn Fn() + Send + Sync>;

/// Stops an engine from anywhere (a Ctrl+C handler, another thread). Cheap to clone.
#[derive(Clone)]
pub struct Stopper {
    flag: Arc<AtomicBool>,
    send_stop: Poke,
}

impl Stopper {
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        (self.send_stop)();
    }

    pub fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for Stopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopper")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

/// The worker's side: its inputs and the stop flag.
pub struct Control<C, I = Nothing> {
    inputs: Receiver<Input<C, I>>,
    sender: Sender<Input<C, I>>,
    flag: Arc<AtomicBool>,
}

impl<C, I> Control<C, I> {
    pub fn inputs(&self) -> &Receiver<Input<C, I>> {
        &self.inputs
    }

    /// For a helper thread to report to the worker.
    pub fn internal(&self) -> Sender<Input<C, I>> {
        self.sender.clone()
    }

    /// Set once the engine is told to stop.
    pub fn stop_flag(&self) -> &Arc<AtomicBool> {
        &self.flag
    }

    pub fn stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The inputs and a sender for helper threads, for a worker that waits on its inputs
    /// and needs no flag.
    pub fn into_channel(self) -> (Inputs<C, I>, InputSender<C, I>) {
        (self.inputs, self.sender)
    }
}

/// The caller's grip on a running engine.
pub struct Engine<C: Command, I = Nothing> {
    session: SessionId,
    inputs: Sender<Input<C, I>>,
    poke: Option<Poke>,
    stopper: Stopper,
    thread: Option<JoinHandle<()>>,
}

impl<C: Command, I: Send + 'static> Engine<C, I> {
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// Sends a command; false when the engine has already ended.
    pub fn command(&self, command: C) -> bool {
        let sent = self.inputs.send(Input::Command(command)).is_ok();
        if let Some(poke) = &self.poke {
            poke();
        }
        sent
    }

    /// Tells the engine to stop; its last event follows.
    pub fn stop(&self) {
        self.stopper.stop();
    }

    /// Something that stops this engine from another thread.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// The worker thread has ended (its last event is sent).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the engine and waits until its thread has ended.
    pub fn join(mut self) {
        self.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<C: Command, I> Drop for Engine<C, I> {
    fn drop(&mut self) {
        self.stopper.stop();
        if let Some(thread) = self.thread.take_if(|t| t.is_finished()) {
            let _ = thread.join();
        }
    }
}

/// Starts an engine's worker on a thread named `name-SESSION`. `poke` wakes the worker's
/// readiness loop after a command (engines that wait on their inputs need none). The worker
/// sends its last event itself before it returns.
pub fn spawn<C, I, E>(
    name: &str,
    events: Sender<Tagged<E>>,
    waker: Waker,
    poke: Option<Poke>,
    worker: impl FnOnce(Emitter<E>, Control<C, I>) + Send + 'static,
) -> io::Result<Engine<C, I>>
where
    C: Command,
    I: Send + 'static,
    E: Send + 'static,
{
    let session = next_session_id();
    let (tx, rx) = flume::unbounded();
    let flag = Arc::new(AtomicBool::new(false));
    let emitter = Emitter {
        session,
        events,
        waker,
    };
    let control = Control {
        inputs: rx,
        sender: tx.clone(),
        flag: flag.clone(),
    };
    let stop_tx = tx.clone();
    let stop_poke = poke.clone();
    let stopper = Stopper {
        flag,
        send_stop: Arc::new(move || {
            let _ = stop_tx.send(Input::Command(C::stop()));
            if let Some(poke) = &stop_poke {
                poke();
            }
        }),
    };
    let thread = std::thread::Builder::new()
        .name(format!("{name}-{session}"))
        .spawn(move || worker(emitter, control))?;
    Ok(Engine {
        session,
        inputs: tx,
        poke,
        stopper,
        thread: Some(thread),
    })
}

/// A poke for a `mio` readiness loop.
pub fn mio_poke(waker: &Arc<mio::Waker>) -> Poke {
    let waker = waker.clone();
    Arc::new(move || {
        let _ = waker.wake();
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[derive(Debug, PartialEq)]
    enum Cmd {
        Say(u32),
        Quit,
    }

    impl Command for Cmd {
        fn stop() -> Self {
            Cmd::Quit
        }
    }

    fn echo_engine(events: Sender<Tagged<u32>>) -> Engine<Cmd> {
        spawn("echo", events, Waker::noop(), None, |emit, control| {
            while let Ok(Input::Command(cmd)) = control.inputs().recv() {
                match cmd {
                    Cmd::Say(n) => emit.emit(n),
                    Cmd::Quit => break,
                }
            }
            emit.emit(u32::MAX);
        })
        .unwrap()
    }

    #[test]
    fn commands_in_tagged_events_out_and_join_stops() {
        let (tx, rx) = flume::unbounded();
        let engine = echo_engine(tx);
        let session = engine.session();
        assert!(engine.command(Cmd::Say(7)));
        let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!((first.session, first.event), (session, 7));
        engine.join();
        let last = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(
            last.event,
            u32::MAX,
            "the worker's last event follows the stop"
        );
    }

    #[test]
    fn a_stopper_stops_from_another_thread_and_drop_stops_too() {
        let (tx, rx) = flume::unbounded();
        let engine = echo_engine(tx.clone());
        let stopper = engine.stopper();
        std::thread::spawn(move || stopper.stop()).join().unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap().event,
            u32::MAX
        );
        assert!(
            !engine.command(Cmd::Say(1)) || rx.recv_timeout(Duration::from_millis(200)).is_err()
        );

        let dropped = echo_engine(tx);
        drop(dropped);
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap().event,
            u32::MAX
        );
    }

    #[test]
    fn sessions_differ() {
        let (tx, _rx) = flume::unbounded();
        let a = echo_engine(tx.clone());
        let b = echo_engine(tx);
        assert_ne!(a.session(), b.session());
    }
}
