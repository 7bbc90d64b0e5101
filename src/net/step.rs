//! Step mode: the lesson's socket calls one click at a time, a server and a client in this
//! process on loopback. Which calls are legal follows from each socket's stage ([`legal`], a
//! pure function); the worker makes the call for real, never blocking — an `accept()` with no
//! client waiting, or a `recv()` with nothing to read, reports that it *would* wait — and
//! reports the return value and the kernel's TCP state after it.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use flume::{Receiver, Sender};
use socket2::{Domain, Protocol, Socket, Type};

use super::engine::{self, Command, Emitter, Engine, Input};
use super::kernel;
use super::scenario::Side;
use super::trace::{Family, ShutdownHow, TcpState};
use super::{CallKind, CallOutcome, NetError, SocketCall, Tagged, Waker};

/// The lesson's calls, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    ServerSocket,
    ServerBind,
    ServerListen,
    ServerAccept,
    ServerRecv,
    ServerSend,
    ServerClose,
    ClientSocket,
    ClientConnect,
    ClientSend,
    ClientRecv,
    ClientShutdown,
    ClientClose,
}

impl Step {
    pub const SERVER: [Step; 7] = [
        Self::ServerSocket,
        Self::ServerBind,
        Self::ServerListen,
        Self::ServerAccept,
        Self::ServerRecv,
        Self::ServerSend,
        Self::ServerClose,
    ];
    pub const CLIENT: [Step; 6] = [
        Self::ClientSocket,
        Self::ClientConnect,
        Self::ClientSend,
        Self::ClientRecv,
        Self::ClientShutdown,
        Self::ClientClose,
    ];

    pub fn side(self) -> Side {
        if Self::SERVER.contains(&self) {
            Side::Server
        } else {
            Side::Client
        }
    }

    /// The call as the lesson writes it.
    pub fn label(self) -> &'static str {
        match self {
            Self::ServerSocket | Self::ClientSocket => "socket()",
            Self::ServerBind => "bind()",
            Self::ServerListen => "listen()",
            Self::ServerAccept => "accept()",
            Self::ServerRecv | Self::ClientRecv => "recv()",
            Self::ServerSend | Self::ClientSend => "send()",
            Self::ServerClose | Self::ClientClose => "close()",
            Self::ClientConnect => "connect()",
            Self::ClientShutdown => "shutdown(SHUT_WR)",
        }
    }
}

/// Where the server's sockets are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerStage {
    #[default]
    None,
    Created,
    Bound,
    Listening,
    /// Listening, with an accepted connection.
    Serving,
}

/// Where the client's socket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientStage {
    #[default]
    None,
    Created,
    Connected,
    /// `shutdown(SHUT_WR)` done: can still receive.
    HalfClosed,
}

