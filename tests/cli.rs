//! The built binary's headless commands against loopback peers.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

use common::{LessonServer, NI_HAO_GBK, closed_port, gbk};

fn workbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_socket-workbench"))
        .args(args)
        .output()
        .expect("run socket-workbench")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn talks_gbk_with_the_lesson_server() {
    let server = LessonServer::start();
    let target = server.addr.to_string();
    let out = workbench(&[
        "tcp-client",
        &target,
        "--send",
        "你好",
        "--encoding",
        "gbk",
        "--wait",
        "1",
    ]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "收到：你好", "reply decoded from GBK");
    assert_eq!(server.finish().received, NI_HAO_GBK);
}

#[test]
fn hex_output_and_payload_order() {
    let server = LessonServer::start();
    let target = server.addr.to_string();
    let out = workbench(&[
        "tcp-client",
        &target,
        "--send",
        "A",
        "--send-hex",
        "42",
        "--send",
        "C",
        "--hex",
        "--wait",
        "1",
    ]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(
        server.finish().received,
        b"ABC",
        "payloads in the order given"
    );
    // The reply starts with GBK "收到：" = CA D5 B5 BD A3 BA.
    assert!(
        stdout(&out).contains("CA D5 B5 BD A3 BA"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn exits_when_the_peer_closes_and_traces_calls() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(&gbk("再见")).unwrap();
    });
    // --wait is long: only the peer's close can end this quickly.
    let started = std::time::Instant::now();
    let out = workbench(&[
        "tcp-client",
        &addr.to_string(),
        "--encoding",
        "gbk",
        "--wait",
        "60",
        "--trace",
    ]);
    peer.join().unwrap();
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(stdout(&out), "再见");
    let trace = stderr(&out);
    let order = [
        "socket(AF_INET, SOCK_STREAM)",
        &format!("connect({addr}) → ok"),
        "recv(65536) → 4 bytes",
        "recv(65536) → 0 (peer closed)",
        "close()",
    ];
    let mut at = 0;
    for step in order {
        let found = trace[at..]
            .find(step)
            .unwrap_or_else(|| panic!("{step} missing after {at}: {trace}"));
        at += found + step.len();
    }
}

#[test]
fn refused_port_is_a_plain_error() {
    let port = closed_port();
    let out = workbench(&["tcp-client", &format!("127.0.0.1:{port}"), "--send", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Connection refused: nothing is listening"),
        "{}",
        stderr(&out)
    );
    let zh = workbench(&["--lang", "zh", "tcp-client", &format!("127.0.0.1:{port}")]);
    assert!(stderr(&zh).contains("连接被拒绝"), "{}", stderr(&zh));
}

#[test]
fn bad_input_is_refused_before_connecting() {
    let port = closed_port();
    let target = format!("127.0.0.1:{port}");
    let cases: &[(&[&str], &str)] = &[
        (
            &["tcp-client", &target, "--send-hex", "48 zz"],
            "Not hex: 'z' at column 4",
        ),
        (
            &["tcp-client", "127.0.0.1:99999"],
            "The port must be a whole number",
        ),
        (
            &["tcp-client", &target, "--send", "😀", "--encoding", "gbk"],
            "cannot be written in GBK",
        ),
    ];
    for (args, message) in cases {
        let out = workbench(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

/// A number of seconds that is not one (NaN, infinite, negative) is a usage error with
/// exit code 2, never a panic (it was: `Duration::from_secs_f64` panicked, exit 101).
#[test]
fn bad_seconds_are_refused_not_a_panic() {
    let port = closed_port();
    let target = format!("127.0.0.1:{port}");
    let cases: &[&[&str]] = &[
        &["tcp-client", &target, "--timeout", "NaN"],
        &["tcp-client", &target, "--wait", "inf"],
        &["tcp-client", &target, "--timeout=-1"],
        &["udp", "127.0.0.1:0", "--wait", "nan"],
        &["serve-files", ".", "--timeout=-inf"],
    ];
    for args in cases {
        let out = workbench(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("is not a number of seconds"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn help_documents_the_commands() {
    let out = workbench(&["--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("tcp-client"));
    let sub = workbench(&["tcp-client", "--help"]);
    for flag in [
        "--send",
        "--send-hex",
        "--encoding",
        "--eol",
        "--hex",
        "--wait",
        "--trace",
    ] {
        assert!(stdout(&sub).contains(flag), "{flag} undocumented");
    }
}

/// `lab`: a scenario's record as JSON lines, the findings last; the same seed gives the same
/// bytes, another seed other sequence numbers; an unknown scenario is a usage error.
#[test]
fn lab_prints_the_same_record_for_the_same_seed() {
    let a = workbench(&["lab", "timeout-retransmit", "--json", "--seed", "9"]);
    let b = workbench(&["lab", "timeout-retransmit", "--json", "--seed", "9"]);
    let c = workbench(&["lab", "timeout-retransmit", "--json", "--seed", "10"]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    let out = stdout(&a);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.last().unwrap().starts_with("{\"findings\":["),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"retransmission\":true") && l.contains("\"seq\":1")),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.contains("\"fate\":\"lost\"")),
        "{out}"
    );
    let bad = workbench(&["lab", "no-such-scenario"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("handshake"), "{}", stderr(&bad));
}
