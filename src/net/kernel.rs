//! The kernel's own view of TCP sockets, so the lifecycle view shows what Linux says a
//! connection's state is instead of guessing it from the calls that were made.
//!
//! Two read-only sources, both usable by an ordinary user (no root, no `CAP_NET_ADMIN`):
//!
//! - [`tcp_info`]: `getsockopt(IPPROTO_TCP, TCP_INFO)` on a socket this process holds. It
//!   gives the state plus the numbers behind it: smoothed round-trip time, congestion window,
//!   retransmissions, bytes acknowledged and received. It needs a descriptor, so it can only
//!   describe a socket that has not been closed yet.
//! - [`tcp_sockets`] and [`state_of`]: the socket diagnostics interface (`NETLINK_SOCK_DIAG`,
//!   the one `ss` uses) lists every TCP socket of the network namespace by address and port.
//!   This is the only way to watch what happens after `close()`: the side that closes first
//!   ends in TIME_WAIT for a minute, and by then it has no descriptor any more. The kernel
//!   keeps that state in a small "timewait socket" that sock_diag reports under the old
//!   4-tuple. A socket still open in FIN_WAIT2 when the peer's FIN arrives also moves its
//!   4-tuple to such a timewait socket; its descriptor then reports CLOSED.
//!
//! Nothing here changes a socket. On systems other than Linux every function returns an
//! [`io::ErrorKind::Unsupported`] error and [`availability`] says so, so a panel can show
//! "not available on this system" instead of a half-working view.

use std::io;
use std::net::SocketAddr;

use socket2::SockRef;

use super::trace::TcpState;

/// What this system can show of the kernel's TCP state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// `TCP_INFO` and socket diagnostics both work: states of open sockets and of closed
    /// ones (TIME_WAIT) can be shown.
    Full,
    /// `TCP_INFO` works but socket diagnostics do not (a container without
    /// `NETLINK_SOCK_DIAG`, a kernel without `tcp_diag`): open sockets only, no TIME_WAIT.
    TcpInfoOnly,
    /// Not Linux: the kernel's TCP state cannot be read here.
    Unsupported,
}

impl Availability {
    /// Whether anything at all can be shown.
    pub fn available(self) -> bool {
        self != Self::Unsupported
    }
}

