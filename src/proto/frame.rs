//! Framing what is received: TCP delivers a stream of bytes, not messages, so one `recv()`
//! may carry three messages (粘包) and one message may take two `recv()`s (拆包). A
//! [`Framer`] puts the messages back together by a rule the protocol has: a delimiter, a
//! length prefix, a fixed size, or a pause between messages. The default rule keeps what each
//! `recv()` returned, which is the lesson's truth.
//!
//! Memory stays bounded whatever the peer sends: a frame that does not complete within the
//! cap (a delimiter that never comes, a length prefix announcing 4 GB) is handed on in pieces
//! of at most the cap, each marked incomplete, and the framer carries on after it.
//!
//! Pure: time comes in as microseconds from the caller (for the pause rule).

use serde::{Deserialize, Serialize};

use super::checksum::ByteOrder;

/// How received bytes are cut into messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Framing {
    /// Each `recv()` is a message (no framing).
    #[default]
    Recv,
    /// A message ends with these bytes (which stay part of it).
    Delimiter(Vec<u8>),
    /// A length field at `offset` of `size` bytes (1, 2 or 4) says how long the rest is;
    /// `counts_itself`: the length covers the header and the field too.
    Length {
        size: u8,
        order: ByteOrder,
        offset: usize,
        counts_itself: bool,
    },
    /// Every message is this many bytes.
    Fixed(usize),
    /// A pause of this many milliseconds ends a message.
    Gap(u64),
}

/// The cap on a frame, by default: bigger messages are handed on in pieces.
pub const DEFAULT_CAP: usize = 1024 * 1024;
/// The `recv()`s listed for one frame (a message made of more is counted, not listed).
pub const MAX_PIECES: usize = 64;

impl Framing {
    /// Reads the command line's words: `recv`, `line`, `crlf`, `hex:0D0A`, `len:2be`,
    /// `len:4le`, `len:1`, with `+self` (the length counts itself) and `@N` (the field at byte
    /// N), `fixed:N`, `gap:MS`.
    pub fn parse(text: &str) -> Result<Framing, String> {
        let t = text.trim().to_ascii_lowercase();
        let bad = || {
            format!(
                "unknown framing '{text}' (recv, line, crlf, hex:BYTES, len:2be, len:4le, fixed:N, gap:MS)"
            )
        };
        match t.as_str() {
            "recv" | "none" => return Ok(Framing::Recv),
            "line" | "lf" => return Ok(Framing::Delimiter(b"\n".to_vec())),
            "crlf" => return Ok(Framing::Delimiter(b"\r\n".to_vec())),
            _ => {}
        }
        let (kind, arg) = t.split_once(':').ok_or_else(bad)?;
        match kind {
            "hex" | "delim" => {
                let bytes = super::hex::parse_hex(arg).map_err(|e| format!("{text}: {e}"))?;
                if bytes.is_empty() {
                    return Err(format!("{text}: the delimiter is empty"));
                }
                Ok(Framing::Delimiter(bytes))
            }
            "fixed" => match arg.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Framing::Fixed(n)),
                _ => Err(format!("{text}: the size must be a whole number above 0")),
            },
            "gap" => match arg.parse::<u64>() {
                Ok(ms) if ms > 0 => Ok(Framing::Gap(ms)),
                _ => Err(format!(
                    "{text}: the pause must be a whole number of ms above 0"
                )),
            },
            "len" => {
                let (field, offset) = match arg.split_once('@') {
                    Some((f, o)) => (
                        f,
                        o.parse::<usize>()
                            .map_err(|_| format!("{text}: the offset after @ must be a number"))?,
                    ),
                    None => (arg, 0),
                };
                let (field, counts_itself) = match field.strip_suffix("+self") {
                    Some(f) => (f, true),
                    None => (field, false),
                };
                let (size, order) = match field {
                    "1" => (1, ByteOrder::Big),
                    "2" | "2be" => (2, ByteOrder::Big),
                    "2le" => (2, ByteOrder::Little),
                    "4" | "4be" => (4, ByteOrder::Big),
                    "4le" => (4, ByteOrder::Little),
                    _ => {
                        return Err(format!(
                            "{text}: the length field is 1, 2be, 2le, 4be or 4le bytes"
                        ));
                    }
                };
                Ok(Framing::Length {
                    size,
                    order,
                    offset,
                    counts_itself,
                })
            }
            _ => Err(bad()),
        }
    }

    /// The words [`Framing::parse`] reads back.
    pub fn words(&self) -> String {
        match self {
            Framing::Recv => "recv".into(),
            Framing::Delimiter(d) if d == b"\n" => "line".into(),
            Framing::Delimiter(d) if d == b"\r\n" => "crlf".into(),
            Framing::Delimiter(d) => format!("hex:{}", super::hex::format_hex(d)).replace(' ', ""),
            Framing::Length {
                size,
                order,
                offset,
                counts_itself,
            } => {
                let mut w = format!("len:{size}");
                if *size > 1 {
                    w.push_str(match order {
                        ByteOrder::Big => "be",
                        ByteOrder::Little => "le",
                    });
                }
                if *counts_itself {
                    w.push_str("+self");
                }
                if *offset > 0 {
                    w.push_str(&format!("@{offset}"));
                }
                w
            }
            Framing::Fixed(n) => format!("fixed:{n}"),
            Framing::Gap(ms) => format!("gap:{ms}"),
        }
    }
}

