//! Running the command line: the built binary as a child process (end to end, with real
//! signals), or a command in this process through `cli::run_args` (its stdout a channel of
//! lines, its stderr captured, Ctrl+C a raised `StopSignal`). Both look the same to a test:
//! lines as they come, bounded waits, the exit code, stderr, and a guard that ends the
//! command however the test ends.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flume::{Receiver, RecvTimeoutError, Sender};
use socket_workbench::cli::{Io, SharedBuf, StopSignal, run_args};

use super::LIMIT;

/// The built binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_socket-workbench")
}

/// Runs a command in this process to its end: (exit code, stdout, stderr).
pub fn run_here(args: &[&str]) -> (i32, String, String) {
    let (mut io, captured) = Io::captured();
    let code = run_args(args, &mut io);
    drop(io);
    (code_of(code), captured.out(), captured.err())
}

/// The number behind an `ExitCode` (it has no accessor).
pub fn code_of(code: ExitCode) -> i32 {
    (0..=255u8)
        .find(|n| ExitCode::from(*n) == code)
        .map(i32::from)
        .unwrap_or(-1)
}

/// Writes whole lines into a channel.
struct LineWriter {
    partial: Vec<u8>,
    tx: Sender<String>,
}

impl LineWriter {
    fn send_line(&mut self, bytes: &[u8]) {
        let line = String::from_utf8_lossy(bytes);
        let _ = self.tx.send(line.trim_end_matches(['\n', '\r']).to_owned());
    }
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(at) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=at).collect();
            self.send_line(&line);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.send_line(&rest);
        }
    }
}

enum Kind {
    Child {
        child: Child,
        readers: Vec<JoinHandle<()>>,
        stderr_rx: mpsc::Receiver<String>,
        stderr_text: Option<String>,
    },
    Here {
        thread: Option<JoinHandle<ExitCode>>,
        stop: StopSignal,
        err: SharedBuf,
    },
}

/// A running command.
pub struct Run {
    kind: Kind,
    lines: Receiver<String>,
    /// Every stdout line read so far, in order.
    pub seen: Vec<String>,
    code: Option<i32>,
}

impl Run {
    /// The binary with these arguments.
    pub fn binary(args: &[&str]) -> Self {
        Self::child(Command::new(bin()).args(args))
    }

