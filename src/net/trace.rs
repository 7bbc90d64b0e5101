//! The socket-call trace: every call an engine makes, in the lesson's vocabulary, with its
//! result and a timestamp. Panels show it as a list; a later view draws the connection's
//! lifecycle from it, so engines record every call in the order they make it.

use std::net::SocketAddr;
use std::time::SystemTime;

use super::NetError;

/// Address family of a new socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &SocketAddr) -> Self {
        if addr.is_ipv4() { Self::V4 } else { Self::V6 }
    }

    pub fn constant(self) -> &'static str {
        match self {
            Self::V4 => "AF_INET",
            Self::V6 => "AF_INET6",
        }
    }
}

/// Which direction `shutdown()` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownHow {
    Read,
    Write,
    Both,
}

impl ShutdownHow {
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "Read",
            Self::Write => "Write",
            Self::Both => "Both",
        }
    }
}

/// The call that was made, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallKind {
    /// Name resolution before `socket()` (`getaddrinfo`).
    Resolve { host: String, port: u16 },
    /// `socket(family, SOCK_STREAM)`, or `SOCK_DGRAM` when `datagram`.
    Socket { family: Family, datagram: bool },
    /// `bind(addr)`.
    Bind { addr: SocketAddr },
    /// `listen(backlog)`.
    Listen { backlog: i32 },
    /// `accept()`: yields a new socket just for one client, plus the client's address.
    Accept,
    /// `setsockopt(name, value)`.
    SetOption { name: &'static str, value: String },
    /// `connect(addr)`.
    Connect { addr: SocketAddr },
    /// `send(len bytes)`.
    Send { len: usize },
    /// `recv(buffer size)`.
    Recv { buf: usize },
    /// `sendto(len bytes, addr)`: UDP needs no connection, each datagram names its target.
    SendTo { len: usize, to: SocketAddr },
    /// `recvfrom(buffer size)`: one datagram and who sent it.
    RecvFrom { buf: usize },
    /// `shutdown(how)`.
    Shutdown(ShutdownHow),
    /// `close()`.
    Close,
    /// Not a call: the kernel's TCP state of this socket changed (read with TCP_INFO or the
    /// socket diagnostics interface, never guessed). Recorded in the trace so the lifecycle
    /// can be drawn from it.
    KernelState(TcpState),
}

/// The kernel's state of a TCP socket, with the names `ss` and the lesson's figures use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpState {
    Listen,
    SynSent,
    SynRecv,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    Closed,
}

impl TcpState {
    /// Every state, in the order of the enum.
    pub const ALL: [TcpState; 11] = [
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
        TcpState::Closed,
    ];

    /// From Linux's `tcp_states.h` numbering (TCP_INFO's `tcpi_state`, sock_diag's
    /// `idiag_state`). TCP_NEW_SYN_RECV (12) is a SYN_RECV as far as the lesson goes.
    pub fn from_linux(n: u8) -> Option<Self> {
        Some(match n {
            1 => Self::Established,
            2 => Self::SynSent,
            3 | 12 => Self::SynRecv,
            4 => Self::FinWait1,
            5 => Self::FinWait2,
            6 => Self::TimeWait,
            7 => Self::Closed,
            8 => Self::CloseWait,
            9 => Self::LastAck,
            10 => Self::Listen,
            11 => Self::Closing,
            _ => return None,
        })
    }

    /// The name as `ss` and the lesson's figures print it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Listen => "LISTEN",
            Self::SynSent => "SYN_SENT",
            Self::SynRecv => "SYN_RECV",
            Self::Established => "ESTABLISHED",
            Self::FinWait1 => "FIN_WAIT1",
            Self::FinWait2 => "FIN_WAIT2",
            Self::CloseWait => "CLOSE_WAIT",
            Self::Closing => "CLOSING",
            Self::LastAck => "LAST_ACK",
            Self::TimeWait => "TIME_WAIT",
            Self::Closed => "CLOSED",
        }
    }
}