/// One message as framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Vec<u8>,
    /// How many `recv()`s carried a part of it.
    pub recvs: u32,
    /// The `recv()`s that carried it: each one's number in the stream (from 1) and how many
    /// of this message's bytes it brought (the first [`MAX_PIECES`]).
    pub pieces: Vec<(u64, u32)>,
    /// False for a piece handed on at the cap, or what was left when the connection closed.
    pub complete: bool,
}

impl Frame {
    /// The message without the delimiter that ended it: what is shown as text, matched by a
    /// conversation's expects, and covered by a checksum (which comes before the delimiter).
    pub fn body(&self, framing: &Framing) -> &[u8] {
        match framing {
            Framing::Delimiter(d) if self.complete => {
                self.bytes.strip_suffix(d.as_slice()).unwrap_or(&self.bytes)
            }
            _ => &self.bytes,
        }
    }
}

/// What the framing has seen, in the lesson's words: messages that shared a `recv()`, and
/// messages that took more than one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameStats {
    pub recvs: u64,
    pub frames: u64,
    /// `recv()`s that completed two messages or more.
    pub merged_recvs: u64,
    /// Messages those `recv()`s carried.
    pub merged_frames: u64,
    /// Messages that took two `recv()`s or more.
    pub split_frames: u64,
}

/// Cuts a stream of `recv()`s into messages.
#[derive(Debug, Clone)]
pub struct Framer {
    framing: Framing,
    cap: usize,
    buf: Vec<u8>,
    /// `recv()`s that carried part of what is buffered.
    recvs: u32,
    /// Where each `recv()` still buffered ended, in bytes of the stream, with its number.
    bounds: std::collections::VecDeque<(u64, u64)>,
    /// Bytes of the stream taken in, and handed on in frames.
    taken_in: u64,
    handed_on: u64,
    /// Bytes of an oversized length-prefixed message still to come (handed on in pieces).
    skipping: u64,
    /// When the last bytes came (µs), for the pause rule.
    last_at: Option<u64>,
    pub stats: FrameStats,
}

impl Framer {
    pub fn new(framing: Framing, cap: usize) -> Self {
        Self {
            framing,
            cap: cap.max(1),
            buf: Vec::new(),
            recvs: 0,
            bounds: std::collections::VecDeque::new(),
            taken_in: 0,
            handed_on: 0,
            skipping: 0,
            last_at: None,
            stats: FrameStats::default(),
        }
    }

    pub fn framing(&self) -> &Framing {
        &self.framing
    }

