//! The UDP engine: one socket, no connection. `sendto()` names the target of every datagram,
//! `recvfrom()` says who sent each one, and message boundaries are kept: one datagram, one
//! log entry. Broadcast (SO_BROADCAST) and multicast (join/leave a group, TTL, loopback) are
//! socket options, changed while the socket lives.
//!
//! Two threads, as for the TCP client: the worker carries out commands (send, options, close)
//! and the reader does nothing but `recvfrom()`, so datagrams are reported the moment they
//! arrive. The reader wakes every [`READ_SLICE`] to notice a close, and once a second reads the
//! kernel's count of datagrams it dropped for this socket because the receive buffer was full
//! (Linux: the `drops` column of /proc/net/udp, the same counter SO_RXQ_OVFL reports).
//!
//! "Nobody is listening there": on Linux the socket asks for ICMP errors (IP_RECVERR), so a
//! port-unreachable answer to a datagram we sent surfaces as a refused error on the next
//! `recvfrom()` — without it, an unconnected UDP socket never hears of it. Each error is then
//! read from the socket's error queue (`recvmsg(MSG_ERRQUEUE)`), which names the destination
//! of the datagram that caused it and keeps old errors from filling the receive buffer. A
//! pending error can also fail the *next* `sendto()`, whatever its target: that datagram is
//! sent again once the error has been reported for the datagram it belongs to. An order lock
//! keeps cause before effect in the trace: `sendto()`, then the `recvfrom()` failure.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::engine::{self, Command, Engine, Input};
use super::send::{FileSource, Repeat};
use flume::{Receiver, RecvTimeoutError, Sender};
use socket2::{Domain, Protocol, Socket, Type};

use super::sys;
use super::tcp_client::{CloseReason, normalize_host};
use super::trace::Family;
use super::{CallKind, CallOutcome, NetError, NetErrorKind, SocketCall, Tagged, Waker};

/// Largest UDP payload over IPv4 (65,535 − 8 UDP header − 20 IP header).
pub const MAX_DATAGRAM_V4: usize = 65_507;
/// Largest UDP payload over IPv6 without jumbograms (65,535 − 8 UDP header).
pub const MAX_DATAGRAM_V6: usize = 65_527;
/// How long a blocked `recvfrom()` waits before the reader checks whether to stop.
/// How long a send waits for its destination's name to be looked up.
const UDP_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
const READ_SLICE: Duration = Duration::from_millis(100);
/// Datagram size when a file is sent over UDP.
pub const FILE_DATAGRAM: usize = 1024;

#[derive(Debug, Clone)]
pub struct UdpConfig {
    pub bind: SocketAddr,
    /// The socket was bound only because something was sent before Bind was clicked.
    pub auto: bool,
    pub broadcast: bool,
    pub multicast_ttl: u32,
    pub multicast_loop: bool,
    /// Interface for outgoing multicast (IPv4).
    pub multicast_if: Option<Ipv4Addr>,
    /// SO_RCVBUF, for showing what a small buffer does under a burst.
    pub recv_buffer: Option<usize>,
    /// Send every datagram received back to its sender (used by the command line).
    pub echo: bool,
    /// Stop reading while the consumer holds this much it has not applied yet (see
    /// [`super::flow`]): the kernel's buffer fills, and its drops are counted. None: read
    /// freely.
    pub unread_limit: Option<usize>,
    /// Shared with the consumer, which calls [`super::flow::Unread::taken`] for each
    /// `Received` it applies.
    pub unread: super::flow::Unread,
}

