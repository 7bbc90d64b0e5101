//! Linux: `TCP_INFO`, socket diagnostics over netlink, the UDP error queue, `/proc/net/udp`
//! and `splice`.

mod kernel;

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use socket2::{SockRef, Socket};

use super::{Availability, DiagEntry, States, TcpInfo};
use super::{SpliceError, UdpUnreachable};
use crate::net::trace::TcpState;

// What every Unix shares; the interface in `sys/mod.rs` names each item.
pub use super::unix::*;

pub const OS: super::Os = super::Os::Linux;
/// Probes socket diagnostics once (a dump of IPv4 listeners).
pub fn kernel_availability() -> Availability {
    match kernel::dump(false, linux_mask(States::of(&[TcpState::Listen]))) {
        Ok(_) => Availability::Full,
        Err(_) => Availability::TcpInfoOnly,
    }
}

pub fn tcp_info(socket: SockRef<'_>) -> io::Result<TcpInfo> {
    kernel::tcp_info(socket.as_raw_fd())
}

pub fn tcp_sockets(family_v6: bool, states: States) -> io::Result<Vec<DiagEntry>> {
    kernel::dump(family_v6, linux_mask(states))
}

/// Socket diagnostics' state filter for `states`: bit `1 << n` for Linux state number `n`.
fn linux_mask(states: States) -> u32 {
    states
        .iter()
        .fold(0, |mask, state| mask | state_bits(state))
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

pub const UDP_UNREACHABLE: UdpUnreachable = UdpUnreachable::WithTarget;

/// Asks Linux to queue ICMP errors (port unreachable) for this unconnected socket, each with
/// the destination of the datagram that caused it.
pub fn report_udp_unreachable(socket: &Socket, v6: bool) -> Option<(&'static str, io::Result<()>)> {
    let on: libc::c_int = 1;
    let (level, name, label) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR, "IPV6_RECVERR")
    } else {
        (libc::IPPROTO_IP, libc::IP_RECVERR, "IP_RECVERR")
    };
    // SAFETY: a valid socket descriptor and a pointer to a live c_int of the size given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    let result = if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    };
    Some((label, result))
}

/// Linux reports "port unreachable" as ECONNREFUSED, which the caller already knows.
pub fn udp_unreachable(_err: &io::Error) -> bool {
    false
}

/// One entry of the socket's error queue (IP_RECVERR): the error and the original
/// destination. `None` when the queue is empty.
pub fn udp_queued_error(socket: &UdpSocket) -> Option<(io::Error, Option<SocketAddr>)> {
    // SAFETY: all-zero is a valid value for these plain C structs.
    let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut control = [0u64; 64];
    let mut data = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: msg points at live buffers of the sizes it states, for the whole call.
    let rc = unsafe {
        libc::recvmsg(
            socket.as_raw_fd(),
            &mut msg,
            libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        )
    };
    if rc < 0 {
        return None;
    }
    let mut errno = libc::ECONNREFUSED;
    // SAFETY: the CMSG macros walk the control buffer the kernel just filled, within
    // msg_controllen; the payload of an IP(V6)_RECVERR message is a sock_extended_err.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if (c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_RECVERR)
                || (c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_RECVERR)
            {
                let ee: libc::sock_extended_err =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                errno = ee.ee_errno as i32;
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Some((io::Error::from_raw_os_error(errno), sockaddr_to_std(&name)))
}

fn sockaddr_to_std(name: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(name.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a: libc::sockaddr_in =
                unsafe { std::ptr::read((name as *const libc::sockaddr_storage).cast()) };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a: libc::sockaddr_in6 =
                unsafe { std::ptr::read((name as *const libc::sockaddr_storage).cast()) };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

pub const UDP_DROPS: bool = true;

/// The kernel's count of datagrams dropped for the UDP socket bound to `local` (a full
/// receive buffer), from `/proc/net/udp`.
pub fn udp_drops(local: SocketAddr) -> Option<u64> {
    let table = if local.is_ipv4() {
        "/proc/net/udp"
    } else {
        "/proc/net/udp6"
    };
    let text = std::fs::read_to_string(table).ok()?;
    let port = format!(":{:04X}", local.port());
    text.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops
        let local_col = cols.get(1)?;
        if !local_col.ends_with(&port) {
            return None;
        }
        cols.get(12)?.parse().ok()
    })
}

/// Moves bytes from a socket into a file through a pipe, without copying them through this
/// process (`splice`).
/// Renames `from` to `to` unless `to` exists (`AlreadyExists` then, and nothing changes),
/// in one step: `renameat2(RENAME_NOREPLACE)`. File systems that do not offer it get the
/// portable way (a hard link, then the old name removed).
pub fn rename_no_replace(from: &std::path::Path, to: &std::path::Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &std::path::Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))
    };
    let (a, b) = (c(from)?, c(to)?);
    // SAFETY: two NUL-terminated paths alive for the call; the call only renames.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => {
            super::unix::rename_by_link(from, to)
        }
        _ => Err(e),
    }
}

