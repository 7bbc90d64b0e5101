//! State of the file server and download panels, reduced from engine events.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::net::download::{DownloadEvent, DownloadMsg};
use crate::net::file_server::{Asked, FileServerEvent, FileServerMsg, NotServed};
use crate::net::tcp_server::ServerEnd;
use crate::net::{NetError, SessionId};

/// Rows kept in the transfers table (the oldest finished go first).
pub const MAX_ROWS: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FileServerStatus {
    #[default]
    Stopped,
    Starting,
    Listening {
        local: SocketAddr,
        root: PathBuf,
    },
    Stopping,
    Ended(ServerEnd),
}

impl FileServerStatus {
    pub fn active(&self) -> bool {
        matches!(
            self,
            Self::Starting | Self::Listening { .. } | Self::Stopping
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferState {
    /// Connected; the request has not arrived yet.
    Waiting,
    /// Request read; waiting for a free transfer slot.
    Queued,
    Sending,
    Served {
        took: Duration,
    },
    Listed(usize),
    NotServed(NotServed),
    Failed(NetError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    pub id: u64,
    pub peer: SocketAddr,
    pub at: SystemTime,
    pub asked: Option<Asked>,
    pub size: Option<u64>,
    pub offset: u64,
    pub sent: u64,
    pub started: Option<SystemTime>,
    pub state: TransferState,
}

impl TransferRow {
    /// Served, refused or failed: nothing more will happen to it.
    pub fn finished(&self) -> bool {
        !matches!(
            self.state,
            TransferState::Waiting | TransferState::Queued | TransferState::Sending
        )
    }

    /// Bytes per second so far.
    pub fn rate(&self, now: SystemTime) -> f64 {
        let secs = match (&self.state, self.started) {
            (TransferState::Served { took }, _) => took.as_secs_f64(),
            (_, Some(start)) => now.duration_since(start).unwrap_or_default().as_secs_f64(),
            _ => 0.0,
        };
        if secs > 0.0 {
            self.sent as f64 / secs
        } else {
            0.0
        }
    }
}

#[derive(Debug, Default)]
pub struct FileServerModel {
    pub session: Option<SessionId>,
    pub status: FileServerStatus,
    /// By (session, connection id): ids start at 1 again in each session, and the rows of
    /// an earlier session stay (until they are the oldest finished ones).
    pub rows: BTreeMap<(SessionId, u64), TransferRow>,
    pub served: u64,
    pub refused: u64,
    pub last_warning: Option<NetError>,
}

impl FileServerModel {
    pub fn begin(&mut self, session: SessionId) {
        self.session = Some(session);
        self.status = FileServerStatus::Starting;
        self.last_warning = None;
    }

    pub fn stopping(&mut self) {
        if self.status.active() {
            self.status = FileServerStatus::Stopping;
        }
    }

    pub fn apply(&mut self, msg: FileServerMsg) {
        if self.session != Some(msg.session) {
            return;
        }
        let at = msg.at;
        let session = msg.session;
        match msg.event {
            FileServerEvent::Listening { local, root } => {
                self.status = FileServerStatus::Listening { local, root };
            }
            FileServerEvent::Connected { id, peer } => {
                self.rows.insert(
                    (session, id),
                    TransferRow {
                        id,
                        peer,
                        at,
                        asked: None,
                        size: None,
                        offset: 0,
                        sent: 0,
                        started: None,
                        state: TransferState::Waiting,
                    },
                );
                // The oldest finished rows go; a transfer still under way keeps its row.
                while self.rows.len() > MAX_ROWS {
                    let Some(old) = self
                        .rows
                        .iter()
                        .find(|(_, r)| r.finished())
                        .map(|(k, _)| *k)
                    else {
                        break;
                    };
                    self.rows.remove(&old);
                }
            }
            FileServerEvent::Requested { id, asked } => {
                if let Some(r) = self.rows.get_mut(&(session, id)) {
                    r.asked = Some(asked);
                    r.state = TransferState::Queued;
                }
            }
            FileServerEvent::Sending { id, size, offset } => {
                if let Some(r) = self.rows.get_mut(&(session, id)) {
                    r.size = Some(size);
                    r.offset = offset;
                    r.started = Some(at);
                    r.state = TransferState::Sending;
                }
            }
            FileServerEvent::Progress { id, sent } => {
                if let Some(r) = self.rows.get_mut(&(session, id)) {
                    r.sent = sent;
                }
            }
            FileServerEvent::Served { id, sent, took } => {
                self.served += 1;
                if let Some(r) = self.rows.get_mut(&(session, id)) {
                    r.sent = sent;
                    r.state = TransferState::Served { took };
                }
            }
            FileServerEvent::Listed { id, count } => {
                if let Some(r) = self.rows.get_mut(&(session, id)) {
                    r.state = TransferState::Listed(count);
                }
            }
            FileServerEvent::NotServed { id, why } => {
                self.refused += 1;
                if let Some(r) = self.rows.get_mut(&(session, id)) {
                    r.state = TransferState::NotServed(why);
                }
            }
            FileServerEvent::Failed { id, sent, error } => {
                if let Some(r) = self.rows.get_mut(&(session, id)) {
                    r.sent = sent;
                    r.state = TransferState::Failed(error);
                }
            }
            FileServerEvent::Warning(err) => self.last_warning = Some(err),
            FileServerEvent::Stopped { end } => self.status = FileServerStatus::Ended(end),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DownloadState {
    Connecting,
    Receiving,
    Done {
        took: Duration,
        verified: bool,
    },
    Failed {
        error: NetError,
        kept: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DownloadRow {
    pub session: SessionId,
    pub server: String,
    pub name: String,
    pub dest: PathBuf,
    pub verified: bool,
    pub have: u64,
    pub total: Option<u64>,
    pub rate: f64,
    pub state: DownloadState,
    /// Bytes per second over time, for the plot.
    pub history: crate::model::throughput::Throughput,
}

impl DownloadRow {
    pub fn running(&self) -> bool {
        matches!(
            self.state,
            DownloadState::Connecting | DownloadState::Receiving
        )
    }

    /// Seconds left at the current rate, when the size is known.
    pub fn eta(&self) -> Option<f64> {
        let total = self.total?;
        (self.rate > 0.0).then(|| total.saturating_sub(self.have) as f64 / self.rate)
    }
}

#[derive(Debug, Default)]
pub struct DownloadsModel {
    pub rows: Vec<DownloadRow>,
}

impl DownloadsModel {
    pub fn apply(&mut self, msg: DownloadMsg) {
        let Some(row) = self.rows.iter_mut().find(|r| r.session == msg.session) else {
            return;
        };
        match msg.event {
            DownloadEvent::Connected { .. } => row.state = DownloadState::Receiving,
            DownloadEvent::Header { size, offset, .. } => {
                row.total = Some(size);
                row.have = offset;
                row.state = DownloadState::Receiving;
            }
            DownloadEvent::Progress { have, total, rate } => {
                row.history.received(msg.at, have.saturating_sub(row.have));
                row.have = have;
                row.total = total.or(row.total);
                row.rate = rate;
            }
            DownloadEvent::Done {
                path,
                bytes,
                verified,
                took,
            } => {
                row.dest = path;
                if row.total.is_none() {
                    row.total = Some(bytes);
                }
                row.have = row.total.unwrap_or(bytes);
                row.state = DownloadState::Done { took, verified };
            }
            DownloadEvent::Failed { error, kept } => {
                row.state = DownloadState::Failed { error, kept };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Tagged;

    fn ev(session: SessionId, event: FileServerEvent) -> FileServerMsg {
        Tagged::now(session, event)
    }

    fn peer() -> SocketAddr {
        "127.0.0.1:5000".parse().unwrap()
    }

    /// After Stop and Start the ids begin at 1 again: the new session's rows are its own,
    /// the old session's rows keep their outcome.
    #[test]
    fn rows_of_two_sessions_do_not_mix() {
        let mut m = FileServerModel::default();
        m.begin(1);
        m.apply(ev(
            1,
            FileServerEvent::Connected {
                id: 1,
                peer: peer(),
            },
        ));
        m.apply(ev(
            1,
            FileServerEvent::Served {
                id: 1,
                sent: 10,
                took: Duration::from_millis(5),
            },
        ));
        m.begin(2);
        m.apply(ev(
            2,
            FileServerEvent::Connected {
                id: 1,
                peer: peer(),
            },
        ));
        m.apply(ev(
            2,
            FileServerEvent::Sending {
                id: 1,
                size: 100,
                offset: 0,
            },
        ));
        assert_eq!(m.rows.len(), 2);
        assert!(matches!(
            m.rows[&(1, 1)].state,
            TransferState::Served { .. }
        ));
        assert_eq!(m.rows[&(2, 1)].state, TransferState::Sending);
    }

    /// A full table drops its oldest finished rows, never a transfer still under way.
    #[test]
    fn a_transfer_under_way_keeps_its_row() {
        let mut m = FileServerModel::default();
        m.begin(1);
        m.apply(ev(
            1,
            FileServerEvent::Connected {
                id: 1,
                peer: peer(),
            },
        ));
        m.apply(ev(
            1,
            FileServerEvent::Sending {
                id: 1,
                size: 1 << 30,
                offset: 0,
            },
        ));
        for id in 2..(MAX_ROWS as u64 + 50) {
            m.apply(ev(1, FileServerEvent::Connected { id, peer: peer() }));
            m.apply(ev(
                1,
                FileServerEvent::NotServed {
                    id,
                    why: NotServed::NotFound,
                },
            ));
        }
        assert_eq!(m.rows.len(), MAX_ROWS);
        m.apply(ev(1, FileServerEvent::Progress { id: 1, sent: 4096 }));
        assert_eq!(m.rows[&(1, 1)].sent, 4096, "the running row is still there");
        assert!(
            !m.rows.contains_key(&(1, 2)),
            "the oldest finished row went"
        );
    }
}
