//! Everything that differs between operating systems, in one place.
//!
//! The engines call only the functions re-exported here; each OS family has a module that
//! implements the same set (the compiler checks that every one of them does, since the
//! engines are built against whichever is selected). No `cfg` on an OS appears anywhere else
//! in `net/`, so a capability that one system lacks is decided here, once, and said plainly:
//! a function returns [`io::ErrorKind::Unsupported`] or `None`, and a `const` tells a panel
//! in advance, so it can say "not available on this system" instead of guessing. (Whether
//! the kernel's TCP state can be read is only known by asking: see `kernel::availability`;
//! the engines tell their panels when it cannot.)
//!
//! | capability | Linux | Windows | macOS | other Unix |
//! |---|---|---|---|---|
//! | descriptor shown by `socket()` | fd | `SOCKET` handle | fd | fd |
//! | listener option | `SO_REUSEADDR` | `SO_EXCLUSIVEADDRUSE` | `SO_REUSEADDR` | `SO_REUSEADDR` |
//! | kernel TCP state of a socket | `TCP_INFO` | `SIO_TCP_INFO` (Windows 10 1703+) | `TCP_CONNECTION_INFO` | no |
//! | TCP sockets by address (TIME_WAIT) | sock_diag (netlink) | `GetExtendedTcpTable` | no | no |
//! | UDP "port unreachable" | `IP_RECVERR` error queue, names the target | `WSAECONNRESET` on the next `recvfrom()` | no (BSD reports it to connected sockets only) | no |
//! | UDP receive-buffer drops | `/proc/net/udp` | no | no | no |
//! | waking a blocked `recv()` | `shutdown(SHUT_RD)` | none: the reader waits in 200 ms slices | `shutdown(SHUT_RD)` | `shutdown(SHUT_RD)` |
//! | zero-copy receive into a file | `splice` | plain copy | plain copy | plain copy |
//! | zero-copy send of a file | `sendfile` | plain copy | plain copy | plain copy |
//! | a timed-out send keeps the connection | yes | no: Windows aborts it | yes | yes |
//! | open-descriptor limit (`load` with many clients) | `RLIMIT_NOFILE`, raised to the hard limit | none for sockets | `RLIMIT_NOFILE`, at most `OPEN_MAX` (10,240) | `RLIMIT_NOFILE` |
//!
//! Error numbers are never compared across systems: [`too_many_open_files`] and
//! [`disk_full`] look at `io::ErrorKind` first and then at the raw code of the system the
//! program was built for.
//!
//! Why Windows servers use `SO_EXCLUSIVEADDRUSE`: there `SO_REUSEADDR` means "let me bind a
//! port another socket already holds", so a second program could take a student's port in
//! the middle of a lesson; and Windows lets a new listener bind a port whose old connections
//! wait in TIME_WAIT without any option, which is what `SO_REUSEADDR` is for on Unix.

use std::io;

mod types;
pub use types::{Availability, DiagEntry, States, TcpInfo};

#[cfg(not(target_os = "linux"))]
mod none;
#[cfg(unix)]
mod unix;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as imp;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as imp;

#[cfg(all(unix, not(any(target_os = "linux", target_os = "macos"))))]
mod other;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "macos"))))]
use other as imp;

pub use imp::{
    FileSender, LISTENER_OPTION, OS, READ_SLICE, Splicer, TIMED_SEND_KEEPS_CONNECTION, UDP_DROPS,
    UDP_UNREACHABLE, check_served_name, connect_in_progress, connect_timeout, descriptor,
    kernel_availability, link_count, open_beneath, prepare_client_stream, prepare_listener,
    raise_file_limit, release_free_memory, release_own_console, rename_no_replace,
    report_udp_unreachable, tcp_info, tcp_sockets, try_send, udp_drops, udp_queued_error,
    udp_unreachable, wait_readable, wait_writable, wake_reader,
};

/// The process's limit on open descriptors (every socket is one), before and after
/// [`raise_file_limit`] asked for more. `None` where the system has no such limit for sockets
/// (Windows: a process may open sockets until memory runs out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileLimit {
    pub before: Option<u64>,
    pub now: Option<u64>,
    /// The most an unprivileged process may raise it to.
    pub hard: Option<u64>,
}

/// The system the program was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
    MacOs,
    OtherUnix,
}

/// How far a system reports UDP's "port unreachable" (the ICMP answer from a closed port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpUnreachable {
    /// Reported, with the destination of the datagram that caused it (Linux's error queue).
    WithTarget,
    /// Reported on the next `recvfrom()`, without saying which datagram (Windows): the last
    /// target is named.
    Reported,
    /// Not reported to an unconnected socket at all (BSD, macOS).
    Never,
}

/// Why a [`Splicer`] call failed.
#[derive(Debug)]
pub enum SpliceError {
    /// This socket or file cannot be spliced (or the system has no splice): copy instead.
    Unsupported,
    Io(io::Error),
}

/// A TCP state number this program does not know (from a newer system, say).
#[cfg_attr(not(any(windows, target_os = "macos")), allow(dead_code))]
fn unknown_state(n: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TCP state {n}"))
}

/// "Too many open files": the process's limit (EMFILE, WSAEMFILE) or the system's (ENFILE).
pub fn too_many_open_files(err: &io::Error) -> bool {
    err.raw_os_error().is_some_and(imp::is_too_many_open_files)
}

/// The disk or the user's quota is full.
pub fn disk_full(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) || err.raw_os_error().is_some_and(imp::is_disk_full)
}

/// Whether an error from `recvfrom()` on a UDP socket is the system's way of saying that an
/// earlier datagram reached a port where nobody listens.
pub fn is_udp_unreachable(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::ConnectionRefused || udp_unreachable(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_systems_codes_are_recognised() {
        let emfile = if cfg!(windows) { 10024 } else { 24 };
        assert!(too_many_open_files(&io::Error::from_raw_os_error(emfile)));
        assert!(!too_many_open_files(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
        let enospc = if cfg!(windows) { 112 } else { 28 };
        assert!(disk_full(&io::Error::from_raw_os_error(enospc)));
        assert!(disk_full(&io::Error::from(io::ErrorKind::StorageFull)));
        assert!(!disk_full(&io::Error::from(io::ErrorKind::NotFound)));
    }

    #[test]
    fn udp_unreachable_is_read_from_this_systems_error() {
        assert!(is_udp_unreachable(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
        // Windows: WSAECONNRESET on a UDP socket is the ICMP answer to an earlier datagram.
        let wsaeconnreset = io::Error::from_raw_os_error(10054);
        assert_eq!(is_udp_unreachable(&wsaeconnreset), OS == Os::Windows);
        assert!(!is_udp_unreachable(&io::Error::from(
            io::ErrorKind::TimedOut
        )));
    }

    #[test]
    fn the_listener_option_matches_the_system() {
        if cfg!(windows) {
            assert_eq!(LISTENER_OPTION, "SO_EXCLUSIVEADDRUSE");
        } else {
            assert_eq!(LISTENER_OPTION, "SO_REUSEADDR");
        }
    }
}
