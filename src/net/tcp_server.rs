//! The TCP server engine: the lesson's server steps (socket → bind → listen → accept →
//! recv/send → close) for many clients at once, each served for as long as it stays.
//!
//! # Why one readiness loop
//!
//! A classroom is thirty clients, but the panel must stay fast with ten thousand. One thread per
//! client would cost ten thousand stacks and context switches; instead a single background
//! thread runs a mio readiness loop (epoll on Linux, kqueue on macOS, IOCP via wepoll on
//! Windows) over the listener and every client socket. Reads go into one shared buffer and
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
use crate::proto::TextEncoding;

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
/// How long accepting pauses after the process ran out of descriptors.
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

/// How soon to look again at clients left unread while the consumer was behind.
const STARVED_RETRY: Duration = Duration::from_millis(2);
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the server answers by itself.
#[derive(Debug, Clone, Default)]
pub enum AutoReply {
    #[default]
    Off,
    /// Send every chunk back unchanged.
    Echo,
    /// Answer every chunk with these bytes.
    Fixed(Vec<u8>),
    /// The first rule whose matcher fits the chunk answers; no match, no answer.
    Rules {
        rules: Vec<ReplyRule>,
        encoding: TextEncoding,
    },
}

#[derive(Debug, Clone)]
pub struct ReplyRule {
    pub matcher: Matcher,
    pub reply: Vec<u8>,
}

#[derive(Debug, Clone)]
pub enum Matcher {
    /// The chunk contains these bytes (the pattern, encoded in the rules' encoding).
    Contains(Vec<u8>),
    /// The chunk, decoded in the rules' encoding, matches this regular expression.
    Regex(regex::Regex),
}

impl AutoReply {
    /// The answer to one received chunk, if any.
    pub fn answer(&self, data: &[u8]) -> Option<Vec<u8>> {
        match self {
            AutoReply::Off => None,
            AutoReply::Echo => Some(data.to_vec()),
            AutoReply::Fixed(bytes) => Some(bytes.clone()),
            AutoReply::Rules { rules, encoding } => {
                let mut text = None;
                rules.iter().find_map(|rule| {
                    let hit = match &rule.matcher {
                        Matcher::Contains(needle) => {
                            needle.is_empty()
                                || data.windows(needle.len()).any(|w| w == needle.as_slice())
                        }
                        Matcher::Regex(re) => {
                            let text = text.get_or_insert_with(|| encoding.decode_display(data));
                            re.is_match(text)
                        }
                    };
                    hit.then(|| rule.reply.clone())
                })
            }
        }
    }
}

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
            let end = match Server::start(config, poll, commands, emitter.clone()) {
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
}

/// A closed connection followed in the kernel's socket table.
struct Follow {
    id: ClientId,
    local: SocketAddr,
    peer: SocketAddr,
    last: Option<TcpState>,
    until: Instant,
}

/// A file fed to its targets chunk by chunk while their queues are short.
struct FileJob {
    source: FileSource,
    targets: Vec<ClientId>,
}

struct Server {
    poll: Poll,
    listener: TcpListener,
    commands: Receiver<Input<ServerCommand>>,
    emitter: Emitter,
    conns: HashMap<ClientId, Conn>,
    next_id: ClientId,
    reply: AutoReply,
    max_clients: Option<usize>,
    accept_paused_until: Option<Instant>,
    repeat: Option<Repeat<Target>>,
    file: Option<FileJob>,
    buf: Vec<u8>,
    unread_limit: Option<usize>,
    unread: Unread,
    /// Clients with data left unread while the consumer was behind.
    starved: Vec<ClientId>,
    /// Bytes queued for all clients together.
    queued_total: usize,
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
    fn start(
        config: ServerConfig,
        poll: Poll,
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
        Ok(Self {
            poll,
            listener,
            commands,
            emitter,
            conns: HashMap::new(),
            next_id: 1,
            reply: config.reply,
            max_clients: config.max_clients,
            accept_paused_until: None,
            repeat: None,
            file: None,
            buf: vec![0; RECV_BUFFER],
            unread_limit: config.unread_limit,
            unread: config.unread,
            starved: Vec::new(),
            queued_total: 0,
            output_budget: config.output_budget.max(1),
            held: Vec::new(),
            closing_stall: config.closing_stall,
            lingering: Vec::new(),
            kernel_next: Instant::now(),
            follows: VecDeque::new(),
        })
    }

