//! The send machinery the TCP client, the TCP server and the UDP engine share: why bytes went
//! out, a repeat run on a steady clock, a file read in chunks with its progress, and the
//! progress events all three report the same way (reduced once, in `model::send`).

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::NetError;

/// How often a file send reports its progress.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// The shortest repeat interval: a zero interval would spin.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Why bytes went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOrigin {
    /// The user sent them.
    Typed,
    /// The server's auto-reply answered a client.
    AutoReply,
    /// The UDP socket echoed a datagram.
    Echo,
    /// The `n`th send of a repeat run of `of` (or until stopped).
    Repeat { n: u64, of: Option<u64> },
    /// A file's bytes; `complete` when the whole file went out (the TCP client reports a file
    /// once, at its end; the server and UDP report each chunk, with `complete` false).
    File { path: PathBuf, complete: bool },
}

/// A file send's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProgress {
    pub path: PathBuf,
    pub sent: u64,
    pub total: Option<u64>,
    pub done: bool,
}

/// A repeat run's or a file send's progress, the same from every sending engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendProgress {
    /// A repeat run started (`running`) or stopped, after `sent` sends.
    Repeating {
        running: bool,
        sent: u64,
    },
    File(FileProgress),
}

impl SendProgress {
    pub fn repeat_started() -> Self {
        SendProgress::Repeating {
            running: true,
            sent: 0,
        }
    }
}

/// One send of a repeat run.
pub struct Turn<T> {
    pub to: T,
    pub bytes: Arc<[u8]>,
    pub origin: SendOrigin,
    /// The run has made its last send.
    pub last: bool,
}

/// A repeat run: the same bytes to `to` every `interval`, `count` times or until stopped.
pub struct Repeat<T> {
    to: T,
    bytes: Arc<[u8]>,
    interval: Duration,
    count: Option<u64>,
    sent: u64,
    next: Instant,
}

impl<T: Clone> Repeat<T> {
    /// A run whose first send is due now.
    pub fn new(to: T, bytes: impl Into<Arc<[u8]>>, interval: Duration, count: Option<u64>) -> Self {
        Self {
            to,
            bytes: bytes.into(),
            interval: interval.max(MIN_INTERVAL),
            count,
            sent: 0,
            next: Instant::now(),
        }
    }

    /// When the next send is due.
    pub fn next_at(&self) -> Instant {
        self.next
    }

    pub fn due(&self, now: Instant) -> bool {
        self.next <= now
    }

    /// Takes the next send. The following one is scheduled from the planned time, not from
    /// now, so the rate does not drift; but a backlog after a stall is never caught up in a
    /// burst.
    pub fn turn(&mut self) -> Turn<T> {
        self.sent += 1;
        self.next = (self.next + self.interval).max(Instant::now());
        Turn {
            to: self.to.clone(),
            bytes: self.bytes.clone(),
            origin: SendOrigin::Repeat {
                n: self.sent,
                of: self.count,
            },
            last: self.count.is_some_and(|c| self.sent >= c),
        }
    }

    /// The event that says the run stopped.
    pub fn stopped(&self) -> SendProgress {
        SendProgress::Repeating {
            running: false,
            sent: self.sent,
        }
    }
}

/// A file being sent: read in chunks, counted, its progress reported at most every
/// [`PROGRESS_EVERY`].
pub struct FileSource {
    path: PathBuf,
    file: File,
    sent: u64,
    total: Option<u64>,
    last_report: Instant,
}

impl FileSource {
    pub fn open(path: PathBuf) -> Result<Self, NetError> {
        let file = File::open(&path).map_err(|e| NetError::file_read(&path, &e))?;
        let total = file.metadata().ok().map(|m| m.len());
        Ok(Self {
            path,
            file,
            sent: 0,
            total,
            last_report: Instant::now(),
        })
    }

    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// The next chunk into `buf`; 0 at the end of the file.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        loop {
            match self.file.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(NetError::file_read(&self.path, &e)),
                Ok(n) => return Ok(n),
            }
        }
    }

    /// Counts `n` bytes as sent; the progress event when one is due.
    pub fn count(&mut self, n: usize) -> Option<SendProgress> {
        self.sent += n as u64;
        if self.last_report.elapsed() < PROGRESS_EVERY {
            return None;
        }
        self.last_report = Instant::now();
        Some(self.progress(false))
    }

    /// The origin of this file's chunks.
    pub fn origin(&self, complete: bool) -> SendOrigin {
        SendOrigin::File {
            path: self.path.clone(),
            complete,
        }
    }

    pub fn progress(&self, done: bool) -> SendProgress {
        SendProgress::File(FileProgress {
            path: self.path.clone(),
            sent: self.sent,
            total: self.total,
            done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counted_run_numbers_its_sends_and_knows_its_last() {
        let mut run = Repeat::new("peer", b"hi".to_vec(), Duration::ZERO, Some(3));
        assert!(run.due(Instant::now()));
        let turns: Vec<_> = (0..3).map(|_| run.turn()).collect();
        let origins: Vec<_> = turns.iter().map(|t| t.origin.clone()).collect();
        assert_eq!(
            origins,
            (1..=3)
                .map(|n| SendOrigin::Repeat { n, of: Some(3) })
                .collect::<Vec<_>>()
        );
        assert_eq!(
            turns.iter().map(|t| t.last).collect::<Vec<_>>(),
            [false, false, true]
        );
        assert_eq!(&turns[0].bytes[..], b"hi");
        assert_eq!(
            run.stopped(),
            SendProgress::Repeating {
                running: false,
                sent: 3
            }
        );
    }

    #[test]
    fn the_interval_is_at_least_a_millisecond_and_a_stall_is_not_caught_up() {
        let t0 = Instant::now();
        let mut run = Repeat::new((), vec![0], Duration::ZERO, None);
        run.turn();
        assert!(run.next_at() >= t0 + MIN_INTERVAL);

        let mut slow = Repeat::new((), vec![0], Duration::from_millis(10), None);
        std::thread::sleep(Duration::from_millis(50));
        let before = Instant::now();
        slow.turn();
        // The planned time plus the interval is long past: the next send is due now, once,
        // not four more in a burst.
        assert!(slow.next_at() >= before, "a stall is not caught up");
        slow.turn();
        assert!(slow.next_at() >= before + Duration::from_millis(10));
    }

    #[test]
    fn a_file_is_read_counted_and_reported() {
        let dir = std::env::temp_dir().join(format!("sw-send-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        std::fs::write(&path, vec![7u8; 10_000]).unwrap();
        let mut src = FileSource::open(path.clone()).unwrap();
        let mut buf = vec![0u8; 4096];
        let mut total = 0;
        loop {
            let n = src.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n;
            src.count(n);
        }
        assert_eq!(total, 10_000);
        assert_eq!(
            src.progress(true),
            SendProgress::File(FileProgress {
                path: path.clone(),
                sent: 10_000,
                total: Some(10_000),
                done: true
            })
        );
        let missing = FileSource::open(dir.join("missing")).err().unwrap();
        assert!(missing.detail.contains("missing"), "{missing:?}");
        // Windows removes no file that is still open.
        drop(src);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
