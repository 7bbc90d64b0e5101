//! Other Unix systems (the BSDs, ...): plain sockets, and no kernel view of TCP.

use std::io;

use socket2::SockRef;

use super::UdpUnreachable;
use crate::net::kernel::{Availability, DiagEntry, TcpInfo};

pub use super::none::{Splicer, UDP_DROPS, report_udp_unreachable, udp_drops, udp_queued_error};
pub use super::unix::{
    LISTENER_OPTION, READ_SLICE, check_served_name, connect_in_progress, connect_timeout,
    descriptor, is_disk_full, is_too_many_open_files, open_to_serve, prepare_client_stream,
    prepare_listener, release_own_console, wait_readable, wait_writable, wake_reader,
};

pub const OS: super::Os = super::Os::OtherUnix;
pub const OS_NAME: &str = "Unix";

pub const KERNEL_STATE: bool = false;

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

pub fn tcp_sockets(_family_v6: bool, _states_mask: u32) -> io::Result<Vec<DiagEntry>> {
    Err(unsupported())
}

pub const UDP_UNREACHABLE: UdpUnreachable = UdpUnreachable::Never;

pub fn udp_unreachable(_err: &io::Error) -> bool {
    false
}