/// What this system can show. Probes socket diagnostics once (a dump of IPv4 listeners) and
/// remembers the answer, so it is cheap to call every frame.
pub fn availability() -> Availability {
    #[cfg(target_os = "linux")]
    {
        static PROBE: std::sync::OnceLock<Availability> = std::sync::OnceLock::new();
        *PROBE.get_or_init(
            || match linux::dump(false, states_mask(&[TcpState::Listen])) {
                Ok(_) => Availability::Full,
                Err(_) => Availability::TcpInfoOnly,
            },
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        Availability::Unsupported
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

/// Reads `TCP_INFO` from a TCP socket this process holds: a `TcpStream`, a `TcpListener`, a
/// `socket2::Socket`, a `mio` socket, a `BorrowedFd`, ... Fails with the OS error when the
/// socket is not TCP, and with [`io::ErrorKind::Unsupported`] on systems other than Linux.
pub fn tcp_info<'s, S>(socket: &'s S) -> io::Result<TcpInfo>
where
    SockRef<'s>: From<&'s S>,
{
    let socket = SockRef::from(socket);
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        linux::tcp_info(socket.as_raw_fd())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = socket;
        Err(unsupported())
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

/// Every state bit for [`tcp_sockets`]: all of Linux's TCP states 1 to 12.
pub const ALL_STATES: u32 = (1 << 13) - 2;

/// The `states_mask` for [`tcp_sockets`] that selects exactly `states`.
///
/// CLOSED can be asked for but never matches: a closed socket is in none of the tables the
/// kernel walks.
pub fn states_mask(states: &[TcpState]) -> u32 {
    states
        .iter()
        .fold(0, |mask, &state| mask | state_bits(state))
}

/// Linux's `tcp_states.h` number(s) of a state, as mask bits. SYN_RECV also selects
/// TCP_NEW_SYN_RECV (12), which is how the kernel keeps half-open connections of a listener.
fn state_bits(state: TcpState) -> u32 {
    let n = match state {
        TcpState::Established => 1,
        TcpState::SynSent => 2,
        TcpState::SynRecv => return (1 << 3) | (1 << 12),
        TcpState::FinWait1 => 4,
        TcpState::FinWait2 => 5,
        TcpState::TimeWait => 6,
        TcpState::Closed => 7,
        TcpState::CloseWait => 8,
        TcpState::LastAck => 9,
        TcpState::Listen => 10,
        TcpState::Closing => 11,
    };
    1 << n
}

/// Lists the TCP sockets of one address family (`family_v6` false: IPv4, true: IPv6) whose
/// state is in `states_mask` (bit `1 << n` for Linux state number `n`; see [`states_mask`]
/// and [`ALL_STATES`]). Covers every socket in this network namespace, not just this
/// process's. IPv4 connections made through a dual-stack IPv6 socket are listed under IPv6,
/// with IPv4-mapped addresses (`::ffff:a.b.c.d`).
pub fn tcp_sockets(family_v6: bool, states_mask: u32) -> io::Result<Vec<DiagEntry>> {
    #[cfg(target_os = "linux")]
    {
        linux::dump(family_v6, states_mask)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (family_v6, states_mask);
        Err(unsupported())
    }
}

/// The state of the TCP socket with exactly this local and remote address, whether or not a
/// descriptor still refers to it: this is how TIME_WAIT after `close()` is seen. `Ok(None)`
/// when no such socket exists (never connected, or gone for good).
///
/// IPv4 and IPv4-mapped IPv6 addresses are treated as the same, and an IPv6 scope id is
/// ignored, so the addresses `local_addr()` and `peer_addr()` return can be passed as they are.
pub fn state_of(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<TcpState>> {
    let local = canonical(local);
    let remote = canonical(remote);
    // An IPv4 pair may belong to an IPv4 socket or to a dual-stack IPv6 one.
    let families: &[bool] = if local.is_ipv4() && remote.is_ipv4() {
        &[false, true]
    } else {
        &[true]
    };
    for &family_v6 in families {
        let found = tcp_sockets(family_v6, ALL_STATES)?
            .into_iter()
            .find(|entry| canonical(entry.local) == local && canonical(entry.remote) == remote);
        if let Some(entry) = found {
            return Ok(Some(entry.state));
        }
    }
    Ok(None)
}

/// The address with IPv4-mapped IPv6 turned into IPv4, without flow info or scope id.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(not(target_os = "linux"))]
fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "the kernel's TCP state can only be read on Linux",
    )
}

#[cfg(target_os = "linux")]
mod linux {
    //! The Linux system calls and the kernel structures they fill, mirrored from
    //! `linux/tcp.h`, `linux/netlink.h`, `linux/sock_diag.h` and `linux/inet_diag.h`.

    use std::io;
    use std::mem::{offset_of, size_of};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    use super::{DiagEntry, TcpInfo, TcpState};

    /// `struct tcp_info` from `linux/tcp.h`, up to `tcpi_delivery_rate` (Linux 4.9). Newer
    /// kernels have more fields; they copy only as much as we ask for.
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct RawTcpInfo {
        tcpi_state: u8,
        tcpi_ca_state: u8,
        tcpi_retransmits: u8,
        tcpi_probes: u8,
        tcpi_backoff: u8,
        tcpi_options: u8,
        /// Bit fields `tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4`.
        tcpi_wscale: u8,
        /// Bit fields `tcpi_delivery_rate_app_limited : 1, tcpi_fastopen_client_fail : 2`.
        tcpi_flags: u8,

        tcpi_rto: u32,
        tcpi_ato: u32,
        tcpi_snd_mss: u32,
        tcpi_rcv_mss: u32,

        tcpi_unacked: u32,
        tcpi_sacked: u32,
        tcpi_lost: u32,
        tcpi_retrans: u32,
        tcpi_fackets: u32,

        tcpi_last_data_sent: u32,
        tcpi_last_ack_sent: u32,
        tcpi_last_data_recv: u32,
        tcpi_last_ack_recv: u32,

        tcpi_pmtu: u32,
        tcpi_rcv_ssthresh: u32,
        tcpi_rtt: u32,
        tcpi_rttvar: u32,
        tcpi_snd_ssthresh: u32,
        tcpi_snd_cwnd: u32,
        tcpi_advmss: u32,
        tcpi_reordering: u32,

        tcpi_rcv_rtt: u32,
        tcpi_rcv_space: u32,

        tcpi_total_retrans: u32,

        tcpi_pacing_rate: u64,
        tcpi_max_pacing_rate: u64,
        tcpi_bytes_acked: u64,
        tcpi_bytes_received: u64,
        tcpi_segs_out: u32,
        tcpi_segs_in: u32,

        tcpi_notsent_bytes: u32,
        tcpi_min_rtt: u32,
        tcpi_data_segs_in: u32,
        tcpi_data_segs_out: u32,

        tcpi_delivery_rate: u64,
    }

    // The layout must match the C one byte for byte; these offsets are the kernel's.
    const _: () = {
        assert!(offset_of!(RawTcpInfo, tcpi_rto) == 8);
        assert!(offset_of!(RawTcpInfo, tcpi_rtt) == 68);
        assert!(offset_of!(RawTcpInfo, tcpi_total_retrans) == 100);
        assert!(offset_of!(RawTcpInfo, tcpi_pacing_rate) == 104);
        assert!(offset_of!(RawTcpInfo, tcpi_bytes_acked) == 120);
        assert!(offset_of!(RawTcpInfo, tcpi_bytes_received) == 128);
        assert!(offset_of!(RawTcpInfo, tcpi_min_rtt) == 148);
        assert!(offset_of!(RawTcpInfo, tcpi_delivery_rate) == 160);
        assert!(size_of::<RawTcpInfo>() == 168);
    };

    /// Every kernel since 2.6 fills `struct tcp_info` at least up to here.
    const TCP_INFO_MIN: usize = offset_of!(RawTcpInfo, tcpi_total_retrans) + 4;

    pub(super) fn tcp_info(fd: RawFd) -> io::Result<TcpInfo> {
        let mut raw = RawTcpInfo::default();
        let mut len = size_of::<RawTcpInfo>() as libc::socklen_t;
        // SAFETY: `raw` is a writable `RawTcpInfo` of `len` bytes, and the kernel writes at
        // most `len` bytes; every bit pattern is a valid `RawTcpInfo` (integers only).
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&raw mut raw).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // The kernel reports how much it filled: min(our size, its size).
        let filled = len as usize;
        if filled < TCP_INFO_MIN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("TCP_INFO returned only {filled} bytes"),
            ));
        }
        let has = |offset: usize, size: usize| filled >= offset + size;
        let state = TcpState::from_linux(raw.tcpi_state).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unknown TCP state {} in TCP_INFO", raw.tcpi_state),
            )
        })?;
        Ok(TcpInfo {
            state,
            rtt_us: raw.tcpi_rtt,
            rttvar_us: raw.tcpi_rttvar,
            rto_us: raw.tcpi_rto,
            snd_cwnd: raw.tcpi_snd_cwnd,
            snd_mss: raw.tcpi_snd_mss,
            retransmits: raw.tcpi_retransmits,
            total_retrans: raw.tcpi_total_retrans,
            unacked: raw.tcpi_unacked,
            sacked: raw.tcpi_sacked,
            lost: raw.tcpi_lost,
            bytes_acked: has(offset_of!(RawTcpInfo, tcpi_bytes_acked), 8)
                .then_some(raw.tcpi_bytes_acked),
            bytes_received: has(offset_of!(RawTcpInfo, tcpi_bytes_received), 8)
                .then_some(raw.tcpi_bytes_received),
            min_rtt_us: has(offset_of!(RawTcpInfo, tcpi_min_rtt), 4).then_some(raw.tcpi_min_rtt),
            delivery_rate: has(offset_of!(RawTcpInfo, tcpi_delivery_rate), 8)
                .then_some(raw.tcpi_delivery_rate),
        })
    }

    // ---- socket diagnostics -----------------------------------------------------------------

    /// `linux/sock_diag.h`: the request and reply type for inet sockets.
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    /// `linux/netlink.h` flags and message types.
    const NLM_F_REQUEST: u16 = 0x1;
    const NLM_F_DUMP: u16 = 0x300;
    const NLM_F_DUMP_INTR: u16 = 0x10;
    const NLMSG_ERROR: u16 = 0x2;
    const NLMSG_DONE: u16 = 0x3;
    const NLMSG_OVERRUN: u16 = 0x4;

    /// Each netlink message starts at a multiple of this.
    const NLMSG_ALIGNTO: usize = 4;
    /// Big enough for whatever the kernel puts into one datagram of a dump (it sizes them to
    /// the reader's buffer, at most 32 KiB plus headers on current kernels).
    const RECV_BUFFER: usize = 64 * 1024;
    /// How long one `recv` may wait for the kernel before the dump is given up.
    const RECV_TIMEOUT: Duration = Duration::from_secs(1);
    /// How long a whole dump may take.
    const DUMP_DEADLINE: Duration = Duration::from_secs(5);
    /// More datagrams than any real dump needs; stops a runaway loop.
    const MAX_DATAGRAMS: usize = 100_000;
    /// A dump the kernel marks as interrupted (sockets changed under it) is retried this many
    /// times; the last attempt is returned as it is.
    const DUMP_ATTEMPTS: usize = 3;

    /// `struct nlmsghdr`.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct NlMsgHdr {
        nlmsg_len: u32,
        nlmsg_type: u16,
        nlmsg_flags: u16,
        nlmsg_seq: u32,
        nlmsg_pid: u32,
    }

    /// `struct inet_diag_sockid`. Ports and addresses are in network byte order, so they are
    /// kept as bytes; an IPv4 address is the first 4 of the 16.
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct InetDiagSockId {
        idiag_sport: [u8; 2],
        idiag_dport: [u8; 2],
        idiag_src: [u8; 16],
        idiag_dst: [u8; 16],
        idiag_if: u32,
        idiag_cookie: [u32; 2],
    }

    /// `struct inet_diag_req_v2`.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct InetDiagReqV2 {
        sdiag_family: u8,
        sdiag_protocol: u8,
        idiag_ext: u8,
        pad: u8,
        idiag_states: u32,
        id: InetDiagSockId,
    }

    /// `struct inet_diag_msg`: one socket in the reply.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct InetDiagMsg {
        idiag_family: u8,
        idiag_state: u8,
        idiag_timer: u8,
        idiag_retrans: u8,
        id: InetDiagSockId,
        idiag_expires: u32,
        idiag_rqueue: u32,
        idiag_wqueue: u32,
        idiag_uid: u32,
        idiag_inode: u32,
    }

    /// The request datagram: a header and the request, nothing else.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Request {
        header: NlMsgHdr,
        request: InetDiagReqV2,
    }

    const NLMSG_HDRLEN: usize = size_of::<NlMsgHdr>();
    const _: () = {
        assert!(NLMSG_HDRLEN == 16);
        assert!(size_of::<InetDiagSockId>() == 48);
        assert!(size_of::<InetDiagReqV2>() == 56);
        assert!(size_of::<InetDiagMsg>() == 72);
        assert!(offset_of!(InetDiagMsg, idiag_inode) == 68);
        // No padding anywhere, so sending the struct's bytes sends no uninitialised memory.
        assert!(size_of::<Request>() == 72);
    };

    /// Mirrors of kernel structs made only of integers and byte arrays: every bit pattern is
    /// a valid value.
    ///
    /// # Safety
    ///
    /// Only for `#[repr(C)]` types whose fields are all integers or arrays of integers.
    unsafe trait Plain: Copy {}
    // SAFETY: `#[repr(C)]`, integer fields only.
    unsafe impl Plain for NlMsgHdr {}
    // SAFETY: `#[repr(C)]`, integer and integer-array fields only.
    unsafe impl Plain for InetDiagMsg {}

    /// The `T` at the start of `bytes`, if there are enough of them.
    fn read_plain<T: Plain>(bytes: &[u8]) -> Option<T> {
        (bytes.len() >= size_of::<T>()).then(|| {
            // SAFETY: at least `size_of::<T>()` readable bytes; `read_unaligned` needs no
            // alignment; `T: Plain` means any bytes form a valid `T`.
            unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) }
        })
    }

    fn invalid(what: impl Into<String>) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, what.into())
    }

    static NEXT_SEQ: AtomicU32 = AtomicU32::new(1);

    pub(super) fn dump(family_v6: bool, states: u32) -> io::Result<Vec<DiagEntry>> {
        let mut attempt = 1;
        loop {
            let (entries, interrupted) = dump_once(family_v6, states)?;
            if !interrupted || attempt == DUMP_ATTEMPTS {
                return Ok(entries);
            }
            attempt += 1;
        }
    }

    /// One dump on a fresh netlink socket (closed on return): the entries and whether the
    /// kernel flagged the dump as interrupted.
    fn dump_once(family_v6: bool, states: u32) -> io::Result<(Vec<DiagEntry>, bool)> {
        let socket = open_diag_socket()?;
        let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
        send_request(&socket, seq, family_v6, states)?;

        let deadline = Instant::now() + DUMP_DEADLINE;
        let mut buf = vec![0u8; RECV_BUFFER];
        let mut dump = Dump {
            seq,
            entries: Vec::new(),
            interrupted: false,
        };
        for _ in 0..MAX_DATAGRAMS {
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the socket diagnostics dump took too long",
                ));
            }
            let Some(len) = recv_from_kernel(&socket, &mut buf)? else {
                continue;
            };
            if dump.datagram(&buf[..len])? == Flow::Done {
                return Ok((dump.entries, dump.interrupted));
            }
        }
        Err(invalid("the socket diagnostics dump never ended"))
    }

    fn open_diag_socket() -> io::Result<OwnedFd> {
        // SAFETY: plain system call; the result is checked before use.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        // A receive timeout, so a kernel that never answers cannot hang the caller.
        let timeout = libc::timeval {
            tv_sec: RECV_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: RECV_TIMEOUT.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: `timeout` is a valid `timeval` of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const timeout).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(socket)
    }

    fn send_request(socket: &OwnedFd, seq: u32, family_v6: bool, states: u32) -> io::Result<()> {
        let request = Request {
            header: NlMsgHdr {
                nlmsg_len: size_of::<Request>() as u32,
                nlmsg_type: SOCK_DIAG_BY_FAMILY,
                nlmsg_flags: NLM_F_REQUEST | NLM_F_DUMP,
                nlmsg_seq: seq,
                nlmsg_pid: 0,
            },
            request: InetDiagReqV2 {
                sdiag_family: if family_v6 {
                    libc::AF_INET6
                } else {
                    libc::AF_INET
                } as u8,
                sdiag_protocol: libc::IPPROTO_TCP as u8,
                idiag_ext: 0,
                pad: 0,
                idiag_states: states,
                id: InetDiagSockId::default(),
            },
        };
        // SAFETY: `Request` is `#[repr(C)]` without padding (asserted above), so all of its
        // bytes are initialised.
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw const request).cast::<u8>(), size_of::<Request>())
        };
        // With no address, a netlink socket sends to the kernel (port id 0).
        // SAFETY: `bytes` is valid for reads of its length.
        let sent = unsafe { libc::send(socket.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        if sent as usize != bytes.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the socket diagnostics request was cut short",
            ));
        }
        Ok(())
    }

    /// One datagram from the kernel into `buf`: `Ok(Some(len))`, or `Ok(None)` for one to
    /// skip (interrupted call, a sender other than the kernel).
    fn recv_from_kernel(socket: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: an all-zero `sockaddr_nl` is valid (it has a private padding field, so it
        // cannot be built with a literal).
        let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut from_len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // MSG_TRUNC makes the call return the datagram's real length, so a reply too big for
        // the buffer is noticed instead of parsed half.
        // SAFETY: `buf` is writable for its length, `from` for `from_len` bytes.
        let n = unsafe {
            libc::recvfrom(
                socket.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
                (&raw mut from).cast(),
                &mut from_len,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::Interrupted => Ok(None),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the kernel did not answer the socket diagnostics request",
                )),
                _ => Err(err),
            };
        }
        let n = n as usize;
        if n > buf.len() {
            return Err(invalid(format!(
                "a socket diagnostics reply of {n} bytes did not fit the buffer"
            )));
        }
        // Other processes may send to our port id; only the kernel's answer counts.
        if from.nl_pid != 0 {
            return Ok(None);
        }
        Ok(Some(n))
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Flow {
        More,
        Done,
    }

    /// A dump being collected.
    struct Dump {
        seq: u32,
        entries: Vec<DiagEntry>,
        interrupted: bool,
    }

    impl Dump {
        /// Takes every netlink message in one datagram.
        fn datagram(&mut self, mut buf: &[u8]) -> io::Result<Flow> {
            // Each message is at least a header long, so this loop ends.
            while !buf.is_empty() {
                let header: NlMsgHdr =
                    read_plain(buf).ok_or_else(|| invalid("a netlink header was cut short"))?;
                let len = header.nlmsg_len as usize;
                if len < NLMSG_HDRLEN || len > buf.len() {
                    return Err(invalid(format!(
                        "a netlink message claims {len} bytes, {} are there",
                        buf.len()
                    )));
                }
                if header.nlmsg_seq == self.seq
                    && self.message(&header, &buf[NLMSG_HDRLEN..len])? == Flow::Done
                {
                    return Ok(Flow::Done);
                }
                let next = len.next_multiple_of(NLMSG_ALIGNTO).min(buf.len());
                buf = &buf[next..];
            }
            Ok(Flow::More)
        }

        fn message(&mut self, header: &NlMsgHdr, payload: &[u8]) -> io::Result<Flow> {
            if header.nlmsg_flags & NLM_F_DUMP_INTR != 0 {
                self.interrupted = true;
            }
            match header.nlmsg_type {
                // Both carry an `int`: 0, or a negative errno.
                NLMSG_DONE | NLMSG_ERROR => {
                    let code = payload
                        .first_chunk::<4>()
                        .map(|bytes| i32::from_ne_bytes(*bytes));
                    match code {
                        Some(code) if code < 0 => Err(io::Error::from_raw_os_error(-code)),
                        Some(_) => Ok(Flow::Done),
                        // An empty NLMSG_DONE is an old kernel's way of saying "done".
                        None if header.nlmsg_type == NLMSG_DONE => Ok(Flow::Done),
                        None => Err(invalid("a netlink error message was cut short")),
                    }
                }
                NLMSG_OVERRUN => Err(invalid("the kernel dropped part of the dump")),
                SOCK_DIAG_BY_FAMILY => {
                    let msg: InetDiagMsg = read_plain(payload)
                        .ok_or_else(|| invalid("a socket diagnostics entry was cut short"))?;
                    if let Some(entry) = entry(&msg) {
                        self.entries.push(entry);
                    }
                    Ok(Flow::More)
                }
                // NLMSG_NOOP, and whatever a newer kernel may add.
                _ => Ok(Flow::More),
            }
        }
    }

    /// The entry for one socket; `None` for a family or state this program does not know.
    fn entry(msg: &InetDiagMsg) -> Option<DiagEntry> {
        let id = &msg.id;
        let sport = u16::from_be_bytes(id.idiag_sport);
        let dport = u16::from_be_bytes(id.idiag_dport);
        let (local, remote) = match i32::from(msg.idiag_family) {
            libc::AF_INET => {
                let src: [u8; 4] = *id.idiag_src.first_chunk()?;
                let dst: [u8; 4] = *id.idiag_dst.first_chunk()?;
                (
                    SocketAddr::new(Ipv4Addr::from(src).into(), sport),
                    SocketAddr::new(Ipv4Addr::from(dst).into(), dport),
                )
            }
            libc::AF_INET6 => (
                SocketAddr::new(Ipv6Addr::from(id.idiag_src).into(), sport),
                SocketAddr::new(Ipv6Addr::from(id.idiag_dst).into(), dport),
            ),
            _ => return None,
        };
        let state = TcpState::from_linux(msg.idiag_state)?;
        Some(DiagEntry {
            local,
            remote,
            state,
            inode: u64::from(msg.idiag_inode),
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn header(len: usize, ty: u16, flags: u16, seq: u32) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend_from_slice(&(len as u32).to_ne_bytes());
            out.extend_from_slice(&ty.to_ne_bytes());
            out.extend_from_slice(&flags.to_ne_bytes());
            out.extend_from_slice(&seq.to_ne_bytes());
            out.extend_from_slice(&0u32.to_ne_bytes());
            out
        }

        /// A SOCK_DIAG_BY_FAMILY message for 127.0.0.1:sport -> 127.0.0.1:dport.
        fn diag_msg(seq: u32, state: u8, sport: u16, dport: u16, inode: u32) -> Vec<u8> {
            let mut payload = vec![libc::AF_INET as u8, state, 0, 0];
            payload.extend_from_slice(&sport.to_be_bytes());
            payload.extend_from_slice(&dport.to_be_bytes());
            let mut addr = [0u8; 16];
            addr[..4].copy_from_slice(&[127, 0, 0, 1]);
            payload.extend_from_slice(&addr);
            payload.extend_from_slice(&addr);
            payload.extend_from_slice(&[0u8; 12]); // if, cookie
            payload.extend_from_slice(&[0u8; 16]); // expires, rqueue, wqueue, uid
            payload.extend_from_slice(&inode.to_ne_bytes());
            assert_eq!(payload.len(), size_of::<InetDiagMsg>());
            let mut out = header(NLMSG_HDRLEN + payload.len(), SOCK_DIAG_BY_FAMILY, 0, seq);
            out.extend_from_slice(&payload);
            out
        }

        fn done(seq: u32, code: i32) -> Vec<u8> {
            let mut out = header(NLMSG_HDRLEN + 4, NLMSG_DONE, 0, seq);
            out.extend_from_slice(&code.to_ne_bytes());
            out
        }

        fn dump(seq: u32) -> Dump {
            Dump {
                seq,
                entries: Vec::new(),
                interrupted: false,
            }
        }

        #[test]
        fn parses_entries_then_done() {
            let mut buf = diag_msg(7, 1, 40000, 8080, 1234);
            buf.extend(diag_msg(7, 6, 40001, 8080, 0));
            let mut d = dump(7);
            assert_eq!(d.datagram(&buf).unwrap(), Flow::More);
            assert_eq!(d.datagram(&done(7, 0)).unwrap(), Flow::Done);
            assert_eq!(d.entries.len(), 2);
            let first = d.entries[0];
            assert_eq!(first.local, "127.0.0.1:40000".parse().unwrap());
            assert_eq!(first.remote, "127.0.0.1:8080".parse().unwrap());
            assert_eq!(first.state, TcpState::Established);
            assert_eq!(first.inode, 1234);
            assert_eq!(d.entries[1].state, TcpState::TimeWait);
            assert!(!d.interrupted);
        }

        #[test]
        fn done_in_the_same_datagram_stops() {
            let mut buf = diag_msg(3, 10, 80, 0, 1);
            buf.extend(done(3, 0));
            let mut d = dump(3);
            assert_eq!(d.datagram(&buf).unwrap(), Flow::Done);
            assert_eq!(d.entries[0].state, TcpState::Listen);
        }

        #[test]
        fn errors_carry_the_errno() {
            let mut err = header(NLMSG_HDRLEN + 4, NLMSG_ERROR, 0, 1);
            err.extend_from_slice(&(-libc::ENOENT).to_ne_bytes());
            let e = dump(1).datagram(&err).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
            let e = dump(1).datagram(&done(1, -libc::EPERM)).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        }

        #[test]
        fn hostile_lengths_are_rejected_not_followed() {
            let cases: &[(&str, Vec<u8>)] = &[
                ("short header", vec![0u8; 10]),
                ("length below header", header(4, SOCK_DIAG_BY_FAMILY, 0, 1)),
                (
                    "length past the end",
                    header(4096, SOCK_DIAG_BY_FAMILY, 0, 1),
                ),
                ("entry cut short", {
                    let mut m = header(NLMSG_HDRLEN + 8, SOCK_DIAG_BY_FAMILY, 0, 1);
                    m.extend_from_slice(&[0u8; 8]);
                    m
                }),
                ("error cut short", header(NLMSG_HDRLEN, NLMSG_ERROR, 0, 1)),
            ];
            for (name, buf) in cases {
                let err = dump(1).datagram(buf).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{name}");
            }
        }

        #[test]
        fn other_sequences_and_unknown_entries_are_skipped() {
            let mut buf = diag_msg(99, 1, 1, 2, 3); // someone else's
            buf.extend(diag_msg(5, 200, 1, 2, 3)); // unknown state
            buf.extend(done(99, -libc::EPERM)); // someone else's error
            let mut d = dump(5);
            assert_eq!(d.datagram(&buf).unwrap(), Flow::More);
            assert!(d.entries.is_empty());
        }

        #[test]
        fn interrupted_dumps_are_flagged() {
            let mut buf = header(NLMSG_HDRLEN + 4, NLMSG_DONE, NLM_F_DUMP_INTR, 2);
            buf.extend_from_slice(&0i32.to_ne_bytes());
            let mut d = dump(2);
            assert_eq!(d.datagram(&buf).unwrap(), Flow::Done);
            assert!(d.interrupted);
        }
    }
}

