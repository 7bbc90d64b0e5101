//! The TCP server engine: the lesson's server steps (socket → bind → listen → accept →
//! recv/send → close) for many clients at once, each served for as long as it stays.
//!
//! # Why readiness loops
//!
//! A classroom is thirty clients, but the panel must stay fast with ten thousand. One thread per
//! client would cost ten thousand stacks and context switches; instead a background thread
//! runs a mio readiness loop (epoll on Linux, kqueue on macOS, IOCP via wepoll on Windows) over
//! the listener and every client socket. A class stays on that one thread; past
//! [`SPREAD_FROM`] clients the loop starts a few more (two per core, see [`default_loops`])
//! and hands each new client to the least busy, so a busy server uses every core (`loops`).
//! Reads go into one buffer per loop and
//! only what arrived is copied out, so an idle client costs a socket and a small struct. Writes
//! that the kernel cannot take at once are queued per client and flushed when the socket turns
//! writable; a client that stops reading has its queue capped (and its reading paused, so an
//! echo cannot grow without bound), which is TCP's own back-pressure, made visible. The same
//! back-pressure protects the window: with [`ServerConfig::unread_limit`] set, the loop stops
//! reading while the panel holds that many received bytes it has not applied yet, so a flood
//! slows its senders instead of filling memory (measured by `benches/flood.rs`).
//!
//! Commands arrive on a flume channel and a `mio::Waker` interrupts the poll, so the UI's
//! "send to all" is acted on at once. Events go out tagged with the session, and every
//! client-related event carries the client's id.
//!
//! The loop is here (`Server::run`); its parts live beside it: `accept` (accepting within the
//! limits), `loops` (starting the other loops and telling them what concerns their clients),
//! `conn` (reading, queueing, flushing and closing one client), `pressure` (pausing
//! reads under back-pressure), `kernel_watch` (TCP_INFO and the socket table), `sending`
//! (targets, the repeat run and the file) and `reply` (the auto-reply).

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flume::{Receiver, Sender, TryRecvError};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::engine::{self, Command, Engine, Input};
use super::send::{FileSource, Repeat};
use super::trace::{Family, TcpState};
use super::{CallKind, CallOutcome, NetError, RECV_BUFFER, SocketCall, Tagged, Waker};

mod accept;
mod conn;
mod kernel_watch;
mod loops;
mod pressure;
mod reply;
mod sending;

pub use reply::{AutoReply, Matcher, ReplyRule};

use loops::{LoopMsg, Shared, Worker};

/// A client of one server session: 1, 2, 3, ... in order of arrival.
pub type ClientId = u64;

const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);

/// Bytes queued for a client that is not reading, before new sends to it are refused.
pub const MAX_QUEUED: usize = 4 * 1024 * 1024;
/// Bytes queued for all clients together, by default: a thousand echo clients that do not
/// read would otherwise pin 4 GB.
pub const DEFAULT_OUTPUT_BUDGET: usize = 256 * 1024 * 1024;
/// A client that has closed its side (or been kicked gracefully) and reads nothing of what
/// is still queued for it for this long is closed, and the rest dropped.
pub const DEFAULT_CLOSING_STALL: Duration = Duration::from_secs(15);
/// Reads per client per readiness event, so one flooding client cannot starve the others.
const READS_PER_TURN: usize = 8;
/// A file transfer feeds each target's queue up to this much before reading more.
const FILE_FEED: usize = 256 * 1024;
/// How often the kernel's state of each connection is read.
const KERNEL_POLL: Duration = Duration::from_millis(250);
/// Above this many clients the kernel is not polled on a timer: a class fits well under it.
/// (Polling TCP_INFO of a couple of hundred busy connections was measured to cost the echo
/// benchmark two thirds of its rate, with 100-200 ms stalls; above the limit the state is
/// read only when something happens to a connection: accept, the peer's FIN, close.)
pub const KERNEL_POLL_MAX_CLIENTS: usize = 64;
/// Closed connections followed in the kernel at most (the most recent ones).
const FOLLOW_MAX: usize = 64;
/// How long a closed connection is followed (Linux keeps TIME_WAIT for 60 s).
const FOLLOW_FOR: Duration = Duration::from_secs(75);