impl UdpConfig {
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            auto: false,
            broadcast: false,
            multicast_ttl: 1,
            multicast_loop: true,
            multicast_if: None,
            recv_buffer: None,
            echo: false,
            unread_limit: None,
            unread: super::flow::Unread::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum UdpCommand {
    /// Send one datagram to `to` (`HOST:PORT`, resolved by the worker).
    SendTo {
        to: String,
        bytes: Vec<u8>,
    },
    Repeat {
        to: String,
        bytes: Vec<u8>,
        interval: Duration,
        count: Option<u64>,
    },
    StopRepeat,
    /// Send a file as datagrams of [`FILE_DATAGRAM`] bytes.
    SendFile {
        to: String,
        path: PathBuf,
    },
    CancelFile,
    SetBroadcast(bool),
    Join {
        group: IpAddr,
        iface: IpAddr,
    },
    Leave {
        group: IpAddr,
        iface: IpAddr,
    },
    SetMulticastTtl(u32),
    SetMulticastLoop(bool),
    SetMulticastIf(Ipv4Addr),
    Close,
}

pub use super::send::{FileProgress, SendOrigin, SendProgress};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpEvent {
    Call(SocketCall),
    Bound {
        local: SocketAddr,
        auto: bool,
    },
    Received {
        from: SocketAddr,
        data: Arc<[u8]>,
    },
    Sent {
        to: SocketAddr,
        data: Arc<[u8]>,
        origin: SendOrigin,
    },
    Broadcast(bool),
    Joined {
        group: IpAddr,
        iface: IpAddr,
    },
    Left {
        group: IpAddr,
        iface: IpAddr,
    },
    /// Datagrams the kernel dropped for this socket (receive buffer full), in total.
    Drops(u64),
    /// A repeat run or a file send moved on.
    Progress(SendProgress),
    /// A send or option failed; the socket lives on.
    Warning(NetError),
    Closed {
        reason: CloseReason,
    },
}

pub type UdpMsg = Tagged<UdpEvent>;

/// The worker's inputs: the caller's commands and the reader's failure.
type WorkerMsg = Input<UdpCommand, ReaderFailed>;

/// The reader saw an error it cannot get past.
pub struct ReaderFailed(NetError);

impl Command for UdpCommand {
    fn stop() -> Self {
        UdpCommand::Close
    }
}

/// The UI's grip on one bound socket (see [`super::engine`]).
pub type UdpHandle = Engine<UdpCommand, ReaderFailed>;

type Emitter = engine::Emitter<UdpEvent>;

impl Emitter {
    fn call(&self, kind: CallKind, outcome: CallOutcome) {
        self.emit(UdpEvent::Call(SocketCall::now(kind, outcome)));
    }

