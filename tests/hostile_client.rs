//! The TCP client engine against peers that make it wait: a lesson-style echo
//! server that answers every `recv(1024)` with `sendall` while a 50 MB file is being sent,
//! and names that take long to resolve.
//!
//! Only `127.0.0.1` is contacted; every wait is bounded.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use socket_workbench::net::Waker;
use socket_workbench::net::tcp_client::{
    ClientCommand, ClientConfig, ClientEvent, ClientMsg, CloseReason, spawn_client,
};

mod common;
use common::LIMIT;
use common::events::{Brief, wait_for};
use common::files::MB;
use common::peer::{Peer, TempFile, spawn_peer, temp_path};

impl Brief for ClientEvent {
    fn brief(&self) -> String {
        match self {
            ClientEvent::Received { data } => format!("Received {}", common::events::bytes(data)),
            other => format!("{other:?}"),
        }
    }
}

/// The lesson's echo server, as students write it: `recv(1024)`, then `sendall` of what came,
/// one client, until it closes. Its `sendall` blocks whenever the client is not reading, and
/// then it reads nothing more either: a client that does not read while it sends deadlocks it.
fn lesson_echo(listener: TcpListener) -> Peer<u64> {
    spawn_peer(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut buf = [0u8; 1024];
        let mut echoed = 0u64;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return echoed,
                Ok(n) => {
                    if s.write_all(&buf[..n]).is_err() {
                        return echoed;
                    }
                    echoed += n as u64;
                }
            }
        }
    })
}

/// A 50 MB file through the lesson's echo server comes back whole: the client reads while it
/// sends. (Its reader and writer shared a lock for the trace's order, held across a send that
/// may wait 100 ms for room; the reader waited on it after every recv.)
#[test]
fn fifty_megabytes_through_a_lesson_echo_server_come_back_whole() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = lesson_echo(listener);

    let file = TempFile(temp_path("hostile-50mb"));
    let path = file.0.clone();
    let data: Vec<u8> = (0..50 * MB).map(|i| (i % 253) as u8).collect();
    std::fs::write(&path, &data).unwrap();

    let (tx, rx) = flume::unbounded::<ClientMsg>();
    let handle = spawn_client(ClientConfig::new("127.0.0.1", port), tx, Waker::noop()).unwrap();
    handle.command(ClientCommand::SendFile(path.clone()));
    let mut received = 0usize;
    let mut mismatch = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while received < data.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("{e:?} after {received} of {} bytes back", data.len()));
        match msg.event {
            ClientEvent::Received { data: chunk } => {
                if mismatch.is_none() && data[received..received + chunk.len()] != chunk[..] {
                    mismatch = Some(received);
                }
                received += chunk.len();
            }
            ClientEvent::Closed { reason } => {
                panic!("closed after {received} bytes back: {reason:?}")
            }
            _ => {}
        }
    }
    assert_eq!(received, data.len());
    assert_eq!(mismatch, None, "the echo differs");
    handle.command(ClientCommand::Disconnect);
    let seen = wait_for(
        &rx,
        "Closed",
        |e| matches!(e, ClientEvent::Closed { .. }),
        LIMIT,
        &[],
    );
    match seen.last().map(|m| &m.event) {
        Some(ClientEvent::Closed { reason }) => assert_eq!(*reason, CloseReason::Local),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.join(), data.len() as u64);
}