/// Clients the server reaches before it spreads them over more loops, by default: a class
/// stays on one thread.
pub const SPREAD_FROM: usize = 64;
/// Readiness loops at most.
pub const MAX_LOOPS: usize = 4;

/// Readiness loops by default: two per core, up to [`MAX_LOOPS`]. A loop spends much of
/// its time in the kernel's `send()`, which wakes the client it answers, and that client
/// often takes the core from it; a second loop per core serves others meanwhile (measured by
/// `benches/echo.rs`: on 2 cores, one loop per core reached 0.93 of a thread-per-client
/// server, two per core 1.25).
pub fn default_loops() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_mul(2)
        .clamp(1, MAX_LOOPS)
}

/// How soon to look again at clients left unread while the consumer was behind.
const STARVED_RETRY: Duration = Duration::from_millis(2);
/// How long accepting pauses after the process ran out of descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    pub backlog: i32,
    /// Clients over this many are accepted and closed at once (and the log says so).
    pub max_clients: Option<usize>,
    pub reply: AutoReply,
    /// Stop reading clients while the consumer holds more than this many received bytes it
    /// has not taken in yet (see [`Unread`]): a window that falls behind a flood slows the
    /// senders down through TCP instead of piling up memory. None: read freely (the command
    /// line, which prints as it goes).
    pub unread_limit: Option<usize>,
    /// Shared with the consumer, which calls [`Unread::taken`] for each `Received` it applies.
    pub unread: Unread,
    /// Bytes queued for all clients together; over it, typed sends are dropped and echoing
    /// clients are not read until the queues have drained to half.
    pub output_budget: usize,
    /// See [`DEFAULT_CLOSING_STALL`].
    pub closing_stall: Duration,
    /// Readiness loops (threads) at most; see [`default_loops`]. 1: one thread serves all.
    pub loops: usize,
    /// Once this many clients are connected, new ones are spread over the loops (see
    /// `loops.rs`).
    pub spread_from: usize,
}

impl ServerConfig {
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            backlog: 128,
            max_clients: None,
            reply: AutoReply::Off,
            unread_limit: None,
            unread: Unread::default(),
            output_budget: DEFAULT_OUTPUT_BUDGET,
            closing_stall: DEFAULT_CLOSING_STALL,
            loops: default_loops(),
            spread_from: SPREAD_FROM,
        }
    }
}

pub use super::flow::Unread;

/// Which clients a send goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Clients(Vec<ClientId>),
}

/// How to disconnect a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KickHow {
    /// `close()`: FIN, the orderly four-way close.
    Graceful,
    /// `SO_LINGER 0` then `close()`: RST, the peer sees "connection reset".
    Abortive,
}

#[derive(Debug, Clone)]
pub enum ServerCommand {
    Send {
        to: Target,
        bytes: Vec<u8>,
    },
    Repeat {
        to: Target,
        bytes: Vec<u8>,
        interval: Duration,
        count: Option<u64>,
    },
    StopRepeat,
    SendFile {
        to: Target,
        path: PathBuf,
    },
    CancelFile,
    Kick {
        clients: Vec<ClientId>,
        how: KickHow,
    },
    SetAutoReply(AutoReply),
    SetMaxClients(Option<usize>),
    Stop,
}

pub use super::send::{FileProgress, SendOrigin, SendProgress};

/// Why one client's connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEnd {
    /// The client closed (recv → 0) and we closed our side in turn.
    PeerClosed,
    /// We disconnected it.
    Kicked(KickHow),
    /// The client reset the connection, or it broke.
    Failed(NetError),
    /// The server stopped.
    ServerStopped,
}