    fn option(&self, name: &'static str, value: String, result: io::Result<()>) -> bool {
        let outcome = match result {
            Ok(()) => CallOutcome::Done,
            Err(e) => CallOutcome::Failed(NetError::from_io(&e)),
        };
        let ok = outcome == CallOutcome::Done;
        if let CallOutcome::Failed(err) = &outcome {
            self.emit(UdpEvent::Warning(err.clone()));
        }
        self.call(CallKind::SetOption { name, value }, outcome);
        ok
    }
}

/// Opens and binds the socket; `Bound` (with the real port) or `Closed { Failed }` follows.
pub fn spawn_udp(config: UdpConfig, events: Sender<UdpMsg>, waker: Waker) -> io::Result<UdpHandle> {
    engine::spawn("udp", events, waker, None, move |emitter, control| {
        let (rx, reader_tx) = control.into_channel();
        let reason = match open(&config, &emitter) {
            Ok(socket) => Worker::new(socket, config, emitter.clone(), rx).run(reader_tx),
            Err(err) => CloseReason::Failed(err),
        };
        emitter.emit(UdpEvent::Closed { reason });
    })
}

fn descriptor(socket: &Socket) -> CallOutcome {
    CallOutcome::Descriptor(sys::descriptor(socket.into()))
}

fn open(config: &UdpConfig, emitter: &Emitter) -> Result<UdpSocket, NetError> {
    let addr = config.bind;
    let family = Family::of(&addr);
    let kind = CallKind::Socket {
        family,
        datagram: true,
    };
    let socket = match Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)) {
        Ok(s) => s,
        Err(e) => {
            let err = NetError::from_io(&e);
            emitter.call(kind, CallOutcome::Failed(err.clone()));
            return Err(err);
        }
    };
    emitter.call(kind, descriptor(&socket));
    if let Some((name, result)) = sys::report_udp_unreachable(&socket, addr.is_ipv6()) {
        emitter.option(name, "1".into(), result);
    }
    if let Some(size) = config.recv_buffer {
        emitter.option(
            "SO_RCVBUF",
            size.to_string(),
            socket.set_recv_buffer_size(size),
        );
    }
    if config.broadcast {
        emitter.option("SO_BROADCAST", "1".into(), socket.set_broadcast(true));
    }
    if addr.is_ipv4() {
        emitter.option(
            "IP_MULTICAST_TTL",
            config.multicast_ttl.to_string(),
            socket.set_multicast_ttl_v4(config.multicast_ttl),
        );
        emitter.option(
            "IP_MULTICAST_LOOP",
            u8::from(config.multicast_loop).to_string(),
            socket.set_multicast_loop_v4(config.multicast_loop),
        );
        if let Some(iface) = config.multicast_if {
            emitter.option(
                "IP_MULTICAST_IF",
                iface.to_string(),
                socket.set_multicast_if_v4(&iface),
            );
        }
    } else {
        emitter.option(
            "IPV6_MULTICAST_HOPS",
            config.multicast_ttl.to_string(),
            socket.set_multicast_hops_v6(config.multicast_ttl),
        );
        emitter.option(
            "IPV6_MULTICAST_LOOP",
            u8::from(config.multicast_loop).to_string(),
            socket.set_multicast_loop_v6(config.multicast_loop),
        );
    }
    if let Err(e) = socket.bind(&addr.into()) {
        let err = NetError::from_io(&e);
        emitter.call(CallKind::Bind { addr }, CallOutcome::Failed(err.clone()));
        emitter.call(CallKind::Close, CallOutcome::Done);
        return Err(err);
    }
    let local = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .unwrap_or(addr);
    emitter.call(CallKind::Bind { addr }, CallOutcome::Bound { local });
    emitter.emit(UdpEvent::Bound {
        local,
        auto: config.auto,
    });
    Ok(socket.into())
}

/// The kernel's count of datagrams it dropped for the UDP socket bound to `local` (a full
/// receive buffer), where the system tells it (Linux); see [`sys::UDP_DROPS`].
pub fn kernel_drops(local: SocketAddr) -> Option<u64> {
    sys::udp_drops(local)
}

struct Worker {
    socket: UdpSocket,
    local: Option<SocketAddr>,
    emitter: Emitter,
    commands: Receiver<WorkerMsg>,
    broadcast: bool,
    /// Last resolved target, so a name is looked up once, not per datagram.
    resolved: Option<(String, SocketAddr)>,
    repeat: Option<Repeat<String>>,
    closing: Arc<AtomicBool>,
    shared: Shared,
    echo: bool,
    flow: (super::flow::Unread, Option<usize>),
    /// Commands that arrived while a file was being sent, to be acted on after it.
    pending: std::collections::VecDeque<WorkerMsg>,
}

/// What the worker and the reader share.
#[derive(Clone, Default)]
struct Shared {
    /// The last target we sent to, to name it when "port unreachable" comes back where the
    /// error queue cannot say (systems other than Linux).
    last_target: Arc<Mutex<Option<SocketAddr>>>,
    /// Order lock: held by whoever makes a call across the call and its events, so the
    /// trace lists a `sendto()` before the `recvfrom()` failure it caused (on loopback the
    /// ICMP answer arrives while `sendto()` is still running).
    order: Arc<Mutex<()>>,
}

