//! Accepting: every waiting connection each turn, the client limit, and a pause when the
//! process runs out of descriptors.

use super::*;

impl Server {
    pub(super) fn accept_all(&mut self) {
        if self.accept_paused_until.is_some() {
            return;
        }
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    let over = self.max_clients.filter(|max| self.shared.clients() >= *max);
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
                    // Announced here, before any loop reports on it, so its events keep
                    // their order whichever loop serves it.
                    self.emitter
                        .emit(ServerEvent::Accepted { client: id, peer });
                    let index = self.place();
                    self.hand_over(index, id, stream);
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
                    if let Some(listener) = &mut self.listener {
                        let _ = self.poll.registry().deregister(listener);
                    }
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    break;
                }
            }
        }
    }
}
