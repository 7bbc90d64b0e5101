//! The payload library as a file a person reads and edits: named payloads in groups, in
//! TOML, with a `version`. A teacher hands out a lab sheet's payloads as one file;
//! `tcp-client --payloads FILE --send-name NAME` sends one of them.
//!
//! ```toml
//! version = 1
//!
//! [[group]]
//! name = "Modbus"
//!
//! [[group.payload]]
//! name = "read 10 registers"
//! hex = "01 03 00 00 00 0A"
//! checksum = "crc16-modbus"       # appended; low byte first, as Modbus RTU sends it
//! note = "unit 1, from register 0"
//!
//! [[group.payload]]
//! name = "hello"
//! text = "你好 #{counter}"       # variables: see `proto::vars`
//! encoding = "gbk"
//! eol = "crlf"
//! ```
//!
//! Each payload has exactly one of `text` and `hex`. Optional: `encoding` (for text; default
//! the sender's), `eol` (none, lf, crlf, cr), `checksum` (a `--checksum` name) with
//! `checksum_order` (big, little) and `checksum_from` (the first byte it covers), `vars`
//! (false sends braces as typed), `counter` (`{ start, step, width, hex }`) and `note`.
//! Pure: reading the file is the caller's.

use serde::{Deserialize, Serialize};

use super::checksum::{ByteOrder, Checksum, ChecksumSpec};
use super::encoding::TextEncoding;
use super::payload::LineEnding;
use super::vars::{self, Context, CounterSpec, Piece};

/// The file format's version this program writes and reads.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Library {
    pub version: u32,
    #[serde(default, rename = "group", skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    /// Conversation scripts kept with the payloads (`proto::script`'s format, as text).
    #[serde(default, rename = "script", skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<NamedScript>,
}

impl Default for Library {
    fn default() -> Self {
        Self {
            version: VERSION,
            groups: Vec::new(),
            scripts: Vec::new(),
        }
    }
}

/// A conversation script saved in the library file: its name and its text (a script file's
/// content, usually written as a TOML multi-line string).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedScript {
    pub name: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    #[serde(default, rename = "payload", skip_serializing_if = "Vec::is_empty")]
    pub payloads: Vec<Payload>,
}

fn yes() -> bool {
    true
}

fn is_yes(v: &bool) -> bool {
    *v
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_from: Option<usize>,
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub vars: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<CounterSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Default for Payload {
    fn default() -> Self {
        Self {
            name: String::new(),
            text: None,
            hex: None,
            encoding: None,
            eol: None,
            checksum: None,
            checksum_order: None,
            checksum_from: None,
            vars: true,
            counter: None,
            note: None,
        }
    }
}

/// Why a library file could not be read, or a payload not built: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryError {
    /// 1-based line of the file, when the problem is in one place of it.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for LibraryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn error(message: impl Into<String>) -> LibraryError {
    LibraryError {
        line: None,
        message: message.into(),
    }
}

impl Library {
    /// What a first run starts with: a few examples to send and to copy from.
    pub fn starter() -> Library {
        let text = r#"
version = 1

[[group]]
name = "Examples"

[[group.payload]]
name = "hello"
text = "hello #{counter}"
eol = "lf"
note = "a line with a counter: hello #1, hello #2, …"

[[group.payload]]
name = "time"
text = "TIME {time:%Y-%m-%d %H:%M:%S}"
eol = "crlf"

[[group.payload]]
name = "JSON ping"
text = '{"type": "ping", "seq": {counter}}'
eol = "lf"
note = "JSON braces go as typed; only {counter} is a variable"

[[group.payload]]
name = "Modbus: read 10 registers"
hex = "01 03 00 00 00 0A"
checksum = "crc16-modbus"
note = "unit 1, from register 0; CRC-16/MODBUS appended low byte first"

[[group.payload]]
name = "length-prefixed"
text = "{len:u16be}hello"
note = "a 2-byte big-endian length, then the message"
"#;
        Library::parse(text).unwrap_or_default()
    }

