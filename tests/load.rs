//! The load generator against our own echo server and small reference peers:
//! exact counts, percentiles in order, errors by kind, UDP round trips and losses, stopping.
//! Loopback only; every run is bounded by a duration or a message count.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use socket_workbench::net::Waker;
use socket_workbench::net::load::{
    LoadConfig, LoadError, LoadEvent, Percentiles, Reply, Report, run, spawn_load,
};
use socket_workbench::net::tcp_server::{
    AutoReply, ServerConfig, ServerEvent, ServerHandle, spawn_server,
};

mod common;
use common::cli::run_here;
use common::{LIMIT, closed_port};

/// Our own echo server (the TCP server engine), with what it saw.
struct Echo {
    _handle: ServerHandle,
    addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
}

fn echo_server() -> Echo {
    let mut config = ServerConfig::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    config.reply = AutoReply::Echo;
    let (tx, rx) = flume::unbounded();
    let handle = spawn_server(config, tx, Waker::noop()).unwrap();
    let deadline = Instant::now() + LIMIT;
    let addr = loop {
        let msg = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the echo server did not start");
        if let ServerEvent::Listening { local } = msg.event {
            break local;
        }
    };
    let accepted = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let (a, r) = (accepted.clone(), received.clone());
    std::thread::spawn(move || {
        while let Ok(msg) = rx.recv() {
            match msg.event {
                ServerEvent::Accepted { .. } => {
                    a.fetch_add(1, Ordering::Relaxed);
                }
                ServerEvent::Received { data, .. } => {
                    r.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
                _ => {}
            }
        }
    });
    Echo {
        _handle: handle,
        addr,
        accepted,
        received,
    }
}

fn config(addr: SocketAddr, clients: usize) -> LoadConfig {
    LoadConfig {
        addr,
        clients,
        duration: Some(Duration::from_secs(20)),
        messages: None,
        rate: None,
        size: 100,
        udp: false,
        reply: Reply::Echo,
        timeout: Duration::from_secs(5),
    }
}

fn go(config: &LoadConfig) -> (Report, Vec<LoadEvent>) {
    let stop = AtomicBool::new(false);
    let mut events = Vec::new();
    let report = run(config, &stop, &mut |e| events.push(e));
    (report, events)
}

fn assert_ordered(p: &Percentiles, what: &str) {
    assert!(p.count > 0, "{what}: nothing recorded");
    assert!(
        0.0 < p.p50_ms && p.p50_ms <= p.p95_ms && p.p95_ms <= p.p99_ms && p.p99_ms <= p.max_ms,
        "{what}: percentiles out of order: {p:?}"
    );
}

#[test]
fn exact_counts_against_our_echo_server() {
    let echo = echo_server();
    let mut c = config(echo.addr, 100);
    c.messages = Some(20);
    let (r, events) = go(&c);
    assert!(!r.stopped, "{r:?}");
    assert_eq!(r.errors.len(), 0, "{:?}", r.errors);
    assert_eq!(r.clients_connected, 100);
    // A client that is done leaves: on a loaded machine the first may finish their 20
    // messages before the last connect, so "at once" is most of them, not all.
    assert!(
        (50..=100).contains(&r.peak_connected),
        "most of the 100 were connected at once: {}",
        r.peak_connected
    );
    assert_eq!(r.messages, 2000);
    assert_eq!(r.sent_messages, 2000);
    assert_eq!(r.bytes_sent, 2000 * 100);
    assert_eq!(r.bytes_received, 2000 * 100);
    assert_eq!(r.rtt.count, 2000);
    assert_eq!(r.connect.count, 100);
    assert_ordered(&r.rtt, "round trip");
    assert_ordered(&r.connect, "connect");
    assert!(matches!(
        events.first(),
        Some(LoadEvent::Started { clients: 100, .. })
    ));
    assert!(matches!(events.last(), Some(LoadEvent::Done(d)) if *d == r));
    // The server saw the same: 100 connections, every byte.
    let deadline = Instant::now() + Duration::from_secs(5);
    while echo.received.load(Ordering::Relaxed) < 200_000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(echo.accepted.load(Ordering::Relaxed), 100);
    assert_eq!(echo.received.load(Ordering::Relaxed), 200_000);
}

#[test]
fn big_messages_cross_in_pieces_and_come_back_whole() {
    // 200 KB a message: written and read in many pieces at once (a client that wrote all
    // before reading would deadlock with an echo server once both buffers are full).
    let echo = echo_server();
    let mut c = config(echo.addr, 4);
    c.messages = Some(5);
    c.size = 200_000;
    let (r, _) = go(&c);
    assert_eq!(r.errors.len(), 0, "{:?}", r.errors);
    assert_eq!(r.messages, 20);
    assert_eq!(r.bytes_received, 20 * 200_000);
}

#[test]
fn a_rate_is_kept_and_samples_come_twice_a_second() {
    let echo = echo_server();
    let mut c = config(echo.addr, 20);
    c.rate = Some(200.0);
    c.duration = Some(Duration::from_millis(1600));
    let (r, events) = go(&c);
    assert_eq!(r.errors.len(), 0, "{:?}", r.errors);
    // 200 a second for 1.6 s: 320, less what is still in flight at the end.
    assert!(
        (280..=330).contains(&r.messages),
        "{} messages at 200/s for 1.6 s",
        r.messages
    );
    let samples: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            LoadEvent::Sample(s) => Some(s),
            _ => None,
        })
        .collect();
    assert!(
        (2..=4).contains(&samples.len()),
        "{} samples",
        samples.len()
    );
    for s in &samples {
        assert_eq!(s.connected, 20);
        assert!(
            (120.0..=280.0).contains(&s.messages_per_s),
            "a sample's rate: {s:?}"
        );
    }
}

