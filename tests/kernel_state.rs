//! `net::kernel` against real loopback connections: the states the kernel reports through
//! `TCP_INFO` and socket diagnostics as connections open, half-close and close.
//!
//! Only `127.0.0.1` and `::1` on ports the kernel picks. Every wait polls with a 5 s bound,
//! so a slow machine takes longer but never fails. Who closes first decides who ends in
//! TIME_WAIT, so each close test names the side and checks both 4-tuples.

#![cfg(target_os = "linux")]

use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket_workbench::net::kernel::{
    self, ALL_STATES, Availability, DiagEntry, states_mask, tcp_info, tcp_sockets,
};
use socket_workbench::net::trace::TcpState;

mod common;
use common::LIMIT;
const POLL: Duration = Duration::from_millis(5);

/// Polls `observe` until `done` holds for what it returns; panics after [`LIMIT`] with the
/// last observation.
fn wait_until<T: Debug>(
    what: &str,
    mut observe: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + LIMIT;
    loop {
        let seen = observe();
        if done(&seen) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "waited {LIMIT:?} for {what}; last saw {seen:?}"
        );
        std::thread::sleep(POLL);
    }
}

fn state(socket: &TcpStream) -> TcpState {
    tcp_info(socket).expect("TCP_INFO").state
}

fn wait_for_state(what: &str, socket: &TcpStream, want: TcpState) {
    wait_until(what, || state(socket), |&s| s == want);
}

/// The 4-tuple of a connected socket, as (local, remote).
fn tuple(socket: &TcpStream) -> (SocketAddr, SocketAddr) {
    (socket.local_addr().unwrap(), socket.peer_addr().unwrap())
}

fn state_of(tuple: (SocketAddr, SocketAddr)) -> Option<TcpState> {
    kernel::state_of(tuple.0, tuple.1).expect("socket diagnostics")
}

fn wait_for_tuple(what: &str, tuple: (SocketAddr, SocketAddr), want: Option<TcpState>) {
    wait_until(what, || state_of(tuple), |&s| s == want);
}

/// A listener on `addr` (port 0), a connected client and the server's accepted socket.
fn pair(addr: &str) -> (TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind(addr).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    for socket in [&client, &server] {
        socket.set_read_timeout(Some(LIMIT)).unwrap();
        socket.set_write_timeout(Some(LIMIT)).unwrap();
    }
    (listener, client, server)
}

/// Reads until end of stream: the peer's FIN. Panics on data or a timeout.
fn expect_eof(socket: &mut TcpStream) {
    let mut buf = [0u8; 16];
    assert_eq!(
        socket.read(&mut buf).expect("read to EOF"),
        0,
        "expected EOF, got data"
    );
}

/// The inode of a descriptor's socket, from `/proc/self/fd/N -> socket:[inode]`.
fn socket_inode(fd: &impl AsRawFd) -> u64 {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
    let link = link.to_str().unwrap();
    link.strip_prefix("socket:[")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not a socket: {link}"))
        .parse()
        .unwrap()
}

#[test]
fn everything_is_available_on_linux() {
    assert_eq!(kernel::availability(), Availability::Full);
    assert!(kernel::availability().available());
}

#[test]
fn a_listener_is_in_listen() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let info = tcp_info(&listener).unwrap();
    assert_eq!(info.state, TcpState::Listen);
    let (ready, limit) = info.accept_queue().expect("a listener has an accept queue");
    assert_eq!(ready, 0);
    assert!(limit >= 1, "limit {limit}");
}

#[test]
fn tcp_info_refuses_a_udp_socket() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    assert!(tcp_info(&udp).is_err());
}

#[test]
fn tcp_sockets_lists_the_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listeners = tcp_sockets(false, states_mask(&[TcpState::Listen])).unwrap();
    let ours: Vec<&DiagEntry> = listeners.iter().filter(|e| e.local == addr).collect();
    assert_eq!(ours.len(), 1, "{listeners:?}");
    assert_eq!(ours[0].state, TcpState::Listen);
    assert_eq!(ours[0].remote.port(), 0);
    assert!(ours[0].remote.ip().is_unspecified());
    assert_eq!(ours[0].inode, socket_inode(&listener));
    assert!(listeners.iter().all(|e| e.state == TcpState::Listen));

    // Asking for ESTABLISHED only leaves it out.
    let established = tcp_sockets(false, states_mask(&[TcpState::Established])).unwrap();
    assert!(established.iter().all(|e| e.local != addr));
    assert!(established.iter().all(|e| e.state == TcpState::Established));
}

