//! The TCP client engine: the lesson's client steps (socket → connect → send/recv → shutdown
//! → close) on background threads.
//!
//! A session has two threads. The *worker* resolves the host, connects, then carries out
//! commands (send, repeat, send a file, half-close, disconnect); the *reader* does nothing but
//! `recv()` so data is reported the moment it arrives, whatever the worker is doing. A peer that
//! stops reading cannot wedge the worker: writes use a short send timeout and look at the
//! command channel between attempts, so Disconnect always gets through.
//!
//! The handle is an [`Engine`]: dropping it stops the session without waiting (a connect in
//! progress can take up to its timeout to give up, and the UI thread must never wait); the
//! worker ends as soon as it sees the stop or the connect attempt finishes. `join` waits for
//! it where waiting is fine (command line, tests).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flume::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use socket2::{Domain, Protocol, Socket, Type};

use super::engine::{self, Command, Engine, Input};
use super::send::{FileSource, Repeat};
use super::trace::{Family, TcpState};
use super::{
    CallKind, CallOutcome, NetError, NetErrorKind, RECV_BUFFER, ShutdownHow, SocketCall, Tagged,
    Waker,
};

/// How long one blocked `send()` waits before the worker looks at its commands again.
const WRITE_SLICE: Duration = Duration::from_millis(100);
/// How many bytes of a sent file the log keeps (the counters still count every byte).
pub const FILE_PREVIEW: usize = 4096;
/// How often the kernel's view of the connection (TCP_INFO) is read while it lives.
const KERNEL_POLL: Duration = Duration::from_millis(100);
/// How long a closed connection is followed in the kernel (FIN_WAIT2, TIME_WAIT: Linux keeps
/// TIME_WAIT for 60 s).
const FOLLOW_AFTER_CLOSE: Duration = Duration::from_secs(75);

/// What to connect to and how.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Host name, IPv4 literal or IPv6 literal (with or without brackets).
    pub host: String,
    pub port: u16,
    pub connect_timeout: Duration,
    /// Close our side as soon as the peer closes its side (what most clients do). When false,
    /// the connection stays half-open so we can still send after the peer's FIN.
    pub close_when_peer_closes: bool,
    /// Append every received byte to this file.
    pub capture: Option<PathBuf>,
    /// Stop reading while the consumer holds this much it has not applied yet (see
    /// [`super::flow`]); None: read freely.
    pub unread_limit: Option<usize>,
    /// Shared with the consumer, which calls [`super::flow::Unread::taken`] for each
    /// `Received` it applies.
    pub unread: super::flow::Unread,
}

impl ClientConfig {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            connect_timeout: Duration::from_secs(5),
            close_when_peer_closes: true,
            capture: None,
            unread_limit: None,
            unread: super::flow::Unread::default(),
        }
    }
}

/// UI → worker.
#[derive(Debug, Clone)]
pub enum ClientCommand {
    /// Send these bytes once.
    Send(Vec<u8>),
    /// Send these bytes every `interval`, `count` times (or until stopped).
    Repeat {
        bytes: Vec<u8>,
        interval: Duration,
        count: Option<u64>,
    },
    StopRepeat,
    /// Stream a file's bytes to the peer.
    SendFile(PathBuf),
    CancelFile,
    /// Start (or stop, with `None`) appending received bytes to a file.
    Capture(Option<PathBuf>),
    /// `shutdown(Write)`: send FIN, keep receiving.
    ShutdownWrite,
    /// `close()` the connection.
    Disconnect,
}

pub use super::send::{FileProgress, SendOrigin, SendProgress};

/// Why the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The user asked to disconnect.
    Local,
    /// The peer closed and we closed in response.
    Peer,
    /// Connecting failed, or the connection broke.
    Failed(NetError),
}

