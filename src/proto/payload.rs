//! Turning what the user typed in the send box into the exact bytes to send:
//! text or hex input, the chosen encoding and the chosen line ending.

use super::encoding::{EncodeError, TextEncoding};
use super::hex::{HexError, parse_hex};

/// How the send box is interpreted.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum PayloadMode {
    #[default]
    Text,
    Hex,
}

/// Line ending used between lines of a text payload and appended after it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum LineEnding {
    #[default]
    None,
    Lf,
    CrLf,
    Cr,
}

impl LineEnding {
    /// Every line ending, in the order a picker should list them.
    pub const ALL: [LineEnding; 4] = [
        LineEnding::None,
        LineEnding::Lf,
        LineEnding::CrLf,
        LineEnding::Cr,
    ];

    /// The line ending as ASCII bytes (empty for `None`).
    pub fn bytes(self) -> &'static [u8] {
        self.as_str().as_bytes()
    }

    fn as_str(self) -> &'static str {
        match self {
            LineEnding::None => "",
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
            LineEnding::Cr => "\r",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LineEnding::None => "none",
            LineEnding::Lf => "LF",
            LineEnding::CrLf => "CRLF",
            LineEnding::Cr => "CR",
        }
    }

    /// Parses a label case-insensitively.
    pub fn from_label(label: &str) -> Option<Self> {
        let lower = label.trim().to_ascii_lowercase();
        let eol = match lower.as_str() {
            "none" => LineEnding::None,
            "lf" => LineEnding::Lf,
            "crlf" => LineEnding::CrLf,
            "cr" => LineEnding::Cr,
            _ => return None,
        };
        Some(eol)
    }
}

/// Why the send box could not be turned into bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error(transparent)]
    Hex(#[from] HexError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Builds the bytes to send from the send box contents.
///
/// Text mode: with a line ending chosen, every line break in `input` (`\n`,
/// `\r\n` or a lone `\r`, so pasted text behaves like typed text) becomes that
/// line ending, and one more is appended, so `"a\nb"` with CRLF is
/// `"a\r\nb\r\n"` and a trailing break in the input yields an empty last line.
/// With [`LineEnding::None`] the text is sent exactly as typed. The result is
/// then encoded, line endings included (so UTF-16LE gets `0D 00 0A 00`); an
/// unmappable character is reported at its char index in `input`.
///
/// Hex mode: the bytes are parsed with [`parse_hex`] and the line ending's
/// ASCII bytes are appended as they are, not encoded, since hex input is
/// already raw bytes. The default line ending (`None`) appends nothing, so a
/// hex payload is sent byte for byte unless the user asked otherwise.
pub fn build_payload(
    input: &str,
    mode: PayloadMode,
    encoding: TextEncoding,
    eol: LineEnding,
) -> Result<Vec<u8>, PayloadError> {
    match mode {
        PayloadMode::Hex => {
            let mut bytes = parse_hex(input)?;
            bytes.extend_from_slice(eol.bytes());
            Ok(bytes)
        }
        PayloadMode::Text if eol == LineEnding::None => Ok(encoding.encode(input)?),
        PayloadMode::Text => Ok(encode_lines(input, encoding, eol)?),
    }
}

/// Why a templated payload could not be built: the text itself (with its place, in chars of
/// the whole input), or a variable (its span, in bytes of the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    Payload(PayloadError),
    Var(super::vars::VarError),
}

/// What a send adds to the typed payload: its variables (expanded when `vars`), and a
/// checksum appended after the line ending.
pub struct Extras<'a, 'c> {
    pub vars: bool,
    pub checksum: Option<super::checksum::ChecksumSpec>,
    pub ctx: &'a mut super::vars::Context<'c>,
}

