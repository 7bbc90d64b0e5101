//! What a panel makes of what `recv()` returned, before it goes into the log: messages cut by
//! the panel's framing, each checked for the panel's checksum, and the first reply after a
//! send timed (the round trip of an exchange, with p50/p99 for the session). The client has
//! one; the server one per client; UDP one per peer.

use std::sync::Arc;
use std::time::SystemTime;

use super::log::RxNote;
use crate::proto::checksum::ChecksumSpec;
use crate::proto::frame::{self, FrameStats, Framer, Framing};

/// Microseconds since the Unix epoch (the framer's clock).
pub fn micros(at: SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Round trips kept for the percentiles (1 µs to 1 hour, 3 significant digits).
fn histogram() -> Option<hdrhistogram::Histogram<u64>> {
    hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3).ok()
}

/// One received message as the log shows it.
pub type RxEntry = (Arc<[u8]>, RxNote);

/// The receive side of one connection (or one UDP peer).
#[derive(Debug)]
pub struct RxPipe {
    framer: Option<Framer>,
    check: Option<ChecksumSpec>,
    /// Our last send since the last reply: the next message received is its reply.
    sent_at: Option<SystemTime>,
    rtts: Option<hdrhistogram::Histogram<u64>>,
    /// The cap on a message's size.
    cap: usize,
    /// Each message's note lists the recv()s that carried it.
    show_recvs: bool,
    /// recv()s so far (unframed: each is an entry).
    recv_count: u64,
}

impl Default for RxPipe {
    fn default() -> Self {
        Self {
            framer: None,
            check: None,
            sent_at: None,
            rtts: histogram(),
            cap: frame::DEFAULT_CAP,
            show_recvs: false,
            recv_count: 0,
        }
    }
}

impl RxPipe {
    /// A pipe with these rules (a new connection: nothing carried over).
    pub fn new(framing: &Framing, check: Option<ChecksumSpec>) -> Self {
        Self::with_cap(framing, check, frame::DEFAULT_CAP)
    }

    /// With a smaller cap on a message (a server holds one pipe per client).
    pub fn with_cap(framing: &Framing, check: Option<ChecksumSpec>, cap: usize) -> Self {
        Self {
            framer: (*framing != Framing::Recv).then(|| Framer::new(framing.clone(), cap)),
            check,
            cap,
            ..Self::default()
        }
    }

    pub fn framing(&self) -> Framing {
        self.framer
            .as_ref()
            .map_or(Framing::Recv, |f| f.framing().clone())
    }

    pub fn check(&self) -> Option<ChecksumSpec> {
        self.check
    }

    /// How bytes are cut from now on; what waited under the old rule is handed on as it is.
    pub fn set_framing(&mut self, framing: &Framing, at: SystemTime) -> Option<RxEntry> {
        if self.framing() == *framing {
            return None;
        }
        let left = self.finish(at);
        self.framer = (*framing != Framing::Recv).then(|| Framer::new(framing.clone(), self.cap));
        left
    }

    /// Whether each message's note lists the recv()s that carried it, from now on.
    pub fn set_show_recvs(&mut self, on: bool) {
        self.show_recvs = on;
    }

    pub fn shows_recvs(&self) -> bool {
        self.show_recvs
    }

    /// The checksum received messages are checked for, from now on.
    pub fn set_check(&mut self, check: Option<ChecksumSpec>) {
        self.check = check;
    }

    /// We sent something: the next message is its reply.
    pub fn sent(&mut self, at: SystemTime) {
        if self.sent_at.is_none() {
            self.sent_at = Some(at);
        }
    }

    /// The framing's count of messages that shared a recv() and messages that took several.
    pub fn stats(&self) -> Option<FrameStats> {
        self.framer.as_ref().map(|f| f.stats)
    }

    /// The session's round trips: (p50, p99, count), in microseconds.
    pub fn round_trips(&self) -> Option<(u64, u64, u64)> {
        let h = self.rtts.as_ref().filter(|h| !h.is_empty())?;
        Some((h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.len()))
    }

