//! The download client of exercise 2: lesson mode (send the name, save what comes until the
//! server closes) and verified mode (size and BLAKE3 digest up front, resume from a `.part`).
//!
//! Data always goes to `NAME.part` first and is renamed to `NAME` only when complete: in
//! verified mode when size and digest match, in lesson mode when the server closed normally
//! after sending something. A failed verified download keeps its `.part` so it can be resumed;
//! a failed lesson download removes it. Nothing partial ever sits under the final name.
//!
//! A `.part` is locked (`File::try_lock`) for as long as a download writes to it, so two
//! downloads to one destination cannot interleave their bytes: the second is refused. The
//! final rename never replaces a file that appeared under the final name meanwhile (unless
//! overwriting was asked for): the complete `.part` is kept and the error says so.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::engine::{self, Engine, Stop};
use flume::Sender;

use super::tcp_client::normalize_host;
use super::{NetError, NetErrorKind, Tagged, Waker};
use crate::proto::TextEncoding;
use crate::proto::download::{Reply, get_request, list_request};

/// Receive buffer: large reads keep the per-byte cost low.
const READ_BUF: usize = 1024 * 1024;
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Longest reply header line accepted.
const MAX_HEADER: usize = 512;
/// A server that sends nothing for this long has stalled.
pub const STALL: Duration = Duration::from_secs(30);
/// Most names a listing may hold (what our server sends at most).
pub const MAX_LIST_NAMES: usize = 10_000;
/// Longest name line a listing may hold.
const MAX_LIST_LINE: usize = 4096;

#[derive(Debug, Clone)]
pub struct DownloadConfig {
    pub host: String,
    pub port: u16,
    /// The name asked for.
    pub name: String,
    /// Where the finished file goes (its `.part` sits beside it).
    pub dest: PathBuf,
    pub verified: bool,
    /// Verified mode: continue an existing `.part`.
    pub resume: bool,
    /// Encoding of the name in lesson mode (GBK for a Windows lesson server).
    pub name_encoding: TextEncoding,
    pub connect_timeout: Duration,
    /// Replace `dest` if it exists (otherwise that is an error).
    pub overwrite: bool,
    /// A server that sends nothing for this long (its answer, or more of the file) has
    /// stalled, and the download ends.
    pub stall_timeout: Duration,
}