/// Worker → UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A socket call was made (the trace).
    Call(SocketCall),
    /// Trying this address (after name resolution).
    Connecting {
        addr: SocketAddr,
    },
    Connected {
        local: SocketAddr,
        peer: SocketAddr,
    },
    /// Bytes went out. `len` counts every byte; `data` may be a preview (file sends).
    Sent {
        data: Arc<[u8]>,
        len: u64,
        origin: SendOrigin,
    },
    Received {
        data: Arc<[u8]>,
    },
    /// `recv()` returned 0: the peer sent FIN and will send nothing more.
    PeerClosed,
    /// Our `shutdown(Write)` went through.
    WriteShut,
    /// A repeat run or a file send moved on.
    Progress(SendProgress),
    /// Received bytes are (or are no longer) appended to a file.
    Capturing {
        path: Option<PathBuf>,
        written: u64,
    },
    /// Something failed but the connection lives on (a file could not be read, ...).
    Warning(NetError),
    /// The kernel's view of the connection (TCP_INFO or the system's counterpart): state, RTT, window, counters.
    Kernel(super::kernel::TcpInfo),
    /// After close: the connection's state as the kernel's socket table shows it (FIN_WAIT2,
    /// TIME_WAIT, ...; CLOSED once it is gone). May come after `Closed`.
    KernelAfterClose(TcpState),
    /// The kernel's view cannot be read on this system (or this version of it).
    KernelUnavailable,
    /// The last event of a session.
    Closed {
        reason: CloseReason,
    },
}

/// Events as they travel on the channel.
pub type ClientMsg = Tagged<ClientEvent>;

/// The worker's inputs: the caller's commands and the reader's end.
type WorkerMsg = Input<ClientCommand, ReaderEnded>;

/// The reader thread ended: the peer closed (`None`) or reading failed.
pub struct ReaderEnded(Option<NetError>);

impl Command for ClientCommand {
    fn stop() -> Self {
        ClientCommand::Disconnect
    }
}

/// The UI's grip on one session (see [`super::engine`]).
pub type ClientHandle = Engine<ClientCommand, ReaderEnded>;

type Emitter = engine::Emitter<ClientEvent>;

/// Starts a session: resolve, connect, then serve commands until closed.
pub fn spawn_client(
    config: ClientConfig,
    events: Sender<ClientMsg>,
    waker: Waker,
) -> io::Result<ClientHandle> {
    engine::spawn("tcpc", events, waker, None, move |emitter, control| {
        let (rx, reader_tx) = control.into_channel();
        let reason = run(config, &emitter, rx, reader_tx);
        emitter.emit(ClientEvent::Closed { reason });
    })
}

impl Emitter {
    fn call(&self, kind: CallKind, outcome: CallOutcome) {
        self.emit(ClientEvent::Call(SocketCall::now(kind, outcome)));
    }
}

pub use crate::proto::addr::normalize_host;

fn resolve(config: &ClientConfig, emitter: &Emitter) -> Result<Vec<SocketAddr>, NetError> {
    let host = normalize_host(&config.host);
    if host.is_empty() {
        return Err(NetError::new(NetErrorKind::EmptyHost, ""));
    }
    if config.port == 0 {
        return Err(NetError::new(NetErrorKind::InvalidPort, "0"));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, config.port)]);
    }
    let kind = CallKind::Resolve {
        host: host.to_owned(),
        port: config.port,
    };
    // The system's resolver has no timeout of its own: the lookup waits at most the connect
    // timeout (see `resolve`).
    match super::resolve::lookup(host, config.port, config.connect_timeout) {
        Ok(addrs) => {
            emitter.call(kind, CallOutcome::Addrs(addrs.clone()));
            Ok(addrs)
        }
        Err(err) => {
            emitter.call(kind, CallOutcome::Failed(err.clone()));
            Err(err)
        }
    }
}

fn descriptor(socket: &Socket) -> CallOutcome {
    CallOutcome::Descriptor(super::sys::descriptor(socket.into()))
}

