//! A transfer on its own thread: the lookup, the header, the file's bytes (sendfile where the
//! system has it), an error line for a refusal, and a clean close.

use super::confine::{Lookup, lookup};
use super::*;

pub(super) struct Job {
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

impl Job {
    pub(super) fn serve(self) {
        let id = self.id;
        // The pulse: sends wait in slices, and a transfer that moves nothing for the stall
        // timeout ends. Where a timed-out send ends the connection (Windows), the slice is the
        // whole stall timeout.
        let stall = self.stall.max(Duration::from_millis(100));
        let slice = if crate::net::sys::TIMED_SEND_KEEPS_CONNECTION {
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
            crate::net::sys::release_free_memory();
        }
        // Let the loop see the descriptor come back.
        let _ = self.wake.wake();
    }

    /// [`lookup`], waiting a while when the process is out of descriptors: other transfers
    /// end and give theirs back (the loop holds back `accept()` meanwhile), and this client
    /// is served late rather than told "not found".
    pub(super) fn lookup_patiently(&self, name: &str) -> Result<(File, PathBuf), Lookup> {
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
    pub(super) fn write_all_pulsed(&self, bytes: &[u8]) -> Result<(), NetError> {
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
    pub(super) fn send_error(&self, e: &io::Error) -> NetError {
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

    pub(super) fn send_file(
        &self,
        name: &str,
        offset: u64,
        verified: bool,
    ) -> Result<(), (u64, NetError)> {
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
        let mut sender = crate::net::sys::FileSender::new();
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

/// A send that gave up after its slice (`SO_SNDTIMEO`).
pub(super) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// How long a served connection is kept open after our FIN, reading what the client still
/// sends, until it closes its end.
pub(super) const DRAIN_FOR: Duration = Duration::from_secs(5);

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
pub(super) fn drain_before_close(
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
            Err(e) if crate::net::is_wait(&e) => {}
            Err(_) => return,
        }
    }
}

impl Loop {
    pub(super) fn active(&self) -> usize {
        self.running.lock().map_or(0, |r| r.len())
    }

    pub(super) fn max_transfers(&self) -> usize {
        self.config
            .max_transfers
            .unwrap_or(DEFAULT_MAX_TRANSFERS)
            .max(1)
    }

    pub(super) fn start_queued(&mut self) {
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
}