/// A closed connection to follow in the socket table until it is gone (FIN_WAIT2, TIME_WAIT).
struct Follow {
    local: SocketAddr,
    remote: SocketAddr,
    last: Option<TcpState>,
    until: std::time::Instant,
    /// Called with each new state; false: stop following.
    report: Box<dyn FnMut(TcpState) -> bool + Send>,
}

static FOLLOWER: std::sync::Mutex<Option<flume::Sender<Follow>>> = std::sync::Mutex::new(None);

/// How often followed connections are looked up.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Follows a closed connection `local → remote` in the kernel's socket table for at most
/// `limit`, calling `report` with each state it passes through, and with CLOSED once it is
/// gone. One shared thread ("kernel-follow") does this for every connection; it starts when
/// needed and ends a second after its last connection is gone, so closed sessions leave no
/// thread of their own behind.
pub fn follow(
    local: SocketAddr,
    remote: SocketAddr,
    last: Option<TcpState>,
    limit: std::time::Duration,
    report: impl FnMut(TcpState) -> bool + Send + 'static,
) {
    let job = Follow {
        local,
        remote,
        last,
        until: std::time::Instant::now() + limit,
        report: Box::new(report),
    };
    let mut slot = FOLLOWER.lock().unwrap_or_else(|p| p.into_inner());
    let job = match slot.as_ref() {
        Some(tx) => match tx.send(job) {
            Ok(()) => return,
            Err(flume::SendError(job)) => job,
        },
        None => job,
    };
    let (tx, rx) = flume::unbounded();
    let _ = tx.send(job);
    if std::thread::Builder::new()
        .name("kernel-follow".into())
        .spawn(move || follow_loop(&rx))
        .is_ok()
    {
        *slot = Some(tx);
    }
}

