//! Windows: `SIO_TCP_INFO` (Windows 10 1703 and later) for a socket's TCP state,
//! `GetExtendedTcpTable` for every TCP connection by address (TIME_WAIT after `close()`),
//! `SO_EXCLUSIVEADDRUSE` for listeners, and `WSAECONNRESET` on UDP read as "port
//! unreachable".

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::windows::io::AsRawSocket;
use std::path::Path;

use socket2::{SockRef, Socket};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    GetExtendedTcpTable, MIB_TCP6ROW_OWNER_PID, MIB_TCPROW_OWNER_PID, TCP_TABLE_OWNER_PID_ALL,
};
use windows_sys::Win32::Networking::WinSock::{
    AF_INET, AF_INET6, SIO_TCP_INFO, SO_EXCLUSIVEADDRUSE, SOCKET, SOCKET_ERROR, SOL_SOCKET,
    TCP_INFO_v0, WSAIoctl, setsockopt,
};

use super::UdpUnreachable;
pub use super::none::{
    FileSender, Splicer, UDP_DROPS, release_free_memory, report_udp_unreachable, udp_drops,
    udp_queued_error,
};
use super::{Availability, DiagEntry, States, TcpInfo};
use crate::net::trace::TcpState;

pub const OS: super::Os = super::Os::Windows;
pub const LISTENER_OPTION: &str = "SO_EXCLUSIVEADDRUSE";

/// The `SOCKET` handle's number, as `socket()` returned it (what Python's `fileno()` shows).
pub fn descriptor(socket: SockRef<'_>) -> i64 {
    socket.as_raw_socket() as i64
}