/// Why the whole server session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEnd {
    Stopped,
    Failed(NetError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A socket call; `client` is None for the listening socket.
    Call {
        client: Option<ClientId>,
        call: SocketCall,
    },
    Listening {
        local: SocketAddr,
    },
    Accepted {
        client: ClientId,
        peer: SocketAddr,
    },
    /// Over the client limit: accepted and closed at once.
    Refused {
        peer: SocketAddr,
        limit: usize,
    },
    Received {
        client: ClientId,
        data: Arc<[u8]>,
    },
    /// Bytes queued to a client (they leave as fast as it reads).
    Sent {
        client: ClientId,
        data: Arc<[u8]>,
        len: u64,
        origin: SendOrigin,
    },
    /// The client sent FIN (`recv() → 0`).
    PeerClosed {
        client: ClientId,
    },
    /// The kernel's TCP state of a client's connection changed (TCP_INFO or its counterpart
    /// while it lives, the socket table after close: FIN_WAIT2, TIME_WAIT, CLOSED).
    Kernel {
        client: ClientId,
        state: TcpState,
    },
    /// The kernel's TCP state cannot be read on this system: the table shows none.
    KernelUnavailable,
    /// The kernel's view of a live client connection (TCP_INFO: RTT, window, counters), when
    /// it changed; read on a timer at classroom scale, else when something happens.
    KernelInfo {
        client: ClientId,
        info: super::kernel::TcpInfo,
    },
    ClientClosed {
        client: ClientId,
        end: ClientEnd,
    },
    /// A repeat run or a file send moved on.
    Progress(SendProgress),
    /// Something failed but the server lives on.
    Warning(NetError),
    /// A client's queue is full because it does not read (or all queues together are at
    /// the server's output budget); this send was not queued for it.
    SendDropped {
        client: ClientId,
        len: u64,
    },
    /// The server stopped (`true`) or resumed (`false`) reading a client, because what is
    /// queued for it, or for all clients together, waits for the clients to read.
    HeldBack {
        client: ClientId,
        held: bool,
    },
    /// The last event of a session.
    Stopped {
        end: ServerEnd,
    },
}

pub type ServerMsg = Tagged<ServerEvent>;

impl Command for ServerCommand {
    fn stop() -> Self {
        ServerCommand::Stop
    }
}

/// The UI's grip on one listening session (see [`super::engine`]). Dropping it stops the
/// loop within one poll without waiting for it.
pub type ServerHandle = Engine<ServerCommand>;

type Emitter = engine::Emitter<ServerEvent>;

/// Starts listening; `Listening` (with the real port) or `Stopped { Failed }` follows.
pub fn spawn_server(
    config: ServerConfig,
    events: Sender<ServerMsg>,
    waker: Waker,
) -> io::Result<ServerHandle> {
    let poll = Poll::new()?;
    let wake = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
    let poke = engine::mio_poke(&wake);
    engine::spawn(
        "tcps",
        events,
        waker,
        Some(poke),
        move |emitter, control| {
            let (commands, _) = control.into_channel();
            let end = match Server::start(config, poll, wake, commands, emitter.clone()) {
                Ok(mut server) => server.run(),
                Err(err) => ServerEnd::Failed(err),
            };
            emitter.emit(ServerEvent::Stopped { end });
        },
    )
}

impl Emitter {
    fn call(&self, client: Option<ClientId>, kind: CallKind, outcome: CallOutcome) {
        self.emit(ServerEvent::Call {
            client,
            call: SocketCall::now(kind, outcome).on(client),
        });
    }
}

fn raw_fd<'s, T>(s: &'s T) -> i64
where
    socket2::SockRef<'s>: From<&'s T>,
{
    super::sys::descriptor(socket2::SockRef::from(s))
}

struct Conn {
    stream: TcpStream,
    /// The client sent FIN; we close once what is queued for it has gone out.
    closing: bool,
    out: VecDeque<(Arc<[u8]>, usize)>,
    queued: usize,
    interest: Interest,
    /// Reading is paused because the client is not reading what we send (back-pressure).
    paused: bool,
    /// Reading is paused because the consumer is behind (see [`Unread`]); in `starved`.
    starved: bool,
    /// Reading is paused because all queues together are at the output budget; in `held`.
    held: bool,
    /// What the panel was last told: `paused || held`.
    told_held: bool,
    /// Kicked gracefully: closes once what is queued has gone out.
    kicked: bool,
    /// When a send last moved bytes (or the close began): a closing client that reads
    /// nothing for `closing_stall` is closed.
    moved: Instant,
    /// The kernel state last reported.
    kernel: Option<TcpState>,
    /// The kernel's full view last reported (RTT, window, counters).
    info: Option<super::kernel::TcpInfo>,
    /// A target of the file send.
    file: bool,
    /// A file target whose queue holds a chunk's worth or more.
    file_full: bool,
}

