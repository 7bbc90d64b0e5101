//! The kernel's view of each connection (TCP_INFO) while it lives, and of closed ones in the
//! socket table (FIN_WAIT2, TIME_WAIT) until they are gone.

use super::*;

impl Server {
    /// Reads one connection's kernel state now (something just happened to it); reports a
    /// change.
    pub(super) fn kernel_read(&mut self, id: ClientId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Ok(info) = crate::net::kernel::tcp_info(&conn.stream) else {
            return;
        };
        if conn.kernel != Some(info.state) {
            conn.kernel = Some(info.state);
            self.emitter.call(
                Some(id),
                CallKind::KernelState(info.state),
                CallOutcome::Done,
            );
            self.emitter.emit(ServerEvent::Kernel {
                client: id,
                state: info.state,
            });
        }
        // The full view (RTT, window) only at classroom scale, where it is also kept fresh;
        // ten thousand rows of it would be memory for numbers nobody can watch.
        let watched = self.shared.clients() <= KERNEL_POLL_MAX_CLIENTS;
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if watched && conn.info != Some(info) {
            conn.info = Some(info);
            self.emitter
                .emit(ServerEvent::KernelInfo { client: id, info });
        }
    }

    /// Reads each connection's kernel state (TCP_INFO), and each recently closed one's
    /// (socket diagnostics); reports changes. Nothing where the kernel does not tell.
    pub(super) fn kernel_tick(&mut self) {
        let now = Instant::now();
        if now < self.kernel_next {
            return;
        }
        self.kernel_next = now + KERNEL_POLL;
        if self.shared.clients() <= KERNEL_POLL_MAX_CLIENTS {
            let mut ids: Vec<ClientId> = self.conns.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                self.kernel_read(id);
            }
        }
        if self.follows.is_empty() {
            return;
        }
        // One walk of the socket table for all of them.
        let pairs: Vec<_> = self.follows.iter().map(|f| (f.local, f.peer)).collect();
        let Ok(states) = crate::net::kernel::states_of(&pairs) else {
            self.follows.clear();
            return;
        };
        let mut keep = VecDeque::new();
        for (mut f, state) in std::mem::take(&mut self.follows).into_iter().zip(states) {
            let state = state.unwrap_or(TcpState::Closed);
            if f.last != Some(state) {
                f.last = Some(state);
                self.emitter
                    .call(Some(f.id), CallKind::KernelState(state), CallOutcome::Done);
                self.emitter.emit(ServerEvent::Kernel {
                    client: f.id,
                    state,
                });
            }
            if state != TcpState::Closed && now < f.until {
                keep.push_back(f);
            }
        }
        self.follows = keep;
    }
}