#[test]
fn state_of_an_unknown_tuple_is_none() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let local = listener.local_addr().unwrap();
    // The listener's port, but a peer that never connected: no exact match.
    let remote: SocketAddr = "127.0.0.1:9".parse().unwrap();
    assert_eq!(kernel::state_of(local, remote).unwrap(), None);
}

#[test]
fn a_connected_pair_is_established_and_counts_bytes() {
    let (_listener, mut client, mut server) = pair("127.0.0.1:0");
    assert_eq!(state(&client), TcpState::Established);
    assert_eq!(state(&server), TcpState::Established);
    // sock_diag agrees, under both 4-tuples, and names the client's inode.
    assert_eq!(state_of(tuple(&client)), Some(TcpState::Established));
    assert_eq!(state_of(tuple(&server)), Some(TcpState::Established));
    let entries = tcp_sockets(false, ALL_STATES).unwrap();
    let entry = entries
        .iter()
        .find(|e| (e.local, e.remote) == tuple(&client))
        .expect("the client in the dump");
    assert_eq!(entry.inode, socket_inode(&client));

    const SENT: usize = 10_000;
    client.write_all(&[0x5A; SENT]).unwrap();
    let mut got = vec![0u8; SENT];
    server.read_exact(&mut got).unwrap();

    let info = wait_until(
        "the client's data to be acknowledged",
        || tcp_info(&client).unwrap(),
        |i| i.rtt_us > 0 && i.unacked == 0 && i.bytes_acked.is_none_or(|b| b >= SENT as u64),
    );
    assert!(info.snd_mss > 0 && info.snd_cwnd > 0, "{info:?}");
    assert_eq!(info.total_retrans, 0, "{info:?}");
    let server_info = tcp_info(&server).unwrap();
    if let Some(received) = server_info.bytes_received {
        assert!(received >= SENT as u64, "{server_info:?}");
    }
    assert_eq!(server_info.accept_queue(), None);
}

/// Client `shutdown(Write)` first, server `close()` second: the client's 4-tuple ends in
/// TIME_WAIT, the server's disappears once its FIN is acknowledged.
#[test]
fn the_client_closes_first_and_waits_in_time_wait() {
    let (listener, mut client, mut server) = pair("127.0.0.1:0");
    let client_tuple = tuple(&client);
    let server_tuple = tuple(&server);
    assert_eq!(client_tuple, (server_tuple.1, server_tuple.0));

    // FIN_WAIT1 lasts only until the server's ACK, which on loopback is at once.
    client.shutdown(Shutdown::Write).unwrap();
    wait_for_state("client FIN_WAIT2", &client, TcpState::FinWait2);
    wait_for_state("server CLOSE_WAIT", &server, TcpState::CloseWait);
    assert_eq!(state_of(client_tuple), Some(TcpState::FinWait2));
    assert_eq!(state_of(server_tuple), Some(TcpState::CloseWait));
    expect_eof(&mut server);

    // The server closes: LAST_ACK until the client acknowledges its FIN, then nothing.
    drop(server);
    wait_for_tuple("the server's socket to go", server_tuple, None);
    // The client's FIN_WAIT2 moved to TIME_WAIT on that FIN. Its descriptor is still open,
    // but the kernel handed the 4-tuple to a timewait socket and closed the socket itself.
    wait_for_tuple("client TIME_WAIT", client_tuple, Some(TcpState::TimeWait));
    wait_for_state("the client's own socket CLOSED", &client, TcpState::Closed);
    expect_eof(&mut client);

    // Both descriptors gone: only sock_diag can still see the TIME_WAIT.
    drop(client);
    drop(listener);
    assert_eq!(state_of(client_tuple), Some(TcpState::TimeWait));
    assert_eq!(state_of(server_tuple), None);
}

/// Server `close()` first, client second: now the server's 4-tuple waits in TIME_WAIT.
#[test]
fn the_server_closes_first_and_waits_in_time_wait() {
    let (listener, mut client, server) = pair("127.0.0.1:0");
    let client_tuple = tuple(&client);
    let server_tuple = tuple(&server);

    drop(server);
    wait_for_state("client CLOSE_WAIT", &client, TcpState::CloseWait);
    // No descriptor left on the server side: its FIN_WAIT2 is visible only to sock_diag.
    wait_for_tuple("server FIN_WAIT2", server_tuple, Some(TcpState::FinWait2));
    expect_eof(&mut client);

    // The client closes too: LAST_ACK, then gone; the server side moves on to TIME_WAIT.
    drop(client);
    wait_for_tuple("the client's socket to go", client_tuple, None);
    wait_for_tuple("server TIME_WAIT", server_tuple, Some(TcpState::TimeWait));
    drop(listener);
    assert_eq!(state_of(server_tuple), Some(TcpState::TimeWait));
}

