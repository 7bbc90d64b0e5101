//! The file server against hostile and unlucky peers: clients that never read,
//! too many clients at once, clients that connect and say nothing, names that break the
//! listing, hard links and symlinks swapped in under the server's feet, and a server that has
//! run out of descriptors.
//!
//! Only `127.0.0.1` is contacted, every port is 0 read back, every wait is bounded.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket_workbench::net::NetErrorKind;
use socket_workbench::net::file_server::{
    FileServerConfig, FileServerEvent, NotServed, list_files, open_confined,
};
use socket_workbench::proto::download::{Refusal, Reply, get_request};

mod common;
use common::files;
use files::*;

/// Reads until the server closes: the bytes, and whether it closed with FIN (`true`) or the
/// connection was reset.
fn read_to_end_or_reset(stream: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the server neither closed nor sent within {LIMIT:?}")
            }
            Err(_) => return (out, false),
        }
    }
}

fn whole_reply(data: &[u8]) -> Vec<u8> {
    let mut whole = Reply::Ok {
        size: data.len() as u64,
        digest: blake3_hex(data),
    }
    .encode();
    whole.extend_from_slice(data);
    whole
}

// ---------------------------------------------------------------------------------------------
// Transfers need a pulse
// ---------------------------------------------------------------------------------------------

/// Two clients take both places and never read. Before, the third waited
/// for ever; now each stalled transfer ends after the stall timeout, said as such, and the
/// third gets the whole file.
#[test]
fn clients_that_never_read_lose_their_place_after_the_stall_timeout() {
    let tmp = TempDir::new("hostile-stall");
    let shared = tmp.dir("shared");
    let data = random_bytes(16 * MB, 21);
    write_file(&shared.join("big.bin"), &data);
    let mut cfg = FileServerConfig::new(&shared, loopback());
    cfg.max_transfers = Some(2);
    cfg.stall_timeout = Duration::from_secs(1);
    let mut server = Server::start(cfg);

    let stalled: Vec<(u64, TcpStream)> = (0..2)
        .map(|_| {
            let mut s = connect_small_window(server.addr);
            s.write_all(&get_request("big.bin", 0)).unwrap();
            (server.id_of(s.local_addr().unwrap()), s)
        })
        .collect();
    server.wait_count("two Sending", 2, |e| {
        matches!(e, FileServerEvent::Sending { .. })
    });

    let started = Instant::now();
    let mut third = connect(server.addr);
    third.write_all(&get_request("big.bin", 0)).unwrap();
    let third_id = server.id_of(third.local_addr().unwrap());
    let (got, clean) = read_to_end_or_reset(&mut third);
    assert!(clean, "the third client's connection was reset");
    assert_same_bytes(&got, &whole_reply(&data), "the third client");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the third client waited {:?}",
        started.elapsed()
    );
    assert!(matches!(
        server.outcome(third_id),
        FileServerEvent::Served { sent, .. } if sent == data.len() as u64
    ));
    for (id, _) in &stalled {
        match server.outcome(*id) {
            FileServerEvent::Failed { error, sent, .. } => {
                assert_eq!(error.kind, NetErrorKind::Stalled, "{error:?}");
                assert!(sent < data.len() as u64);
            }
            other => panic!("#{id}: {other:?}\n{}", server.listing()),
        }
    }
}

