//! What every Unix shares: descriptors, `SO_REUSEADDR`, `O_NONBLOCK` opens, errno values.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use socket2::{SockRef, Socket};

pub const LISTENER_OPTION: &str = "SO_REUSEADDR";

/// The descriptor number, as `socket()` returned it.
pub fn descriptor(socket: SockRef<'_>) -> i64 {
    i64::from(socket.as_raw_fd())
}

/// So a restarted server can listen at once while old connections sit in TIME_WAIT.
pub fn prepare_listener(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_address(true)
}

/// A non-blocking `connect()` that has started and will finish later.
pub fn connect_in_progress(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::EINPROGRESS) || err.kind() == io::ErrorKind::WouldBlock
}

/// Opens the file at `real` to send it: `real` is canonical and lies inside `root` (also
/// canonical), as the caller checked. Between that check and this open, someone with write
/// access to the folder could swap a directory on the way for a symlink that leads out, so
/// the path is walked again here, one component at a time from a descriptor of `root`, with
/// `O_NOFOLLOW` on every step: a canonical path has no symlinks, so any symlink met now was
/// swapped in, and the open fails (`ELOOP`) instead of following it. `O_NONBLOCK` on the file:
/// opening a FIFO must not wait for a writer (regular files ignore the flag).
pub fn open_beneath(root: &Path, real: &Path) -> io::Result<File> {
    use std::ffi::CString;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Component;
    let outside = || io::Error::new(io::ErrorKind::InvalidInput, "not inside the shared folder");
    let rel = real.strip_prefix(root).map_err(|_| outside())?;
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(part) => parts.push(
                CString::new(part.as_bytes())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a name"))?,
            ),
            _ => return Err(outside()),
        }
    }
    let Some((last, dirs)) = parts.split_last() else {
        return Err(outside());
    };
    let mut dir: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(root)?
        .into();
    let open_at = |dir: &OwnedFd, name: &CString, flags: i32| -> io::Result<OwnedFd> {
        // SAFETY: `dir` is an open descriptor and `name` a NUL-terminated string, both alive
        // for the call; a non-negative result is a new descriptor that nothing else owns.
        let fd = unsafe {
            libc::openat(
                dir.as_raw_fd(),
                name.as_ptr(),
                flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            Err(io::Error::last_os_error())
        } else {
            // SAFETY: see above: `fd` is new and owned by no one else.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        }
    };
    for part in dirs {
        dir = open_at(&dir, part, libc::O_RDONLY | libc::O_DIRECTORY)?;
    }
    Ok(File::from(open_at(
        &dir,
        last,
        libc::O_RDONLY | libc::O_NONBLOCK,
    )?))
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists` then, and nothing changes):
/// a hard link under the new name, which fails if the name is taken, then the old name
/// removed. On a file system without hard links, the check and the rename are two steps.
/// (macOS and the other Unixes use this as `rename_no_replace`; Linux when its file system
/// lacks `RENAME_NOREPLACE`.)
pub fn rename_by_link(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => rename_if_absent(from, to),
    }
}

/// The last resort of [`rename_no_replace`]: look, then rename.
fn rename_if_absent(from: &Path, to: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    std::fs::rename(from, to)
}

/// How many names (hard links) the file has.
pub fn link_count(file: &File) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    file.metadata().ok().map(|m| m.nlink())
}

/// A send that times out (`SO_SNDTIMEO`) returns what it sent, or `EAGAIN`, and the
/// connection carries on.
pub const TIMED_SEND_KEEPS_CONNECTION: bool = true;

pub fn is_too_many_open_files(code: i32) -> bool {
    code == libc::EMFILE || code == libc::ENFILE
}

pub fn is_disk_full(code: i32) -> bool {
    code == libc::ENOSPC || code == libc::EDQUOT
}

/// The shared folder's rules for a requested name, as this system reads names.
pub fn check_served_name(name: &str) -> Result<(), crate::proto::download::Refusal> {
    crate::proto::download::check_name(name)
}

/// A blocked `recv()` returns 0 once the socket is shut down for reading, so the client's
/// reader needs no timeout.
pub const READ_SLICE: Option<std::time::Duration> = None;

/// The client's connection (the writer's handle and the reader's clone of it): blocking,
/// with sends that give up after `write_slice` (and carry on later, nothing lost) so the
/// writer can look at its commands.
pub fn prepare_client_stream(
    writer: &std::net::TcpStream,
    _reader: &std::net::TcpStream,
    write_slice: std::time::Duration,
) -> io::Result<()> {
    writer.set_write_timeout(Some(write_slice))
}

/// Blocking sockets wait in the call itself.
pub fn wait_readable(_stream: &std::net::TcpStream, _slice: std::time::Duration) {}

/// Waits at most `slice` for room in the send buffer (`poll`).
pub fn wait_writable(stream: &std::net::TcpStream, slice: std::time::Duration) {
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = libc::c_int::try_from(slice.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one live pollfd for the length of the call. An error or a timeout both just
    // end the wait: the next call on the socket says what is true.
    unsafe { libc::poll(&mut fd, 1, ms) };
}

/// A send that never waits (`MSG_DONTWAIT`): what the kernel takes now, or `WouldBlock`.
/// The client's writer sends this way while it holds the trace's order lock, so the reader
/// never waits on that lock for a send that is waiting for room.
pub fn try_send(stream: &std::net::TcpStream, buf: &[u8]) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = libc::MSG_DONTWAIT;
    SockRef::from(stream).send_with_flags(buf, flags)
}

/// Wakes a thread blocked in `recv()` on this connection (it returns 0). Sends nothing.
pub fn wake_reader(stream: &std::net::TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Read);
}

/// A Unix program has no console window to release.
pub fn release_own_console() {}

/// `connect()` with a time limit (socket2's: non-blocking connect, then poll).
pub fn connect_timeout(
    socket: &Socket,
    addr: std::net::SocketAddr,
    timeout: std::time::Duration,
) -> io::Result<()> {
    socket.connect_timeout(&addr.into(), timeout)
}

/// Raises the soft limit on open descriptors to `want` (or as near as the hard limit and the
/// system allow: macOS refuses more than `OPEN_MAX`, 10,240, whatever the hard limit says).
pub fn raise_file_limit(want: u64) -> super::FileLimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return super::FileLimit::default();
    }
    // rlim_t is u64 here but not on every Unix.
    #[allow(clippy::unnecessary_cast)]
    let (before, hard) = (lim.rlim_cur as u64, lim.rlim_max as u64);
    let mut now = before;
    if before < want {
        for target in [want.min(hard), want.min(hard).min(10_240)] {
            if target <= now {
                continue;
            }
            let new = libc::rlimit {
                rlim_cur: target as libc::rlim_t,
                rlim_max: lim.rlim_max,
            };
            // SAFETY: setrlimit reads the struct we pass.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } == 0 {
                now = target;
                break;
            }
        }
    }
    super::FileLimit {
        before: Some(before),
        now: Some(now),
        hard: Some(hard),
    }
}
