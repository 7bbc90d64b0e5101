//! The plain facts the OS modules report about TCP sockets, the same on every system: what
//! can be read ([`Availability`]), a socket's counters ([`TcpInfo`]), a socket as the
//! system's table lists it ([`DiagEntry`]) and which states a listing asks for ([`States`]).
//! Each OS module fills these in from its own structures and numbers; `net::kernel` is
//! the portable interface on top.

use std::net::SocketAddr;

use crate::net::trace::TcpState;

/// What this system can show of the kernel's TCP state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// `TCP_INFO` and socket diagnostics both work: states of open sockets and of closed
    /// ones (TIME_WAIT) can be shown.
    Full,
    /// `TCP_INFO` works but socket diagnostics do not (a container without
    /// `NETLINK_SOCK_DIAG`, a kernel without `tcp_diag`): open sockets only, no TIME_WAIT.
    TcpInfoOnly,
    /// The kernel's TCP state cannot be read on this system (or this version of it).
    Unsupported,
}

impl Availability {
    /// Whether anything at all can be shown.
    pub fn available(self) -> bool {
        self != Self::Unsupported
    }
}

/// A socket's TCP state and counters as the kernel keeps them (`struct tcp_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    pub state: TcpState,
    /// Smoothed round-trip time, microseconds. 0 until the first sample (the handshake gives
    /// the client one, the first acknowledged data gives the server one).
    pub rtt_us: u32,
    /// Variation of the round-trip time, microseconds.
    pub rttvar_us: u32,
    /// Current retransmission timeout, microseconds.
    pub rto_us: u32,
    /// Congestion window, in segments.
    pub snd_cwnd: u32,
    /// Largest segment this side sends, bytes.
    pub snd_mss: u32,
    /// Retransmissions of the current unacknowledged segment (resets once it is acknowledged).
    pub retransmits: u8,
    /// Segments retransmitted over the whole connection.
    pub total_retrans: u32,
    /// Segments sent and not yet acknowledged. For a LISTEN socket the kernel puts the number
    /// of connections waiting in the accept queue here instead (see [`TcpInfo::accept_queue`]).
    pub unacked: u32,
    /// Segments selectively acknowledged (SACK). For a LISTEN socket: the accept queue's
    /// limit, the `backlog` given to `listen()` (capped by `net.core.somaxconn`).
    pub sacked: u32,
    /// Segments the kernel currently believes lost.
    pub lost: u32,
    /// Bytes the peer has acknowledged (RFC 4898 `HCThruOctetsAcked`; Linux counts the SYN
    /// as one). `None` when the kernel is too old to report it (before 4.1).
    pub bytes_acked: Option<u64>,
    /// Bytes received in order (RFC 4898 `HCThruOctetsReceived`; Linux counts the SYN as one).
    /// `None` when the kernel is too old to report it (before 4.1).
    pub bytes_received: Option<u64>,
    /// Smallest round-trip time seen, microseconds. `None` before Linux 4.6.
    pub min_rtt_us: Option<u32>,
    /// Most recent delivery rate estimate, bytes per second. `None` before Linux 4.9.
    pub delivery_rate: Option<u64>,
}

impl TcpInfo {
    /// For a LISTEN socket: `(ready, limit)`, the connections that finished the handshake and
    /// wait for `accept()`, and how many the queue may hold. `None` for any other state.
    pub fn accept_queue(&self) -> Option<(u32, u32)> {
        (self.state == TcpState::Listen).then_some((self.unacked, self.sacked))
    }
}

/// One TCP socket as socket diagnostics list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagEntry {
    pub local: SocketAddr,
    /// The peer; the unspecified address with port 0 for a listener.
    pub remote: SocketAddr,
    /// The state. A closed socket waiting out its last timer (TIME_WAIT, or FIN_WAIT2 after
    /// `close()`) is reported with the state it is waiting in.
    pub state: TcpState,
    /// The socket's inode number, as in `/proc/<pid>/fd/N -> socket:[inode]`. 0 for a socket
    /// that no descriptor refers to any more (TIME_WAIT, orphaned sockets, requests).
    pub inode: u64,
}

/// A set of TCP states (which sockets a listing asks for). Portable: each OS module
/// translates it into its own numbers (Linux's `tcp_states.h`, Windows' `MIB_TCP_STATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct States(u16);

impl States {
    /// Every state.
    pub const ALL: States = States((1 << 11) - 1);

    pub fn of(states: &[TcpState]) -> Self {
        States(states.iter().fold(0, |set, &s| set | Self::bit(s)))
    }

    pub fn contains(self, state: TcpState) -> bool {
        self.0 & Self::bit(state) != 0
    }

    /// The states in the set.
    pub fn iter(self) -> impl Iterator<Item = TcpState> {
        TcpState::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    fn bit(state: TcpState) -> u16 {
        1 << (state as u16)
    }
}