impl Conn {
    fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            closing: false,
            out: VecDeque::new(),
            queued: 0,
            interest: Interest::READABLE,
            paused: false,
            starved: false,
            held: false,
            told_held: false,
            kicked: false,
            moved: Instant::now(),
            kernel: None,
            info: None,
            file: false,
            file_full: false,
        }
    }
}

/// A closed connection followed in the kernel's socket table.
struct Follow {
    id: ClientId,
    local: SocketAddr,
    peer: SocketAddr,
    last: Option<TcpState>,
    until: Instant,
}

/// What every loop is set up with.
#[derive(Clone)]
struct Settings {
    unread_limit: Option<usize>,
    unread: Unread,
    output_budget: usize,
    closing_stall: Duration,
}

/// One readiness loop. The first (`index` 0) listens, takes the commands, runs the repeat
/// and the file send, and starts and stops the others; see `loops.rs`.
struct Server {
    poll: Poll,
    index: usize,
    /// The first loop's.
    listener: Option<TcpListener>,
    /// The first loop's.
    commands: Option<Receiver<Input<ServerCommand>>>,
    /// The other loops': what the first one tells them.
    inbox: Option<Receiver<LoopMsg>>,
    /// Wakes the first loop (the others do, when the file send may go on).
    lead_wake: Arc<mio::Waker>,
    /// The other loops, in the first.
    workers: Vec<Worker>,
    loops: usize,
    spread_from: usize,
    shared: Arc<Shared>,
    emitter: Emitter,
    conns: HashMap<ClientId, Conn>,
    next_id: ClientId,
    reply: AutoReply,
    max_clients: Option<usize>,
    accept_paused_until: Option<Instant>,
    repeat: Option<Repeat<Target>>,
    /// The file being sent, fed to its targets chunk by chunk while their queues are short
    /// (the first loop's).
    file: Option<FileSource>,
    /// This loop's clients among the file's targets.
    file_ids: Vec<ClientId>,
    buf: Vec<u8>,
    unread_limit: Option<usize>,
    unread: Unread,
    /// Clients with data left unread while the consumer was behind.
    starved: Vec<ClientId>,
    output_budget: usize,
    /// Clients not read while the queues are at the budget.
    held: Vec<ClientId>,
    closing_stall: Duration,
    /// Closing clients with output still queued (checked for the closing stall).
    lingering: Vec<ClientId>,
    kernel_next: Instant,
    follows: VecDeque<Follow>,
}

impl Server {
    fn new(
        poll: Poll,
        index: usize,
        emitter: Emitter,
        shared: Arc<Shared>,
        lead_wake: Arc<mio::Waker>,
        settings: Settings,
    ) -> Self {
        Self {
            poll,
            index,
            listener: None,
            commands: None,
            inbox: None,
            lead_wake,
            workers: Vec::new(),
            loops: 1,
            spread_from: usize::MAX,
            shared,
            emitter,
            conns: HashMap::new(),
            next_id: 1,
            reply: AutoReply::Off,
            max_clients: None,
            accept_paused_until: None,
            repeat: None,
            file: None,
            file_ids: Vec::new(),
            buf: vec![0; RECV_BUFFER],
            unread_limit: settings.unread_limit,
            unread: settings.unread,
            starved: Vec::new(),
            output_budget: settings.output_budget.max(1),
            held: Vec::new(),
            closing_stall: settings.closing_stall,
            lingering: Vec::new(),
            kernel_next: Instant::now(),
            follows: VecDeque::new(),
        }
    }

    fn settings(&self) -> Settings {
        Settings {
            unread_limit: self.unread_limit,
            unread: self.unread.clone(),
            output_budget: self.output_budget,
            closing_stall: self.closing_stall,
        }
    }