impl Shared {
    fn ordered(&self) -> std::sync::MutexGuard<'_, ()> {
        self.order.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Worker {
    fn new(
        socket: UdpSocket,
        config: UdpConfig,
        emitter: Emitter,
        commands: Receiver<WorkerMsg>,
    ) -> Self {
        Self {
            local: socket.local_addr().ok(),
            socket,
            emitter,
            commands,
            broadcast: config.broadcast,
            resolved: None,
            repeat: None,
            closing: Arc::new(AtomicBool::new(false)),
            shared: Shared::default(),
            echo: config.echo,
            flow: (config.unread.clone(), config.unread_limit),
            pending: std::collections::VecDeque::new(),
        }
    }

    fn run(mut self, reader_tx: Sender<WorkerMsg>) -> CloseReason {
        let reader = match self.start_reader(reader_tx) {
            Ok(r) => r,
            Err(err) => {
                self.emitter.call(CallKind::Close, CallOutcome::Done);
                return CloseReason::Failed(err);
            }
        };
        let reason = loop {
            let msg = match (self.pending.pop_front(), &self.repeat) {
                (Some(msg), _) => Ok(msg),
                (None, Some(run)) => self
                    .commands
                    .recv_timeout(run.next_at().saturating_duration_since(Instant::now())),
                (None, None) => self
                    .commands
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Ok(Input::Command(UdpCommand::Close)) | Err(RecvTimeoutError::Disconnected) => {
                    break CloseReason::Local;
                }
                Ok(Input::Command(cmd)) => self.handle(cmd),
                Ok(Input::Internal(ReaderFailed(err))) => break CloseReason::Failed(err),
                Err(RecvTimeoutError::Timeout) => self.repeat_tick(),
            }
        };
        self.stop_repeat();
        self.closing.store(true, Ordering::SeqCst);
        let _ = reader.join();
        drop(self.socket);
        self.emitter.call(CallKind::Close, CallOutcome::Done);
        reason
    }

    fn start_reader(&self, worker: Sender<WorkerMsg>) -> Result<JoinHandle<()>, NetError> {
        let socket = self.socket.try_clone().map_err(|e| NetError::from_io(&e))?;
        socket
            .set_read_timeout(Some(READ_SLICE))
            .map_err(|e| NetError::from_io(&e))?;
        let emitter = self.emitter.clone();
        let closing = self.closing.clone();
        let shared = self.shared.clone();
        let local = self.local;
        let echo = self.echo;
        let flow = self.flow.clone();
        std::thread::Builder::new()
            .name(format!("udp-{}-rx", self.emitter.session()))
            .spawn(move || {
                read_loop(
                    socket, &emitter, &closing, &shared, local, echo, &worker, &flow,
                )
            })
            .map_err(|e| NetError::from_io(&e))
    }

    fn handle(&mut self, cmd: UdpCommand) {
        match cmd {
            UdpCommand::SendTo { to, bytes } => {
                self.send(&to, bytes.into(), SendOrigin::Typed);
            }
            UdpCommand::Repeat {
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
                    .emit(UdpEvent::Progress(SendProgress::repeat_started()));
            }
            UdpCommand::StopRepeat => self.stop_repeat(),
            UdpCommand::SendFile { to, path } => self.send_file(&to, path),
            UdpCommand::CancelFile => {}
            UdpCommand::SetBroadcast(on) => {
                if self.emitter.option(
                    "SO_BROADCAST",
                    u8::from(on).to_string(),
                    socket2::SockRef::from(&self.socket).set_broadcast(on),
                ) {
                    self.broadcast = on;
                    self.emitter.emit(UdpEvent::Broadcast(on));
                }
            }
            UdpCommand::Join { group, iface } => self.membership(group, iface, true),
            UdpCommand::Leave { group, iface } => self.membership(group, iface, false),
            UdpCommand::SetMulticastTtl(ttl) => {
                if self.local.is_some_and(|l| l.is_ipv6()) {
                    let r = socket2::SockRef::from(&self.socket).set_multicast_hops_v6(ttl);
                    self.emitter
                        .option("IPV6_MULTICAST_HOPS", ttl.to_string(), r);
                } else {
                    let r = self.socket.set_multicast_ttl_v4(ttl);
                    self.emitter.option("IP_MULTICAST_TTL", ttl.to_string(), r);
                }
            }
            UdpCommand::SetMulticastLoop(on) => {
                let r = if self.local.is_some_and(|l| l.is_ipv6()) {
                    self.socket.set_multicast_loop_v6(on)
                } else {
                    self.socket.set_multicast_loop_v4(on)
                };
                self.emitter
                    .option("IP_MULTICAST_LOOP", u8::from(on).to_string(), r);
            }
            UdpCommand::SetMulticastIf(iface) => {
                let r = socket2::SockRef::from(&self.socket).set_multicast_if_v4(&iface);
                self.emitter.option("IP_MULTICAST_IF", iface.to_string(), r);
            }
            UdpCommand::Close => {}
        }
    }

    fn membership(&mut self, group: IpAddr, iface: IpAddr, join: bool) {
        if !group.is_multicast() {
            self.emitter.emit(UdpEvent::Warning(NetError::new(
                NetErrorKind::NotMulticast,
                group.to_string(),
            )));
            return;
        }
        let (name, result) = match (group, iface) {
            (IpAddr::V4(g), IpAddr::V4(i)) => {
                if join {
                    ("IP_ADD_MEMBERSHIP", self.socket.join_multicast_v4(&g, &i))
                } else {
                    ("IP_DROP_MEMBERSHIP", self.socket.leave_multicast_v4(&g, &i))
                }
            }
            (IpAddr::V6(g), _) => {
                // IPv6 names the interface by its index: the chosen address's interface (the
                // unspecified address, or an IPv4 one, lets the system choose: index 0).
                let name = if join {
                    "IPV6_JOIN_GROUP"
                } else {
                    "IPV6_LEAVE_GROUP"
                };
                let index = match iface {
                    IpAddr::V6(a) if !a.is_unspecified() => super::ifaces::index_of(a),
                    _ => Ok(0),
                };
                let shown = match &index {
                    Ok(i) => format!("{group} on {iface} (interface {i})"),
                    Err(_) => format!("{group} on {iface}"),
                };
                let result = index.and_then(|index| {
                    if join {
                        self.socket.join_multicast_v6(&g, index)
                    } else {
                        self.socket.leave_multicast_v6(&g, index)
                    }
                });
                if self.emitter.option(name, shown, result) {
                    self.emitter.emit(if join {
                        UdpEvent::Joined { group, iface }
                    } else {
                        UdpEvent::Left { group, iface }
                    });
                }
                return;
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => (
                "IP_ADD_MEMBERSHIP",
                Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an IPv4 group needs an IPv4 interface address",
                )),
            ),
        };
        if self
            .emitter
            .option(name, format!("{group} on {iface}"), result)
        {
            self.emitter.emit(if join {
                UdpEvent::Joined { group, iface }
            } else {
                UdpEvent::Left { group, iface }
            });
        }
    }

