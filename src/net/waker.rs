//! Waking the UI after a worker has sent events, without flooding it with repaint requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Wake-ups closer together than this are merged into one deferred wake-up.
pub const WAKE_INTERVAL: Duration = Duration::from_millis(5);

/// Asks the UI to run a frame. Workers call [`Waker::wake`] after sending events.
///
/// The closure gets a delay: zero means "now", anything else "no later than this". Under a
/// flood the waker asks for an immediate frame at most once per [`WAKE_INTERVAL`] and a
/// deferred one otherwise, so the last event is never left unshown and the UI thread is not
/// asked to repaint a million times a second. (egui's `request_repaint_after` merges
/// deferred requests, which is what makes this cheap.)
#[derive(Clone)]
pub struct Waker {
    inner: Arc<Inner>,
}

struct Inner {
    wake: Box<dyn Fn(Duration) + Send + Sync>,
    origin: Instant,
    /// Microseconds since `origin` of the last immediate wake-up, plus one (0 = never).
    last_now: AtomicU64,
    /// The same clock: when the delayed wake-up last asked for is due (0 = none asked).
    asked_for: AtomicU64,
}

impl Waker {
    pub fn new(wake: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        Self {
            inner: Arc::new(Inner {
                wake: Box::new(wake),
                origin: Instant::now(),
                last_now: AtomicU64::new(0),
                asked_for: AtomicU64::new(0),
            }),
        }
    }

    /// A waker that does nothing: for the command line and tests, which block on the channel.
    pub fn noop() -> Self {
        Self::new(|_| {})
    }

    pub fn wake(&self) {
        let inner = &self.inner;
        let now = inner.origin.elapsed().as_micros() as u64 + 1;
        let last = inner.last_now.load(Ordering::Relaxed);
        let interval = WAKE_INTERVAL.as_micros() as u64;
        if (last == 0 || now.saturating_sub(last) >= interval)
            && inner
                .last_now
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            (inner.wake)(Duration::ZERO);
            return;
        }
        // One delayed wake-up per interval: the flood's other events ride on it (asking the
        // UI again per event would take its context's lock per event).
        let due = last.saturating_add(interval);
        let asked = inner.asked_for.load(Ordering::Relaxed);
        if asked == due
            || inner
                .asked_for
                .compare_exchange(asked, due, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let wait = due.saturating_sub(now);
        (inner.wake)(Duration::from_micros(wait.max(1)));
    }
}

impl std::fmt::Debug for Waker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waker")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Every event is followed by a frame within `WAKE_INTERVAL` (one asked for at the event,
    /// or one asked for earlier and due after it), and a flood asks for few: one now, then at
    /// most one per interval.
    #[test]
    fn flood_is_coalesced_but_never_dropped() {
        let asked = Arc::new(Mutex::new(Vec::<(Instant, Duration)>::new()));
        let seen = asked.clone();
        let waker = Waker::new(move |d| seen.lock().unwrap().push((Instant::now(), d)));
        let slack = Duration::from_millis(1);
        let started = Instant::now();
        let mut events = Vec::new();
        while started.elapsed() < 8 * WAKE_INTERVAL {
            for _ in 0..1_000 {
                events.push(Instant::now());
                waker.wake();
            }
        }
        let asked = asked.lock().unwrap();
        for (n, at) in events.iter().enumerate() {
            let covered = asked.iter().any(|(when, d)| {
                *when + *d + slack >= *at && *when + *d <= *at + WAKE_INTERVAL + slack
            });
            assert!(
                covered,
                "event {n} of {} has no frame after it",
                events.len()
            );
        }
        let immediate = asked.iter().filter(|(_, d)| d.is_zero()).count();
        assert!(immediate >= 1);
        assert!(asked.iter().all(|(_, d)| *d <= WAKE_INTERVAL));
        // About two per interval (one now, one deferred), whatever the number of events.
        let intervals = started.elapsed().as_micros() / WAKE_INTERVAL.as_micros() + 1;
        assert!(
            asked.len() as u128 <= 2 * intervals + 2,
            "{} frames asked for {} events over {intervals} intervals",
            asked.len(),
            events.len()
        );
        assert!(events.len() > 10 * asked.len(), "{} events", events.len());
    }
}
