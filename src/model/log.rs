//! The message log: one entry per send, receive or notable event, with bounded memory.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use crate::net::NetError;
use crate::net::tcp_client::CloseReason;
use crate::net::tcp_server::{ClientEnd, ServerEnd};

/// Default cap on the number of entries.
pub const MAX_ENTRIES: usize = 100_000;
/// Default cap on the bytes held by entries.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by us.
    Tx,
    /// Received from the peer.
    Rx,
    /// A connection event (connected, closed, ...).
    Info,
    /// Something went wrong.
    Error,
}

/// What an entry says beside (or instead of) its bytes. Kept structured so the log can be
/// shown in whichever language is chosen now, not the one chosen when the entry was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogNote {
    Connecting {
        addr: SocketAddr,
    },
    Connected {
        local: SocketAddr,
        peer: SocketAddr,
    },
    PeerClosed,
    WriteShut,
    Closed(CloseReason),
    Warning(NetError),
    Repeat {
        n: u64,
        of: Option<u64>,
    },
    File {
        path: PathBuf,
        complete: bool,
    },
    CaptureStarted(PathBuf),
    CaptureStopped {
        written: u64,
    },
    Listening {
        local: SocketAddr,
    },
    Accepted,
    Refused {
        peer: SocketAddr,
        limit: usize,
    },
    ClientEnd(ClientEnd),
    SendDropped,
    ServerEnd(ServerEnd),
    AutoReply,
    /// What the panel made of a received message: its framing, its reply time, its checksum.
    Rx(RxNote),
    UdpBound {
        local: SocketAddr,
        auto: bool,
    },
    Broadcast(bool),
    Joined {
        group: std::net::IpAddr,
        iface: std::net::IpAddr,
    },
    Left {
        group: std::net::IpAddr,
        iface: std::net::IpAddr,
    },
    Drops(u64),
    Echo,
}

/// What the log says about a received message (see `model::rx`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RxNote {
    /// Framed (see `proto::frame`): how many recv()s carried it, and whether it is whole.
    pub frame: Option<(u32, bool)>,
    /// The first message after a send: microseconds since that send.
    pub reply_us: Option<u64>,
    /// The `recv()`s that carried it (their numbers and bytes), when the panel shows them.
    pub recvs: Vec<(u64, u32)>,
    /// The panel's checksum, checked on it.
    pub check: Option<(
        crate::proto::checksum::Checksum,
        crate::proto::checksum::Verdict,
    )>,
}

/// The connection an entry belongs to, on panels with several (a server's clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerTag {
    pub id: u64,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Increases by one per entry, never reused; survives dropping old entries.
    pub seq: u64,
    pub at: SystemTime,
    pub dir: Direction,
    /// Bytes on the wire (may exceed `data.len()` when only a preview is kept).
    pub len: u64,
    pub data: Arc<[u8]>,
    pub note: Option<LogNote>,
    pub peer: Option<PeerTag>,
}

/// TX/RX totals, reset independently of the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub tx_bytes: u64,
    pub rx_bytes: u64,
    pub tx_msgs: u64,
    pub rx_msgs: u64,
}

/// Entries in arrival order, capped by count and by bytes; the oldest go first.
#[derive(Debug)]
pub struct LogBook {
    entries: VecDeque<LogEntry>,
    next_seq: u64,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
    /// Entries dropped to stay under the caps since the last clear.
    pub dropped: u64,
    pub counters: Counters,
}

impl Default for LogBook {
    fn default() -> Self {
        Self::with_caps(MAX_ENTRIES, MAX_BYTES)
    }
}

impl LogBook {
    pub fn with_caps(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            next_seq: 0,
            bytes: 0,
            max_entries: max_entries.max(1),
            max_bytes,
            dropped: 0,
            counters: Counters::default(),
        }
    }

    pub fn push_data(
        &mut self,
        at: SystemTime,
        dir: Direction,
        data: Arc<[u8]>,
        len: u64,
        note: Option<LogNote>,
    ) {
        self.push_peer_data(at, dir, None, data, len, note);
    }

    /// Like [`Self::push_data`], for an entry that belongs to one connection.
    pub fn push_peer_data(
        &mut self,
        at: SystemTime,
        dir: Direction,
        peer: Option<PeerTag>,
        data: Arc<[u8]>,
        len: u64,
        note: Option<LogNote>,
    ) {
        match dir {
            Direction::Tx => {
                self.counters.tx_bytes += len;
                self.counters.tx_msgs += 1;
            }
            Direction::Rx => {
                self.counters.rx_bytes += len;
                self.counters.rx_msgs += 1;
            }
            Direction::Info | Direction::Error => {}
        }
        self.push(at, dir, peer, data, len, note);
    }

    pub fn push_note(&mut self, at: SystemTime, dir: Direction, note: LogNote) {
        self.push(at, dir, None, Arc::from(&[][..]), 0, Some(note));
    }

    pub fn push_peer_note(
        &mut self,
        at: SystemTime,
        dir: Direction,
        peer: Option<PeerTag>,
        note: LogNote,
    ) {
        self.push(at, dir, peer, Arc::from(&[][..]), 0, Some(note));
    }

    fn push(
        &mut self,
        at: SystemTime,
        dir: Direction,
        peer: Option<PeerTag>,
        data: Arc<[u8]>,
        len: u64,
        note: Option<LogNote>,
    ) {
        self.bytes += data.len();
        self.entries.push_back(LogEntry {
            seq: self.next_seq,
            at,
            dir,
            len,
            data,
            note,
            peer,
        });
        self.next_seq += 1;
        while self.entries.len() > self.max_entries
            || (self.bytes > self.max_bytes && self.entries.len() > 1)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.data.len();
                self.dropped += 1;
            }
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
        self.dropped = 0;
    }

    pub fn reset_counters(&mut self) {
        self.counters = Counters::default();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held by the entries now.
    pub fn bytes_held(&self) -> usize {
        self.bytes
    }

    pub fn entries(&self) -> &VecDeque<LogEntry> {
        &self.entries
    }

    /// Sequence number of the oldest entry still held.
    pub fn first_seq(&self) -> u64 {
        self.entries.front().map_or(self.next_seq, |e| e.seq)
    }

    /// Sequence number the next entry will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub fn get(&self, seq: u64) -> Option<&LogEntry> {
        let first = self.first_seq();
        if seq < first {
            return None;
        }
        self.entries.get(usize::try_from(seq - first).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_drop_oldest_and_count_them() {
        let mut log = LogBook::with_caps(3, 1_000);
        for i in 0..5u8 {
            log.push_data(
                SystemTime::now(),
                Direction::Rx,
                Arc::from(&[i][..]),
                1,
                None,
            );
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.dropped, 2);
        assert_eq!(log.first_seq(), 2);
        assert_eq!(log.get(2).map(|e| e.data[0]), Some(2));
        assert!(log.get(1).is_none());
        // Counters count everything, dropped or not.
        assert_eq!(log.counters.rx_msgs, 5);
        assert_eq!(log.counters.rx_bytes, 5);
    }

    #[test]
    fn byte_cap_holds() {
        let mut log = LogBook::with_caps(1_000, 100);
        for _ in 0..50 {
            log.push_data(
                SystemTime::now(),
                Direction::Tx,
                Arc::from(&[0u8; 30][..]),
                30,
                None,
            );
        }
        assert!(log.bytes_held() <= 100);
        assert_eq!(log.counters.tx_bytes, 1_500);
        assert_eq!(log.len() as u64 + log.dropped, 50);
    }
}
