//! One client's connection: reading it, queueing what is sent to it, flushing the queue when
//! the socket turns writable, and closing it.

use std::sync::atomic::Ordering;

use super::*;

impl Server {
    pub(super) fn read_client(&mut self, id: ClientId) {
        for _ in 0..READS_PER_TURN {
            let behind = self.consumer_behind();
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
            if conn.paused || conn.closing || conn.starved || conn.held {
                return;
            }
            if behind {
                conn.starved = true;
                self.starved.push(id);
                return;
            }
            let kind = CallKind::Recv {
                buf: self.buf.len(),
            };
            match conn.stream.read(&mut self.buf) {
                Ok(0) => {
                    self.emitter.call(Some(id), kind, CallOutcome::Bytes(0));
                    self.emitter.emit(ServerEvent::PeerClosed { client: id });
                    // The lesson's server closes when recv() returns 0. A half-closed client
                    // may still be waiting for its answer, so what is queued goes out first
                    // (for as long as the client reads it: see the closing stall).
                    self.kernel_read(id);
                    self.close_after_flush(id);
                    return;
                }
                Ok(n) => {
                    let data: Arc<[u8]> = self.buf[..n].into();
                    self.unread.received(n);
                    self.emitter.call(Some(id), kind, CallOutcome::Bytes(n));
                    // An echo answers with the received bytes themselves (no copy).
                    let answer: Option<Arc<[u8]>> = match &self.reply {
                        AutoReply::Echo => Some(data.clone()),
                        reply => reply.answer(&data).map(Into::into),
                    };
                    self.emitter
                        .emit(ServerEvent::Received { client: id, data });
                    if let Some(bytes) = answer {
                        self.queue(id, bytes, SendOrigin::AutoReply);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let err = NetError::from_io(&e);
                    self.emitter
                        .call(Some(id), kind, CallOutcome::Failed(err.clone()));
                    self.close_client(id, ClientEnd::Failed(err), None);
                    return;
                }
            }
        }
        // More may be waiting: mio is edge-triggered, so come back to this client soon.
        // A zero-length write interest poke would be wasteful; re-registering re-arms it.
        if let Some(conn) = self.conns.get_mut(&id) {
            let interest = conn.interest;
            let _ = self
                .poll
                .registry()
                .reregister(&mut conn.stream, Token(id as usize), interest);
        }
    }

    /// Queues bytes for a client and writes what the kernel takes now.
    pub(super) fn queue(&mut self, id: ClientId, bytes: Arc<[u8]>, origin: SendOrigin) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let len = bytes.len() as u64;
        let own_over = conn.queued + bytes.len() > MAX_QUEUED && conn.queued > 0;
        let queued_total = self.shared.queued();
        let all_over = queued_total + bytes.len() > self.output_budget && queued_total > 0;
        if (own_over || all_over) && matches!(origin, SendOrigin::AutoReply) {
            // An echo to a client that does not read: keep the answer (the queue goes over
            // by one reply at most) and stop reading the client until it catches up, so
            // nothing it sent is lost and memory stays bounded. The same when all queues
            // together are at the budget, until they have drained to half.
            conn.paused |= own_over;
            if all_over && !conn.held {
                conn.held = true;
                self.held.push(id);
            }
        } else if own_over || all_over {
            self.emitter
                .emit(ServerEvent::SendDropped { client: id, len });
            return;
        }
        conn.queued += bytes.len();
        self.shared.queued.fetch_add(bytes.len(), Ordering::Relaxed);
        conn.out.push_back((bytes.clone(), 0));
        self.emitter.emit(ServerEvent::Sent {
            client: id,
            data: bytes,
            len,
            origin,
        });
        self.flush_client(id);
        self.file_room(id);
        self.tell_held(id);
    }