/// [`build_payload`] with variables and a checksum. Without a variable in the text it is
/// exactly `build_payload` (then the checksum); with one, the text between variables is
/// encoded (or read as hex) piece by piece, and an error in a piece keeps its place in the
/// whole input.
pub fn build_templated(
    input: &str,
    mode: PayloadMode,
    encoding: TextEncoding,
    eol: LineEnding,
    extras: Extras<'_, '_>,
) -> Result<Vec<u8>, TemplateError> {
    use super::vars::{self, Piece};
    let pieces = if extras.vars {
        vars::parse(input)
    } else {
        Vec::new()
    };
    let mut bytes = if !pieces.iter().any(|p| matches!(p, Piece::Var { .. })) {
        // `{{` still means one brace when variables are on.
        let plain;
        let input = if extras.vars && input.contains("{{") {
            plain = pieces
                .iter()
                .map(|p| match p {
                    Piece::Text { text, .. } => text.as_str(),
                    Piece::Var { .. } => "",
                })
                .collect::<String>();
            plain.as_str()
        } else {
            input
        };
        build_payload(input, mode, encoding, eol).map_err(TemplateError::Payload)?
    } else {
        let eol_text = eol.as_str();
        let mut literal = |text: &str| -> Result<Vec<u8>, String> {
            match mode {
                PayloadMode::Hex => parse_hex(text).map_err(|e| e.to_string()),
                PayloadMode::Text if eol == LineEnding::None => {
                    encoding.encode(text).map_err(|e| e.to_string())
                }
                PayloadMode::Text => {
                    let text = text.replace("\r\n", "\n").replace('\r', "\n");
                    encoding
                        .encode(&text.replace('\n', eol_text))
                        .map_err(|e| e.to_string())
                }
            }
        };
        let mut out = vars::expand(&pieces, &mut literal, extras.ctx).map_err(|e| {
            // A piece of text that cannot be encoded (or is not hex): its own error, moved
            // to its place in the whole input.
            if let vars::VarErrorKind::Literal(_) = e.kind {
                let piece = &input[e.span.clone()];
                let shift = input[..e.span.start].chars().count();
                if let Err(mut pe) = build_payload(piece, mode, encoding, LineEnding::None) {
                    match &mut pe {
                        PayloadError::Hex(h) => h.char_index += shift,
                        PayloadError::Encode(EncodeError::Unmappable { char_index, .. }) => {
                            *char_index += shift
                        }
                    }
                    return TemplateError::Payload(pe);
                }
            }
            TemplateError::Var(e)
        })?;
        match mode {
            PayloadMode::Hex => out.extend_from_slice(eol.bytes()),
            PayloadMode::Text => out.extend(
                encoding
                    .encode(eol_text)
                    .map_err(|e| TemplateError::Payload(e.into()))?,
            ),
        }
        out
    };
    if let Some(spec) = extras.checksum {
        bytes = spec.append(&bytes);
    }
    Ok(bytes)
}