    fn resolve(&mut self, to: &str) -> Result<SocketAddr, NetError> {
        if let Some((text, addr)) = &self.resolved
            && text == to
        {
            return Ok(*addr);
        }
        let target = to.trim();
        if let Ok(addr) = target.parse::<SocketAddr>() {
            self.resolved = Some((to.to_owned(), addr));
            return Ok(addr);
        }
        let (host, port) = super::split_host_port(target)?;
        let host = normalize_host(&host).to_owned();
        if let Ok(ip) = host.parse::<IpAddr>() {
            let addr = SocketAddr::new(ip, port);
            self.resolved = Some((to.to_owned(), addr));
            return Ok(addr);
        }
        let kind = CallKind::Resolve {
            host: host.clone(),
            port,
        };
        let want_v6 = self.local.is_some_and(|l| l.is_ipv6());
        // The UDP loop waits for this: at most a few seconds, not the resolver's own retries.
        match super::resolve::lookup(&host, port, UDP_LOOKUP_TIMEOUT) {
            Ok(addrs) => {
                // The socket's family decides: an IPv4 socket cannot send to an IPv6 address.
                match addrs.iter().find(|a| a.is_ipv6() == want_v6).copied() {
                    Some(addr) => {
                        self.emitter.call(kind, CallOutcome::Addrs(addrs));
                        self.resolved = Some((to.to_owned(), addr));
                        Ok(addr)
                    }
                    None => {
                        let err = NetError::new(NetErrorKind::NameNotResolved, host);
                        self.emitter.call(kind, CallOutcome::Failed(err.clone()));
                        Err(err)
                    }
                }
            }
            Err(err) => {
                self.emitter.call(kind, CallOutcome::Failed(err.clone()));
                Err(err)
            }
        }
    }

