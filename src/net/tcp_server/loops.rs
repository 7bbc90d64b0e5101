//! More than one readiness loop: past [`ServerConfig::spread_from`] clients, the first loop
//! starts up to [`ServerConfig::loops`] − 1 more, each on its own thread with its own poll,
//! and hands every newly accepted client to the loop that serves the fewest. A client stays
//! on its loop for life, so its events keep their order; all loops send on the same event
//! channel.
//!
//! The first loop stays the only one that listens, takes the UI's commands and runs the
//! repeat and the file send. It passes on what concerns the clients of the others
//! ([`LoopMsg`]). What must stay whole across loops is counted in [`Shared`]: the clients
//! per loop (for the client limit and the placement), the bytes queued for all clients (the
//! output budget), and the file send's targets (a chunk is read only when every target,
//! whichever loop serves it, has room for it).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

use super::*;

/// What the first loop tells another.
pub(super) enum LoopMsg {
    /// A client the first loop accepted (and announced), for this loop to serve.
    Adopt {
        id: ClientId,
        stream: TcpStream,
    },
    /// Bytes for this loop's clients among the targets.
    Deliver {
        to: Target,
        bytes: Arc<[u8]>,
        origin: SendOrigin,
    },
    Kick {
        clients: Vec<ClientId>,
        how: KickHow,
    },
    SetAutoReply(AutoReply),
    /// A file send begins: this loop marks its clients among the targets.
    FileStart {
        to: Target,
    },
    /// The file's next chunk, for this loop's file targets.
    FileChunk {
        bytes: Arc<[u8]>,
        origin: SendOrigin,
    },
    FileEnd,
    /// Close every client and end.
    Stop,
}

/// Counts every loop reads and writes.
pub(super) struct Shared {
    /// Clients served by each loop (0: the first).
    live: Vec<AtomicUsize>,
    /// Bytes queued for all clients of all loops.
    pub queued: AtomicUsize,
    /// More than one loop runs.
    pub spread: AtomicBool,
    /// Targets of the file send still connected.
    pub file_targets: AtomicUsize,
    /// Targets of the file send whose queue holds a chunk's worth or more.
    pub file_full: AtomicUsize,
    /// Loops that have not yet marked their file targets.
    pub file_waiting: AtomicUsize,
    /// Loops that have not yet queued the last chunk.
    pub file_inflight: AtomicUsize,
}

impl Shared {
    pub fn new(loops: usize) -> Self {
        Self {
            live: (0..loops.max(1)).map(|_| AtomicUsize::new(0)).collect(),
            queued: AtomicUsize::new(0),
            spread: AtomicBool::new(false),
            file_targets: AtomicUsize::new(0),
            file_full: AtomicUsize::new(0),
            file_waiting: AtomicUsize::new(0),
            file_inflight: AtomicUsize::new(0),
        }
    }

    /// Clients of all loops.
    pub fn clients(&self) -> usize {
        self.live.iter().map(|n| n.load(Ordering::Relaxed)).sum()
    }

    pub fn joined(&self, index: usize) {
        self.live[index].fetch_add(1, Ordering::Relaxed);
    }

    pub fn left(&self, index: usize) {
        self.live[index].fetch_sub(1, Ordering::Relaxed);
    }

    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The loop (among the first `running`) serving the fewest clients.
    fn least_busy(&self, running: usize) -> usize {
        (0..running.min(self.live.len()))
            .min_by_key(|i| self.live[*i].load(Ordering::Relaxed))
            .unwrap_or(0)
    }
}

/// The first loop's grip on another.
pub(super) struct Worker {
    tx: Sender<LoopMsg>,
    wake: Arc<mio::Waker>,
    thread: JoinHandle<()>,
}

impl Worker {
    /// Gives the message back if the loop has ended (its poll failed).
    fn tell(&self, msg: LoopMsg) -> Result<(), LoopMsg> {
        self.tx.send(msg).map_err(|e| e.into_inner())?;
        let _ = self.wake.wake();
        Ok(())
    }
}

impl Server {
    /// The loop a newly accepted client goes to; starts the other loops when the server
    /// reaches `spread_from` clients.
    pub(super) fn place(&mut self) -> usize {
        let clients = self.shared.clients();
        if clients < self.spread_from {
            return 0;
        }
        while self.workers.len() + 1 < self.loops {
            if let Err(e) = self.start_worker() {
                self.emitter
                    .emit(ServerEvent::Warning(NetError::from_io(&e)));
                self.loops = self.workers.len() + 1;
            }
        }
        self.shared.least_busy(self.workers.len() + 1)
    }

