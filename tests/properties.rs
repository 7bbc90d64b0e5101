//! Properties over generated inputs: the file server's request parser, the hex
//! parser, and confinement to the shared folder, with names built from every separator,
//! dot, prefix and encoding trick there is. Each property is checked on a few hundred
//! generated cases (proptest shrinks a failure to its smallest form).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use socket_workbench::net::file_server::open_confined;
use socket_workbench::proto::download::{
    MAGIC, NameEncoding, Request, check_name, check_name_windows, get_request, local_file_name,
    parse_request, windows_reserved,
};
use socket_workbench::proto::frame::{Framer, Framing};
use socket_workbench::proto::hex::{format_hex, parse_hex};

mod common;
use common::files::TempDir;

/// Pieces names are made of: separators, dots, prefixes of absolute and Windows paths,
/// percent- and fullwidth look-alikes, control characters, CJK, device names.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_owned()),
        Just("\\".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("...".to_owned()),
        Just("C:".to_owned()),
        Just("c:\\".to_owned()),
        Just("//".to_owned()),
        Just("\\\\?\\".to_owned()),
        Just("%2e%2e".to_owned()),
        Just("%2f".to_owned()),
        Just("．．".to_owned()),
        Just("／".to_owned()),
        Just("\u{2215}".to_owned()),
        Just("\0".to_owned()),
        Just("\n".to_owned()),
        Just("\r".to_owned()),
        Just("\t".to_owned()),
        Just(" ".to_owned()),
        Just(":".to_owned()),
        Just("::$DATA".to_owned()),
        Just("CON".to_owned()),
        Just("nul.txt".to_owned()),
        Just("~".to_owned()),
        Just("$HOME".to_owned()),
        Just("secret.txt".to_owned()),
        Just("inside.txt".to_owned()),
        Just("sub".to_owned()),
        Just("link".to_owned()),
        Just("文件".to_owned()),
        "[a-z]{1,6}".prop_map(|s| s),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 1..8).prop_map(|parts| parts.concat())
}

/// A shared folder with a file inside, a sub-folder, a symlink that leads out (on Unix),
/// and a secret file beside the folder.
struct Folder {
    /// Removed, with everything in it, when the folder is dropped.
    _base: TempDir,
    root: PathBuf,
}

impl Folder {
    fn new() -> Self {
        let base = TempDir::new("prop");
        let root = base.dir("shared");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("inside.txt"), b"inside").unwrap();
        std::fs::write(root.join("sub").join("inside.txt"), b"inside too").unwrap();
        std::fs::write(base.join("secret.txt"), b"SECRET").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&base.0, root.join("link")).unwrap();
        let root = dunce::canonicalize(&root).unwrap();
        Self { _base: base, root }
    }
}

fn inside(root: &Path, path: &Path) -> bool {
    dunce::canonicalize(path).is_ok_and(|p| p.starts_with(root))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever a client sends, the parser answers (no panic), and any name it accepts
    /// passes the name rules: nothing that climbs, is absolute, or carries a control
    /// character.
    #[test]
    fn any_request_parses_or_is_refused(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for enc in [NameEncoding::Auto, NameEncoding::Utf8, NameEncoding::Gbk] {
            match parse_request(&bytes, enc) {
                Ok(Request::Lesson { name }) | Ok(Request::Get { name, .. }) => {
                    prop_assert!(check_name(&name).is_ok(), "{name:?}");
                    prop_assert!(!name.chars().any(char::is_control));
                    prop_assert!(!name.split('/').any(|c| c == ".." || c.is_empty()));
                }
                Ok(Request::List) | Err(_) => {}
            }
        }
    }

    /// Requests built from generated names: accepted exactly when the name passes the rules,
    /// and then with the very name and offset that were sent.
    #[test]
    fn a_verified_request_round_trips(name in name(), offset in any::<u64>()) {
        let parsed = parse_request(&get_request(&name, offset), NameEncoding::Auto);
        match check_name(&name) {
            Ok(()) if !name.contains('\n') => {
                prop_assert_eq!(parsed, Ok(Request::Get { name: name.clone(), offset }));
            }
            _ => prop_assert!(parsed.is_err(), "{name:?} accepted: {parsed:?}"),
        }
    }

    /// A lesson request (the bare name, perhaps with CR/LF) is the verified request's name.
    #[test]
    fn a_lesson_request_is_its_name(name in name(), eol in prop_oneof![Just(""), Just("\n"), Just("\r\n")]) {
        let sent = format!("{name}{eol}");
        prop_assume!(!sent.as_bytes().starts_with(&MAGIC[..1]));
        let parsed = parse_request(sent.as_bytes(), NameEncoding::Utf8);
        if let Ok(Request::Lesson { name: got }) = &parsed {
            prop_assert!(check_name(got).is_ok());
            prop_assert_eq!(got.as_str(), name.trim_end_matches(['\r', '\n']));
        }
    }

    /// Windows' rules only ever refuse more: nothing they accept has a reserved component.
    #[test]
    fn windows_rules_refuse_more(name in name()) {
        if check_name_windows(&name).is_ok() {
            prop_assert!(check_name(&name).is_ok());
            prop_assert!(!name.split('/').any(windows_reserved), "{name:?}");
        }
    }

    /// The name a download is saved under is one plain name: joined to a folder, it stays
    /// in that folder, whatever the server called the file.
    #[test]
    fn a_saved_name_stays_in_its_folder(remote in name()) {
        let local = local_file_name(&remote);
        prop_assert!(!local.is_empty());
        prop_assert!(!local.contains(['/', '\\', '\0']), "{local:?}");
        prop_assert!(local != "." && local != "..", "{local:?}");
        let dir = Path::new("downloads");
        let joined = dir.join(&local);
        prop_assert_eq!(joined.parent(), Some(dir));
        prop_assert_eq!(joined.components().count(), 2, "{:?}", joined);
        prop_assert!(!windows_reserved(&local), "{local:?}");
    }

    /// Hex as it is formatted parses back to the same bytes; any text at all either parses
    /// or is refused, never a panic.
    #[test]
    fn hex_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..200), junk in ".{0,80}") {
        prop_assert_eq!(parse_hex(&format_hex(&bytes)).unwrap(), bytes.clone());
        let lower = format_hex(&bytes).to_lowercase().replace(' ', ",");
        prop_assert_eq!(parse_hex(&lower).unwrap(), bytes);
        let _ = parse_hex(&junk);
    }
}

