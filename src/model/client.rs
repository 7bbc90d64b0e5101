//! The TCP client panel's state, reduced from engine events.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::send::Sending;
use super::{Direction, LogBook, LogNote, TraceBook};
use crate::net::SessionId;
use crate::net::tcp_client::{ClientEvent, ClientMsg, CloseReason};

/// What the status line says. It always tells the truth about the socket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientStatus {
    #[default]
    Disconnected,
    Connecting {
        target: String,
        addr: Option<SocketAddr>,
    },
    Connected {
        local: SocketAddr,
        peer: SocketAddr,
        /// We sent FIN (`shutdown(Write)`).
        write_shut: bool,
        /// The peer sent FIN (`recv() → 0`).
        peer_closed: bool,
    },
    /// Disconnect was asked for; waiting for the worker to confirm.
    Closing,
    Closed(CloseReason),
}

impl ClientStatus {
    /// A session is under way (connecting, connected or closing).
    pub fn active(&self) -> bool {
        matches!(
            self,
            Self::Connecting { .. } | Self::Connected { .. } | Self::Closing
        )
    }

    pub fn connected(&self) -> bool {
        matches!(self, Self::Connected { .. })
    }
}

use crate::proto::frame::{self, Framing};

/// Microseconds since the epoch (the framer's clock).
use super::rx::{RxEntry, RxPipe, micros};

#[derive(Debug, Default)]
pub struct ClientModel {
    /// The session whose events are applied; events of any other are dropped.
    pub session: Option<SessionId>,
    pub status: ClientStatus,
    pub log: LogBook,
    pub trace: TraceBook,
    /// Repeat runs and file sends.
    pub sending: Sending,
    pub capture: Option<PathBuf>,
    /// The last warning, shown in the panel until the next action.
    pub last_warning: Option<crate::net::NetError>,
    /// The kernel's view of the connection while it lives (TCP_INFO or the system's counterpart).
    pub kernel: Option<crate::net::kernel::TcpInfo>,
    /// The engine could not read the kernel's view on this system.
    pub kernel_unavailable: bool,
    /// The connection's state in the kernel after close (FIN_WAIT2, TIME_WAIT, CLOSED).
    pub after_close: Option<crate::net::trace::TcpState>,
    /// Bytes per second each way, RTT and window over time (the throughput plot).
    pub throughput: crate::model::throughput::Throughput,
    /// Received bytes cut into messages by a rule (else each recv() is an entry), checked,
    /// and the replies timed.
    rx: RxPipe,
    /// A scripted conversation running on this connection.
    pub conversation: Option<super::conversation::ConversationRun>,
}

impl ClientModel {
    /// A new session begins; what the old one still sends is ignored from now on.
    pub fn begin(&mut self, session: SessionId, target: String) {
        self.session = Some(session);
        self.status = ClientStatus::Connecting { target, addr: None };
        self.sending = Sending::default();
        self.capture = None;
        self.last_warning = None;
        self.kernel = None;
        self.kernel_unavailable = false;
        self.after_close = None;
        self.throughput = Default::default();
        let show = self.rx.shows_recvs();
        self.rx = RxPipe::new(&self.rx.framing(), self.rx.check());
        self.rx.set_show_recvs(show);
    }

    /// How received bytes are cut into messages from now on (bytes waiting for the rest of a
    /// message under the old rule are shown as they are).
    pub fn set_framing(&mut self, framing: &Framing) {
        let now = std::time::SystemTime::now();
        if let Some(left) = self.rx.set_framing(framing, now) {
            self.push_rx(now, vec![left]);
        }
    }

    /// The checksum each received message is checked for, from now on.
    pub fn set_check(&mut self, check: Option<crate::proto::checksum::ChecksumSpec>) {
        self.rx.set_check(check);
    }

    /// Whether each message's note lists the recv()s that carried it, from now on.
    pub fn set_show_recvs(&mut self, on: bool) {
        self.rx.set_show_recvs(on);
    }

    /// The framing received messages are cut by.
    pub fn framing(&self) -> Framing {
        self.rx.framing()
    }

    /// The framing's count of messages that shared a recv() and messages that took several.
    pub fn frame_stats(&self) -> Option<frame::FrameStats> {
        self.rx.stats()
    }

    /// The session's round trips (a send, then the first message back): p50, p99, count, in
    /// microseconds.
    pub fn round_trips(&self) -> Option<(u64, u64, u64)> {
        self.rx.round_trips()
    }

    /// The pause rule: hands on what has waited the pause out; when to look again.
    pub fn tick_frames(&mut self, now: std::time::SystemTime) -> Option<std::time::Duration> {
        if let Some(entry) = self.rx.tick(now) {
            self.push_rx(now, vec![entry]);
        }
        let due = self.rx.due()?;
        Some(std::time::Duration::from_micros(
            due.saturating_sub(micros(now)),
        ))
    }