fn follow_loop(rx: &flume::Receiver<Follow>) {
    let mut jobs: Vec<Follow> = Vec::new();
    let mut idle_since = None;
    loop {
        jobs.extend(rx.try_iter());
        if jobs.is_empty() {
            let since = *idle_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= std::time::Duration::from_secs(1) {
                let mut slot = FOLLOWER.lock().unwrap_or_else(|p| p.into_inner());
                // A job sent while we decided to stop is taken, not lost.
                jobs.extend(rx.try_iter());
                if jobs.is_empty() {
                    *slot = None;
                    return;
                }
            }
        } else {
            idle_since = None;
        }
        let now = std::time::Instant::now();
        jobs.retain_mut(|job| {
            let state = match state_of(job.local, job.remote) {
                Ok(Some(s)) => s,
                Ok(None) => TcpState::Closed,
                Err(_) => return false,
            };
            if job.last != Some(state) {
                job.last = Some(state);
                if !(job.report)(state) {
                    return false;
                }
            }
            state != TcpState::Closed && now < job.until
        });
        std::thread::sleep(FOLLOW_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_masks_use_linux_numbers() {
        assert_eq!(states_mask(&[TcpState::Listen]), 1 << 10);
        assert_eq!(
            states_mask(&[TcpState::Established, TcpState::TimeWait]),
            (1 << 1) | (1 << 6)
        );
        assert_eq!(states_mask(&[TcpState::SynRecv]), (1 << 3) | (1 << 12));
        assert_eq!(states_mask(&[]), 0);
        let all = [
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
        assert_eq!(states_mask(&all), ALL_STATES);
        // Every bit agrees with `TcpState::from_linux`.
        for state in all {
            let mask = state_bits(state);
            for n in 1..=12u8 {
                if mask & (1 << n) != 0 {
                    assert_eq!(TcpState::from_linux(n), Some(state));
                }
            }
        }
    }

    #[test]
    fn canonical_folds_mapped_addresses() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        let plain: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(canonical(mapped), plain);
        let scoped = SocketAddr::V6(std::net::SocketAddrV6::new(
            std::net::Ipv6Addr::LOCALHOST,
            80,
            7,
            3,
        ));
        assert_eq!(canonical(scoped), "[::1]:80".parse::<SocketAddr>().unwrap());
    }
}