/// `listen(1)` and nobody accepting: once the accept queue is full the kernel drops new
/// SYNs, so later clients stay in SYN_SENT (and retransmit their SYN).
#[test]
fn a_full_accept_queue_leaves_clients_in_syn_sent() {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};

    let listener = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&SockAddr::from(any_port)).unwrap();
    listener.listen(1).unwrap();
    let addr = SockAddr::from(listener.local_addr().unwrap().as_socket().unwrap());

    let clients: Vec<Socket> = (0..8)
        .map(|_| {
            let client = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
            client.set_nonblocking(true).unwrap();
            match client.connect(&addr) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
                Err(e) => panic!("connect: {e}"),
            }
            client
        })
        .collect();

    let states = wait_until(
        "a client stuck in SYN_SENT",
        || {
            clients
                .iter()
                .map(|c| tcp_info(c).unwrap().state)
                .collect::<Vec<_>>()
        },
        |states| states.contains(&TcpState::SynSent),
    );
    // The ones that got in finished their handshake without anyone calling accept().
    assert!(states.contains(&TcpState::Established), "{states:?}");
    let (ready, limit) = wait_until(
        "the accept queue to fill",
        || tcp_info(&listener).unwrap().accept_queue().unwrap(),
        |&(ready, _)| ready >= 1,
    );
    assert_eq!(limit, 1);
    assert!(ready <= 2, "ready {ready}");
    // Everything is dropped here: clients first, then the listener with its queue.
    drop(clients);
}

#[test]
fn state_of_works_over_ipv6() {
    let listener = match TcpListener::bind("[::1]:0") {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("skipped: cannot bind [::1]:0 ({e})");
            return;
        }
    };
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    let client_tuple = tuple(&client);
    let server_tuple = tuple(&server);
    assert!(client_tuple.0.is_ipv6());
    assert_eq!(state_of(client_tuple), Some(TcpState::Established));
    assert_eq!(state_of(server_tuple), Some(TcpState::Established));

    let listeners = tcp_sockets(true, states_mask(&[TcpState::Listen])).unwrap();
    assert!(
        listeners
            .iter()
            .any(|e| e.local == listener.local_addr().unwrap()),
        "{listeners:?}"
    );

    // The client closes first, so its 4-tuple ends in TIME_WAIT.
    drop(client);
    wait_for_state("server CLOSE_WAIT", &server, TcpState::CloseWait);
    drop(server);
    wait_for_tuple(
        "client TIME_WAIT over IPv6",
        client_tuple,
        Some(TcpState::TimeWait),
    );
    wait_for_tuple("the server's socket to go", server_tuple, None);
}

/// Many connections looked up in one walk agree with one-by-one lookups, in order, IPv4 and
/// IPv6 together, and a pair the kernel does not have is `None`.
#[test]
fn states_of_many_agree_with_state_of_each() {
    let (_l4, c4, s4) = pair("127.0.0.1:0");
    let (_l6, c6, _s6) = pair("[::1]:0");
    let mut closing = {
        let (_l, c, s) = pair("127.0.0.1:0");
        drop(s);
        c
    };
    expect_eof(&mut closing);
    let closing = tuple(&closing);
    let unknown: (SocketAddr, SocketAddr) = (
        "127.0.0.1:9".parse().unwrap(),
        "127.0.0.1:10".parse().unwrap(),
    );
    let pairs = [tuple(&c4), tuple(&s4), tuple(&c6), closing, unknown];
    let batch = kernel::states_of(&pairs).expect("socket diagnostics");
    assert_eq!(batch.len(), pairs.len());
    assert_eq!(batch[0], Some(TcpState::Established));
    assert_eq!(batch[1], Some(TcpState::Established));
    assert_eq!(batch[2], Some(TcpState::Established));
    assert_eq!(batch[3], Some(TcpState::CloseWait));
    assert_eq!(batch[4], None);
    for (pair, got) in pairs.iter().zip(&batch) {
        assert_eq!(state_of(*pair), *got, "{pair:?}");
    }
    assert!(kernel::states_of(&[]).unwrap().is_empty());
}
