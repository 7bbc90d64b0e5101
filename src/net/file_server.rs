//! The file server of the lesson's exercise 2, answering lesson clients and verified clients
//! on one port (see `proto::download` for the two request formats).
//!
//! Waiting for a request costs no thread: a mio loop accepts connections and reads each first
//! chunk, dropping a client that sends nothing within the request timeout. Once a request is
//! read, one thread serves it — looks the name up inside the shared folder, then streams the
//! file with `std::io::copy` (on Linux that is `sendfile`: the bytes go from the page cache to
//! the socket without passing through this process) — and ends with the connection.
//!
//! Confinement: names are checked (no `..`, no absolute paths, drive letters, backslashes,
//! NUL or control characters), then the path is canonicalised and must still lie inside the
//! canonical folder, which catches symlinks pointing out. The open walks that canonical path
//! again beneath the folder without following any link (`sys::open_beneath`), so a symlink
//! swapped in after the check leads nowhere. The file must be a regular file with one name
//! (a hard link could be a second name of a file outside). Nothing in the folder is ever
//! created or changed.
//!
//! Bounds, against peers that are slow, silent or many: at most `max_waiting` clients may be
//! still to send their request (the oldest is dropped for a newcomer); at most
//! `max_transfers` transfers run at once and `max_queued` requests wait for a place (the next
//! is refused as busy); a transfer that can send nothing for `stall_timeout` ends; refused
//! clients are closed cleanly (FIN, then their leftover input read) by the loop, costing no
//! thread; and when `accept()` fails (out of descriptors) it is retried on a timer, since
//! the listener would not wake again for the clients already in its backlog.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::engine::{self, Engine, Input, Stop};
use flume::{Receiver, Sender, TryRecvError};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};

use super::tcp_server::ServerEnd;
use super::{NetError, NetErrorKind, Tagged, Waker};
use crate::proto::download::{
    MAGIC, MAX_REQUEST, NameEncoding, Refusal, Reply, Request, parse_request,
};

const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);
/// Bytes handed to one `io::copy` (so progress can be reported between them).
const COPY_CHUNK: u64 = 1024 * 1024;
/// A send waits at most this long before the transfer looks at its pulse.
const PULSE_SLICE: Duration = Duration::from_millis(250);
/// Transfers at once when no limit is set: one thread each.
pub const DEFAULT_MAX_TRANSFERS: usize = 256;
/// How long `accept()` waits to be tried again after it failed (out of descriptors).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// Digests remembered (a path, its size and time of change, and 64 hex digits each).
const DIGESTS_KEPT: usize = 1024;
/// How long a transfer waits for a descriptor to open its file with.
const OUT_OF_FILES_PATIENCE: Duration = Duration::from_secs(5);
/// Descriptors the loop holds spare (duplicates of the listener) and lets go of when
/// `accept()` runs out, so that the transfers already accepted can open their files.
const FD_RESERVE: usize = 8;
/// Most names a listing returns.
pub const MAX_LISTED: usize = 10_000;

#[derive(Debug, Clone)]
pub struct FileServerConfig {
    pub root: PathBuf,
    pub bind: SocketAddr,
    /// A client that sends no request within this long is dropped.
    pub request_timeout: Duration,
    /// Transfers at once; later requests wait their turn. `None`: up to
    /// [`DEFAULT_MAX_TRANSFERS`].
    pub max_transfers: Option<usize>,
    /// Requests that may wait for a place; the next is refused as busy.
    pub max_queued: usize,
    /// Clients that may be connected and still to send their request.
    pub max_waiting: usize,
    /// A transfer that can send nothing for this long is ended.
    pub stall_timeout: Duration,
    pub name_encoding: NameEncoding,
}

