//! The socket-call trace a panel keeps, capped like the log.

use std::collections::VecDeque;

use crate::net::SocketCall;

pub const MAX_CALLS: usize = 20_000;

#[derive(Debug)]
pub struct TraceBook {
    calls: VecDeque<SocketCall>,
    max: usize,
    /// Calls dropped to stay under the cap since the last clear.
    pub dropped: u64,
}

impl Default for TraceBook {
    fn default() -> Self {
        Self::with_cap(MAX_CALLS)
    }
}

impl TraceBook {
    pub fn with_cap(max: usize) -> Self {
        Self {
            calls: VecDeque::new(),
            max: max.max(1),
            dropped: 0,
        }
    }

    pub fn push(&mut self, call: SocketCall) {
        self.calls.push_back(call);
        while self.calls.len() > self.max {
            self.calls.pop_front();
            self.dropped += 1;
        }
    }

    pub fn calls(&self) -> &VecDeque<SocketCall> {
        &self.calls
    }

    pub fn clear(&mut self) {
        self.calls.clear();
        self.dropped = 0;
    }
}
