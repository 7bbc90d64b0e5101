//! The loop's side of a client before its transfer: accepting within the bounds, reading the
//! request without a thread, refusing cleanly, and dropping clients that stay silent.

use super::transfer::DRAIN_FOR;
use super::*;

impl Loop {
    /// Takes the spare descriptors back; `false` while they cannot all be had.
    pub(super) fn refill_reserve(&mut self) -> bool {
        while self.reserve.len() < FD_RESERVE {
            match socket2::SockRef::from(&self.listener).try_clone() {
                Ok(spare) => self.reserve.push(spare),
                Err(_) => return false,
            }
        }
        true
    }

    /// Connections open now, each holding descriptors.
    pub(super) fn live(&self) -> usize {
        self.waiting.len()
            + self.queued.len()
            + self.active()
            + self.draining.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(super) fn accept_all(&mut self) {
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
                    if crate::net::sys::too_many_open_files(&e) {
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
    pub(super) fn make_room(&mut self) {
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
    pub(super) fn close_cleanly(&mut self, id: u64, mut w: Waiting, reply: Option<Vec<u8>>) {
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

    pub(super) fn read_request(&mut self, id: u64) {
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

    pub(super) fn expire(&mut self) {
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
}
