//! One-click scenarios of the lesson, run on loopback with plain sockets: both ends live in
//! this process, so both lanes of the sequence diagram are known. Every call is recorded as a
//! [`SocketCall`] on its side, and the kernel's TCP state (TCP_INFO while a descriptor lives,
//! socket diagnostics after `close()`) is recorded as it changes — read, never guessed.
//!
//! Each scenario ends with its key [`LessonFinding`]s: what the lesson wants the class to see
//! (the reset, who holds TIME_WAIT, the clients left in SYN_SENT, the drops the sender never
//! hears of). The same code runs headless in the tests.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use flume::Sender;
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::engine::{self, Engine, Stop};
use super::kernel;
use super::sys;
use super::trace::{Family, ShutdownHow, TcpState};
use super::{CallKind, CallOutcome, NetError, NetErrorKind, SocketCall, Tagged, Waker};

/// The scenarios, in the lesson's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LessonScenario {
    Handshake,
    HalfClose,
    TimeWait,
    Abortive,
    BacklogFull,
    Boundaries,
    UdpLoss,
    UdpClosedPort,
}

impl LessonScenario {
    pub const ALL: [LessonScenario; 8] = [
        Self::Handshake,
        Self::HalfClose,
        Self::TimeWait,
        Self::Abortive,
        Self::BacklogFull,
        Self::Boundaries,
        Self::UdpLoss,
        Self::UdpClosedPort,
    ];

    /// The command line's name (`--lesson NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Handshake => "handshake",
            Self::HalfClose => "half-close",
            Self::TimeWait => "time-wait",
            Self::Abortive => "abortive",
            Self::BacklogFull => "backlog-full",
            Self::Boundaries => "boundaries",
            Self::UdpLoss => "udp-loss",
            Self::UdpClosedPort => "udp-closed-port",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the scenario is about one TCP connection (and so draws a diagram).
    pub fn has_diagram(self) -> bool {
        !matches!(self, Self::UdpLoss)
    }
}

/// Which end of the scenario made the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Client,
    Server,
}

/// What a scenario shows, as numbers the explanation refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LessonFinding {
    /// This side's connection ended in TIME_WAIT (read from the kernel after close).
    TimeWait { side: Side },
    /// Neither side is left in TIME_WAIT.
    NoTimeWait,
    /// After a half-close, this many bytes still travelled the other way.
    DataAfterHalfClose { bytes: usize },
    /// Binding the port again at once: without SO_REUSEADDR (the error, if any), and with it.
    Rebind {
        without: Option<NetError>,
        with_reuse: Option<NetError>,
    },
    /// The peer's `recv()` failed with "connection reset".
    ResetSeen { side: Side },
    /// Clients still in SYN_SENT while the accept queue is full.
    SynSent { waiting: usize, of: usize },
    /// TCP: `sends` small sends arrived in `recvs` reads (a byte stream keeps no boundaries).
    TcpMerged {
        nodelay: bool,
        sends: usize,
        recvs: usize,
    },
    /// UDP: `sent` datagrams arrived as `received` separate datagrams.
    UdpKept { sent: usize, received: usize },
    /// UDP with a tiny receive buffer: received, and dropped by the kernel (sender not told).
    UdpDropped {
        sent: usize,
        received: usize,
        dropped: u64,
    },
    /// UDP with a tiny receive buffer where the system keeps no drop count (not Linux):
    /// how many were sent and how many arrived.
    UdpLost { sent: usize, received: usize },
    /// The error UDP got back from a closed port, and the error of TCP's connect() there.
    ClosedPort {
        udp: Option<NetError>,
        tcp: Option<NetError>,
    },
    /// The kernel state could not be read here (not Linux, or refused).
    KernelUnavailable,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScenarioEvent {
    Call {
        side: Side,
        call: SocketCall,
    },
    /// The addresses of the two ends, once known.
    Ends {
        client: SocketAddr,
        server: SocketAddr,
    },
    LessonFinding(LessonFinding),
    Done,
    Failed(NetError),
}

pub type ScenarioMsg = Tagged<ScenarioEvent>;