impl FileServerConfig {
    pub fn new(root: impl Into<PathBuf>, bind: SocketAddr) -> Self {
        Self {
            root: root.into(),
            bind,
            request_timeout: Duration::from_secs(10),
            max_transfers: None,
            max_queued: 64,
            max_waiting: 1024,
            stall_timeout: Duration::from_secs(15),
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
    /// Dropped while still to send its request, to make room: too many clients were.
    Crowded,
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

/// The UI's grip on a file server (see [`super::engine`]): `stop`, `stopper` for a signal
/// handler, `join` to stop and wait for the loop and every transfer to end.
pub type FileServerHandle = Engine<Stop>;

type Emitter = engine::Emitter<FileServerEvent>;

pub fn spawn_file_server(
    config: FileServerConfig,
    events: Sender<FileServerMsg>,
    waker: Waker,
) -> io::Result<FileServerHandle> {
    let poll = Poll::new()?;
    let wake = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
    let poke = engine::mio_poke(&wake);
    engine::spawn(
        "files",
        events,
        waker,
        Some(poke),
        move |emitter, control| {
            let (stop, _) = control.into_channel();
            let end = match Loop::start(config, poll, wake, stop, emitter.clone()) {
                Ok(mut l) => l.run(),
                Err(err) => ServerEnd::Failed(err),
            };
            emitter.emit(FileServerEvent::Stopped { end });
        },
    )
}

/// A connection the loop holds without a thread: still to send its request, or refused and
/// being closed cleanly.
struct Waiting {
    stream: TcpStream,
    buf: Vec<u8>,
    deadline: Instant,
    /// Refused: our FIN is out, and what the client still sends is read and dropped until it
    /// closes (closing with unread input would make the kernel answer RST and throw away the
    /// reply).
    closing: bool,
}

type DigestKey = (PathBuf, u64, Option<SystemTime>);

/// Digests of files already hashed, by (path, size, modified): at most [`DIGESTS_KEPT`],
/// the oldest forgotten first.
#[derive(Default)]
pub struct DigestCache {
    map: HashMap<DigestKey, String>,
    order: VecDeque<DigestKey>,
}

impl DigestCache {
    pub fn get(&self, key: &DigestKey) -> Option<&String> {
        self.map.get(key)
    }

    pub fn insert(&mut self, key: DigestKey, digest: String) {
        if self.map.insert(key.clone(), digest).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > DIGESTS_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

type SharedDigests = Arc<Mutex<DigestCache>>;

struct Loop {
    poll: Poll,
    wake: Arc<mio::Waker>,
    listener: TcpListener,
    stop: Receiver<Input<Stop>>,
    emitter: Emitter,
    root: PathBuf,
    config: FileServerConfig,
    waiting: HashMap<u64, Waiting>,
    queued: VecDeque<(u64, std::net::TcpStream, Request)>,
    next_id: u64,
    /// Streams of running transfers (a clone each, to cut them off on Stop).
    running: Arc<Mutex<HashMap<u64, Arc<std::net::TcpStream>>>>,
    /// Set on Stop: transfers still waiting for their client to close give up at once.
    stopping: Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    digests: SharedDigests,
    /// When to try `accept()` again after it failed.
    accept_retry: Option<Instant>,
    /// `accept()` has failed and not yet succeeded again (warned once).
    accept_failing: bool,
    /// [`FD_RESERVE`] spare descriptors. When `accept()` runs out they are let go (the
    /// accepted clients' transfers need them to open their files), and nothing more is
    /// accepted until all of them could be taken again: accepting up to the last descriptor
    /// would leave every accepted client unable to be served.
    reserve: Vec<Socket>,
    /// Connections open when the reserve was let go: it is taken back only once fewer are.
    starved_at: Option<usize>,
    /// Transfers that are over and wait for their client to close.
    draining: Arc<std::sync::atomic::AtomicUsize>,
    /// Out of descriptors: set while the reserve is let go.
    pressure: Arc<std::sync::atomic::AtomicBool>,
}

impl Loop {
    fn start(
        config: FileServerConfig,
        poll: Poll,
        wake: Arc<mio::Waker>,
        stop: Receiver<Input<Stop>>,
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
            digests: Arc::default(),
            accept_retry: None,
            accept_failing: false,
            reserve: Vec::new(),
            starved_at: None,
            draining: Arc::default(),
            pressure: Arc::default(),
        })
    }

    fn run(&mut self) -> ServerEnd {
        let mut events = Events::with_capacity(256);
        loop {
            let next = self
                .waiting
                .values()
                .map(|w| w.deadline)
                .chain(self.accept_retry)
                .min();
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
                Ok(Input::Command(Stop)) | Err(TryRecvError::Disconnected) => {
                    self.shutdown();
                    return ServerEnd::Stopped;
                }
                Err(TryRecvError::Empty) => {}
            }
            self.expire();
            if self.accept_retry.is_some_and(|t| t <= Instant::now()) {
                self.accept_retry = None;
                self.accept_all();
            }
            self.threads.retain(|t| !t.is_finished());
            self.start_queued();
        }
    }

    /// Takes the spare descriptors back; `false` while they cannot all be had.
    fn refill_reserve(&mut self) -> bool {
        while self.reserve.len() < FD_RESERVE {
            match socket2::SockRef::from(&self.listener).try_clone() {
                Ok(spare) => self.reserve.push(spare),
                Err(_) => return false,
            }
        }
        true
    }

    /// Connections open now, each holding descriptors.
    fn live(&self) -> usize {
        self.waiting.len()
            + self.queued.len()
            + self.active()
            + self.draining.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn accept_all(&mut self) {
        let eased = self.starved_at.is_none_or(|n| self.live() < n);
        if !eased || !self.refill_reserve() {
            self.accept_retry = Some(Instant::now() + ACCEPT_RETRY);
            return;
        }
        self.starved_at = None;
        self.pressure
            .store(false, std::sync::atomic::Ordering::SeqCst);
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    self.accept_failing = false;
                    let id = self.next_id;
                    self.next_id += 1;
                    self.make_room();
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
                            closing: false,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors (or a connection aborted in the backlog): the
                    // listener, edge-triggered, would not wake again for the clients already
                    // waiting in the backlog, so try again soon; warn once per bad spell.
                    if !self.accept_failing {
                        self.accept_failing = true;
                        self.emitter
                            .emit(FileServerEvent::Warning(NetError::from_io(&e)));
                    }
                    if super::sys::too_many_open_files(&e) {
                        self.reserve.clear();
                        self.starved_at = Some(self.live());
                        self.pressure
                            .store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    self.accept_retry = Some(Instant::now() + ACCEPT_RETRY);
                    break;
                }
            }
        }
    }

    /// Keeps the connections without a thread within `max_waiting`: the oldest goes first
    /// (a slow-loris peer's, most likely; a real client sends its request at once).
    fn make_room(&mut self) {
        while self.waiting.len() >= self.config.max_waiting.max(1) {
            let Some(oldest) = self.waiting.keys().min().copied() else {
                return;
            };
            if let Some(mut w) = self.waiting.remove(&oldest) {
                let _ = self.poll.registry().deregister(&mut w.stream);
                if !w.closing {
                    self.emitter.emit(FileServerEvent::NotServed {
                        id: oldest,
                        why: NotServed::Crowded,
                    });
                }
            }
        }
    }

    /// Sends `reply` (if any) and our FIN, and keeps the connection until the client closes
    /// (or a few seconds pass), reading and dropping what it still sends.
    fn close_cleanly(&mut self, id: u64, mut w: Waiting, reply: Option<Vec<u8>>) {
        if let Some(reply) = reply {
            // A short line into an empty send buffer: it goes at once, or not at all.
            let _ = w.stream.write(&reply);
        }
        let _ = w.stream.shutdown(Shutdown::Write);
        w.closing = true;
        w.buf = Vec::new();
        w.deadline = Instant::now() + DRAIN_FOR;
        self.waiting.insert(id, w);
        // Anything already queued is read now: the edge has passed.
        self.read_request(id);
    }

    fn read_request(&mut self, id: u64) {
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        let mut chunk = [0u8; 4096];
        if w.closing {
            loop {
                match w.stream.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            if let Some(mut w) = self.waiting.remove(&id) {
                let _ = self.poll.registry().deregister(&mut w.stream);
            }
            return;
        }
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
                if self.active() >= self.max_transfers()
                    && self.queued.len() >= self.config.max_queued
                {
                    // No place and no room to wait: a verified client is told; a lesson
                    // client, whose protocol has no word for it, sees a clean close.
                    let reply = verified.then(|| Reply::Refused(Refusal::Busy).encode());
                    self.close_cleanly(id, w, reply);
                    self.emitter.emit(FileServerEvent::NotServed {
                        id,
                        why: NotServed::Refused(Refusal::Busy),
                    });
                    return;
                }
                let _ = self.poll.registry().deregister(&mut w.stream);
                let stream: std::net::TcpStream = w.stream.into();
                let _ = stream.set_nonblocking(false);
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
                let reply = verified.then(|| Reply::Refused(refusal).encode());
                self.close_cleanly(id, w, reply);
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
                if !w.closing {
                    self.emitter.emit(FileServerEvent::NotServed {
                        id,
                        why: NotServed::Silent,
                    });
                }
            }
        }
    }

