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
}

impl Waker {
    pub fn new(wake: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        Self {
            inner: Arc::new(Inner {
                wake: Box::new(wake),
                origin: Instant::now(),
                last_now: AtomicU64::new(0),
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
        let wait = interval.saturating_sub(now.saturating_sub(last));
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

    #[test]
    fn flood_is_coalesced_but_never_dropped() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let waker = Waker::new(move |d| seen.lock().unwrap().push(d));
        for _ in 0..10_000 {
            waker.wake();
        }
        let calls = calls.lock().unwrap();
        assert_eq!(
            calls.len(),
            10_000,
            "every wake asks for a frame, now or soon"
        );
        let immediate = calls.iter().filter(|d| d.is_zero()).count();
        assert!(immediate >= 1);
        assert!(calls.iter().all(|d| *d <= WAKE_INTERVAL));
        // 10,000 calls take far less than 10,000 intervals, so most must be deferred.
        assert!(immediate < 5_000, "immediate wake-ups: {immediate}");
    }
}