fn connect(
    config: &ClientConfig,
    emitter: &Emitter,
) -> Result<(TcpStream, SocketAddr, SocketAddr), NetError> {
    let addrs = resolve(config, emitter)?;
    let mut last_err = None;
    // Every address within one connect timeout, not one timeout each.
    let started = Instant::now();
    let count = addrs.len();
    for (i, addr) in addrs.into_iter().enumerate() {
        let timeout = super::resolve::attempt_timeout(config.connect_timeout, started, count - i);
        emitter.emit(ClientEvent::Connecting { addr });
        let family = Family::of(&addr);
        let socket = match Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        {
            Ok(s) => s,
            Err(e) => {
                let err = NetError::from_io(&e);
                emitter.call(
                    CallKind::Socket {
                        family,
                        datagram: false,
                    },
                    CallOutcome::Failed(err.clone()),
                );
                last_err = Some(err);
                continue;
            }
        };
        emitter.call(
            CallKind::Socket {
                family,
                datagram: false,
            },
            descriptor(&socket),
        );
        match super::sys::connect_timeout(&socket, addr, timeout) {
            Ok(()) => {
                let stream: TcpStream = socket.into();
                let local = match stream.local_addr() {
                    Ok(local) => local,
                    Err(e) => {
                        let err = NetError::from_io(&e);
                        emitter.call(CallKind::Connect { addr }, CallOutcome::Failed(err.clone()));
                        emitter.call(CallKind::Close, CallOutcome::Done);
                        last_err = Some(err);
                        continue;
                    }
                };
                emitter.call(CallKind::Connect { addr }, CallOutcome::Connected { local });
                return Ok((stream, local, addr));
            }
            Err(e) => {
                let mut err = NetError::from_io(&e);
                if err.kind == NetErrorKind::TimedOut {
                    err.detail = format!("{:.0} ms", timeout.as_secs_f64() * 1000.0);
                }
                emitter.call(CallKind::Connect { addr }, CallOutcome::Failed(err.clone()));
                drop(socket);
                emitter.call(CallKind::Close, CallOutcome::Done);
                last_err = Some(err);
            }
        }
    }
    Err(last_err.unwrap_or_else(|| NetError::new(NetErrorKind::NameNotResolved, &config.host)))
}

/// Where received bytes are appended, shared by the worker (which opens it) and the reader.
type CaptureSlot = Arc<Mutex<Option<Capture>>>;

struct Capture {
    path: PathBuf,
    file: File,
    written: u64,
}

fn run(
    config: ClientConfig,
    emitter: &Emitter,
    commands: Receiver<WorkerMsg>,
    reader_tx: Sender<WorkerMsg>,
) -> CloseReason {
    // The addresses come from connect() itself: asking the socket again fails if the peer
    // has already reset it, which must be reported as a reset, not as a strange error.
    let (stream, local, peer) = match connect(&config, emitter) {
        Ok(connected) => connected,
        Err(err) => return CloseReason::Failed(err),
    };
    // A disconnect queued while we were connecting wins over everything else.
    let mut pending = VecDeque::new();
    for msg in commands.try_iter() {
        if let Input::Command(ClientCommand::Disconnect) = msg {
            emitter.call(CallKind::Close, CallOutcome::Done);
            return CloseReason::Local;
        }
        pending.push_back(msg);
    }
    emitter.emit(ClientEvent::Connected { local, peer });

    let capture: CaptureSlot = Arc::new(Mutex::new(None));
    let mut session = Session {
        emitter: emitter.clone(),
        stream,
        commands,
        pending,
        closing: Arc::new(AtomicBool::new(false)),
        flow: (config.unread.clone(), config.unread_limit),
        order: Arc::new(Mutex::new(())),
        capture: capture.clone(),
        reader: None,
        write_shut: false,
        peer_closed: false,
        repeat: None,
        close_when_peer_closes: config.close_when_peer_closes,
        kernel: None,
        kernel_read: None,
        kernel_unavailable: false,
    };
    if let Some(path) = config.capture {
        session.set_capture(Some(path));
    }
    if let Err(err) = session.start_reader(reader_tx) {
        return session.close(CloseReason::Failed(err));
    }
    let reason = session.serve();
    let last = session.kernel.map(|k| k.state);
    let reason = session.close(reason);
    if last.is_some() {
        follow_after_close(emitter.clone(), local, peer, last);
    }
    reason
}

/// Follows a closed connection in the kernel's socket table (the shared follower thread;
/// the UI never waits for it), reporting each state until the connection is gone.
fn follow_after_close(
    emitter: Emitter,
    local: SocketAddr,
    peer: SocketAddr,
    last: Option<TcpState>,
) {
    super::kernel::follow(local, peer, last, FOLLOW_AFTER_CLOSE, move |state| {
        emitter.call(CallKind::KernelState(state), CallOutcome::Done);
        emitter.emit(ClientEvent::KernelAfterClose(state));
        emitter.is_heard()
    });
}