    fn active(&self) -> usize {
        self.running.lock().map_or(0, |r| r.len())
    }

    fn max_transfers(&self) -> usize {
        self.config
            .max_transfers
            .unwrap_or(DEFAULT_MAX_TRANSFERS)
            .max(1)
    }

    fn start_queued(&mut self) {
        while let Some((id, stream, request)) = self.queued.pop_front() {
            if self.active() >= self.max_transfers() {
                self.queued.push_front((id, stream, request));
                return;
            }
            // Shared, not duplicated: a transfer costs no descriptor more than its socket.
            let stream = Arc::new(stream);
            if let Ok(mut running) = self.running.lock() {
                running.insert(id, stream.clone());
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
                stall: self.config.stall_timeout,
                draining: self.draining.clone(),
                pressure: self.pressure.clone(),
            };
            match std::thread::Builder::new()
                .name(format!("files-{}-{id}", self.emitter.session()))
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
            if !w.closing {
                self.emitter.emit(FileServerEvent::NotServed {
                    id,
                    why: NotServed::Stopped,
                });
            }
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
    stream: Arc<std::net::TcpStream>,
    request: Request,
    root: PathBuf,
    emitter: Emitter,
    running: Arc<Mutex<HashMap<u64, Arc<std::net::TcpStream>>>>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    wake: Arc<mio::Waker>,
    digests: SharedDigests,
    stall: Duration,
    draining: Arc<std::sync::atomic::AtomicUsize>,
    pressure: Arc<std::sync::atomic::AtomicBool>,
}

/// Why a name could not be served.
enum Lookup {
    Refused(Refusal),
    NotFound,
    /// The process is out of descriptors: the file is there, but cannot be opened now.
    OutOfFiles(io::Error),
}

/// Opens `name` inside `root`, refusing anything that leaves it or is not a regular file.
pub fn open_confined(root: &Path, name: &str) -> Result<(File, PathBuf), Refusal> {
    match lookup(root, name) {
        Ok(found) => Ok(found),
        Err(Lookup::Refused(r)) => Err(r),
        Err(Lookup::NotFound | Lookup::OutOfFiles(_)) => Err(Refusal::NotRegularFile),
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
    // The check above and this open are two steps: whatever was swapped in between, the
    // open walks `real` beneath the folder without following links.
    let file = super::sys::open_beneath(root, &real).map_err(|e| {
        if super::sys::too_many_open_files(&e) {
            Lookup::OutOfFiles(e)
        } else {
            Lookup::NotFound
        }
    })?;
    let meta = file.metadata().map_err(|_| Lookup::NotFound)?;
    if !meta.is_file() {
        return Err(Lookup::Refused(Refusal::NotRegularFile));
    }
    if super::sys::link_count(&file).is_some_and(|n| n > 1) {
        return Err(Lookup::Refused(Refusal::HardLink));
    }
    Ok((file, real))
}

/// A send that gave up after its slice (`SO_SNDTIMEO`).
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// How long a served connection is kept open after our FIN, reading what the client still
/// sends, until it closes its end.
const DRAIN_FOR: Duration = Duration::from_secs(5);

/// Reads and discards until the client closes (or [`DRAIN_FOR`] passes, or an error). Closing
/// a socket with unread input makes the kernel answer with RST instead of FIN, and the RST
/// throws away whatever of the file the client has not read yet: a lesson client that sends
/// its name and then `"\n"` in a second `send()` lost the end of every file. Our FIN is
/// already out (`shutdown(Write)`), so a client that reads to the end sees the whole file and
/// closes, which ends this at once. Waits in slices, so Stop (`stopping`) is never held up;
/// and when the process is out of descriptors (`pressure`), this one is given back after
/// what has already arrived is read: a client that reads in turn, one connection after
/// another, would otherwise hold every descriptor in this wait while the one it waits for
/// cannot open its file.
fn drain_before_close(
    stream: &std::net::TcpStream,
    stopping: &std::sync::atomic::AtomicBool,
    pressure: &std::sync::atomic::AtomicBool,
) {
    const SLICE: Duration = Duration::from_millis(200);
    let deadline = Instant::now() + DRAIN_FOR;
    let mut buf = [0u8; 4096];
    let mut reader = stream;
    if reader.set_read_timeout(Some(SLICE)).is_err() {
        return;
    }
    while Instant::now() < deadline && !stopping.load(std::sync::atomic::Ordering::SeqCst) {
        if pressure.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = reader.set_nonblocking(true);
            while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
            return;
        }
        match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if super::is_wait(&e) => {}
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
                // Only what a request for it would be given: the name passes the checks
                // (no newline to break the reply's lines) and the file opens beneath the
                // folder with one name.
                let servable = crate::proto::download::check_name(&name).is_ok()
                    && super::sys::open_beneath(root, &real)
                        .is_ok_and(|f| super::sys::link_count(&f).is_none_or(|n| n <= 1));
                if servable {
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
        // The pulse: sends wait in slices, and a transfer that moves nothing for the stall
        // timeout ends. Where a timed-out send ends the connection (Windows), the slice is the
        // whole stall timeout.
        let stall = self.stall.max(Duration::from_millis(100));
        let slice = if super::sys::TIMED_SEND_KEEPS_CONNECTION {
            stall.min(PULSE_SLICE)
        } else {
            stall
        };
        let _ = self.stream.set_write_timeout(Some(slice));
        let result = match &self.request {
            Request::List => {
                let names = list_files(&self.root);
                let mut body = Reply::List { count: names.len() }.encode();
                for n in &names {
                    body.extend_from_slice(n.as_bytes());
                    body.push(b'\n');
                }
                match self.write_all_pulsed(&body) {
                    Ok(()) => {
                        self.emitter.emit(FileServerEvent::Listed {
                            id,
                            count: names.len(),
                        });
                        Ok(())
                    }
                    Err(e) => Err((0, e)),
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
        // Its place is free now; its descriptor is not, until the client has closed.
        self.draining
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut running) = self.running.lock() {
            running.remove(&id);
        }
        // Let the loop start a queued request.
        let _ = self.wake.wake();
        drain_before_close(&self.stream, &self.stopping, &self.pressure);
        let last = self
            .draining
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
            == 1;
        if last && self.running.lock().is_ok_and(|r| r.is_empty()) {
            // Idle: what the transfers took goes back to the system.
            super::sys::release_free_memory();
        }
        // Let the loop see the descriptor come back.
        let _ = self.wake.wake();
    }

    /// [`lookup`], waiting a while when the process is out of descriptors: other transfers
    /// end and give theirs back (the loop holds back `accept()` meanwhile), and this client
    /// is served late rather than told "not found".
    fn lookup_patiently(&self, name: &str) -> Result<(File, PathBuf), Lookup> {
        let deadline = Instant::now() + OUT_OF_FILES_PATIENCE;
        loop {
            match lookup(&self.root, name) {
                Err(Lookup::OutOfFiles(e))
                    if Instant::now() < deadline
                        && !self.stopping.load(std::sync::atomic::Ordering::SeqCst) =>
                {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    /// Sends all of `bytes`, waiting in slices: ends with [`NetErrorKind::Stalled`] when
    /// nothing moves for the stall timeout.
    fn write_all_pulsed(&self, bytes: &[u8]) -> Result<(), NetError> {
        let mut done = 0;
        let mut moved = Instant::now();
        while done < bytes.len() {
            match (&*self.stream).write(&bytes[done..]) {
                Ok(0) => {
                    return Err(NetError::from_io(&io::Error::from(
                        io::ErrorKind::WriteZero,
                    )));
                }
                Ok(n) => {
                    done += n;
                    moved = Instant::now();
                }
                Err(e) if is_timeout(&e) && moved.elapsed() < self.stall => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.send_error(&e)),
            }
        }
        Ok(())
    }

    /// A failed send in plain words: one that timed out made no progress for the stall
    /// timeout (a full send buffer: the client reads nothing).
    fn send_error(&self, e: &io::Error) -> NetError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => NetError::new(
                NetErrorKind::Stalled,
                format!(
                    "nothing could be sent for {:.0} s",
                    self.stall.as_secs_f64()
                ),
            ),
            _ => NetError::from_io(e),
        }
    }

    fn send_file(&self, name: &str, offset: u64, verified: bool) -> Result<(), (u64, NetError)> {
        let id = self.id;
        let mut out = &*self.stream;
        let (file, real) = match self.lookup_patiently(name) {
            Ok(found) => found,
            Err(Lookup::OutOfFiles(e)) => return Err((0, NetError::from_io(&e))),
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
            self.write_all_pulsed(&Reply::Ok { size, digest }.encode())
                .map_err(|e| (0, e))?;
        }
        let offset = offset.min(size);
        self.emitter
            .emit(FileServerEvent::Sending { id, size, offset });
        let started = Instant::now();
        let mut sent = 0u64;
        let mut last = Instant::now();
        let mut moved = Instant::now();
        let mut sender = super::sys::FileSender::new();
        // Exactly the size announced: a file that grows meanwhile is not sent past it, and
        // one that shrinks ends the transfer early (the client sees it short).
        while offset + sent < size {
            let want = (size - offset - sent).min(COPY_CHUNK);
            match sender.send(&file, &self.stream, offset + sent, want) {
                Ok(0) => break,
                Ok(n) => {
                    sent += n as u64;
                    moved = Instant::now();
                }
                Err(e) if is_timeout(&e) && moved.elapsed() < self.stall => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err((sent, self.send_error(&e))),
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_cache_forgets_the_oldest_beyond_its_bound() {
        let mut cache = DigestCache::default();
        let key = |i: u64| (PathBuf::from(format!("f{i}")), i, None);
        for i in 0..(DIGESTS_KEPT as u64 * 3) {
            cache.insert(key(i), format!("{i:064x}"));
            // The same key again does not count twice.
            cache.insert(key(i), format!("{i:064x}"));
        }
        assert_eq!(cache.len(), DIGESTS_KEPT);
        assert_eq!(cache.order.len(), DIGESTS_KEPT);
        assert!(cache.get(&key(0)).is_none(), "the oldest is forgotten");
        let newest = DIGESTS_KEPT as u64 * 3 - 1;
        assert_eq!(cache.get(&key(newest)), Some(&format!("{newest:064x}")));
    }
}
