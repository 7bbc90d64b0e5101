//! `net::kernel` on Windows, against real loopback connections: the connection table
//! (`GetExtendedTcpTable`) lists listeners, live connections and TIME_WAIT by address, and
//! `SIO_TCP_INFO` reads a live connection's state. Run by `scripts/windows-smoke.sh` under
//! Wine (whose table is Linux's, read through its own emulation).
//!
//! Only `127.0.0.1` on ports the system picks; every wait polls with a 5 s bound.

#![cfg(windows)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socket_workbench::net::kernel::{self, states_mask, tcp_sockets};
use socket_workbench::net::trace::TcpState;

mod common;
use common::LIMIT;

#[test]
fn the_table_lists_a_listener_a_connection_and_time_wait() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listeners = tcp_sockets(false, states_mask(&[TcpState::Listen])).unwrap();
    assert!(
        listeners
            .iter()
            .any(|e| e.local == addr && e.state == TcpState::Listen),
        "{addr} not among {listeners:?}"
    );
    // Only the states asked for come back.
    assert!(listeners.iter().all(|e| e.state == TcpState::Listen));

    let mut client = TcpStream::connect(addr).unwrap();
    let (server, _) = listener.accept().unwrap();
    let (s_local, s_remote) = (server.local_addr().unwrap(), server.peer_addr().unwrap());
    assert_eq!(
        kernel::state_of(s_local, s_remote).unwrap(),
        Some(TcpState::Established)
    );
    // The server closes first, so its side of the connection ends in TIME_WAIT.
    drop(server);
    client.set_read_timeout(Some(LIMIT)).expect("read timeout");
    let mut buf = [0u8; 8];
    assert_eq!(client.read(&mut buf).unwrap(), 0, "the server's FIN");
    drop(client);
    let deadline = Instant::now() + LIMIT;
    let mut last;
    loop {
        last = kernel::state_of(s_local, s_remote).unwrap();
        if last == Some(TcpState::TimeWait) || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(last, Some(TcpState::TimeWait));
}

#[test]
#[cfg_attr(
    wine,
    ignore = "Wine 8 does not implement SIO_TCP_INFO: see scripts/wine/probe.c"
)]
fn sio_tcp_info_reads_a_live_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server, _) = listener.accept().unwrap();
    let info = kernel::tcp_info(&client).unwrap();
    assert_eq!(info.state, TcpState::Established);
    assert!(info.snd_mss > 0, "{info:?}");
    assert!(kernel::availability().available());
}
