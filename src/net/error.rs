//! Network errors sorted into the cases a student can act on.
//!
//! The UI and the command line turn a [`NetErrorKind`] into plain words (see `i18n`); the OS
//! message is kept underneath for the curious.

use std::io;

/// What went wrong, in the terms the lesson and the panels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetErrorKind {
    /// Nothing is listening on that port (the peer answered with RST).
    Refused,
    /// The connection attempt got no answer within the time limit.
    TimedOut,
    /// No route to the host, or the host is unreachable.
    NoRoute,
    /// The network itself is unreachable from here.
    NetworkUnreachable,
    /// The host name could not be turned into an address.
    NameNotResolved,
    /// The peer aborted the connection (RST).
    Reset,
    /// Writing to a connection the peer has already closed.
    BrokenPipe,
    /// The port number is not a number from 1 to 65535.
    InvalidPort,
    /// The host field is empty.
    EmptyHost,
    /// The local address is already in use.
    AddrInUse,
    /// The local address does not belong to this machine.
    AddrNotAvailable,
    /// The OS refused (privileged port, firewall, ...).
    PermissionDenied,
    /// The process has run out of file descriptors.
    TooManyOpenFiles,
    /// A file to send could not be opened or read.
    FileRead,
    /// A file to write received data to could not be written.
    FileWrite,
    /// A datagram larger than UDP can carry.
    DatagramTooLarge,
    /// Sending to a broadcast address without SO_BROADCAST.
    BroadcastNotEnabled,
    /// The peer's machine answered "port unreachable": no socket is bound there.
    NobodyListening,
    /// An address that is not a multicast group was given to join.
    NotMulticast,
    /// The disk (or quota) is full.
    DiskFull,
    /// The file server has no such file.
    RemoteNotFound,
    /// The file server refused the request (the detail says why).
    RemoteRefused,
    /// A lesson-style server closed without sending anything.
    NothingReceived,
    /// The transfer ended before the whole file arrived.
    Incomplete,
    /// The file arrived whole but its digest does not match: it was damaged on the way.
    DigestMismatch,
    /// The server's answer was not what the protocol says.
    BadReply,
    /// The destination exists and overwriting was not asked for.
    DestinationExists,
    /// Another download is writing to the same destination's `.part` right now.
    PartInUse,
    /// The peer stopped reading: nothing could be sent for the stall timeout, so the transfer
    /// was ended and its place given to the next one.
    Stalled,
    /// Echo mode answered as many datagrams a second as it may; the rest were not echoed.
    EchoLimited,
    /// The user cancelled.
    Cancelled,
    /// Anything else; the OS message says what.
    Other,
}

/// An error with its kind and the OS's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {detail}")]
pub struct NetError {
    pub kind: NetErrorKind,
    /// The OS message (or other detail), shown in small print under the plain words.
    pub detail: String,
}

impl NetError {
    pub fn new(kind: NetErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// Classifies an I/O error from a socket call.
    pub fn from_io(err: &io::Error) -> Self {
        Self::new(classify(err), err.to_string())
    }

    /// Classifies an I/O error from opening or reading a file.
    pub fn file_read(path: &std::path::Path, err: &io::Error) -> Self {
        Self::new(NetErrorKind::FileRead, format!("{}: {err}", path.display()))
    }

    /// Classifies an I/O error from writing a file (a full disk is said as such).
    pub fn file_write(path: &std::path::Path, err: &io::Error) -> Self {
        let kind = match classify(err) {
            NetErrorKind::DiskFull => NetErrorKind::DiskFull,
            _ => NetErrorKind::FileWrite,
        };
        Self::new(kind, format!("{}: {err}", path.display()))
    }
}

impl From<crate::proto::addr::AddrError> for NetError {
    fn from(e: crate::proto::addr::AddrError) -> Self {
        use crate::proto::addr::AddrError as A;
        match e {
            A::EmptyHost(t) => Self::new(NetErrorKind::EmptyHost, t),
            A::InvalidPort(t) => Self::new(NetErrorKind::InvalidPort, t),
            A::NotAnAddress(t) => Self::new(NetErrorKind::AddrNotAvailable, t),
        }
    }
}

/// Maps an OS error onto a [`NetErrorKind`].
pub fn classify(err: &io::Error) -> NetErrorKind {
    use io::ErrorKind as K;
    match err.kind() {
        K::ConnectionRefused => NetErrorKind::Refused,
        K::TimedOut | K::WouldBlock => NetErrorKind::TimedOut,
        K::HostUnreachable => NetErrorKind::NoRoute,
        K::NetworkUnreachable => NetErrorKind::NetworkUnreachable,
        K::ConnectionReset | K::ConnectionAborted => NetErrorKind::Reset,
        K::BrokenPipe => NetErrorKind::BrokenPipe,
        K::AddrInUse => NetErrorKind::AddrInUse,
        K::AddrNotAvailable => NetErrorKind::AddrNotAvailable,
        K::PermissionDenied => NetErrorKind::PermissionDenied,
        // No errno number is assumed: the OS layer knows its own system's codes.
        _ if super::sys::too_many_open_files(err) => NetErrorKind::TooManyOpenFiles,
        _ if super::sys::disk_full(err) => NetErrorKind::DiskFull,
        _ => NetErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_map_to_plain_cases() {
        let cases = [
            (io::ErrorKind::ConnectionRefused, NetErrorKind::Refused),
            (io::ErrorKind::TimedOut, NetErrorKind::TimedOut),
            (io::ErrorKind::ConnectionReset, NetErrorKind::Reset),
            (io::ErrorKind::BrokenPipe, NetErrorKind::BrokenPipe),
            (io::ErrorKind::AddrInUse, NetErrorKind::AddrInUse),
            (io::ErrorKind::HostUnreachable, NetErrorKind::NoRoute),
            (io::ErrorKind::Other, NetErrorKind::Other),
        ];
        for (io_kind, expected) in cases {
            assert_eq!(classify(&io::Error::from(io_kind)), expected, "{io_kind:?}");
        }
        let emfile = if cfg!(windows) { 10024 } else { 24 };
        assert_eq!(
            classify(&io::Error::from_raw_os_error(emfile)),
            NetErrorKind::TooManyOpenFiles
        );
    }
}
