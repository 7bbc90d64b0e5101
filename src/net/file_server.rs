//! The file server of the lesson's exercise 2, answering lesson clients and verified clients
//! on one port (see `proto::download` for the two request formats).
//!
//! Waiting for a request costs no thread: a mio loop accepts connections and reads each first
//! chunk, dropping a client that sends nothing within the request timeout. Once a request is
//! read, one thread serves it — looks the name up inside the shared folder, then streams the
//! file with `std::io::copy` (on Linux that is `sendfile`: the bytes go from the page cache to
//! the socket without passing through this process) — and ends with the connection.
//!
//! Confinement: names are checked (no `..`, no absolute paths, drive letters, backslashes or
//! NUL), then the path is canonicalised and must still lie inside the canonical folder, which
//! catches symlinks pointing out. The file is opened non-blocking (a FIFO cannot stall us) and
//! must be a regular file. Nothing in the folder is ever created or changed.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use flume::{Receiver, Sender, TryRecvError};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};

use super::tcp_server::ServerEnd;
use super::{NetError, NetErrorKind, SessionId, Tagged, Waker, next_session_id};
use crate::proto::download::{
    MAGIC, MAX_REQUEST, NameEncoding, Refusal, Reply, Request, parse_request,
};

const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);
/// Bytes handed to one `io::copy` (so progress can be reported between them).
const COPY_CHUNK: u64 = 8 * 1024 * 1024;
/// Most names a listing returns.
pub const MAX_LISTED: usize = 10_000;

#[derive(Debug, Clone)]
pub struct FileServerConfig {
    pub root: PathBuf,
    pub bind: SocketAddr,
    /// A client that sends no request within this long is dropped.
    pub request_timeout: Duration,
    /// Transfers at once; later requests wait their turn.
    pub max_transfers: Option<usize>,
    pub name_encoding: NameEncoding,
}

impl FileServerConfig {
    pub fn new(root: impl Into<PathBuf>, bind: SocketAddr) -> Self {
        Self {
            root: root.into(),
            bind,
            request_timeout: Duration::from_secs(10),
            max_transfers: None,
            name_encoding: NameEncoding::Auto,
        }
    }
}

/// What a client asked for, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    Lesson(String),
    Verified { name: String, offset: u64 },
    List,
}

/// Why a request was not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotServed {
    Refused(Refusal),
    NotFound,
    /// Nothing arrived within the request timeout.
    Silent,
    /// The server stopped first.
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileServerEvent {
    Listening {
        local: SocketAddr,
        root: PathBuf,
    },
    Connected {
        id: u64,
        peer: SocketAddr,
    },
    Requested {
        id: u64,
        asked: Asked,
    },
    /// Sending began: `size` of the whole file, from `offset`.
    Sending {
        id: u64,
        size: u64,
        offset: u64,
    },
    Progress {
        id: u64,
        sent: u64,
    },
    /// The whole file (from its offset) went out.
    Served {
        id: u64,
        sent: u64,
        took: Duration,
    },
    Listed {
        id: u64,
        count: usize,
    },
    NotServed {
        id: u64,
        why: NotServed,
    },
    /// The transfer broke off (the client went away, ...).
    Failed {
        id: u64,
        sent: u64,
        error: NetError,
    },
    Warning(NetError),
    Stopped {
        end: ServerEnd,
    },
}

pub type FileServerMsg = Tagged<FileServerEvent>;

pub struct FileServerHandle {
    session: SessionId,
    stop: Sender<()>,
    wake: Arc<mio::Waker>,
    join: Option<JoinHandle<()>>,
}

impl FileServerHandle {
    pub fn session(&self) -> SessionId {
        self.session
    }

    pub fn stop(&self) {
        let _ = self.stop.send(());
        let _ = self.wake.wake();
    }

    /// Something that stops the server from another thread (a signal handler).
    pub fn stopper(&self) -> impl Fn() + Send + Sync + 'static {
        let stop = self.stop.clone();
        let wake = self.wake.clone();
        move || {
            let _ = stop.send(());
            let _ = wake.wake();
        }
    }

    /// Stops, and waits for the loop and every transfer to end.
    pub fn join(mut self) {
        self.stop();
        if let Some(join) = self.join.take() {
            let _ = join.join();
        }
    }
}