struct Session {
    emitter: Emitter,
    stream: TcpStream,
    commands: Receiver<WorkerMsg>,
    /// Commands that arrived while a write was blocked, to be handled next.
    pending: VecDeque<WorkerMsg>,
    /// Set before we shut the socket ourselves, so the reader's last `recv() → 0` is not
    /// mistaken for the peer closing.
    closing: Arc<AtomicBool>,
    /// Back-pressure from the consumer: its count and the limit.
    flow: (super::flow::Unread, Option<usize>),
    /// Held across a call and its report, by this thread and by the reader, so the trace
    /// shows cause before effect: our send() before the recv() of the peer's answer to it.
    order: Arc<Mutex<()>>,
    capture: CaptureSlot,
    reader: Option<JoinHandle<()>>,
    write_shut: bool,
    peer_closed: bool,
    repeat: Option<Repeat<()>>,
    close_when_peer_closes: bool,
    /// The last kernel view reported, and when it was read.
    kernel: Option<super::kernel::TcpInfo>,
    kernel_read: Option<Instant>,
    /// `KernelUnavailable` was sent.
    kernel_unavailable: bool,
}

/// How a blocking operation inside the session ended.
enum Flow {
    Continue,
    /// Stop serving: close with this reason.
    Stop(CloseReason),
}

impl Session {
    fn start_reader(&mut self, worker: Sender<WorkerMsg>) -> Result<(), NetError> {
        let stream = self.stream.try_clone().map_err(|e| NetError::from_io(&e))?;
        // Unix: blocking, sends time out after WRITE_SLICE to look at commands. Windows:
        // non-blocking, with waits for readiness (see `sys`).
        super::sys::prepare_client_stream(&self.stream, &stream, WRITE_SLICE)
            .map_err(|e| NetError::from_io(&e))?;
        let emitter = self.emitter.clone();
        let closing = self.closing.clone();
        let capture = self.capture.clone();
        let order = self.order.clone();
        let flow = self.flow.clone();
        let join = std::thread::Builder::new()
            .name(format!("tcpc-{}-rx", self.emitter.session()))
            .spawn(move || read_loop(stream, &emitter, &closing, &order, &capture, &worker, &flow))
            .map_err(|e| NetError::from_io(&e))?;
        self.reader = Some(join);
        Ok(())
    }

    fn next_msg(&mut self) -> Result<WorkerMsg, RecvTimeoutError> {
        if let Some(msg) = self.pending.pop_front() {
            return Ok(msg);
        }
        // Wake up at least every KERNEL_POLL to read the kernel's view of the connection.
        let wait = match &self.repeat {
            Some(run) => run
                .next_at()
                .saturating_duration_since(Instant::now())
                .min(KERNEL_POLL),
            None => KERNEL_POLL,
        };
        self.commands.recv_timeout(wait)
    }

    /// Reads TCP_INFO (at most every KERNEL_POLL); a state change goes into the trace, any
    /// change to the panel. Nothing where the kernel does not tell (other systems).
    fn kernel_poll(&mut self) {
        if self.kernel_read.is_some_and(|t| t.elapsed() < KERNEL_POLL) {
            return;
        }
        self.kernel_read = Some(Instant::now());
        let Ok(info) = super::kernel::tcp_info(&self.stream) else {
            // Said once, so the panel can say "not available" rather than show nothing.
            if self.kernel.is_none() && !self.kernel_unavailable {
                self.kernel_unavailable = true;
                self.emitter.emit(ClientEvent::KernelUnavailable);
            }
            return;
        };
        if self.kernel == Some(info) {
            return;
        }
        if self.kernel.map(|k| k.state) != Some(info.state) {
            let _order = lock(&self.order);
            self.emitter
                .call(CallKind::KernelState(info.state), CallOutcome::Done);
        }
        self.kernel = Some(info);
        self.emitter.emit(ClientEvent::Kernel(info));
    }

    fn serve(&mut self) -> CloseReason {
        loop {
            self.kernel_poll();
            let flow = match self.next_msg() {
                Ok(Input::Command(cmd)) => self.handle(cmd),
                Ok(Input::Internal(ReaderEnded(None))) => {
                    self.peer_closed = true;
                    if self.close_when_peer_closes || self.write_shut {
                        Flow::Stop(CloseReason::Peer)
                    } else {
                        Flow::Continue
                    }
                }
                Ok(Input::Internal(ReaderEnded(Some(err)))) => Flow::Stop(CloseReason::Failed(err)),
                Err(RecvTimeoutError::Timeout) => {
                    if self.repeat.as_ref().is_some_and(|r| r.due(Instant::now())) {
                        self.repeat_tick()
                    } else {
                        Flow::Continue
                    }
                }
                Err(RecvTimeoutError::Disconnected) => Flow::Stop(CloseReason::Local),
            };
            if let Flow::Stop(reason) = flow {
                return reason;
            }
        }
    }