    /// What one `recv()` returned, at `at`: the messages it completes.
    pub fn received(&mut self, data: Arc<[u8]>, at: SystemTime) -> Vec<RxEntry> {
        self.recv_count += 1;
        let frames = match &mut self.framer {
            None => {
                let piece = (self.recv_count, data.len() as u32);
                let (data, mut note) = self.note(data, None, at);
                if self.show_recvs {
                    note.recvs = vec![piece];
                }
                return vec![(data, note)];
            }
            Some(f) => f.push(&data, micros(at)),
        };
        frames.into_iter().map(|f| self.frame(f, at)).collect()
    }

    /// The pause rule: a message that has waited the pause out.
    pub fn tick(&mut self, at: SystemTime) -> Option<RxEntry> {
        let f = self.framer.as_mut()?.tick(micros(at))?;
        Some(self.frame(f, at))
    }

    /// When the pause rule next needs a look (microseconds on the framer's clock).
    pub fn due(&self) -> Option<u64> {
        self.framer.as_ref()?.due()
    }

    /// The connection ended: what the framing holds, as it is.
    pub fn finish(&mut self, at: SystemTime) -> Option<RxEntry> {
        let f = self.framer.as_mut()?.finish()?;
        Some(self.frame(f, at))
    }

    fn frame(&mut self, f: frame::Frame, at: SystemTime) -> RxEntry {
        let framing = self.framing();
        let body = f.body(&framing).to_vec();
        let mark = (f.recvs, f.complete);
        let complete = f.complete;
        let pieces = if self.show_recvs {
            f.pieces
        } else {
            Vec::new()
        };
        let (data, mut note) = self.note(f.bytes.into(), Some(mark), at);
        note.recvs = pieces;
        // The checksum comes before a delimiter: check the message without it.
        note.check = self
            .check
            .filter(|_| complete)
            .map(|c| (c.algo, c.verify(&body)));
        (data, note)
    }

    fn note(&mut self, data: Arc<[u8]>, frame: Option<(u32, bool)>, at: SystemTime) -> RxEntry {
        let reply_us = self
            .sent_at
            .take()
            .map(|sent| at.duration_since(sent).map_or(0, |d| d.as_micros() as u64));
        if let (Some(us), Some(h)) = (reply_us, &mut self.rtts) {
            let _ = h.record(us.max(1));
        }
        let check = match (frame, self.check) {
            // Unframed: each recv() is checked as it came.
            (None, Some(c)) => Some((c.algo, c.verify(&data))),
            _ => None,
        };
        (
            data,
            RxNote {
                frame,
                reply_us,
                recvs: Vec::new(),
                check,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::checksum::{Checksum, Verdict};
    use std::time::Duration;

    #[test]
    fn frames_checks_and_times_replies() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut pipe = RxPipe::new(
            &Framing::Delimiter(b"\n".to_vec()),
            Some(ChecksumSpec::new(Checksum::Xor)),
        );
        pipe.sent(t0);
        let good = ChecksumSpec::new(Checksum::Xor).append(b"ab");
        let mut data = good.clone();
        data.extend_from_slice(b"\nxy0\npart");
        let out = pipe.received(data.into(), t0 + Duration::from_millis(12));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].1.reply_us, Some(12_000));
        assert_eq!(out[0].1.frame, Some((1, true)));
        assert_eq!(out[0].1.check, Some((Checksum::Xor, Verdict::Ok)));
        assert!(matches!(out[1].1.check, Some((_, Verdict::Wrong { .. }))));
        // Only the first message after a send is its reply.
        assert_eq!(out[1].1.reply_us, None);
        let left = pipe.finish(t0).unwrap();
        assert_eq!(&left.0[..], b"part");
        assert_eq!(left.1.frame, Some((1, false)));
        assert_eq!(left.1.check, None);
        let (p50, p99, n) = pipe.round_trips().unwrap();
        assert_eq!(n, 1);
        assert!(
            (11_990..=12_020).contains(&p50) && p99 >= p50,
            "{p50} {p99}"
        );
    }
}
