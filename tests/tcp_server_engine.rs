//! The TCP server engine (`net::tcp_server`) against real clients on loopback.
//!
//! Every client is a plain std `TcpStream` (on the test thread or on a peer thread that is
//! always joined), every wait is bounded (events through `recv_timeout`, client sockets through
//! read/write timeouts, joins through a done signal), and only `127.0.0.1` / `::1` are used.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use flume::RecvTimeoutError;
use socket_workbench::net::tcp_server::{
    AutoReply, ClientEnd, ClientId, FileProgress, KickHow, Matcher, ReplyRule, SendOrigin,
    SendProgress, ServerCommand, ServerConfig, ServerEnd, ServerEvent, Target, spawn_server,
};
use socket_workbench::net::trace::Family;
use socket_workbench::net::{CallKind, CallOutcome, NetErrorKind, RECV_BUFFER, SocketCall, Waker};
use socket_workbench::proto::TextEncoding;

mod common;
use common::LIMIT;
use common::events::{Brief, Watch, bytes, listing, wait_for};
use common::peer::{Peer, TempFile, spawn_peer, temp_path};
use common::std_peer::{QUIET, connect, read_exactly, read_to_eof};
use socket_workbench::net::engine::Nothing;

/// "你好" in GBK.
const NI_HAO_GBK: [u8; 4] = [0xC4, 0xE3, 0xBA, 0xC3];

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// One line per event, with payloads cut short (a 2 MB `Received` must not end up in a panic).
fn brief(event: &ServerEvent) -> String {
    match event {
        ServerEvent::Call { client, call } => format!(
            "Call({} {} -> {:?})",
            client.map_or("listener".to_owned(), |c| format!("#{c}")),
            call.call_text(),
            call.outcome
        ),
        ServerEvent::Received { client, data } => {
            format!("Received {{ client: {client}, data: {} }}", bytes(data))
        }
        ServerEvent::Sent {
            client,
            data,
            len,
            origin,
        } => format!(
            "Sent {{ client: {client}, data: {}, len: {len}, origin: {origin:?} }}",
            bytes(data)
        ),
        other => format!("{other:?}"),
    }
}

impl Brief for ServerEvent {
    fn brief(&self) -> String {
        brief(self)
    }
}

/// One engine session plus everything it has reported so far.
struct Server {
    w: Watch<ServerCommand, Nothing, ServerEvent>,
}

impl std::ops::Deref for Server {
    type Target = Watch<ServerCommand, Nothing, ServerEvent>;
    fn deref(&self) -> &Self::Target {
        &self.w
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.w
    }
}

impl Server {
    fn start(config: ServerConfig) -> Self {
        let (tx, rx) = flume::unbounded();
        let handle = spawn_server(config, tx, Waker::noop()).expect("spawn_server");
        Self {
            w: Watch::new(handle, rx, |e| {
                !matches!(
                    e,
                    ServerEvent::Kernel { .. }
                        | ServerEvent::KernelInfo { .. }
                        | ServerEvent::KernelUnavailable
                ) && !matches!(e, ServerEvent::Call { call, .. } if matches!(call.kind, CallKind::KernelState(_)))
            }),
        }
    }

    /// Starts an echo server on 127.0.0.1:0 and returns it with its real address.
    fn echo_v4() -> (Self, SocketAddr) {
        let mut s = Self::start(config_v4(AutoReply::Echo));
        let addr = s.listening();
        (s, addr)
    }

    /// Waits until the log holds at least `n` events matching `pred` (counting those already
    /// in it).
    fn wait_count(&mut self, what: &str, n: usize, pred: impl Fn(&ServerEvent) -> bool) {
        let mut have = self.events().filter(|e| pred(e)).count();
        if have < n {
            let seen = wait_for(
                &self.rx,
                &format!("{what} ({n} in all, {have} before waiting)"),
                |e| {
                    if pred(e) {
                        have += 1;
                    }
                    have >= n
                },
                LIMIT,
                &self.log,
            );
            self.take(seen);
        }
    }

    /// The first logged event matching `pred`, waiting (bounded) if none is logged yet.
    fn logged_or_wait(&mut self, what: &str, pred: impl Fn(&ServerEvent) -> bool) -> ServerEvent {
        if let Some(e) = self.events().find(|e| pred(e)) {
            return e.clone();
        }
        self.wait(what, pred)
    }

