//! Text encodings offered to the user: converting typed text to bytes without
//! silent substitution, and decoding received bytes so that every byte is
//! accounted for, either as text or as an explicit invalid span.

use std::fmt;

use encoding_rs::{DecoderResult, EncoderResult};

/// A character encoding the user can pick for sending and displaying text.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum TextEncoding {
    #[default]
    Utf8,
    Gbk,
    Gb18030,
    Big5,
    ShiftJis,
    EucKr,
    Windows1252,
    Utf16Le,
}

impl TextEncoding {
    /// Every encoding, in the order a picker should list them.
    pub const ALL: [TextEncoding; 8] = [
        TextEncoding::Utf8,
        TextEncoding::Gbk,
        TextEncoding::Gb18030,
        TextEncoding::Big5,
        TextEncoding::ShiftJis,
        TextEncoding::EucKr,
        TextEncoding::Windows1252,
        TextEncoding::Utf16Le,
    ];

    /// The conventional display name.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Gbk => "GBK",
            TextEncoding::Gb18030 => "GB18030",
            TextEncoding::Big5 => "Big5",
            TextEncoding::ShiftJis => "Shift_JIS",
            TextEncoding::EucKr => "EUC-KR",
            TextEncoding::Windows1252 => "Windows-1252",
            TextEncoding::Utf16Le => "UTF-16LE",
        }
    }

    /// Parses a label case-insensitively, including a few common aliases.
    pub fn from_label(label: &str) -> Option<Self> {
        let lower = label.trim().to_ascii_lowercase();
        let enc = match lower.as_str() {
            "utf8" | "utf-8" => TextEncoding::Utf8,
            "gbk" | "cp936" => TextEncoding::Gbk,
            "gb18030" => TextEncoding::Gb18030,
            "big5" => TextEncoding::Big5,
            "shift_jis" | "sjis" => TextEncoding::ShiftJis,
            "euc-kr" => TextEncoding::EucKr,
            "windows-1252" | "latin1" => TextEncoding::Windows1252,
            "utf-16le" => TextEncoding::Utf16Le,
            _ => return None,
        };
        Some(enc)
    }

    fn encoding_rs(self) -> &'static encoding_rs::Encoding {
        match self {
            TextEncoding::Utf8 => encoding_rs::UTF_8,
            TextEncoding::Gbk => encoding_rs::GBK,
            TextEncoding::Gb18030 => encoding_rs::GB18030,
            TextEncoding::Big5 => encoding_rs::BIG5,
            TextEncoding::ShiftJis => encoding_rs::SHIFT_JIS,
            TextEncoding::EucKr => encoding_rs::EUC_KR,
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252,
            TextEncoding::Utf16Le => encoding_rs::UTF_16LE,
        }
    }

    /// Encodes `text`, failing on the first character the encoding cannot
    /// represent.
    ///
    /// encoding_rs would normally substitute an HTML numeric character
    /// reference (`&#128512;`), which would put bytes on the wire the user
    /// never typed, so unmappable characters are reported instead.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, EncodeError> {
        match self {
            TextEncoding::Utf8 => Ok(text.as_bytes().to_vec()),
            // encoding_rs follows the WHATWG spec, whose UTF-16 encoders
            // output UTF-8, so this one has to be done by hand.
            TextEncoding::Utf16Le => Ok(text.encode_utf16().flat_map(u16::to_le_bytes).collect()),
            _ => self.encode_with_encoding_rs(text),
        }
    }

    fn encode_with_encoding_rs(self, text: &str) -> Result<Vec<u8>, EncodeError> {
        let mut encoder = self.encoding_rs().new_encoder();
        let mut out = Vec::new();
        let mut consumed = 0;
        loop {
            let rest = text.get(consumed..).unwrap_or_default();
            let needed = encoder
                .max_buffer_length_from_utf8_without_replacement(rest.len())
                .unwrap_or(rest.len());
            out.reserve(needed.max(16));
            let (result, read) =
                encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut out, true);
            consumed += read;
            match result {
                EncoderResult::InputEmpty => return Ok(out),
                EncoderResult::OutputFull => {}
                EncoderResult::Unmappable(ch) => {
                    // `consumed` already includes the unmappable character.
                    let byte_index = consumed.saturating_sub(ch.len_utf8());
                    let char_index = text
                        .get(..byte_index)
                        .map_or(0, |prefix| prefix.chars().count());
                    return Err(EncodeError::Unmappable {
                        ch,
                        char_index,
                        encoding: self,
                    });
                }
            }
        }
    }

    /// Decodes `bytes` into text and invalid spans; see [`decode_segments`].
    pub fn decode_segments(self, bytes: &[u8]) -> Vec<Segment> {
        let mut decoder = StreamDecoder::new(self);
        let mut segments = decoder.push(bytes);
        segments.extend(decoder.finish());
        merge_adjacent(segments)
    }

    /// Decodes `bytes` for display, showing each invalid byte as `\xNN`.
    ///
    /// The result is ambiguous if the text itself contains `\x`; it is meant
    /// for people to read, not for round-tripping.
    pub fn decode_display(self, bytes: &[u8]) -> String {
        render_segments(&self.decode_segments(bytes))
    }
}