/// A scenario on its worker thread (see [`super::engine`]). A scenario is short (every wait in
/// it is bounded by [`STATE_WAIT`] or less) and runs to its end: a stop is heard then, and
/// dropping the handle never waits.
pub type ScenarioHandle = Engine<Stop>;

/// Runs a scenario on a background thread; events go to `events` and wake the UI.
pub fn spawn_scenario(
    scenario: LessonScenario,
    events: Sender<ScenarioMsg>,
    waker: Waker,
) -> io::Result<ScenarioHandle> {
    engine::spawn("scenario", events, waker, None, move |emitter, _control| {
        run_scenario(scenario, &|e| emitter.emit(e));
    })
}

/// Runs a scenario to its end on this thread (tests and the command line).
pub fn run_scenario(scenario: LessonScenario, emit: &dyn Fn(ScenarioEvent)) {
    let mut rec = Recorder::new(emit);
    let result = match scenario {
        LessonScenario::Handshake => handshake(&mut rec),
        LessonScenario::HalfClose => half_close(&mut rec),
        LessonScenario::TimeWait => time_wait(&mut rec),
        LessonScenario::Abortive => abortive(&mut rec),
        LessonScenario::BacklogFull => backlog_full(&mut rec),
        LessonScenario::Boundaries => boundaries(&mut rec),
        LessonScenario::UdpLoss => udp_loss(&mut rec),
        LessonScenario::UdpClosedPort => udp_closed_port(&mut rec),
    };
    match result {
        Ok(()) => emit(ScenarioEvent::Done),
        Err(e) => emit(ScenarioEvent::Failed(e)),
    }
}

/// How long a scenario waits for the kernel to reach a state (loopback: microseconds).
const STATE_WAIT: Duration = Duration::from_secs(2);
const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

struct Recorder<'a> {
    emit: &'a dyn Fn(ScenarioEvent),
    last: [Option<TcpState>; 2],
    kernel_ok: bool,
}

