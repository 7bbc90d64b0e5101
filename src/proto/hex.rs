//! Hex text for people: parsing the many ways users write byte strings,
//! formatting bytes as hex, and the classic offset/hex/ASCII dump layout.

use std::fmt;

/// Where and why hex input was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at position {char_index}")]
pub struct HexError {
    pub kind: HexErrorKind,
    /// Offset, in chars from 0, of the offending character or token.
    pub char_index: usize,
    /// Length in chars of the offending character or token.
    pub len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HexErrorKind {
    /// A character that is neither a hex digit, a separator nor part of a
    /// `0x` / `\x` prefix.
    InvalidChar(char),
    /// A token of three or more digits with an odd count, which cannot be
    /// split into bytes unambiguously.
    OddDigits,
    /// A `0x` or `\x` prefix with no digits after it.
    EmptyPrefix,
}

impl fmt::Display for HexErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexErrorKind::InvalidChar(c) => write!(f, "invalid hex character {c:?}"),
            HexErrorKind::OddDigits => f.write_str("odd number of hex digits"),
            HexErrorKind::EmptyPrefix => f.write_str("hex prefix without digits"),
        }
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-')
}

/// The token being read: a maximal run of digits between separators.
#[derive(Default)]
struct Token {
    /// Char index where the token (including any prefix) starts.
    start: usize,
    /// Chars of `0x` / `\x` prefix, 0 or 2.
    prefix: usize,
    digits: usize,
    /// Value of the first digit, kept until the second one arrives.
    high: Option<u8>,
}

impl Token {
    fn new(start: usize, prefix: usize) -> Self {
        Self {
            start,
            prefix,
            ..Self::default()
        }
    }

    fn error(&self, kind: HexErrorKind) -> HexError {
        HexError {
            kind,
            char_index: self.start,
            len: self.prefix + self.digits,
        }
    }

    /// Completes the token; bytes for digit pairs have already been pushed.
    fn finish(self, out: &mut Vec<u8>) -> Result<(), HexError> {
        match (self.digits, self.high) {
            (0, _) if self.prefix > 0 => Err(self.error(HexErrorKind::EmptyPrefix)),
            // A lone digit is a byte on its own: `1 2 a` is 01 02 0A.
            (1, Some(nibble)) => {
                out.push(nibble);
                Ok(())
            }
            (_, Some(_)) => Err(self.error(HexErrorKind::OddDigits)),
            (_, None) => Ok(()),
        }
    }
}

/// Parses hex bytes written the ways people paste them: `48 65 6c`,
/// `48656c`, `0x48,0x65`, `\x48\x65`, with any of whitespace `,` `;` `:` `-`
/// as separators.
///
/// A token of even length is split into byte pairs, a single digit is one
/// byte, and an odd token of three or more digits is rejected rather than
/// guessed at.
pub fn parse_hex(input: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::with_capacity(input.len() / 2);
    let mut token: Option<Token> = None;
    // Char index of a `\` whose `x` has not been seen yet.
    let mut backslash: Option<usize> = None;

    for (index, c) in input.chars().enumerate() {
        if let Some(start) = backslash.take() {
            if matches!(c, 'x' | 'X') {
                token = Some(Token::new(start, 2));
                continue;
            }
            return Err(invalid_char('\\', start));
        }
        if is_separator(c) {
            if let Some(done) = token.take() {
                done.finish(&mut out)?;
            }
            continue;
        }
        if c == '\\' {
            // `\x48\x65` has no separators: the backslash itself ends the
            // previous token.
            if let Some(done) = token.take() {
                done.finish(&mut out)?;
            }
            backslash = Some(index);
            continue;
        }
        let tok = token.get_or_insert_with(|| Token::new(index, 0));
        if let Some(nibble) = hex_value(c) {
            tok.digits += 1;
            match tok.high.take() {
                Some(high) => out.push(high << 4 | nibble),
                None => tok.high = Some(nibble),
            }
        } else if matches!(c, 'x' | 'X')
            && tok.prefix == 0
            && tok.digits == 1
            && tok.high == Some(0)
        {
            // The `0` just read was the start of a `0x` prefix.
            tok.prefix = 2;
            tok.digits = 0;
            tok.high = None;
        } else {
            return Err(invalid_char(c, index));
        }
    }
    if let Some(start) = backslash {
        return Err(invalid_char('\\', start));
    }
    if let Some(done) = token {
        done.finish(&mut out)?;
    }
    Ok(out)
}

fn hex_value(c: char) -> Option<u8> {
    match u8::try_from(c).ok()? {
        b @ b'0'..=b'9' => Some(b - b'0'),
        b @ b'a'..=b'f' => Some(b - b'a' + 10),
        b @ b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn invalid_char(c: char, char_index: usize) -> HexError {
    HexError {
        kind: HexErrorKind::InvalidChar(c),
        char_index,
        len: 1,
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex_byte(out: &mut String, byte: u8) {
    out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
    out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0F)]));
}

