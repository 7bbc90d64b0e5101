//! A peer on its own thread whose end is awaited with a bound, and temporary files that are
//! removed even when a test fails.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::LIMIT;

/// Sends on drop, so the waiting side hears about the end even when the peer panics.
struct DoneGuard(mpsc::Sender<()>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// A peer thread whose end can be awaited with a bound.
pub struct Peer<T> {
    done: mpsc::Receiver<()>,
    thread: JoinHandle<T>,
}

impl<T> Peer<T> {
    /// Waits (at most [`LIMIT`]) for the peer's end; its panic becomes the test's.
    pub fn join(self) -> T {
        if self.done.recv_timeout(LIMIT).is_err() {
            panic!("peer thread still running after {LIMIT:?}");
        }
        match self.thread.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

pub fn spawn_peer<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Peer<T> {
    let (tx, done) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _guard = DoneGuard(tx);
        f()
    });
    Peer { done, thread }
}

/// A path in the temp dir no other test (or test run) uses.
pub fn temp_path(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("swb-{tag}-{}-{nanos}", std::process::id()))
}

/// Removes the file when dropped, also when the test fails.
pub struct TempFile(pub PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
