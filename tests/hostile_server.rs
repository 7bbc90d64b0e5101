//! The TCP server engine against clients that never read: the output budget
//! across all clients, a half-closed client that never reads, and a graceful kick that must
//! still deliver what was queued.
//!
//! Clients are std sockets on `127.0.0.1` with small receive buffers set before connecting;
//! every wait is bounded.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use flume::Receiver;
use socket_workbench::net::tcp_server::{
    AutoReply, ClientEnd, ClientId, KickHow, ServerCommand, ServerConfig, ServerEvent,
    ServerHandle, ServerMsg, Target, spawn_server,
};
use socket_workbench::net::{CallKind, CallOutcome, NetErrorKind, Waker};

mod common;
use common::LIMIT;
const MIB: usize = 1024 * 1024;

struct Server {
    handle: Option<ServerHandle>,
    rx: Receiver<ServerMsg>,
    addr: SocketAddr,
    log: Vec<ServerEvent>,
    /// Bytes queued for all clients now: `Sent` adds, each `send()` that moved bytes takes.
    queued: i64,
    most_queued: i64,
}

impl Server {
    fn start(config: ServerConfig) -> Self {
        let (tx, rx) = flume::unbounded();
        let handle = spawn_server(config, tx, Waker::noop()).expect("spawn_server");
        let mut s = Self {
            handle: Some(handle),
            rx,
            addr: "127.0.0.1:0".parse().unwrap(),
            log: Vec::new(),
            queued: 0,
            most_queued: 0,
        };
        if let ServerEvent::Listening { local } =
            s.wait("Listening", |e| matches!(e, ServerEvent::Listening { .. }))
        {
            s.addr = local;
        }
        s
    }

    fn note(&mut self, e: &ServerEvent) {
        match e {
            ServerEvent::Sent { len, .. } => self.queued += *len as i64,
            ServerEvent::Call { call, .. } => {
                if let (CallKind::Send { .. }, CallOutcome::Bytes(n)) = (&call.kind, &call.outcome)
                {
                    self.queued -= *n as i64;
                }
            }
            _ => {}
        }
        self.most_queued = self.most_queued.max(self.queued);
    }

    fn wait(&mut self, what: &str, mut pred: impl FnMut(&ServerEvent) -> bool) -> ServerEvent {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(msg) => {
                    self.note(&msg.event);
                    let hit = pred(&msg.event);
                    self.log.push(msg.event);
                    if hit {
                        return self.log.last().unwrap().clone();
                    }
                }
                Err(e) => panic!("waiting for {what}: {e:?}; {} events seen", self.log.len()),
            }
        }
    }

    /// Takes what has arrived, without waiting.
    fn drain(&mut self) {
        while let Ok(msg) = self.rx.try_recv() {
            self.note(&msg.event);
            self.log.push(msg.event);
        }
    }

    fn send(&self, cmd: ServerCommand) {
        self.handle.as_ref().unwrap().command(cmd);
    }

    fn accepted(&mut self) -> ClientId {
        match self.wait("Accepted", |e| matches!(e, ServerEvent::Accepted { .. })) {
            ServerEvent::Accepted { client, .. } => client,
            _ => unreachable!(),
        }
    }

    fn closed(&mut self, id: ClientId) -> ClientEnd {
        match self.wait(
            &format!("#{id} closed"),
            |e| matches!(e, ServerEvent::ClientClosed { client, .. } if *client == id),
        ) {
            ServerEvent::ClientClosed { end, .. } => end,
            _ => unreachable!(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.join();
        }
    }
}

/// A client whose receive window is small (set before the handshake), so what it does not
/// read piles up in the server's queue rather than in the kernel's buffers.
fn small_client(addr: SocketAddr) -> TcpStream {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    s.set_recv_buffer_size(32 * 1024).unwrap();
    s.connect_timeout(&addr.into(), LIMIT).unwrap();
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s
}

fn read_all(s: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(want);
    let mut buf = vec![0u8; 256 * 1024];
    while out.len() < want {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("read after {} of {want} bytes: {e}", out.len()),
        }
    }
    out
}

