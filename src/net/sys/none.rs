//! The honest "not on this system" versions, shared by the systems that lack a capability.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
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

/// The allocator returns freed memory by itself (or there is no call to ask it).
pub fn release_free_memory() {}

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

/// Sends a file through a buffer (no `sendfile` here): bytes read but not yet sent are kept,
/// so a send that times out loses nothing and the next call carries on where it stopped.
pub struct FileSender {
    buf: Vec<u8>,
    /// The file offset of `buf[start]`, and the unsent bytes `buf[start..end]`.
    at: u64,
    start: usize,
    end: usize,
}

impl Default for FileSender {
    fn default() -> Self {
        Self::new()
    }
}

impl FileSender {
    pub fn new() -> Self {
        Self {
            buf: vec![0; 256 * 1024],
            at: 0,
            start: 0,
            end: 0,
        }
    }

    /// Sends some of `file` from `offset` (at most `max` bytes) and returns how many went
    /// out: 0 at the end of the file. A send that can move nothing within the socket's send
    /// timeout fails with `WouldBlock` or `TimedOut`, and nothing is lost.
    pub fn send(
        &mut self,
        mut file: &File,
        mut out: &TcpStream,
        offset: u64,
        max: u64,
    ) -> io::Result<usize> {
        if self.start == self.end || self.at != offset {
            let want = usize::try_from(max)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            file.seek(SeekFrom::Start(offset))?;
            let n = file.read(&mut self.buf[..want])?;
            if n == 0 {
                return Ok(0);
            }
            (self.at, self.start, self.end) = (offset, 0, n);
        }
        let n = out.write(&self.buf[self.start..self.end])?;
        self.start += n;
        self.at += n as u64;
        Ok(n)
    }
}