    /// Bytes waiting for the rest of their message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// What one `recv()` returned, at `at_us`; the messages it completed.
    pub fn push(&mut self, data: &[u8], at_us: u64) -> Vec<Frame> {
        let mut out = Vec::new();
        if data.is_empty() {
            return out;
        }
        self.stats.recvs += 1;
        if let Framing::Gap(ms) = self.framing
            && let Some(last) = self.last_at
            && at_us.saturating_sub(last) >= ms * 1000
            && !self.buf.is_empty()
        {
            // The pause passed before these bytes: what was buffered is a message.
            out.extend(self.take(true));
        }
        self.last_at = Some(at_us);
        self.recvs += 1;
        self.taken_in += data.len() as u64;
        self.bounds.push_back((self.taken_in, self.stats.recvs));
        match self.framing.clone() {
            Framing::Recv => {
                self.buf.extend_from_slice(data);
                out.extend(self.take(true));
            }
            Framing::Gap(_) => {
                self.buf.extend_from_slice(data);
                while self.buf.len() >= self.cap {
                    out.push(self.cut(self.cap, false));
                }
            }
            Framing::Delimiter(delim) if delim.is_empty() => {
                // No delimiter to look for (only a hand-made setting can say so): as recv().
                self.buf.extend_from_slice(data);
                out.extend(self.take(true));
            }
            Framing::Delimiter(delim) => {
                let mut from = self.buf.len().saturating_sub(delim.len() - 1);
                self.buf.extend_from_slice(data);
                loop {
                    let found = find(&self.buf[from..], &delim).map(|i| from + i + delim.len());
                    match found {
                        Some(end) if end <= self.cap => {
                            out.push(self.cut(end, true));
                            from = 0;
                        }
                        _ if self.buf.len() >= self.cap => {
                            out.push(self.cut(self.cap, false));
                            from = 0;
                        }
                        _ => break,
                    }
                }
            }
            Framing::Fixed(n) => {
                self.buf.extend_from_slice(data);
                let n = n.clamp(1, self.cap);
                while self.buf.len() >= n {
                    out.push(self.cut(n, true));
                }
            }
            Framing::Length {
                size,
                order,
                offset,
                counts_itself,
            } => {
                let size = size.clamp(1, 8);
                let header = offset + usize::from(size);
                // What this recv() brought and the framer has not placed yet.
                let mut input = data.to_vec();
                while !input.is_empty() {
                    if self.skipping > 0 {
                        // The tail of an oversized message, in pieces of at most the cap.
                        let room = self.cap - self.buf.len();
                        let n = (self.skipping.min(room as u64) as usize).min(input.len());
                        self.buf.extend_from_slice(&input[..n]);
                        input.drain(..n);
                        self.skipping -= n as u64;
                        if self.skipping == 0 || self.buf.len() >= self.cap {
                            let len = self.buf.len();
                            out.push(self.cut(len, false));
                        }
                        continue;
                    }
                    self.buf.append(&mut input);
                    while self.buf.len() >= header {
                        let value = read_uint(&self.buf[offset..header], order);
                        let total = if counts_itself {
                            value
                        } else {
                            value.saturating_add(header as u64)
                        };
                        // A length shorter than its own header cannot be: take the header.
                        let total = total.max(header as u64);
                        if total <= self.cap as u64 {
                            if self.buf.len() < total as usize {
                                break;
                            }
                            out.push(self.cut(total as usize, true));
                        } else {
                            // Too big to hold: hand on what is here, then the rest of it in
                            // pieces; what follows it is framed again.
                            let have = self.buf.len().min(self.cap);
                            input = self.buf.split_off(have);
                            self.skipping = total - have as u64;
                            out.push(self.cut(have, false));
                            break;
                        }
                    }
                }
            }
        }
        self.count(&out);
        out
    }

    /// The pause rule: at `now_us`, whether the buffered bytes have waited the pause out (then
    /// they are a message). Other rules never complete on time alone.
    pub fn tick(&mut self, now_us: u64) -> Option<Frame> {
        let Framing::Gap(ms) = self.framing else {
            return None;
        };
        let last = self.last_at?;
        if self.buf.is_empty() || now_us.saturating_sub(last) < ms * 1000 {
            return None;
        }
        let frame = self.take(true);
        if let Some(f) = &frame {
            self.count(std::slice::from_ref(f));
        }
        frame
    }