/// Eight echo clients send 8 MiB each and read nothing. The kernel's buffers take a few MiB
/// of each echo; each client's own cap is 4 MiB, so without a total the server would queue
/// 32 MiB more; with a 4 MiB budget it stops reading
/// them (and says so: `HeldBack`) and never holds much more than the budget. When they read,
/// every byte comes back: nothing was dropped.
#[test]
fn echo_clients_that_never_read_stay_within_the_output_budget() {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.reply = AutoReply::Echo;
    config.output_budget = 4 * MIB;
    let mut server = Server::start(config);
    const CLIENTS: usize = 8;
    const EACH: usize = 8 * MIB;
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let s = small_client(server.addr);
        server.accepted();
        let mut w = s.try_clone().unwrap();
        let data: Vec<u8> = (0..EACH).map(|k| (k * 7 + i) as u8).collect();
        let writer = std::thread::spawn(move || {
            w.set_write_timeout(Some(LIMIT)).unwrap();
            w.write_all(&data).map(|()| data)
        });
        clients.push((s, writer));
    }
    // Let the server read what it will; the writers block once it stops.
    let settle = Instant::now() + Duration::from_secs(2);
    while Instant::now() < settle {
        server.drain();
        std::thread::sleep(Duration::from_millis(50));
    }
    let held = server
        .log
        .iter()
        .filter(|e| matches!(e, ServerEvent::HeldBack { held: true, .. }))
        .count();
    assert!(held > 0, "no client was held back");
    // The budget, plus at most one echo (one read) per client over it.
    let bound = (4 * MIB + CLIENTS * socket_workbench::net::RECV_BUFFER) as i64;
    assert!(
        server.most_queued <= bound,
        "{} bytes queued at most, bound {bound}",
        server.most_queued
    );
    // Now they read: everything comes back.
    let readers: Vec<_> = clients
        .into_iter()
        .map(|(mut s, writer)| {
            std::thread::spawn(move || {
                let got = read_all(&mut s, EACH);
                let sent = writer.join().unwrap().expect("the writer finished");
                (got, sent)
            })
        })
        .collect();
    for (i, r) in readers.into_iter().enumerate() {
        let (got, sent) = r.join().unwrap();
        assert_eq!(got.len(), sent.len(), "client {i}");
        assert!(got == sent, "client {i}: the echo differs");
    }
}

/// A client that half-closes and never reads what is queued for it: before, the server kept
/// the connection and its queue for ever; now it closes it after the closing stall and says
/// why.
#[test]
fn a_half_closed_client_that_never_reads_is_closed_after_the_stall() {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.closing_stall = Duration::from_secs(1);
    let mut server = Server::start(config);
    let client = small_client(server.addr);
    let id = server.accepted();
    server.send(ServerCommand::Send {
        to: Target::Clients(vec![id]),
        // More than the kernel's buffers take: most of it waits in the server's queue.
        bytes: vec![b'x'; 16 * MIB],
    });
    server.wait("Sent", |e| matches!(e, ServerEvent::Sent { .. }));
    client.shutdown(Shutdown::Write).unwrap();
    server.wait("PeerClosed", |e| {
        matches!(e, ServerEvent::PeerClosed { .. })
    });
    let started = Instant::now();
    match server.closed(id) {
        ClientEnd::Failed(err) => assert_eq!(err.kind, NetErrorKind::Stalled, "{err:?}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(client);
}

/// A graceful kick of a client with output still queued: it gets all of it, then FIN.
/// (Before, the kick dropped the queue: the client got what the kernel had taken, then EOF.)
#[test]
fn a_graceful_kick_delivers_what_was_queued_first() {
    let mut server = Server::start(ServerConfig::new("127.0.0.1:0".parse().unwrap()));
    let mut client = small_client(server.addr);
    let id = server.accepted();
    // More than the kernel's buffers take: most of it waits in the server's queue.
    let data: Vec<u8> = (0..16 * MIB).map(|k| (k % 251) as u8).collect();
    server.send(ServerCommand::Send {
        to: Target::Clients(vec![id]),
        bytes: data.clone(),
    });
    server.wait("Sent", |e| matches!(e, ServerEvent::Sent { .. }));
    server.send(ServerCommand::Kick {
        clients: vec![id],
        how: KickHow::Graceful,
    });
    let got = read_all(&mut client, data.len() + 1);
    assert_eq!(got.len(), data.len());
    assert!(got == data);
    assert_eq!(server.closed(id), ClientEnd::Kicked(KickHow::Graceful));
}