/// Nobody else may bind this port while the server holds it. (Windows lets a new listener
/// bind a port whose old connections are in TIME_WAIT without any option.)
pub fn prepare_listener(socket: &Socket) -> io::Result<()> {
    let on: i32 = 1;
    // SAFETY: a valid socket handle and a pointer to a live i32 of the size given.
    let rc = unsafe {
        setsockopt(
            socket.as_raw_socket() as SOCKET,
            SOL_SOCKET,
            SO_EXCLUSIVEADDRUSE,
            (&on as *const i32).cast(),
            std::mem::size_of::<i32>() as i32,
        )
    };
    if rc == SOCKET_ERROR {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A non-blocking `connect()` that has started: Windows says WSAEWOULDBLOCK.
pub fn connect_in_progress(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

/// Windows has no FIFOs to block an open; a plain open.
/// Opens the file at `real` to send it: `real` is canonical and lies inside `root` (also
/// canonical), as the caller checked. A directory on the way could have been swapped for a
/// link (a junction or a symlink) since that check, so the path of what was actually opened
/// is asked of the handle itself (`GetFinalPathNameByHandleW`) and must still lie inside
/// `root`.
pub fn open_beneath(root: &Path, real: &Path) -> io::Result<File> {
    use std::os::windows::ffi::OsStringExt;
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{
        FILE_NAME_NORMALIZED, GetFinalPathNameByHandleW, VOLUME_NAME_DOS,
    };
    let file = File::open(real)?;
    let mut buf = vec![0u16; 1024];
    loop {
        // SAFETY: the handle is open for the call and `buf` holds `buf.len()` u16s.
        let n = unsafe {
            GetFinalPathNameByHandleW(
                file.as_raw_handle(),
                buf.as_mut_ptr(),
                buf.len() as u32,
                FILE_NAME_NORMALIZED | VOLUME_NAME_DOS,
            )
        } as usize;
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        if n < buf.len() {
            buf.truncate(n);
            break;
        }
        if n > 1 << 16 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "path too long"));
        }
        buf.resize(n + 1, 0);
    }
    let opened = std::path::PathBuf::from(std::ffi::OsString::from_wide(&buf));
    if dunce::simplified(&opened).starts_with(root) {
        Ok(file)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the opened file is not inside the shared folder",
        ))
    }
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists` then, and nothing changes),
/// in one step: `MoveFileExW` without `MOVEFILE_REPLACE_EXISTING`.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::{MOVEFILE_WRITE_THROUGH, MoveFileExW};
    let wide = |p: &Path| -> Vec<u16> { p.as_os_str().encode_wide().chain(Some(0)).collect() };
    let (a, b) = (wide(from), wide(to));
    // SAFETY: two NUL-terminated wide strings alive for the call.
    if unsafe { MoveFileExW(a.as_ptr(), b.as_ptr(), MOVEFILE_WRITE_THROUGH) } != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// How many names (hard links) the file has.
pub fn link_count(file: &File) -> Option<u64> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{
        BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle,
    };
    // SAFETY: an all-zero BY_HANDLE_FILE_INFORMATION is a valid value of the plain struct.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is open for the call and `info` is a valid out-pointer.
    let ok = unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) };
    (ok != 0).then_some(u64::from(info.nNumberOfLinks))
}

/// A send that times out (`SO_SNDTIMEO`) leaves the connection "in an indeterminate state"
/// and Windows aborts it, so a timed send may only be used where the connection is to end
/// anyway when it times out.
pub const TIMED_SEND_KEEPS_CONNECTION: bool = false;

/// WSAEMFILE, ERROR_TOO_MANY_OPEN_FILES.
pub fn is_too_many_open_files(code: i32) -> bool {
    code == 10024 || code == 4
}

/// ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL.
pub fn is_disk_full(code: i32) -> bool {
    code == 112 || code == 39
}

/// Asks once whether `SIO_TCP_INFO` and the connection table answer, on a loopback pair.
pub fn kernel_availability() -> Availability {
    let probe = || -> io::Result<bool> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let client = std::net::TcpStream::connect(listener.local_addr()?)?;
        tcp_info(SockRef::from(&client))?;
        Ok(tcp_sockets(false, States::of(&[TcpState::Listen])).is_ok())
    };
    match probe() {
        Ok(true) => Availability::Full,
        Ok(false) => Availability::TcpInfoOnly,
        Err(_) => Availability::Unsupported,
    }
}

fn state_from_tcpstate(n: i32) -> Option<TcpState> {
    Some(match n {
        0 => TcpState::Closed,
        1 => TcpState::Listen,
        2 => TcpState::SynSent,
        3 => TcpState::SynRecv,
        4 => TcpState::Established,
        5 => TcpState::FinWait1,
        6 => TcpState::FinWait2,
        7 => TcpState::CloseWait,
        8 => TcpState::Closing,
        9 => TcpState::LastAck,
        10 => TcpState::TimeWait,
        _ => return None,
    })
}

/// `WSAIoctl(SIO_TCP_INFO)`, version 0. Windows counts the window in bytes; it is turned
/// into segments here, as Linux reports it. Fields Windows does not keep are 0 or `None`.
pub fn tcp_info(socket: SockRef<'_>) -> io::Result<TcpInfo> {
    let version: u32 = 0;
    // SAFETY: TCP_INFO_v0 is plain integers; all-zero is valid.
    let mut raw: TCP_INFO_v0 = unsafe { std::mem::zeroed() };
    let mut returned: u32 = 0;
    // SAFETY: input and output buffers are live for the call, with the sizes given; no
    // overlapped I/O.
    let rc = unsafe {
        WSAIoctl(
            socket.as_raw_socket() as SOCKET,
            SIO_TCP_INFO,
            (&version as *const u32).cast(),
            std::mem::size_of::<u32>() as u32,
            (&mut raw as *mut TCP_INFO_v0).cast(),
            std::mem::size_of::<TCP_INFO_v0>() as u32,
            &mut returned,
            std::ptr::null_mut(),
            None,
        )
    };
    if rc == SOCKET_ERROR {
        return Err(io::Error::last_os_error());
    }
    let state = state_from_tcpstate(raw.State).ok_or_else(|| super::unknown_state(raw.State))?;
    let mss = raw.Mss.max(1);
    Ok(TcpInfo {
        state,
        rtt_us: raw.RttUs,
        rttvar_us: 0,
        rto_us: 0,
        snd_cwnd: raw.Cwnd / mss,
        snd_mss: raw.Mss,
        retransmits: 0,
        total_retrans: raw.FastRetrans.saturating_add(raw.TimeoutEpisodes),
        unacked: raw.BytesInFlight.div_ceil(mss),
        sacked: 0,
        lost: 0,
        bytes_acked: Some(raw.BytesOut.saturating_sub(u64::from(raw.BytesInFlight))),
        bytes_received: Some(raw.BytesIn),
        min_rtt_us: Some(raw.MinRttUs),
        delivery_rate: None,
    })
}

fn state_from_mib(n: u32) -> Option<TcpState> {
    Some(match n {
        1 => TcpState::Closed,
        2 => TcpState::Listen,
        3 => TcpState::SynSent,
        4 => TcpState::SynRecv,
        5 => TcpState::Established,
        6 => TcpState::FinWait1,
        7 => TcpState::FinWait2,
        8 => TcpState::CloseWait,
        9 => TcpState::Closing,
        10 => TcpState::LastAck,
        11 => TcpState::TimeWait,
        _ => return None,
    })
}

/// A port as the table stores it: network byte order in the low 16 bits.
fn port(raw: u32) -> u16 {
    u16::from_be(raw as u16)
}

/// Every TCP connection of the machine (`GetExtendedTcpTable`), filtered by state.
pub fn tcp_sockets(family_v6: bool, states: States) -> io::Result<Vec<DiagEntry>> {
    let af = if family_v6 { AF_INET6 } else { AF_INET } as u32;
    let mut buf: Vec<u64> = Vec::new();
    // The table may grow between the size query and the call: try a few times.
    for _ in 0..4 {
        let mut size = (buf.len() * 8) as u32;
        // SAFETY: the buffer is live and `size` bytes long (or empty, with size 0, to ask).
        let rc = unsafe {
            GetExtendedTcpTable(
                buf.as_mut_ptr().cast(),
                &mut size,
                0,
                af,
                TCP_TABLE_OWNER_PID_ALL,
                0,
            )
        };
        match rc {
            0 => return Ok(parse_table(&buf, family_v6, states)),
            // ERROR_INSUFFICIENT_BUFFER: `size` now says how much is needed.
            122 => buf = vec![0u64; (size as usize).div_ceil(8) + 64],
            code => return Err(io::Error::from_raw_os_error(code as i32)),
        }
    }
    Err(io::Error::other("the connection table kept growing"))
}

/// Row `i` of a table whose rows of `T` start at byte `base`; `None` past the buffer.
/// `T` must be one of the plain-integer `MIB_TCP*ROW_OWNER_PID` structs.
fn table_row<T: Copy>(bytes: &[u8], base: usize, i: usize) -> Option<T> {
    let size = std::mem::size_of::<T>();
    let chunk = bytes.get(base + i * size..base + (i + 1) * size)?;
    // SAFETY: the chunk is exactly one row's bytes, and the rows are plain integers, for
    // which every bit pattern is valid.
    Some(unsafe { std::ptr::read_unaligned(chunk.as_ptr().cast::<T>()) })
}

fn parse_table(buf: &[u64], family_v6: bool, states: States) -> Vec<DiagEntry> {
    let bytes: &[u8] =
        // SAFETY: viewing an initialised u64 buffer as bytes.
        unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), buf.len() * 8) };
    let Some(count) = bytes
        .get(..4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    else {
        return Vec::new();
    };
    // Rows start after the count, aligned to 4 bytes.
    let base = 4usize;
    let mut out = Vec::new();
    for i in 0..count as usize {
        let entry = if family_v6 {
            let Some(row) = table_row::<MIB_TCP6ROW_OWNER_PID>(bytes, base, i) else {
                break;
            };
            state_from_mib(row.dwState).map(|state| DiagEntry {
                local: SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(row.ucLocalAddr),
                    port(row.dwLocalPort),
                    0,
                    row.dwLocalScopeId,
                )),
                remote: SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(row.ucRemoteAddr),
                    port(row.dwRemotePort),
                    0,
                    row.dwRemoteScopeId,
                )),
                state,
                inode: 0,
            })
        } else {
            let Some(row) = table_row::<MIB_TCPROW_OWNER_PID>(bytes, base, i) else {
                break;
            };
            state_from_mib(row.dwState).map(|state| DiagEntry {
                local: SocketAddr::from((
                    Ipv4Addr::from(u32::from_be(row.dwLocalAddr)),
                    port(row.dwLocalPort),
                )),
                // A listener's remote is reported as 0.0.0.0 with a meaningless port.
                remote: SocketAddr::from((
                    Ipv4Addr::from(u32::from_be(row.dwRemoteAddr)),
                    if state == TcpState::Listen {
                        0
                    } else {
                        port(row.dwRemotePort)
                    },
                )),
                state,
                inode: 0,
            })
        };
        if let Some(entry) = entry
            && states.contains(entry.state)
        {
            out.push(entry);
        }
    }
    out
}

/// Windows answers a datagram sent to a closed port on the next `recvfrom()`, with
/// WSAECONNRESET (on by default, `SIO_UDP_CONNRESET`); the socket stays usable. No option
/// is needed.
pub const UDP_UNREACHABLE: UdpUnreachable = UdpUnreachable::Reported;

/// WSAECONNRESET on a UDP socket: an earlier datagram met a closed port.
pub fn udp_unreachable(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::ConnectionReset
}

/// The shared folder's rules for a requested name, as this system reads names.
pub fn check_served_name(name: &str) -> Result<(), crate::proto::download::Refusal> {
    crate::proto::download::check_name_windows(name)
}

/// Nothing wakes a thread blocked in a Winsock `recv()` from another thread (`shutdown`
/// does not, and `SD_RECEIVE` would reset the connection if data came later), and a send
/// that times out (`SO_SNDTIMEO`) leaves the connection "in an indeterminate state": Windows
/// aborts it. So the client's connection is non-blocking here, and its reader and writer wait
/// for readiness (`WSAPoll`) in slices of this length, looking between slices whether to stop.
pub const READ_SLICE: Option<std::time::Duration> = Some(std::time::Duration::from_millis(200));

/// Non-blocking: every wait is a [`wait_readable`] or [`wait_writable`] with a time limit.
/// Both handles are set, the writer's and the reader's duplicate: each `SOCKET` handle is
/// made non-blocking explicitly rather than trusting the duplicate to share the mode.
pub fn prepare_client_stream(
    writer: &std::net::TcpStream,
    reader: &std::net::TcpStream,
    _write_slice: std::time::Duration,
) -> io::Result<()> {
    writer.set_nonblocking(true)?;
    reader.set_nonblocking(true)
}

fn poll_one(stream: &std::net::TcpStream, events: i16, slice: std::time::Duration) {
    use windows_sys::Win32::Networking::WinSock::{WSAPOLLFD, WSAPoll};
    let mut fd = WSAPOLLFD {
        fd: stream.as_raw_socket() as SOCKET,
        events,
        revents: 0,
    };
    let ms = i32::try_from(slice.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: one live WSAPOLLFD for the length of the call. An error or a timeout both
    // just end the wait: the next call on the socket says what is true.
    unsafe { WSAPoll(&mut fd, 1, ms) };
}

/// Waits at most `slice` for data (or the peer's close) on the non-blocking connection.
pub fn wait_readable(stream: &std::net::TcpStream, slice: std::time::Duration) {
    use windows_sys::Win32::Networking::WinSock::POLLRDNORM;
    poll_one(stream, POLLRDNORM, slice);
}

/// Waits at most `slice` for room in the send buffer.
pub fn wait_writable(stream: &std::net::TcpStream, slice: std::time::Duration) {
    use windows_sys::Win32::Networking::WinSock::POLLWRNORM;
    poll_one(stream, POLLWRNORM, slice);
}

/// A send that never waits: the client's socket is non-blocking here.
pub fn try_send(stream: &std::net::TcpStream, buf: &[u8]) -> io::Result<usize> {
    use std::io::Write;
    let mut s = stream;
    s.write(buf)
}

/// The reader notices within [`READ_SLICE`].
pub fn wake_reader(_stream: &std::net::TcpStream) {}

/// A console program started by a double click gets a console window of its own, which
/// would sit behind the window for as long as it runs: let it go when no other process (a
/// Command Prompt that started us) shares it. Started from a terminal, output stays there.
pub fn release_own_console() {
    use windows_sys::Win32::System::Console::{FreeConsole, GetConsoleProcessList};
    let mut pids = [0u32; 2];
    // SAFETY: a live buffer of two process ids, its length given.
    let attached = unsafe { GetConsoleProcessList(pids.as_mut_ptr(), 2) };
    if attached == 1 {
        // SAFETY: no arguments; detaching from a console we alone use.
        unsafe { FreeConsole() };
    }
}

/// `connect()` with a time limit: non-blocking connect, then `WSAPoll`. Unlike socket2's
/// version, a connection that completed and was already closed by the peer (both "writable"
/// and "hung up", no error: a server that accepts and closes at once) counts as connected,
/// as it does on Unix; the first `recv()` then says the peer closed.
pub fn connect_timeout(
    socket: &Socket,
    addr: std::net::SocketAddr,
    timeout: std::time::Duration,
) -> io::Result<()> {
    use windows_sys::Win32::Networking::WinSock::{
        POLLERR, POLLHUP, POLLWRNORM, WSAPOLLFD, WSAPoll,
    };
    socket.set_nonblocking(true)?;
    let result = (|| {
        match socket.connect(&addr.into()) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            let mut fd = WSAPOLLFD {
                fd: socket.as_raw_socket() as SOCKET,
                events: POLLWRNORM,
                revents: 0,
            };
            let ms = i32::try_from(left.as_millis().max(1)).unwrap_or(i32::MAX);
            // SAFETY: one live WSAPOLLFD for the length of the call.
            let n = unsafe { WSAPoll(&mut fd, 1, ms) };
            if n == SOCKET_ERROR {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Err(io::ErrorKind::TimedOut.into());
            }
            if let Some(err) = socket.take_error()? {
                return Err(err);
            }
            if fd.revents & POLLWRNORM != 0 {
                return Ok(());
            }
            if fd.revents & (POLLERR | POLLHUP) != 0 {
                return Err(io::Error::from(io::ErrorKind::ConnectionRefused));
            }
        }
    })();
    socket.set_nonblocking(false)?;
    result
}

/// Windows has no per-process limit on sockets to raise (they are handles, bounded by memory).
pub fn raise_file_limit(_want: u64) -> super::FileLimit {
    super::FileLimit::default()
}