/// Confinement against a real folder, with the names above: whatever is opened lies inside
/// the shared folder, and the secret beside it is never opened.
#[test]
fn generated_names_never_leave_the_folder() {
    let folder = Folder::new();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(2000));
    let opened = std::sync::atomic::AtomicU32::new(0);
    runner
        .run(&name(), |name| {
            if let Ok((mut file, real)) = open_confined(&folder.root, &name) {
                opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                prop_assert!(
                    inside(&folder.root, &real),
                    "{name:?} -> {}",
                    real.display()
                );
                let mut body = Vec::new();
                std::io::Read::read_to_end(&mut file, &mut body).unwrap();
                prop_assert!(body != b"SECRET", "{name:?} opened the secret");
            }
            Ok(())
        })
        .unwrap();
    // The generator does reach real files, so the property is not empty.
    assert!(
        opened.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "no generated name opened anything"
    );
}

/// Messages of one framing rule, each as it goes on the wire.
fn wire_messages(rule: u8) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let body = prop::collection::vec(any::<u8>(), 0..300);
    prop::collection::vec(body, 1..20).prop_map(move |bodies| {
        bodies
            .into_iter()
            .map(|mut b| match rule {
                // A line: no newline inside, one at the end.
                0 => {
                    b.retain(|c| *c != b'\n');
                    b.push(b'\n');
                    b
                }
                // A two-byte big-endian length, then the body.
                1 => {
                    let mut m = (b.len() as u16).to_be_bytes().to_vec();
                    m.extend(b);
                    m
                }
                // Five bytes each.
                _ => {
                    b.resize(5, 0x5A);
                    b
                }
            })
            .collect()
    })
}

fn rule_framing(rule: u8) -> Framing {
    match rule {
        0 => Framing::parse("line").unwrap(),
        1 => Framing::parse("len:2be").unwrap(),
        _ => Framing::Fixed(5),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the recv() boundaries (random cuts, or one byte at a time), a framer gives
    /// back exactly the messages that were sent, each complete.
    #[test]
    fn framing_does_not_depend_on_recv_boundaries(
        (rule, messages) in (0u8..3).prop_flat_map(|r| (Just(r), wire_messages(r))),
        cuts in prop::collection::vec(1usize..64, 0..200),
        bytewise in any::<bool>(),
    ) {
        let stream: Vec<u8> = messages.concat();
        let mut framer = Framer::new(rule_framing(rule), 1 << 20);
        let mut got = Vec::new();
        let mut at = 0;
        let mut cut = cuts.iter().cycle();
        while at < stream.len() {
            let n = if bytewise { 1 } else { *cut.next().unwrap_or(&7) };
            let end = (at + n).min(stream.len());
            got.extend(framer.push(&stream[at..end], at as u64));
            at = end;
        }
        prop_assert_eq!(framer.finish(), None);
        prop_assert!(got.iter().all(|f| f.complete));
        // Each message lists the recv()s that carried it: in order, their bytes adding up.
        let mut last_recv = 0;
        let max = socket_workbench::proto::frame::MAX_PIECES;
        for f in &got {
            prop_assert_eq!(f.pieces.len(), (f.recvs as usize).min(max));
            if (f.recvs as usize) <= max {
                prop_assert_eq!(f.pieces.iter().map(|p| p.1 as usize).sum::<usize>(), f.bytes.len());
            }
            prop_assert!(f.pieces.windows(2).all(|w| w[0].0 < w[1].0));
            prop_assert!(f.pieces[0].0 >= last_recv);
            last_recv = f.pieces.last().map_or(last_recv, |p| p.0);
        }
        let got: Vec<Vec<u8>> = got.into_iter().map(|f| f.bytes).collect();
        prop_assert_eq!(got, messages);
    }

    /// Memory stays bounded whatever comes: nothing buffered is over the cap, and every byte
    /// is handed on or still buffered.
    #[test]
    fn framing_is_bounded(
        rule in 0u8..3,
        stream in prop::collection::vec(any::<u8>(), 0..4000),
        cuts in prop::collection::vec(1usize..500, 1..50),
    ) {
        const CAP: usize = 64;
        let mut framer = Framer::new(rule_framing(rule), CAP);
        let mut handed = 0usize;
        let mut at = 0;
        let mut cut = cuts.iter().cycle();
        while at < stream.len() {
            let end = (at + *cut.next().unwrap_or(&1)).min(stream.len());
            for f in framer.push(&stream[at..end], 0) {
                prop_assert!(f.bytes.len() <= CAP);
                prop_assert!(f.pieces.len() <= socket_workbench::proto::frame::MAX_PIECES);
                handed += f.bytes.len();
            }
            prop_assert!(framer.pending() <= CAP);
            at = end;
        }
        prop_assert_eq!(handed + framer.pending(), stream.len());
    }
}