    /// When [`Framer::tick`] would hand on what is buffered (µs), if it ever would.
    pub fn due(&self) -> Option<u64> {
        match (&self.framing, self.last_at) {
            (Framing::Gap(ms), Some(last)) if !self.buf.is_empty() => Some(last + ms * 1000),
            _ => None,
        }
    }

    /// The connection ended: what is left is handed on as an incomplete message.
    pub fn finish(&mut self) -> Option<Frame> {
        let complete = matches!(self.framing, Framing::Gap(_) | Framing::Recv);
        let frame = self.take(complete);
        if let Some(f) = &frame {
            self.count(std::slice::from_ref(f));
        }
        frame
    }

    fn take(&mut self, complete: bool) -> Option<Frame> {
        if self.buf.is_empty() {
            return None;
        }
        let len = self.buf.len();
        Some(self.cut(len, complete))
    }

    /// The first `n` buffered bytes as a frame.
    fn cut(&mut self, n: usize, complete: bool) -> Frame {
        let rest = self.buf.split_off(n);
        let bytes = std::mem::replace(&mut self.buf, rest);
        let recvs = self.recvs.max(1);
        // What stays buffered came in the last recv() (if anything stays).
        self.recvs = u32::from(!self.buf.is_empty());
        // The recv()s this frame's bytes came in, by where each ended in the stream.
        let start = self.handed_on;
        let end = start + bytes.len() as u64;
        let mut pieces = Vec::new();
        let mut from = start;
        for &(bound, no) in &self.bounds {
            if from >= end {
                break;
            }
            if bound <= from {
                continue;
            }
            let to = bound.min(end);
            if pieces.len() < MAX_PIECES {
                pieces.push((no, (to - from) as u32));
            }
            from = to;
        }
        while self.bounds.front().is_some_and(|&(bound, _)| bound <= end) {
            self.bounds.pop_front();
        }
        self.handed_on = end;
        Frame {
            bytes,
            recvs,
            pieces,
            complete,
        }
    }