impl DownloadConfig {
    pub fn new(host: impl Into<String>, port: u16, name: impl Into<String>, dest: PathBuf) -> Self {
        Self {
            host: host.into(),
            port,
            name: name.into(),
            dest,
            verified: false,
            resume: false,
            name_encoding: TextEncoding::Utf8,
            connect_timeout: Duration::from_secs(5),
            overwrite: false,
            stall_timeout: STALL,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DownloadEvent {
    Connected {
        peer: SocketAddr,
    },
    /// Verified mode: what the server says the file is.
    Header {
        size: u64,
        digest: String,
        offset: u64,
    },
    Progress {
        /// Bytes in the `.part` now (including a resumed prefix).
        have: u64,
        total: Option<u64>,
        /// Bytes per second over the transfer so far.
        rate: f64,
    },
    Done {
        path: PathBuf,
        bytes: u64,
        verified: bool,
        took: Duration,
    },
    Failed {
        error: NetError,
        /// The `.part` kept for a resume, if any.
        kept: Option<PathBuf>,
    },
}

pub type DownloadMsg = Tagged<DownloadEvent>;

/// The grip on one download (see [`super::engine`]): `stop` cancels it (the `.part` is kept
/// for a resume), `join` cancels and waits.
pub type DownloadHandle = Engine<Stop>;

/// The `.part` path for a destination.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

/// `dest`, or the first free `name (1).ext`, `name (2).ext`, ... beside it.
pub fn free_name(dest: &Path) -> PathBuf {
    if !dest.exists() && !part_path(dest).exists() {
        return dest.to_path_buf();
    }
    let stem = dest
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = dest
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let dir = dest.parent().unwrap_or_else(|| Path::new(""));
    for n in 1..10_000 {
        let candidate = dir.join(format!("{stem} ({n}){ext}"));
        if !candidate.exists() && !part_path(&candidate).exists() {
            return candidate;
        }
    }
    dest.to_path_buf()
}

pub fn spawn_download(
    config: DownloadConfig,
    events: Sender<DownloadMsg>,
    waker: Waker,
) -> io::Result<DownloadHandle> {
    engine::spawn("dl", events, waker, None, move |emitter, control| {
        let emit = |event| emitter.emit(event);
        let (error, kept) = match run(&config, control.stop_flag(), &emit) {
            Ok(()) => return,
            Err(failure) => failure,
        };
        emit(DownloadEvent::Failed { error, kept });
    })
}

fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, NetError> {
    let host = normalize_host(host);
    if host.is_empty() {
        return Err(NetError::new(NetErrorKind::EmptyHost, ""));
    }
    if port == 0 {
        return Err(NetError::new(NetErrorKind::InvalidPort, "0"));
    }
    let addrs = super::resolve::lookup(host, port, timeout)?;
    let mut last = NetError::new(NetErrorKind::NameNotResolved, host);
    let started = Instant::now();
    let count = addrs.len();
    for (i, addr) in addrs.into_iter().enumerate() {
        let timeout = super::resolve::attempt_timeout(timeout, started, count - i);
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = NetError::from_io(&e),
        }
    }
    Err(last)
}

type Failure = (NetError, Option<PathBuf>);

/// The `.part` a resume was asked to continue, if it is there: a resume that fails before
/// any data arrives (server down, cut inside the header) leaves it as it was, and must still
/// say so, or the user loses the way to resume it.
fn resumable(config: &DownloadConfig) -> Option<PathBuf> {
    let part = part_path(&config.dest);
    (config.verified && config.resume && part.exists()).then_some(part)
}

fn run(
    config: &DownloadConfig,
    cancel: &AtomicBool,
    emit: &dyn Fn(DownloadEvent),
) -> Result<(), Failure> {
    if config.dest.exists() && !config.overwrite {
        return Err((
            NetError::new(
                NetErrorKind::DestinationExists,
                config.dest.display().to_string(),
            ),
            None,
        ));
    }
    let stream = connect(&config.host, config.port, config.connect_timeout)
        .map_err(|e| (e, resumable(config)))?;
    if let Ok(peer) = stream.peer_addr() {
        emit(DownloadEvent::Connected { peer });
    }
    // A stalled server must not hold a cancelled download forever.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(250)));
    if config.verified {
        verified(config, stream, cancel, emit)
    } else {
        lesson(config, stream, cancel, emit)
    }
}

/// The bookkeeping every receive loop shares: cancel, the stall limit, and progress.
struct Meter<'a> {
    cancel: &'a AtomicBool,
    emit: &'a dyn Fn(DownloadEvent),
    start_have: u64,
    total: Option<u64>,
    started: Instant,
    last_report: Instant,
    last_data: Instant,
    got: u64,
    stall: Duration,
}

impl<'a> Meter<'a> {
    fn new(
        cancel: &'a AtomicBool,
        emit: &'a dyn Fn(DownloadEvent),
        start_have: u64,
        total: Option<u64>,
        stall: Duration,
    ) -> Self {
        let now = Instant::now();
        Self {
            cancel,
            emit,
            start_have,
            total,
            started: now,
            last_report: now,
            last_data: now,
            got: 0,
            stall,
        }
    }

    /// Before each read: cancelled, or stalled for too long?
    fn check(&self) -> Result<(), NetError> {
        if self.cancel.load(Ordering::SeqCst) {
            return Err(NetError::new(NetErrorKind::Cancelled, ""));
        }
        if self.last_data.elapsed() > self.stall {
            return Err(NetError::new(
                NetErrorKind::TimedOut,
                format!("no data for {:.0} s", self.stall.as_secs_f64()),
            ));
        }
        Ok(())
    }

    /// `n` more bytes are safely written; reports progress at most every PROGRESS_EVERY.
    fn add(&mut self, n: u64) {
        self.last_data = Instant::now();
        self.got += n;
        if self.last_report.elapsed() >= PROGRESS_EVERY {
            self.last_report = Instant::now();
            self.report();
        }
    }

    fn report(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        (self.emit)(DownloadEvent::Progress {
            have: self.start_have + self.got,
            total: self.total,
            rate: self.got as f64 / secs,
        });
    }

