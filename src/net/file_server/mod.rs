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
//!
//! The loop is here (`Loop::run`); beside it: `accept` (accepting, reading requests,
//! refusing), `transfer` (the thread that serves one request), `confine` (the lookup inside
//! the folder) and `digest` (the BLAKE3 cache).

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

mod accept;
mod confine;
mod digest;
mod transfer;

pub use confine::{list_files, open_confined};
use digest::SharedDigests;
pub use digest::{DigestCache, file_digest};

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