/// What the call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// Returned without a value worth showing.
    Done,
    /// `send`/`recv` returned this many bytes (`recv` → 0 means the peer closed).
    Bytes(usize),
    /// Name resolution gave these addresses.
    Addrs(Vec<SocketAddr>),
    /// `socket()` returned this descriptor (where the OS has small-integer descriptors).
    Descriptor(i64),
    /// `connect()` succeeded; the OS picked this local address.
    Connected { local: SocketAddr },
    /// `bind()` succeeded on this address (the real port when 0 was asked for).
    Bound { local: SocketAddr },
    /// `accept()` returned a new socket (descriptor, where the OS has them) for this client.
    Accepted { fd: i64, peer: SocketAddr },
    /// `recvfrom()` returned one datagram of this many bytes from `from`.
    Datagram { n: usize, from: SocketAddr },
    /// The call failed.
    Failed(NetError),
}

/// One entry of the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketCall {
    pub at: SystemTime,
    pub kind: CallKind,
    pub outcome: CallOutcome,
    /// Which connection the call was made on, where an engine has several (a server's
    /// clients); None for the engine's own socket.
    pub conn: Option<u64>,
}

impl SocketCall {
    pub fn now(kind: CallKind, outcome: CallOutcome) -> Self {
        Self {
            at: SystemTime::now(),
            kind,
            outcome,
            conn: None,
        }
    }

    /// The same call, marked as made on connection `conn`.
    pub fn on(mut self, conn: Option<u64>) -> Self {
        self.conn = conn;
        self
    }

    pub fn failed(&self) -> bool {
        matches!(self.outcome, CallOutcome::Failed(_))
    }

    /// The call as a student would write it, e.g. `connect(127.0.0.1:7890)`.
    /// Function names are code, so they are the same in every language.
    pub fn call_text(&self) -> String {
        match &self.kind {
            CallKind::Resolve { host, port } => format!("getaddrinfo(\"{host}\", {port})"),
            CallKind::Socket { family, datagram } => format!(
                "socket({}, {})",
                family.constant(),
                if *datagram {
                    "SOCK_DGRAM"
                } else {
                    "SOCK_STREAM"
                }
            ),
            CallKind::SetOption { name, value } => format!("setsockopt({name}, {value})"),
            CallKind::Connect { addr } => format!("connect({addr})"),
            CallKind::Bind { addr } => format!("bind({addr})"),
            CallKind::Listen { backlog } => format!("listen({backlog})"),
            CallKind::Accept => "accept()".to_owned(),
            CallKind::Send { len } => format!("send({len} bytes)"),
            CallKind::Recv { buf } => format!("recv({buf})"),
            CallKind::SendTo { len, to } => format!("sendto({len} bytes, {to})"),
            CallKind::RecvFrom { buf } => format!("recvfrom({buf})"),
            CallKind::Shutdown(how) => format!("shutdown({})", how.name()),
            CallKind::Close => "close()".to_owned(),
            CallKind::KernelState(state) => format!("[kernel] {}", state.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_read_like_the_lesson() {
        let addr: SocketAddr = "127.0.0.1:7890".parse().unwrap();
        let cases = [
            (
                CallKind::Socket {
                    family: Family::V4,
                    datagram: false,
                },
                "socket(AF_INET, SOCK_STREAM)",
            ),
            (
                CallKind::Socket {
                    family: Family::V6,
                    datagram: true,
                },
                "socket(AF_INET6, SOCK_DGRAM)",
            ),
            (CallKind::Connect { addr }, "connect(127.0.0.1:7890)"),
            (CallKind::Send { len: 5 }, "send(5 bytes)"),
            (CallKind::Recv { buf: 1024 }, "recv(1024)"),
            (CallKind::Shutdown(ShutdownHow::Write), "shutdown(Write)"),
            (CallKind::Close, "close()"),
        ];
        for (kind, text) in cases {
            assert_eq!(SocketCall::now(kind, CallOutcome::Done).call_text(), text);
        }
    }
}
