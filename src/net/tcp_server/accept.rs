//! Accepting: every waiting connection each turn, the client limit, and a pause when the
//! process runs out of descriptors.

use super::*;

impl Server {
    pub(super) fn accept_all(&mut self) {
        if self.accept_paused_until.is_some() {
            return;
        }
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    let over = self.max_clients.filter(|max| self.conns.len() >= *max);
                    let id = self.next_id;
                    self.next_id += 1;
                    self.emitter.call(
                        Some(id),
                        CallKind::Accept,
                        CallOutcome::Accepted {
                            fd: raw_fd(&stream),
                            peer,
                        },
                    );
                    if let Some(limit) = over {
                        drop(stream);
                        self.emitter
                            .call(Some(id), CallKind::Close, CallOutcome::Done);
                        self.emitter.emit(ServerEvent::Refused { peer, limit });
                        continue;
                    }
                    let token = Token(id as usize);
                    if let Err(e) =
                        self.poll
                            .registry()
                            .register(&mut stream, token, Interest::READABLE)
                    {
                        self.emitter
                            .emit(ServerEvent::Warning(NetError::from_io(&e)));
                        self.emitter
                            .call(Some(id), CallKind::Close, CallOutcome::Done);
                        continue;
                    }
                    self.conns.insert(
                        id,
                        Conn {
                            stream,
                            closing: false,
                            out: VecDeque::new(),
                            queued: 0,
                            interest: Interest::READABLE,
                            paused: false,
                            starved: false,
                            held: false,
                            told_held: false,
                            kicked: false,
                            moved: Instant::now(),
                            kernel: None,
                            info: None,
                        },
                    );
                    self.emitter
                        .emit(ServerEvent::Accepted { client: id, peer });
                    self.kernel_read(id);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted) => {}
                Err(e) => {
                    let err = NetError::from_io(&e);
                    self.emitter
                        .call(None, CallKind::Accept, CallOutcome::Failed(err.clone()));
                    self.emitter.emit(ServerEvent::Warning(err));
                    // Out of descriptors: the listener stays readable, so stop asking for a
                    // moment instead of spinning.
                    let _ = self.poll.registry().deregister(&mut self.listener);
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    break;
                }
            }
        }
    }
}
