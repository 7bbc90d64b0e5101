//! The other end as a student's program has it: plain std sockets with timeouts, so no read
//! can hang a test.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use super::LIMIT;

/// How long a test listens for something that must not arrive.
pub const QUIET: Duration = Duration::from_millis(300);

/// A loopback client with read and write timeouts of [`LIMIT`].
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, LIMIT).expect("connect to the server");
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

pub fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    stream.read_exact(&mut buf).expect("client read_exact");
    buf
}

pub fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).expect("client read_to_end");
    all
}

/// A std UDP socket bound to `bind`, with read and write timeouts of [`LIMIT`].
pub fn std_udp(bind: impl ToSocketAddrs) -> UdpSocket {
    let s = UdpSocket::bind(bind).expect("bind std socket");
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

/// One datagram (bounded by the socket's read timeout).
pub fn recv_one(s: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 70_000];
    let (n, from) = s
        .recv_from(&mut buf)
        .unwrap_or_else(|e| panic!("std socket {:?}: no datagram: {e}", s.local_addr().ok()));
    buf.truncate(n);
    (buf, from)
}

/// Asserts that nothing arrives at `s` within [`QUIET`]; restores the long timeout after.
pub fn assert_nothing(s: &UdpSocket, what: &str) {
    s.set_read_timeout(Some(QUIET)).unwrap();
    let mut buf = vec![0u8; 70_000];
    let got = s.recv_from(&mut buf);
    s.set_read_timeout(Some(LIMIT)).unwrap();
    match got {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        Ok((n, from)) => panic!("{what}: {n} bytes arrived from {from}"),
        Err(e) => panic!("{what}: recv_from failed: {e}"),
    }
}
