//! The download protocol of the lesson's exercise 2, and our compatible extension.
//!
//! **Lesson mode** (what students write): the client connects and sends the file name as its
//! first chunk; the server answers with the file's raw bytes and closes. No header, no status:
//! an unknown file is a close with nothing sent.
//!
//! **Verified mode** (ours, version 1): the request starts with a NUL byte, which no lesson
//! client sends (a typed file name cannot contain one), so one server answers both kinds:
//!
//! ```text
//! request:  \0SWB/1 GET <offset> <name>\n       (name: UTF-8, '/' between folders)
//!           \0SWB/1 LIST\n
//! response: SWB/1 OK <size> <blake3-hex>\n<bytes from offset to the end>   then close
//!           SWB/1 NOTFOUND\n                                               then close
//!           SWB/1 REFUSED <reason>\n                                       then close
//!           SWB/1 LIST <count>\n<name>\n<name>\n...                         then close
//! ```
//!
//! `size` is the whole file's size and the digest covers the whole file, so a client that
//! resumes at `offset` hashes what it already has and checks the lot.

use std::fmt;

use crate::proto::TextEncoding;

/// The request prefix of verified mode.
pub const MAGIC: &[u8] = b"\0SWB/1 ";
/// The response prefix of verified mode.
pub const REPLY: &str = "SWB/1 ";
/// Longest request accepted (name plus framing); longer ones are refused.
pub const MAX_REQUEST: usize = 4096;
/// Longest file name accepted, in bytes.
pub const MAX_NAME: usize = 1024;

/// A request as the server understood it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The lesson's request: just a name.
    Lesson { name: String },
    /// Verified: a name and where to start.
    Get { name: String, offset: u64 },
    /// Verified: the names the folder offers.
    List,
}

/// Why a request was not served (said in the log, and to verified clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    TooLong,
    BadEncoding,
    Nul,
    ParentDir,
    Absolute,
    Backslash,
    DriveLetter,
    OutsideFolder,
    NotRegularFile,
    Malformed,
    Busy,
    /// A name Windows gives a meaning of its own: a device (`CON`, `NUL`, `COM1`, ...), an
    /// alternate data stream (`a.txt:hidden`), a trailing dot or space.
    Reserved,
    /// A control character (a newline, a tab, ...) in the name: it would break the line-based
    /// replies, and no one types it on purpose.
    ControlChar,
    /// The file has more than one name (hard links): another of its names may lie outside the
    /// folder, and which one cannot be checked, so it is not served.
    HardLink,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Empty => "empty-name",
            Refusal::TooLong => "too-long",
            Refusal::BadEncoding => "bad-encoding",
            Refusal::Nul => "nul-byte",
            Refusal::ParentDir => "parent-dir",
            Refusal::Absolute => "absolute-path",
            Refusal::Backslash => "backslash",
            Refusal::DriveLetter => "drive-letter",
            Refusal::OutsideFolder => "outside-folder",
            Refusal::NotRegularFile => "not-a-regular-file",
            Refusal::Malformed => "malformed-request",
            Refusal::Busy => "busy",
            Refusal::Reserved => "reserved-name",
            Refusal::ControlChar => "control-char",
            Refusal::HardLink => "hard-link",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Refusal::Empty,
            Refusal::TooLong,
            Refusal::BadEncoding,
            Refusal::Nul,
            Refusal::ParentDir,
            Refusal::Absolute,
            Refusal::Backslash,
            Refusal::DriveLetter,
            Refusal::OutsideFolder,
            Refusal::NotRegularFile,
            Refusal::Malformed,
            Refusal::Busy,
            Refusal::Reserved,
            Refusal::ControlChar,
            Refusal::HardLink,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How the server decodes a lesson client's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum NameEncoding {
    /// UTF-8, or GBK when the bytes are not valid UTF-8 (what classes in China send).
    #[default]
    Auto,
    Utf8,
    Gbk,
}

fn decode_name(bytes: &[u8], enc: NameEncoding) -> Result<String, Refusal> {
    let strict = |e: TextEncoding| -> Option<String> {
        let segs = e.decode_segments(bytes);
        let mut out = String::new();
        for s in segs {
            match s {
                crate::proto::Segment::Text(t) => out.push_str(&t),
                crate::proto::Segment::Invalid(_) => return None,
            }
        }
        Some(out)
    };
    match enc {
        NameEncoding::Utf8 => strict(TextEncoding::Utf8),
        NameEncoding::Gbk => strict(TextEncoding::Gbk),
        NameEncoding::Auto => strict(TextEncoding::Utf8).or_else(|| strict(TextEncoding::Gbk)),
    }
    .ok_or(Refusal::BadEncoding)
}