    /// Reads a library file's text; every payload is checked (its options, not its
    /// variables' values), so a mistake is said at once with its place.
    pub fn parse(text: &str) -> Result<Library, LibraryError> {
        let lib: Library = toml::from_str(text).map_err(|e| LibraryError {
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            message: e.message().to_owned(),
        })?;
        if lib.version != VERSION {
            return Err(error(format!(
                "version {} (this program reads version {VERSION})",
                lib.version
            )));
        }
        for script in &lib.scripts {
            super::script::Script::parse(&script.text, Some(&lib))
                .map_err(|e| error(format!("script '{}': {e}", script.name)))?;
        }
        for group in &lib.groups {
            for p in &group.payloads {
                p.check().map_err(|e| {
                    error(format!(
                        "payload '{}/{}': {}",
                        group.name, p.name, e.message
                    ))
                })?;
            }
        }
        Ok(lib)
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// A saved conversation script by name.
    pub fn script(&self, name: &str) -> Option<&NamedScript> {
        self.scripts.iter().find(|s| s.name == name)
    }

    /// Saves a script under `name` (replacing one of that name).
    pub fn save_script(&mut self, name: &str, text: &str) {
        match self.scripts.iter_mut().find(|s| s.name == name) {
            Some(s) => s.text = text.to_owned(),
            None => self.scripts.push(NamedScript {
                name: name.to_owned(),
                text: text.to_owned(),
                note: None,
            }),
        }
    }

    /// A payload by `GROUP/NAME`, or by its name alone when only one payload has it.
    pub fn find(&self, name: &str) -> Result<&Payload, LibraryError> {
        let (group, name) = match name.split_once('/') {
            Some((g, n)) => (Some(g), n),
            None => (None, name),
        };
        let found: Vec<&Payload> = self
            .groups
            .iter()
            .filter(|g| group.is_none_or(|want| g.name == want))
            .flat_map(|g| &g.payloads)
            .filter(|p| p.name == name)
            .collect();
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(error(format!("no payload named '{name}'"))),
            _ => Err(error(format!(
                "{} payloads are named '{name}': say which as GROUP/NAME",
                found.len()
            ))),
        }
    }
}

