//! Back-pressure from a slow consumer: a flood into a window that does not take
//! its events in (minimised, busy) or a slow terminal must hold the engine back, not pile up
//! events in memory. The TCP client and UDP engines stop reading once their consumer holds
//! `unread_limit`, and carry on, losing nothing over TCP, once it catches up.
//!
//! Only loopback is used; every wait is bounded.

use std::io::Write;
use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use socket_workbench::net::flow::EVENT_COST;
use socket_workbench::net::tcp_client::{ClientConfig, ClientEvent, spawn_client};
use socket_workbench::net::udp::{UdpConfig, UdpEvent, spawn_udp};
use socket_workbench::net::{RECV_BUFFER, Waker};

mod common;
use common::LIMIT;
use common::files::MB as MIB;
use common::peer::spawn_peer;

/// 64 MiB flood a client whose consumer takes nothing for a second: it holds at most its
/// limit (plus one read); then, taken in, all 64 MiB arrive.
#[test]
fn a_tcp_flood_waits_for_a_slow_consumer() {
    const TOTAL: usize = 64 * MIB;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = spawn_peer(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
        let chunk = vec![b'\n'; MIB];
        for _ in 0..TOTAL / MIB {
            if s.write_all(&chunk).is_err() {
                return false;
            }
        }
        true
    });
    let mut config = ClientConfig::new("127.0.0.1", port);
    config.unread_limit = Some(MIB);
    let unread = config.unread.clone();
    let (tx, rx) = flume::unbounded();
    let handle = spawn_client(config, tx, Waker::noop()).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let mut held = 0usize;
    let mut got = 0usize;
    while let Ok(msg) = rx.try_recv() {
        if let ClientEvent::Received { data } = msg.event {
            held += data.len();
            got += data.len();
            unread.taken(data.len());
        }
    }
    assert!(
        held <= MIB + RECV_BUFFER,
        "{held} bytes were waiting for the consumer (limit {MIB})"
    );
    let deadline = Instant::now() + LIMIT;
    while got < TOTAL {
        let msg = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|e| panic!("{e:?} after {got} of {TOTAL} bytes"));
        if let ClientEvent::Received { data } = msg.event {
            got += data.len();
            unread.taken(data.len());
        }
    }
    assert_eq!(got, TOTAL);
    assert!(peer.join(), "the peer could not send everything");
    drop(handle);
}

/// A burst of tiny datagrams into a UDP socket whose consumer takes nothing: the events it
/// holds are bounded by the limit, counting each event's cost, not only its bytes (a flood
/// of empty datagrams is still a flood); taken in, reading resumes.
#[test]
fn a_udp_flood_waits_for_a_slow_consumer() {
    let mut config = UdpConfig::new("127.0.0.1:0".parse().unwrap());
    const UNREAD: usize = 64 * 1024;
    config.unread_limit = Some(UNREAD);
    let unread = config.unread.clone();
    let (tx, rx) = flume::unbounded();
    let _handle = spawn_udp(config, tx, Waker::noop()).unwrap();
    let local = loop {
        let msg = rx.recv_timeout(LIMIT).expect("Bound");
        if let UdpEvent::Bound { local, .. } = msg.event {
            break local;
        }
    };
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..20_000 {
        let _ = peer.send_to(&[1u8; 16], local);
    }
    std::thread::sleep(Duration::from_millis(500));
    // Count what is held before taking any of it in (taking in lets the reader go on).
    let mut held = 0usize;
    let mut sizes = Vec::new();
    while let Ok(msg) = rx.try_recv() {
        if let UdpEvent::Received { data, .. } = msg.event {
            held += 1;
            sizes.push(data.len());
        }
    }
    for n in sizes {
        unread.taken(n);
    }
    let most = UNREAD / (16 + EVENT_COST) + 1;
    assert!(
        held <= most,
        "{held} datagrams were waiting (at most {most})"
    );
    assert!(held > 0);
    // Taken in: the reader carries on with what the kernel kept.
    let _ = peer.send_to(b"after", local);
    let deadline = Instant::now() + LIMIT;
    loop {
        let msg = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("reading resumes");
        if let UdpEvent::Received { data, .. } = msg.event {
            unread.taken(data.len());
            break;
        }
    }
}