impl Drop for FileServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Clone)]
struct Emitter {
    session: SessionId,
    events: Sender<FileServerMsg>,
    waker: Waker,
}

impl Emitter {
    fn emit(&self, event: FileServerEvent) {
        let _ = self.events.send(Tagged::now(self.session, event));
        self.waker.wake();
    }
}

pub fn spawn_file_server(
    config: FileServerConfig,
    events: Sender<FileServerMsg>,
    waker: Waker,
) -> io::Result<FileServerHandle> {
    let session = next_session_id();
    let poll = Poll::new()?;
    let wake = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
    let (stop_tx, stop_rx) = flume::unbounded();
    let emitter = Emitter {
        session,
        events,
        waker,
    };
    let loop_wake = wake.clone();
    let join = std::thread::Builder::new()
        .name(format!("files-{session}"))
        .spawn(move || {
            let end = match Loop::start(config, poll, loop_wake, stop_rx, emitter.clone()) {
                Ok(mut l) => l.run(),
                Err(err) => ServerEnd::Failed(err),
            };
            emitter.emit(FileServerEvent::Stopped { end });
        })?;
    Ok(FileServerHandle {
        session,
        stop: stop_tx,
        wake,
        join: Some(join),
    })
}

struct Waiting {
    stream: TcpStream,
    buf: Vec<u8>,
    deadline: Instant,
}

/// Digests of files already hashed, by (path, size, modified).
type DigestCache = Arc<Mutex<HashMap<(PathBuf, u64, Option<SystemTime>), String>>>;

struct Loop {
    poll: Poll,
    wake: Arc<mio::Waker>,
    listener: TcpListener,
    stop: Receiver<()>,
    emitter: Emitter,
    root: PathBuf,
    config: FileServerConfig,
    waiting: HashMap<u64, Waiting>,
    queued: VecDeque<(u64, std::net::TcpStream, Request)>,
    next_id: u64,
    /// Streams of running transfers (a clone each, to cut them off on Stop).
    running: Arc<Mutex<HashMap<u64, std::net::TcpStream>>>,
    /// Set on Stop: transfers still waiting for their client to close give up at once.
    stopping: Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    digests: DigestCache,
}