    fn run(&mut self) -> ServerEnd {
        let mut events = Events::with_capacity(1024);
        loop {
            let mut timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            if !self.starved.is_empty() {
                // Nothing wakes us when the consumer catches up: look again soon.
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
            loop {
                match self.commands.try_recv() {
                    Ok(Input::Command(ServerCommand::Stop)) | Err(TryRecvError::Disconnected) => {
                        self.stop_all();
                        return ServerEnd::Stopped;
                    }
                    Ok(Input::Command(cmd)) => self.handle(cmd),
                    Err(TryRecvError::Empty) => break,
                }
            }
            self.timers();
            self.feed_starved();
            self.feed_held();
            self.kernel_tick();
        }
    }

    /// Reads one connection's kernel state now (something just happened to it); reports a
    /// change.
    fn kernel_read(&mut self, id: ClientId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Ok(info) = super::kernel::tcp_info(&conn.stream) else {
            return;
        };
        if conn.kernel != Some(info.state) {
            conn.kernel = Some(info.state);
            self.emitter.call(
                Some(id),
                CallKind::KernelState(info.state),
                CallOutcome::Done,
            );
            self.emitter.emit(ServerEvent::Kernel {
                client: id,
                state: info.state,
            });
        }
        // The full view (RTT, window) only at classroom scale, where it is also kept fresh;
        // ten thousand rows of it would be memory for numbers nobody can watch.
        let watched = self.conns.len() <= KERNEL_POLL_MAX_CLIENTS;
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if watched && conn.info != Some(info) {
            conn.info = Some(info);
            self.emitter
                .emit(ServerEvent::KernelInfo { client: id, info });
        }
    }

    /// Reads each connection's kernel state (TCP_INFO), and each recently closed one's
    /// (socket diagnostics); reports changes. Nothing where the kernel does not tell.
    fn kernel_tick(&mut self) {
        let now = Instant::now();
        if now < self.kernel_next {
            return;
        }
        self.kernel_next = now + KERNEL_POLL;
        if self.conns.len() <= KERNEL_POLL_MAX_CLIENTS {
            let mut ids: Vec<ClientId> = self.conns.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                self.kernel_read(id);
            }
        }
        if self.follows.is_empty() {
            return;
        }
        // One walk of the socket table for all of them.
        let pairs: Vec<_> = self.follows.iter().map(|f| (f.local, f.peer)).collect();
        let Ok(states) = super::kernel::states_of(&pairs) else {
            self.follows.clear();
            return;
        };
        let mut keep = VecDeque::new();
        for (mut f, state) in std::mem::take(&mut self.follows).into_iter().zip(states) {
            let state = state.unwrap_or(TcpState::Closed);
            if f.last != Some(state) {
                f.last = Some(state);
                self.emitter
                    .call(Some(f.id), CallKind::KernelState(state), CallOutcome::Done);
                self.emitter.emit(ServerEvent::Kernel {
                    client: f.id,
                    state,
                });
            }
            if state != TcpState::Closed && now < f.until {
                keep.push_back(f);
            }
        }
        self.follows = keep;
    }

    fn consumer_behind(&self) -> bool {
        self.unread_limit.is_some_and(|l| self.unread.get() >= l)
    }

