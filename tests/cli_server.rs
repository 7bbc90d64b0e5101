//! The `tcp-server` command against std clients on loopback. Its stdout is a channel of
//! lines, so every wait has a bound, and a guard ends the command however the test ends
//! (`common::cli`).
//!
//! Two tests run the built binary end to end and end it with a real signal (SIGINT, SIGTERM):
//! Unix only, since on Windows Ctrl+C is a console event a test cannot send to a child. The
//! others run the command in this process (`cli::run_args`), where Ctrl+C is the raised stop
//! signal, so they run on every system.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};

mod common;
use common::cli::Run;
use common::std_peer::{connect, read_exactly, read_to_eof};
use common::{NI_HAO_GBK, gbk};

/// The first stdout line must be `listening on 127.0.0.1:<port>`; returns the address.
fn listening(server: &mut Run) -> SocketAddr {
    let first = server.line("anything", |_| true);
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"));
    let addr: SocketAddr = addr
        .parse()
        .unwrap_or_else(|e| panic!("first line {first:?}: {e}"));
    assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST, "{first}");
    assert_ne!(addr.port(), 0, "the real port, not 0: {first}");
    addr
}

/// `client #N 127.0.0.1:P connected` for this stream; returns N.
fn connected_line(server: &mut Run, stream: &TcpStream) -> u64 {
    let peer = stream.local_addr().unwrap().to_string();
    let line = server.line(&format!("{peer} connected"), |l| {
        l.starts_with("client #") && l.ends_with(&format!(" {peer} connected"))
    });
    line["client #".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no client number in {line:?}"))
}

/// Stops the server with a Unix signal: on Windows Ctrl+C is a console event, which a test
/// cannot send to a child process without sharing its console.
#[cfg(unix)]
#[test]
fn echo_mode() {
    let mut server = Run::binary(&["tcp-server", "127.0.0.1:0", "--echo"]);
    let addr = listening(&mut server);

    let mut a = connect(addr);
    let n_a = connected_line(&mut server, &a);
    assert_eq!(n_a, 1);
    let a_addr = a.local_addr().unwrap();
    let mut b = connect(addr);
    let n_b = connected_line(&mut server, &b);
    assert_eq!(n_b, 2);
    let b_addr = b.local_addr().unwrap();

    a.write_all(b"hello").unwrap();
    assert_eq!(read_exactly(&mut a, 5), b"hello");
    b.write_all(&NI_HAO_GBK).unwrap();
    assert_eq!(read_exactly(&mut b, 4), NI_HAO_GBK);

    server.line("received 5 bytes: hello", |l| {
        l == format!("#1 {a_addr} received 5 bytes: hello")
    });
    // The default encoding is UTF-8, so GBK bytes are shown escaped, still on one line.
    let line = server.line("received 4 bytes", |l| {
        l.starts_with(&format!("#2 {b_addr} received 4 bytes: "))
    });
    assert!(line.contains("\\xC4"), "{line}");

    drop(a);
    server.line("client #1 disconnected", |l| {
        l.starts_with(&format!("client #1 {a_addr} disconnected"))
    });

    server.signal("INT");
    let status = server.exit_code();
    assert_eq!(status, 0, "{status}");
    // The client still connected was closed by the stop: end-of-stream, and a line says so.
    assert_eq!(read_to_eof(&mut b), b"");
    let rest = server.rest_of_stdout();
    assert!(
        rest.iter()
            .any(|l| l.starts_with(&format!("client #2 {b_addr} disconnected"))),
        "{rest:?}"
    );
    let err = server.stderr();
    assert!(err.trim().is_empty(), "stderr: {err}");
}

/// In this process: Ctrl+C is the raised stop signal, so this runs on every system.
#[test]
fn fixed_reply_in_gbk() {
    let shou_dao = gbk("收到");
    assert_eq!(shou_dao, [0xCA, 0xD5, 0xB5, 0xBD]);
    let mut server = Run::here(&[
        "tcp-server",
        "127.0.0.1:0",
        "--reply",
        "收到",
        "--encoding",
        "gbk",
    ]);
    let addr = listening(&mut server);

    let mut c = connect(addr);
    connected_line(&mut server, &c);
    let c_addr = c.local_addr().unwrap();
    c.write_all(&NI_HAO_GBK).unwrap();
    assert_eq!(read_exactly(&mut c, 4), shou_dao);
    server.line("received 4 bytes: 你好", |l| {
        l == format!("#1 {c_addr} received 4 bytes: 你好")
    });
    // Anything at all gets the same answer; after a half-close the answer still comes, then
    // end-of-stream.
    c.write_all(b"anything").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_eof(&mut c), shou_dao);
    server.line("disconnected", |l| {
        l.starts_with(&format!("client #1 {c_addr} disconnected"))
    });

    server.interrupt();
    assert_eq!(Some(server.exit_code()), Some(0));
}

