//! The UDP panel's state, reduced from engine events: the socket, the peers seen, the groups
//! joined, the log (one entry per datagram) and the trace.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use super::rx::{RxEntry, RxPipes};
use super::send::Sending;
use super::{Direction, LogBook, LogNote, PeerTag, TraceBook};
use crate::net::tcp_client::CloseReason;
use crate::net::udp::{UdpEvent, UdpMsg};
use crate::net::{NetError, SessionId};
use crate::proto::checksum::ChecksumSpec;
use crate::proto::frame::{FrameStats, Framing};

/// Peers kept in the table; the least recently seen go first.
pub const MAX_PEERS: usize = 10_000;
/// Peers whose datagrams are framed at once (each framing holds at most its cap); past
/// this, what the framings hold is logged as it is and they start afresh.
pub const MAX_FRAMED_PEERS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UdpStatus {
    #[default]
    Closed,
    Binding {
        bind: SocketAddr,
    },
    Bound {
        local: SocketAddr,
        auto: bool,
    },
    Closing,
    Ended(CloseReason),
}

impl UdpStatus {
    pub fn active(&self) -> bool {
        matches!(
            self,
            Self::Binding { .. } | Self::Bound { .. } | Self::Closing
        )
    }

    pub fn bound(&self) -> Option<SocketAddr> {
        match self {
            Self::Bound { local, .. } => Some(*local),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRow {
    /// Order of first appearance: gives the peer its colour in the log.
    pub id: u64,
    pub addr: SocketAddr,
    pub datagrams_in: u64,
    pub bytes_in: u64,
    pub datagrams_out: u64,
    pub bytes_out: u64,
    pub last_seen: SystemTime,
}

#[derive(Debug, Default)]
pub struct UdpModel {
    pub session: Option<SessionId>,
    pub status: UdpStatus,
    pub peers: BTreeMap<SocketAddr, PeerRow>,
    next_peer: u64,
    pub broadcast: bool,
    /// (group, interface) joined now.
    pub groups: Vec<(IpAddr, IpAddr)>,
    /// Datagrams the kernel dropped for this socket, in total.
    pub drops: u64,
    pub log: LogBook,
    pub trace: TraceBook,
    /// Repeat runs and file sends.
    pub sending: Sending,
    pub last_warning: Option<NetError>,
    /// Changes whenever peers come or go, so views can cache row lists.
    pub generation: u64,
    /// Each peer's received datagrams framed, checked and timed (see `model::rx`); round
    /// trips are a datagram sent to a peer and the first one back from it.
    rx: RxPipes<SocketAddr>,
    /// A scripted conversation with the target.
    pub conversation: Option<super::conversation::ConversationRun>,
}

impl UdpModel {
    pub fn begin(&mut self, session: SessionId, bind: SocketAddr, broadcast: bool) {
        self.session = Some(session);
        self.status = UdpStatus::Binding { bind };
        self.broadcast = broadcast;
        self.groups.clear();
        self.drops = 0;
        self.sending = Sending::default();
        self.last_warning = None;
        self.rx.clear();
        self.rx
            .set_limits(crate::proto::frame::DEFAULT_CAP, MAX_FRAMED_PEERS);
    }

    /// How each peer's datagrams are cut into messages from now on.
    pub fn set_framing(&mut self, framing: &Framing) {
        let now = SystemTime::now();
        let left = self.rx.set_framing(framing, now);
        self.push_rx(now, left);
    }

    /// The checksum each received message is checked for, from now on.
    pub fn set_check(&mut self, check: Option<ChecksumSpec>) {
        self.rx.set_check(check);
    }

    /// Whether each message's note lists the datagrams that carried it.
    pub fn set_show_recvs(&mut self, on: bool) {
        self.rx.set_show_recvs(on);
    }

    pub fn framing(&self) -> Framing {
        self.rx.framing()
    }

    /// Messages that shared a datagram and messages that took several, over every peer.
    pub fn frame_stats(&self) -> Option<FrameStats> {
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

    fn push_rx(&mut self, at: SystemTime, entries: Vec<(SocketAddr, RxEntry)>) {
        for (from, (data, note)) in entries {
            let id = self.peers.get(&from).map_or(0, |p| p.id);
            let tag = PeerTag { id, addr: from };
            let len = data.len() as u64;
            let note = (note != Default::default()).then_some(LogNote::Rx(note));
            self.log
                .push_peer_data(at, Direction::Rx, Some(tag), data, len, note);
        }
    }

    pub fn closing(&mut self) {
        if self.status.active() {
            self.status = UdpStatus::Closing;
        }
    }

    fn peer(&mut self, addr: SocketAddr, at: SystemTime) -> &mut PeerRow {
        if !self.peers.contains_key(&addr) {
            if self.peers.len() >= MAX_PEERS
                && let Some(oldest) = self
                    .peers
                    .values()
                    .min_by_key(|p| p.last_seen)
                    .map(|p| p.addr)
            {
                self.peers.remove(&oldest);
            }
            self.next_peer += 1;
            self.generation += 1;
        }
        let id = self.next_peer;
        let row = self.peers.entry(addr).or_insert(PeerRow {
            id,
            addr,
            datagrams_in: 0,
            bytes_in: 0,
            datagrams_out: 0,
            bytes_out: 0,
            last_seen: at,
        });
        row.last_seen = at;
        row
    }

    pub fn apply(&mut self, msg: UdpMsg) {
        if self.session != Some(msg.session) {
            return;
        }
        let at = msg.at;
        match msg.event {
            UdpEvent::Call(call) => self.trace.push(call),
            UdpEvent::Bound { local, auto } => {
                self.status = UdpStatus::Bound { local, auto };
                self.log
                    .push_note(at, Direction::Info, LogNote::UdpBound { local, auto });
            }
            UdpEvent::Received { from, data } => {
                let len = data.len() as u64;
                let row = self.peer(from, at);
                row.datagrams_in += 1;
                row.bytes_in += len;
                if let Some(run) = &mut self.conversation {
                    run.received(&data, at);
                }
                let entries = self.rx.received(from, data, at);
                self.push_rx(at, entries);
            }
            UdpEvent::Sent { to, data, origin } => {
                let len = data.len() as u64;
                let row = self.peer(to, at);
                row.datagrams_out += 1;
                row.bytes_out += len;
                let tag = PeerTag {
                    id: row.id,
                    addr: to,
                };
                let note = self.sending.note(origin);
                let held = self.rx.sent(to, at);
                self.push_rx(at, held);
                self.log
                    .push_peer_data(at, Direction::Tx, Some(tag), data, len, note);
            }
            UdpEvent::Broadcast(on) => {
                self.broadcast = on;
                self.log
                    .push_note(at, Direction::Info, LogNote::Broadcast(on));
            }
            UdpEvent::Joined { group, iface } => {
                if !self.groups.contains(&(group, iface)) {
                    self.groups.push((group, iface));
                }
                self.log
                    .push_note(at, Direction::Info, LogNote::Joined { group, iface });
            }
            UdpEvent::Left { group, iface } => {
                self.groups.retain(|g| *g != (group, iface));
                self.log
                    .push_note(at, Direction::Info, LogNote::Left { group, iface });
            }
            UdpEvent::Drops(total) => {
                self.drops = total;
                self.log
                    .push_note(at, Direction::Error, LogNote::Drops(total));
            }
            UdpEvent::Progress(progress) => self.sending.apply(progress),
            UdpEvent::Warning(err) => {
                self.log
                    .push_note(at, Direction::Error, LogNote::Warning(err.clone()));
                self.last_warning = Some(err);
            }
            UdpEvent::Closed { reason } => {
                let dir = match reason {
                    CloseReason::Failed(_) => Direction::Error,
                    _ => Direction::Info,
                };
                let held = self.rx.finish_all(at);
                self.push_rx(at, held);
                if let Some(run) = &mut self.conversation {
                    run.closed(at);
                }
                self.log.push_note(at, dir, LogNote::Closed(reason.clone()));
                self.status = UdpStatus::Ended(reason);
                self.groups.clear();
                self.sending.ended();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Tagged;
    use std::sync::Arc;

    #[test]
    fn datagrams_count_per_peer_and_keep_boundaries() {
        let mut m = UdpModel::default();
        m.begin(3, "127.0.0.1:0".parse().unwrap(), false);
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        for text in ["one", "two", "three"] {
            m.apply(Tagged::now(
                3,
                UdpEvent::Received {
                    from: a,
                    data: Arc::from(text.as_bytes()),
                },
            ));
        }
        assert_eq!(m.log.len(), 3, "one entry per datagram");
        assert_eq!(m.peers[&a].datagrams_in, 3);
        assert_eq!(m.peers[&a].bytes_in, 11);
        m.apply(Tagged::now(4, UdpEvent::Drops(9)));
        assert_eq!(m.drops, 0, "other sessions are ignored");
    }
}