    /// The last report; the bytes received.
    fn finish(self) -> u64 {
        self.report();
        self.got
    }
}

/// Reads until EOF, calling `sink` with each chunk; honours cancel; reports progress.
fn pump(
    reader: &mut impl Read,
    cancel: &AtomicBool,
    stall: Duration,
    start_have: u64,
    total: Option<u64>,
    emit: &dyn Fn(DownloadEvent),
    mut sink: impl FnMut(&[u8]) -> Result<(), NetError>,
) -> Result<u64, NetError> {
    let mut buf = vec![0u8; READ_BUF];
    let mut meter = Meter::new(cancel, emit, start_have, total, stall);
    loop {
        meter.check()?;
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                sink(&buf[..n])?;
                meter.add(n as u64);
            }
            Err(e) if super::is_wait(&e) => {}
            Err(e) => return Err(NetError::from_io(&e)),
        }
    }
    Ok(meter.finish())
}

/// Lesson-mode receiving without copying through user space (Linux: `splice`).
mod zero_copy {
    use std::fs::File;
    use std::net::TcpStream;
    use std::path::Path;
    use std::sync::atomic::AtomicBool;

    use super::{DownloadEvent, Meter};
    use crate::net::NetError;

    pub(super) enum Pumped {
        /// Everything up to the server's close: this many bytes.
        All(u64),
        /// Splicing is not possible here; this many bytes were written, carry on reading.
        Fallback(u64),
    }

    /// Splices the socket into the file until the server closes, where the system can
    /// (Linux); elsewhere, or for a file that cannot be spliced into, says `Fallback` with
    /// the bytes already written, and the caller reads the rest.
    pub(super) fn pump(
        stream: &TcpStream,
        file: &File,
        part: &Path,
        cancel: &AtomicBool,
        stall: std::time::Duration,
        emit: &dyn Fn(DownloadEvent),
    ) -> Result<Pumped, NetError> {
        use std::io::{self, Write};

        use super::READ_BUF;
        use crate::net::sys::{SpliceError, Splicer};

        let Some(pipe) = Splicer::new(READ_BUF) else {
            return Ok(Pumped::Fallback(0));
        };
        let mut meter = Meter::new(cancel, emit, 0, None, stall);
        loop {
            meter.check()?;
            let n = match pipe.from_socket(stream, READ_BUF) {
                Ok(n) => n,
                Err(SpliceError::Io(e)) if crate::net::is_wait(&e) => {
                    continue;
                }
                Err(SpliceError::Unsupported) if meter.got == 0 => {
                    return Ok(Pumped::Fallback(0));
                }
                Err(SpliceError::Unsupported) => {
                    return Err(NetError::from_io(&io::Error::from(
                        io::ErrorKind::Unsupported,
                    )));
                }
                Err(SpliceError::Io(e)) => return Err(NetError::from_io(&e)),
            };
            if n == 0 {
                break;
            }
            let mut left = n;
            while left > 0 {
                match pipe.to_file(file, left) {
                    Ok(0) => {
                        let e = io::Error::new(io::ErrorKind::WriteZero, "the file took no bytes");
                        return Err(NetError::file_write(part, &e));
                    }
                    Ok(m) => left -= m,
                    Err(SpliceError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(SpliceError::Unsupported) => {
                        // This file cannot be spliced into: move what the pipe holds by
                        // hand, then let the caller read the rest.
                        let mut buf = vec![0u8; left];
                        let mut filled = 0;
                        while filled < left {
                            match pipe.read_pipe(&mut buf[filled..]) {
                                Ok(0) => {
                                    let e = io::Error::from(io::ErrorKind::UnexpectedEof);
                                    return Err(NetError::file_write(part, &e));
                                }
                                Ok(r) => filled += r,
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                                Err(e) => return Err(NetError::file_write(part, &e)),
                            }
                        }
                        let mut f = file;
                        f.write_all(&buf)
                            .map_err(|e| NetError::file_write(part, &e))?;
                        return Ok(Pumped::Fallback(meter.got + left as u64));
                    }
                    Err(SpliceError::Io(e)) => return Err(NetError::file_write(part, &e)),
                }
            }
            meter.add(n as u64);
        }
        Ok(Pumped::All(meter.finish()))
    }
}

/// Opens `part` for writing and takes its lock: a second download to the same destination
/// is refused ([`NetErrorKind::PartInUse`]) instead of writing into the first one's file.
fn open_locked(part: &Path, create: bool) -> Result<File, NetError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(part)
        .map_err(|e| NetError::file_write(part, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(NetError::new(
            NetErrorKind::PartInUse,
            part.display().to_string(),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(NetError::file_write(part, &e)),
    }
}

/// Gives the complete `.part` its final name, still holding its lock (`_locked`), and never
/// over a file that appeared there meanwhile, unless `overwrite`.
fn finish(part: &Path, dest: &Path, overwrite: bool, _locked: &File) -> Result<(), NetError> {
    let renamed = if overwrite {
        std::fs::rename(part, dest)
    } else {
        super::sys::rename_no_replace(part, dest)
    };
    renamed.map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            NetError::new(NetErrorKind::DestinationExists, dest.display().to_string())
        } else {
            NetError::file_write(dest, &e)
        }
    })
}