/// Stops the server with a Unix signal: on Windows Ctrl+C is a console event, which a test
/// cannot send to a child process without sharing its console.
#[cfg(unix)]
#[test]
fn sigterm_exits_cleanly_and_closes_clients() {
    let mut server = Run::binary(&["tcp-server", "127.0.0.1:0"]);
    let addr = listening(&mut server);
    let mut c = connect(addr);
    connected_line(&mut server, &c);
    c.write_all(b"x").unwrap();
    server.line("received 1 bytes", |l| l.ends_with("received 1 bytes: x"));

    server.signal("TERM");
    let status = server.exit_code();
    assert_eq!(status, 0, "{status}");
    let mut buf = [0u8; 8];
    match c.read(&mut buf) {
        Ok(0) => {}
        // The server closed with our "x" read, so a FIN is expected; a reset would mean data
        // was left unread.
        other => panic!("after SIGTERM the client read {other:?}, expected end-of-stream"),
    }
    let rest = server.rest_of_stdout();
    assert!(rest.iter().any(|l| l.contains("disconnected")), "{rest:?}");
    // The port is free again.
    drop(TcpListener::bind(addr).expect("the port is released"));
}

/// In this process: Ctrl+C is the raised stop signal, so this runs on every system.
#[test]
fn port_in_use_and_bad_address() {
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    let addr = taken.local_addr().unwrap().to_string();
    let mut server = Run::here(&["tcp-server", &addr]);
    let status = server.exit_code();
    assert_eq!(status, 1, "{status}");
    let err = server.stderr();
    assert!(err.contains("already in use"), "stderr: {err}");
    let out = server.rest_of_stdout();
    assert!(
        !out.iter().any(|l| l.starts_with("listening")),
        "stdout: {out:?}"
    );
    drop(taken);

    let mut server = Run::here(&["tcp-server", "nonsense"]);
    let status = server.exit_code();
    assert_eq!(status, 2, "{status}");
    let err = server.stderr();
    assert!(err.starts_with("socket-workbench: "), "stderr: {err}");
    assert!(server.rest_of_stdout().is_empty());
}

/// In this process: Ctrl+C is the raised stop signal, so this runs on every system.
#[test]
fn max_clients_refuses_the_second() {
    let mut server = Run::here(&["tcp-server", "127.0.0.1:0", "--max-clients", "1", "--echo"]);
    let addr = listening(&mut server);
    let mut first = connect(addr);
    connected_line(&mut server, &first);
    let mut second = connect(addr);
    let second_addr = second.local_addr().unwrap().to_string();
    let line = server.line("refused", |l| l.contains("refused"));
    assert!(line.contains(&second_addr), "{line}");
    let mut buf = [0u8; 8];
    match second.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("refused client read {other:?}"),
    }
    // The first is still served.
    first.write_all(b"one").unwrap();
    assert_eq!(read_exactly(&mut first, 3), b"one");

    server.interrupt();
    assert_eq!(Some(server.exit_code()), Some(0));
    assert_eq!(read_to_eof(&mut first), b"");
    let rest = server.rest_of_stdout();
    let connected = server
        .seen
        .iter()
        .filter(|l| l.ends_with(" connected"))
        .count();
    assert_eq!(connected, 1, "{rest:?}\n{}", server.listing());
}

/// In this process: Ctrl+C is the raised stop signal, so this runs on every system.
#[test]
fn help_documents_the_server() {
    let mut help = Run::here(&["tcp-server", "--help"]);
    assert_eq!(Some(help.exit_code()), Some(0));
    let text = help.rest_of_stdout().join("\n");
    for flag in [
        "--echo",
        "--reply",
        "--encoding",
        "--backlog",
        "--max-clients",
        "--trace",
    ] {
        assert!(text.contains(flag), "{flag} undocumented:\n{text}");
    }
}
