//! The honest "not on this system" versions, shared by the systems that lack a capability.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpStream, UdpSocket};

use socket2::Socket;

use super::SpliceError;

/// No option asks this system to report UDP errors.
pub fn report_udp_unreachable(
    _socket: &Socket,
    _v6: bool,
) -> Option<(&'static str, io::Result<()>)> {
    None
}

/// No error queue.
pub fn udp_queued_error(_socket: &UdpSocket) -> Option<(io::Error, Option<SocketAddr>)> {
    None
}

/// The system does not count a socket's dropped datagrams where a program can read it.
pub const UDP_DROPS: bool = false;

pub fn udp_drops(_local: SocketAddr) -> Option<u64> {
    None
}

/// No splice: downloads copy through a buffer. (The type cannot be made: `new` says `None`.)
pub struct Splicer(std::convert::Infallible);

impl Splicer {
    pub fn new(_size: usize) -> Option<Self> {
        None
    }

    pub fn from_socket(&self, _socket: &TcpStream, _max: usize) -> Result<usize, SpliceError> {
        match self.0 {}
    }

    pub fn to_file(&self, _file: &File, _max: usize) -> Result<usize, SpliceError> {
        match self.0 {}
    }

    pub fn read_pipe(&self, _buf: &mut [u8]) -> io::Result<usize> {
        match self.0 {}
    }
}