#[test]
fn nothing_listening_is_refused_by_kind_and_exit_1() {
    let port = closed_port();
    let mut c = config(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), 3);
    c.duration = Some(Duration::from_millis(300));
    let (r, _) = go(&c);
    assert_eq!(r.clients_connected, 0);
    assert_eq!(r.messages, 0);
    assert!(
        r.errors.get(&LoadError::Refused).copied().unwrap_or(0) >= 3,
        "{:?}",
        r.errors
    );
    let (code, _, _) = run_here(&[
        "load",
        &format!("127.0.0.1:{port}"),
        "--clients",
        "2",
        "--duration",
        "0.3",
        "--json",
    ]);
    assert_eq!(code, 1);
}

/// A server that answers every chunk with `OK\n` (not an echo).
fn ok_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = c.read(&mut buf) {
                    if n == 0 || c.write_all(b"OK\n").is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_wrong_echo_is_counted_and_any_reply_accepts_it() {
    let addr = ok_server();
    let mut c = config(addr, 2);
    c.duration = Some(Duration::from_millis(400));
    let (r, _) = go(&c);
    assert_eq!(r.messages, 0);
    assert!(
        r.errors.contains_key(&LoadError::WrongReply),
        "{:?}",
        r.errors
    );
    c.reply = Reply::Any;
    c.messages = Some(10);
    c.duration = Some(Duration::from_secs(10));
    let (r, _) = go(&c);
    assert_eq!(r.errors.len(), 0, "{:?}", r.errors);
    assert_eq!(r.messages, 20);
    assert_eq!(r.bytes_received, 20 * 3);
}

#[test]
fn a_server_that_closes_after_one_answer_counts_closes_and_clients_come_back() {
    // Answers one message, then closes: every client's second message finds it closed, and
    // the client connects again a second later.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let accepted = Arc::new(AtomicU64::new(0));
    let acc = accepted.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            acc.fetch_add(1, Ordering::Relaxed);
            let mut buf = [0u8; 100];
            if c.read_exact(&mut buf).is_ok() {
                let _ = c.write_all(&buf);
            }
        }
    });
    let mut c = config(addr, 3);
    c.duration = Some(Duration::from_millis(1500));
    let (r, _) = go(&c);
    assert!(r.messages >= 3, "{r:?}");
    let broken = r.errors.get(&LoadError::Closed).copied().unwrap_or(0)
        + r.errors.get(&LoadError::Reset).copied().unwrap_or(0);
    assert!(broken >= 3, "{:?}", r.errors);
    assert!(
        accepted.load(Ordering::Relaxed) >= 6,
        "clients connected again"
    );
}

