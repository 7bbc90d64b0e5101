//! What the commands print in common: socket calls, received bytes as one line of text,
//! the printer that turns a stream's bytes into lines.

use super::*;

pub(super) fn print_trace(io: &mut Io, lang: Lang, call: &crate::net::SocketCall) {
    let conn = call.conn.map(|c| format!("#{c} ")).unwrap_or_default();
    errln!(
        io,
        "[trace] {} {conn}{} → {}",
        crate::i18n::format_time(call.at),
        call.call_text(),
        describe_outcome(lang, &call.kind, &call.outcome)
    );
}

/// Decoded text on one line: control characters and undecodable bytes escaped.
pub(super) fn one_line(encoding: TextEncoding, data: &[u8]) -> String {
    let mut out = String::new();
    for segment in encoding.decode_segments(data) {
        match segment {
            Segment::Text(text) => {
                for c in text.chars() {
                    match c {
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        '\\' => out.push_str("\\\\"),
                        c if c.is_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
                        c => out.push(c),
                    }
                }
            }
            Segment::Invalid(bytes) => {
                for b in bytes {
                    out.push_str(&format!("\\x{b:02X}"));
                }
            }
        }
    }
    out
}

/// Prints received bytes as text (decoded across chunk boundaries) or as a hex dump.
pub(super) struct Printer {
    decoder: StreamDecoder,
    hex: bool,
    offset: usize,
}

impl Printer {
    pub(super) fn new(encoding: TextEncoding, hex: bool) -> Self {
        Self {
            decoder: StreamDecoder::new(encoding),
            hex,
            offset: 0,
        }
    }

    pub(super) fn print(&mut self, out: &mut dyn Write, data: &[u8]) {
        if self.hex {
            for line in crate::proto::hex_dump_lines(data, self.offset) {
                let _ = writeln!(out, "{:08X}  {}  {}", line.offset, line.hex, line.ascii);
            }
            self.offset += data.len();
        } else {
            let segments = self.decoder.push(data);
            write_segments(out, &segments);
        }
        let _ = out.flush();
    }

    pub(super) fn finish(&mut self, out: &mut dyn Write) {
        if !self.hex {
            let segments = self.decoder.finish();
            write_segments(out, &segments);
            let _ = out.flush();
        }
    }
}

pub(super) fn write_segments(out: &mut dyn Write, segments: &[Segment]) {
    for segment in segments {
        let _ = match segment {
            Segment::Text(text) => out.write_all(text.as_bytes()),
            Segment::Invalid(bytes) => bytes.iter().try_for_each(|b| write!(out, "\\x{b:02X}")),
        };
    }
}

/// Prints received bytes as messages, one per line, cut by a framing rule; each checked
/// against a checksum when one is given.
pub(super) struct FramedPrinter {
    framer: crate::proto::frame::Framer,
    encoding: TextEncoding,
    hex: bool,
    check: Option<crate::proto::checksum::ChecksumSpec>,
    lang: Lang,
    started: Instant,
}

impl FramedPrinter {
    pub(super) fn new(
        framing: crate::proto::frame::Framing,
        encoding: TextEncoding,
        hex: bool,
        check: Option<crate::proto::checksum::ChecksumSpec>,
        lang: Lang,
    ) -> Self {
        Self {
            framer: crate::proto::frame::Framer::new(framing, crate::proto::frame::DEFAULT_CAP),
            encoding,
            hex,
            check,
            lang,
            started: Instant::now(),
        }
    }

    fn now_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    /// One recv()'s bytes; prints the messages they completed, each after `prefix`.
    pub(super) fn push(&mut self, out: &mut dyn Write, prefix: &str, data: &[u8]) {
        let now = self.now_us();
        for frame in self.framer.push(data, now) {
            self.print(out, prefix, &frame);
        }
        let _ = out.flush();
    }

    /// The pause rule: prints what has waited the pause out.
    pub(super) fn tick(&mut self, out: &mut dyn Write, prefix: &str) {
        let now = self.now_us();
        if let Some(frame) = self.framer.tick(now) {
            self.print(out, prefix, &frame);
            let _ = out.flush();
        }
    }

    /// How long until [`FramedPrinter::tick`] has something to print, if ever.
    pub(super) fn due_in(&self) -> Option<Duration> {
        let due = self.framer.due()?;
        Some(Duration::from_micros(due.saturating_sub(self.now_us())))
    }

    /// The connection ended: prints what is left (marked incomplete unless the rule takes
    /// whatever came).
    pub(super) fn finish(&mut self, out: &mut dyn Write, prefix: &str) {
        if let Some(frame) = self.framer.finish() {
            self.print(out, prefix, &frame);
            let _ = out.flush();
        }
    }

    fn print(&self, out: &mut dyn Write, prefix: &str, frame: &crate::proto::frame::Frame) {
        let _ = writeln!(out, "{prefix}{}", frame_line(self, frame));
    }
}

/// A message on one line: its text (the delimiter that ended it left out) or its bytes in
/// hex, then what the checks say.
fn frame_line(p: &FramedPrinter, frame: &crate::proto::frame::Frame) -> String {
    // The message without the delimiter that ended it: what is shown as text, and what a
    // checksum covers (it comes before the delimiter).
    let body = frame.body(p.framer.framing());
    let mut line = if p.hex {
        crate::proto::format_hex(&frame.bytes)
    } else {
        one_line(p.encoding, body)
    };
    if !frame.complete {
        line.push_str(&format!(" [{}]", p.lang.t(Msg::FrameIncomplete)));
    }
    if let Some(check) = &p.check
        && frame.complete
    {
        let mark = crate::model::describe::describe_verdict(
            p.lang,
            check.algo.label(),
            &check.verify(body),
        );
        line.push_str(&format!(" [{mark}]"));
    }
    line
}