fn lesson(
    config: &DownloadConfig,
    mut stream: TcpStream,
    cancel: &AtomicBool,
    emit: &dyn Fn(DownloadEvent),
) -> Result<(), Failure> {
    let name = config
        .name_encoding
        .encode(&config.name)
        .map_err(|e| (NetError::new(NetErrorKind::Other, e.to_string()), None))?;
    stream
        .write_all(&name)
        .map_err(|e| (NetError::from_io(&e), None))?;
    let part = part_path(&config.dest);
    let mut file = open_locked(&part, true).map_err(|e| (e, None))?;
    file.set_len(0)
        .map_err(|e| (NetError::file_write(&part, &e), None))?;
    let started = Instant::now();
    // Linux: socket → pipe → file with splice(), no copy through user space; where that is
    // not possible (or on other systems), read() and write().
    let result = match zero_copy::pump(&stream, &file, &part, cancel, config.stall_timeout, emit) {
        Ok(zero_copy::Pumped::All(n)) => Ok(n),
        Ok(zero_copy::Pumped::Fallback(done)) => pump(
            &mut stream,
            cancel,
            config.stall_timeout,
            done,
            None,
            emit,
            |chunk| {
                file.write_all(chunk)
                    .map_err(|e| NetError::file_write(&part, &e))
            },
        )
        .map(|n| n + done),
        Err(e) => Err(e),
    }
    .and_then(|n| {
        file.sync_all()
            .map_err(|e| NetError::file_write(&part, &e))
            .map(|()| n)
    });
    // The `.part` is removed while its lock is still held: no other download has it open.
    let outcome = match result {
        Ok(0) => {
            let _ = std::fs::remove_file(&part);
            Err((
                NetError::new(NetErrorKind::NothingReceived, &config.name),
                None,
            ))
        }
        Ok(bytes) => match finish(&part, &config.dest, config.overwrite, &file) {
            Ok(()) => {
                emit(DownloadEvent::Done {
                    path: config.dest.clone(),
                    bytes,
                    verified: false,
                    took: started.elapsed(),
                });
                Ok(())
            }
            // Complete, but the name was taken meanwhile: keep the file under its `.part`.
            Err(e) if e.kind == NetErrorKind::DestinationExists => Err((e, Some(part.clone()))),
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                Err((e, None))
            }
        },
        Err(e) => {
            // Lesson mode cannot tell a whole file from a cut one, so nothing is kept.
            let _ = std::fs::remove_file(&part);
            Err((e, None))
        }
    };
    drop(file);
    outcome
}