    /// Sends one datagram; false if it could not be sent (the warning says why).
    fn send(&mut self, to: &str, bytes: Arc<[u8]>, origin: SendOrigin) -> bool {
        let target = match self.resolve(to) {
            Ok(t) => t,
            Err(err) => {
                self.emitter.emit(UdpEvent::Warning(err));
                return false;
            }
        };
        send_datagram(
            &self.socket,
            &self.emitter,
            target,
            bytes,
            origin,
            self.broadcast,
            &self.shared,
        )
    }

    fn stop_repeat(&mut self) {
        if let Some(run) = self.repeat.take() {
            self.emitter.emit(UdpEvent::Progress(run.stopped()));
        }
    }

    fn repeat_tick(&mut self) {
        let Some(run) = &mut self.repeat else { return };
        let turn = run.turn();
        let sent = self.send(&turn.to, turn.bytes, turn.origin);
        if turn.last || !sent {
            self.stop_repeat();
        }
    }

    fn send_file(&mut self, to: &str, path: PathBuf) {
        let mut file = match FileSource::open(path) {
            Ok(f) => f,
            Err(err) => {
                self.emitter.emit(UdpEvent::Warning(err));
                return;
            }
        };
        let mut buf = vec![0u8; FILE_DATAGRAM];
        loop {
            // Cancel ends the file; Close (or the reader failing) ends it and is acted on
            // after it; anything else waits its turn. Nothing is dropped.
            let mut stop = false;
            while let Ok(m) = self.commands.try_recv() {
                match m {
                    Input::Command(UdpCommand::CancelFile) => stop = true,
                    Input::Command(UdpCommand::Close) | Input::Internal(ReaderFailed(_)) => {
                        stop = true;
                        self.pending.push_back(m);
                    }
                    other => self.pending.push_back(other),
                }
            }
            if stop {
                break;
            }
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) => {
                    self.emitter.emit(UdpEvent::Warning(err));
                    break;
                }
            };
            if !self.send(to, buf[..n].into(), file.origin(false)) {
                break;
            }
            if let Some(progress) = file.count(n) {
                self.emitter.emit(UdpEvent::Progress(progress));
            }
        }
        self.emitter.emit(UdpEvent::Progress(file.progress(true)));
    }
}

/// Echoes a second, at most (in a burst of up to as many): two programs that both echo
/// would otherwise answer each other for ever, as fast as the network allows.
pub const ECHO_RATE: u32 = 500;

/// A token bucket of [`ECHO_RATE`] echoes a second, and a count of the datagrams it held
/// back, reported at most once a second.
struct EchoLimit {
    tokens: f64,
    last: Instant,
    unechoed: u64,
    reported: Instant,
}

impl EchoLimit {
    fn new() -> Self {
        Self {
            tokens: f64::from(ECHO_RATE),
            last: Instant::now(),
            unechoed: 0,
            reported: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        let rate = f64::from(ECHO_RATE);
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * rate).min(rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.unechoed += 1;
            false
        }
    }