/// The wait queue is bounded: with one place taken and one request waiting, a verified
/// client is told "busy" and a lesson client sees a clean close (FIN, not RST), and both are
/// reported.
#[test]
fn a_full_wait_queue_refuses_as_busy_and_closes_cleanly() {
    let tmp = TempDir::new("hostile-busy");
    let shared = tmp.dir("shared");
    let data = random_bytes(16 * MB, 22);
    write_file(&shared.join("big.bin"), &data);
    write_file(&shared.join("small.txt"), b"small");
    let mut cfg = FileServerConfig::new(&shared, loopback());
    cfg.max_transfers = Some(1);
    cfg.max_queued = 1;
    cfg.stall_timeout = Duration::from_secs(30);
    let mut server = Server::start(cfg);

    let mut holder = connect_small_window(server.addr);
    holder.write_all(&get_request("big.bin", 0)).unwrap();
    let holder_id = server.id_of(holder.local_addr().unwrap());
    server.event(
        "the holder Sending",
        |e| matches!(e, FileServerEvent::Sending { id, .. } if *id == holder_id),
    );
    let mut queued = connect(server.addr);
    queued.write_all(&get_request("small.txt", 0)).unwrap();
    let queued_id = server.id_of(queued.local_addr().unwrap());
    server.event(
        "the queued one Requested",
        |e| matches!(e, FileServerEvent::Requested { id, .. } if *id == queued_id),
    );

    let mut verified = connect(server.addr);
    verified.write_all(&get_request("small.txt", 0)).unwrap();
    let verified_id = server.id_of(verified.local_addr().unwrap());
    let (got, clean) = read_to_end_or_reset(&mut verified);
    assert!(clean, "reset instead of a clean close");
    assert_eq!(got, Reply::Refused(Refusal::Busy).encode());
    assert!(matches!(
        server.outcome(verified_id),
        FileServerEvent::NotServed {
            why: NotServed::Refused(Refusal::Busy),
            ..
        }
    ));

    // A lesson client sends its name, and a newline 50 ms later, as students' clients do.
    let mut lesson = connect(server.addr);
    lesson.write_all(b"small.txt").unwrap();
    let lesson_id = server.id_of(lesson.local_addr().unwrap());
    std::thread::sleep(Duration::from_millis(50));
    let _ = lesson.write_all(b"\n");
    let (got, clean) = read_to_end_or_reset(&mut lesson);
    assert!(clean, "reset instead of a clean close");
    assert!(got.is_empty(), "{got:?}");
    assert!(matches!(
        server.outcome(lesson_id),
        FileServerEvent::NotServed {
            why: NotServed::Refused(Refusal::Busy),
            ..
        }
    ));

    // The holder leaves; the queued one is served.
    drop(holder);
    let (got, _) = read_to_end_or_reset(&mut queued);
    assert_same_bytes(&got, &whole_reply(b"small"), "the queued client");
}

/// Slow loris: clients that connect and say nothing cannot pile up without bound; the oldest
/// makes room for a newcomer, and a real client is still served at once.
#[test]
fn silent_clients_cannot_crowd_out_a_real_one() {
    let tmp = TempDir::new("hostile-loris");
    let shared = tmp.dir("shared");
    write_file(&shared.join("a.txt"), b"hello");
    let mut cfg = FileServerConfig::new(&shared, loopback());
    cfg.max_waiting = 8;
    cfg.request_timeout = Duration::from_secs(60);
    let mut server = Server::start(cfg);

    let silent: Vec<TcpStream> = (0..20).map(|_| connect(server.addr)).collect();
    server.wait_count("20 Connected", 20, |e| {
        matches!(e, FileServerEvent::Connected { .. })
    });
    let started = Instant::now();
    let (_, got) = raw_request(server.addr, b"a.txt");
    assert_eq!(got, b"hello");
    assert!(started.elapsed() < Duration::from_secs(5));
    // 21 connections, at most 8 held: at least 13 were dropped, oldest first.
    server.wait_count("13 Crowded", 13, |e| {
        matches!(
            e,
            FileServerEvent::NotServed {
                why: NotServed::Crowded,
                ..
            }
        )
    });
    // The first silent client was among them: the server closed it.
    let mut first = silent.into_iter().next().unwrap();
    let mut buf = [0u8; 16];
    assert!(matches!(first.read(&mut buf), Ok(0) | Err(_)));
}

// ---------------------------------------------------------------------------------------------
// Names and links
// ---------------------------------------------------------------------------------------------

/// A newline in a file name would split one name into two lines of the listing (and a
/// client counting lines would take the wrong names); such names are neither listed nor
/// served.
#[cfg(unix)]
#[test]
fn control_characters_in_names_neither_list_nor_serve() {
    let tmp = TempDir::new("hostile-ctrl");
    let shared = tmp.dir("shared");
    write_file(&shared.join("ok.txt"), b"ok");
    write_file(&shared.join("two\nlines.txt"), b"x");
    write_file(&shared.join("tab\there.txt"), b"x");
    write_file(&shared.join("bell\u{7}.txt"), b"x");
    assert_eq!(list_files(&shared), vec!["ok.txt".to_owned()]);

    let server = Server::serve(&shared);
    let names =
        socket_workbench::net::download::list_remote("127.0.0.1", server.port(), LIMIT).unwrap();
    assert_eq!(names, vec!["ok.txt".to_owned()]);
    let (_, got) = raw_request(server.addr, &get_request("tab\there.txt", 0));
    assert_eq!(got, Reply::Refused(Refusal::ControlChar).encode());
}