fn verified(
    config: &DownloadConfig,
    mut stream: TcpStream,
    cancel: &AtomicBool,
    emit: &dyn Fn(DownloadEvent),
) -> Result<(), Failure> {
    let part = part_path(&config.dest);
    let mut hasher = blake3::Hasher::new();
    let mut have = 0u64;
    // A resume locks the `.part` before hashing it, so nothing can change it in between.
    let mut locked = None;
    if config.resume && part.exists() {
        let f = open_locked(&part, false).map_err(|e| (e, resumable(config)))?;
        hasher
            .update_reader(&f)
            .map_err(|e| (NetError::file_read(&part, &e), resumable(config)))?;
        have = f
            .metadata()
            .map_err(|e| (NetError::file_read(&part, &e), resumable(config)))?
            .len();
        locked = Some(f);
    }
    stream
        .write_all(&get_request(&config.name, have))
        .map_err(|e| (NetError::from_io(&e), resumable(config)))?;
    let mut reader = BufReader::with_capacity(READ_BUF, stream);
    let header = read_header(&mut reader, cancel, Instant::now() + config.stall_timeout)
        .map_err(|e| (e, resumable(config)))?;
    let (size, digest) = match header {
        Reply::Ok { size, digest } => (size, digest),
        Reply::NotFound => {
            return Err((
                NetError::new(NetErrorKind::RemoteNotFound, &config.name),
                resumable(config),
            ));
        }
        Reply::Refused(r) => {
            return Err((
                NetError::new(NetErrorKind::RemoteRefused, r.code()),
                resumable(config),
            ));
        }
        Reply::List { .. } => {
            return Err((
                NetError::new(NetErrorKind::BadReply, "LIST"),
                resumable(config),
            ));
        }
    };
    if have > size {
        return Err((
            NetError::new(
                NetErrorKind::Incomplete,
                format!("{} is longer than the remote file", part.display()),
            ),
            Some(part),
        ));
    }
    emit(DownloadEvent::Header {
        size,
        digest: digest.clone(),
        offset: have,
    });
    // Append only to the prefix just hashed; anything else in a leftover .part would end up
    // in front of the file while the digest (of the new bytes alone) still matched.
    let mut file = match locked {
        Some(f) => f,
        None => open_locked(&part, true).map_err(|e| (e, None))?,
    };
    file.set_len(have)
        .and_then(|()| file.seek(io::SeekFrom::Start(have)).map(|_| ()))
        .map_err(|e| (NetError::file_write(&part, &e), None))?;
    let started = Instant::now();
    // Exactly the bytes announced and no more: a server that keeps sending cannot fill the
    // disk. (Whatever it sends past them is never read; the connection is closed below.)
    let mut body = Read::by_ref(&mut reader).take(size - have);
    let result = pump(
        &mut body,
        cancel,
        config.stall_timeout,
        have,
        Some(size),
        emit,
        |chunk| {
            hasher.update(chunk);
            file.write_all(chunk)
                .map_err(|e| NetError::file_write(&part, &e))
        },
    )
    .and_then(|n| {
        file.sync_all()
            .map_err(|e| NetError::file_write(&part, &e))
            .map(|()| n)
    });
    let _ = reader.get_ref().shutdown(Shutdown::Both);
    let got = match result {
        Ok(n) => n,
        Err(e) => {
            // A disk-full .part is kept too: free some space and resume.
            return Err((e, Some(part)));
        }
    };
    let total = have + got;
    if total != size {
        return Err((
            NetError::new(NetErrorKind::Incomplete, format!("{total} of {size} bytes")),
            Some(part),
        ));
    }
    if hasher.finalize().to_hex().as_str() != digest {
        let _ = std::fs::remove_file(&part);
        return Err((NetError::new(NetErrorKind::DigestMismatch, digest), None));
    }
    finish(&part, &config.dest, config.overwrite, &file).map_err(|e| (e, Some(part.clone())))?;
    drop(file);
    emit(DownloadEvent::Done {
        path: config.dest.clone(),
        bytes: got,
        verified: true,
        took: started.elapsed(),
    });
    Ok(())
}

/// How a bounded line read ended without a line.
enum LineEnd {
    /// The server closed; what it had sent of the line.
    Closed(Vec<u8>),
    /// The line would be longer than allowed.
    TooLong,
    Cancelled,
    /// `deadline` passed.
    Late,
    Failed(NetError),
}