fn idx(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

impl<'a> Recorder<'a> {
    fn new(emit: &'a dyn Fn(ScenarioEvent)) -> Self {
        Self {
            emit,
            last: [None, None],
            kernel_ok: true,
        }
    }

    fn call(&mut self, side: Side, kind: CallKind, outcome: CallOutcome) {
        (self.emit)(ScenarioEvent::Call {
            side,
            call: SocketCall::now(kind, outcome),
        });
    }

    /// Records a call's io::Result, returning it.
    fn result<T>(
        &mut self,
        side: Side,
        kind: CallKind,
        r: io::Result<T>,
        ok: impl FnOnce(&T) -> CallOutcome,
    ) -> io::Result<T> {
        let outcome = match &r {
            Ok(v) => ok(v),
            Err(e) => CallOutcome::Failed(NetError::from_io(e)),
        };
        self.call(side, kind, outcome);
        r
    }

    fn finding(&mut self, f: LessonFinding) {
        (self.emit)(ScenarioEvent::LessonFinding(f));
    }

    fn set_state(&mut self, side: Side, state: TcpState) {
        if self.last[idx(side)] != Some(state) {
            self.last[idx(side)] = Some(state);
            self.call(side, CallKind::KernelState(state), CallOutcome::Done);
        }
    }

    /// Reads a live socket's state (TCP_INFO); records it if it changed.
    fn state<S>(&mut self, side: Side, sock: &S) -> Option<TcpState>
    where
        for<'s> SockRef<'s>: From<&'s S>,
    {
        match kernel::tcp_info(sock) {
            Ok(info) => {
                self.set_state(side, info.state);
                Some(info.state)
            }
            Err(_) => {
                self.unavailable();
                None
            }
        }
    }

    /// Waits (bounded) until a live socket is in `want`, recording each state seen.
    fn wait_state<S>(&mut self, side: Side, sock: &S, want: TcpState) -> bool
    where
        for<'s> SockRef<'s>: From<&'s S>,
    {
        let deadline = Instant::now() + STATE_WAIT;
        loop {
            match self.state(side, sock) {
                Some(s) if s == want => return true,
                None => return false,
                _ if Instant::now() >= deadline => return false,
                _ => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }

    /// Waits (bounded) until the connection `local → remote` (its descriptor closed) is in
    /// `want` per the socket diagnostics; records the states seen. None: gone or unreadable.
    fn wait_closed_state(
        &mut self,
        side: Side,
        local: SocketAddr,
        remote: SocketAddr,
        want: TcpState,
    ) -> Option<TcpState> {
        let deadline = Instant::now() + STATE_WAIT;
        let mut seen = None;
        loop {
            match kernel::state_of(local, remote) {
                Ok(Some(s)) => {
                    self.set_state(side, s);
                    seen = Some(s);
                    if s == want {
                        return seen;
                    }
                }
                Ok(None) => {
                    self.set_state(side, TcpState::Closed);
                    return seen;
                }
                Err(_) => {
                    self.unavailable();
                    return None;
                }
            }
            if Instant::now() >= deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn unavailable(&mut self) {
        if self.kernel_ok {
            self.kernel_ok = false;
            self.finding(LessonFinding::KernelUnavailable);
        }
    }
}

fn err(e: &io::Error) -> NetError {
    NetError::from_io(e)
}

/// socket → bind → listen, recorded on the server lane. `reuse`: the system's listener
/// option (SO_REUSEADDR; SO_EXCLUSIVEADDRUSE on Windows, see `sys`).
fn listen_on(
    rec: &mut Recorder,
    addr: SocketAddr,
    backlog: i32,
    reuse: bool,
) -> io::Result<TcpListener> {
    let family = Family::of(&addr);
    let socket = rec.result(
        Side::Server,
        CallKind::Socket {
            family,
            datagram: false,
        },
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)),
        |s| CallOutcome::Descriptor(sys::descriptor(s.into())),
    )?;
    if reuse {
        rec.result(
            Side::Server,
            CallKind::SetOption {
                name: sys::LISTENER_OPTION,
                value: "1".into(),
            },
            sys::prepare_listener(&socket),
            |_| CallOutcome::Done,
        )?;
    }
    rec.result(
        Side::Server,
        CallKind::Bind { addr },
        socket.bind(&addr.into()).and_then(|()| {
            socket
                .local_addr()?
                .as_socket()
                .ok_or_else(|| io::Error::other("no address"))
        }),
        |local| CallOutcome::Bound { local: *local },
    )?;
    rec.result(
        Side::Server,
        CallKind::Listen { backlog },
        socket.listen(backlog),
        |_| CallOutcome::Done,
    )?;
    rec.state(Side::Server, &socket);
    Ok(socket.into())
}

fn connect_to(rec: &mut Recorder, addr: SocketAddr) -> io::Result<TcpStream> {
    rec.call(
        Side::Client,
        CallKind::Socket {
            family: Family::of(&addr),
            datagram: false,
        },
        CallOutcome::Done,
    );
    rec.result(
        Side::Client,
        CallKind::Connect { addr },
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).and_then(|s| {
            let local = s.local_addr()?;
            Ok((s, local))
        }),
        |(_, local)| CallOutcome::Connected { local: *local },
    )
    .map(|(s, _)| s)
}

fn accept_one(rec: &mut Recorder, listener: &TcpListener) -> io::Result<TcpStream> {
    rec.result(
        Side::Server,
        CallKind::Accept,
        listener.accept(),
        |(s, peer)| CallOutcome::Accepted {
            fd: sys::descriptor(s.into()),
            peer: *peer,
        },
    )
    .map(|(s, _)| s)
}

fn send(rec: &mut Recorder, side: Side, stream: &mut TcpStream, data: &[u8]) -> io::Result<()> {
    rec.result(
        side,
        CallKind::Send { len: data.len() },
        stream.write_all(data).map(|()| data.len()),
        |n| CallOutcome::Bytes(*n),
    )
    .map(|_| ())
}

fn recv(rec: &mut Recorder, side: Side, stream: &mut TcpStream) -> io::Result<usize> {
    let mut buf = [0u8; 1024];
    let _ = stream.set_read_timeout(Some(STATE_WAIT));
    rec.result(
        side,
        CallKind::Recv { buf: buf.len() },
        stream.read(&mut buf),
        |n| CallOutcome::Bytes(*n),
    )
}

fn shutdown_write(rec: &mut Recorder, side: Side, stream: &TcpStream) -> io::Result<()> {
    rec.result(
        side,
        CallKind::Shutdown(ShutdownHow::Write),
        stream.shutdown(Shutdown::Write),
        |_| CallOutcome::Done,
    )
}

fn close(rec: &mut Recorder, side: Side, stream: TcpStream) {
    drop(stream);
    rec.call(side, CallKind::Close, CallOutcome::Done);
}

/// A connected pair on loopback: the listener, the client's and the server's streams.
fn pair(rec: &mut Recorder) -> io::Result<(TcpListener, TcpStream, TcpStream)> {
    let listener = listen_on(rec, SocketAddr::from((LOOPBACK, 0)), 128, true)?;
    let addr = listener.local_addr()?;
    let client = connect_to(rec, addr)?;
    let server = accept_one(rec, &listener)?;
    (rec.emit)(ScenarioEvent::Ends {
        client: client.local_addr()?,
        server: addr,
    });
    rec.wait_state(Side::Client, &client, TcpState::Established);
    rec.wait_state(Side::Server, &server, TcpState::Established);
    Ok((listener, client, server))
}

fn ends(a: &TcpStream) -> io::Result<(SocketAddr, SocketAddr)> {
    Ok((a.local_addr()?, a.peer_addr()?))
}

/// 1. The three-way handshake, data both ways, and the four-way close (client first).
fn handshake(rec: &mut Recorder) -> Result<(), NetError> {
    let (_listener, mut client, mut server) = pair(rec).map_err(|e| err(&e))?;
    send(rec, Side::Client, &mut client, b"hello").map_err(|e| err(&e))?;
    recv(rec, Side::Server, &mut server).map_err(|e| err(&e))?;
    send(rec, Side::Server, &mut server, b"hi!").map_err(|e| err(&e))?;
    recv(rec, Side::Client, &mut client).map_err(|e| err(&e))?;
    let (c_local, c_remote) = ends(&client).map_err(|e| err(&e))?;
    let (s_local, s_remote) = ends(&server).map_err(|e| err(&e))?;
    close(rec, Side::Client, client);
    rec.wait_closed_state(Side::Client, c_local, c_remote, TcpState::FinWait2);
    recv(rec, Side::Server, &mut server).map_err(|e| err(&e))?;
    rec.wait_state(Side::Server, &server, TcpState::CloseWait);
    close(rec, Side::Server, server);
    let client_end = rec.wait_closed_state(Side::Client, c_local, c_remote, TcpState::TimeWait);
    rec.wait_closed_state(Side::Server, s_local, s_remote, TcpState::Closed);
    if client_end == Some(TcpState::TimeWait) {
        rec.finding(LessonFinding::TimeWait { side: Side::Client });
    }
    Ok(())
}

/// 2. Half-close: the client shuts down sending and still receives the server's answer.
fn half_close(rec: &mut Recorder) -> Result<(), NetError> {
    let (_listener, mut client, mut server) = pair(rec).map_err(|e| err(&e))?;
    send(rec, Side::Client, &mut client, b"question").map_err(|e| err(&e))?;
    shutdown_write(rec, Side::Client, &client).map_err(|e| err(&e))?;
    rec.wait_state(Side::Client, &client, TcpState::FinWait2);
    let mut got = 0;
    loop {
        let n = recv(rec, Side::Server, &mut server).map_err(|e| err(&e))?;
        if n == 0 {
            break;
        }
        got += n;
        if got > 1 << 20 {
            break;
        }
    }
    rec.wait_state(Side::Server, &server, TcpState::CloseWait);
    let answer = b"the answer, after your FIN";
    send(rec, Side::Server, &mut server, answer).map_err(|e| err(&e))?;
    let mut back = 0;
    while back < answer.len() {
        let n = recv(rec, Side::Client, &mut client).map_err(|e| err(&e))?;
        if n == 0 {
            break;
        }
        back += n;
    }
    rec.finding(LessonFinding::DataAfterHalfClose { bytes: back });
    let (c_local, c_remote) = ends(&client).map_err(|e| err(&e))?;
    close(rec, Side::Server, server);
    recv(rec, Side::Client, &mut client).map_err(|e| err(&e))?;
    close(rec, Side::Client, client);
    if rec.wait_closed_state(Side::Client, c_local, c_remote, TcpState::TimeWait)
        == Some(TcpState::TimeWait)
    {
        rec.finding(LessonFinding::TimeWait { side: Side::Client });
    }
    Ok(())
}

/// 3. TIME_WAIT on the side that closes first (here the server), and a restart at once.
fn time_wait(rec: &mut Recorder) -> Result<(), NetError> {
    let (listener, mut client, server) = pair(rec).map_err(|e| err(&e))?;
    let port_addr = listener.local_addr().map_err(|e| err(&e))?;
    let (s_local, s_remote) = ends(&server).map_err(|e| err(&e))?;
    close(rec, Side::Server, server);
    rec.wait_closed_state(Side::Server, s_local, s_remote, TcpState::FinWait2);
    recv(rec, Side::Client, &mut client).map_err(|e| err(&e))?;
    rec.wait_state(Side::Client, &client, TcpState::CloseWait);
    close(rec, Side::Client, client);
    let end = rec.wait_closed_state(Side::Server, s_local, s_remote, TcpState::TimeWait);
    if end == Some(TcpState::TimeWait) {
        rec.finding(LessonFinding::TimeWait { side: Side::Server });
    }
    // The server restarts at once on the same port: the listener goes, a new one binds.
    drop(listener);
    rec.call(Side::Server, CallKind::Close, CallOutcome::Done);
    let without = listen_on(rec, port_addr, 128, false).err().map(|e| err(&e));
    let with_reuse = listen_on(rec, port_addr, 128, true).err().map(|e| err(&e));
    rec.finding(LessonFinding::Rebind {
        without,
        with_reuse,
    });
    Ok(())
}

/// 4. Abortive close: SO_LINGER 0, then close() sends RST; the peer sees "connection reset".
fn abortive(rec: &mut Recorder) -> Result<(), NetError> {
    let (_listener, mut client, mut server) = pair(rec).map_err(|e| err(&e))?;
    send(rec, Side::Client, &mut client, b"hello").map_err(|e| err(&e))?;
    recv(rec, Side::Server, &mut server).map_err(|e| err(&e))?;
    let (c_local, c_remote) = ends(&client).map_err(|e| err(&e))?;
    let (s_local, s_remote) = ends(&server).map_err(|e| err(&e))?;
    rec.result(
        Side::Server,
        CallKind::SetOption {
            name: "SO_LINGER",
            value: "{on, 0 s}".into(),
        },
        SockRef::from(&server).set_linger(Some(Duration::ZERO)),
        |_| CallOutcome::Done,
    )
    .map_err(|e| err(&e))?;
    close(rec, Side::Server, server);
    rec.wait_closed_state(Side::Server, s_local, s_remote, TcpState::Closed);
    // The client's next call hears of the reset.
    let reset = match recv(rec, Side::Client, &mut client) {
        Err(e) => e.kind() == ErrorKind::ConnectionReset,
        Ok(_) => false,
    };
    if reset {
        rec.finding(LessonFinding::ResetSeen { side: Side::Client });
    }
    close(rec, Side::Client, client);
    let left = rec.wait_closed_state(Side::Client, c_local, c_remote, TcpState::Closed);
    if left != Some(TcpState::TimeWait) {
        rec.finding(LessonFinding::NoTimeWait);
    }
    Ok(())
}

/// 5. Backlog full: listen(1), never accept; later clients wait in SYN_SENT.
fn backlog_full(rec: &mut Recorder) -> Result<(), NetError> {
    const CLIENTS: usize = 6;
    let listener = listen_on(rec, SocketAddr::from((LOOPBACK, 0)), 1, true).map_err(|e| err(&e))?;
    let addr = listener.local_addr().map_err(|e| err(&e))?;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let s =
            Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(|e| err(&e))?;
        s.set_nonblocking(true).map_err(|e| err(&e))?;
        let r = s.connect(&addr.into());
        let outcome = match &r {
            Ok(()) => CallOutcome::Done,
            Err(e) if sys::connect_in_progress(e) => CallOutcome::Done,
            Err(e) => CallOutcome::Failed(err(e)),
        };
        rec.call(Side::Client, CallKind::Connect { addr }, outcome);
        clients.push(s);
    }
    // Wait (bounded) for the kernel to settle: queued clients ESTABLISHED, the rest SYN_SENT.
    let deadline = Instant::now() + Duration::from_millis(600);
    let mut waiting;
    loop {
        waiting = clients
            .iter()
            .filter(|c| kernel::tcp_info(*c).is_ok_and(|i| i.state == TcpState::SynSent))
            .count();
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if waiting > 0 {
        rec.set_state(Side::Client, TcpState::SynSent);
    }
    if kernel::tcp_info(&listener).is_err() {
        rec.unavailable();
    }
    rec.finding(LessonFinding::SynSent {
        waiting,
        of: CLIENTS,
    });
    drop(clients);
    drop(listener);
    rec.call(Side::Server, CallKind::Close, CallOutcome::Done);
    Ok(())
}

/// 6. Message boundaries: TCP merges small sends; UDP keeps each datagram.
fn boundaries(rec: &mut Recorder) -> Result<(), NetError> {
    const SENDS: usize = 10;
    for nodelay in [false, true] {
        let (_listener, mut client, mut server) = pair(rec).map_err(|e| err(&e))?;
        rec.result(
            Side::Client,
            CallKind::SetOption {
                name: "TCP_NODELAY",
                value: if nodelay { "1" } else { "0" }.into(),
            },
            client.set_nodelay(nodelay),
            |_| CallOutcome::Done,
        )
        .map_err(|e| err(&e))?;
        let mut total = 0;
        for i in 0..SENDS {
            let msg = format!("msg{i};");
            total += msg.len();
            send(rec, Side::Client, &mut client, msg.as_bytes()).map_err(|e| err(&e))?;
        }
        // The server reads a moment later, as a busy server would.
        std::thread::sleep(Duration::from_millis(100));
        let mut got = 0;
        let mut recvs = 0;
        while got < total {
            let n = recv(rec, Side::Server, &mut server).map_err(|e| err(&e))?;
            if n == 0 {
                break;
            }
            got += n;
            recvs += 1;
        }
        rec.finding(LessonFinding::TcpMerged {
            nodelay,
            sends: SENDS,
            recvs,
        });
        close(rec, Side::Client, client);
        close(rec, Side::Server, server);
    }
    // UDP: the same ten messages, as datagrams.
    let rx = UdpSocket::bind((LOOPBACK, 0)).map_err(|e| err(&e))?;
    let tx = UdpSocket::bind((LOOPBACK, 0)).map_err(|e| err(&e))?;
    let to = rx.local_addr().map_err(|e| err(&e))?;
    for i in 0..SENDS {
        let msg = format!("msg{i};");
        let r = tx.send_to(msg.as_bytes(), to);
        rec.result(
            Side::Client,
            CallKind::SendTo { len: msg.len(), to },
            r,
            |n| CallOutcome::Bytes(*n),
        )
        .map_err(|e| err(&e))?;
    }
    std::thread::sleep(Duration::from_millis(100));
    rx.set_nonblocking(true).map_err(|e| err(&e))?;
    let mut received = 0;
    let mut buf = [0u8; 2048];
    while let Ok((n, from)) = rx.recv_from(&mut buf) {
        rec.call(
            Side::Server,
            CallKind::RecvFrom { buf: buf.len() },
            CallOutcome::Datagram { n, from },
        );
        received += 1;
    }
    rec.finding(LessonFinding::UdpKept {
        sent: SENDS,
        received,
    });
    Ok(())
}

/// 7. UDP loss: a tiny receive buffer and a fast sender; the kernel counts the drops.
fn udp_loss(rec: &mut Recorder) -> Result<(), NetError> {
    const SENT: usize = 2_000;
    let rx = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(|e| err(&e))?;
    rec.result(
        Side::Server,
        CallKind::SetOption {
            name: "SO_RCVBUF",
            value: "4096".into(),
        },
        rx.set_recv_buffer_size(4096),
        |_| CallOutcome::Done,
    )
    .map_err(|e| err(&e))?;
    let bind = SocketAddr::from((LOOPBACK, 0));
    rx.bind(&bind.into()).map_err(|e| err(&e))?;
    let rx: UdpSocket = rx.into();
    let to = rx.local_addr().map_err(|e| err(&e))?;
    rec.call(
        Side::Server,
        CallKind::Bind { addr: bind },
        CallOutcome::Bound { local: to },
    );
    let before = super::udp::kernel_drops(to).unwrap_or(0);
    let tx = UdpSocket::bind((LOOPBACK, 0)).map_err(|e| err(&e))?;
    let payload = [0x55u8; 200];
    let mut sent = 0;
    for _ in 0..SENT {
        if tx.send_to(&payload, to).is_ok() {
            sent += 1;
        }
    }
    rec.call(
        Side::Client,
        CallKind::SendTo {
            len: payload.len(),
            to,
        },
        CallOutcome::Bytes(payload.len()),
    );
    rx.set_nonblocking(true).map_err(|e| err(&e))?;
    let mut received = 0;
    let mut buf = [0u8; 2048];
    while rx.recv_from(&mut buf).is_ok() {
        received += 1;
    }
    rec.call(
        Side::Server,
        CallKind::RecvFrom { buf: buf.len() },
        CallOutcome::Datagram {
            n: payload.len(),
            from: tx.local_addr().map_err(|e| err(&e))?,
        },
    );
    match super::udp::kernel_drops(to) {
        Some(after) => rec.finding(LessonFinding::UdpDropped {
            sent,
            received,
            dropped: after.saturating_sub(before),
        }),
        // The system keeps no count: say what arrived, not why the rest did not.
        None => rec.finding(LessonFinding::UdpLost { sent, received }),
    }
    Ok(())
}

/// A port on 127.0.0.1 with nothing listening (bound, read back, released).
fn closed_port() -> io::Result<SocketAddr> {
    let s = TcpListener::bind((LOOPBACK, 0))?;
    let addr = s.local_addr()?;
    drop(s);
    Ok(addr)
}

/// Scenario 8, UDP to a closed port (ICMP port unreachable, seen on a connected socket),
/// versus TCP's refused connect().
fn udp_closed_port(rec: &mut Recorder) -> Result<(), NetError> {
    let target = closed_port().map_err(|e| err(&e))?;
    let udp = UdpSocket::bind((LOOPBACK, 0)).map_err(|e| err(&e))?;
    rec.call(
        Side::Client,
        CallKind::Socket {
            family: Family::V4,
            datagram: true,
        },
        CallOutcome::Done,
    );
    rec.result(
        Side::Client,
        CallKind::Connect { addr: target },
        udp.connect(target),
        |_| CallOutcome::Done,
    )
    .map_err(|e| err(&e))?;
    let _ = rec.result(
        Side::Client,
        CallKind::Send { len: 5 },
        udp.send(b"hello"),
        |n| CallOutcome::Bytes(*n),
    );
    let _ = udp.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 64];
    let udp_err = rec
        .result(
            Side::Client,
            CallKind::Recv { buf: buf.len() },
            udp.recv(&mut buf),
            |n| CallOutcome::Bytes(*n),
        )
        .err()
        .map(|e| {
            // ECONNREFUSED on Unix, WSAECONNRESET on Windows: the ICMP answer.
            let unreachable = sys::is_udp_unreachable(&e);
            let mut e = err(&e);
            if unreachable {
                e.kind = NetErrorKind::NobodyListening;
            }
            e
        });
    rec.call(Side::Client, CallKind::Close, CallOutcome::Done);
    drop(udp);
    let tcp_err = connect_to(rec, target).err().map(|e| err(&e));
    rec.finding(LessonFinding::ClosedPort {
        udp: udp_err,
        tcp: tcp_err,
    });
    Ok(())
}