    fn handle(&mut self, cmd: ClientCommand) -> Flow {
        match cmd {
            ClientCommand::Send(bytes) => self.send_payload(bytes, SendOrigin::Typed),
            ClientCommand::Repeat { count: Some(0), .. } => {
                self.emitter
                    .emit(ClientEvent::Progress(SendProgress::Repeating {
                        running: false,
                        sent: 0,
                    }));
                Flow::Continue
            }
            ClientCommand::Repeat {
                bytes,
                interval,
                count,
            } => {
                self.stop_repeat();
                self.repeat = Some(Repeat::new((), bytes, interval, count));
                self.emitter
                    .emit(ClientEvent::Progress(SendProgress::repeat_started()));
                Flow::Continue
            }
            ClientCommand::StopRepeat => {
                self.stop_repeat();
                Flow::Continue
            }
            ClientCommand::SendFile(path) => self.send_file(path),
            // Nothing to cancel outside a transfer.
            ClientCommand::CancelFile => Flow::Continue,
            ClientCommand::Capture(path) => {
                self.set_capture(path);
                Flow::Continue
            }
            ClientCommand::ShutdownWrite => {
                self.shutdown_write();
                if self.write_shut && self.peer_closed {
                    // Both directions are closed now: the four-way close is complete.
                    Flow::Stop(CloseReason::Peer)
                } else {
                    Flow::Continue
                }
            }
            ClientCommand::Disconnect => Flow::Stop(CloseReason::Local),
        }
    }

    fn stop_repeat(&mut self) {
        if let Some(run) = self.repeat.take() {
            self.emitter.emit(ClientEvent::Progress(run.stopped()));
        }
    }

    fn repeat_tick(&mut self) -> Flow {
        let Some(run) = &mut self.repeat else {
            return Flow::Continue;
        };
        let turn = run.turn();
        let flow = self.send_payload(turn.bytes.to_vec(), turn.origin);
        if turn.last {
            self.stop_repeat();
        }
        flow
    }

    fn shutdown_write(&mut self) {
        if self.write_shut {
            return;
        }
        let order = self.order.clone();
        let _order = lock(&order);
        match self.stream.shutdown(Shutdown::Write) {
            Ok(()) => {
                self.write_shut = true;
                self.stop_repeat();
                self.emitter
                    .call(CallKind::Shutdown(ShutdownHow::Write), CallOutcome::Done);
                self.emitter.emit(ClientEvent::WriteShut);
            }
            Err(e) => {
                let err = NetError::from_io(&e);
                self.emitter.call(
                    CallKind::Shutdown(ShutdownHow::Write),
                    CallOutcome::Failed(err.clone()),
                );
                self.emitter.emit(ClientEvent::Warning(err));
            }
        }
    }

    fn send_payload(&mut self, bytes: Vec<u8>, origin: SendOrigin) -> Flow {
        if self.write_shut {
            self.emitter.emit(ClientEvent::Warning(NetError::new(
                NetErrorKind::BrokenPipe,
                "shutdown(Write) was called",
            )));
            self.stop_repeat();
            return Flow::Continue;
        }
        match self.write_all(&bytes, false, Some(origin)) {
            WriteEnd::Done => Flow::Continue,
            WriteEnd::Cancelled => Flow::Continue,
            WriteEnd::Stop(reason) => Flow::Stop(reason),
        }
    }