/// Encodes line by line rather than normalising first and encoding the
/// result, so that an error's char index refers to the text the user sees.
fn encode_lines(
    input: &str,
    encoding: TextEncoding,
    eol: LineEnding,
) -> Result<Vec<u8>, EncodeError> {
    let eol_bytes = encoding.encode(eol.as_str())?;
    let mut out = Vec::with_capacity(input.len() + eol_bytes.len());
    let mut line_start = 0;
    loop {
        let rest = input.get(line_start..).unwrap_or_default();
        let (line, break_len) = match rest.find(['\r', '\n']) {
            Some(pos) => {
                let break_len = if rest.get(pos..pos + 2) == Some("\r\n") {
                    2
                } else {
                    1
                };
                (rest.get(..pos).unwrap_or_default(), Some(break_len))
            }
            None => (rest, None),
        };
        match encoding.encode(line) {
            Ok(bytes) => out.extend(bytes),
            Err(EncodeError::Unmappable {
                ch,
                char_index,
                encoding,
            }) => {
                let before = input.get(..line_start).map_or(0, |s| s.chars().count());
                return Err(EncodeError::Unmappable {
                    ch,
                    char_index: before + char_index,
                    encoding,
                });
            }
        }
        out.extend_from_slice(&eol_bytes);
        match break_len {
            Some(len) => line_start += line.len() + len,
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::hex::HexErrorKind;
    use super::*;

    #[test]
    fn line_ending_labels() {
        for eol in LineEnding::ALL {
            assert_eq!(LineEnding::from_label(eol.label()), Some(eol));
            assert_eq!(
                LineEnding::from_label(&eol.label().to_lowercase()),
                Some(eol)
            );
        }
        assert_eq!(LineEnding::from_label("Crlf"), Some(LineEnding::CrLf));
        assert_eq!(LineEnding::from_label("NONE"), Some(LineEnding::None));
        assert_eq!(LineEnding::from_label("lfcr"), None);
        assert_eq!(LineEnding::default(), LineEnding::None);
        assert_eq!(PayloadMode::default(), PayloadMode::Text);
        let bytes: Vec<&[u8]> = LineEnding::ALL.iter().map(|e| e.bytes()).collect();
        assert_eq!(bytes, [&b""[..], b"\n", b"\r\n", b"\r"]);
    }

    #[test]
    fn text_payloads() {
        use LineEnding::{Cr, CrLf, Lf};
        let utf8 = TextEncoding::Utf8;
        let cases: &[(&str, TextEncoding, LineEnding, &[u8])] = &[
            ("a\nb", utf8, LineEnding::None, b"a\nb"),
            ("a\r\nb", utf8, LineEnding::None, b"a\r\nb"),
            ("", utf8, LineEnding::None, b""),
            ("a\nb", utf8, Lf, b"a\nb\n"),
            ("a\nb", utf8, CrLf, b"a\r\nb\r\n"),
            ("a\nb", utf8, Cr, b"a\rb\r"),
            ("a\r\nb\rc", utf8, Lf, b"a\nb\nc\n"),
            ("a\r\nb\rc\n", utf8, CrLf, b"a\r\nb\r\nc\r\n\r\n"),
            ("\n\n", utf8, CrLf, b"\r\n\r\n\r\n"),
            ("", utf8, CrLf, b"\r\n"),
            ("", utf8, Lf, b"\n"),
            ("hi", utf8, Cr, b"hi\r"),
            ("\r", utf8, Lf, b"\n\n"),
            (
                "你好，世界",
                TextEncoding::Gbk,
                CrLf,
                &[
                    0xC4, 0xE3, 0xBA, 0xC3, 0xA3, 0xAC, 0xCA, 0xC0, 0xBD, 0xE7, 0x0D, 0x0A,
                ],
            ),
            (
                "你\n好",
                TextEncoding::Gbk,
                Lf,
                &[0xC4, 0xE3, 0x0A, 0xBA, 0xC3, 0x0A],
            ),
            (
                "a\nb",
                TextEncoding::Utf16Le,
                CrLf,
                &[0x61, 0, 0x0D, 0, 0x0A, 0, 0x62, 0, 0x0D, 0, 0x0A, 0],
            ),
            (
                "a\nb",
                TextEncoding::Utf16Le,
                LineEnding::None,
                &[0x61, 0, 0x0A, 0, 0x62, 0],
            ),
        ];
        for &(input, encoding, eol, expected) in cases {
            assert_eq!(
                build_payload(input, PayloadMode::Text, encoding, eol),
                Ok(expected.to_vec()),
                "{input:?} {encoding:?} {eol:?}"
            );
        }
    }

    #[test]
    fn hex_payloads() {
        let cases: &[(&str, LineEnding, &[u8])] = &[
            ("48 69", LineEnding::None, b"Hi"),
            ("48 69", LineEnding::Lf, b"Hi\n"),
            ("48 69", LineEnding::CrLf, b"Hi\r\n"),
            ("48 69", LineEnding::Cr, b"Hi\r"),
            ("48\n69", LineEnding::CrLf, b"Hi\r\n"),
            ("", LineEnding::None, b""),
        ];
        for &(input, eol, expected) in cases {
            // Hex payloads ignore the text encoding, even UTF-16LE.
            for encoding in [TextEncoding::Utf8, TextEncoding::Utf16Le] {
                assert_eq!(
                    build_payload(input, PayloadMode::Hex, encoding, eol),
                    Ok(expected.to_vec()),
                    "{input:?} {eol:?}"
                );
            }
        }
    }

    #[test]
    fn errors_point_into_the_input() {
        let unmappable = |char_index| {
            PayloadError::Encode(EncodeError::Unmappable {
                ch: '😀',
                char_index,
                encoding: TextEncoding::Gbk,
            })
        };
        let cases = [
            ("😀", LineEnding::None, unmappable(0)),
            ("ab\n你😀", LineEnding::None, unmappable(4)),
            ("ab\n你😀", LineEnding::CrLf, unmappable(4)),
            ("a\r\nb\r\n你😀", LineEnding::Lf, unmappable(7)),
            ("a\r\rb😀", LineEnding::Cr, unmappable(4)),
        ];
        for (input, eol, expected) in cases {
            assert_eq!(
                build_payload(input, PayloadMode::Text, TextEncoding::Gbk, eol),
                Err(expected),
                "{input:?} {eol:?}"
            );
        }
        let hex_err = build_payload(
            "4 8 g",
            PayloadMode::Hex,
            TextEncoding::Utf8,
            LineEnding::Lf,
        );
        assert_eq!(
            hex_err,
            Err(PayloadError::Hex(HexError {
                kind: HexErrorKind::InvalidChar('g'),
                char_index: 4,
                len: 1,
            }))
        );
        let message = hex_err.unwrap_err().to_string();
        assert_eq!(message, "invalid hex character 'g' at position 4");
    }

    fn templated(
        input: &str,
        mode: PayloadMode,
        eol: LineEnding,
        checksum: Option<crate::proto::checksum::Checksum>,
    ) -> Result<Vec<u8>, TemplateError> {
        let caps = std::collections::HashMap::new();
        let mut random = |b: &mut [u8]| b.fill(0xAB);
        let mut ctx = crate::proto::vars::Context {
            counter: 7,
            counter_spec: Default::default(),
            now: chrono::NaiveDateTime::default(),
            unix_ms: 0,
            random: &mut random,
            captures: &caps,
        };
        build_templated(
            input,
            mode,
            TextEncoding::Gbk,
            eol,
            Extras {
                vars: true,
                checksum: checksum.map(crate::proto::checksum::ChecksumSpec::new),
                ctx: &mut ctx,
            },
        )
    }

    #[test]
    fn templated_payloads() {
        use crate::proto::checksum::Checksum;
        // Variables, lines ending CRLF, in GBK.
        assert_eq!(
            templated("你{counter}\nb", PayloadMode::Text, LineEnding::CrLf, None).unwrap(),
            b"\xC4\xE37\r\nb\r\n".to_vec()
        );
        // Hex with a variable, then a checksum over all of it.
        assert_eq!(
            templated(
                "01 03 {rand:2}",
                PayloadMode::Hex,
                LineEnding::None,
                Some(Checksum::Xor)
            )
            .unwrap(),
            vec![1, 3, 0xAB, 0xAB, 1 ^ 3]
        );
        // Without variables: exactly build_payload; `{{` is one brace; JSON as typed.
        assert_eq!(
            templated("{\"a\": {{1}", PayloadMode::Text, LineEnding::None, None).unwrap(),
            b"{\"a\": {1}".to_vec()
        );
        // An unknown variable: its span.
        match templated("ab{nope}", PayloadMode::Text, LineEnding::None, None) {
            Err(TemplateError::Var(e)) => assert_eq!(e.span, 2..8),
            other => panic!("{other:?}"),
        }
        // A character GBK lacks after a variable: its place in the whole input.
        match templated("{counter}x😀", PayloadMode::Text, LineEnding::None, None) {
            Err(TemplateError::Payload(PayloadError::Encode(e))) => assert_eq!(e.char_index(), 10),
            other => panic!("{other:?}"),
        }
        // Bad hex after a variable, likewise.
        match templated("{counter:u8} 0G", PayloadMode::Hex, LineEnding::None, None) {
            Err(TemplateError::Payload(PayloadError::Hex(e))) => assert_eq!(e.char_index, 14),
            other => panic!("{other:?}"),
        }
    }
}