impl fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why text could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// `ch`, the `char_index`-th character (counting chars, from 0), has no
    /// representation in `encoding`.
    #[error(
        "character {ch:?} (U+{code:04X}) at position {char_index} cannot be encoded in {encoding}",
        code = u32::from(*ch)
    )]
    Unmappable {
        ch: char,
        char_index: usize,
        encoding: TextEncoding,
    },
}

impl EncodeError {
    /// Position (in characters) of the character that could not be encoded.
    pub fn char_index(&self) -> usize {
        match self {
            Self::Unmappable { char_index, .. } => *char_index,
        }
    }
}

/// A piece of decoded input: either valid text or bytes that are not valid in
/// the chosen encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Invalid(Vec<u8>),
}

/// Decodes `bytes` as `encoding` without replacement characters.
///
/// Every input byte lands in exactly one segment, adjacent segments of the same
/// kind are merged, and a byte order mark is kept as text (U+FEFF) rather than
/// silently dropped, because the user may be debugging exactly that.
pub fn decode_segments(encoding: TextEncoding, bytes: &[u8]) -> Vec<Segment> {
    encoding.decode_segments(bytes)
}

/// Renders segments as text, invalid bytes as uppercase `\xNN`.
fn render_segments(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Text(text) => out.push_str(text),
            Segment::Invalid(bytes) => {
                for byte in bytes {
                    out.push_str(&format!("\\x{byte:02X}"));
                }
            }
        }
    }
    out
}

fn merge_adjacent(segments: Vec<Segment>) -> Vec<Segment> {
    let mut merged: Vec<Segment> = Vec::with_capacity(segments.len());
    for segment in segments {
        match (merged.last_mut(), segment) {
            (_, Segment::Text(text)) if text.is_empty() => {}
            (_, Segment::Invalid(bytes)) if bytes.is_empty() => {}
            (Some(Segment::Text(prev)), Segment::Text(text)) => prev.push_str(&text),
            (Some(Segment::Invalid(prev)), Segment::Invalid(bytes)) => prev.extend(bytes),
            (_, segment) => merged.push(segment),
        }
    }
    merged
}

/// Longest malformed sequence plus bytes consumed after it that encoding_rs
/// can report (documented worst case is 6); the bytes of a malformed sequence
/// may come from earlier chunks, so this many are remembered.
const HISTORY_LEN: usize = 8;