    fn push_rx(&mut self, at: std::time::SystemTime, entries: Vec<RxEntry>) {
        for (data, note) in entries {
            let len = data.len() as u64;
            let note = (note != Default::default()).then_some(LogNote::Rx(note));
            self.log.push_data(at, Direction::Rx, data, len, note);
        }
    }

    pub fn apply(&mut self, msg: ClientMsg) {
        if self.session != Some(msg.session) {
            return;
        }
        let at = msg.at;
        match msg.event {
            ClientEvent::Call(call) => self.trace.push(call),
            ClientEvent::Connecting { addr } => {
                if let ClientStatus::Connecting { addr: a, .. } = &mut self.status {
                    *a = Some(addr);
                }
                self.log
                    .push_note(at, Direction::Info, LogNote::Connecting { addr });
            }
            ClientEvent::Connected { local, peer } => {
                self.status = ClientStatus::Connected {
                    local,
                    peer,
                    write_shut: false,
                    peer_closed: false,
                };
                self.log
                    .push_note(at, Direction::Info, LogNote::Connected { local, peer });
            }
            ClientEvent::Sent { data, len, origin } => {
                let note = self.sending.note(origin);
                self.throughput.sent(at, len);
                self.rx.sent(at);
                self.log.push_data(at, Direction::Tx, data, len, note);
            }
            ClientEvent::Received { data } => {
                let len = data.len() as u64;
                self.throughput.received(at, len);
                if let Some(run) = &mut self.conversation {
                    run.received(&data, at);
                }
                let entries = self.rx.received(data, at);
                self.push_rx(at, entries);
            }
            ClientEvent::PeerClosed => {
                if let ClientStatus::Connected { peer_closed, .. } = &mut self.status {
                    *peer_closed = true;
                }
                self.log.push_note(at, Direction::Info, LogNote::PeerClosed);
            }
            ClientEvent::WriteShut => {
                if let ClientStatus::Connected { write_shut, .. } = &mut self.status {
                    *write_shut = true;
                }
                self.log.push_note(at, Direction::Info, LogNote::WriteShut);
            }
            ClientEvent::Progress(progress) => self.sending.apply(progress),
            ClientEvent::Capturing { path, written } => {
                match &path {
                    Some(p) => {
                        self.log
                            .push_note(at, Direction::Info, LogNote::CaptureStarted(p.clone()))
                    }
                    None => {
                        self.log
                            .push_note(at, Direction::Info, LogNote::CaptureStopped { written })
                    }
                }
                self.capture = path;
            }
            ClientEvent::Warning(err) => {
                self.log
                    .push_note(at, Direction::Error, LogNote::Warning(err.clone()));
                self.last_warning = Some(err);
            }
            ClientEvent::Kernel(info) => {
                self.throughput.kernel(at, info.rtt_us, info.snd_cwnd);
                self.kernel = Some(info);
            }
            ClientEvent::KernelAfterClose(state) => self.after_close = Some(state),
            ClientEvent::KernelUnavailable => self.kernel_unavailable = true,
            ClientEvent::Closed { reason } => {
                if let Some(left) = self.rx.finish(at) {
                    self.push_rx(at, vec![left]);
                }
                if let Some(run) = &mut self.conversation {
                    run.closed(at);
                }
                let dir = match reason {
                    CloseReason::Failed(_) => Direction::Error,
                    _ => Direction::Info,
                };
                self.log.push_note(at, dir, LogNote::Closed(reason.clone()));
                self.status = ClientStatus::Closed(reason);
                self.sending.ended();
                self.capture = None;
            }
        }
    }

    /// The user asked to disconnect; the worker will confirm with `Closed`.
    pub fn closing(&mut self) {
        if self.status.active() {
            self.status = ClientStatus::Closing;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Tagged;
    use std::sync::Arc;

    fn msg(session: SessionId, event: ClientEvent) -> ClientMsg {
        Tagged::now(session, event)
    }

    #[test]
    fn events_of_an_old_session_are_dropped() {
        let mut m = ClientModel::default();
        m.begin(1, "a".into());
        m.begin(2, "b".into());
        let local: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:2000".parse().unwrap();
        m.apply(msg(1, ClientEvent::Connected { local, peer }));
        assert!(matches!(m.status, ClientStatus::Connecting { .. }));
        m.apply(msg(2, ClientEvent::Connected { local, peer }));
        assert!(m.status.connected());
        m.apply(msg(
            2,
            ClientEvent::Received {
                data: Arc::from(&b"hi"[..]),
            },
        ));
        m.apply(msg(2, ClientEvent::PeerClosed));
        assert_eq!(
            m.status,
            ClientStatus::Connected {
                local,
                peer,
                write_shut: false,
                peer_closed: true
            }
        );
        m.apply(msg(
            2,
            ClientEvent::Closed {
                reason: CloseReason::Peer,
            },
        ));
        assert_eq!(m.status, ClientStatus::Closed(CloseReason::Peer));
        assert_eq!(m.log.counters.rx_bytes, 2);
    }
}
