//! "Check my server" against reference servers written the way students write
//! exercise 1, each with the verdict it must get. Loopback only, short timeouts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use socket_workbench::net::Waker;
use socket_workbench::net::check::{
    CheckConfig, CheckEvent, CheckKind, CheckMsg, CheckRun, Expect, Live, Verdict, run_all,
    run_check, spawn_check,
};
use socket_workbench::proto::encoding::TextEncoding;

mod common;
use common::cli::run_here;
use common::{LIMIT, closed_port};

fn listen() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

fn config(addr: SocketAddr) -> CheckConfig {
    CheckConfig {
        addr,
        clients: 10,
        messages: 3,
        expect: Expect::Echo,
        encoding: TextEncoding::Utf8,
        hex: false,
        timeout: Duration::from_millis(600),
        skip: Vec::new(),
    }
}

/// `while True: data = conn.recv(1024); if not data: break; conn.sendall(data)` then close.
fn echo_loop(mut c: TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 || c.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

/// accept() in a loop, a thread per client running `serve`.
fn serve_each(serve: fn(TcpStream)) -> SocketAddr {
    let (l, a) = listen();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            std::thread::spawn(move || serve(c));
        }
    });
    a
}

/// The right answer: accept() in a loop, a thread per client, recv() in a loop.
fn threaded_server() -> SocketAddr {
    serve_each(echo_loop)
}

/// The lesson's own server: one accept(), then that client's loop, then the end.
fn one_client_server() -> SocketAddr {
    let (l, a) = listen();
    std::thread::spawn(move || {
        if let Ok((c, _)) = l.accept() {
            echo_loop(c);
        }
        // The listener stays open (the program is still in its last lines): later clients
        // sit in the backlog.
        std::thread::sleep(Duration::from_secs(60));
        drop(l);
    });
    a
}

/// accept() in a loop, but each client is answered once: recv(), sendall(), and the thread
/// then waits for nothing.
fn answers_once_server() -> SocketAddr {
    serve_each(|mut c| {
        let mut buf = [0u8; 1024];
        if let Ok(n) = c.read(&mut buf) {
            let _ = c.write_all(&buf[..n]);
        }
        std::thread::sleep(Duration::from_secs(60));
    })
}

/// Echoes correctly but never closes after the client's FIN (`if not data: continue`).
fn never_closes_server() -> SocketAddr {
    serve_each(|mut c| {
        let mut buf = [0u8; 1024];
        loop {
            match c.read(&mut buf) {
                Ok(0) => std::thread::sleep(Duration::from_secs(60)),
                Ok(n) => {
                    let _ = c.write_all(&buf[..n]);
                }
                Err(_) => return,
            }
        }
    })
}

/// Answers every recv() with "OK\n".
fn ok_server() -> SocketAddr {
    serve_each(|mut c| {
        let mut buf = [0u8; 1024];
        while let Ok(n) = c.read(&mut buf) {
            if n == 0 || c.write_all(b"OK\n").is_err() {
                break;
            }
        }
    })
}

#[test]
fn a_correct_threaded_server_passes_every_check() {
    let addr = threaded_server();
    let results = run_all(&config(addr), |_| {});
    assert_eq!(results.len(), CheckKind::ALL.len());
    for r in &results {
        assert!(r.verdict.passed(), "{:?}: {:?}", r.kind, r.verdict);
    }
    assert_eq!(results[0].clients.len(), 10);
}