/// Formats bytes as uppercase pairs separated by single spaces: `48 65 6C`.
pub fn format_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, &byte) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_hex_byte(&mut out, byte);
    }
    out
}

/// Bytes shown per dump line.
pub const HEX_DUMP_BYTES_PER_LINE: usize = 16;

/// Width in chars of [`HexDumpLine::hex`]: 16 pairs, 15 single spaces and
/// the extra space between the two groups of eight.
pub const HEX_DUMP_HEX_WIDTH: usize = HEX_DUMP_BYTES_PER_LINE * 3;

/// One row of a hex dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexDumpLine {
    /// Offset of the first byte of the row.
    pub offset: usize,
    /// Hex column, always [`HEX_DUMP_HEX_WIDTH`] chars so that the ASCII
    /// column lines up on a short last row.
    pub hex: String,
    /// Printable ASCII as is, everything else as `.`.
    pub ascii: String,
}

fn dump_line(chunk: &[u8], offset: usize) -> HexDumpLine {
    let mut hex = String::with_capacity(HEX_DUMP_HEX_WIDTH);
    for i in 0..HEX_DUMP_BYTES_PER_LINE {
        if i > 0 {
            hex.push(' ');
        }
        if i == HEX_DUMP_BYTES_PER_LINE / 2 {
            hex.push(' ');
        }
        match chunk.get(i) {
            Some(&byte) => push_hex_byte(&mut hex, byte),
            None => hex.push_str("  "),
        }
    }
    let ascii = chunk
        .iter()
        .map(|&b| {
            if (0x20..=0x7E).contains(&b) {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect();
    HexDumpLine { offset, hex, ascii }
}

/// A full dump of `bytes`, 16 per line, offsets counted from `start_offset`.
pub fn hex_dump_lines(bytes: &[u8], start_offset: usize) -> Vec<HexDumpLine> {
    bytes
        .chunks(HEX_DUMP_BYTES_PER_LINE)
        .enumerate()
        .map(|(line, chunk)| dump_line(chunk, start_offset + line * HEX_DUMP_BYTES_PER_LINE))
        .collect()
}

/// Just row `line` of [`hex_dump_lines`]`(bytes, 0)`, so a view can build only
/// the rows it shows; `None` past the end.
pub fn hex_dump_line(bytes: &[u8], line: usize) -> Option<HexDumpLine> {
    let start = line.checked_mul(HEX_DUMP_BYTES_PER_LINE)?;
    if start >= bytes.len() {
        return None;
    }
    let end = bytes.len().min(start + HEX_DUMP_BYTES_PER_LINE);
    Some(dump_line(bytes.get(start..end)?, start))
}

/// Number of rows [`hex_dump_lines`] produces for `len` bytes (0 for 0).
pub fn hex_dump_line_count(len: usize) -> usize {
    len.div_ceil(HEX_DUMP_BYTES_PER_LINE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_accepted_forms() {
        let hello: &[u8] = &[0x48, 0x65, 0x6C];
        let cases: &[(&str, &[u8])] = &[
            ("", &[]),
            ("   \n\t ", &[]),
            ("48 65 6c", hello),
            ("48656c", hello),
            ("48656C", hello),
            ("0x48,0x65,0x6c", hello),
            ("0X48 0x65 0x6C", hello),
            ("0x48656c", hello),
            ("\\x48\\x65\\x6c", hello),
            ("\\X48\\x65\\x6C", hello),
            ("\\x48 \\x65,\\x6c", hello),
            ("48\\x65\\x6c", hello),
            ("48:65:6c", hello),
            ("48-65-6c", hello),
            ("48;65;6c", hello),
            ("48,\n65,\t6c\r\n", hello),
            ("  48   65\u{3000}6c  ", hello),
            ("1 2 a", &[0x01, 0x02, 0x0A]),
            ("0", &[0x00]),
            ("0x0", &[0x00]),
            ("\\xf", &[0x0F]),
            ("00 ff FF fF", &[0x00, 0xFF, 0xFF, 0xFF]),
            ("de:ad:be:ef", &[0xDE, 0xAD, 0xBE, 0xEF]),
            (",,48,,", &[0x48]),
        ];
        for &(input, expected) in cases {
            assert_eq!(parse_hex(input), Ok(expected.to_vec()), "{input:?}");
        }
    }

    fn err(kind: HexErrorKind, char_index: usize, len: usize) -> HexError {
        HexError {
            kind,
            char_index,
            len,
        }
    }

    #[test]
    fn rejects_hostile_input() {
        use HexErrorKind::{EmptyPrefix, InvalidChar, OddDigits};
        let cases = [
            ("zz", err(InvalidChar('z'), 0, 1)),
            ("123", err(OddDigits, 0, 3)),
            ("48 123 65", err(OddDigits, 3, 3)),
            ("0x123", err(OddDigits, 0, 5)),
            ("\\x123", err(OddDigits, 0, 5)),
            ("0x", err(EmptyPrefix, 0, 2)),
            ("48 0x", err(EmptyPrefix, 3, 2)),
            ("0x,48", err(EmptyPrefix, 0, 2)),
            ("\\x", err(EmptyPrefix, 0, 2)),
            ("\\x\\x48", err(EmptyPrefix, 0, 2)),
            ("4 8 g", err(InvalidChar('g'), 4, 1)),
            ("12g4", err(InvalidChar('g'), 2, 1)),
            ("４８", err(InvalidChar('４'), 0, 1)),
            ("你好 ４８", err(InvalidChar('你'), 0, 1)),
            ("48 ４８", err(InvalidChar('４'), 3, 1)),
            ("é4", err(InvalidChar('é'), 0, 1)),
            ("480x65", err(InvalidChar('x'), 3, 1)),
            ("00x1", err(InvalidChar('x'), 2, 1)),
            ("1x", err(InvalidChar('x'), 1, 1)),
            ("x48", err(InvalidChar('x'), 0, 1)),
            ("0xx4", err(InvalidChar('x'), 2, 1)),
            ("\\48", err(InvalidChar('\\'), 0, 1)),
            ("48\\", err(InvalidChar('\\'), 2, 1)),
            ("#48", err(InvalidChar('#'), 0, 1)),
            ("48\u{0}", err(InvalidChar('\u{0}'), 2, 1)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_hex(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn error_messages() {
        let cases = [
            ("4 8 g", "invalid hex character 'g' at position 4"),
            ("123", "odd number of hex digits at position 0"),
            ("ab 0x", "hex prefix without digits at position 3"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_hex(input).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn large_input_is_fast_and_correct() {
        let input = "ab ".repeat(350_000);
        assert!(input.len() >= 1_000_000);
        let started = std::time::Instant::now();
        let bytes = parse_hex(&input).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(bytes.len(), 350_000);
        assert!(bytes.iter().all(|&b| b == 0xAB));

        let mut bad = input.clone();
        bad.push_str("ag");
        assert_eq!(
            parse_hex(&bad),
            Err(err(HexErrorKind::InvalidChar('g'), 1_050_001, 1))
        );

        let unseparated = "0123456789abcdef".repeat(70_000);
        assert_eq!(parse_hex(&unseparated).unwrap().len(), 560_000);
    }

    #[test]
    fn format_and_parse_round_trip() {
        let cases: &[(&[u8], &str)] = &[
            (&[], ""),
            (&[0x00], "00"),
            (&[0x48, 0x65, 0x6C], "48 65 6C"),
            (&[0xDE, 0xAD, 0xBE, 0xEF, 0x0A], "DE AD BE EF 0A"),
        ];
        for &(bytes, text) in cases {
            assert_eq!(format_hex(bytes), text);
            assert_eq!(parse_hex(text).unwrap(), bytes);
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(parse_hex(&format_hex(&all)).unwrap(), all);
    }

    #[test]
    fn dump_layout() {
        let bytes: Vec<u8> = (0x41..0x41 + 21).collect();
        let lines = hex_dump_lines(&bytes, 0x100);
        assert_eq!(
            lines,
            vec![
                HexDumpLine {
                    offset: 0x100,
                    hex: "41 42 43 44 45 46 47 48  49 4A 4B 4C 4D 4E 4F 50".to_owned(),
                    ascii: "ABCDEFGHIJKLMNOP".to_owned(),
                },
                HexDumpLine {
                    offset: 0x110,
                    hex: format!("{:<48}", "51 52 53 54 55"),
                    ascii: "QRSTU".to_owned(),
                },
            ]
        );
        for line in &lines {
            assert_eq!(line.hex.chars().count(), HEX_DUMP_HEX_WIDTH);
        }
    }

    #[test]
    fn dump_ascii_column() {
        let cases: &[(&[u8], &str)] = &[
            (b"\x00\x1F \x7E\x7F\x80\xFF", ".. ~..."),
            (b"Hi!\r\n", "Hi!.."),
        ];
        for &(bytes, ascii) in cases {
            assert_eq!(hex_dump_lines(bytes, 0)[0].ascii, ascii);
        }
    }

    #[test]
    fn dump_edge_sizes() {
        for len in [0usize, 1, 8, 9, 15, 16, 17, 32, 33, 100] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let lines = hex_dump_lines(&bytes, 0);
            assert_eq!(lines.len(), hex_dump_line_count(len), "len {len}");
            for (index, line) in lines.iter().enumerate() {
                assert_eq!(line.hex.len(), HEX_DUMP_HEX_WIDTH, "len {len}");
                assert_eq!(line.offset, index * 16);
                assert_eq!(hex_dump_line(&bytes, index).as_ref(), Some(line));
            }
            assert_eq!(hex_dump_line(&bytes, lines.len()), None);
        }
        assert_eq!(hex_dump_line_count(0), 0);
        assert_eq!(hex_dump_line_count(16), 1);
        assert_eq!(hex_dump_line_count(17), 2);
        assert_eq!(hex_dump_line(b"abc", usize::MAX), None);
        let eight = hex_dump_lines(&[0xAA; 9], 0);
        assert_eq!(&eight[0].hex[..27], "AA AA AA AA AA AA AA AA  AA");
    }
}
