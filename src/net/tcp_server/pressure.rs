//! Back-pressure: reading pauses while the consumer is behind or every queue together is at the
//! output budget, and resumes in turn.

use super::*;

impl Server {
    pub(super) fn consumer_behind(&self) -> bool {
        self.unread_limit.is_some_and(|l| self.unread.get() >= l)
    }

    /// Reads the clients left unread while the consumer was behind, once it has caught up
    /// (to half the limit, so reading does not stutter at the edge).
    pub(super) fn feed_starved(&mut self) {
        let Some(limit) = self.unread_limit else {
            return;
        };
        if self.starved.is_empty() || self.unread.get() >= limit / 2 {
            return;
        }
        for id in std::mem::take(&mut self.starved) {
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.starved = false;
                self.read_client(id);
            }
        }
    }

    /// Reads the clients held back by the output budget again, once the queues have drained
    /// to half of it.
    pub(super) fn feed_held(&mut self) {
        if self.held.is_empty() || self.shared.queued() >= self.output_budget / 2 {
            return;
        }
        for id in std::mem::take(&mut self.held) {
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.held = false;
                self.tell_held(id);
                self.read_client(id);
            }
        }
    }

    /// Tells the panel when a client's reading stops or resumes for back-pressure.
    pub(super) fn tell_held(&mut self, id: ClientId) {
        if let Some(conn) = self.conns.get_mut(&id) {
            let held = conn.paused || conn.held;
            if held != conn.told_held {
                conn.told_held = held;
                self.emitter
                    .emit(ServerEvent::HeldBack { client: id, held });
            }
        }
    }
}