    /// Reads the clients left unread while the consumer was behind, once it has caught up
    /// (to half the limit, so reading does not stutter at the edge).
    fn feed_starved(&mut self) {
        let Some(limit) = self.unread_limit else {
            return;
        };
        if self.starved.is_empty() || self.unread.get() >= limit / 2 {
            return;
        }
        for id in std::mem::take(&mut self.starved) {
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.starved = false;
                self.read_client(id);
            }
        }
    }

    /// Reads the clients held back by the output budget again, once the queues have drained
    /// to half of it.
    fn feed_held(&mut self) {
        if self.held.is_empty() || self.queued_total >= self.output_budget / 2 {
            return;
        }
        for id in std::mem::take(&mut self.held) {
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.held = false;
                self.tell_held(id);
                self.read_client(id);
            }
        }
    }

    /// Tells the panel when a client's reading stops or resumes for back-pressure.
    fn tell_held(&mut self, id: ClientId) {
        if let Some(conn) = self.conns.get_mut(&id) {
            let held = conn.paused || conn.held;
            if held != conn.told_held {
                conn.told_held = held;
                self.emitter
                    .emit(ServerEvent::HeldBack { client: id, held });
            }
        }
    }

    /// Closing clients that have read nothing for the closing stall are closed.
    fn check_lingering(&mut self) {
        let now = Instant::now();
        let mut stalled = Vec::new();
        self.lingering.retain(|id| match self.conns.get(id) {
            Some(c) if c.closing && !c.out.is_empty() => {
                if now.duration_since(c.moved) >= self.closing_stall {
                    stalled.push(*id);
                    false
                } else {
                    true
                }
            }
            _ => false,
        });
        for id in stalled {
            let queued = self.conns.get(&id).map_or(0, |c| c.queued);
            let err = NetError::new(
                super::NetErrorKind::Stalled,
                format!(
                    "it read nothing for {:.0} s; {queued} bytes still queued for it were dropped",
                    self.closing_stall.as_secs_f64()
                ),
            );
            self.close_client(id, ClientEnd::Failed(err), None);
        }
    }

    /// Stops reading a client and closes it once what is queued for it has gone out (or it
    /// stalls).
    fn close_after_flush(&mut self, id: ClientId) {
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.closing = true;
            conn.moved = Instant::now();
            if !self.lingering.contains(&id) {
                self.lingering.push(id);
            }
        }
        self.flush_client(id);
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
        if (!self.conns.is_empty() && self.conns.len() <= KERNEL_POLL_MAX_CLIENTS)
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
            if let Err(e) =
                self.poll
                    .registry()
                    .reregister(&mut self.listener, LISTENER, Interest::READABLE)
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
            self.send_to(&turn.to, turn.bytes, turn.origin);
            if turn.last {
                self.stop_repeat();
            }
        }
        self.pump_file();
    }

    fn accept_all(&mut self) {
        if self.accept_paused_until.is_some() {
            return;
        }
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    let over = self.max_clients.filter(|max| self.conns.len() >= *max);
                    let id = self.next_id;
                    self.next_id += 1;
                    self.emitter.call(
                        Some(id),
                        CallKind::Accept,
                        CallOutcome::Accepted {
                            fd: raw_fd(&stream),
                            peer,
                        },
                    );
                    if let Some(limit) = over {
                        drop(stream);
                        self.emitter
                            .call(Some(id), CallKind::Close, CallOutcome::Done);
                        self.emitter.emit(ServerEvent::Refused { peer, limit });
                        continue;
                    }
                    let token = Token(id as usize);
                    if let Err(e) =
                        self.poll
                            .registry()
                            .register(&mut stream, token, Interest::READABLE)
                    {
                        self.emitter
                            .emit(ServerEvent::Warning(NetError::from_io(&e)));
                        self.emitter
                            .call(Some(id), CallKind::Close, CallOutcome::Done);
                        continue;
                    }
                    self.conns.insert(
                        id,
                        Conn {
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
                        },
                    );
                    self.emitter
                        .emit(ServerEvent::Accepted { client: id, peer });
                    self.kernel_read(id);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted) => {}
                Err(e) => {
                    let err = NetError::from_io(&e);
                    self.emitter
                        .call(None, CallKind::Accept, CallOutcome::Failed(err.clone()));
                    self.emitter.emit(ServerEvent::Warning(err));
                    // Out of descriptors: the listener stays readable, so stop asking for a
                    // moment instead of spinning.
                    let _ = self.poll.registry().deregister(&mut self.listener);
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    break;
                }
            }
        }
    }

    fn read_client(&mut self, id: ClientId) {
        for _ in 0..READS_PER_TURN {
            let behind = self.consumer_behind();
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
            if conn.paused || conn.closing || conn.starved || conn.held {
                return;
            }
            if behind {
                conn.starved = true;
                self.starved.push(id);
                return;
            }
            let kind = CallKind::Recv {
                buf: self.buf.len(),
            };
            match conn.stream.read(&mut self.buf) {
                Ok(0) => {
                    self.emitter.call(Some(id), kind, CallOutcome::Bytes(0));
                    self.emitter.emit(ServerEvent::PeerClosed { client: id });
                    // The lesson's server closes when recv() returns 0. A half-closed client
                    // may still be waiting for its answer, so what is queued goes out first
                    // (for as long as the client reads it: see the closing stall).
                    self.kernel_read(id);
                    self.close_after_flush(id);
                    return;
                }
                Ok(n) => {
                    let data: Arc<[u8]> = self.buf[..n].into();
                    self.unread.received(n);
                    self.emitter.call(Some(id), kind, CallOutcome::Bytes(n));
                    let answer = self.reply.answer(&data);
                    self.emitter.emit(ServerEvent::Received {
                        client: id,
                        data: data.clone(),
                    });
                    if let Some(answer) = answer {
                        let bytes: Arc<[u8]> = match &self.reply {
                            AutoReply::Echo => data,
                            _ => answer.into(),
                        };
                        self.queue(id, bytes, SendOrigin::AutoReply);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let err = NetError::from_io(&e);
                    self.emitter
                        .call(Some(id), kind, CallOutcome::Failed(err.clone()));
                    self.close_client(id, ClientEnd::Failed(err), None);
                    return;
                }
            }
        }
        // More may be waiting: mio is edge-triggered, so come back to this client soon.
        // A zero-length write interest poke would be wasteful; re-registering re-arms it.
        if let Some(conn) = self.conns.get_mut(&id) {
            let interest = conn.interest;
            let _ = self
                .poll
                .registry()
                .reregister(&mut conn.stream, Token(id as usize), interest);
        }
    }

    /// Queues bytes for a client and writes what the kernel takes now.
    fn queue(&mut self, id: ClientId, bytes: Arc<[u8]>, origin: SendOrigin) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let len = bytes.len() as u64;
        let own_over = conn.queued + bytes.len() > MAX_QUEUED && conn.queued > 0;
        let all_over =
            self.queued_total + bytes.len() > self.output_budget && self.queued_total > 0;
        if (own_over || all_over) && matches!(origin, SendOrigin::AutoReply) {
            // An echo to a client that does not read: keep the answer (the queue goes over
            // by one reply at most) and stop reading the client until it catches up, so
            // nothing it sent is lost and memory stays bounded. The same when all queues
            // together are at the budget, until they have drained to half.
            conn.paused |= own_over;
            if all_over && !conn.held {
                conn.held = true;
                self.held.push(id);
            }
        } else if own_over || all_over {
            self.emitter
                .emit(ServerEvent::SendDropped { client: id, len });
            return;
        }
        conn.queued += bytes.len();
        self.queued_total += bytes.len();
        conn.out.push_back((bytes.clone(), 0));
        self.emitter.emit(ServerEvent::Sent {
            client: id,
            data: bytes,
            len,
            origin,
        });
        self.flush_client(id);
        self.tell_held(id);
    }

    fn flush_client(&mut self, id: ClientId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let mut failed = None;
        while let Some((chunk, offset)) = conn.out.front_mut() {
            let rest = &chunk[*offset..];
            match conn.stream.write(rest) {
                Ok(n) => {
                    self.emitter.call(
                        Some(id),
                        CallKind::Send { len: rest.len() },
                        CallOutcome::Bytes(n),
                    );
                    *offset += n;
                    conn.queued -= n;
                    self.queued_total -= n;
                    if n > 0 {
                        conn.moved = Instant::now();
                    }
                    if *offset >= chunk.len() {
                        conn.out.pop_front();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let err = NetError::from_io(&e);
                    self.emitter.call(
                        Some(id),
                        CallKind::Send { len: rest.len() },
                        CallOutcome::Failed(err.clone()),
                    );
                    failed = Some(err);
                    break;
                }
            }
        }
        if let Some(err) = failed {
            self.close_client(id, ClientEnd::Failed(err), None);
            return;
        }
        if conn.closing && conn.out.is_empty() {
            let end = if conn.kicked {
                ClientEnd::Kicked(KickHow::Graceful)
            } else {
                ClientEnd::PeerClosed
            };
            self.close_client(id, end, None);
            return;
        }
        let resume = conn.paused && conn.queued < MAX_QUEUED / 2;
        if resume {
            conn.paused = false;
        }
        let held_changed = conn.told_held != (conn.paused || conn.held);
        let wanted = if conn.out.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        if wanted != conn.interest || resume {
            conn.interest = wanted;
            let _ = self
                .poll
                .registry()
                .reregister(&mut conn.stream, Token(id as usize), wanted);
        }
        if held_changed {
            self.tell_held(id);
        }
    }

    fn close_client(&mut self, id: ClientId, end: ClientEnd, how: Option<KickHow>) {
        let Some(mut conn) = self.conns.remove(&id) else {
            return;
        };
        self.queued_total -= conn.queued;
        if conn.held {
            // Held back when it went: it leaves the list now, not when the queues drain.
            self.held.retain(|h| *h != id);
        }
        let _ = self.poll.registry().deregister(&mut conn.stream);
        if how == Some(KickHow::Abortive) {
            let outcome = match SockRef::from(&conn.stream).set_linger(Some(Duration::ZERO)) {
                Ok(()) => CallOutcome::Done,
                Err(e) => CallOutcome::Failed(NetError::from_io(&e)),
            };
            self.emitter.call(
                Some(id),
                CallKind::SetOption {
                    name: "SO_LINGER",
                    value: "{on, 0 s}".into(),
                },
                outcome,
            );
        }
        let ends = (conn.stream.local_addr(), conn.stream.peer_addr());
        let followed =
            self.conns.len() < KERNEL_POLL_MAX_CLIENTS && super::kernel::availability().available();
        drop(conn);
        if self.conns.is_empty() {
            // The last client has gone: what its queues took goes back to the system.
            super::sys::release_free_memory();
        }
        self.emitter
            .call(Some(id), CallKind::Close, CallOutcome::Done);
        self.emitter
            .emit(ServerEvent::ClientClosed { client: id, end });
        if followed && let (Ok(local), Ok(peer)) = ends {
            if self.follows.len() >= FOLLOW_MAX {
                self.follows.pop_front();
            }
            self.follows.push_back(Follow {
                id,
                local,
                peer,
                last: None,
                until: Instant::now() + FOLLOW_FOR,
            });
            // Look soon: FIN_WAIT2 or CLOSE_WAIT is worth showing before TIME_WAIT.
            self.kernel_next = self
                .kernel_next
                .min(Instant::now() + Duration::from_millis(20));
        }
    }

    fn targets(&self, to: &Target) -> Vec<ClientId> {
        match to {
            Target::All => {
                let mut ids: Vec<ClientId> = self.conns.keys().copied().collect();
                ids.sort_unstable();
                ids
            }
            Target::Clients(ids) => ids
                .iter()
                .copied()
                .filter(|id| self.conns.contains_key(id))
                .collect(),
        }
    }

    fn send_to(&mut self, to: &Target, bytes: Arc<[u8]>, origin: SendOrigin) {
        for id in self.targets(to) {
            self.queue(id, bytes.clone(), origin.clone());
        }
    }

    fn handle(&mut self, cmd: ServerCommand) {
        match cmd {
            ServerCommand::Send { to, bytes } => {
                self.send_to(&to, bytes.into(), SendOrigin::Typed);
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
            ServerCommand::SetAutoReply(reply) => self.reply = reply,
            ServerCommand::SetMaxClients(max) => self.max_clients = max,
            ServerCommand::Stop => {}
        }
    }

    fn stop_repeat(&mut self) {
        if let Some(run) = self.repeat.take() {
            self.emitter.emit(ServerEvent::Progress(run.stopped()));
        }
    }

    fn start_file(&mut self, to: &Target, path: PathBuf) {
        self.finish_file();
        match FileSource::open(path) {
            Ok(source) => {
                self.file = Some(FileJob {
                    source,
                    targets: self.targets(to),
                });
                self.pump_file();
            }
            Err(err) => self.emitter.emit(ServerEvent::Warning(err)),
        }
    }

    /// Feeds the next chunks of a file to its targets while their queues are short.
    fn pump_file(&mut self) {
        loop {
            let Some(job) = &mut self.file else { return };
            job.targets.retain(|id| self.conns.contains_key(id));
            if job.targets.is_empty() {
                self.finish_file();
                return;
            }
            let ready = job
                .targets
                .iter()
                .all(|id| self.conns.get(id).is_some_and(|c| c.queued < FILE_FEED));
            if !ready {
                return;
            }
            let mut chunk = vec![0u8; RECV_BUFFER];
            let n = match job.source.read(&mut chunk) {
                Ok(0) => {
                    self.finish_file();
                    return;
                }
                Ok(n) => n,
                Err(err) => {
                    self.emitter.emit(ServerEvent::Warning(err));
                    self.finish_file();
                    return;
                }
            };
            chunk.truncate(n);
            let origin = job.source.origin(false);
            let targets = job.targets.clone();
            if let Some(progress) = job.source.count(n) {
                self.emitter.emit(ServerEvent::Progress(progress));
            }
            let bytes: Arc<[u8]> = chunk.into();
            for id in targets {
                self.queue(id, bytes.clone(), origin.clone());
            }
        }
    }

    fn finish_file(&mut self) {
        if let Some(job) = self.file.take() {
            self.emitter
                .emit(ServerEvent::Progress(job.source.progress(true)));
        }
    }

    /// Closes every client, then the listening socket.
    fn stop_all(&mut self) {
        self.stop_repeat();
        self.finish_file();
        let mut ids: Vec<ClientId> = self.conns.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(conn) = self.conns.get_mut(&id) {
                let _ = conn.stream.shutdown(Shutdown::Write);
            }
            self.close_client(id, ClientEnd::ServerStopped, None);
        }
        let _ = self.poll.registry().deregister(&mut self.listener);
        self.emitter.call(None, CallKind::Close, CallOutcome::Done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_reply_rules() {
        let rules = AutoReply::Rules {
            rules: vec![
                ReplyRule {
                    matcher: Matcher::Contains(b"ping".to_vec()),
                    reply: b"pong".to_vec(),
                },
                ReplyRule {
                    matcher: Matcher::Regex(regex::Regex::new("^你好").unwrap()),
                    reply: b"hi".to_vec(),
                },
            ],
            encoding: TextEncoding::Gbk,
        };
        type Case<'a> = (&'a AutoReply, &'a [u8], Option<&'a [u8]>);
        let cases: &[Case] = &[
            (&AutoReply::Off, b"x", None),
            (&AutoReply::Echo, b"x", Some(b"x")),
            (&AutoReply::Fixed(b"ok".to_vec()), b"x", Some(b"ok")),
            (&rules, b"a ping b", Some(b"pong")),
            (&rules, &[0xC4, 0xE3, 0xBA, 0xC3, b'!'], Some(b"hi")),
            (&rules, b"nothing", None),
        ];
        for (reply, input, want) in cases {
            assert_eq!(reply.answer(input).as_deref(), *want, "{input:?}");
        }
    }
}
