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
