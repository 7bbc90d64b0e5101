//! The download client against hostile and unlucky servers: listings that lie
//! about their size or never end a line, servers that say nothing, two downloads racing for
//! one destination, and a file that appears under the final name while a download runs.
//!
//! The servers here are raw sockets on `127.0.0.1`, port 0 read back; every wait is bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket_workbench::net::NetErrorKind;
use socket_workbench::net::download::{DownloadEvent, list_remote, part_path};

mod common;
use common::files;
use files::*;

/// A raw server: runs `serve` on each accepted connection (one at a time, in its own
/// thread each) until dropped. Counts the bytes it managed to send.
struct Raw {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    join: Option<JoinHandle<()>>,
}

impl Raw {
    fn start<F>(serve: F) -> Self
    where
        F: Fn(TcpStream, &AtomicBool, &AtomicU64) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let serve = Arc::new(serve);
        let join = {
            let (stop, sent) = (stop.clone(), sent.clone());
            std::thread::spawn(move || {
                let mut workers = Vec::new();
                let deadline = Instant::now() + LIMIT * 2;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((s, _)) => {
                            s.set_nonblocking(false).unwrap();
                            s.set_write_timeout(Some(Duration::from_millis(200)))
                                .unwrap();
                            let (serve, stop, sent) = (serve.clone(), stop.clone(), sent.clone());
                            workers.push(std::thread::spawn(move || serve(s, &stop, &sent)));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                stop.store(true, Ordering::SeqCst);
                for w in workers {
                    let _ = w.join();
                }
            })
        };
        Self {
            addr,
            stop,
            sent,
            join: Some(join),
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// Reads the request (whatever the first read brings).
fn read_request(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    buf[..n].to_vec()
}

/// Sends `bytes` over and over until the client goes or `stop`; counts what went.
fn flood(s: &mut TcpStream, bytes: &[u8], stop: &AtomicBool, sent: &AtomicU64) {
    while !stop.load(Ordering::SeqCst) {
        match s.write(bytes) {
            Ok(0) => return,
            Ok(n) => {
                sent.fetch_add(n as u64, Ordering::SeqCst);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------

/// "A billion names", then names for ever: refused at once, nothing gathered.
#[test]
fn a_listing_that_claims_too_many_names_is_refused_at_once() {
    let raw = Raw::start(|mut s, stop, sent| {
        read_request(&mut s);
        let _ = s.write_all(b"SWB/1 LIST 1000000000\n");
        flood(&mut s, b"a\n", stop, sent);
    });
    let started = Instant::now();
    let err = list_remote("127.0.0.1", raw.addr.port(), Duration::from_secs(2)).unwrap_err();
    assert_eq!(err.kind, NetErrorKind::BadReply, "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A name line that never ends: the client stops reading after a few KiB, it does not
/// gather the flood.
#[test]
fn a_listing_line_that_never_ends_is_cut_short() {
    let raw = Raw::start(|mut s, stop, sent| {
        read_request(&mut s);
        let _ = s.write_all(b"SWB/1 LIST 1\n");
        flood(&mut s, &[b'x'; 64 * 1024], stop, sent);
    });
    let err = list_remote("127.0.0.1", raw.addr.port(), Duration::from_secs(2)).unwrap_err();
    assert_eq!(err.kind, NetErrorKind::BadReply, "{err:?}");
    // What the sender got out is bounded by the socket buffers, not by the flood.
    let sent = raw.sent.load(Ordering::SeqCst);
    assert!(
        sent < 64 * MB as u64,
        "the server sent {sent} bytes before the client gave up"
    );
}

/// A server that accepts and says nothing: before, "List files" waited for ever (each read
/// timed out and was tried again); now the listing has a time limit of its own.
#[test]
fn a_silent_server_cannot_hold_a_listing_for_ever() {
    let raw = Raw::start(|mut s, stop, _| {
        read_request(&mut s);
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let started = Instant::now();
    let err = list_remote("127.0.0.1", raw.addr.port(), Duration::from_secs(1)).unwrap_err();
    assert_eq!(err.kind, NetErrorKind::TimedOut, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

/// A trickle, one name line a second: each read succeeds, but the whole has a limit.
#[test]
fn a_trickling_listing_has_a_time_limit() {
    let raw = Raw::start(|mut s, stop, _| {
        read_request(&mut s);
        let _ = s.write_all(b"SWB/1 LIST 1000\n");
        while !stop.load(Ordering::SeqCst) && s.write_all(b"a\n").is_ok() {
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let started = Instant::now();
    let err = list_remote("127.0.0.1", raw.addr.port(), Duration::from_secs(1)).unwrap_err();
    assert_eq!(err.kind, NetErrorKind::TimedOut, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

/// A verified server that reads the request and never answers: the download ends after
/// its stall timeout (before, only Cancel ended it; the command line waited for ever).
#[test]
fn a_server_that_never_answers_ends_the_download_after_the_stall_timeout() {
    let tmp = TempDir::new("hostile-dl-silent");
    let raw = Raw::start(|mut s, stop, _| {
        read_request(&mut s);
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let dest = tmp.join("x.bin");
    let mut cfg = config(raw.addr.port(), "x.bin", &dest, true);
    cfg.stall_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let (error, _) = failed(&download(cfg));
    assert_eq!(error.kind, NetErrorKind::TimedOut, "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_absent(&dest);
    assert_absent(&part_path(&dest));
}

// ---------------------------------------------------------------------------------------------
// One destination
// ---------------------------------------------------------------------------------------------

/// A server that sends `data` slowly, 4 KiB every 20 ms; to a verified request, after the
/// size and digest.
fn slow_server(data: Arc<Vec<u8>>) -> Raw {
    Raw::start(move |mut s, stop, _| {
        if read_request(&mut s).starts_with(socket_workbench::proto::download::MAGIC) {
            let header = socket_workbench::proto::download::Reply::Ok {
                size: data.len() as u64,
                digest: blake3_hex(&data),
            }
            .encode();
            let _ = s.write_all(&header);
        }
        for chunk in data.chunks(4096) {
            if stop.load(Ordering::SeqCst) || s.write_all(chunk).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

/// Two downloads to one destination: the second is refused while the first writes its
/// `.part`, and the first ends whole. (Before, the second truncated the first's `.part` and
/// both wrote into it.)
#[test]
fn a_second_download_to_the_same_destination_is_refused() {
    let tmp = TempDir::new("hostile-dl-twice");
    let data = Arc::new(random_bytes(200 * 1024, 31));
    let raw = slow_server(data.clone());
    let dest = tmp.join("same.bin");
    let mut first = Pending::start(config(raw.addr.port(), "same.bin", &dest, false));
    first.wait(
        "progress",
        |e| matches!(e, DownloadEvent::Progress { have, .. } if *have > 0),
    );
    let second = download(config(raw.addr.port(), "same.bin", &dest, false));
    let (error, kept) = failed(&second);
    assert_eq!(error.kind, NetErrorKind::PartInUse, "{error:?}");
    assert_eq!(kept, None);
    let events = first.finish();
    let (path, bytes, _) = done(&events);
    assert_eq!(path, dest);
    assert_eq!(bytes, data.len() as u64);
    assert_file_is(&dest, &data);
    assert_absent(&part_path(&dest));
}

/// A file appears under the final name while the download runs: it is not replaced; the
/// complete download stays in its `.part`, and the error says where.
#[test]
fn a_file_that_appears_meanwhile_is_never_replaced() {
    let tmp = TempDir::new("hostile-dl-appears");
    let data = Arc::new(random_bytes(200 * 1024, 32));
    let raw = slow_server(data.clone());
    for (name, verified) in [("lesson.bin", false), ("verified.bin", true)] {
        let dest = tmp.join(name);
        let mut pending = Pending::start(config(raw.addr.port(), name, &dest, verified));
        pending.wait(
            "progress",
            |e| matches!(e, DownloadEvent::Progress { have, .. } if *have > 0),
        );
        write_file(&dest, b"my own file");
        let events = pending.finish();
        let (error, kept) = failed(&events);
        assert_eq!(error.kind, NetErrorKind::DestinationExists, "{error:?}");
        assert_file_is(&dest, b"my own file");
        let part = part_path(&dest);
        assert_eq!(kept.as_deref(), Some(part.as_path()));
        assert_file_is(&part, &data);
    }
}
