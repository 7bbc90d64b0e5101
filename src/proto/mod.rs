//! Protocol-level data handling shared by the UI and the socket code: text
//! encodings, hex input/output, turning what the user typed into the bytes that go on the
//! wire (with variables and a checksum), and framing what comes back into messages.

pub mod addr;
pub mod checksum;
pub mod download;
pub mod encoding;
pub mod format;
pub mod frame;
pub mod hex;
pub mod library;
pub mod payload;
pub mod script;
pub mod vars;

pub use encoding::{EncodeError, Segment, StreamDecoder, TextEncoding, decode_segments};
pub use hex::{
    HexDumpLine, HexError, HexErrorKind, format_hex, hex_dump_line, hex_dump_line_count,
    hex_dump_lines, parse_hex,
};
pub use payload::{LineEnding, PayloadError, PayloadMode, build_payload};