    /// Datagrams held back since the last report, once a second at most.
    fn report(&mut self) -> Option<u64> {
        if self.unechoed == 0 || self.reported.elapsed() < Duration::from_secs(1) {
            return None;
        }
        self.reported = Instant::now();
        Some(std::mem::take(&mut self.unechoed))
    }
}

/// One `sendto()`, with the checks and plain-words errors UDP needs.
fn send_datagram(
    socket: &UdpSocket,
    emitter: &Emitter,
    to: SocketAddr,
    bytes: Arc<[u8]>,
    origin: SendOrigin,
    broadcast: bool,
    shared: &Shared,
) -> bool {
    let limit = if to.is_ipv4() {
        MAX_DATAGRAM_V4
    } else {
        MAX_DATAGRAM_V6
    };
    if bytes.len() > limit {
        emitter.emit(UdpEvent::Warning(NetError::new(
            NetErrorKind::DatagramTooLarge,
            format!("{} > {limit}", bytes.len()),
        )));
        return false;
    }
    let kind = CallKind::SendTo {
        len: bytes.len(),
        to,
    };
    let _order = shared.ordered();
    if let Ok(mut last) = shared.last_target.lock() {
        *last = Some(to);
    }
    let mut result = socket.send_to(&bytes, to);
    if result.is_err() && report_queued_errors(socket, emitter, &kind_of_recv()) > 0 {
        // Linux hands a pending error to whichever call comes next: this error belongs to an
        // earlier datagram (now reported with its own target), not to this one. Again.
        result = socket.send_to(&bytes, to);
    }
    match result {
        Ok(n) => {
            emitter.call(kind, CallOutcome::Bytes(n));
            emitter.emit(UdpEvent::Sent {
                to,
                data: bytes,
                origin,
            });
            true
        }
        Err(e) => {
            let mut err = NetError::from_io(&e);
            if e.kind() == io::ErrorKind::PermissionDenied && !broadcast {
                err.kind = NetErrorKind::BroadcastNotEnabled;
            } else if sys::is_udp_unreachable(&e) {
                err.kind = NetErrorKind::NobodyListening;
            }
            emitter.call(kind, CallOutcome::Failed(err.clone()));
            emitter.emit(UdpEvent::Warning(err));
            false
        }
    }
}

/// Size of the reader's buffer: one byte more than the largest datagram, so nothing is ever
/// cut short.
const RECV_BUF: usize = MAX_DATAGRAM_V6 + 1;

fn kind_of_recv() -> CallKind {
    CallKind::RecvFrom { buf: RECV_BUF }
}

/// Reads the socket's error queue (Linux, IP_RECVERR): one entry per ICMP error, with the
/// destination of the datagram that caused it. Each is reported as a failed `recvfrom()` and a
/// warning naming that destination. Reading the queue also keeps it from filling the receive
/// buffer, which would make the kernel drop every datagram that arrives. Returns how many
/// were reported (always 0 where the system has no error queue). Call with the order lock held.
fn report_queued_errors(socket: &UdpSocket, emitter: &Emitter, kind: &CallKind) -> usize {
    let mut reported = 0;
    // Bounded: the queue is bounded by the receive buffer; this only guards against a bug.
    for _ in 0..10_000 {
        let Some((error, target)) = sys::udp_queued_error(socket) else {
            break;
        };
        let mut err = NetError::from_io(&error);
        if error.kind() == io::ErrorKind::ConnectionRefused {
            err.kind = NetErrorKind::NobodyListening;
        }
        err.detail = target.map(|t| t.to_string()).unwrap_or_default();
        emitter.call(kind.clone(), CallOutcome::Failed(err.clone()));
        emitter.emit(UdpEvent::Warning(err));
        reported += 1;
    }
    reported
}