    /// Writes everything, one `send()` per call the kernel accepts, while watching for
    /// Disconnect (and, for files, CancelFile). With `report`, `Sent` is said under the
    /// order lock as the last byte goes: a reply read after it is logged after it.
    fn write_all(
        &mut self,
        whole: &[u8],
        cancellable: bool,
        report: Option<SendOrigin>,
    ) -> WriteEnd {
        let mut buf = whole;
        let sent = |emitter: &Emitter| {
            if let Some(origin) = &report {
                emitter.emit(ClientEvent::Sent {
                    data: whole.into(),
                    len: whole.len() as u64,
                    origin: origin.clone(),
                });
            }
        };
        if whole.is_empty() {
            sent(&self.emitter);
        }
        while !buf.is_empty() {
            // The order lock is held only for a send that never waits and its report: the
            // reader, which takes it after every recv(), is never held up by a send that
            // waits for room (a lesson echo server answering recv(1024) with sendall needs
            // us to read while we send).
            let result = {
                let order = self.order.clone();
                let _order = lock(&order);
                let result = super::sys::try_send(&self.stream, buf);
                if let Ok(n) = result {
                    self.emitter
                        .call(CallKind::Send { len: buf.len() }, CallOutcome::Bytes(n));
                    if n == buf.len() {
                        sent(&self.emitter);
                    }
                }
                result
            };
            match result {
                Ok(n) => {
                    buf = &buf[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    // The peer is not reading and the buffers are full: look at commands, then
                    // wait for room (where the send itself did not wait).
                    let mut look = true;
                    while look {
                        match self.commands.try_recv() {
                            Ok(Input::Command(ClientCommand::Disconnect))
                            | Err(TryRecvError::Disconnected) => {
                                return WriteEnd::Stop(CloseReason::Local);
                            }
                            Ok(Input::Command(ClientCommand::CancelFile)) if cancellable => {
                                return WriteEnd::Cancelled;
                            }
                            Ok(Input::Command(ClientCommand::StopRepeat)) => {
                                self.stop_repeat();
                            }
                            Ok(Input::Internal(ReaderEnded(Some(err)))) => {
                                return WriteEnd::Stop(CloseReason::Failed(err));
                            }
                            Ok(msg) => self.pending.push_back(msg),
                            Err(TryRecvError::Empty) => look = false,
                        }
                    }
                    super::sys::wait_writable(&self.stream, WRITE_SLICE);
                }
                Err(e) => {
                    let err = NetError::from_io(&e);
                    self.emitter.call(
                        CallKind::Send { len: buf.len() },
                        CallOutcome::Failed(err.clone()),
                    );
                    return WriteEnd::Stop(CloseReason::Failed(err));
                }
            }
        }
        WriteEnd::Done
    }

    fn send_file(&mut self, path: PathBuf) -> Flow {
        if self.write_shut {
            return self.send_payload(Vec::new(), SendOrigin::Typed);
        }
        let mut file = match FileSource::open(path) {
            Ok(f) => f,
            Err(err) => {
                self.emitter.emit(ClientEvent::Warning(err));
                return Flow::Continue;
            }
        };
        let mut buf = vec![0u8; RECV_BUFFER];
        let mut preview = Vec::new();
        let complete = loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => n,
                Err(err) => {
                    self.emitter.emit(ClientEvent::Warning(err));
                    break false;
                }
            };
            match self.write_all(&buf[..n], true, None) {
                WriteEnd::Done => {}
                WriteEnd::Cancelled => break false,
                WriteEnd::Stop(reason) => {
                    self.report_file(&file, &preview, false);
                    return Flow::Stop(reason);
                }
            }
            if preview.len() < FILE_PREVIEW {
                let take = (FILE_PREVIEW - preview.len()).min(n);
                preview.extend_from_slice(&buf[..take]);
            }
            if let Some(progress) = file.count(n) {
                self.emitter.emit(ClientEvent::Progress(progress));
            }
            // A cancel that arrived while writes were flowing freely.
            if self
                .pending
                .iter()
                .any(|m| matches!(m, Input::Command(ClientCommand::CancelFile)))
                || self.take_cancel()
            {
                break false;
            }
        };
        self.pending
            .retain(|m| !matches!(m, Input::Command(ClientCommand::CancelFile)));
        self.report_file(&file, &preview, complete);
        Flow::Continue
    }

    /// Looks for a CancelFile among waiting commands without losing the others.
    fn take_cancel(&mut self) -> bool {
        let mut cancel = false;
        for msg in self.commands.try_iter() {
            match msg {
                Input::Command(ClientCommand::CancelFile) => cancel = true,
                other => self.pending.push_back(other),
            }
        }
        // A Disconnect must not wait behind the rest of a large file.
        cancel
            || self
                .pending
                .iter()
                .any(|m| matches!(m, Input::Command(ClientCommand::Disconnect)))
    }

    /// The file's end: its progress, done, and one `Sent` with a preview of its start.
    fn report_file(&self, file: &FileSource, preview: &[u8], complete: bool) {
        self.emitter
            .emit(ClientEvent::Progress(file.progress(true)));
        self.emitter.emit(ClientEvent::Sent {
            data: preview.into(),
            len: file.sent(),
            origin: file.origin(complete),
        });
    }

    fn set_capture(&mut self, path: Option<PathBuf>) {
        let mut slot = match self.capture.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(old) = slot.take() {
            self.emitter.emit(ClientEvent::Capturing {
                path: None,
                written: old.written,
            });
        }
        let Some(path) = path else { return };
        match File::options().create(true).append(true).open(&path) {
            Ok(file) => {
                self.emitter.emit(ClientEvent::Capturing {
                    path: Some(path.clone()),
                    written: 0,
                });
                *slot = Some(Capture {
                    path,
                    file,
                    written: 0,
                });
            }
            Err(e) => self
                .emitter
                .emit(ClientEvent::Warning(NetError::file_write(&path, &e))),
        }
    }

    fn close(mut self, reason: CloseReason) -> CloseReason {
        self.stop_repeat();
        self.closing.store(true, Ordering::SeqCst);
        // Wakes the reader's blocked recv() (it returns 0, or sees `closing` within its read
        // slice). This sends nothing on the wire, so it is not part of the lesson's trace.
        super::sys::wake_reader(&self.stream);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.set_capture(None);
        drop(self.stream);
        self.emitter.call(CallKind::Close, CallOutcome::Done);
        reason
    }
}

