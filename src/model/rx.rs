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
    rtts: RoundTrips,
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
            rtts: RoundTrips::default(),
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
        self.rtts.summary()
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
        if let Some(us) = reply_us {
            self.rtts.record(us);
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

/// The session's round trips, every connection together: p50, p99, count (µs).
#[derive(Debug, Default)]
pub struct RoundTrips(Option<hdrhistogram::Histogram<u64>>);

impl RoundTrips {
    pub fn record(&mut self, us: u64) {
        if self.0.is_none() {
            self.0 = histogram();
        }
        if let Some(h) = &mut self.0 {
            let _ = h.record(us.max(1));
        }
    }

    pub fn summary(&self) -> Option<(u64, u64, u64)> {
        let h = self.0.as_ref().filter(|h| !h.is_empty())?;
        Some((h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.len()))
    }
}

/// One [`RxPipe`] per connection (a server's clients, a UDP socket's peers) under the same
/// rules, at most `max` of them: past that, what they hold is handed on and they start
/// afresh. Each method gives back the entries it completed, with their connection.
#[derive(Debug)]
pub struct RxPipes<K> {
    pipes: std::collections::HashMap<K, RxPipe>,
    framing: Framing,
    check: Option<ChecksumSpec>,
    show_recvs: bool,
    cap: usize,
    max: usize,
    pub round_trips: RoundTrips,
}

impl<K: Copy + Eq + std::hash::Hash> Default for RxPipes<K> {
    fn default() -> Self {
        Self::new(frame::DEFAULT_CAP, usize::MAX)
    }
}

impl<K: Copy + Eq + std::hash::Hash> RxPipes<K> {
    /// The cap on one message, and on the connections framed at once.
    pub fn set_limits(&mut self, cap: usize, max: usize) {
        self.cap = cap;
        self.max = max.max(1);
    }

    pub fn new(cap: usize, max: usize) -> Self {
        Self {
            pipes: Default::default(),
            framing: Framing::Recv,
            check: None,
            show_recvs: false,
            cap,
            max,
            round_trips: RoundTrips::default(),
        }
    }

    /// A new session: no pipes, no round trips (the rules stay).
    pub fn clear(&mut self) {
        self.pipes.clear();
        self.round_trips = RoundTrips::default();
    }

    pub fn framing(&self) -> Framing {
        self.framing.clone()
    }

    pub fn set_framing(&mut self, framing: &Framing, at: SystemTime) -> Vec<(K, RxEntry)> {
        if self.framing == *framing {
            return Vec::new();
        }
        self.framing = framing.clone();
        self.pipes
            .iter_mut()
            .filter_map(|(k, p)| p.set_framing(framing, at).map(|e| (*k, e)))
            .collect()
    }

    pub fn set_check(&mut self, check: Option<ChecksumSpec>) {
        if self.check != check {
            self.check = check;
            self.pipes.values_mut().for_each(|p| p.set_check(check));
        }
    }

    pub fn set_show_recvs(&mut self, on: bool) {
        if self.show_recvs != on {
            self.show_recvs = on;
            self.pipes.values_mut().for_each(|p| p.set_show_recvs(on));
        }
    }

    /// What the framings have seen, every connection together (none without framing).
    pub fn stats(&self) -> Option<FrameStats> {
        if self.framing == Framing::Recv {
            return None;
        }
        let mut all = FrameStats::default();
        for s in self.pipes.values().filter_map(RxPipe::stats) {
            all.recvs += s.recvs;
            all.frames += s.frames;
            all.merged_recvs += s.merged_recvs;
            all.merged_frames += s.merged_frames;
            all.split_frames += s.split_frames;
        }
        Some(all)
    }

    /// The pause rule over every connection; when to look again.
    pub fn tick(&mut self, now: SystemTime) -> (Vec<(K, RxEntry)>, Option<std::time::Duration>) {
        if !matches!(self.framing, Framing::Gap(_)) {
            return (Vec::new(), None);
        }
        let ticked = self
            .pipes
            .iter_mut()
            .filter_map(|(k, p)| p.tick(now).map(|e| (*k, e)))
            .collect();
        let due = self.pipes.values().filter_map(RxPipe::due).min();
        let wait = due.map(|d| std::time::Duration::from_micros(d.saturating_sub(micros(now))));
        (ticked, wait)
    }

    /// The pipe of `key` (made if new); what full pipes were holding when room was made.
    fn pipe(&mut self, key: K, at: SystemTime) -> (&mut RxPipe, Vec<(K, RxEntry)>) {
        let mut held = Vec::new();
        if !self.pipes.contains_key(&key) && self.pipes.len() >= self.max {
            held = self.finish_all(at);
        }
        let (framing, check, show, cap) =
            (self.framing.clone(), self.check, self.show_recvs, self.cap);
        let pipe = self.pipes.entry(key).or_insert_with(|| {
            let mut pipe = RxPipe::with_cap(&framing, check, cap);
            pipe.set_show_recvs(show);
            pipe
        });
        (pipe, held)
    }

    /// What one recv() (or datagram) from `key` returned.
    pub fn received(&mut self, key: K, data: Arc<[u8]>, at: SystemTime) -> Vec<(K, RxEntry)> {
        let (pipe, mut out) = self.pipe(key, at);
        let entries = pipe.received(data, at);
        out.extend(entries.into_iter().map(|e| (key, e)));
        for (_, (_, note)) in &out {
            if let Some(us) = note.reply_us {
                self.round_trips.record(us);
            }
        }
        out
    }

    /// We sent to `key`: its next message is the reply.
    pub fn sent(&mut self, key: K, at: SystemTime) -> Vec<(K, RxEntry)> {
        let (pipe, held) = self.pipe(key, at);
        pipe.sent(at);
        held
    }

    /// `key`'s connection ended: what its framing held.
    pub fn remove(&mut self, key: K, at: SystemTime) -> Option<RxEntry> {
        self.pipes.remove(&key).and_then(|mut p| p.finish(at))
    }

    /// Every connection ended: what the framings held.
    pub fn finish_all(&mut self, at: SystemTime) -> Vec<(K, RxEntry)> {
        self.pipes
            .drain()
            .filter_map(|(k, mut p)| p.finish(at).map(|e| (k, e)))
            .collect()
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