/// Parses the first chunk a client sent. Lesson requests have trailing CR/LF trimmed.
pub fn parse_request(chunk: &[u8], enc: NameEncoding) -> Result<Request, Refusal> {
    if chunk.len() > MAX_REQUEST {
        return Err(Refusal::TooLong);
    }
    if let Some(rest) = chunk.strip_prefix(MAGIC) {
        let line = rest.strip_suffix(b"\n").unwrap_or(rest);
        let line = std::str::from_utf8(line).map_err(|_| Refusal::BadEncoding)?;
        if line == "LIST" {
            return Ok(Request::List);
        }
        let rest = line.strip_prefix("GET ").ok_or(Refusal::Malformed)?;
        let (offset, name) = rest.split_once(' ').ok_or(Refusal::Malformed)?;
        let offset = offset.parse::<u64>().map_err(|_| Refusal::Malformed)?;
        check_name(name)?;
        return Ok(Request::Get {
            name: name.to_owned(),
            offset,
        });
    }
    let trimmed = trim_eol(chunk);
    let name = decode_name(trimmed, enc)?;
    check_name(&name)?;
    Ok(Request::Lesson { name })
}

fn trim_eol(mut b: &[u8]) -> &[u8] {
    while let Some(rest) = b.strip_suffix(b"\n").or_else(|| b.strip_suffix(b"\r")) {
        b = rest;
    }
    b
}

/// Rejects names that could reach outside the shared folder, whatever the OS.
pub fn check_name(name: &str) -> Result<(), Refusal> {
    if name.is_empty() {
        return Err(Refusal::Empty);
    }
    if name.len() > MAX_NAME {
        return Err(Refusal::TooLong);
    }
    if name.contains('\0') {
        return Err(Refusal::Nul);
    }
    if name.chars().any(char::is_control) {
        return Err(Refusal::ControlChar);
    }
    if name.contains('\\') {
        return Err(Refusal::Backslash);
    }
    if name.starts_with('/') {
        return Err(Refusal::Absolute);
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Err(Refusal::DriveLetter);
    }
    if name.split('/').any(|c| c == "..") {
        return Err(Refusal::ParentDir);
    }
    if name.split('/').any(|c| c.is_empty() || c == ".") {
        // "a//b", "./a", "a/" — not a plain path to a file.
        return Err(Refusal::Malformed);
    }
    Ok(())
}

/// Windows' own rules for one component of a path: device names (`CON`, `PRN`, `AUX`,
/// `NUL`, `COM0`-`COM9`, `LPT0`-`LPT9` and their superscript-digit forms, `CONIN$`,
/// `CONOUT$`, with any extension and in any case, which open a device wherever they are),
/// `:` (an alternate data stream, or a drive), the characters Windows forbids in names
/// (`<>"|?*` and control characters), and a trailing dot or space (which Windows strips, so
/// `secret.txt.` opens `secret.txt`).
pub fn windows_reserved(component: &str) -> bool {
    if component.ends_with(' ')
        || (component.ends_with('.') && component != "." && component != "..")
    {
        return true;
    }
    if component
        .chars()
        .any(|c| c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
    {
        return true;
    }
    let stem = component
        .split('.')
        .next()
        .unwrap_or(component)
        .trim_end_matches(' ')
        .to_ascii_uppercase();
    if matches!(
        stem.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    match stem
        .strip_prefix("COM")
        .or_else(|| stem.strip_prefix("LPT"))
    {
        Some(rest) => {
            let mut chars = rest.chars();
            matches!(
                (chars.next(), chars.next()),
                (Some('0'..='9' | '¹' | '²' | '³'), None)
            )
        }
        None => false,
    }
}

/// [`check_name`] plus Windows' rules for every component ([`windows_reserved`]); the
/// server applies these where it runs on Windows.
pub fn check_name_windows(name: &str) -> Result<(), Refusal> {
    check_name(name)?;
    if name.split('/').any(windows_reserved) {
        return Err(Refusal::Reserved);
    }
    Ok(())
}

/// The name to save a remote file under, inside the chosen folder, whatever the server
/// said: only the last component counts (after `/` or `\`), a drive prefix is dropped,
/// `.`/`..`/empty become `download`, characters Windows forbids become `_`, trailing dots
/// and spaces go, and a device name (`CON`, `NUL`, ...) gets a `_` in front. The result is
/// never a path: joined to a folder, it stays in that folder on every system.
pub fn local_file_name(remote: &str) -> String {
    let last = remote.rsplit(['/', '\\']).next().unwrap_or("");
    // "C:name" (a drive-relative path on Windows): keep "name".
    let last = match last.as_bytes() {
        [d, b':', ..] if d.is_ascii_alphabetic() => &last[2..],
        _ => last,
    };
    let mut out: String = last
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    // Windows strips trailing dots and spaces; do it here so the name is the same everywhere.
    while out.ends_with('.') || out.ends_with(' ') {
        out.pop();
    }
    if out.is_empty() {
        return "download".to_owned();
    }
    if windows_reserved(&out) {
        out.insert(0, '_');
    }
    out
}

/// Encodes a verified GET request.
pub fn get_request(name: &str, offset: u64) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(format!("GET {offset} {name}\n").as_bytes());
    out
}

/// Encodes a verified LIST request.
pub fn list_request() -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(b"LIST\n");
    out
}