/// Incremental decoder for a byte stream that arrives in arbitrary chunks,
/// such as TCP reads, where a multi-byte character may be split between
/// chunks.
pub struct StreamDecoder {
    encoding: TextEncoding,
    decoder: encoding_rs::Decoder,
    /// Total bytes handed to the decoder so far, to place malformed spans.
    consumed: usize,
    /// The last bytes handed to the decoder, at most [`HISTORY_LEN`].
    history: Vec<u8>,
}

impl fmt::Debug for StreamDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamDecoder")
            .field("encoding", &self.encoding)
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}

impl StreamDecoder {
    pub fn new(encoding: TextEncoding) -> Self {
        Self {
            encoding,
            // BOM handling would swallow (or switch encoding on) leading
            // bytes without the user seeing them.
            decoder: encoding.encoding_rs().new_decoder_without_bom_handling(),
            consumed: 0,
            history: Vec::with_capacity(HISTORY_LEN * 2),
        }
    }

    /// The encoding this decoder was created for.
    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// Decodes the next chunk. An incomplete sequence at the end of `chunk` is
    /// held back until the next call (or reported by [`Self::finish`]).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Segment> {
        self.run(chunk, false)
    }

    /// Ends the stream: anything still held back is returned as invalid. The
    /// decoder is then ready for a new stream.
    pub fn finish(&mut self) -> Vec<Segment> {
        let segments = self.run(&[], true);
        self.decoder = self
            .encoding
            .encoding_rs()
            .new_decoder_without_bom_handling();
        self.consumed = 0;
        self.history.clear();
        segments
    }

    fn run(&mut self, chunk: &[u8], last: bool) -> Vec<Segment> {
        let mut segments = Vec::new();
        let mut text = String::new();
        let mut offset = 0;
        loop {
            let rest = chunk.get(offset..).unwrap_or_default();
            let needed = self
                .decoder
                .max_utf8_buffer_length_without_replacement(rest.len())
                .unwrap_or(rest.len());
            text.reserve(needed.max(16));
            let (result, read) = self
                .decoder
                .decode_to_string_without_replacement(rest, &mut text, last);
            offset += read;
            match result {
                DecoderResult::InputEmpty => break,
                DecoderResult::OutputFull => {
                    // Should not happen given the reservation above, but make
                    // sure the next round has more room rather than spinning.
                    text.reserve(text.capacity().max(64));
                }
                DecoderResult::Malformed(bad, extra) => {
                    if !text.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut text)));
                    }
                    // The `extra` bytes after the malformed sequence were
                    // consumed into decoder state and are emitted later, so
                    // the malformed span ends before them.
                    let end = (self.consumed + offset).saturating_sub(usize::from(extra));
                    let start = end.saturating_sub(usize::from(bad));
                    segments.push(Segment::Invalid(self.bytes_at(chunk, start..end)));
                }
            }
        }
        if !text.is_empty() {
            segments.push(Segment::Text(text));
        }
        self.remember(chunk);
        merge_adjacent(segments)
    }

    /// Bytes at absolute stream positions `range`, which lie in `chunk` or in
    /// the history preceding it.
    fn bytes_at(&self, chunk: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
        let chunk_start = self.consumed;
        let history_start = chunk_start.saturating_sub(self.history.len());
        range
            .filter_map(|pos| {
                if pos >= chunk_start {
                    chunk.get(pos - chunk_start).copied()
                } else {
                    self.history.get(pos.checked_sub(history_start)?).copied()
                }
            })
            .collect()
    }

    fn remember(&mut self, chunk: &[u8]) {
        self.consumed += chunk.len();
        let tail = &chunk[chunk.len().saturating_sub(HISTORY_LEN)..];
        self.history.extend_from_slice(tail);
        let excess = self.history.len().saturating_sub(HISTORY_LEN);
        self.history.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NIHAO_SHIJIE_GBK: [u8; 10] = [0xC4, 0xE3, 0xBA, 0xC3, 0xA3, 0xAC, 0xCA, 0xC0, 0xBD, 0xE7];

    fn text(s: &str) -> Segment {
        Segment::Text(s.to_owned())
    }

    fn invalid(bytes: &[u8]) -> Segment {
        Segment::Invalid(bytes.to_vec())
    }

    /// Re-encodes text segments and splices in invalid bytes; must give back
    /// the original input for every byte to be accounted for.
    fn reassemble(enc: TextEncoding, segments: &[Segment]) -> Vec<u8> {
        let mut out = Vec::new();
        for segment in segments {
            match segment {
                Segment::Text(t) => out.extend(reencode(enc, t)),
                Segment::Invalid(b) => out.extend(b),
            }
        }
        out
    }

    /// The GBK decoder is the GB18030 decoder, so it accepts four-byte
    /// sequences the GBK encoder cannot produce; and the GB18030 encoder
    /// writes € as A2 E3 where both decoders also accept 0x80. Re-encoding
    /// char by char, GBK first, undoes both for inputs without A2 E3.
    fn reencode(enc: TextEncoding, text: &str) -> Vec<u8> {
        match enc {
            TextEncoding::Gbk | TextEncoding::Gb18030 => text
                .chars()
                .flat_map(|c| {
                    let s = c.to_string();
                    TextEncoding::Gbk
                        .encode(&s)
                        .or_else(|_| TextEncoding::Gb18030.encode(&s))
                        .unwrap()
                })
                .collect(),
            _ => enc.encode(text).unwrap(),
        }
    }

    fn assert_merged(segments: &[Segment]) {
        for pair in segments.windows(2) {
            let same = matches!(
                pair,
                [Segment::Text(_), Segment::Text(_)] | [Segment::Invalid(_), Segment::Invalid(_)]
            );
            assert!(!same, "unmerged segments: {segments:?}");
        }
    }

    #[test]
    fn labels_round_trip() {
        for enc in TextEncoding::ALL {
            assert_eq!(TextEncoding::from_label(enc.label()), Some(enc), "{enc:?}");
            assert_eq!(enc.to_string(), enc.label());
        }
        let aliases = [
            ("utf8", TextEncoding::Utf8),
            ("UTF-8", TextEncoding::Utf8),
            ("gbk", TextEncoding::Gbk),
            ("CP936", TextEncoding::Gbk),
            ("gb18030", TextEncoding::Gb18030),
            ("BIG5", TextEncoding::Big5),
            ("shift_jis", TextEncoding::ShiftJis),
            ("SJIS", TextEncoding::ShiftJis),
            ("euc-kr", TextEncoding::EucKr),
            ("windows-1252", TextEncoding::Windows1252),
            ("Latin1", TextEncoding::Windows1252),
            ("utf-16le", TextEncoding::Utf16Le),
        ];
        for (label, enc) in aliases {
            assert_eq!(TextEncoding::from_label(label), Some(enc), "{label}");
        }
        assert_eq!(TextEncoding::from_label("ebcdic"), None);
        assert_eq!(TextEncoding::from_label(""), None);
        assert_eq!(TextEncoding::default(), TextEncoding::Utf8);
    }

    #[test]
    fn encode_known_bytes() {
        let cases: &[(TextEncoding, &str, &[u8])] = &[
            (TextEncoding::Gbk, "你好，世界", &NIHAO_SHIJIE_GBK),
            (TextEncoding::Gb18030, "你好，世界", &NIHAO_SHIJIE_GBK),
            (
                TextEncoding::Utf8,
                "你好",
                &[0xE4, 0xBD, 0xA0, 0xE5, 0xA5, 0xBD],
            ),
            (TextEncoding::Utf16Le, "A你", &[0x41, 0x00, 0x60, 0x4F]),
            (TextEncoding::Utf16Le, "😀", &[0x3D, 0xD8, 0x00, 0xDE]),
            (TextEncoding::Gb18030, "😀", &[0x94, 0x39, 0xFC, 0x36]),
            (TextEncoding::Big5, "你", &[0xA7, 0x41]),
            (TextEncoding::ShiftJis, "あ", &[0x82, 0xA0]),
            (TextEncoding::EucKr, "가", &[0xB0, 0xA1]),
            (TextEncoding::Windows1252, "é€", &[0xE9, 0x80]),
            (TextEncoding::Gbk, "", &[]),
            (TextEncoding::Utf16Le, "", &[]),
        ];
        for &(enc, input, expected) in cases {
            assert_eq!(enc.encode(input).unwrap(), expected, "{enc:?} {input:?}");
        }
    }

    #[test]
    fn round_trips() {
        let cases = [
            (TextEncoding::Gbk, "你好，世界 hello\r\n"),
            (TextEncoding::Utf8, "你好，世界 hello 😀"),
            (TextEncoding::Gb18030, "你好，世界 😀"),
            (TextEncoding::Utf16Le, "你好 😀"),
            (TextEncoding::Big5, "你好"),
            (TextEncoding::ShiftJis, "こんにちは"),
            (TextEncoding::EucKr, "안녕하세요"),
            (TextEncoding::Windows1252, "café"),
        ];
        for (enc, input) in cases {
            let bytes = enc.encode(input).unwrap();
            assert_eq!(enc.decode_segments(&bytes), vec![text(input)], "{enc:?}");
            assert_eq!(enc.decode_display(&bytes), input);
        }
    }

    #[test]
    fn unmappable_reports_first_char() {
        let cases = [
            (TextEncoding::Gbk, "ab😀c😀", '😀', 2),
            (TextEncoding::Gbk, "你好😀", '😀', 2),
            (TextEncoding::Big5, "😀", '😀', 0),
            (TextEncoding::Windows1252, "日本", '日', 0),
            (TextEncoding::EucKr, "가나😀", '😀', 2),
            (TextEncoding::ShiftJis, "あ가", '가', 1),
        ];
        for (enc, input, ch, char_index) in cases {
            let expected = EncodeError::Unmappable {
                ch,
                char_index,
                encoding: enc,
            };
            assert_eq!(enc.encode(input), Err(expected), "{enc:?} {input:?}");
        }
        let err = TextEncoding::Gbk.encode("你好😀").unwrap_err();
        assert_eq!(
            err.to_string(),
            "character '😀' (U+1F600) at position 2 cannot be encoded in GBK"
        );
    }

    #[test]
    fn invalid_bytes_become_segments() {
        let cases: &[(TextEncoding, &[u8], Vec<Segment>)] = &[
            (
                TextEncoding::Utf8,
                b"a\xFFb",
                vec![text("a"), invalid(&[0xFF]), text("b")],
            ),
            (
                TextEncoding::Utf8,
                b"\xFF\xFE",
                vec![invalid(&[0xFF, 0xFE])],
            ),
            (
                TextEncoding::Utf8,
                b"\xE4\xBD",
                vec![invalid(&[0xE4, 0xBD])],
            ),
            (
                TextEncoding::Utf8,
                b"\xE4\xBDA",
                vec![invalid(&[0xE4, 0xBD]), text("A")],
            ),
            (
                TextEncoding::Utf8,
                b"\x80A",
                vec![invalid(&[0x80]), text("A")],
            ),
            (
                TextEncoding::Gbk,
                b"\xC4\xE3\x81",
                vec![text("你"), invalid(&[0x81])],
            ),
            (
                TextEncoding::Gbk,
                b"\x81 \xC4\xE3",
                vec![invalid(&[0x81]), text(" 你")],
            ),
            (
                TextEncoding::Gbk,
                b"\xFFA",
                vec![invalid(&[0xFF]), text("A")],
            ),
            (
                TextEncoding::Gb18030,
                b"\x81\x30\x81\x20",
                vec![invalid(&[0x81]), text("0"), invalid(&[0x81]), text(" ")],
            ),
            (TextEncoding::ShiftJis, b"\x80A", vec![text("\u{80}A")]),
            (
                TextEncoding::Big5,
                b"\x80A",
                vec![invalid(&[0x80]), text("A")],
            ),
            (
                TextEncoding::EucKr,
                b"\x80A",
                vec![invalid(&[0x80]), text("A")],
            ),
            (
                TextEncoding::Utf16Le,
                b"A\x00\x00\xDC\x42",
                vec![text("A"), invalid(&[0x00, 0xDC, 0x42])],
            ),
            (
                TextEncoding::Utf16Le,
                b"\x3D\xD8\x3D\xD8\x00\xDE",
                vec![invalid(&[0x3D, 0xD8]), text("😀")],
            ),
            // A BOM is data here, not metadata.
            (
                TextEncoding::Utf8,
                b"\xEF\xBB\xBFA",
                vec![text("\u{FEFF}A")],
            ),
            (
                TextEncoding::Utf16Le,
                b"\xFF\xFEA\x00",
                vec![text("\u{FEFF}A")],
            ),
            (TextEncoding::Utf8, b"", vec![]),
        ];
        for (enc, input, expected) in cases {
            let segments = enc.decode_segments(input);
            assert_eq!(&segments, expected, "{enc:?} {input:02X?}");
            assert_merged(&segments);
        }
    }

    #[test]
    fn all_bytes_accounted_for() {
        let inputs: &[&[u8]] = &[
            b"a\xFFb\x80\x81\xE4\xBD\xA0\xC4\xE3\xF0\x9F\x98",
            &NIHAO_SHIJIE_GBK,
            b"\x00\x7F\x80\xA0\xFE\xFF\x81\x30\x81\x30\x81\x30",
            b"\xD8\x3D\xDE\x00\x3D\xD8",
        ];
        // Encodings whose decoders map each valid sequence to text that
        // encodes back to the same bytes for these inputs.
        let encodings = [
            TextEncoding::Utf8,
            TextEncoding::Gbk,
            TextEncoding::Gb18030,
            TextEncoding::Utf16Le,
        ];
        for enc in encodings {
            for input in inputs {
                let segments = enc.decode_segments(input);
                assert_eq!(reassemble(enc, &segments), *input, "{enc:?} {segments:?}");
                assert_merged(&segments);
            }
        }
        // Every byte value followed by a selection of second bytes, for
        // every encoding. Big5 and Shift_JIS decode some byte pairs to
        // characters whose canonical encoding differs, so for them only the
        // placement of invalid spans is compared with encoding_rs's own
        // replacing decoder.
        for enc in TextEncoding::ALL {
            for a in 0..=255u8 {
                for b in [0x00, 0x30, 0x41, 0x7F, 0x80, 0xA1, 0xFE, 0xFF] {
                    let input = [a, b];
                    let segments = enc.decode_segments(&input);
                    assert_merged(&segments);
                    if !matches!(enc, TextEncoding::Big5 | TextEncoding::ShiftJis) {
                        assert_eq!(reassemble(enc, &segments), input, "{enc:?} {segments:?}");
                    }
                    let (replaced, _) = enc.encoding_rs().decode_without_bom_handling(&input);
                    assert_eq!(
                        collapse_replacements(&replaced),
                        collapse_replacements(&render_replaced(&segments)),
                        "{enc:?} {input:02X?}"
                    );
                }
            }
        }
    }

    fn render_replaced(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.as_str(),
                Segment::Invalid(_) => "\u{FFFD}",
            })
            .collect()
    }

    /// Invalid spans are merged, but encoding_rs writes one U+FFFD per
    /// malformed sequence.
    fn collapse_replacements(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            if !(c == '\u{FFFD}' && out.ends_with('\u{FFFD}')) {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn decode_display_escapes_invalid_bytes() {
        let cases: &[(TextEncoding, &[u8], &str)] = &[
            (TextEncoding::Utf8, b"a\xFFb", "a\\xFFb"),
            (TextEncoding::Utf8, b"\x0a\xab", "\n\\xAB"),
            (TextEncoding::Gbk, b"\xC4\xE3\x81", "你\\x81"),
            (TextEncoding::Utf8, b"", ""),
        ];
        for &(enc, input, expected) in cases {
            assert_eq!(enc.decode_display(input), expected);
        }
    }

    fn concat_text(segments: &[Segment]) -> String {
        render_segments(segments)
    }

    #[test]
    fn stream_decoder_handles_every_split() {
        let cases = [
            (TextEncoding::Gbk, "你好"),
            (TextEncoding::Utf8, "你好"),
            (TextEncoding::Gb18030, "a😀你"),
            (TextEncoding::Utf16Le, "a😀你"),
            (TextEncoding::Big5, "你好"),
        ];
        for (enc, input) in cases {
            let bytes = enc.encode(input).unwrap();
            for split in 0..=bytes.len() {
                let mut decoder = StreamDecoder::new(enc);
                let mut segments = decoder.push(&bytes[..split]);
                segments.extend(decoder.push(&bytes[split..]));
                segments.extend(decoder.finish());
                let segments = merge_adjacent(segments);
                assert_eq!(segments, vec![text(input)], "{enc:?} split at {split}");
            }
            // One byte at a time.
            let mut decoder = StreamDecoder::new(enc);
            let mut segments = Vec::new();
            for byte in &bytes {
                segments.extend(decoder.push(std::slice::from_ref(byte)));
            }
            segments.extend(decoder.finish());
            assert_eq!(concat_text(&segments), input, "{enc:?} bytewise");
        }
    }

    #[test]
    fn stream_decoder_matches_whole_decode_with_invalid_bytes() {
        let inputs: &[(TextEncoding, &[u8])] = &[
            (TextEncoding::Utf8, b"a\xE4\xBDA\xFF\xE4\xBD\xA0\xF0\x9F"),
            (TextEncoding::Gbk, b"\xC4\xE3\x81A\x81\xFF\xC4"),
            (
                TextEncoding::Gb18030,
                b"\x81\x30\x81\x20\x81\x30\x81\x30\x94",
            ),
            (TextEncoding::Utf16Le, b"A\x00\x3D\xD8\x3D\xD8\x00\xDE\x00"),
        ];
        for &(enc, input) in inputs {
            let whole = enc.decode_segments(input);
            for split in 0..=input.len() {
                let mut decoder = StreamDecoder::new(enc);
                let mut segments = decoder.push(&input[..split]);
                segments.extend(decoder.push(&input[split..]));
                segments.extend(decoder.finish());
                assert_eq!(merge_adjacent(segments), whole, "{enc:?} split at {split}");
            }
        }
    }

    #[test]
    fn stream_decoder_holds_back_and_flushes() {
        let mut decoder = StreamDecoder::new(TextEncoding::Utf8);
        assert_eq!(decoder.push(b"ab\xE4\xBD"), vec![text("ab")]);
        assert_eq!(decoder.finish(), vec![invalid(&[0xE4, 0xBD])]);
        // After finish the decoder starts a fresh stream.
        assert_eq!(decoder.push(b"\xA0"), vec![invalid(&[0xA0])]);
        assert_eq!(decoder.finish(), vec![]);
        assert_eq!(decoder.encoding(), TextEncoding::Utf8);

        let mut decoder = StreamDecoder::new(TextEncoding::Gbk);
        assert_eq!(decoder.push(b"\xC4"), vec![]);
        assert_eq!(decoder.push(b"\xE3\xBA"), vec![text("你")]);
        assert_eq!(decoder.push(b"\xC3"), vec![text("好")]);
        assert_eq!(decoder.push(b"\x81"), vec![]);
        assert_eq!(decoder.finish(), vec![invalid(&[0x81])]);
    }
}
