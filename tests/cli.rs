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

/// Every scenario runs from the command line (exit 0, the findings last); the wire's flags
/// change the run; bad values are usage errors; `--lang zh` speaks Chinese.
#[test]
fn lab_runs_every_scenario_with_its_flags() {
    for name in [
        "handshake",
        "old-duplicate-syn",
        "acks",
        "timeout-retransmit",
        "fast-retransmit",
        "checksum",
        "flow-control",
        "congestion",
        "close",
        "reorder",
        "udp-loss",
    ] {
        let out = workbench(&["lab", name, "--json"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let text = stdout(&out);
        let last = text.lines().last().unwrap_or("");
        assert!(last.starts_with("{\"findings\":[\""), "{name}: {last}");
        // Every line is one object with the keys the issue names.
        for line in text.lines() {
            assert!(
                line.starts_with('{') && line.ends_with('}'),
                "{name}: {line}"
            );
            if line.contains("\"dir\":") {
                for key in ["\"t_ms\":", "\"proto\":", "\"fate\":", "\"len\":"] {
                    assert!(line.contains(key), "{name}: {key} in {line}");
                }
            }
        }
    }
    // Loss of 100% on the handshake: the SYN never gets through, every packet lost.
    let lost = stdout(&workbench(&["lab", "handshake", "--json", "--loss", "100"]));
    let packets: Vec<&str> = lost.lines().filter(|l| l.contains("\"dir\":")).collect();
    assert!(packets.len() >= 3, "{lost}");
    assert!(packets.iter().all(|l| l.contains("\"fate\":\"lost\"")));
    // The same seed, the same bytes; another seed, another run (the loss falls elsewhere).
    let a = workbench(&["lab", "udp-loss", "--json", "--seed", "3"]);
    let b = workbench(&["lab", "udp-loss", "--json", "--seed", "3"]);
    let c = workbench(&["lab", "udp-loss", "--json", "--seed", "4"]);
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    // Reno or Cubic, a slower bottleneck with a shorter queue.
    let cubic = workbench(&[
        "lab",
        "congestion",
        "--congestion",
        "cubic",
        "--rate",
        "1000",
        "--queue",
        "10",
    ]);
    assert!(cubic.status.success(), "{}", stderr(&cubic));
    assert!(stdout(&cubic).contains("Cubic"));
    for bad in [
        &["lab", "handshake", "--loss", "101"][..],
        &["lab", "handshake", "--loss", "NaN"],
        &["lab", "handshake", "--rate", "-1"],
        &["lab", "handshake", "--queue", "0"],
        &["lab", "handshake", "--congestion", "vegas"],
    ] {
        assert_eq!(workbench(bad).status.code(), Some(2), "{bad:?}");
    }
    let zh = stdout(&workbench(&["lab", "handshake", "--lang", "zh"]));
    assert!(
        zh.contains("客户端 → 服务器") && zh.contains("三个报文段"),
        "{zh}"
    );
}

/// The window's start-up flags are checked before any window opens: a wrong name is a usage
/// error (exit 2) that lists the right ones.
#[test]
fn window_flags_are_checked_before_the_window() {
    let lesson = workbench(&["--lesson", "three-way"]);
    assert_eq!(lesson.status.code(), Some(2));
    assert!(stderr(&lesson).contains("handshake"), "{}", stderr(&lesson));
    let file = workbench(&["--file", "a.txt"]);
    assert_eq!(file.status.code(), Some(2), "--file needs --download");
    let help = stdout(&workbench(&["--help"]));
    for flag in ["--classroom", "--lesson", "--download", "--file"] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}