    fn start_worker(&mut self) -> io::Result<()> {
        let index = self.workers.len() + 1;
        let poll = Poll::new()?;
        let wake = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = flume::unbounded();
        let mut server = Server::new(
            poll,
            index,
            self.emitter.clone(),
            self.shared.clone(),
            self.lead_wake.clone(),
            self.settings(),
        );
        server.reply = self.reply.clone();
        server.inbox = Some(rx);
        let name = match std::thread::current().name() {
            Some(name) => format!("{name}.{index}"),
            None => format!("tcps.{index}"),
        };
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            server.run();
        })?;
        self.workers.push(Worker { tx, wake, thread });
        self.shared.spread.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Hands an accepted client to loop `index` (0: this one).
    pub(super) fn hand_over(&mut self, index: usize, id: ClientId, stream: TcpStream) {
        self.shared.joined(index);
        let msg = LoopMsg::Adopt { id, stream };
        let back = match index.checked_sub(1).and_then(|w| self.workers.get(w)) {
            Some(worker) => worker.tell(msg).err(),
            None => Some(msg),
        };
        if let Some(LoopMsg::Adopt { id, stream }) = back {
            if index != 0 {
                // That loop has ended: this one serves the client.
                self.shared.left(index);
                self.shared.joined(0);
            }
            self.adopt(id, stream);
        }
    }

    /// Starts serving a client handed to this loop (already announced as `Accepted`).
    pub(super) fn adopt(&mut self, id: ClientId, mut stream: TcpStream) {
        let token = Token(id as usize);
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, token, Interest::READABLE)
        {
            let err = NetError::from_io(&e);
            self.shared.left(self.index);
            drop(stream);
            self.emitter.emit(ServerEvent::Warning(err.clone()));
            self.emitter
                .call(Some(id), CallKind::Close, CallOutcome::Done);
            self.emitter.emit(ServerEvent::ClientClosed {
                client: id,
                end: ClientEnd::Failed(err),
            });
            return;
        }
        self.conns.insert(id, Conn::new(stream));
        self.kernel_read(id);
    }

    /// Tells every other loop; returns how many heard it.
    pub(super) fn tell_workers(&mut self, msg: impl Fn() -> LoopMsg) -> usize {
        let mut heard = 0;
        self.workers.retain(|w| {
            let ok = w.tell(msg()).is_ok();
            heard += usize::from(ok);
            ok
        });
        heard
    }

    /// Waits for the other loops, told to stop, to end (they close their clients first).
    pub(super) fn join_workers(&mut self) {
        for worker in self.workers.drain(..) {
            let _ = worker.thread.join();
        }
    }

    /// Acts on what the first loop said; false on `Stop`.
    pub(super) fn heard(&mut self, msg: LoopMsg) -> bool {
        match msg {
            LoopMsg::Adopt { id, stream } => self.adopt(id, stream),
            LoopMsg::Deliver { to, bytes, origin } => self.send_to(&to, bytes, origin),
            LoopMsg::Kick { clients, how } => self.kick(clients, how),
            LoopMsg::SetAutoReply(reply) => self.reply = reply,
            LoopMsg::FileStart { to } => {
                self.mark_file(&to);
                if self.shared.file_waiting.fetch_sub(1, Ordering::AcqRel) == 1 {
                    self.wake_lead();
                }
            }
            LoopMsg::FileChunk { bytes, origin } => {
                self.feed_file(bytes, origin);
                if self.shared.file_inflight.fetch_sub(1, Ordering::AcqRel) == 1 {
                    self.wake_lead();
                }
            }
            LoopMsg::FileEnd => self.unmark_file(),
            LoopMsg::Stop => return false,
        }
        true
    }

    /// The first loop looks again at the file send.
    pub(super) fn wake_lead(&self) {
        if self.index != 0 {
            let _ = self.lead_wake.wake();
        }
    }

    /// Marks this loop's clients among `to` as targets of the file send.
    pub(super) fn mark_file(&mut self, to: &Target) {
        for id in self.targets(to) {
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.file = true;
                self.file_ids.push(id);
                self.shared.file_targets.fetch_add(1, Ordering::AcqRel);
                self.file_room(id);
            }
        }
    }

    pub(super) fn unmark_file(&mut self) {
        for id in std::mem::take(&mut self.file_ids) {
            if let Some(conn) = self.conns.get_mut(&id) {
                Self::leave_file(&self.shared, conn);
            }
        }
    }

    /// A file target's part in the counts ends (unmarked, or closed); true when the first
    /// loop should look again (no targets left, or none full).
    pub(super) fn leave_file(shared: &Shared, conn: &mut Conn) -> bool {
        if !conn.file {
            return false;
        }
        conn.file = false;
        let mut look = shared.file_targets.fetch_sub(1, Ordering::AcqRel) == 1;
        if conn.file_full {
            conn.file_full = false;
            look |= shared.file_full.fetch_sub(1, Ordering::AcqRel) == 1;
        }
        look
    }

    /// Counts a file target as full or not after its queue changed.
    pub(super) fn file_room(&mut self, id: ClientId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if !conn.file {
            return;
        }
        let full = conn.queued >= FILE_FEED;
        if full == conn.file_full {
            return;
        }
        conn.file_full = full;
        if full {
            self.shared.file_full.fetch_add(1, Ordering::AcqRel);
        } else if self.shared.file_full.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.wake_lead();
        }
    }

    /// Queues a chunk of the file for this loop's targets.
    pub(super) fn feed_file(&mut self, bytes: Arc<[u8]>, origin: SendOrigin) {
        self.file_ids.retain(|id| self.conns.contains_key(id));
        for id in self.file_ids.clone() {
            self.queue(id, bytes.clone(), origin.clone());
        }
    }
}