/// Gives memory the allocator holds free back to the system (glibc keeps what it freed, so
/// a server whose class has left would stay at its peak). Called when an engine goes idle.
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Sends a file with `sendfile`: the bytes go from the page cache to the socket without
/// passing through this process. The offset is given on each call (the file's own position
/// is not used), so a send that times out loses nothing.
#[derive(Default)]
pub struct FileSender;

impl FileSender {
    pub fn new() -> Self {
        Self
    }

    /// Sends some of `file` from `offset` (at most `max` bytes) and returns how many went
    /// out: 0 at the end of the file. A send that can move nothing within the socket's send
    /// timeout fails with `WouldBlock`.
    pub fn send(
        &mut self,
        file: &std::fs::File,
        out: &std::net::TcpStream,
        offset: u64,
        max: u64,
    ) -> io::Result<usize> {
        let mut off = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
        // At most 1 GiB a call (Linux sends at most 0x7ffff000 bytes anyway).
        let count = usize::try_from(max.min(1 << 30)).unwrap_or(1 << 30);
        // SAFETY: both descriptors are open for the call; `off` is a valid pointer.
        let n = unsafe { libc::sendfile(out.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

pub struct Splicer {
    pipe_r: OwnedFd,
    pipe_w: OwnedFd,
}

fn splice_error(e: io::Error) -> SpliceError {
    if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
        SpliceError::Unsupported
    } else {
        SpliceError::Io(e)
    }
}

impl Splicer {
    /// A pipe of `size` bytes (or the default, if the system refuses); `None` if no pipe
    /// can be made.
    pub fn new(size: usize) -> Option<Self> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: fds has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return None;
        }
        // SAFETY: pipe2 succeeded, so both are open descriptors that we alone own.
        let (pipe_r, pipe_w) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // A bigger pipe means fewer calls; if the system refuses, the default works too.
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(pipe_w.as_raw_fd(), libc::F_SETPIPE_SZ, size as libc::c_int) };
        Some(Self { pipe_r, pipe_w })
    }

    /// Up to `max` bytes from the socket into the pipe; 0 at the peer's close.
    pub fn from_socket(
        &self,
        socket: &std::net::TcpStream,
        max: usize,
    ) -> Result<usize, SpliceError> {
        // SAFETY: plain descriptors we hold open for the call; null offsets.
        let n = unsafe {
            libc::splice(
                socket.as_raw_fd(),
                std::ptr::null_mut(),
                self.pipe_w.as_raw_fd(),
                std::ptr::null_mut(),
                max,
                libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE,
            )
        };
        if n < 0 {
            Err(splice_error(io::Error::last_os_error()))
        } else {
            Ok(n as usize)
        }
    }

    /// Up to `max` bytes from the pipe into the file.
    pub fn to_file(&self, file: &std::fs::File, max: usize) -> Result<usize, SpliceError> {
        // SAFETY: as above.
        let m = unsafe {
            libc::splice(
                self.pipe_r.as_raw_fd(),
                std::ptr::null_mut(),
                file.as_raw_fd(),
                std::ptr::null_mut(),
                max,
                libc::SPLICE_F_MOVE,
            )
        };
        if m < 0 {
            Err(splice_error(io::Error::last_os_error()))
        } else {
            Ok(m as usize)
        }
    }

    /// Reads what the pipe holds into `buf` (when the file cannot be spliced into).
    pub fn read_pipe(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: reading into the live buffer, within its length.
        let r = unsafe { libc::read(self.pipe_r.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r as usize)
        }
    }
}

#[cfg(test)]
mod state_tests {
    use super::*;

    #[test]
    fn state_masks_use_linux_numbers() {
        let mask = |states: &[TcpState]| linux_mask(States::of(states));
        assert_eq!(mask(&[TcpState::Listen]), 1 << 10);
        assert_eq!(
            mask(&[TcpState::Established, TcpState::TimeWait]),
            (1 << 1) | (1 << 6)
        );
        assert_eq!(mask(&[TcpState::SynRecv]), (1 << 3) | (1 << 12));
        assert_eq!(mask(&[]), 0);
        // Every state: all of Linux's TCP states 1 to 12.
        assert_eq!(mask(&TcpState::ALL), (1 << 13) - 2);
        assert_eq!(linux_mask(States::ALL), (1 << 13) - 2);
        // Every bit agrees with `TcpState::from_linux`.
        for state in TcpState::ALL {
            let mask = state_bits(state);
            for n in 1..=12u8 {
                if mask & (1 << n) != 0 {
                    assert_eq!(TcpState::from_linux(n), Some(state));
                }
            }
        }
    }
}
