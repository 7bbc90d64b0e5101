//! "Check my file server" (exercise 2): downloads every file of a local folder from
//! a student's file server with the lesson's protocol (the name, then the raw bytes until the
//! server closes) and compares size and BLAKE3 digest; asks for a name that does not exist
//! (the lesson's server closes without sending anything); downloads two files at once; asks
//! for a Chinese name in UTF-8 and in GBK; and says whether a file over 100 MB was among them.
//!
//! Each read waits at most the timeout, and no download reads more than the local file's size
//! plus one byte (a server that keeps sending is caught, not followed).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::net::engine::{self, Engine, Stop};
use crate::net::{NetError, NetErrorKind, Tagged, Waker};
use crate::proto::encoding::TextEncoding;

/// Files at least this big make the "big file" check.
pub const BIG_FILE: u64 = 100 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct FilesConfig {
    pub addr: SocketAddr,
    pub local: PathBuf,
    pub encoding: TextEncoding,
    /// How long the server may stay silent.
    pub timeout: Duration,
}

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesCheck {
    /// Every local file, one after another.
    EachFile,
    /// A name that does not exist.
    Missing,
    /// Two files at once.
    TwoAtOnce,
    /// A Chinese name, sent as UTF-8 and as GBK.
    ChineseName,
    /// A file over 100 MB.
    BigFile,
}

impl FilesCheck {
    pub const ALL: [FilesCheck; 5] = [
        FilesCheck::EachFile,
        FilesCheck::Missing,
        FilesCheck::TwoAtOnce,
        FilesCheck::ChineseName,
        FilesCheck::BigFile,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FilesCheck::EachFile => "each-file",
            FilesCheck::Missing => "missing",
            FilesCheck::TwoAtOnce => "two-at-once",
            FilesCheck::ChineseName => "chinese-name",
            FilesCheck::BigFile => "big-file",
        }
    }
}