    fn start(
        config: ServerConfig,
        poll: Poll,
        wake: Arc<mio::Waker>,
        commands: Receiver<Input<ServerCommand>>,
        emitter: Emitter,
    ) -> Result<Self, NetError> {
        let addr = config.bind;
        let family = Family::of(&addr);
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| {
                let err = NetError::from_io(&e);
                emitter.call(
                    None,
                    CallKind::Socket {
                        family,
                        datagram: false,
                    },
                    CallOutcome::Failed(err.clone()),
                );
                err
            })?;
        emitter.call(
            None,
            CallKind::Socket {
                family,
                datagram: false,
            },
            CallOutcome::Descriptor(raw_fd(&socket)),
        );
        // Unix: so the port can be listened on again at once after Stop, even while old
        // connections sit in TIME_WAIT. Windows: so no other program can take the port
        // while we hold it (see `sys`).
        {
            let outcome = match super::sys::prepare_listener(&socket) {
                Ok(()) => CallOutcome::Done,
                Err(e) => CallOutcome::Failed(NetError::from_io(&e)),
            };
            emitter.call(
                None,
                CallKind::SetOption {
                    name: super::sys::LISTENER_OPTION,
                    value: "1".into(),
                },
                outcome,
            );
        }
        let fail = |kind: CallKind, e: io::Error| {
            let err = NetError::from_io(&e);
            emitter.call(None, kind, CallOutcome::Failed(err.clone()));
            emitter.call(None, CallKind::Close, CallOutcome::Done);
            err
        };
        socket
            .bind(&addr.into())
            .map_err(|e| fail(CallKind::Bind { addr }, e))?;
        let local = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or(addr);
        emitter.call(None, CallKind::Bind { addr }, CallOutcome::Bound { local });
        let backlog = config.backlog.max(0);
        socket
            .listen(backlog)
            .map_err(|e| fail(CallKind::Listen { backlog }, e))?;
        emitter.call(None, CallKind::Listen { backlog }, CallOutcome::Done);
        if let Ok(info) = super::kernel::tcp_info(&socket) {
            emitter.call(None, CallKind::KernelState(info.state), CallOutcome::Done);
        }
        socket
            .set_nonblocking(true)
            .map_err(|e| fail(CallKind::Listen { backlog }, e))?;
        let mut listener = TcpListener::from_std(socket.into());
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(|e| NetError::from_io(&e))?;
        emitter.emit(ServerEvent::Listening { local });
        if !super::kernel::availability().available() {
            emitter.emit(ServerEvent::KernelUnavailable);
        }
        let loops = config.loops.clamp(1, MAX_LOOPS);
        let settings = Settings {
            unread_limit: config.unread_limit,
            unread: config.unread,
            output_budget: config.output_budget,
            closing_stall: config.closing_stall,
        };
        let mut server = Self::new(
            poll,
            0,
            emitter,
            Arc::new(Shared::new(loops)),
            wake,
            settings,
        );
        server.listener = Some(listener);
        server.commands = Some(commands);
        server.loops = loops;
        server.spread_from = config.spread_from;
        server.reply = config.reply;
        server.max_clients = config.max_clients;
        Ok(server)
    }

    fn run(&mut self) -> ServerEnd {
        let mut events = Events::with_capacity(1024);
        loop {
            let mut timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            let spread = self
                .shared
                .spread
                .load(std::sync::atomic::Ordering::Relaxed);
            if !self.starved.is_empty() || (spread && !self.held.is_empty()) {
                // Nothing wakes us when the consumer catches up (or when another loop's
                // queues drain): look again soon.
                timeout = Some(timeout.map_or(STARVED_RETRY, |t| t.min(STARVED_RETRY)));
            }
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != io::ErrorKind::Interrupted
            {
                let err = NetError::from_io(&e);
                self.stop_all();
                return ServerEnd::Failed(err);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {}
                    Token(id) => {
                        let id = id as ClientId;
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.read_client(id);
                        }
                        if event.is_writable() {
                            self.flush_client(id);
                        }
                    }
                }
            }
            // Commands are looked at every turn, not only on the waker's token: a busy loop
            // must still hear Stop promptly.
            if !self.take_inputs() {
                self.stop_all();
                return ServerEnd::Stopped;
            }
            self.timers();
            self.feed_starved();
            self.feed_held();
            self.kernel_tick();
        }
    }

    /// Acts on the commands (the first loop) or on what the first loop said (the others);
    /// false when the loop must stop.
    fn take_inputs(&mut self) -> bool {
        loop {
            if let Some(commands) = &self.commands {
                match commands.try_recv() {
                    Ok(Input::Command(ServerCommand::Stop)) | Err(TryRecvError::Disconnected) => {
                        return false;
                    }
                    Ok(Input::Command(cmd)) => self.handle(cmd),
                    Err(TryRecvError::Empty) => return true,
                }
            } else if let Some(inbox) = &self.inbox {
                match inbox.try_recv() {
                    Ok(msg) => {
                        if !self.heard(msg) {
                            return false;
                        }
                    }
                    Err(TryRecvError::Disconnected) => return false,
                    Err(TryRecvError::Empty) => return true,
                }
            } else {
                return true;
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut next = self.accept_paused_until;
        for id in &self.lingering {
            if let Some(c) = self.conns.get(id) {
                let at = c.moved + self.closing_stall;
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        if let Some(run) = &self.repeat {
            let at = run.next_at();
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        if (!self.conns.is_empty() && self.shared.clients() <= KERNEL_POLL_MAX_CLIENTS)
            || !self.follows.is_empty()
        {
            next = Some(next.map_or(self.kernel_next, |n| n.min(self.kernel_next)));
        }
        if self.file.is_some() {
            // A transfer waits for queues to drain; look again soon even without events.
            let soon = Instant::now() + Duration::from_millis(20);
            next = Some(next.map_or(soon, |n| n.min(soon)));
        }
        next
    }

    fn timers(&mut self) {
        self.check_lingering();
        if self
            .accept_paused_until
            .is_some_and(|t| t <= Instant::now())
        {
            self.accept_paused_until = None;
            if let Some(listener) = &mut self.listener
                && let Err(e) =
                    self.poll
                        .registry()
                        .reregister(listener, LISTENER, Interest::READABLE)
            {
                self.emitter
                    .emit(ServerEvent::Warning(NetError::from_io(&e)));
            }
            self.accept_all();
        }
        if let Some(run) = &mut self.repeat
            && run.due(Instant::now())
        {
            let turn = run.turn();
            self.deliver(&turn.to, turn.bytes, turn.origin);
            if turn.last {
                self.stop_repeat();
            }
        }
        self.pump_file();
    }

    fn handle(&mut self, cmd: ServerCommand) {
        match cmd {
            ServerCommand::Send { to, bytes } => {
                self.deliver(&to, bytes.into(), SendOrigin::Typed);
            }
            ServerCommand::Repeat {
                to,
                bytes,
                interval,
                count,
            } => {
                self.stop_repeat();
                if count == Some(0) {
                    return;
                }
                self.repeat = Some(Repeat::new(to, bytes, interval, count));
                self.emitter
                    .emit(ServerEvent::Progress(SendProgress::repeat_started()));
            }
            ServerCommand::StopRepeat => self.stop_repeat(),
            ServerCommand::SendFile { to, path } => self.start_file(&to, path),
            ServerCommand::CancelFile => self.finish_file(),
            ServerCommand::Kick { clients, how } => {
                self.tell_workers(|| LoopMsg::Kick {
                    clients: clients.clone(),
                    how,
                });
                self.kick(clients, how);
            }
            ServerCommand::SetAutoReply(reply) => {
                self.tell_workers(|| LoopMsg::SetAutoReply(reply.clone()));
                self.reply = reply;
            }
            ServerCommand::SetMaxClients(max) => self.max_clients = max,
            ServerCommand::Stop => {}
        }
    }

    fn kick(&mut self, clients: Vec<ClientId>, how: KickHow) {
        for id in clients {
            let queued = self.conns.get(&id).is_some_and(|c| !c.out.is_empty());
            if how == KickHow::Graceful && queued {
                // What was sent to it goes out first, then the FIN.
                if let Some(conn) = self.conns.get_mut(&id) {
                    conn.kicked = true;
                }
                self.close_after_flush(id);
            } else {
                self.close_client(id, ClientEnd::Kicked(how), Some(how));
            }
        }
    }

    /// Closes every client (of every loop, from the first), then the listening socket.
    fn stop_all(&mut self) {
        self.stop_repeat();
        self.finish_file();
        self.tell_workers(|| LoopMsg::Stop);
        let mut ids: Vec<ClientId> = self.conns.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(conn) = self.conns.get_mut(&id) {
                let _ = conn.stream.shutdown(Shutdown::Write);
            }
            self.close_client(id, ClientEnd::ServerStopped, None);
        }
        self.join_workers();
        if let Some(listener) = &mut self.listener {
            let _ = self.poll.registry().deregister(listener);
            self.emitter.call(None, CallKind::Close, CallOutcome::Done);
        }
    }
}