    pub(super) fn flush_client(&mut self, id: ClientId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let mut failed = None;
        while let Some((chunk, offset)) = conn.out.front_mut() {
            let rest = &chunk[*offset..];
            match conn.stream.write(rest) {
                Ok(n) => {
                    self.emitter.call(
                        Some(id),
                        CallKind::Send { len: rest.len() },
                        CallOutcome::Bytes(n),
                    );
                    *offset += n;
                    conn.queued -= n;
                    self.shared.queued.fetch_sub(n, Ordering::Relaxed);
                    if n > 0 {
                        conn.moved = Instant::now();
                    }
                    if *offset >= chunk.len() {
                        conn.out.pop_front();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let err = NetError::from_io(&e);
                    self.emitter.call(
                        Some(id),
                        CallKind::Send { len: rest.len() },
                        CallOutcome::Failed(err.clone()),
                    );
                    failed = Some(err);
                    break;
                }
            }
        }
        if let Some(err) = failed {
            self.close_client(id, ClientEnd::Failed(err), None);
            return;
        }
        let file_moved = conn.file && conn.file_full && conn.queued < FILE_FEED;
        if conn.closing && conn.out.is_empty() {
            let end = if conn.kicked {
                ClientEnd::Kicked(KickHow::Graceful)
            } else {
                ClientEnd::PeerClosed
            };
            self.close_client(id, end, None);
            return;
        }
        let resume = conn.paused && conn.queued < MAX_QUEUED / 2;
        if resume {
            conn.paused = false;
        }
        let held_changed = conn.told_held != (conn.paused || conn.held);
        let wanted = if conn.out.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        if wanted != conn.interest || resume {
            conn.interest = wanted;
            let _ = self
                .poll
                .registry()
                .reregister(&mut conn.stream, Token(id as usize), wanted);
        }
        if held_changed {
            self.tell_held(id);
        }
        if file_moved {
            self.file_room(id);
        }
    }

    pub(super) fn close_client(&mut self, id: ClientId, end: ClientEnd, how: Option<KickHow>) {
        let Some(mut conn) = self.conns.remove(&id) else {
            return;
        };
        self.shared.queued.fetch_sub(conn.queued, Ordering::Relaxed);
        self.shared.left(self.index);
        if Self::leave_file(&self.shared, &mut conn) {
            self.wake_lead();
        }
        if conn.held {
            // Held back when it went: it leaves the list now, not when the queues drain.
            self.held.retain(|h| *h != id);
        }
        let _ = self.poll.registry().deregister(&mut conn.stream);
        if how == Some(KickHow::Abortive) {
            let outcome = match SockRef::from(&conn.stream).set_linger(Some(Duration::ZERO)) {
                Ok(()) => CallOutcome::Done,
                Err(e) => CallOutcome::Failed(NetError::from_io(&e)),
            };
            self.emitter.call(
                Some(id),
                CallKind::SetOption {
                    name: "SO_LINGER",
                    value: "{on, 0 s}".into(),
                },
                outcome,
            );
        }
        let ends = (conn.stream.local_addr(), conn.stream.peer_addr());
        let clients = self.shared.clients();
        let followed =
            clients < KERNEL_POLL_MAX_CLIENTS && crate::net::kernel::availability().available();
        drop(conn);
        if clients == 0 {
            // The last client has gone: what its queues took goes back to the system.
            crate::net::sys::release_free_memory();
        }
        self.emitter
            .call(Some(id), CallKind::Close, CallOutcome::Done);
        self.emitter
            .emit(ServerEvent::ClientClosed { client: id, end });
        if followed && let (Ok(local), Ok(peer)) = ends {
            if self.follows.len() >= FOLLOW_MAX {
                self.follows.pop_front();
            }
            self.follows.push_back(Follow {
                id,
                local,
                peer,
                last: None,
                until: Instant::now() + FOLLOW_FOR,
            });
            // Look soon: FIN_WAIT2 or CLOSE_WAIT is worth showing before TIME_WAIT.
            self.kernel_next = self
                .kernel_next
                .min(Instant::now() + Duration::from_millis(20));
        }
    }

    /// Stops reading a client and closes it once what is queued for it has gone out (or it
    /// stalls).
    pub(super) fn close_after_flush(&mut self, id: ClientId) {
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.closing = true;
            conn.moved = Instant::now();
            if !self.lingering.contains(&id) {
                self.lingering.push(id);
            }
        }
        self.flush_client(id);
    }

    /// Closing clients that have read nothing for the closing stall are closed.
    pub(super) fn check_lingering(&mut self) {
        let now = Instant::now();
        let mut stalled = Vec::new();
        self.lingering.retain(|id| match self.conns.get(id) {
            Some(c) if c.closing && !c.out.is_empty() => {
                if now.duration_since(c.moved) >= self.closing_stall {
                    stalled.push(*id);
                    false
                } else {
                    true
                }
            }
            _ => false,
        });
        for id in stalled {
            let queued = self.conns.get(&id).map_or(0, |c| c.queued);
            let err = NetError::new(
                crate::net::NetErrorKind::Stalled,
                format!(
                    "it read nothing for {:.0} s; {queued} bytes still queued for it were dropped",
                    self.closing_stall.as_secs_f64()
                ),
            );
            self.close_client(id, ClientEnd::Failed(err), None);
        }
    }
}