#[test]
fn a_silent_server_times_out_by_kind() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let h = held.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            h.lock().unwrap().push(c); // accepts, never answers
        }
    });
    let mut c = config(addr, 2);
    c.timeout = Duration::from_millis(200);
    c.duration = Some(Duration::from_millis(700));
    let (r, _) = go(&c);
    assert_eq!(r.messages, 0);
    assert!(
        r.errors.get(&LoadError::ReplyTimeout).copied().unwrap_or(0) >= 2,
        "{:?}",
        r.errors
    );
}

#[test]
fn stop_ends_a_run_at_once_with_its_report() {
    let echo = echo_server();
    let mut c = config(echo.addr, 50);
    c.duration = None;
    let (tx, events) = flume::bounded(8);
    let run = spawn_load(c, tx, Waker::noop()).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let asked = Instant::now();
    run.stop();
    let report = loop {
        match events.recv_timeout(Duration::from_secs(5)).unwrap().event {
            LoadEvent::Done(r) => break r,
            _ => continue,
        }
    };
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    assert!(report.stopped);
    assert!(report.messages > 0);
    run.join();
}

fn udp_echo(answer: bool) -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65_536];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            if answer {
                let _ = s.send_to(&buf[..n], from);
            }
        }
    });
    addr
}

#[test]
fn a_udp_stream_comes_back_counted_and_timed() {
    let addr = udp_echo(true);
    let mut c = config(addr, 2);
    c.udp = true;
    c.rate = Some(1000.0);
    c.messages = Some(100);
    c.size = 200;
    let (r, _) = go(&c);
    assert_eq!(r.sent_messages, 200);
    assert_eq!(r.messages, 200);
    assert_eq!(r.bytes_received, 200 * 200);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_ordered(&r.rtt, "UDP round trip");
}

#[test]
fn udp_datagrams_that_do_not_come_back_are_lost() {
    let addr = udp_echo(false);
    let mut c = config(addr, 1);
    c.udp = true;
    c.rate = Some(500.0);
    c.messages = Some(50);
    c.timeout = Duration::from_millis(200);
    let (r, _) = go(&c);
    assert_eq!(r.sent_messages, 50);
    assert_eq!(r.messages, 0);
    assert_eq!(r.errors.get(&LoadError::Lost).copied(), Some(50));
}

#[test]
fn the_command_line_ends_with_one_json_report() {
    let echo = echo_server();
    let (code, text, err) = run_here(&[
        "load",
        &echo.addr.to_string(),
        "--clients",
        "10",
        "--messages",
        "30",
        "--size",
        "50",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let last = text.lines().last().unwrap();
    for key in [
        "\"clients_connected\":10,",
        "\"messages\":300,",
        "\"bytes_received\":15000,",
        "\"errors\":0,",
        "\"messages_per_s\":",
        "\"p50_ms\":",
        "\"p95_ms\":",
        "\"p99_ms\":",
    ] {
        assert!(last.contains(key), "{key} not in {last}");
    }
    // Text, in Chinese.
    let (_, text, _) = run_here(&[
        "load",
        &echo.addr.to_string(),
        "--clients",
        "3",
        "--messages",
        "5",
        "--lang",
        "zh",
    ]);
    assert!(text.contains("3 个中有 3 个连上"), "{text}");
    assert!(text.contains("往返时间"), "{text}");
}

#[test]
fn bad_input_exits_2() {
    for args in [
        &["--clients", "0"][..],
        &["--clients", "10001"],
        &["--size", "0"],
        &["--udp", "--size", "10"],
        &["--rate", "-1"],
        &["--rate", "NaN"],
        &["--duration", "x"],
        &["--reply", "maybe"],
    ] {
        let argv: Vec<&str> = ["load", "127.0.0.1:9"]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let (code, _, _) = run_here(&argv);
        assert_eq!(code, 2, "{args:?}");
    }
}
