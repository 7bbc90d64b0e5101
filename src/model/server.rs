//! The TCP server panel's state, reduced from engine events: the listener's status, a row per
//! client, the log and the trace.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use super::send::Sending;
use super::{Direction, LogBook, LogNote, PeerTag, TraceBook};
use crate::net::tcp_server::{ClientEnd, ClientId, ServerEnd, ServerEvent, ServerMsg};
use crate::net::{NetError, SessionId};

/// Closed clients kept in the table (the oldest closed rows go first).
pub const MAX_CLOSED_ROWS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ServerStatus {
    #[default]
    Stopped,
    Starting {
        bind: SocketAddr,
    },
    Listening {
        local: SocketAddr,
    },
    Stopping,
    Ended(ServerEnd),
}

impl ServerStatus {
    /// A session is under way.
    pub fn active(&self) -> bool {
        matches!(
            self,
            Self::Starting { .. } | Self::Listening { .. } | Self::Stopping
        )
    }

    pub fn listening(&self) -> Option<SocketAddr> {
        match self {
            Self::Listening { local } => Some(*local),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientState {
    Connected,
    /// The client sent FIN; we close once its answer is out.
    PeerClosed,
    Closed(ClientEnd),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientRow {
    pub id: ClientId,
    pub peer: SocketAddr,
    pub connected_at: SystemTime,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub msgs_in: u64,
    pub msgs_out: u64,
    pub state: ClientState,
    /// The kernel's TCP state of this connection, where the system tells it.
    pub kernel: Option<crate::net::trace::TcpState>,
    /// The kernel's full view while the connection lives (RTT, window, counters).
    /// Boxed, like `throughput`: ten thousand rows of mostly idle clients stay small.
    pub kernel_info: Option<Box<crate::net::kernel::TcpInfo>>,
    /// Bytes per second each way over the last [`ROW_HISTORY_SECS`] (the throughput plot),
    /// from the client's first byte or kernel reading on.
    pub throughput: Option<Box<crate::model::throughput::Throughput>>,
    /// The server has stopped reading this client until what is queued for it (or for all
    /// clients) drains: it does not read what it is sent.
    pub held_back: bool,
}

impl ClientRow {
    fn throughput_mut(&mut self) -> &mut crate::model::throughput::Throughput {
        self.throughput.get_or_insert_with(|| {
            Box::new(crate::model::throughput::Throughput::with_history(
                ROW_HISTORY_SECS,
            ))
        })
    }
}

/// Seconds of throughput history kept per client (thousands of rows: less than a client).
pub const ROW_HISTORY_SECS: u64 = 120;

impl ClientRow {
    pub fn open(&self) -> bool {
        !matches!(self.state, ClientState::Closed(_))
    }

    pub fn tag(&self) -> PeerTag {
        PeerTag {
            id: self.id,
            addr: self.peer,
        }
    }
}

#[derive(Debug, Default)]
pub struct ServerModel {
    pub session: Option<SessionId>,
    pub status: ServerStatus,
    pub clients: BTreeMap<ClientId, ClientRow>,
    /// Clients currently connected.
    pub connected: usize,
    /// Connections refused over the client limit.
    pub refused: u64,
    pub selected: BTreeSet<ClientId>,
    pub log: LogBook,
    pub trace: TraceBook,
    /// Repeat runs and file sends.
    pub sending: Sending,
    pub last_warning: Option<NetError>,
    /// The engine cannot read the kernel's TCP state on this system.
    pub kernel_unavailable: bool,
    /// Changes whenever rows are added or removed, so views can cache their row lists.
    pub generation: u64,
    closed_order: std::collections::VecDeque<ClientId>,
    /// Each open client's received bytes framed, checked and timed (see `model::rx`).
    rx: super::rx::RxPipes<ClientId>,
    /// A scripted conversation with each of the clients it was started with.
    pub conversations: BTreeMap<ClientId, super::conversation::ConversationRun>,
}

/// The cap on one client's message (a server holds one framing per client).
pub const SERVER_FRAME_CAP: usize = 64 * 1024;

impl ServerModel {
    pub fn begin(&mut self, session: SessionId, bind: SocketAddr) {
        self.session = Some(session);
        self.status = ServerStatus::Starting { bind };
        self.clients.clear();
        self.closed_order.clear();
        self.selected.clear();
        self.connected = 0;
        self.refused = 0;
        self.sending = Sending::default();
        self.last_warning = None;
        self.kernel_unavailable = false;
        self.generation += 1;
        self.rx.clear();
        self.rx.set_limits(SERVER_FRAME_CAP, usize::MAX);
    }

    /// How each client's bytes are cut into messages from now on.
    pub fn set_framing(&mut self, framing: &crate::proto::frame::Framing) {
        let now = SystemTime::now();
        let left = self.rx.set_framing(framing, now);
        self.push_rx(now, left);
    }

    /// The checksum each received message is checked for, from now on.
    pub fn set_check(&mut self, check: Option<crate::proto::checksum::ChecksumSpec>) {
        self.rx.set_check(check);
    }

    /// Whether each message's note lists the recv()s that carried it.
    pub fn set_show_recvs(&mut self, on: bool) {
        self.rx.set_show_recvs(on);
    }

    /// Messages that shared a recv() and messages that took several, over every client.
    pub fn frame_stats(&self) -> Option<crate::proto::frame::FrameStats> {
        self.rx.stats()
    }

    /// The session's round trips: p50, p99, count, in microseconds.
    pub fn round_trips(&self) -> Option<(u64, u64, u64)> {
        self.rx.round_trips.summary()
    }

    /// The pause rule: hands on what has waited the pause out; when to look again.
    pub fn tick_frames(&mut self, now: SystemTime) -> Option<std::time::Duration> {
        let (ticked, wait) = self.rx.tick(now);
        self.push_rx(now, ticked);
        wait
    }

    fn push_rx(&mut self, at: SystemTime, entries: Vec<(ClientId, super::rx::RxEntry)>) {
        for (client, (data, note)) in entries {
            let tag = self.tag(client);
            let len = data.len() as u64;
            let note = (note != Default::default()).then_some(LogNote::Rx(note));
            self.log
                .push_peer_data(at, Direction::Rx, tag, data, len, note);
        }
    }

    pub fn stopping(&mut self) {
        if self.status.active() {
            self.status = ServerStatus::Stopping;
        }
    }

    fn tag(&self, id: ClientId) -> Option<PeerTag> {
        self.clients.get(&id).map(ClientRow::tag)
    }

    /// Ids of the selected clients that are still connected.
    pub fn selected_open(&self) -> Vec<ClientId> {
        self.selected
            .iter()
            .copied()
            .filter(|id| self.clients.get(id).is_some_and(ClientRow::open))
            .collect()
    }

    pub fn apply(&mut self, msg: ServerMsg) {
        if self.session != Some(msg.session) {
            return;
        }
        let at = msg.at;
        match msg.event {
            ServerEvent::Call { call, .. } => self.trace.push(call),
            ServerEvent::KernelUnavailable => self.kernel_unavailable = true,
            ServerEvent::Listening { local } => {
                self.status = ServerStatus::Listening { local };
                self.log
                    .push_note(at, Direction::Info, LogNote::Listening { local });
            }
            ServerEvent::Accepted { client, peer } => {
                self.clients.insert(
                    client,
                    ClientRow {
                        id: client,
                        peer,
                        connected_at: at,
                        bytes_in: 0,
                        bytes_out: 0,
                        msgs_in: 0,
                        msgs_out: 0,
                        state: ClientState::Connected,
                        kernel: None,
                        kernel_info: None,
                        throughput: None,
                        held_back: false,
                    },
                );
                self.connected += 1;
                self.generation += 1;
                let tag = self.tag(client);
                self.log
                    .push_peer_note(at, Direction::Info, tag, LogNote::Accepted);
            }
            ServerEvent::Refused { peer, limit } => {
                self.refused += 1;
                self.log
                    .push_note(at, Direction::Error, LogNote::Refused { peer, limit });
            }
            ServerEvent::Received { client, data } => {
                let len = data.len() as u64;
                if let Some(row) = self.clients.get_mut(&client) {
                    row.bytes_in += len;
                    row.msgs_in += 1;
                    row.throughput_mut().received(at, len);
                }
                if let Some(run) = self.conversations.get_mut(&client) {
                    run.received(&data, at);
                }
                let entries = self.rx.received(client, data, at);
                self.push_rx(at, entries);
            }
            ServerEvent::Sent {
                client,
                data,
                len,
                origin,
            } => {
                if let Some(row) = self.clients.get_mut(&client) {
                    row.bytes_out += len;
                    row.msgs_out += 1;
                    row.throughput_mut().sent(at, len);
                }
                let held = self.rx.sent(client, at);
                self.push_rx(at, held);
                let note = self.sending.note(origin);
                let tag = self.tag(client);
                self.log
                    .push_peer_data(at, Direction::Tx, tag, data, len, note);
            }
            ServerEvent::PeerClosed { client } => {
                if let Some(row) = self.clients.get_mut(&client) {
                    row.state = ClientState::PeerClosed;
                }
                let tag = self.tag(client);
                self.log
                    .push_peer_note(at, Direction::Info, tag, LogNote::PeerClosed);
            }
            ServerEvent::Kernel { client, state } => {
                if let Some(row) = self.clients.get_mut(&client) {
                    row.kernel = Some(state);
                }
            }
            ServerEvent::KernelInfo { client, info } => {
                if let Some(row) = self.clients.get_mut(&client) {
                    row.throughput_mut().kernel(at, info.rtt_us, info.snd_cwnd);
                    row.kernel_info = Some(Box::new(info));
                }
            }
            ServerEvent::ClientClosed { client, end } => {
                if let Some(run) = self.conversations.get_mut(&client) {
                    run.closed(at);
                }
                if let Some(left) = self.rx.remove(client, at) {
                    self.push_rx(at, vec![(client, left)]);
                }
                let tag = self.tag(client);
                if let Some(row) = self.clients.get_mut(&client) {
                    if row.open() {
                        self.connected = self.connected.saturating_sub(1);
                    }
                    row.state = ClientState::Closed(end.clone());
                    self.closed_order.push_back(client);
                }
                while self.closed_order.len() > MAX_CLOSED_ROWS {
                    if let Some(old) = self.closed_order.pop_front() {
                        self.clients.remove(&old);
                        self.selected.remove(&old);
                    }
                }
                self.generation += 1;
                let dir = match end {
                    ClientEnd::Failed(_) => Direction::Error,
                    _ => Direction::Info,
                };
                self.log
                    .push_peer_note(at, dir, tag, LogNote::ClientEnd(end));
            }
            ServerEvent::Progress(progress) => self.sending.apply(progress),
            ServerEvent::Warning(err) => {
                self.log
                    .push_note(at, Direction::Error, LogNote::Warning(err.clone()));
                self.last_warning = Some(err);
            }
            ServerEvent::HeldBack { client, held } => {
                if let Some(row) = self.clients.get_mut(&client) {
                    row.held_back = held;
                }
            }
            ServerEvent::SendDropped { client, .. } => {
                let tag = self.tag(client);
                self.log
                    .push_peer_note(at, Direction::Error, tag, LogNote::SendDropped);
            }
            ServerEvent::Stopped { end } => {
                for run in self.conversations.values_mut() {
                    run.closed(at);
                }
                let held = self.rx.finish_all(at);
                self.push_rx(at, held);
                for row in self.clients.values_mut() {
                    if row.open() {
                        row.state = ClientState::Closed(ClientEnd::ServerStopped);
                    }
                }
                self.connected = 0;
                self.generation += 1;
                let dir = match end {
                    ServerEnd::Failed(_) => Direction::Error,
                    ServerEnd::Stopped => Direction::Info,
                };
                self.log.push_note(at, dir, LogNote::ServerEnd(end.clone()));
                self.status = ServerStatus::Ended(end);
                self.sending.ended();
            }
        }
    }

    /// The file of a finished transfer, for the composer.
    pub fn file_path(&self) -> Option<&PathBuf> {
        self.sending.file.as_ref().map(|f| &f.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Tagged;
    use std::sync::Arc;

    #[test]
    fn rows_counters_and_limits() {
        let mut m = ServerModel::default();
        let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
        m.begin(7, bind);
        let ev = |e| Tagged::now(7, e);
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        m.apply(ev(ServerEvent::Listening {
            local: "127.0.0.1:7890".parse().unwrap(),
        }));
        m.apply(ev(ServerEvent::Accepted { client: 1, peer }));
        m.apply(ev(ServerEvent::Received {
            client: 1,
            data: Arc::from(&b"abc"[..]),
        }));
        m.apply(ev(ServerEvent::Sent {
            client: 1,
            data: Arc::from(&b"abc"[..]),
            len: 3,
            origin: crate::net::send::SendOrigin::AutoReply,
        }));
        let row = &m.clients[&1];
        assert_eq!(
            (row.bytes_in, row.msgs_in, row.bytes_out, row.msgs_out),
            (3, 1, 3, 1)
        );
        assert_eq!(m.connected, 1);
        m.apply(ev(ServerEvent::ClientClosed {
            client: 1,
            end: ClientEnd::PeerClosed,
        }));
        assert_eq!(m.connected, 0);
        // An old session's events change nothing.
        m.apply(Tagged::now(6, ServerEvent::Accepted { client: 9, peer }));
        assert!(!m.clients.contains_key(&9));
        for id in 10..(10 + MAX_CLOSED_ROWS as u64 + 5) {
            m.apply(ev(ServerEvent::Accepted { client: id, peer }));
            m.apply(ev(ServerEvent::ClientClosed {
                client: id,
                end: ClientEnd::PeerClosed,
            }));
        }
        assert_eq!(m.clients.len(), MAX_CLOSED_ROWS, "closed rows are capped");
    }

    /// Each client's bytes are framed on their own: two clients' halves interleaved make
    /// two whole messages, each tagged with its client and checked.
    #[test]
    fn clients_are_framed_apart() {
        use crate::proto::checksum::{Checksum, ChecksumSpec, Verdict};
        use crate::proto::frame::Framing;
        let mut m = ServerModel::default();
        m.begin(1, "127.0.0.1:0".parse().unwrap());
        m.set_framing(&Framing::Delimiter(b"\n".to_vec()));
        m.set_check(Some(ChecksumSpec::new(Checksum::Sum8)));
        let ev = |event| Tagged::now(1, event);
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        m.apply(ev(ServerEvent::Accepted { client: 1, peer }));
        m.apply(ev(ServerEvent::Accepted { client: 2, peer }));
        let one = ChecksumSpec::new(Checksum::Sum8).append(b"one");
        for (client, data) in [
            (1, &one[..2]),
            (2, &b"tw"[..]),
            (1, &one[2..]),
            (2, &b"oX"[..]),
            (1, &b"\n"[..]),
            (2, &b"\n"[..]),
        ] {
            m.apply(ev(ServerEvent::Received {
                client,
                data: Arc::from(data),
            }));
        }
        let rx: Vec<_> = m
            .log
            .entries()
            .iter()
            .filter(|e| e.dir == Direction::Rx)
            .collect();
        assert_eq!(rx.len(), 2);
        assert_eq!(rx[0].peer.map(|p| p.id), Some(1));
        assert_eq!(&rx[0].data[..], [&one[..], b"\n"].concat().as_slice());
        match &rx[0].note {
            Some(LogNote::Rx(n)) => {
                assert_eq!(n.frame, Some((3, true)));
                assert_eq!(n.check.as_ref().map(|c| &c.1), Some(&Verdict::Ok));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(&rx[1].data[..], b"twoX\n");
        assert!(matches!(
            &rx[1].note,
            Some(LogNote::Rx(n)) if matches!(n.check, Some((_, Verdict::Wrong { .. })))
        ));
        assert_eq!(m.frame_stats().map(|s| s.split_frames), Some(2));
    }
}