#[test]
fn the_lessons_one_client_server_serves_only_the_first() {
    let addr = one_client_server();
    let r = run_check(CheckKind::Class, &config(addr));
    match r.verdict {
        Verdict::OnlyFirstServed {
            served,
            waiting,
            unconnected,
            ..
        } => assert_eq!((served, waiting + unconnected), (1, 9)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_server_that_answers_once_fails_on_the_second_message() {
    let addr = answers_once_server();
    let r = run_check(CheckKind::Class, &config(addr));
    assert_eq!(r.verdict, Verdict::FirstAnswerOnly { clients: 10 });
}

#[test]
fn a_server_that_never_closes_after_fin_is_caught() {
    let addr = never_closes_server();
    let c = config(addr);
    assert!(run_check(CheckKind::Class, &c).verdict.passed());
    assert!(matches!(
        run_check(CheckKind::HalfClose, &c).verdict,
        Verdict::NoCloseAfterFin { .. }
    ));
}

/// A reply that is not the echo: the evidence says what was sent and what came back.
#[test]
fn a_wrong_reply_is_shown_with_its_evidence() {
    let mut c = config(ok_server());
    c.clients = 3;
    match run_check(CheckKind::Class, &c).verdict {
        Verdict::WrongReply { sent, got, .. } => {
            assert!(sent.starts_with("同学"), "{sent}");
            assert_eq!(got, "OK\n");
        }
        other => panic!("{other:?}"),
    }
    // The same server is right when any reply will do, or exactly "OK".
    c.expect = Expect::Any;
    assert!(run_check(CheckKind::Class, &c).verdict.passed());
    c.expect = Expect::parse("text:OK").unwrap();
    assert!(run_check(CheckKind::Class, &c).verdict.passed());
    c.expect = Expect::parse("regex:^O[K]").unwrap();
    assert!(run_check(CheckKind::Class, &c).verdict.passed());
}

/// From the command line: exit 0 for the right server, 1 for the lesson's one-client server
/// (with the hint about accept()), 2 for bad input; nothing listening is said as such.
#[test]
fn check_server_from_the_command_line() {
    // In this process (`cli::run_args`): (exit code, stdout, stderr).
    let run = |args: &[&str]| run_here(args);
    let good = threaded_server();
    let out = run(&[
        "check-server",
        &good.to_string(),
        "--clients",
        "5",
        "--timeout",
        "0.6",
        "--encoding",
        "gbk",
    ]);
    assert_eq!(out.0, 0, "{}", out.1);
    let bad = one_client_server();
    let out = run(&[
        "check-server",
        &bad.to_string(),
        "--clients",
        "5",
        "--timeout",
        "0.6",
        "--json",
    ]);
    assert_eq!(out.0, 1);
    let text = out.1.clone();
    assert!(text.contains("accept() in a loop"), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap_or("")
            .starts_with("{\"passed\":"),
        "{text}"
    );
    // A second run against the same server: it is still busy with its one client.
    let again = run(&[
        "check-server",
        &bad.to_string(),
        "--clients",
        "3",
        "--timeout",
        "0.4",
    ]);
    assert!(again.1.contains("none got a reply"));
    let fresh = one_client_server();
    let zh = run(&[
        "check-server",
        &fresh.to_string(),
        "--clients",
        "3",
        "--timeout",
        "0.4",
        "--lang",
        "zh",
    ]);
    assert!(zh.1.contains("循环中调用 accept()"));
    // Nothing listening: a closed port.
    let closed = SocketAddr::from(([127, 0, 0, 1], closed_port()));
    let out = run(&["check-server", &closed.to_string(), "--timeout", "0.5"]);
    assert_eq!(out.0, 1);
    assert!(out.1.clone().contains("nothing accepts connections"));
    for bad_args in [
        &["check-server", "127.0.0.1:1", "--clients", "0"][..],
        &["check-server", "127.0.0.1:1", "--expect", "regex:("],
        &["check-server", "127.0.0.1:1", "--expect", "maybe"],
        &["check-server", "127.0.0.1"],
        &["check-server", "127.0.0.1:1", "--skip", "class"],
        &["check-server", "127.0.0.1:1", "--skip", "slow,fast"],
    ] {
        assert_eq!(run(bad_args).0, 2, "{bad_args:?}");
    }
}

/// A run on its engine thread, and its events.
struct Watched {
    run: CheckRun,
    events: flume::Receiver<CheckMsg>,
}

impl Watched {
    fn stop(&self) {
        self.run.stop();
    }

    fn next(&self, left: Duration) -> Result<CheckEvent, flume::RecvTimeoutError> {
        let msg = self.events.recv_timeout(left)?;
        assert_eq!(
            msg.session,
            self.run.session(),
            "events carry the run's session"
        );
        Ok(msg.event)
    }
}

fn start(c: CheckConfig) -> Watched {
    let (tx, events) = flume::unbounded();
    let run = spawn_check(c, tx, Waker::noop()).unwrap();
    Watched { run, events }
}

/// Events of a watched run until it says it finished (bounded by `limit`).
fn events_until_finished(run: &Watched, limit: Duration) -> Vec<CheckEvent> {
    let deadline = std::time::Instant::now() + limit;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let e = run.next(left).expect("the run did not finish in time");
        let done = matches!(e, CheckEvent::Finished { .. });
        out.push(e);
        if done {
            return out;
        }
    }
}

/// Left-out checks do not run; the watcher sees each check begin and end, and every client
/// of the class go from connecting to done.
#[test]
fn a_watched_run_reports_every_client_and_skips_what_it_is_told() {
    let addr = threaded_server();
    let mut c = config(addr);
    c.skip = vec![CheckKind::Slow, CheckKind::Big];
    let run = start(c);
    let events = events_until_finished(&run, LIMIT);
    let begun: Vec<CheckKind> = events
        .iter()
        .filter_map(|e| match e {
            CheckEvent::Begin(k) => Some(*k),
            _ => None,
        })
        .collect();
    assert_eq!(
        begun,
        [
            CheckKind::Class,
            CheckKind::ConnectClose,
            CheckKind::HalfClose,
            CheckKind::Reconnect
        ]
    );
    let results: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            CheckEvent::Result(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 4);
    assert!(results.iter().all(|r| r.verdict.passed()), "{results:?}");
    // Each client's last word is Done, after it was seen connecting and talking.
    for i in 0..10 {
        let lives: Vec<Live> = events
            .iter()
            .filter_map(|e| match e {
                CheckEvent::Client { i: j, live } if *j == i => Some(*live),
                _ => None,
            })
            .collect();
        assert_eq!(
            lives.first(),
            Some(&Live::Connecting),
            "client {i}: {lives:?}"
        );
        assert_eq!(lives.last(), Some(&Live::Done), "client {i}: {lives:?}");
        assert!(
            lives.contains(&Live::Talking { answered: 2 }),
            "client {i}: {lives:?}"
        );
    }
    assert!(matches!(
        events.last(),
        Some(CheckEvent::Finished { stopped: false })
    ));
}

/// Stop while nine clients wait on the lesson's one-client server with a 10 s timeout: the
/// run ends within a second or two, gives no verdict for the cut-short check, and says it
/// was stopped.
#[test]
fn a_stopped_run_ends_at_once_without_a_verdict() {
    let addr = one_client_server();
    let mut c = config(addr);
    c.timeout = Duration::from_secs(10);
    let run = start(c);
    // Wait until the first client is done and the others are waiting.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if let CheckEvent::Client {
            live: Live::Done, ..
        } = run.next(left).unwrap()
        {
            break;
        }
    }
    let asked = std::time::Instant::now();
    run.stop();
    let events = events_until_finished(&run, Duration::from_secs(5));
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    assert!(
        !events.iter().any(|e| matches!(e, CheckEvent::Result(_))),
        "{events:?}"
    );
    assert!(matches!(
        events.last(),
        Some(CheckEvent::Finished { stopped: true })
    ));
}