    fn count(&mut self, frames: &[Frame]) {
        self.stats.frames += frames.len() as u64;
        self.stats.split_frames += frames.iter().filter(|f| f.recvs > 1).count() as u64;
        let ended_here = frames.len() as u64;
        if ended_here >= 2 {
            self.stats.merged_recvs += 1;
            self.stats.merged_frames += ended_here;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn read_uint(field: &[u8], order: ByteOrder) -> u64 {
    let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    match order {
        ByteOrder::Big => field.iter().fold(0, fold),
        ByteOrder::Little => field.iter().rev().fold(0, fold),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(framing: Framing, recvs: &[&[u8]]) -> Vec<(Vec<u8>, u32, bool)> {
        let mut f = Framer::new(framing, 64);
        let mut out = Vec::new();
        for (i, r) in recvs.iter().enumerate() {
            out.extend(f.push(r, i as u64 * 1000));
        }
        out.extend(f.finish());
        out.into_iter()
            .map(|f| (f.bytes, f.recvs, f.complete))
            .collect()
    }

    #[test]
    fn recv_keeps_what_each_recv_returned() {
        assert_eq!(
            frames(Framing::Recv, &[b"ab", b"c"]),
            [(b"ab".to_vec(), 1, true), (b"c".to_vec(), 1, true)]
        );
    }

    #[test]
    fn lines_merged_and_split() {
        let mut f = Framer::new(Framing::parse("line").unwrap(), 64);
        // Three messages in one recv() (粘包), then one over two (拆包).
        let a = f.push(b"one\ntwo\nthree\nfo", 0);
        assert_eq!(a.len(), 3);
        let b = f.push(b"ur\n", 1);
        assert_eq!(
            b,
            [Frame {
                bytes: b"four\n".to_vec(),
                recvs: 2,
                pieces: vec![(1, 2), (2, 3)],
                complete: true
            }]
        );
        assert_eq!(f.stats.merged_recvs, 1);
        assert_eq!(f.stats.merged_frames, 3);
        assert_eq!(f.stats.split_frames, 1);
        assert_eq!(f.stats.recvs, 2);
        assert_eq!(f.stats.frames, 4);
    }

    #[test]
    fn a_delimiter_split_across_recvs_is_found() {
        assert_eq!(
            frames(Framing::parse("crlf").unwrap(), &[b"ab\r", b"\ncd\r\n"]),
            [(b"ab\r\n".to_vec(), 2, true), (b"cd\r\n".to_vec(), 1, true)]
        );
    }

    #[test]
    fn a_delimiter_that_never_comes_is_cut_at_the_cap() {
        let mut f = Framer::new(Framing::parse("line").unwrap(), 10);
        let out = f.push(&[b'x'; 25], 0);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|f| f.bytes.len() == 10 && !f.complete));
        assert_eq!(f.pending(), 5);
    }

    #[test]
    fn length_prefixes() {
        // 2 bytes big endian, counting the rest.
        assert_eq!(
            frames(
                Framing::parse("len:2be").unwrap(),
                &[&[0, 3, b'a'], &[b'b', b'c', 0, 1, b'z']]
            ),
            [
                (vec![0, 3, b'a', b'b', b'c'], 2, true),
                (vec![0, 1, b'z'], 1, true)
            ]
        );
        // 4 bytes little endian, counting itself, after a 1-byte header.
        let f = Framing::parse("len:4le+self@1").unwrap();
        assert_eq!(f.words(), "len:4le+self@1");
        assert_eq!(
            frames(f, &[&[0xAA, 6, 0, 0, 0, b'q', 0xAA]]),
            [
                (vec![0xAA, 6, 0, 0, 0, b'q'], 1, true),
                (vec![0xAA], 1, false)
            ]
        );
    }

    #[test]
    fn a_length_of_4_gb_is_handed_on_in_pieces() {
        let mut f = Framer::new(Framing::parse("len:4be").unwrap(), 16);
        let mut got = 0usize;
        let mut frames = f.push(&[0xFF, 0xFF, 0xFF, 0xF0, 1, 2, 3], 0);
        for i in 0..100 {
            frames.extend(f.push(&[9u8; 40], i));
        }
        for fr in &frames {
            assert!(fr.bytes.len() <= 16);
            assert!(!fr.complete);
            got += fr.bytes.len();
        }
        assert!(f.pending() < 16);
        assert_eq!(got + f.pending(), 7 + 4000);
    }

    #[test]
    fn fixed_and_gap() {
        assert_eq!(
            frames(Framing::Fixed(2), &[b"abc", b"d"]),
            [(b"ab".to_vec(), 1, true), (b"cd".to_vec(), 2, true)]
        );
        let mut f = Framer::new(Framing::Gap(50), 64);
        assert!(f.push(b"ab", 0).is_empty());
        assert!(f.push(b"c", 10_000).is_empty());
        assert_eq!(f.due(), Some(60_000));
        assert_eq!(f.tick(59_999), None);
        assert_eq!(f.tick(60_000).map(|f| f.bytes), Some(b"abc".to_vec()));
        // A pause before the next bytes ends the message before them.
        assert!(f.push(b"x", 100_000).is_empty());
        let out = f.push(b"y", 200_000);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes, b"x");
    }

    #[test]
    fn words_round_trip() {
        for w in [
            "recv",
            "line",
            "crlf",
            "hex:0d0a00",
            "len:1",
            "len:2be",
            "len:2le",
            "len:4be",
            "len:4le+self",
            "len:2be@3",
            "fixed:8",
            "gap:20",
        ] {
            let f = Framing::parse(w).unwrap();
            assert_eq!(Framing::parse(&f.words()).unwrap(), f, "{w}");
        }
        for bad in ["", "len:3", "fixed:0", "gap:x", "hex:", "hex:zz", "nope"] {
            assert!(Framing::parse(bad).is_err(), "{bad}");
        }
    }
}