impl Loop {
    fn start(
        config: FileServerConfig,
        poll: Poll,
        wake: Arc<mio::Waker>,
        stop: Receiver<()>,
        emitter: Emitter,
    ) -> Result<Self, NetError> {
        let root =
            dunce::canonicalize(&config.root).map_err(|e| NetError::file_read(&config.root, &e))?;
        if !root.is_dir() {
            return Err(NetError::new(
                NetErrorKind::FileRead,
                format!("{}: not a folder", root.display()),
            ));
        }
        let addr = config.bind;
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| NetError::from_io(&e))?;
        super::sys::prepare_listener(&socket).map_err(|e| NetError::from_io(&e))?;
        socket
            .bind(&addr.into())
            .map_err(|e| NetError::from_io(&e))?;
        socket.listen(128).map_err(|e| NetError::from_io(&e))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| NetError::from_io(&e))?;
        let local = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or(addr);
        let mut listener = TcpListener::from_std(socket.into());
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(|e| NetError::from_io(&e))?;
        emitter.emit(FileServerEvent::Listening {
            local,
            root: root.clone(),
        });
        Ok(Self {
            poll,
            wake,
            listener,
            stop,
            emitter,
            root,
            config,
            waiting: HashMap::new(),
            queued: VecDeque::new(),
            next_id: 1,
            running: Arc::new(Mutex::new(HashMap::new())),
            stopping: Arc::default(),
            threads: Vec::new(),
            digests: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn run(&mut self) -> ServerEnd {
        let mut events = Events::with_capacity(256);
        loop {
            let next = self.waiting.values().map(|w| w.deadline).min();
            let timeout = next.map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != io::ErrorKind::Interrupted
            {
                self.shutdown();
                return ServerEnd::Failed(NetError::from_io(&e));
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {}
                    Token(id) => self.read_request(id as u64),
                }
            }
            match self.stop.try_recv() {
                Ok(()) | Err(TryRecvError::Disconnected) => {
                    self.shutdown();
                    return ServerEnd::Stopped;
                }
                Err(TryRecvError::Empty) => {}
            }
            self.expire();
            self.threads.retain(|t| !t.is_finished());
            self.start_queued();
        }
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    let id = self.next_id;
                    self.next_id += 1;
                    if let Err(e) = self.poll.registry().register(
                        &mut stream,
                        Token(id as usize),
                        Interest::READABLE,
                    ) {
                        self.emitter
                            .emit(FileServerEvent::Warning(NetError::from_io(&e)));
                        continue;
                    }
                    self.emitter.emit(FileServerEvent::Connected { id, peer });
                    self.waiting.insert(
                        id,
                        Waiting {
                            stream,
                            buf: Vec::new(),
                            deadline: Instant::now() + self.config.request_timeout,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.emitter
                        .emit(FileServerEvent::Warning(NetError::from_io(&e)));
                    break;
                }
            }
        }
    }

    fn read_request(&mut self, id: u64) {
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        let mut chunk = [0u8; 4096];
        let mut closed = false;
        loop {
            match w.stream.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    w.buf.extend_from_slice(&chunk[..n]);
                    if w.buf.len() > MAX_REQUEST {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        // A verified request is a whole line; a lesson request is whatever the first chunk
        // held, as the lesson's server takes one recv().
        let verified = w.buf.starts_with(MAGIC) || (MAGIC.starts_with(&w.buf) && !w.buf.is_empty());
        let complete = if verified {
            w.buf.contains(&b'\n') || w.buf.len() > MAX_REQUEST
        } else {
            !w.buf.is_empty()
        };
        if !complete {
            if closed {
                if let Some(mut w) = self.waiting.remove(&id) {
                    let _ = self.poll.registry().deregister(&mut w.stream);
                }
                self.emitter.emit(FileServerEvent::NotServed {
                    id,
                    why: NotServed::Silent,
                });
            }
            return;
        }
        let Some(mut w) = self.waiting.remove(&id) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut w.stream);
        let stream: std::net::TcpStream = w.stream.into();
        let _ = stream.set_nonblocking(false);
        match parse_request(&w.buf, self.config.name_encoding) {
            Ok(request) => {
                let asked = match &request {
                    Request::Lesson { name } => Asked::Lesson(name.clone()),
                    Request::Get { name, offset } => Asked::Verified {
                        name: name.clone(),
                        offset: *offset,
                    },
                    Request::List => Asked::List,
                };
                self.emitter.emit(FileServerEvent::Requested { id, asked });
                self.queued.push_back((id, stream, request));
                self.start_queued();
            }
            Err(refusal) => {
                let shown = String::from_utf8_lossy(w.buf.strip_prefix(MAGIC).unwrap_or(&w.buf))
                    .trim_end()
                    .chars()
                    .take(200)
                    .collect::<String>();
                self.emitter.emit(FileServerEvent::Requested {
                    id,
                    asked: Asked::Lesson(shown),
                });
                if verified {
                    let _ = (&stream).write_all(&Reply::Refused(refusal).encode());
                }
                let _ = stream.shutdown(Shutdown::Both);
                self.emitter.emit(FileServerEvent::NotServed {
                    id,
                    why: NotServed::Refused(refusal),
                });
            }
        }
    }

    fn expire(&mut self) {
        let now = Instant::now();
        let expired: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(mut w) = self.waiting.remove(&id) {
                let _ = self.poll.registry().deregister(&mut w.stream);
                self.emitter.emit(FileServerEvent::NotServed {
                    id,
                    why: NotServed::Silent,
                });
            }
        }
    }

    fn active(&self) -> usize {
        self.running.lock().map_or(0, |r| r.len())
    }

    fn start_queued(&mut self) {
        while let Some((id, stream, request)) = self.queued.pop_front() {
            if self
                .config
                .max_transfers
                .is_some_and(|max| self.active() >= max)
            {
                self.queued.push_front((id, stream, request));
                return;
            }
            if let (Ok(clone), Ok(mut running)) = (stream.try_clone(), self.running.lock()) {
                running.insert(id, clone);
            }
            let job = Job {
                id,
                stream,
                request,
                root: self.root.clone(),
                emitter: self.emitter.clone(),
                running: self.running.clone(),
                stopping: self.stopping.clone(),
                wake: self.wake.clone(),
                digests: self.digests.clone(),
            };
            match std::thread::Builder::new()
                .name(format!("files-{}-{id}", self.emitter.session))
                .spawn(move || job.serve())
            {
                Ok(t) => self.threads.push(t),
                Err(e) => {
                    if let Ok(mut running) = self.running.lock() {
                        running.remove(&id);
                    }
                    self.emitter
                        .emit(FileServerEvent::Warning(NetError::from_io(&e)));
                }
            }
        }
    }

    fn shutdown(&mut self) {
        for (id, mut w) in self.waiting.drain() {
            let _ = self.poll.registry().deregister(&mut w.stream);
            self.emitter.emit(FileServerEvent::NotServed {
                id,
                why: NotServed::Stopped,
            });
        }
        for (id, stream, _) in self.queued.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
            self.emitter.emit(FileServerEvent::NotServed {
                id,
                why: NotServed::Stopped,
            });
        }
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(running) = self.running.lock() {
            for stream in running.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let _ = self.poll.registry().deregister(&mut self.listener);
    }
}

