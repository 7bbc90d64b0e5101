//! The panels' background jobs: saving a log, exporting a diagram, asking a server for its
//! file names. Each runs on a thread of its own, so the UI thread never waits on a disk or a
//! socket; its result comes back on a channel and asks for a frame. Failures come back as a
//! [`NetError`], said in plain words in the chosen language by `describe_error` (a full
//! disk is "the disk is full", not the OS's English), and a job that cannot even start says
//! so instead of vanishing.

use std::path::{Path, PathBuf};

use flume::Receiver;

use crate::net::NetError;

/// A job under way, or finished and not yet looked at.
pub struct Job<T> {
    rx: Receiver<T>,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a thread named `name`; `ctx` is asked for a frame when it is done.
    /// `Err` when no thread could be started (said in plain words).
    pub fn start(
        name: &str,
        ctx: Option<egui::Context>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Self, NetError> {
        let (tx, rx) = flume::bounded(1);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ = tx.send(work());
                if let Some(ctx) = ctx {
                    ctx.request_repaint();
                }
            })
            .map_err(|e| NetError::from_io(&e))?;
        Ok(Self { rx })
    }

    /// The result, once it is there (taken once). A job whose thread died says nothing.
    pub fn poll(&self) -> Option<Result<T, Gone>> {
        match self.rx.try_recv() {
            Ok(v) => Some(Ok(v)),
            Err(flume::TryRecvError::Empty) => None,
            Err(flume::TryRecvError::Disconnected) => Some(Err(Gone)),
        }
    }
}

/// The job's thread ended without a result (it panicked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// What a job that writes a file gives back: where it wrote, or why it could not.
pub type Written = Result<PathBuf, NetError>;

/// Writes a file with `write`, classifying a failure as a file error of `path` (a full disk
/// is said as such).
pub fn write_file(path: &Path, write: impl FnOnce(&Path) -> std::io::Result<()>) -> Written {
    write(path)
        .map(|()| path.to_path_buf())
        .map_err(|e| NetError::file_write(path, &e))
}