/// A hard link is a second name of the same file; the other name may lie outside the folder
/// (a student links `/etc/shadow`-like files in), and which cannot be told, so a file with
/// more than one name is not served, and not listed.
#[test]
fn hard_links_are_not_served() {
    let tmp = TempDir::new("hostile-hardlink");
    let shared = tmp.dir("shared");
    let outside = tmp.dir("outside");
    write_file(&outside.join("secret.txt"), b"top secret");
    write_file(&shared.join("plain.txt"), b"plain");
    std::fs::hard_link(outside.join("secret.txt"), shared.join("link.txt")).expect("hard_link");

    assert!(matches!(
        open_confined(&dunce_root(&shared), "link.txt"),
        Err(Refusal::HardLink)
    ));
    assert_eq!(
        list_files(&dunce_root(&shared)),
        vec!["plain.txt".to_owned()]
    );
    let server = Server::serve(&shared);
    let (_, got) = raw_request(server.addr, b"link.txt");
    assert!(got.is_empty(), "the lesson client got {got:?}");
    let (_, got) = raw_request(server.addr, &get_request("link.txt", 0));
    assert_eq!(got, Reply::Refused(Refusal::HardLink).encode());
}

fn dunce_root(path: &std::path::Path) -> std::path::PathBuf {
    // What the server works with: the canonical folder.
    dunce::canonicalize(path).unwrap()
}

/// The name check and the open used to be two steps: a directory swapped for a symlink
/// between them led outside the folder. Here another thread swaps `shared/d` (a real folder)
/// and a symlink to `outside/` back and forth as fast as it can (`renameat2`
/// `RENAME_EXCHANGE`, atomic), while the server's own lookup asks for `d/f.txt` over and
/// over: it must never hand out the outside file.
#[cfg(target_os = "linux")]
#[test]
fn a_symlink_swapped_in_after_the_check_leads_nowhere() {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let tmp = TempDir::new("hostile-swap");
    let shared = tmp.dir("shared");
    let outside = tmp.dir("outside");
    write_file(&shared.join("d/f.txt"), b"inside");
    write_file(&outside.join("f.txt"), b"OUTSIDE");
    std::os::unix::fs::symlink(&outside, shared.join("l")).unwrap();
    let root = std::fs::canonicalize(&shared).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let a = CString::new(shared.join("d").as_os_str().as_bytes()).unwrap();
        let b = CString::new(shared.join("l").as_os_str().as_bytes()).unwrap();
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: two valid NUL-terminated paths; the call only renames.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_renameat2,
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        b.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                assert_eq!(r, 0, "renameat2: {}", std::io::Error::last_os_error());
                swaps += 1;
            }
            swaps
        })
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    let (mut inside, mut refused, mut tries) = (0u64, 0u64, 0u64);
    let mut leaked = None;
    while Instant::now() < deadline && leaked.is_none() {
        tries += 1;
        match open_confined(&root, "d/f.txt") {
            Ok((mut file, _)) => {
                let mut body = Vec::new();
                file.read_to_end(&mut body).unwrap();
                if body == b"inside" {
                    inside += 1;
                } else {
                    leaked = Some(body);
                }
            }
            Err(_) => refused += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(
        leaked.is_none(),
        "the outside file was opened after {tries} tries ({swaps} swaps)"
    );
    assert!(swaps > 1000, "the swapper barely ran: {swaps} swaps");
    assert!(
        inside > 0 && refused > 0,
        "{inside} served, {refused} refused"
    );
}

/// Out of descriptors: `accept()` fails with EMFILE and, edge-triggered, the listener would
/// not wake again for the clients already in its backlog. The server retries on a timer, so
/// every one of 40 clients that connect at once is served, though only a few descriptors are
/// free at a time. Runs the real command in a child whose descriptor limit is 24.
#[cfg(unix)]
#[test]
fn out_of_descriptors_the_server_retries_accept_and_serves_the_backlog() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let tmp = TempDir::new("hostile-emfile");
    let shared = tmp.dir("shared");
    write_file(&shared.join("a.txt"), b"hello");
    let bin = env!("CARGO_BIN_EXE_socket-workbench");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 24 && exec \"$0\" serve-files \"$1\" --listen 127.0.0.1:0")
        .arg(bin)
        .arg(&shared)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve-files");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let mut child = Kill(child);
    let mut lines = std::io::BufReader::new(stdout).lines();
    let first = lines.next().expect("a line").expect("read stdout");
    let addr: SocketAddr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .parse()
        .unwrap();
    // Keep reading stdout so the server never blocks on a full pipe.
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).count());

    let clients: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut s = connect(addr);
            s.write_all(b"a.txt").unwrap();
            s
        })
        .collect();
    // Each reads its file and closes, as the lesson's client does.
    for (i, mut s) in clients.into_iter().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("client {i}: {e} after {got:?}"),
            }
        }
        assert_eq!(got, b"hello", "client {i}");
    }
    let _ = child.0.kill();
    let _ = child.0.wait();
    let _ = drain.join();
    let mut err = String::new();
    if let Some(mut e) = child.0.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(
        err.contains("descriptors") || err.contains("Too many open files"),
        "the warning said: {err}"
    );
}