struct Job {
    id: u64,
    stream: std::net::TcpStream,
    request: Request,
    root: PathBuf,
    emitter: Emitter,
    running: Arc<Mutex<HashMap<u64, std::net::TcpStream>>>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    wake: Arc<mio::Waker>,
    digests: DigestCache,
}

/// Why a name could not be served.
enum Lookup {
    Refused(Refusal),
    NotFound,
}

/// Opens `name` inside `root`, refusing anything that leaves it or is not a regular file.
pub fn open_confined(root: &Path, name: &str) -> Result<(File, PathBuf), Refusal> {
    match lookup(root, name) {
        Ok(found) => Ok(found),
        Err(Lookup::Refused(r)) => Err(r),
        Err(Lookup::NotFound) => Err(Refusal::NotRegularFile),
    }
}

fn lookup(root: &Path, name: &str) -> Result<(File, PathBuf), Lookup> {
    super::sys::check_served_name(name).map_err(Lookup::Refused)?;
    let joined = root.join(name);
    let real = match dunce::canonicalize(&joined) {
        Ok(p) => p,
        Err(_) => return Err(Lookup::NotFound),
    };
    if !real.starts_with(root) {
        return Err(Lookup::Refused(Refusal::OutsideFolder));
    }
    let file = super::sys::open_to_serve(&real).map_err(|_| Lookup::NotFound)?;
    let meta = file.metadata().map_err(|_| Lookup::NotFound)?;
    if !meta.is_file() {
        return Err(Lookup::Refused(Refusal::NotRegularFile));
    }
    Ok((file, real))
}

/// How long a served connection is kept open after our FIN, reading what the client still
/// sends, until it closes its end.
const DRAIN_FOR: Duration = Duration::from_secs(5);