/// The header of a verified reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Ok { size: u64, digest: String },
    NotFound,
    Refused(Refusal),
    List { count: usize },
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Reply::Ok { size, digest } => format!("{REPLY}OK {size} {digest}\n"),
            Reply::NotFound => format!("{REPLY}NOTFOUND\n"),
            Reply::Refused(r) => format!("{REPLY}REFUSED {r}\n"),
            Reply::List { count } => format!("{REPLY}LIST {count}\n"),
        }
        .into_bytes()
    }

    /// Parses a header line (without its newline).
    pub fn parse(line: &[u8]) -> Option<Reply> {
        let line = std::str::from_utf8(line).ok()?.strip_prefix(REPLY)?;
        let mut parts = line.split(' ');
        match parts.next()? {
            "OK" => {
                let size = parts.next()?.parse().ok()?;
                let digest = parts.next()?;
                if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                Some(Reply::Ok {
                    size,
                    digest: digest.to_ascii_lowercase(),
                })
            }
            "NOTFOUND" => Some(Reply::NotFound),
            "REFUSED" => Some(Reply::Refused(
                Refusal::from_code(parts.next()?).unwrap_or(Refusal::Malformed),
            )),
            "LIST" => Some(Reply::List {
                count: parts.next()?.parse().ok()?,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_rules_refuse_devices_streams_and_trailing_dots() {
        for name in [
            "CON",
            "con.txt",
            "Nul",
            "aux.tar.gz",
            "COM1",
            "lpt9.log",
            "CONIN$",
            "COM¹",
            "a.txt:hidden",
            "a.txt::$DATA",
            "secret.txt.",
            "secret.txt ",
            "a?b",
            "a*b",
            "a|b",
            "sub/CON/x.txt",
            "sub/nul",
        ] {
            assert_eq!(check_name_windows(name), Err(Refusal::Reserved), "{name:?}");
        }
        // Control characters are refused on every system, before Windows' own rules.
        assert_eq!(check_name_windows("a\u{1}b"), Err(Refusal::ControlChar));
        for name in [
            "console.txt",
            "COM10",
            "LPTX",
            "a.b.c",
            "con-notes.txt",
            "子目录/文件.txt",
        ] {
            assert_eq!(check_name_windows(name), Ok(()), "{name:?}");
        }
        // The portable rules still come first.
        assert_eq!(check_name_windows("..\\x"), Err(Refusal::Backslash));
        assert_eq!(check_name_windows("C:x"), Err(Refusal::DriveLetter));
    }

    #[test]
    fn local_names_never_leave_the_folder() {
        let cases = [
            ("report.pdf", "report.pdf"),
            ("sub/dir/report.pdf", "report.pdf"),
            ("..\\..\\Windows\\evil.exe", "evil.exe"),
            ("C:\\Windows\\win.ini", "win.ini"),
            ("C:evil.exe", "evil.exe"),
            ("c:", "download"),
            ("..", "download"),
            ("../", "download"),
            (".", "download"),
            ("", "download"),
            ("a/b/..", "download"),
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("a:b", "b"),
            ("ab:c", "ab_c"),
            ("what?.txt", "what_.txt"),
            ("trailing. . ", "trailing"),
            ("课件/第一章.pdf", "第一章.pdf"),
            ("/etc/passwd", "passwd"),
        ];
        for (remote, want) in cases {
            assert_eq!(local_file_name(remote), want, "{remote:?}");
        }
        // Whatever comes in, joining gives a direct child of the folder.
        let folder = std::path::Path::new("dl");
        for remote in [
            "..\\..",
            "x/../../y",
            "C:\\..\\z",
            "\\\\?\\C:\\a",
            "//server/share/f",
        ] {
            let name = local_file_name(remote);
            let joined = folder.join(&name);
            assert_eq!(joined.parent(), Some(folder), "{remote:?} -> {name:?}");
            assert_eq!(joined.components().count(), 2, "{remote:?} -> {name:?}");
        }
    }

    #[test]
    fn hostile_names_are_refused() {
        let cases: &[(&str, Result<(), Refusal>)] = &[
            ("a.txt", Ok(())),
            ("sub/a.txt", Ok(())),
            ("中文.txt", Ok(())),
            ("", Err(Refusal::Empty)),
            ("../etc/passwd", Err(Refusal::ParentDir)),
            ("a/../../b", Err(Refusal::ParentDir)),
            ("..", Err(Refusal::ParentDir)),
            ("/etc/passwd", Err(Refusal::Absolute)),
            ("C:/Windows/win.ini", Err(Refusal::DriveLetter)),
            ("c:secret", Err(Refusal::DriveLetter)),
            ("..\\..\\boot.ini", Err(Refusal::Backslash)),
            ("a\\b", Err(Refusal::Backslash)),
            ("a\0b", Err(Refusal::Nul)),
            ("two\nlines.txt", Err(Refusal::ControlChar)),
            ("tab\t.txt", Err(Refusal::ControlChar)),
            ("cr\r", Err(Refusal::ControlChar)),
            ("del\u{7f}", Err(Refusal::ControlChar)),
            ("c1\u{85}", Err(Refusal::ControlChar)),
            ("./a", Err(Refusal::Malformed)),
            ("a//b", Err(Refusal::Malformed)),
            ("a/", Err(Refusal::Malformed)),
        ];
        for (name, want) in cases {
            assert_eq!(check_name(name), *want, "{name:?}");
        }
        assert_eq!(check_name(&"x".repeat(MAX_NAME + 1)), Err(Refusal::TooLong));
    }

    #[test]
    fn requests_parse_in_both_modes() {
        let gbk_name = [0xC4, 0xE3, 0xBA, 0xC3, b'.', b't', b'x', b't', b'\r', b'\n'];
        let cases: &[(&[u8], Result<Request, Refusal>)] = &[
            (
                b"a.txt",
                Ok(Request::Lesson {
                    name: "a.txt".into(),
                }),
            ),
            (
                b"a.txt\r\n",
                Ok(Request::Lesson {
                    name: "a.txt".into(),
                }),
            ),
            (
                &gbk_name,
                Ok(Request::Lesson {
                    name: "你好.txt".into(),
                }),
            ),
            (b"\0SWB/1 LIST\n", Ok(Request::List)),
            (
                b"\0SWB/1 GET 42 sub/b.bin\n",
                Ok(Request::Get {
                    name: "sub/b.bin".into(),
                    offset: 42,
                }),
            ),
            (b"\0SWB/1 GET x a\n", Err(Refusal::Malformed)),
            (b"\0SWB/1 PUT a\n", Err(Refusal::Malformed)),
            (b"\0SWB/1 GET 0 ../x\n", Err(Refusal::ParentDir)),
            (b"\xff\xfe\xfd", Err(Refusal::BadEncoding)),
            (b"\n", Err(Refusal::Empty)),
        ];
        for (chunk, want) in cases {
            assert_eq!(parse_request(chunk, NameEncoding::Auto), *want, "{chunk:?}");
        }
        assert_eq!(
            parse_request(&vec![b'a'; MAX_REQUEST + 1], NameEncoding::Auto),
            Err(Refusal::TooLong)
        );
        assert_eq!(
            parse_request(&get_request("x y.txt", 7), NameEncoding::Auto),
            Ok(Request::Get {
                name: "x y.txt".into(),
                offset: 7
            })
        );
    }

    #[test]
    fn replies_round_trip() {
        let digest = "ab".repeat(32);
        for reply in [
            Reply::Ok {
                size: 123,
                digest: digest.clone(),
            },
            Reply::NotFound,
            Reply::Refused(Refusal::OutsideFolder),
            Reply::List { count: 3 },
        ] {
            let bytes = reply.encode();
            assert_eq!(bytes.last(), Some(&b'\n'));
            assert_eq!(Reply::parse(&bytes[..bytes.len() - 1]), Some(reply));
        }
        assert_eq!(Reply::parse(b"HTTP/1.1 200 OK"), None);
        assert_eq!(Reply::parse(b"SWB/1 OK 1 short"), None);
    }
}
