//! macOS: `TCP_CONNECTION_INFO` for a socket's TCP state. macOS offers no unprivileged
//! way to list connections by address (so no TIME_WAIT after `close()`), reports UDP's
//! "port unreachable" only to connected sockets, and keeps no per-socket drop count.

use std::io;
use std::os::fd::AsRawFd;

use socket2::SockRef;

use super::UdpUnreachable;
use super::{Availability, DiagEntry, States, TcpInfo};
use crate::net::trace::TcpState;

pub use super::none::*;
// What every Unix shares; the interface in `sys/mod.rs` names each item.
pub use super::unix::rename_by_link as rename_no_replace;
pub use super::unix::*;

pub const OS: super::Os = super::Os::MacOs;
pub fn kernel_availability() -> Availability {
    Availability::TcpInfoOnly
}

/// `netinet/tcp_fsm.h` numbers.
fn state_from_bsd(n: u8) -> Option<TcpState> {
    Some(match n {
        0 => TcpState::Closed,
        1 => TcpState::Listen,
        2 => TcpState::SynSent,
        3 => TcpState::SynRecv,
        4 => TcpState::Established,
        5 => TcpState::CloseWait,
        6 => TcpState::FinWait1,
        7 => TcpState::Closing,
        8 => TcpState::LastAck,
        9 => TcpState::FinWait2,
        10 => TcpState::TimeWait,
        _ => return None,
    })
}

/// `getsockopt(IPPROTO_TCP, TCP_CONNECTION_INFO)`. macOS gives times in milliseconds and
/// the window in bytes; they are turned into Linux's units (microseconds, segments).
pub fn tcp_info(socket: SockRef<'_>) -> io::Result<TcpInfo> {
    // SAFETY: the struct is plain integers; all-zero is valid.
    let mut raw: libc::tcp_connection_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_connection_info>() as libc::socklen_t;
    // SAFETY: `raw` is writable and `len` bytes long; the kernel writes at most `len`.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONNECTION_INFO,
            (&mut raw as *mut libc::tcp_connection_info).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let state =
        state_from_bsd(raw.tcpi_state).ok_or_else(|| super::unknown_state(raw.tcpi_state))?;
    let mss = raw.tcpi_maxseg.max(1);
    Ok(TcpInfo {
        state,
        rtt_us: raw.tcpi_srtt.saturating_mul(1000),
        rttvar_us: raw.tcpi_rttvar.saturating_mul(1000),
        rto_us: raw.tcpi_rto.saturating_mul(1000),
        snd_cwnd: raw.tcpi_snd_cwnd / mss,
        snd_mss: raw.tcpi_maxseg,
        retransmits: 0,
        // Retransmitted bytes, in segments.
        total_retrans: u32::try_from(raw.tcpi_txretransmitbytes / u64::from(mss))
            .unwrap_or(u32::MAX),
        unacked: 0,
        sacked: 0,
        lost: 0,
        bytes_acked: None,
        bytes_received: Some(raw.tcpi_rxbytes),
        min_rtt_us: None,
        delivery_rate: None,
    })
}

pub fn tcp_sockets(_family_v6: bool, _states: States) -> io::Result<Vec<DiagEntry>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "macOS offers no unprivileged list of TCP connections",
    ))
}

/// BSD reports ICMP errors to connected UDP sockets only.
pub const UDP_UNREACHABLE: UdpUnreachable = UdpUnreachable::Never;

pub fn udp_unreachable(_err: &io::Error) -> bool {
    false
}
