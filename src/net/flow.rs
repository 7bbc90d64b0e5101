//! Back-pressure between an engine and whoever applies its events (a panel, the command
//! line): an engine that reads faster than its events are applied stops reading once the
//! consumer holds [`Unread::get`] bytes it has not taken in yet, so a flood slows its sender
//! (TCP's window; for UDP, the kernel's buffer, whose drops are counted) instead of piling up
//! events in memory. Each event counts its bytes plus [`EVENT_COST`], so a flood of empty
//! datagrams is bounded too.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// What one received-data event costs beyond its bytes (the event, its trace call, the
/// channel's slot), for the count.
pub const EVENT_COST: usize = 256;

/// How long a reader waits before looking again whether the consumer has caught up.
const BEHIND_SLICE: Duration = Duration::from_millis(5);

/// Bytes (and events, at [`EVENT_COST`] each) the engine has reported as received that the
/// consumer has not taken in yet.
#[derive(Debug, Clone, Default)]
pub struct Unread(Arc<AtomicUsize>);

impl Unread {
    /// The consumer has applied a received-data event of `n` bytes.
    pub fn taken(&self, n: usize) {
        let cost = n + EVENT_COST;
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some(v.saturating_sub(cost))
            });
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    /// The engine reports a received-data event of `n` bytes.
    pub fn received(&self, n: usize) {
        self.0.fetch_add(n + EVENT_COST, Ordering::AcqRel);
    }

    /// Waits while the consumer holds `limit` or more, looking at `closing` between short
    /// sleeps; `false` if `closing` was set.
    pub fn wait_below(&self, limit: Option<usize>, closing: &AtomicBool) -> bool {
        let Some(limit) = limit else {
            return !closing.load(Ordering::SeqCst);
        };
        while self.get() >= limit {
            if closing.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(BEHIND_SLICE);
        }
        !closing.load(Ordering::SeqCst)
    }
}
