//! Where a command writes and how it is told to stop. `main` hands every command the
//! process's stdout and stderr and a [`StopSignal`] its Ctrl+C handler raises; a test hands it
//! buffers ([`Io::captured`]) and raises the signal itself.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

/// A command's output and its stop.
pub struct Io {
    pub out: Box<dyn Write + Send>,
    pub err: Box<dyn Write + Send>,
    pub stop: StopSignal,
}

impl Io {
    /// The process's stdout and stderr.
    pub fn std(stop: StopSignal) -> Self {
        Self {
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
            stop,
        }
    }

    /// Writers into memory, and the captured text (for tests and embedding).
    pub fn captured() -> (Self, Captured) {
        let captured = Captured::default();
        let io = Self {
            out: Box::new(captured.out.clone()),
            err: Box::new(captured.err.clone()),
            stop: StopSignal::default(),
        };
        (io, captured)
    }
}

/// A writer into shared memory.
#[derive(Clone, Default)]
pub struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a command wrote, readable while it runs.
#[derive(Clone, Default)]
pub struct Captured {
    pub out: SharedBuf,
    pub err: SharedBuf,
}

impl Captured {
    pub fn out(&self) -> String {
        self.out.text()
    }

    pub fn err(&self) -> String {
        self.err.text()
    }
}

type Hook = Box<dyn Fn() + Send>;

#[derive(Default)]
struct StopState {
    stopped: bool,
    hooks: Vec<Hook>,
}

/// Tells a running command to stop (Ctrl+C). A command that can stop cleanly registers what
/// to do with [`StopSignal::on_stop`]; one that registers nothing is simply ended by `main`.
#[derive(Clone, Default)]
pub struct StopSignal(Arc<Mutex<StopState>>);

impl StopSignal {
    fn lock(&self) -> MutexGuard<'_, StopState> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Raises the signal and runs every hook; false when no command listens for it (the
    /// caller then ends the process) or it was raised before.
    pub fn stop(&self) -> bool {
        let mut state = self.lock();
        let first = !state.stopped;
        state.stopped = true;
        for hook in &state.hooks {
            hook();
        }
        first && !state.hooks.is_empty()
    }

    pub fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// Runs `hook` when the signal is raised (at once if it already was).
    pub fn on_stop(&self, hook: impl Fn() + Send + 'static) {
        let mut state = self.lock();
        if state.stopped {
            hook();
        }
        state.hooks.push(Box::new(hook));
    }
}

/// `writeln!` to a command's stdout; a closed stdout is not an error worth dying for.
macro_rules! outln {
    ($io:expr, $($arg:tt)*) => {{
        let _ = writeln!($io.out, $($arg)*);
        let _ = $io.out.flush();
    }};
}

/// `writeln!` to a command's stderr.
macro_rules! errln {
    ($io:expr, $($arg:tt)*) => {{
        let _ = writeln!($io.err, $($arg)*);
    }};
}

pub(crate) use {errln, outln};

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_stop_runs_every_hook_and_says_whether_anyone_listened() {
        let unheard = StopSignal::default();
        assert!(!unheard.stop(), "nobody listens: main ends the process");
        assert!(unheard.is_stopped());

        let signal = StopSignal::default();
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        signal.on_stop(move || {
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert!(signal.stop());
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(!signal.stop(), "a second Ctrl+C ends the process");

        // A hook registered after the stop runs at once.
        let c = count.clone();
        signal.on_stop(move || {
            c.fetch_add(10, Ordering::SeqCst);
        });
        assert_eq!(count.load(Ordering::SeqCst), 12);
    }

    #[test]
    fn captured_output_is_readable() {
        let (mut io, captured) = Io::captured();
        outln!(io, "hello {}", 1);
        errln!(io, "oops");
        assert_eq!(captured.out(), "hello 1\n");
        assert_eq!(captured.err(), "oops\n");
    }
}