#[allow(clippy::too_many_arguments)]
fn read_loop(
    socket: UdpSocket,
    emitter: &Emitter,
    closing: &AtomicBool,
    shared: &Shared,
    local: Option<SocketAddr>,
    echo: bool,
    worker: &Sender<WorkerMsg>,
    (unread, limit): &(super::flow::Unread, Option<usize>),
) {
    let mut buf = vec![0u8; RECV_BUF];
    let kind = kind_of_recv();
    let mut drops_seen = local.and_then(kernel_drops).unwrap_or(0);
    let mut drops_checked = Instant::now();
    let mut failures = 0u32;
    let mut echo_limit = EchoLimit::new();
    while !closing.load(Ordering::SeqCst) {
        // The consumer is behind: stop reading; the kernel's buffer takes the rest (or
        // drops it, and the drop count says so).
        if !unread.wait_below(*limit, closing) {
            break;
        }
        if let Some(unechoed) = echo_limit.report() {
            emitter.emit(UdpEvent::Warning(NetError::new(
                NetErrorKind::EchoLimited,
                format!("{unechoed} datagrams not echoed"),
            )));
        }
        if drops_checked.elapsed() >= Duration::from_secs(1) {
            drops_checked = Instant::now();
            if let Some(drops) = local.and_then(kernel_drops)
                && drops != drops_seen
            {
                drops_seen = drops;
                emitter.emit(UdpEvent::Drops(drops));
            }
        }
        let result = socket.recv_from(&mut buf);
        match result {
            Ok((n, from)) => {
                failures = 0;
                unread.received(n);
                let data: Arc<[u8]> = buf[..n].into();
                {
                    let _order = shared.ordered();
                    emitter.call(kind.clone(), CallOutcome::Datagram { n, from });
                    emitter.emit(UdpEvent::Received {
                        from,
                        data: data.clone(),
                    });
                }
                if echo && echo_limit.allow() {
                    send_datagram(&socket, emitter, from, data, SendOrigin::Echo, true, shared);
                }
            }
            Err(e) if super::is_wait(&e) => {}
            Err(e) if sys::is_udp_unreachable(&e) => {
                // The ICMP answer to an earlier datagram: nobody was listening there (Windows
                // says WSAECONNRESET, and the socket carries on). The error queue names the
                // datagram's destination; where there is none (other systems), the last
                // target is the best guess. If the queue is empty, the worker has already
                // reported this error (its sendto() got it).
                let _order = shared.ordered();
                if report_queued_errors(&socket, emitter, &kind) == 0
                    && sys::UDP_UNREACHABLE != sys::UdpUnreachable::WithTarget
                {
                    let target = shared
                        .last_target
                        .lock()
                        .ok()
                        .and_then(|t| *t)
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                    let err = NetError::new(NetErrorKind::NobodyListening, target);
                    emitter.call(kind.clone(), CallOutcome::Failed(err.clone()));
                    emitter.emit(UdpEvent::Warning(err));
                }
            }
            Err(e) => {
                let err = NetError::from_io(&e);
                let _order = shared.ordered();
                if report_queued_errors(&socket, emitter, &kind) > 0 {
                    // An ICMP error about an earlier datagram, now reported with its target.
                    continue;
                }
                emitter.call(kind.clone(), CallOutcome::Failed(err.clone()));
                failures += 1;
                if failures > 10 {
                    let _ = worker.send(Input::Internal(ReaderFailed(err)));
                    return;
                }
                emitter.emit(UdpEvent::Warning(err));
            }
        }
    }
    // Drops in the last second before closing would otherwise never be reported.
    if let Some(drops) = local.and_then(kernel_drops)
        && drops != drops_seen
    {
        emitter.emit(UdpEvent::Drops(drops));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_the_protocol_ones() {
        assert_eq!(MAX_DATAGRAM_V4, 65_535 - 8 - 20);
        assert_eq!(MAX_DATAGRAM_V6, 65_535 - 8);
    }
}
