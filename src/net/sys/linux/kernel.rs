//! The Linux system calls and the kernel structures they fill, mirrored from
//! `linux/tcp.h`, `linux/netlink.h`, `linux/sock_diag.h` and `linux/inet_diag.h`.

use std::io;
use std::mem::{offset_of, size_of};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::net::sys::{DiagEntry, TcpInfo};
use crate::net::trace::TcpState;

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

pub(crate) fn tcp_info(fd: RawFd) -> io::Result<TcpInfo> {
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

pub(crate) fn dump(family_v6: bool, states: u32) -> io::Result<Vec<DiagEntry>> {
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