/// Takes a lock whose data is `()`, so a poisoned one is as good as any.
fn lock(m: &Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

enum WriteEnd {
    Done,
    Cancelled,
    Stop(CloseReason),
}

fn read_loop(
    mut stream: TcpStream,
    emitter: &Emitter,
    closing: &AtomicBool,
    order: &Mutex<()>,
    capture: &CaptureSlot,
    worker: &Sender<WorkerMsg>,
    (unread, limit): &(super::flow::Unread, Option<usize>),
) {
    let mut buf = vec![0u8; RECV_BUFFER];
    let kind = CallKind::Recv { buf: buf.len() };
    let end = loop {
        // The consumer is behind: stop reading, and the peer's window closes.
        if !unread.wait_below(*limit, closing) {
            return;
        }
        if let Some(slice) = super::sys::READ_SLICE {
            // Non-blocking (Windows): wait for data in slices, looking whether to stop.
            super::sys::wait_readable(&stream, slice);
            if closing.load(Ordering::SeqCst) {
                return;
            }
        }
        let result = stream.read(&mut buf);
        let _order = lock(order);
        match result {
            Ok(0) => {
                if closing.load(Ordering::SeqCst) {
                    return;
                }
                emitter.call(kind, CallOutcome::Bytes(0));
                emitter.emit(ClientEvent::PeerClosed);
                break None;
            }
            Ok(n) => {
                let data: Arc<[u8]> = buf[..n].into();
                unread.received(n);
                write_capture(capture, &data, emitter);
                emitter.call(kind.clone(), CallOutcome::Bytes(n));
                emitter.emit(ClientEvent::Received { data });
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Nothing to read yet (only where `sys::READ_SLICE` is set): look, go on.
            Err(e)
                if super::sys::READ_SLICE.is_some()
                    && matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
            {
                if closing.load(Ordering::SeqCst) {
                    return;
                }
            }
            Err(e) => {
                if closing.load(Ordering::SeqCst) {
                    return;
                }
                let err = NetError::from_io(&e);
                emitter.call(kind, CallOutcome::Failed(err.clone()));
                break Some(err);
            }
        }
    };
    let _ = worker.send(Input::Internal(ReaderEnded(end)));
}

fn write_capture(capture: &CaptureSlot, data: &[u8], emitter: &Emitter) {
    let mut slot = match capture.lock() {
        Ok(slot) => slot,
        Err(poisoned) => poisoned.into_inner(),
    };
    let Some(cap) = slot.as_mut() else { return };
    match cap.file.write_all(data) {
        Ok(()) => cap.written += data.len() as u64,
        Err(e) => {
            let err = NetError::file_write(&cap.path, &e);
            let written = cap.written;
            *slot = None;
            emitter.emit(ClientEvent::Warning(err));
            emitter.emit(ClientEvent::Capturing {
                path: None,
                written,
            });
        }
    }
}
