//! What every panel that runs an engine does the same way: take in the engine's events
//! within a time budget each frame (a flood must not make a frame late), and say whether
//! some are left for the next frame.

use std::time::{Duration, Instant};

use flume::Receiver;

/// The engine stops reading while this many received bytes wait to be applied, so a
/// flood slows its senders (TCP back-pressure) instead of filling memory.
pub const UNREAD_LIMIT: usize = 8 * 1024 * 1024;

/// Time a frame may spend applying one panel's events.
pub const DRAIN_BUDGET: Duration = Duration::from_millis(4);

/// Applies the events that have arrived, for at most [`DRAIN_BUDGET`]; `true` when some are
/// left (the caller asks for another frame: nothing else may wake it, since an engine held
/// back by [`crate::net::flow`] sends nothing until they are taken in).
pub fn drain<M>(rx: &Receiver<M>, mut apply: impl FnMut(M)) -> bool {
    let start = Instant::now();
    let mut i = 0u32;
    while let Ok(msg) = rx.try_recv() {
        apply(msg);
        i += 1;
        if i.is_multiple_of(64) && start.elapsed() >= DRAIN_BUDGET {
            return !rx.is_empty();
        }
    }
    false
}

/// Waits up to `timeout` for one event, then applies it and what else has arrived (tests
/// and the command line, which have no frames); `false` if nothing came in time.
pub fn wait<M>(rx: &Receiver<M>, timeout: Duration, mut apply: impl FnMut(M)) -> bool {
    match rx.recv_timeout(timeout) {
        Ok(msg) => {
            apply(msg);
            while let Ok(msg) = rx.try_recv() {
                apply(msg);
            }
            true
        }
        Err(_) => false,
    }
}