/// Whether `step` is a legal call on the sockets as they are (what the buttons enable).
pub fn legal(step: Step, server: ServerStage, client: ClientStage) -> bool {
    use ClientStage as C;
    use ServerStage as S;
    match step {
        Step::ServerSocket => server == S::None,
        Step::ServerBind => server == S::Created,
        Step::ServerListen => server == S::Bound,
        Step::ServerAccept => server == S::Listening,
        Step::ServerRecv | Step::ServerSend => server == S::Serving,
        // close() ends the accepted connection, or the listener when there is none.
        Step::ServerClose => server != S::None,
        Step::ClientSocket => client == C::None,
        Step::ClientConnect => client == C::Created,
        Step::ClientSend | Step::ClientShutdown => client == C::Connected,
        Step::ClientRecv => matches!(client, C::Connected | C::HalfClosed),
        Step::ClientClose => client != C::None,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepEvent {
    /// A call was made (or a kernel state read), with the stages after it.
    Call {
        step: Option<Step>,
        side: Side,
        call: SocketCall,
    },
    /// The stages after the last call, and the kernel's state of each side's connection.
    Stages {
        server: ServerStage,
        client: ClientStage,
        server_state: Option<TcpState>,
        client_state: Option<TcpState>,
    },
    /// The call would have waited (nothing to accept / to read yet).
    WouldBlock { step: Step },
}

pub enum StepCommand {
    Do(Step),
    /// Close everything and start again.
    Reset,
    /// Close everything and end the worker.
    Quit,
}

impl Command for StepCommand {
    fn stop() -> Self {
        StepCommand::Quit
    }
}

/// The Lesson's grip on its stepping worker (see [`super::engine`]); dropping it ends the
/// worker, and nothing waits for it.
pub type StepHandle = Engine<StepCommand>;

pub type StepMsg = Tagged<StepEvent>;

pub fn spawn_step_lab(events: Sender<StepMsg>, waker: Waker) -> io::Result<StepHandle> {
    engine::spawn("step-lab", events, waker, None, |emitter, control| {
        StepWorker::default().run(control.inputs(), &emitter)
    })
}

#[derive(Default)]
struct StepWorker {
    server_socket: Option<Socket>,
    listener: Option<TcpListener>,
    conn: Option<TcpStream>,
    client_socket: Option<Socket>,
    client: Option<TcpStream>,
    client_half: bool,
    /// The listening address, once bound.
    server_addr: Option<SocketAddr>,
    /// Each side's last closed connection, followed in the kernel (FIN_WAIT2, TIME_WAIT)
    /// until it is gone; then None, and the socket table is not asked again.
    closed: [Option<(SocketAddr, SocketAddr)>; 2],
    /// The side's last connection is closed and gone from the kernel.
    gone: [bool; 2],
    /// Each live connection's (local, peer), noted when it was made: a socket the peer has
    /// closed can no longer tell its peer's address.
    conn_ends: Option<(SocketAddr, SocketAddr)>,
    client_ends: Option<(SocketAddr, SocketAddr)>,
    counter: u32,
}

impl StepWorker {
    fn run(&mut self, rx: &Receiver<Input<StepCommand>>, emitter: &Emitter<StepEvent>) {
        let emit = |e: StepEvent| emitter.emit(e);
        let mut last_states = (None, None);
        loop {
            // While closed connections wind down, look at the kernel a few times a second.
            let cmd = match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(Input::Command(StepCommand::Quit)) => return,
                Ok(Input::Command(cmd)) => Some(cmd),
                Err(flume::RecvTimeoutError::Timeout) => None,
                Err(flume::RecvTimeoutError::Disconnected) => return,
            };
            match cmd {
                Some(StepCommand::Do(step)) => self.step(step, &emit),
                Some(StepCommand::Reset) => *self = StepWorker::default(),
                Some(StepCommand::Quit) => return,
                None => {}
            }
            let states = (self.state(Side::Server), self.state(Side::Client));
            if cmd.is_some() || states != last_states {
                for (side, old, new) in [
                    (Side::Server, last_states.0, states.0),
                    (Side::Client, last_states.1, states.1),
                ] {
                    if let Some(s) = new
                        && old != new
                    {
                        emit(StepEvent::Call {
                            step: None,
                            side,
                            call: SocketCall::now(CallKind::KernelState(s), CallOutcome::Done),
                        });
                    }
                }
                last_states = states;
                emit(StepEvent::Stages {
                    server: self.server_stage(),
                    client: self.client_stage(),
                    server_state: states.0,
                    client_state: states.1,
                });
            }
        }
    }

    fn server_stage(&self) -> ServerStage {
        if self.conn.is_some() {
            ServerStage::Serving
        } else if self.listener.is_some() {
            ServerStage::Listening
        } else if self.server_addr.is_some() && self.server_socket.is_some() {
            ServerStage::Bound
        } else if self.server_socket.is_some() {
            ServerStage::Created
        } else {
            ServerStage::None
        }
    }

    fn client_stage(&self) -> ClientStage {
        match (&self.client, &self.client_socket) {
            (Some(_), _) if self.client_half => ClientStage::HalfClosed,
            (Some(_), _) => ClientStage::Connected,
            (None, Some(_)) => ClientStage::Created,
            (None, None) => ClientStage::None,
        }
    }

    /// The kernel's state of a side's connection, live or closed (a closed one is followed
    /// through FIN_WAIT2 / TIME_WAIT until it is gone); else the server's listener.
    fn state(&mut self, side: Side) -> Option<TcpState> {
        let i = match side {
            Side::Server => 0,
            Side::Client => 1,
        };
        let live = match side {
            Side::Server => self.conn.as_ref(),
            Side::Client => self.client.as_ref(),
        };
        if let Some(c) = live {
            let state = kernel::tcp_info(c).ok().map(|i| i.state);
            // Once both FINs are through, Linux hands the connection to a TIME_WAIT stand-in
            // and the descriptor says CLOSED; the socket table says what really holds.
            let ends = match side {
                Side::Server => self.conn_ends,
                Side::Client => self.client_ends,
            };
            if state == Some(TcpState::Closed)
                && let Some((local, remote)) = ends
                && let Ok(Some(s)) = kernel::state_of(local, remote)
            {
                return Some(s);
            }
            return state;
        }
        if let Some((local, remote)) = self.closed[i] {
            match kernel::state_of(local, remote) {
                Ok(Some(state)) => return Some(state),
                Ok(None) => {
                    self.closed[i] = None;
                    self.gone[i] = true;
                }
                Err(_) => return None,
            }
        }
        if side == Side::Server
            && let Some(l) = &self.listener
        {
            return kernel::tcp_info(l).ok().map(|i| i.state);
        }
        self.gone[i].then_some(TcpState::Closed)
    }

    fn step(&mut self, step: Step, emit: &dyn Fn(StepEvent)) {
        if !legal(step, self.server_stage(), self.client_stage()) {
            return;
        }
        let side = step.side();
        let record = |kind: CallKind, outcome: CallOutcome| {
            emit(StepEvent::Call {
                step: Some(step),
                side,
                call: SocketCall::now(kind, outcome),
            });
        };
        let failed = |e: &io::Error| CallOutcome::Failed(NetError::from_io(e));
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        match step {
            Step::ServerSocket | Step::ClientSocket => {
                let kind = CallKind::Socket {
                    family: Family::V4,
                    datagram: false,
                };
                match Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)) {
                    Ok(s) => {
                        record(
                            kind,
                            CallOutcome::Descriptor(super::sys::descriptor((&s).into())),
                        );
                        if side == Side::Server {
                            let _ = super::sys::prepare_listener(&s);
                            self.server_socket = Some(s);
                        } else {
                            self.client_socket = Some(s);
                        }
                    }
                    Err(e) => record(kind, failed(&e)),
                }
            }
            Step::ServerBind => {
                let Some(s) = &self.server_socket else { return };
                let r = s.bind(&loopback.into()).and_then(|()| {
                    s.local_addr()?
                        .as_socket()
                        .ok_or_else(|| io::Error::other("no address"))
                });
                match r {
                    Ok(local) => {
                        self.server_addr = Some(local);
                        record(
                            CallKind::Bind { addr: loopback },
                            CallOutcome::Bound { local },
                        );
                    }
                    Err(e) => record(CallKind::Bind { addr: loopback }, failed(&e)),
                }
            }
            Step::ServerListen => {
                let Some(s) = self.server_socket.take() else {
                    return;
                };
                let kind = CallKind::Listen { backlog: 128 };
                match s.listen(128) {
                    Ok(()) => {
                        let l: TcpListener = s.into();
                        let _ = l.set_nonblocking(true);
                        self.listener = Some(l);
                        record(kind, CallOutcome::Done);
                    }
                    Err(e) => {
                        record(kind, failed(&e));
                        self.server_socket = Some(s);
                    }
                }
            }
            Step::ServerAccept => {
                let Some(l) = &self.listener else { return };
                match l.accept() {
                    Ok((c, peer)) => {
                        let _ = c.set_nonblocking(true);
                        self.conn_ends = c.local_addr().ok().map(|l| (l, peer));
                        record(
                            CallKind::Accept,
                            CallOutcome::Accepted {
                                fd: super::sys::descriptor((&c).into()),
                                peer,
                            },
                        );
                        self.conn = Some(c);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        emit(StepEvent::WouldBlock { step });
                    }
                    Err(e) => record(CallKind::Accept, failed(&e)),
                }
            }
            Step::ClientConnect => {
                let Some(s) = self.client_socket.take() else {
                    return;
                };
                let addr = self.server_addr.unwrap_or_else(|| closed_port(loopback));
                let kind = CallKind::Connect { addr };
                match super::sys::connect_timeout(&s, addr, Duration::from_secs(2)) {
                    Ok(()) => {
                        let c: TcpStream = s.into();
                        let _ = c.set_nonblocking(true);
                        let local = c.local_addr().unwrap_or(loopback);
                        self.client_ends = Some((local, addr));
                        record(kind, CallOutcome::Connected { local });
                        self.client = Some(c);
                    }
                    Err(e) => {
                        record(kind, failed(&e));
                        // A failed connect leaves the socket unusable: close it, as a program
                        // must, and let socket() be called again.
                        emit(StepEvent::Call {
                            step: None,
                            side,
                            call: SocketCall::now(CallKind::Close, CallOutcome::Done),
                        });
                    }
                }
            }
            Step::ServerSend | Step::ClientSend => {
                self.counter += 1;
                let text = match side {
                    Side::Server => format!("reply {}\n", self.counter),
                    Side::Client => format!("hello {}\n", self.counter),
                };
                let stream = match side {
                    Side::Server => self.conn.as_mut(),
                    Side::Client => self.client.as_mut(),
                };
                let Some(stream) = stream else { return };
                let kind = CallKind::Send { len: text.len() };
                match stream.write(text.as_bytes()) {
                    Ok(n) => record(kind, CallOutcome::Bytes(n)),
                    Err(e) => record(kind, failed(&e)),
                }
            }
            Step::ServerRecv | Step::ClientRecv => {
                let stream = match side {
                    Side::Server => self.conn.as_mut(),
                    Side::Client => self.client.as_mut(),
                };
                let Some(stream) = stream else { return };
                let mut buf = [0u8; 1024];
                let kind = CallKind::Recv { buf: buf.len() };
                match stream.read(&mut buf) {
                    Ok(n) => record(kind, CallOutcome::Bytes(n)),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        emit(StepEvent::WouldBlock { step });
                    }
                    Err(e) => record(kind, failed(&e)),
                }
            }
            Step::ClientShutdown => {
                let Some(c) = &self.client else { return };
                let kind = CallKind::Shutdown(ShutdownHow::Write);
                match c.shutdown(Shutdown::Write) {
                    Ok(()) => {
                        self.client_half = true;
                        record(kind, CallOutcome::Done);
                    }
                    Err(e) => record(kind, failed(&e)),
                }
            }
            Step::ServerClose => {
                if let Some(c) = self.conn.take() {
                    if let Some((l, r)) = self.conn_ends.take() {
                        self.closed[0] = Some((l, r));
                        self.gone[0] = false;
                    }
                    drop(c);
                } else {
                    self.listener = None;
                    self.server_socket = None;
                    self.server_addr = None;
                }
                record(CallKind::Close, CallOutcome::Done);
            }
            Step::ClientClose => {
                if self.client.take().is_some()
                    && let Some((l, r)) = self.client_ends.take()
                {
                    self.closed[1] = Some((l, r));
                    self.gone[1] = false;
                }
                self.client_socket = None;
                self.client_half = false;
                record(CallKind::Close, CallOutcome::Done);
            }
        }
        // Give loopback a moment so the state shown is the one the call led to.
        let until = Instant::now() + Duration::from_millis(20);
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Connecting before any server was bound: a loopback port with nothing on it.
fn closed_port(fallback: SocketAddr) -> SocketAddr {
    TcpListener::bind(fallback)
        .and_then(|l| l.local_addr())
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_legal_calls_are_enabled() {
        use ClientStage as C;
        use ServerStage as S;
        let enabled = |s, c| -> Vec<&str> {
            Step::SERVER
                .iter()
                .chain(Step::CLIENT.iter())
                .filter(|&&st| legal(st, s, c))
                .map(|st| match st.side() {
                    Side::Server => st.label(),
                    Side::Client => st.label(),
                })
                .collect()
        };
        assert_eq!(enabled(S::None, C::None), ["socket()", "socket()"]);
        assert_eq!(
            enabled(S::Created, C::None),
            ["bind()", "close()", "socket()"]
        );
        assert_eq!(
            enabled(S::Bound, C::Created),
            ["listen()", "close()", "connect()", "close()"]
        );
        assert_eq!(
            enabled(S::Listening, C::Connected),
            [
                "accept()",
                "close()",
                "send()",
                "recv()",
                "shutdown(SHUT_WR)",
                "close()"
            ]
        );
        assert_eq!(
            enabled(S::Serving, C::HalfClosed),
            ["recv()", "send()", "close()", "recv()", "close()"]
        );
    }
}