/// Reads and discards until the client closes (or [`DRAIN_FOR`] passes, or an error). Closing
/// a socket with unread input makes the kernel answer with RST instead of FIN, and the RST
/// throws away whatever of the file the client has not read yet: a lesson client that sends
/// its name and then `"\n"` in a second `send()` lost the end of every file. Our FIN is
/// already out (`shutdown(Write)`), so a client that reads to the end sees the whole file and
/// closes, which ends this at once. Waits in slices, so Stop (`stopping`) is never held up.
fn drain_before_close(stream: &std::net::TcpStream, stopping: &std::sync::atomic::AtomicBool) {
    const SLICE: Duration = Duration::from_millis(200);
    let deadline = Instant::now() + DRAIN_FOR;
    let mut buf = [0u8; 4096];
    let mut reader = stream;
    if reader.set_read_timeout(Some(SLICE)).is_err() {
        return;
    }
    while Instant::now() < deadline && !stopping.load(std::sync::atomic::Ordering::SeqCst) {
        match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// BLAKE3 of a whole file, as lowercase hex.
pub fn file_digest(file: &File) -> io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    let mut reader = file;
    reader.seek(SeekFrom::Start(0))?;
    hasher.update_reader(reader)?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// Regular files under `root` (at most [`MAX_LISTED`], four folders deep), '/'-separated.
pub fn list_files(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            if out.len() >= MAX_LISTED {
                return;
            }
            let path = entry.path();
            let Ok(real) = dunce::canonicalize(&path) else {
                continue;
            };
            if !real.starts_with(root) {
                continue;
            }
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let name: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let name = name.join("/");
            if real.is_file() {
                if crate::proto::download::check_name(&name).is_ok() {
                    out.push(name);
                }
            } else if real.is_dir() && depth < 4 && entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(root, &path, depth + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, 0, &mut out);
    out
}

impl Job {
    fn serve(self) {
        let id = self.id;
        let result = match &self.request {
            Request::List => {
                let names = list_files(&self.root);
                let mut body = Reply::List { count: names.len() }.encode();
                for n in &names {
                    body.extend_from_slice(n.as_bytes());
                    body.push(b'\n');
                }
                match (&self.stream).write_all(&body) {
                    Ok(()) => {
                        self.emitter.emit(FileServerEvent::Listed {
                            id,
                            count: names.len(),
                        });
                        Ok(())
                    }
                    Err(e) => Err((0, NetError::from_io(&e))),
                }
            }
            Request::Lesson { name } => self.send_file(name, 0, false),
            Request::Get { name, offset } => self.send_file(name, *offset, true),
        };
        if let Err((sent, error)) = result {
            self.emitter
                .emit(FileServerEvent::Failed { id, sent, error });
        }
        let _ = self.stream.shutdown(Shutdown::Write);
        if let Ok(mut running) = self.running.lock() {
            running.remove(&id);
        }
        // Let the loop start a queued request.
        let _ = self.wake.wake();
        drain_before_close(&self.stream, &self.stopping);
    }

    fn send_file(&self, name: &str, offset: u64, verified: bool) -> Result<(), (u64, NetError)> {
        let id = self.id;
        let mut out = &self.stream;
        let (mut file, real) = match lookup(&self.root, name) {
            Ok(found) => found,
            Err(Lookup::NotFound) => {
                if verified {
                    let _ = out.write_all(&Reply::NotFound.encode());
                }
                self.emitter.emit(FileServerEvent::NotServed {
                    id,
                    why: NotServed::NotFound,
                });
                return Ok(());
            }
            Err(Lookup::Refused(r)) => {
                if verified {
                    let _ = out.write_all(&Reply::Refused(r).encode());
                }
                self.emitter.emit(FileServerEvent::NotServed {
                    id,
                    why: NotServed::Refused(r),
                });
                return Ok(());
            }
        };
        let meta = file
            .metadata()
            .map_err(|e| (0, NetError::file_read(&real, &e)))?;
        let size = meta.len();
        if verified {
            let key = (real.clone(), size, meta.modified().ok());
            let cached = self.digests.lock().ok().and_then(|c| c.get(&key).cloned());
            let digest = match cached {
                Some(d) => d,
                None => {
                    let d = file_digest(&file).map_err(|e| (0, NetError::file_read(&real, &e)))?;
                    if let Ok(mut c) = self.digests.lock() {
                        c.insert(key, d.clone());
                    }
                    d
                }
            };
            out.write_all(&Reply::Ok { size, digest }.encode())
                .map_err(|e| (0, NetError::from_io(&e)))?;
        }
        let offset = offset.min(size);
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| (0, NetError::file_read(&real, &e)))?;
        self.emitter
            .emit(FileServerEvent::Sending { id, size, offset });
        let started = Instant::now();
        let mut sent = 0u64;
        let mut last = Instant::now();
        loop {
            // `&File` through `take`: std still uses sendfile for this on Linux.
            let n = io::copy(&mut (&file).take(COPY_CHUNK), &mut out)
                .map_err(|e| (sent, NetError::from_io(&e)))?;
            if n == 0 {
                break;
            }
            sent += n;
            if last.elapsed() >= Duration::from_millis(100) {
                last = Instant::now();
                self.emitter.emit(FileServerEvent::Progress { id, sent });
            }
        }
        self.emitter.emit(FileServerEvent::Served {
            id,
            sent,
            took: started.elapsed(),
        });
        Ok(())
    }
}