    /// Collects events for `QUIET`, expecting none: only used to check that something does
    /// *not* happen.
    fn quiet_period(&mut self) -> Vec<ServerEvent> {
        let deadline = Instant::now() + QUIET;
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(msg) => {
                    got.push(msg.event.clone());
                    self.take(vec![msg]);
                }
                Err(RecvTimeoutError::Timeout) => return got,
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the engine ended; events:\n{}", listing(&self.log))
                }
            }
        }
    }

    /// Waits until every command sent so far has been carried out. Commands are taken in
    /// order, but only after the I/O of the same poll turn, so data a client sends right
    /// after a command may still meet the old settings; a Send to `stream` that it reads
    /// back is a barrier.
    fn sync(&mut self, id: ClientId, stream: &mut TcpStream) {
        self.command(ServerCommand::Send {
            to: Target::Clients(vec![id]),
            bytes: b"|".to_vec(),
        });
        self.wait("Sent barrier", |e| {
            matches!(e, ServerEvent::Sent { client, origin: SendOrigin::Typed, .. } if *client == id)
        });
        assert_eq!(read_exactly(stream, 1), b"|", "barrier");
    }

    fn listening(&mut self) -> SocketAddr {
        match self.wait("Listening", |e| matches!(e, ServerEvent::Listening { .. })) {
            ServerEvent::Listening { local } => local,
            _ => unreachable!(),
        }
    }

    /// The id of the client whose socket is `stream` (matched by the peer address the server
    /// saw), waiting for its `Accepted` if need be.
    fn id_of(&mut self, stream: &TcpStream) -> ClientId {
        let local = stream.local_addr().expect("client local addr");
        match self.logged_or_wait(
            &format!("Accepted from {local}"),
            |e| matches!(e, ServerEvent::Accepted { peer, .. } if *peer == local),
        ) {
            ServerEvent::Accepted { client, .. } => client,
            _ => unreachable!(),
        }
    }

    /// How client `id` ended, waiting (bounded) for its `ClientClosed` if need be.
    fn client_end(&mut self, id: ClientId) -> ClientEnd {
        match self.logged_or_wait(
            &format!("ClientClosed #{id}"),
            |e| matches!(e, ServerEvent::ClientClosed { client, .. } if *client == id),
        ) {
            ServerEvent::ClientClosed { end, .. } => end,
            _ => unreachable!(),
        }
    }

    fn count(&self, pred: impl Fn(&ServerEvent) -> bool) -> usize {
        self.events().filter(|e| pred(e)).count()
    }

    /// Everything received from client `id`, in order.
    fn received(&self, id: ClientId) -> Vec<u8> {
        self.events()
            .filter_map(|e| match e {
                ServerEvent::Received { client, data } if *client == id => Some(&data[..]),
                _ => None,
            })
            .collect::<Vec<_>>()
            .concat()
    }

    /// How many bytes have been received from client `id`.
    fn received_len(&self, id: ClientId) -> usize {
        self.events()
            .map(|e| match e {
                ServerEvent::Received { client, data } if *client == id => data.len(),
                _ => 0,
            })
            .sum()
    }

    /// The socket calls made on `conn` (None: the listening socket), in order.
    fn calls(&self, conn: Option<ClientId>) -> Vec<SocketCall> {
        self.events()
            .filter_map(|e| match e {
                ServerEvent::Call { client, call } if *client == conn => {
                    assert_eq!(call.conn, *client, "call.conn agrees with the event");
                    Some(call.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// `ServerHandle::join` (bounded), then checks that `Stopped` came exactly once and last.
    /// Returns how the session ended.
    fn join(&mut self) -> ServerEnd {
        match self.join_to_end("Stopped", |e| matches!(e, ServerEvent::Stopped { .. })) {
            ServerEvent::Stopped { end } => end,
            _ => unreachable!(),
        }
    }
}

fn config_v4(reply: AutoReply) -> ServerConfig {
    let mut config = ServerConfig::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    config.reply = reply;
    config
}

fn is_accepted(e: &ServerEvent) -> bool {
    matches!(e, ServerEvent::Accepted { .. })
}

fn is_client_closed(e: &ServerEvent) -> bool {
    matches!(e, ServerEvent::ClientClosed { .. })
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/// Asserts that nothing arrives on `stream` within `QUIET` (the connection stays open).
fn assert_nothing_arrives(stream: &mut TcpStream, who: &str) {
    stream.set_read_timeout(Some(QUIET)).unwrap();
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        Ok(0) => panic!("{who}: the server closed the connection"),
        Ok(n) => panic!(
            "{who} got bytes meant for others: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => panic!("{who}: {e}"),
    }
    stream.set_read_timeout(Some(LIMIT)).unwrap();
}

/// `len` bytes of a pattern that differs per `seed`, so mixed-up streams would show.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

#[test]
fn two_clients_served_concurrently_many_times() {
    const ROUNDS: usize = 50;
    let (mut s, addr) = Server::echo_v4();
    let mut a = connect(addr);
    let mut b = connect(addr);
    s.wait_count("2 Accepted", 2, is_accepted);
    let (id_a, id_b) = (s.id_of(&a), s.id_of(&b));
    assert_ne!(id_a, id_b);

    let (mut sent_a, mut sent_b) = (Vec::new(), Vec::new());
    for i in 0..ROUNDS {
        // Both requests are in flight at once; sizes vary from 1 byte to ~20 KB.
        let msg_a = pattern(i as u8, 1 + i * 397);
        let msg_b = pattern(100 + i as u8, 1 + (ROUNDS - i) * 211);
        a.write_all(&msg_a).unwrap();
        b.write_all(&msg_b).unwrap();
        assert!(
            read_exactly(&mut b, msg_b.len()) == msg_b,
            "round {i}: b's echo differs"
        );
        assert!(
            read_exactly(&mut a, msg_a.len()) == msg_a,
            "round {i}: a's echo differs"
        );
        sent_a.extend_from_slice(&msg_a);
        sent_b.extend_from_slice(&msg_b);
    }
    drop(a);
    drop(b);
    assert_eq!(s.client_end(id_a), ClientEnd::PeerClosed);
    assert_eq!(s.client_end(id_b), ClientEnd::PeerClosed);
    assert_eq!(s.join(), ServerEnd::Stopped);

    assert_eq!(s.count(is_accepted), 2);
    assert_eq!(s.received_len(id_a), sent_a.len());
    assert_eq!(s.received_len(id_b), sent_b.len());
    assert!(s.received(id_a) == sent_a, "a's bytes as received differ");
    assert!(s.received(id_b) == sent_b, "b's bytes as received differ");
    // Every chunk was echoed at once, to the client it came from.
    for id in [id_a, id_b] {
        let echoed: Vec<u8> = s
            .events()
            .filter_map(|e| match e {
                ServerEvent::Sent {
                    client,
                    data,
                    len,
                    origin,
                } if *client == id => {
                    assert_eq!(*origin, SendOrigin::AutoReply);
                    assert_eq!(*len, data.len() as u64);
                    Some(&data[..])
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .concat();
        assert!(echoed == s.received(id), "client #{id}: Sent != Received");
    }
    assert_eq!(
        s.count(|e| matches!(e, ServerEvent::SendDropped { .. } | ServerEvent::Warning(_))),
        0,
        "{}",
        listing(&s.log)
    );
}

#[test]
fn send_to_one_vs_all() {
    let mut s = Server::start(config_v4(AutoReply::Off));
    let addr = s.listening();
    let mut streams = [connect(addr), connect(addr), connect(addr)];
    s.wait_count("3 Accepted", 3, is_accepted);
    let ids: Vec<ClientId> = streams.iter().map(|st| s.id_of(st)).collect();
    let [a, b, c] = [ids[0], ids[1], ids[2]];
    assert!(a != b && b != c && a != c, "{ids:?}");

    s.command(ServerCommand::Send {
        to: Target::Clients(vec![b]),
        bytes: b"only-b".to_vec(),
    });
    assert_eq!(read_exactly(&mut streams[1], 6), b"only-b");
    // b has it, so the command has been carried out in full: a and c were not targets.
    let sent_to: Vec<ClientId> = s
        .events()
        .filter_map(|e| match e {
            ServerEvent::Sent { client, .. } => Some(*client),
            _ => None,
        })
        .collect();
    assert!(sent_to.iter().all(|id| *id == b), "{}", listing(&s.log));
    assert_nothing_arrives(&mut streams[0], "a");
    assert_nothing_arrives(&mut streams[2], "c");

    s.command(ServerCommand::Send {
        to: Target::All,
        bytes: b"everyone".to_vec(),
    });
    for (st, id) in streams.iter_mut().zip(&ids) {
        assert_eq!(read_exactly(st, 8), b"everyone", "client #{id}");
    }
    s.wait_count("4 Sent", 4, |e| matches!(e, ServerEvent::Sent { .. }));
    let everyone: Vec<ClientId> = s
        .events()
        .filter_map(|e| match e {
            ServerEvent::Sent {
                client,
                data,
                len,
                origin,
            } if &data[..] == b"everyone" => {
                assert_eq!((*len, origin), (8, &SendOrigin::Typed));
                Some(*client)
            }
            _ => None,
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(everyone, sorted, "one Sent per client, in id order");

    // A target that is not (or no longer) connected is skipped without harm.
    s.command(ServerCommand::Send {
        to: Target::Clients(vec![9_999, c]),
        bytes: b"c".to_vec(),
    });
    assert_eq!(read_exactly(&mut streams[2], 1), b"c");
    drop(streams);
    for id in ids {
        assert_eq!(s.client_end(id), ClientEnd::PeerClosed);
    }
    assert_eq!(s.join(), ServerEnd::Stopped);
    assert_eq!(s.count(|e| matches!(e, ServerEvent::Sent { .. })), 5);
}

#[test]
fn graceful_vs_abortive_kick() {
    let mut s = Server::start(config_v4(AutoReply::Off));
    let addr = s.listening();
    let mut a = connect(addr);
    let mut b = connect(addr);
    let (id_a, id_b) = (s.id_of(&a), s.id_of(&b));

    s.command(ServerCommand::Kick {
        clients: vec![id_a],
        how: KickHow::Graceful,
    });
    let mut buf = [0u8; 16];
    assert_eq!(a.read(&mut buf).expect("graceful: FIN, not an error"), 0);
    assert_eq!(s.client_end(id_a), ClientEnd::Kicked(KickHow::Graceful));

    s.command(ServerCommand::Kick {
        clients: vec![id_b],
        how: KickHow::Abortive,
    });
    match b.read(&mut buf) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => panic!("abortive kick: read returned Ok({n}), expected a reset"),
    }
    assert_eq!(s.client_end(id_b), ClientEnd::Kicked(KickHow::Abortive));

    // Kicking a client that is gone already does nothing.
    s.command(ServerCommand::Kick {
        clients: vec![id_a],
        how: KickHow::Abortive,
    });
    assert_eq!(s.join(), ServerEnd::Stopped);
    assert_eq!(s.count(is_client_closed), 2, "{}", listing(&s.log));
    assert_eq!(s.count(|e| matches!(e, ServerEvent::PeerClosed { .. })), 0);

    let is_linger = |c: &SocketCall| {
        matches!(
            &c.kind,
            CallKind::SetOption {
                name: "SO_LINGER",
                ..
            }
        ) && c.outcome == CallOutcome::Done
    };
    let calls_a = s.calls(Some(id_a));
    let calls_b = s.calls(Some(id_b));
    assert!(!calls_a.iter().any(is_linger), "{calls_a:#?}");
    assert_eq!(calls_a.last().map(|c| &c.kind), Some(&CallKind::Close));
    let linger = calls_b.iter().position(is_linger).expect("SO_LINGER call");
    let close = calls_b
        .iter()
        .position(|c| c.kind == CallKind::Close)
        .expect("close() call");
    assert!(linger < close, "{calls_b:#?}");
    assert_eq!(close, calls_b.len() - 1, "{calls_b:#?}");
    match &calls_b[linger].kind {
        CallKind::SetOption { value, .. } => assert!(value.contains('0'), "{value}"),
        _ => unreachable!(),
    }
    let text = calls_b[linger].call_text();
    assert!(text.starts_with("setsockopt(SO_LINGER"), "{text}");
}

#[test]
fn half_closing_client_gets_its_answer() {
    let mut s = Server::start(config_v4(AutoReply::Fixed(b"ack".to_vec())));
    let addr = s.listening();
    let mut c = connect(addr);
    let id = s.id_of(&c);
    c.write_all(b"req").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    // Exactly the answer, then end-of-stream (not a reset).
    assert_eq!(read_to_eof(&mut c), b"ack");
    let mut buf = [0u8; 8];
    assert_eq!(c.read(&mut buf).unwrap(), 0);
    assert_eq!(s.client_end(id), ClientEnd::PeerClosed);
    assert_eq!(s.join(), ServerEnd::Stopped);

    assert_eq!(s.received(id), b"req");
    let sent = s.position(|e| matches!(e, ServerEvent::Sent { data, origin: SendOrigin::AutoReply, .. } if &data[..] == b"ack"));
    let peer_closed = s.position(|e| *e == ServerEvent::PeerClosed { client: id });
    let closed = s.position(|e| {
        *e == ServerEvent::ClientClosed {
            client: id,
            end: ClientEnd::PeerClosed,
        }
    });
    assert!(
        sent.is_some() && sent < peer_closed && peer_closed < closed,
        "{}",
        listing(&s.log)
    );
}

#[test]
fn silent_client_stays() {
    let (mut s, addr) = Server::echo_v4();
    let mut silent = connect(addr);
    let silent_id = s.id_of(&silent);

    // Another client is served normally meanwhile.
    let mut other = connect(addr);
    let other_id = s.id_of(&other);
    other.write_all(b"still served").unwrap();
    assert_eq!(read_exactly(&mut other, 12), b"still served");
    drop(other);
    assert_eq!(s.client_end(other_id), ClientEnd::PeerClosed);

    // The silent one is kept.
    let later = s.quiet_period();
    assert!(
        !s.events()
            .any(|e| matches!(e, ServerEvent::ClientClosed { client, .. } if *client == silent_id)),
        "the silent client was closed; events after the other left: {later:?}"
    );

    assert_eq!(s.join(), ServerEnd::Stopped);
    let mut buf = [0u8; 8];
    assert_eq!(silent.read(&mut buf).expect("FIN on Stop"), 0);
    let closed = s
        .position(|e| {
            *e == ServerEvent::ClientClosed {
                client: silent_id,
                end: ClientEnd::ServerStopped,
            }
        })
        .unwrap_or_else(|| panic!("no ClientClosed(ServerStopped):\n{}", listing(&s.log)));
    assert!(closed < s.log.len() - 1);
    // The listening socket is closed last.
    let listener_calls = s.calls(None);
    assert_eq!(
        listener_calls.last().map(|c| &c.kind),
        Some(&CallKind::Close)
    );
}

#[test]
fn max_clients_refuses_over_the_limit() {
    let mut config = config_v4(AutoReply::Echo);
    config.max_clients = Some(2);
    let mut s = Server::start(config);
    let addr = s.listening();
    let c1 = connect(addr);
    let id1 = s.id_of(&c1);
    let c2 = connect(addr);
    let id2 = s.id_of(&c2);
    let mut c3 = connect(addr);
    let c3_addr = c3.local_addr().unwrap();
    match s.wait("Refused", |e| matches!(e, ServerEvent::Refused { .. })) {
        ServerEvent::Refused { peer, limit } => {
            assert_eq!(peer, c3_addr);
            assert_eq!(limit, 2);
        }
        _ => unreachable!(),
    }
    let started = Instant::now();
    let mut buf = [0u8; 8];
    match c3.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("refused client: {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed only after {:?}",
        started.elapsed()
    );

    // Lifting the limit: once the barrier is through, a new client must be accepted.
    s.command(ServerCommand::SetMaxClients(None));
    let mut c1 = c1;
    s.sync(id1, &mut c1);
    let mut c4 = connect(addr);
    let id4 = s.id_of(&c4);
    c4.write_all(b"four").unwrap();
    assert_eq!(read_exactly(&mut c4, 4), b"four");

    drop((c1, c2, c3, c4));
    for id in [id1, id2, id4] {
        assert_eq!(s.client_end(id), ClientEnd::PeerClosed);
    }
    assert_eq!(s.join(), ServerEnd::Stopped);
    assert_eq!(
        s.count(|e| matches!(e, ServerEvent::Refused { .. })),
        1,
        "{}",
        listing(&s.log)
    );
    assert_eq!(s.count(is_accepted), 3);
    // The refused client was accepted (a trace entry), then closed at once, never served.
    assert_eq!(s.count(is_client_closed), 3);
}

#[test]
fn port_in_use() {
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    let addr = taken.local_addr().unwrap();
    let mut s = Server::start(ServerConfig::new(addr));
    let end = match s.wait("Stopped", |e| matches!(e, ServerEvent::Stopped { .. })) {
        ServerEvent::Stopped { end } => end,
        _ => unreachable!(),
    };
    match &end {
        ServerEnd::Failed(err) => assert_eq!(err.kind, NetErrorKind::AddrInUse, "{err:?}"),
        other => panic!("expected Failed(AddrInUse), got {other:?}"),
    }
    assert_eq!(s.join(), end);
    assert!(
        !s.events()
            .any(|e| matches!(e, ServerEvent::Listening { .. })),
        "{}",
        listing(&s.log)
    );
    let calls = s.calls(None);
    let bind = calls
        .iter()
        .position(|c| c.kind == CallKind::Bind { addr })
        .expect("bind() call");
    assert!(
        matches!(&calls[bind].outcome, CallOutcome::Failed(e) if e.kind == NetErrorKind::AddrInUse),
        "{calls:#?}"
    );
    assert_eq!(calls.last().map(|c| &c.kind), Some(&CallKind::Close));
    assert!(
        !calls
            .iter()
            .any(|c| matches!(c.kind, CallKind::Listen { .. })),
        "{calls:#?}"
    );
    // The first listener is unharmed.
    drop(connect(addr));
    drop(taken);
}

#[test]
fn restart_at_once() {
    let (mut s, addr) = Server::echo_v4();
    assert_ne!(addr.port(), 0);
    let mut c = connect(addr);
    let id = s.id_of(&c);
    c.write_all(b"ping").unwrap();
    assert_eq!(read_exactly(&mut c, 4), b"ping");
    assert_eq!(s.join(), ServerEnd::Stopped);
    assert_eq!(s.client_end(id), ClientEnd::ServerStopped);
    // The server closed first, so its side of the connection is now in TIME_WAIT.
    assert_eq!(read_to_eof(&mut c), b"");
    drop(c);

    let mut again = Server::start(config_v4_at(addr, AutoReply::Echo));
    let first = again.wait("Listening or Stopped", |e| {
        matches!(
            e,
            ServerEvent::Listening { .. } | ServerEvent::Stopped { .. }
        )
    });
    assert_eq!(
        first,
        ServerEvent::Listening { local: addr },
        "{}",
        listing(&again.log)
    );
    let mut c = connect(addr);
    c.write_all(b"pong").unwrap();
    assert_eq!(read_exactly(&mut c, 4), b"pong");
    drop(c);
    assert_eq!(again.join(), ServerEnd::Stopped);
}

fn config_v4_at(addr: SocketAddr, reply: AutoReply) -> ServerConfig {
    let mut config = ServerConfig::new(addr);
    config.reply = reply;
    config
}

/// Threads and descriptors a server session leaves behind after `join()`.
///
/// Other tests run in parallel in this process, so whole-process counts would be noise:
/// threads are recognised by the name the engine gives them (`tcps-{session}`) and
/// descriptors by the socket they refer to (a TCP socket whose *local* port is this server's:
/// the listener and the accepted connections; the test's own clients have other local ports).
#[cfg(target_os = "linux")]
#[test]
fn cycles_leave_no_leaks() {
    use common::proc::{End, Proto, settle, socket_fds, threads_named};

    let engine_threads = |sessions: &[socket_workbench::net::SessionId]| {
        // The first loop's thread, and those of the loops it may start (see
        // `clients_spread_over_loops`).
        let names: Vec<String> = sessions
            .iter()
            .flat_map(|s| {
                std::iter::once(format!("tcps-{s}")).chain(
                    (1..socket_workbench::net::tcp_server::MAX_LOOPS)
                        .map(move |k| format!("tcps-{s}.{k}")),
                )
            })
            .collect();
        threads_named(&names)
    };
    let server_fds = |port: u16| socket_fds(Proto::Tcp, End::Local, port);

    const CYCLES: usize = 1_000;
    const BATCH: usize = 50;
    const SERVERS: usize = 20;

    // One server, 1,000 clients in batches of 50 connected at once.
    let (mut s, addr) = Server::echo_v4();
    let port = addr.port();
    assert!(
        s.id < 1_000_000_000,
        "names of sessions 10^9+ are cut to look alike"
    );
    settle("engine threads while listening", 1, || {
        engine_threads(&[s.id])
    });
    settle("server sockets while listening", 1, || server_fds(port));
    for batch in 0..CYCLES / BATCH {
        let mut clients: Vec<TcpStream> = (0..BATCH).map(|_| connect(addr)).collect();
        for (i, c) in clients.iter_mut().enumerate() {
            c.write_all(&[(batch * BATCH + i) as u8]).unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            assert_eq!(read_exactly(c, 1), [(batch * BATCH + i) as u8]);
        }
        if batch == 0 {
            // The counting itself works: the listener plus 50 accepted sockets.
            settle("server sockets with 50 clients", 1 + BATCH, || {
                server_fds(port)
            });
        }
        drop(clients);
        s.wait_count(
            &format!("ClientClosed of batch {batch}"),
            (batch + 1) * BATCH,
            is_client_closed,
        );
    }
    assert_eq!(s.count(is_accepted), CYCLES);
    assert_eq!(
        s.count(|e| matches!(
            e,
            ServerEvent::ClientClosed {
                end: ClientEnd::PeerClosed,
                ..
            }
        )),
        CYCLES,
        "{}",
        listing(&s.log)
    );
    // Every accepted socket is closed again: only the listener is left.
    settle("server sockets after 1,000 clients", 1, || server_fds(port));
    assert_eq!(s.join(), ServerEnd::Stopped);
    settle("server sockets after join", 0, || server_fds(port));
    settle("engine threads after join", 0, || engine_threads(&[s.id]));

    // 20 servers in sequence, each with one round trip.
    let mut sessions = Vec::new();
    for i in 0..SERVERS {
        let (mut s, addr) = Server::echo_v4();
        sessions.push(s.id);
        let mut c = connect(addr);
        c.write_all(&[i as u8]).unwrap();
        assert_eq!(read_exactly(&mut c, 1), [i as u8]);
        assert_eq!(s.join(), ServerEnd::Stopped);
        assert_eq!(read_to_eof(&mut c), b"");
        drop(c);
        settle("server sockets after join", 0, || server_fds(addr.port()));
        settle("engine threads after join", 0, || engine_threads(&sessions));
    }
    assert_eq!(engine_threads(&sessions), 0);
}

#[test]
fn ipv6() {
    // Skip where ::1 is not configured (some containers).
    match TcpListener::bind("[::1]:0") {
        Ok(l) => drop(l),
        Err(e) => {
            eprintln!("skipping ipv6: cannot bind [::1]:0: {e}");
            return;
        }
    }
    let mut config = ServerConfig::new("[::1]:0".parse().unwrap());
    config.reply = AutoReply::Echo;
    let mut s = Server::start(config);
    let addr = s.listening();
    assert!(addr.is_ipv6() && addr.ip().is_loopback() && addr.port() != 0);
    let mut c = connect(addr);
    let id = s.id_of(&c);
    c.write_all(b"six").unwrap();
    assert_eq!(read_exactly(&mut c, 3), b"six");
    drop(c);
    assert_eq!(s.client_end(id), ClientEnd::PeerClosed);
    assert_eq!(s.join(), ServerEnd::Stopped);
    let socket = &s.calls(None)[0];
    assert!(
        matches!(
            socket.kind,
            CallKind::Socket {
                family: Family::V6,
                ..
            }
        ),
        "{socket:?}"
    );
    assert_eq!(socket.call_text(), "socket(AF_INET6, SOCK_STREAM)");
    match s.events().find(|e| is_accepted(e)) {
        Some(ServerEvent::Accepted { peer, .. }) => assert!(peer.is_ipv6()),
        _ => unreachable!(),
    }
}

#[test]
fn trace_lesson_order() {
    let (mut s, addr) = Server::echo_v4();
    let mut c = connect(addr);
    let client_addr = c.local_addr().unwrap();
    let id = s.id_of(&c);
    c.write_all(b"ping").unwrap();
    assert_eq!(read_exactly(&mut c, 4), b"ping");
    drop(c);
    assert_eq!(s.client_end(id), ClientEnd::PeerClosed);
    assert_eq!(s.join(), ServerEnd::Stopped);

    // The listening socket: socket → (SO_REUSEADDR) → bind → listen, and close() at the end.
    let listener = s.calls(None);
    let shape: Vec<String> = listener.iter().map(|c| c.call_text()).collect();
    let mut i = 0;
    assert!(
        matches!(
            listener[i].kind,
            CallKind::Socket {
                family: Family::V4,
                ..
            }
        ),
        "{shape:?}"
    );
    assert_eq!(listener[i].call_text(), "socket(AF_INET, SOCK_STREAM)");
    assert!(matches!(
        listener[i].outcome,
        CallOutcome::Descriptor(_) | CallOutcome::Done
    ));
    i += 1;
    // SO_REUSEADDR on Unix, SO_EXCLUSIVEADDRUSE on Windows.
    assert!(
        matches!(&listener[i].kind, CallKind::SetOption { name, value } if *name == socket_workbench::net::sys::LISTENER_OPTION && value == "1"),
        "{shape:?}"
    );
    assert_eq!(listener[i].outcome, CallOutcome::Done);
    i += 1;
    let asked = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    assert_eq!(
        listener[i].kind,
        CallKind::Bind { addr: asked },
        "{shape:?}"
    );
    assert_eq!(listener[i].outcome, CallOutcome::Bound { local: addr });
    i += 1;
    assert_eq!(
        listener[i].kind,
        CallKind::Listen { backlog: 128 },
        "{shape:?}"
    );
    assert_eq!(listener[i].outcome, CallOutcome::Done);
    i += 1;
    assert_eq!(listener.len(), i + 1, "{shape:?}");
    assert_eq!(listener[i].kind, CallKind::Close);
    // Listening is reported after listen().
    let listen_call = s
        .position(|e| matches!(e, ServerEvent::Call { call, .. } if matches!(call.kind, CallKind::Listen { .. })))
        .unwrap();
    let listening = s
        .position(|e| matches!(e, ServerEvent::Listening { .. }))
        .unwrap();
    assert!(listen_call < listening);

    // The client: accept → recv → send → recv(0) → close, all marked with its id.
    let calls = s.calls(Some(id));
    let shape: Vec<String> = calls.iter().map(|c| c.call_text()).collect();
    assert_eq!(calls.len(), 5, "{shape:?}");
    assert!(calls.iter().all(|c| c.conn == Some(id)));
    assert_eq!(calls[0].kind, CallKind::Accept);
    assert!(
        matches!(calls[0].outcome, CallOutcome::Accepted { peer, .. } if peer == client_addr),
        "{:?}",
        calls[0].outcome
    );
    assert_eq!(calls[1].kind, CallKind::Recv { buf: RECV_BUFFER });
    assert_eq!(calls[1].outcome, CallOutcome::Bytes(4));
    assert_eq!(calls[2].kind, CallKind::Send { len: 4 });
    assert_eq!(calls[2].outcome, CallOutcome::Bytes(4));
    assert_eq!(calls[3].kind, CallKind::Recv { buf: RECV_BUFFER });
    assert_eq!(calls[3].outcome, CallOutcome::Bytes(0));
    assert_eq!(calls[4].kind, CallKind::Close);
    assert_eq!(calls[4].outcome, CallOutcome::Done);
    assert!(
        s.log.windows(2).all(|w| w[0].at <= w[1].at),
        "timestamps in order"
    );
    // Events and calls interleave in cause-and-effect order.
    let pos = |pred: &dyn Fn(&ServerEvent) -> bool| s.position(pred).unwrap();
    let accept =
        pos(&|e| matches!(e, ServerEvent::Call { call, .. } if call.kind == CallKind::Accept));
    let accepted = pos(&is_accepted);
    let received = pos(&|e| matches!(e, ServerEvent::Received { .. }));
    let peer_closed = pos(&|e| matches!(e, ServerEvent::PeerClosed { .. }));
    let closed = pos(&is_client_closed);
    assert!(
        accept < accepted && accepted < received && received < peer_closed && peer_closed < closed,
        "{}",
        listing(&s.log)
    );
}

#[test]
fn flood_counters_exact() {
    const CLIENTS: usize = 4;
    const SIZE: usize = 2 * 1024 * 1024;
    let mut s = Server::start(config_v4(AutoReply::Off));
    let addr = s.listening();
    let (addr_tx, addr_rx) = mpsc::channel();
    let peers: Vec<Peer<()>> = (0..CLIENTS)
        .map(|i| {
            let addr_tx = addr_tx.clone();
            spawn_peer(move || {
                let mut c = connect(addr);
                addr_tx.send((c.local_addr().unwrap(), i)).unwrap();
                c.write_all(&pattern(i as u8, SIZE)).expect("flood write");
                // Dropped: FIN after the last byte.
            })
        })
        .collect();
    for p in peers {
        p.join();
    }
    let seeds: HashMap<SocketAddr, usize> = (0..CLIENTS)
        .map(|_| addr_rx.recv_timeout(LIMIT).expect("client address"))
        .collect();
    s.wait_count("4 ClientClosed", CLIENTS, is_client_closed);
    assert_eq!(s.join(), ServerEnd::Stopped);

    let accepted: Vec<(ClientId, SocketAddr)> = s
        .events()
        .filter_map(|e| match e {
            ServerEvent::Accepted { client, peer } => Some((*client, *peer)),
            _ => None,
        })
        .collect();
    assert_eq!(accepted.len(), CLIENTS);
    for (id, peer) in accepted {
        let seed = seeds[&peer];
        assert_eq!(s.received_len(id), SIZE, "client #{id}");
        assert!(
            s.received(id) == pattern(seed as u8, SIZE),
            "client #{id}: bytes differ"
        );
        assert_eq!(s.client_end(id), ClientEnd::PeerClosed);
        let recv_total: usize = s
            .calls(Some(id))
            .iter()
            .filter_map(|c| match (&c.kind, &c.outcome) {
                (CallKind::Recv { .. }, CallOutcome::Bytes(n)) => Some(*n),
                _ => None,
            })
            .sum();
        assert_eq!(recv_total, SIZE, "recv() calls add up for #{id}");
    }
    assert_eq!(s.count(|e| matches!(e, ServerEvent::Sent { .. })), 0);
}

// ---------------------------------------------------------------------------------------------
// More commands
// ---------------------------------------------------------------------------------------------

#[test]
fn auto_reply_changes_at_runtime() {
    let mut s = Server::start(config_v4(AutoReply::Off));
    let addr = s.listening();
    let mut c = connect(addr);
    let id = s.id_of(&c);

    // Off: received, not answered.
    c.write_all(b"one").unwrap();
    s.wait_count("3 bytes", 1, |e| matches!(e, ServerEvent::Received { .. }));
    assert_nothing_arrives(&mut c, "client with auto-reply off");

    // Rules (GBK): a `Contains` rule and a regex on the decoded text; no match, no answer.
    s.command(ServerCommand::SetAutoReply(AutoReply::Rules {
        rules: vec![
            ReplyRule::fixed(Matcher::Contains(b"ping".to_vec()), b"pong".to_vec()),
            ReplyRule::fixed(
                Matcher::Regex(regex::Regex::new("^你好").unwrap()),
                b"hi".to_vec(),
            ),
        ],
        encoding: TextEncoding::Gbk,
    }));
    s.sync(id, &mut c);
    c.write_all(b"a ping").unwrap();
    assert_eq!(read_exactly(&mut c, 4), b"pong");
    c.write_all(&NI_HAO_GBK).unwrap();
    assert_eq!(read_exactly(&mut c, 2), b"hi");
    c.write_all(b"nothing").unwrap();
    s.wait_count("4 Received", 4, |e| {
        matches!(e, ServerEvent::Received { .. })
    });
    assert_nothing_arrives(&mut c, "client whose chunk matches no rule");

    s.command(ServerCommand::SetAutoReply(AutoReply::Echo));
    s.sync(id, &mut c);
    c.write_all(b"echo me").unwrap();
    assert_eq!(read_exactly(&mut c, 7), b"echo me");
    drop(c);
    assert_eq!(s.client_end(id), ClientEnd::PeerClosed);
    assert_eq!(s.join(), ServerEnd::Stopped);
    let answers: Vec<Vec<u8>> = s
        .events()
        .filter_map(|e| match e {
            ServerEvent::Sent {
                data,
                origin: SendOrigin::AutoReply,
                ..
            } => Some(data.to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(
        answers,
        vec![b"pong".to_vec(), b"hi".to_vec(), b"echo me".to_vec()]
    );
}

#[test]
fn repeat_to_all() {
    let mut s = Server::start(config_v4(AutoReply::Off));
    let addr = s.listening();
    let mut a = connect(addr);
    let mut b = connect(addr);
    let ids = [s.id_of(&a), s.id_of(&b)];
    s.command(ServerCommand::Repeat {
        to: Target::All,
        bytes: b"r".to_vec(),
        interval: Duration::from_millis(5),
        count: Some(5),
    });
    s.wait("Repeating stops", |e| {
        matches!(
            e,
            ServerEvent::Progress(SendProgress::Repeating { running: false, .. })
        )
    });
    assert_eq!(read_exactly(&mut a, 5), b"rrrrr");
    assert_eq!(read_exactly(&mut b, 5), b"rrrrr");
    assert_nothing_arrives(&mut a, "a after the fifth");
    drop((a, b));
    for id in ids {
        assert_eq!(s.client_end(id), ClientEnd::PeerClosed);
    }
    assert_eq!(s.join(), ServerEnd::Stopped);
    for id in ids {
        let origins: Vec<SendOrigin> = s
            .events()
            .filter_map(|e| match e {
                ServerEvent::Sent { client, origin, .. } if *client == id => Some(origin.clone()),
                _ => None,
            })
            .collect();
        let expected: Vec<SendOrigin> = (1..=5)
            .map(|n| SendOrigin::Repeat { n, of: Some(5) })
            .collect();
        assert_eq!(origins, expected, "client #{id}");
    }
    let repeating: Vec<&ServerEvent> = s
        .events()
        .filter(|e| matches!(e, ServerEvent::Progress(SendProgress::Repeating { .. })))
        .collect();
    assert_eq!(
        repeating,
        vec![
            &ServerEvent::Progress(SendProgress::Repeating {
                running: true,
                sent: 0
            }),
            &ServerEvent::Progress(SendProgress::Repeating {
                running: false,
                sent: 5
            })
        ]
    );
}

#[test]
fn send_file_to_two_clients() {
    const SIZE: usize = 1024 * 1024 + 123;
    let file = TempFile(temp_path("send-file"));
    let content: Vec<u8> = (0..SIZE).map(|i| (i * 7 + i / 65_536) as u8).collect();
    std::fs::write(&file.0, &content).unwrap();

    let mut s = Server::start(config_v4(AutoReply::Off));
    let addr = s.listening();
    let streams = [connect(addr), connect(addr)];
    let ids = [s.id_of(&streams[0]), s.id_of(&streams[1])];
    // Both read on their own threads, as fast as they can: the whole file, then whatever
    // comes until the server closes (nothing, it should be).
    let (got_tx, got_rx) = mpsc::channel();
    let readers: Vec<Peer<Vec<u8>>> = streams
        .into_iter()
        .zip(ids)
        .map(|(mut st, id)| {
            let got_tx = got_tx.clone();
            spawn_peer(move || {
                let file = read_exactly(&mut st, SIZE);
                got_tx.send((id, file)).unwrap();
                read_to_eof(&mut st)
            })
        })
        .collect();
    s.command(ServerCommand::SendFile {
        to: Target::All,
        path: file.0.clone(),
    });
    for _ in ids {
        let (id, got) = got_rx.recv_timeout(LIMIT).expect("a client read the file");
        assert!(got == content, "client #{id}: file bytes differ");
    }
    s.wait_count("FileProgress done", 1, |e| {
        matches!(
            e,
            ServerEvent::Progress(SendProgress::File(FileProgress { done: true, .. }))
        )
    });
    assert_eq!(s.join(), ServerEnd::Stopped);
    for (reader, id) in readers.into_iter().zip(ids) {
        assert_eq!(reader.join(), b"", "client #{id}: bytes after the file");
        assert_eq!(s.client_end(id), ClientEnd::ServerStopped);
    }
    let last = s
        .events()
        .filter_map(|e| match e {
            ServerEvent::Progress(SendProgress::File(FileProgress {
                path,
                sent,
                total,
                done,
            })) => {
                assert_eq!(path, &file.0);
                Some((*sent, *total, *done))
            }
            _ => None,
        })
        .last();
    assert_eq!(last, Some((SIZE as u64, Some(SIZE as u64), true)));
}

#[cfg_attr(
    wine,
    ignore = "Wine 8 closes gracefully (FIN) on SO_LINGER 0 instead of sending RST: see scripts/wine/probe.c"
)]
#[test]
fn client_reset_is_reported() {
    let (mut s, addr) = Server::echo_v4();
    let mut c = connect(addr);
    let id = s.id_of(&c);
    c.write_all(b"x").unwrap();
    assert_eq!(read_exactly(&mut c, 1), b"x");
    socket2::SockRef::from(&c)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(c); // close() with linger 0: RST
    match s.client_end(id) {
        ClientEnd::Failed(err) => assert_eq!(err.kind, NetErrorKind::Reset, "{err:?}"),
        other => panic!("expected Failed(Reset), got {other:?}"),
    }
    assert_eq!(s.join(), ServerEnd::Stopped);
    assert_eq!(s.count(|e| matches!(e, ServerEvent::PeerClosed { .. })), 0);
    let calls = s.calls(Some(id));
    let n = calls.len();
    assert!(
        matches!(&calls[n - 2].outcome, CallOutcome::Failed(e) if e.kind == NetErrorKind::Reset),
        "{calls:#?}"
    );
    assert_eq!(calls[n - 1].kind, CallKind::Close);
}

// ---------------------------------------------------------------------------------------------
// Engine bugs (ignored so the suite stays green; see the reasons)
// ---------------------------------------------------------------------------------------------

/// An echo to a client that writes much and reads late. The engine caps the client's queue
/// at `MAX_QUEUED` and pauses reading it so an echo cannot grow without bound — TCP's own
/// back-pressure — without dropping any echo.
#[test]
fn echo_to_a_slow_reader_loses_nothing() {
    use socket_workbench::net::tcp_server::MAX_QUEUED;
    // Far more than the queue plus every kernel buffer on the way can hold.
    const SIZE: usize = 8 * MAX_QUEUED;
    const CHUNK: usize = 64 * 1024;

    let (mut s, addr) = Server::echo_v4();
    let c = connect(addr);
    let id = s.id_of(&c);
    let mut writer_stream = c.try_clone().unwrap();
    let mut reader_stream = c;
    // The pattern repeats every 256 bytes, so one chunk serves for every offset.
    let chunk = pattern(7, CHUNK);
    let writer = spawn_peer(move || {
        // Blocks once every buffer is full, until the reader starts below. The write timeout
        // is LIMIT, and the reader starts well within it.
        for _ in 0..SIZE / CHUNK {
            writer_stream
                .write_all(&chunk)
                .expect("slow reader's write");
        }
        writer_stream.shutdown(Shutdown::Write).unwrap();
    });

    // Reading starts only once the server has stopped reading this client (no event for a
    // while) with its queue (nearly) full, or after it has given up on a chunk.
    let deadline = Instant::now() + LIMIT;
    let mut queued: i64 = 0;
    let mut dropped = false;
    loop {
        match s.rx.recv_timeout(QUIET) {
            Ok(msg) => {
                match &msg.event {
                    ServerEvent::Sent { client, len, .. } if *client == id => {
                        queued += *len as i64;
                    }
                    ServerEvent::Call {
                        client: Some(client),
                        call:
                            SocketCall {
                                kind: CallKind::Send { .. },
                                outcome: CallOutcome::Bytes(n),
                                ..
                            },
                    } if *client == id => queued -= *n as i64,
                    ServerEvent::SendDropped { .. } => dropped = true,
                    _ => {}
                }
                s.take(vec![msg]);
            }
            Err(RecvTimeoutError::Timeout)
                if dropped || queued >= (MAX_QUEUED - RECV_BUFFER) as i64 =>
            {
                break;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => panic!("the engine ended"),
        }
        assert!(
            Instant::now() < deadline,
            "the queue did not fill up ({queued} bytes queued); events:\n{}",
            listing(&s.log)
        );
    }
    let reader = spawn_peer(move || {
        let mut buf = vec![0u8; 256 * 1024];
        let (mut total, mut first_bad) = (0usize, None);
        loop {
            let n = reader_stream.read(&mut buf).expect("slow reader's read");
            if n == 0 {
                return (total, first_bad);
            }
            if first_bad.is_none() {
                first_bad = buf[..n]
                    .iter()
                    .enumerate()
                    .position(|(i, b)| *b != chunk_byte(total + i))
                    .map(|i| total + i);
            }
            total += n;
        }
    });
    fn chunk_byte(i: usize) -> u8 {
        ((i % 256) as u8).wrapping_mul(31).wrapping_add(7)
    }
    writer.join();
    let (echoed, first_bad) = reader.join();
    assert_eq!(s.client_end(id), ClientEnd::PeerClosed);
    assert_eq!(s.join(), ServerEnd::Stopped);
    assert_eq!(s.received_len(id), SIZE);
    let dropped: Vec<u64> = s
        .events()
        .filter_map(|e| match e {
            ServerEvent::SendDropped { len, .. } => Some(*len),
            _ => None,
        })
        .collect();
    assert_eq!(
        echoed, SIZE,
        "echoed {echoed} of {SIZE} bytes; SendDropped: {dropped:?}"
    );
    assert_eq!(first_bad, None, "the echo differs from what was sent");
    assert!(dropped.is_empty(), "SendDropped: {dropped:?}");
}

/// A consumer that falls behind (the window during a flood): with `unread_limit` set, the
/// engine stops reading once that many received bytes are not taken in, so the sender is held
/// back by TCP instead of memory filling up; once the consumer takes them, reading resumes
/// and every byte arrives, in order.
#[test]
fn reading_pauses_while_the_consumer_is_behind() {
    use socket_workbench::net::tcp_server::Unread;
    const LIMIT_BYTES: usize = 64 * 1024;
    const TOTAL: usize = 8 * 1024 * 1024;
    let unread = Unread::default();
    let mut config = config_v4(AutoReply::Off);
    config.unread_limit = Some(LIMIT_BYTES);
    config.unread = unread.clone();
    let mut s = Server::start(config);
    let addr = s.listening();
    let data = pattern(7, TOTAL);
    let to_send = data.clone();
    let writer = spawn_peer(move || {
        let mut stream = connect(addr);
        stream.write_all(&to_send).map(|()| stream)
    });
    s.wait("the client", is_accepted);
    // Nobody takes anything in: reading stops near the limit (one read may overshoot it).
    let overshoot = 256 * 1024;
    let mut got = 0usize;
    let mut sizes = Vec::new();
    // Until the limit is reached (however slow the machine), then a while longer: reading
    // must stay paused.
    let limit_by = Instant::now() + Duration::from_secs(10);
    let mut quiet_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if quiet_until.is_some_and(|t| now >= t) || (quiet_until.is_none() && now >= limit_by) {
            break;
        }
        if let Ok(msg) = s.rx.recv_timeout(Duration::from_millis(50)) {
            if let ServerEvent::Received { data, .. } = &msg.event {
                got += data.len();
                sizes.push(data.len());
            }
            s.take(vec![msg]);
        }
        if got >= LIMIT_BYTES && quiet_until.is_none() {
            quiet_until = Some(Instant::now() + Duration::from_millis(500));
        }
    }
    assert!(got >= LIMIT_BYTES, "read only {got} bytes before pausing");
    assert!(
        got < LIMIT_BYTES + overshoot,
        "read {got} bytes although the consumer took none in (limit {LIMIT_BYTES})"
    );
    // Each event counts its bytes and its own cost.
    let cost = socket_workbench::net::flow::EVENT_COST;
    assert_eq!(unread.get(), got + sizes.len() * cost);
    // Now take everything in as it comes: the rest arrives.
    for n in sizes {
        unread.taken(n);
    }
    let deadline = Instant::now() + LIMIT;
    while got < TOTAL {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg =
            s.rx.recv_timeout(left)
                .unwrap_or_else(|e| panic!("{got} of {TOTAL} bytes after resuming ({e:?})"));
        if let ServerEvent::Received { data, .. } = &msg.event {
            got += data.len();
            unread.taken(data.len());
        }
        s.take(vec![msg]);
    }
    let _stream = writer.join().expect("the client wrote everything");
    let id = s
        .events()
        .find_map(|e| match e {
            ServerEvent::Accepted { client, .. } => Some(*client),
            _ => None,
        })
        .expect("accepted");
    assert!(s.received(id) == data, "bytes differ");
    s.command(ServerCommand::Stop);
    assert_eq!(s.join(), ServerEnd::Stopped);
}

/// Past `spread_from` clients the server spreads new ones over more readiness loops (threads).
/// Everything a client can ask of the server works whichever loop serves it: echo, sends to
/// all and to chosen clients, a repeat run, a file to all, the client limit, a kick, and the
/// stop that closes everyone; and the loops' threads end with the session.
#[test]
fn clients_spread_over_loops() {
    const CLIENTS: usize = 7;
    const LOOPS: usize = 3;
    const SIZE: usize = 3 * RECV_BUFFER + 17;
    let file = TempFile(temp_path("spread-file"));
    let content = pattern(9, SIZE);
    std::fs::write(&file.0, &content).unwrap();

    let mut config = config_v4(AutoReply::Echo);
    config.loops = LOOPS;
    config.spread_from = 2;
    config.max_clients = Some(CLIENTS);
    let mut s = Server::start(config);
    let addr = s.listening();
    let mut streams: Vec<TcpStream> = (0..CLIENTS).map(|_| connect(addr)).collect();
    let ids: Vec<ClientId> = streams.iter().map(|st| s.id_of(st)).collect();

    #[cfg(target_os = "linux")]
    {
        use common::proc::{settle, threads_named};
        let workers: Vec<String> = (1..LOOPS).map(|k| format!("tcps-{}.{k}", s.id)).collect();
        settle("the other loops' threads", LOOPS - 1, || {
            threads_named(&workers)
        });
    }

    // Echo, every client at once (all requests in flight before any answer is read).
    for (i, st) in streams.iter_mut().enumerate() {
        st.write_all(&pattern(i as u8, 5_000 + i)).unwrap();
    }
    for (i, st) in streams.iter_mut().enumerate() {
        assert!(
            read_exactly(st, 5_000 + i) == pattern(i as u8, 5_000 + i),
            "client #{}: echo differs",
            ids[i]
        );
    }
    s.command(ServerCommand::SetAutoReply(AutoReply::Off));

    // To all, then to two chosen ones.
    s.command(ServerCommand::Send {
        to: Target::All,
        bytes: b"all".to_vec(),
    });
    for (st, id) in streams.iter_mut().zip(&ids) {
        assert_eq!(read_exactly(st, 3), b"all", "client #{id}");
    }
    let chosen = [ids[1], ids[CLIENTS - 1]];
    s.command(ServerCommand::Send {
        to: Target::Clients(chosen.to_vec()),
        bytes: b"you".to_vec(),
    });
    for (st, id) in streams.iter_mut().zip(&ids) {
        if chosen.contains(id) {
            assert_eq!(read_exactly(st, 3), b"you", "client #{id}");
        }
    }
    assert_nothing_arrives(&mut streams[0], "a client not chosen");

    // A repeat run of three turns reaches everyone three times, numbered once.
    s.command(ServerCommand::Repeat {
        to: Target::All,
        bytes: b"r".to_vec(),
        interval: Duration::from_millis(5),
        count: Some(3),
    });
    for (st, id) in streams.iter_mut().zip(&ids) {
        assert_eq!(read_exactly(st, 3), b"rrr", "client #{id}");
    }
    s.wait("Repeating stops", |e| {
        matches!(
            e,
            ServerEvent::Progress(SendProgress::Repeating {
                running: false,
                sent: 3
            })
        )
    });

    // The client limit counts the clients of every loop.
    let mut over = connect(addr);
    s.wait(
        "Refused",
        |e| matches!(e, ServerEvent::Refused { limit, .. } if *limit == CLIENTS),
    );
    let mut buf = [0u8; 8];
    assert!(
        matches!(over.read(&mut buf), Ok(0) | Err(_)),
        "the client over the limit is closed"
    );

    // A file to all: every client reads all of it, on its own thread, at its own pace.
    let (got_tx, got_rx) = mpsc::channel();
    let readers: Vec<Peer<TcpStream>> = streams
        .drain(..)
        .zip(ids.clone())
        .map(|(mut st, id)| {
            let got_tx = got_tx.clone();
            spawn_peer(move || {
                let got = read_exactly(&mut st, SIZE);
                got_tx.send((id, got)).unwrap();
                st
            })
        })
        .collect();
    s.command(ServerCommand::SendFile {
        to: Target::All,
        path: file.0.clone(),
    });
    for _ in &ids {
        let (id, got) = got_rx.recv_timeout(LIMIT).expect("a client read the file");
        assert!(got == content, "client #{id}: file bytes differ");
    }
    s.wait("FileProgress done", |e| {
        matches!(
            e,
            ServerEvent::Progress(SendProgress::File(FileProgress { done: true, .. }))
        )
    });
    let mut streams: Vec<TcpStream> = readers.into_iter().map(|r| r.join()).collect();

    // A kick reaches the loop that serves the client.
    let kicked = ids[CLIENTS - 1];
    s.command(ServerCommand::Kick {
        clients: vec![kicked],
        how: KickHow::Graceful,
    });
    assert_eq!(read_to_eof(&mut streams[CLIENTS - 1]), b"");
    assert_eq!(s.client_end(kicked), ClientEnd::Kicked(KickHow::Graceful));

    // Stop closes the clients of every loop, and Stopped comes last, once.
    assert_eq!(s.join(), ServerEnd::Stopped);
    for (st, id) in streams.iter_mut().zip(&ids).take(CLIENTS - 1) {
        assert_eq!(read_to_eof(st), b"", "client #{id}");
        assert_eq!(s.client_end(*id), ClientEnd::ServerStopped);
    }
    assert_eq!(s.count(is_accepted), CLIENTS);
    assert_eq!(s.count(is_client_closed), CLIENTS);
    for id in &ids {
        let sent: usize = s
            .events()
            .map(|e| match e {
                ServerEvent::Sent { client, len, .. } if client == id => *len as usize,
                _ => 0,
            })
            .sum();
        let you = if chosen.contains(id) { 3 } else { 0 };
        assert_eq!(
            sent,
            s.received_len(*id) + 3 + you + 3 + SIZE,
            "client #{id}: bytes queued for it"
        );
    }
    assert_eq!(
        s.count(|e| matches!(e, ServerEvent::SendDropped { .. } | ServerEvent::Warning(_))),
        0,
        "{}",
        listing(&s.log)
    );
    #[cfg(target_os = "linux")]
    {
        use common::proc::{End, Proto, settle, socket_fds, threads_named};
        let names: Vec<String> = std::iter::once(format!("tcps-{}", s.id))
            .chain((1..LOOPS).map(|k| format!("tcps-{}.{k}", s.id)))
            .collect();
        settle("engine threads after join", 0, || threads_named(&names));
        drop(streams);
        drop(over);
        settle("server sockets after join", 0, || {
            socket_fds(Proto::Tcp, End::Local, addr.port())
        });
    }
}