impl Payload {
    fn check(&self) -> Result<(), LibraryError> {
        match (&self.text, &self.hex) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => return Err(error("exactly one of text and hex")),
        }
        self.encoding(TextEncoding::Utf8)?;
        self.eol()?;
        self.checksum()?;
        Ok(())
    }

    fn encoding(&self, default: TextEncoding) -> Result<TextEncoding, LibraryError> {
        match &self.encoding {
            None => Ok(default),
            Some(label) => TextEncoding::from_label(label)
                .ok_or_else(|| error(format!("unknown encoding '{label}'"))),
        }
    }

    fn eol(&self) -> Result<LineEnding, LibraryError> {
        match &self.eol {
            None => Ok(LineEnding::None),
            Some(label) => LineEnding::from_label(label)
                .ok_or_else(|| error(format!("unknown eol '{label}' (none, lf, crlf, cr)"))),
        }
    }

    fn checksum(&self) -> Result<Option<ChecksumSpec>, LibraryError> {
        let Some(name) = &self.checksum else {
            if self.checksum_order.is_some() || self.checksum_from.is_some() {
                return Err(error("checksum_order and checksum_from need a checksum"));
            }
            return Ok(None);
        };
        let algo =
            Checksum::from_name(name).ok_or_else(|| error(format!("unknown checksum '{name}'")))?;
        let mut spec = ChecksumSpec::new(algo);
        match self.checksum_order.as_deref() {
            None => {}
            Some("big") => spec.order = ByteOrder::Big,
            Some("little") => spec.order = ByteOrder::Little,
            Some(other) => {
                return Err(error(format!(
                    "unknown checksum_order '{other}' (big, little)"
                )));
            }
        }
        spec.from = self.checksum_from.unwrap_or(0);
        Ok(Some(spec))
    }

    /// The counter's settings (the defaults when the payload gives none).
    pub fn counter(&self) -> CounterSpec {
        self.counter.unwrap_or_default()
    }

    /// The bytes to send: variables expanded (unless switched off), the line ending and the
    /// checksum appended. `encoding` is the sender's, for text without its own.
    pub fn build(
        &self,
        encoding: TextEncoding,
        ctx: &mut Context<'_>,
    ) -> Result<Vec<u8>, LibraryError> {
        self.check()?;
        let eol = self.eol()?;
        let encoding = self.encoding(encoding)?;
        let (template, hex) = match (&self.text, &self.hex) {
            (Some(t), _) => (t.as_str(), false),
            (None, Some(h)) => (h.as_str(), true),
            (None, None) => return Err(error("exactly one of text and hex")),
        };
        let pieces = if self.vars {
            vars::parse(template)
        } else {
            vec![Piece::Text {
                text: template.to_owned(),
                span: 0..template.len(),
            }]
        };
        let mut literal = |text: &str| -> Result<Vec<u8>, String> {
            if hex {
                return super::hex::parse_hex(text).map_err(|e| e.to_string());
            }
            // Lines end with the payload's line ending, as the composer sends them.
            let text = match eol {
                LineEnding::None => text.to_owned(),
                eol => text
                    .replace("\r\n", "\n")
                    .replace('\n', std::str::from_utf8(eol.bytes()).unwrap_or("\n")),
            };
            encoding.encode(&text).map_err(|e| e.to_string())
        };
        let mut bytes = vars::expand(&pieces, &mut literal, ctx).map_err(|e| {
            let what = match e.kind {
                vars::VarErrorKind::Unknown(name) => format!("unknown variable {{{name}}}"),
                vars::VarErrorKind::BadArgs { name, why } => format!("{{{name}}}: {why}"),
                vars::VarErrorKind::Literal(why) => why,
            };
            error(format!("'{}': {what}", &template[e.span.clone()]))
        })?;
        bytes.extend_from_slice(eol.bytes());
        if let Some(spec) = self.checksum()? {
            bytes = spec.append(&bytes);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_round_trip_in_the_library_file() {
        let mut lib = Library::starter();
        lib.save_script(
            "check",
            "frame = \"line\"\n[[step]]\nsend_payload = \"hello\"\n[[step]]\nexpect_any = true\n",
        );
        lib.save_script("check", "[[step]]\nsend_payload = \"Examples/time\"\n");
        assert_eq!(lib.scripts.len(), 1, "saved again under its name");
        let again = Library::parse(&lib.to_text()).unwrap();
        assert_eq!(again, lib);
        assert!(again.script("check").is_some());
    }

    #[test]
    fn the_starter_library_reads() {
        let lib = Library::starter();
        assert_eq!(lib.groups.len(), 1);
        assert_eq!(lib.groups[0].payloads.len(), 5);
    }
    use std::collections::HashMap;

    /// The example at the top of this file, as a teacher would write it.
    const SHEET: &str = r#"
version = 1

[[group]]
name = "Modbus"

[[group.payload]]
name = "read 10 registers"
hex = "01 03 00 00 00 0A"
checksum = "crc16-modbus"
note = "unit 1, from register 0"

[[group.payload]]
name = "hello"
text = "你好 #{counter}"
encoding = "gbk"
eol = "crlf"

[[group]]
name = "Chat"

[[group.payload]]
name = "hello"
text = '{"json": true}'
"#;

    fn ctx_build(p: &Payload) -> Result<Vec<u8>, LibraryError> {
        let captures = HashMap::new();
        let mut ctx = Context {
            counter: p.counter().value(0),
            counter_spec: p.counter(),
            now: chrono::NaiveDateTime::default(),
            unix_ms: 0,
            random: &mut |_: &mut [u8]| {},
            captures: &captures,
        };
        p.build(TextEncoding::Utf8, &mut ctx)
    }

    #[test]
    fn a_hand_written_sheet_reads_and_builds() {
        let lib = Library::parse(SHEET).unwrap();
        assert_eq!(lib.groups.len(), 2);
        let read = lib.find("read 10 registers").unwrap();
        assert_eq!(
            ctx_build(read).unwrap(),
            [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD]
        );
        // "hello" is in two groups: the name alone is not enough.
        assert!(lib.find("hello").is_err());
        let gbk = lib.find("Modbus/hello").unwrap();
        let mut want = TextEncoding::Gbk.encode("你好 #1").unwrap();
        want.extend_from_slice(b"\r\n");
        assert_eq!(ctx_build(gbk).unwrap(), want);
        // JSON braces go as typed.
        let json = lib.find("Chat/hello").unwrap();
        assert_eq!(ctx_build(json).unwrap(), br#"{"json": true}"#);
        assert!(lib.find("nope").is_err());
    }

    #[test]
    fn the_file_round_trips() {
        let lib = Library::parse(SHEET).unwrap();
        let text = lib.to_text();
        assert!(text.contains("version = 1"), "{text}");
        assert_eq!(Library::parse(&text).unwrap(), lib);
    }

    #[test]
    fn mistakes_are_said_with_their_place() {
        let e = Library::parse("version = 1\n[[group]]\nname = \"a\"\n[[group.payload]]\nname = \"x\"\ntxet = \"typo\"\n").unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        for (bad, says) in [
            ("version = 2", "version 2"),
            (
                "version = 1\n[[group]]\nname = \"g\"\n[[group.payload]]\nname = \"p\"\n",
                "exactly one",
            ),
            (
                "version = 1\n[[group]]\nname = \"g\"\n[[group.payload]]\nname = \"p\"\nhex = \"01\"\nchecksum = \"crc64\"\n",
                "crc64",
            ),
            (
                "version = 1\n[[group]]\nname = \"g\"\n[[group.payload]]\nname = \"p\"\ntext = \"a\"\nencoding = \"ebcdic\"\n",
                "ebcdic",
            ),
        ] {
            let e = Library::parse(bad).unwrap_err();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
        // A variable that does not exist is said when the payload is built.
        let p = Payload {
            name: "v".into(),
            text: Some("x {nope}".into()),
            ..Payload::default()
        };
        assert!(ctx_build(&p).unwrap_err().message.contains("{nope}"));
        // Switched off, braces are sent as typed.
        let p = Payload { vars: false, ..p };
        assert_eq!(ctx_build(&p).unwrap(), b"x {nope}");
    }
}