/// Reads one line of at most `max` bytes (without its `\n`), waiting in the reader's own
/// read-timeout slices until `deadline`, looking at `cancel` between them.
fn read_line(
    reader: &mut impl BufRead,
    max: usize,
    cancel: &AtomicBool,
    deadline: Instant,
) -> Result<Vec<u8>, LineEnd> {
    let mut line = Vec::new();
    loop {
        if cancel.load(Ordering::SeqCst) {
            return Err(LineEnd::Cancelled);
        }
        if Instant::now() >= deadline {
            return Err(LineEnd::Late);
        }
        let mut limited = (&mut *reader).take((max + 1 - line.len()) as u64);
        match limited.read_until(b'\n', &mut line) {
            Ok(0) => return Err(LineEnd::Closed(line)),
            Ok(_) if line.ends_with(b"\n") => {
                line.pop();
                return Ok(line);
            }
            Ok(_) if line.len() > max => return Err(LineEnd::TooLong),
            Ok(_) => {}
            Err(e) if super::is_wait(&e) => {}
            Err(e) => return Err(LineEnd::Failed(NetError::from_io(&e))),
        }
    }
}

/// The reply's first line; a server that has not sent it by `deadline` has stalled.
fn read_header(
    reader: &mut impl BufRead,
    cancel: &AtomicBool,
    deadline: Instant,
) -> Result<Reply, NetError> {
    let line = read_line(reader, MAX_HEADER, cancel, deadline).map_err(|end| match end {
        LineEnd::Closed(part) if part.is_empty() => {
            NetError::new(NetErrorKind::NothingReceived, "")
        }
        LineEnd::Closed(part) => {
            NetError::new(NetErrorKind::BadReply, String::from_utf8_lossy(&part))
        }
        LineEnd::TooLong => NetError::new(NetErrorKind::BadReply, "header too long"),
        LineEnd::Cancelled => NetError::new(NetErrorKind::Cancelled, ""),
        LineEnd::Late => NetError::new(NetErrorKind::TimedOut, "the server sent no answer in time"),
        LineEnd::Failed(e) => e,
    })?;
    Reply::parse(&line)
        .ok_or_else(|| NetError::new(NetErrorKind::BadReply, String::from_utf8_lossy(&line)))
}

/// Asks a verified server for its file names (blocking: call it off the UI thread).
pub fn list_remote(host: &str, port: u16, timeout: Duration) -> Result<Vec<String>, NetError> {
    let mut stream = connect(host, port, timeout)?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| NetError::from_io(&e))?;
    stream
        .write_all(&list_request())
        .map_err(|e| NetError::from_io(&e))?;
    let mut reader = BufReader::new(stream);
    let never = AtomicBool::new(false);
    // The whole listing, not each read, has a time limit: a server trickling a byte at a
    // time cannot hold the caller for ever.
    let deadline = Instant::now() + timeout.max(Duration::from_secs(1)) * 4;
    let count = match read_header(&mut reader, &never, deadline)? {
        Reply::List { count } => count,
        Reply::Refused(r) => return Err(NetError::new(NetErrorKind::RemoteRefused, r.code())),
        other => return Err(NetError::new(NetErrorKind::BadReply, format!("{other:?}"))),
    };
    if count > MAX_LIST_NAMES {
        return Err(NetError::new(
            NetErrorKind::BadReply,
            format!("a listing of {count} names (at most {MAX_LIST_NAMES})"),
        ));
    }
    let mut names = Vec::with_capacity(count);
    while names.len() < count {
        let have = names.len();
        let line =
            read_line(&mut reader, MAX_LIST_LINE, &never, deadline).map_err(|end| match end {
                LineEnd::Closed(_) => {
                    NetError::new(NetErrorKind::Incomplete, format!("{have} of {count} names"))
                }
                LineEnd::TooLong => NetError::new(NetErrorKind::BadReply, "a name line too long"),
                LineEnd::Cancelled | LineEnd::Late => NetError::new(
                    NetErrorKind::TimedOut,
                    format!("{have} of {count} names in time"),
                ),
                LineEnd::Failed(e) => e,
            })?;
        let name = String::from_utf8(line)
            .map_err(|_| NetError::new(NetErrorKind::BadReply, "a name that is not UTF-8"))?;
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_names_never_overwrite() {
        let dir = std::env::temp_dir().join(format!("swb-free-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("a.txt");
        assert_eq!(free_name(&dest), dest);
        std::fs::write(&dest, b"x").unwrap();
        assert_eq!(free_name(&dest), dir.join("a (1).txt"));
        std::fs::write(dir.join("a (1).txt.part"), b"x").unwrap();
        assert_eq!(free_name(&dest), dir.join("a (2).txt"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