/// `--skip` leaves checks out of the run and out of the count.
#[test]
fn skip_from_the_command_line() {
    let good = threaded_server();
    let out = run_here(&[
        "check-server",
        &good.to_string(),
        "--clients",
        "3",
        "--timeout",
        "0.6",
        "--skip",
        "slow,big,reconnect",
        "--json",
    ]);
    assert_eq!(out.0, 0);
    let text = out.1.clone();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(!text.contains("\"check\":\"slow\""), "{text}");
    assert_eq!(
        text.lines().last(),
        Some("{\"passed\":3,\"checks\":3}"),
        "{text}"
    );
}

/// Hex messages: a byte-faithful echo passes; a server that treats the bytes as text (UTF-8,
/// replacing what is not) fails with the evidence in hex; a fixed reply is given in hex.
#[test]
fn hex_messages_catch_a_server_that_mangles_bytes() {
    let mut c = config(threaded_server());
    c.hex = true;
    c.clients = 3;
    let r = run_check(CheckKind::Class, &c);
    assert!(r.verdict.passed(), "{:?}", r.verdict);
    assert!(run_check(CheckKind::Big, &c).verdict.passed());

    // Echoes what it decoded as UTF-8 (`data.decode(errors="replace").encode()`).
    c.addr = serve_each(|mut s| {
        let mut buf = [0u8; 1024];
        while let Ok(n) = s.read(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if n == 0 || s.write_all(text.as_bytes()).is_err() {
                break;
            }
        }
    });
    match run_check(CheckKind::Class, &c).verdict {
        Verdict::WrongReply { sent, got, .. } => {
            assert!(sent.starts_with("A5 5A 00"), "{sent}");
            // U+FFFD, in UTF-8, where A5 was.
            assert!(got.starts_with("EF BF BD"), "{got}");
        }
        other => panic!("{other:?}"),
    }

    // "OK\n" as the fixed reply, typed in hex.
    let addr = ok_server();
    c.addr = addr;
    c.expect = Expect::parse("text:4F 4B 0A").unwrap().in_hex().unwrap();
    assert!(run_check(CheckKind::Class, &c).verdict.passed());
    assert!(Expect::parse("text:4G").unwrap().in_hex().is_err());

    let out = run_here(&[
        "check-server",
        &addr.to_string(),
        "--hex",
        "--expect",
        "text:zz",
    ]);
    assert_eq!(out.0, 2);
    let out = run_here(&[
        "check-server",
        &addr.to_string(),
        "--hex",
        "--expect",
        "text:4F4B0A",
        "--clients",
        "3",
        "--timeout",
        "0.6",
        "--skip",
        "slow,big,half-close,reconnect,connect-close",
    ]);
    assert_eq!(out.0, 0, "{}", out.1);
}

/// A server whose accept queue is full never completes a handshake: with a 30 s timeout the
/// clients sit in connect(), and a stop still ends the run within a couple of seconds (the
/// connect is tried in one-second attempts).
#[cfg(target_os = "linux")]
#[test]
fn a_stop_is_heard_while_clients_are_still_connecting() {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let _filler = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    let mut c = config(addr);
    c.clients = 3;
    c.timeout = Duration::from_secs(30);
    let run = start(c);
    std::thread::sleep(Duration::from_millis(1500));
    let asked = std::time::Instant::now();
    run.stop();
    let events = events_until_finished(&run, Duration::from_secs(10));
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    assert!(matches!(
        events.last(),
        Some(CheckEvent::Finished { stopped: true })
    ));
    drop(listener);
}