    /// Any program (a lesson script, say), with the same line API.
    pub fn child(command: &mut Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = flume::unbounded();
        let stdout_reader = std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line = line.trim_end_matches(['\n', '\r']).to_owned();
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let (err_tx, stderr_rx) = mpsc::channel();
        let stderr_reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            let mut stderr = stderr;
            let _ = stderr.read_to_end(&mut text);
            let _ = err_tx.send(String::from_utf8_lossy(&text).into_owned());
        });
        Self {
            kind: Kind::Child {
                child,
                readers: vec![stdout_reader, stderr_reader],
                stderr_rx,
                stderr_text: None,
            },
            lines,
            seen: Vec::new(),
            code: None,
        }
    }

    /// The command in this process, on a thread of its own.
    pub fn here(args: &[&str]) -> Self {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (tx, lines) = flume::unbounded();
        let err = SharedBuf::default();
        let stop = StopSignal::default();
        let mut io = Io {
            out: Box::new(LineWriter {
                partial: Vec::new(),
                tx,
            }),
            err: Box::new(err.clone()),
            stop: stop.clone(),
        };
        let thread = std::thread::spawn(move || run_args(args, &mut io));
        Self {
            kind: Kind::Here {
                thread: Some(thread),
                stop,
                err,
            },
            lines,
            seen: Vec::new(),
            code: None,
        }
    }

    pub fn listing(&self) -> String {
        self.seen.iter().map(|l| format!("  {l}\n")).collect()
    }

    /// The next stdout line matching `pred`, waiting at most [`LIMIT`] in all.
    pub fn line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.line_within(what, LIMIT, pred)
            .unwrap_or_else(|why| panic!("waiting for a line with {what}: {why}"))
    }

    /// The next stdout line matching `pred` within `timeout`, or why there was none (with
    /// the lines seen).
    pub fn line_within(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return Ok(line);
                    }
                }
                Err(err) => {
                    let why = match err {
                        RecvTimeoutError::Timeout => format!("nothing within {timeout:?}"),
                        RecvTimeoutError::Disconnected => "stdout closed".to_owned(),
                    };
                    return Err(format!("{what}: {why}; lines seen:\n{}", self.listing()));
                }
            }
        }
    }

    /// Ctrl+C: SIGINT to the child (Unix), the raised stop signal in this process.
    pub fn interrupt(&self) {
        match &self.kind {
            Kind::Child { child, .. } => signal(child.id(), "INT"),
            Kind::Here { stop, .. } => {
                stop.stop();
            }
        }
    }

    /// Sends a signal by name (INT, TERM) to the child.
    pub fn signal(&self, name: &str) {
        match &self.kind {
            Kind::Child { child, .. } => signal(child.id(), name),
            Kind::Here { .. } => panic!("signal {name}: the command runs in this process"),
        }
    }

    /// Waits (at most [`LIMIT`]) for the end; the exit code (-1: ended by a signal).
    pub fn exit_code(&mut self) -> i32 {
        if let Some(code) = self.code {
            return code;
        }
        let deadline = Instant::now() + LIMIT;
        let code = match &mut self.kind {
            Kind::Child { child, .. } => loop {
                if let Some(status) = child.try_wait().expect("try_wait") {
                    break status.code().unwrap_or(-1);
                }
                assert!(
                    Instant::now() < deadline,
                    "the command did not exit within {LIMIT:?}; stdout:\n{}",
                    self.seen
                        .iter()
                        .map(|l| format!("  {l}\n"))
                        .collect::<String>()
                );
                std::thread::sleep(Duration::from_millis(10));
            },
            Kind::Here { thread, .. } => {
                let t = thread.take().expect("joined once");
                while !t.is_finished() {
                    assert!(
                        Instant::now() < deadline,
                        "the command did not end within {LIMIT:?}"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                match t.join() {
                    Ok(code) => code_of(code),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        };
        self.code = Some(code);
        code
    }

    /// Exit code (None: ended by a signal), every stdout line and stderr of a command that
    /// ends by itself.
    pub fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        let code = self.exit_code();
        self.rest_of_stdout();
        let err = self.stderr();
        ((code >= 0).then_some(code), self.seen.clone(), err)
    }

    /// Everything written to stderr (after the end).
    pub fn stderr(&mut self) -> String {
        self.exit_code();
        match &mut self.kind {
            Kind::Child {
                stderr_rx,
                stderr_text,
                ..
            } => stderr_text
                .get_or_insert_with(|| {
                    stderr_rx
                        .recv_timeout(LIMIT)
                        .expect("stderr closes when the child exits")
                })
                .clone(),
            Kind::Here { err, .. } => err.text(),
        }
    }

    /// The rest of stdout after the end.
    pub fn rest_of_stdout(&mut self) -> Vec<String> {
        self.exit_code();
        let mut rest = Vec::new();
        loop {
            match self.lines.recv_timeout(LIMIT) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    rest.push(line);
                }
                Err(RecvTimeoutError::Disconnected) => return rest,
                Err(RecvTimeoutError::Timeout) => panic!("stdout still open after the end"),
            }
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        match &mut self.kind {
            Kind::Child { child, readers, .. } => {
                if matches!(child.try_wait(), Ok(None)) {
                    let _ = child.kill();
                }
                let _ = child.wait();
                // The pipes close with the child, so the readers end.
                for reader in readers.drain(..) {
                    let _ = reader.join();
                }
            }
            Kind::Here { thread, stop, .. } => {
                stop.stop();
                if let Some(t) = thread.take() {
                    let deadline = Instant::now() + LIMIT;
                    while !t.is_finished() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    if t.is_finished() {
                        let _ = t.join();
                    }
                }
            }
        }
    }
}

/// Sends a signal by name (INT, TERM) with the system's `kill`.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid}: {status}");
}