/// How one download went.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetch {
    /// Size and digest match.
    Same,
    NoConnection(NetErrorKind),
    /// The server closed after `got` of `expected` bytes.
    Truncated {
        got: u64,
        expected: u64,
    },
    /// It sent more than the file holds.
    TooLong {
        expected: u64,
    },
    /// Same size, other bytes.
    Differs,
    /// Nothing came for `secs` seconds (after `got` bytes).
    Stalled {
        got: u64,
        secs: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum FilesVerdict {
    Passed {
        files: usize,
        bytes: u64,
    },
    /// The folder has nothing to compare with.
    NoLocalFiles,
    /// A download went wrong.
    Failed {
        name: String,
        how: Fetch,
    },
    /// For a name that does not exist the server sent something (the lesson's server sends
    /// nothing and closes): the first of it, as text.
    SentForMissing {
        bytes: usize,
        text: String,
    },
    /// For a name that does not exist the server neither sent nor closed.
    NoCloseForMissing {
        secs: f64,
    },
    /// Which encodings of the Chinese name the server understood.
    ChineseName {
        name: String,
        utf8: bool,
        gbk: bool,
        wanted: TextEncoding,
    },
    /// Not run: no file of its kind in the folder.
    Skipped,
}

impl FilesVerdict {
    /// Passed, or skipped for want of a file: not a failure.
    pub fn passed(&self) -> bool {
        match self {
            FilesVerdict::Passed { .. } | FilesVerdict::Skipped => true,
            FilesVerdict::ChineseName {
                utf8, gbk, wanted, ..
            } => match wanted {
                TextEncoding::Gbk | TextEncoding::Gb18030 => *gbk,
                _ => *utf8,
            },
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FilesResult {
    pub check: FilesCheck,
    pub verdict: FilesVerdict,
    pub took: Duration,
}

/// A local file: its name as the server knows it, path, size.
#[derive(Debug, Clone)]
struct Local {
    name: String,
    path: PathBuf,
    size: u64,
}

fn local_files(dir: &Path) -> Vec<Local> {
    let mut out: Vec<Local> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let meta = e.metadata().ok()?;
                    let name = e.file_name().into_string().ok()?;
                    (meta.is_file() && !name.starts_with('.')).then(|| Local {
                        name,
                        path: e.path(),
                        size: meta.len(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn digest_of(path: &Path) -> Option<blake3::Hash> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Some(h.finalize()),
            Ok(n) => {
                h.update(&buf[..n]);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// What a download brought: its length, its digest, and its first bytes (the evidence).
type Fetched = (u64, blake3::Hash, Vec<u8>);

/// Asks for `name` (sent as `name_bytes`) and reads what comes until the server closes, at
/// most `limit` bytes; the digest and count of what came, or why it stopped.
fn fetch_raw(
    config: &FilesConfig,
    name_bytes: &[u8],
    limit: u64,
) -> Result<Fetched, (Fetch, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&config.addr, config.timeout)
        .map_err(|e| (Fetch::NoConnection(NetError::from_io(&e).kind), Vec::new()))?;
    if s.write_all(name_bytes).is_err() {
        return Err((
            Fetch::Truncated {
                got: 0,
                expected: limit,
            },
            Vec::new(),
        ));
    }
    let _ = s.set_read_timeout(Some(config.timeout));
    let mut h = blake3::Hasher::new();
    let mut got = 0u64;
    let mut head = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok((got, h.finalize(), head)),
            Ok(n) => {
                if head.len() < 256 {
                    head.extend_from_slice(&buf[..n.min(256 - head.len())]);
                }
                got += n as u64;
                if got > limit {
                    return Err((Fetch::TooLong { expected: limit }, head));
                }
                h.update(&buf[..n]);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err((
                    Fetch::Stalled {
                        got,
                        secs: config.timeout.as_secs_f64(),
                    },
                    head,
                ));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // A reset ends the transfer where it stands.
            Err(_) => return Ok((got, h.finalize(), head)),
        }
    }
}

fn fetch(config: &FilesConfig, file: &Local, encoding: TextEncoding) -> Fetch {
    let name = encoding
        .encode(&file.name)
        .unwrap_or_else(|_| file.name.as_bytes().to_vec());
    match fetch_raw(config, &name, file.size) {
        Err((how, _)) => how,
        Ok((got, _, _)) if got != file.size => Fetch::Truncated {
            got,
            expected: file.size,
        },
        Ok((_, hash, _)) => match digest_of(&file.path) {
            Some(local) if local == hash => Fetch::Same,
            _ => Fetch::Differs,
        },
    }
}

fn run(check: FilesCheck, config: &FilesConfig, files: &[Local]) -> FilesVerdict {
    match check {
        FilesCheck::EachFile => {
            if files.is_empty() {
                return FilesVerdict::NoLocalFiles;
            }
            for f in files {
                let how = fetch(config, f, config.encoding);
                if how != Fetch::Same {
                    return FilesVerdict::Failed {
                        name: f.name.clone(),
                        how,
                    };
                }
            }
            FilesVerdict::Passed {
                files: files.len(),
                bytes: files.iter().map(|f| f.size).sum(),
            }
        }
        FilesCheck::Missing => {
            let name = format!("no-such-file-{}.txt", std::process::id());
            let started = Instant::now();
            match fetch_raw(config, name.as_bytes(), 1 << 20) {
                Ok((0, _, _)) => FilesVerdict::Passed { files: 0, bytes: 0 },
                Ok((n, _, head)) | Err((Fetch::TooLong { expected: n }, head)) => {
                    FilesVerdict::SentForMissing {
                        bytes: n as usize,
                        text: config.encoding.decode_display(&head),
                    }
                }
                Err((Fetch::Stalled { got: 0, .. }, _)) => FilesVerdict::NoCloseForMissing {
                    secs: started.elapsed().as_secs_f64(),
                },
                Err((Fetch::Stalled { got, .. }, head)) => FilesVerdict::SentForMissing {
                    bytes: got as usize,
                    text: config.encoding.decode_display(&head),
                },
                Err((how, _)) => FilesVerdict::Failed { name, how },
            }
        }
        FilesCheck::TwoAtOnce => {
            // The two largest (below the big-file size, to keep it quick).
            let mut pick: Vec<&Local> = files.iter().filter(|f| f.size < BIG_FILE).collect();
            pick.sort_by_key(|f| std::cmp::Reverse(f.size));
            pick.truncate(2);
            if pick.len() < 2 {
                return FilesVerdict::Skipped;
            }
            let handles: Vec<_> = pick
                .iter()
                .map(|f| {
                    let (config, f) = (config.clone(), (*f).clone());
                    std::thread::spawn(move || {
                        (f.name.clone(), fetch(&config, &f, config.encoding))
                    })
                })
                .collect();
            for h in handles {
                match h.join() {
                    Ok((_, Fetch::Same)) => {}
                    Ok((name, how)) => return FilesVerdict::Failed { name, how },
                    Err(_) => {
                        return FilesVerdict::Failed {
                            name: String::new(),
                            how: Fetch::NoConnection(NetErrorKind::Other),
                        };
                    }
                }
            }
            FilesVerdict::Passed {
                files: 2,
                bytes: pick.iter().map(|f| f.size).sum(),
            }
        }
        FilesCheck::ChineseName => {
            let Some(f) = files.iter().find(|f| {
                f.name
                    .chars()
                    .any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
            }) else {
                return FilesVerdict::Skipped;
            };
            FilesVerdict::ChineseName {
                name: f.name.clone(),
                utf8: fetch(config, f, TextEncoding::Utf8) == Fetch::Same,
                gbk: fetch(config, f, TextEncoding::Gbk) == Fetch::Same,
                wanted: config.encoding,
            }
        }
        FilesCheck::BigFile => match files.iter().find(|f| f.size >= BIG_FILE) {
            None => FilesVerdict::Skipped,
            Some(f) => match fetch(config, f, config.encoding) {
                Fetch::Same => FilesVerdict::Passed {
                    files: 1,
                    bytes: f.size,
                },
                how => FilesVerdict::Failed {
                    name: f.name.clone(),
                    how,
                },
            },
        },
    }
}

/// What a run started with [`start`] tells its watcher.
#[derive(Debug, Clone)]
pub enum FilesEvent {
    /// A check begins.
    Begin(FilesCheck),
    Result(FilesResult),
    /// Every check has run, or the run was stopped (between checks).
    Finished {
        stopped: bool,
    },
}

pub type FilesMsg = Tagged<FilesEvent>;

/// A run under way on its own thread (see [`super::engine`]). `stop`: no further check
/// starts; the one under way ends by its own time limits.
pub type FilesRun = Engine<Stop>;

/// Runs the checks on a thread of their own.
pub fn spawn_files_check(
    config: FilesConfig,
    events: flume::Sender<FilesMsg>,
    waker: Waker,
) -> std::io::Result<FilesRun> {
    engine::spawn(
        "check-files",
        events,
        waker,
        None,
        move |emitter, control| {
            let flag = control.stop_flag();
            let send = |e: FilesEvent| emitter.emit(e);
            run_until(&config, flag, &send);
            send(FilesEvent::Finished {
                stopped: flag.load(Ordering::Relaxed),
            });
        },
    )
}

/// Every check, in order; `each` sees each result as it comes.
pub fn run_all(config: &FilesConfig, mut each: impl FnMut(&FilesResult)) -> Vec<FilesResult> {
    run_until(config, &AtomicBool::new(false), |e| {
        if let FilesEvent::Result(r) = e {
            each(&r);
        }
    })
}

fn run_until(
    config: &FilesConfig,
    stop: &AtomicBool,
    mut each: impl FnMut(FilesEvent),
) -> Vec<FilesResult> {
    let files = local_files(&config.local);
    let mut out = Vec::new();
    for check in FilesCheck::ALL {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        each(FilesEvent::Begin(check));
        let started = Instant::now();
        let verdict = run(check, config, &files);
        let r = FilesResult {
            check,
            verdict,
            took: started.elapsed(),
        };
        each(FilesEvent::Result(r.clone()));
        let last = matches!(
            r.verdict,
            FilesVerdict::NoLocalFiles
                | FilesVerdict::Failed {
                    how: Fetch::NoConnection(NetErrorKind::Refused),
                    ..
                }
        );
        out.push(r);
        if last {
            break;
        }
    }
    out
}
