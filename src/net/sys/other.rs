//! Other Unix systems (the BSDs, ...): plain sockets, and no kernel view of TCP.

use std::io;

use socket2::SockRef;

use super::UdpUnreachable;
use super::{Availability, DiagEntry, States, TcpInfo};

pub use super::none::*;
// What every Unix shares; the interface in `sys/mod.rs` names each item.
pub use super::unix::rename_by_link as rename_no_replace;
pub use super::unix::*;

pub const OS: super::Os = super::Os::OtherUnix;
pub fn kernel_availability() -> Availability {
    Availability::Unsupported
}

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "the kernel's TCP state cannot be read on this system",
    )
}

pub fn tcp_info(_socket: SockRef<'_>) -> io::Result<TcpInfo> {
    Err(unsupported())
}

pub fn tcp_sockets(_family_v6: bool, _states: States) -> io::Result<Vec<DiagEntry>> {
    Err(unsupported())
}

pub const UDP_UNREACHABLE: UdpUnreachable = UdpUnreachable::Never;

pub fn udp_unreachable(_err: &io::Error) -> bool {
    false
}
