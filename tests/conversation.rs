//! Scripted conversations (`run SCRIPT --target`) and `tcp-client --record`, against a
//! Modbus-RTU-over-TCP style device written in Python (`tests/modbus_device.py`: CRC-16/MODBUS,
//! length-prefixed replies sent in random splits), and loopback peers.

use std::io::Read;
use std::net::{TcpListener, UdpSocket};

mod common;
use common::LIMIT;
use common::cli::run_here;
use common::files::{Py, TempDir, python3};
use common::peer::spawn_peer;

/// The device, and what its register 0 holds (the "session code" a script captures).
fn device(args: &[&str]) -> Option<(Py, String, u16)> {
    let Some(python) = python3() else {
        eprintln!("note: python3 not found; skipping the test with the Python device");
        return None;
    };
    let mut py = Py::spawn(python, "modbus_device.py", args);
    let port = py.listening_port();
    let code = py.line();
    let code = code
        .strip_prefix("code ")
        .unwrap_or_else(|| panic!("second line: {code}"))
        .to_owned();
    Some((py, code, port))
}

fn write(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Reads register 0, writes the value it captured into register 5, reads register 5 back
/// three times: every reply checked by its CRC, cut out of the stream by its length.
const CAPTURE: &str = r#"
frame = "len:2be"
timeout_ms = 5000

[[step]]
label = "read the session code"
send_hex = "01 03 00 00 00 01"
checksum = "crc16-modbus"

[[step]]
expect_regex = '(?s-u)^\x00\x07\x01\x03\x02(?P<code>..)'
checksum = "crc16-modbus"
checksum_from = 2

[[step]]
send_hex = "01 06 00 05 {code}"
checksum = "crc16-modbus"

[[step]]
expect_regex = '(?s-u)^\x00\x08\x01\x06\x00\x05(?P<written>..)'
checksum = "crc16-modbus"
checksum_from = 2

[[step]]
repeat = 3
  [[step.step]]
  send_hex = "01 03 00 05 00 01"
  checksum = "crc16-modbus"
  [[step.step]]
  expect_regex = '(?s-u)^\x00\x07\x01\x03\x02(?P<back>..)'
  checksum = "crc16-modbus"
  checksum_from = 2
"#;

fn json_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &line[at..];
    let end = if let Some(quoted) = rest.strip_prefix('"') {
        return quoted.split('"').next();
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(&rest[..end])
}

#[test]
fn a_conversation_with_captures_passes_against_the_device() {
    let Some((py, code, port)) = device(&["--seed", "7"]) else {
        return;
    };
    let dir = TempDir::new("conv-capture");
    let script = write(&dir, "modbus.toml", CAPTURE);
    let target = format!("127.0.0.1:{port}");
    let (exit, out, err) = run_here(&["run", &script, "--target", &target, "--json"]);
    drop(py);
    assert_eq!(exit, 0, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    // 2 + 2 + 3 × 2 steps, then the result.
    assert_eq!(lines.len(), 11, "{out}");
    let matched: Vec<&&str> = lines
        .iter()
        .filter(|l| json_field(l, "outcome") == Some("matched"))
        .collect();
    assert_eq!(matched.len(), 5, "{out}");
    // The captured code went out in the write and came back in every read (hex of the two
    // bytes, as the device printed it).
    let code_hex = format!("{} {}", &code[..2], &code[2..]).to_uppercase();
    assert!(
        lines[2].contains(&format!("\"sent_hex\":\"01 06 00 05 {code_hex}")),
        "write of {code_hex}: {}",
        lines[2]
    );
    for l in &matched[2..] {
        assert!(
            json_field(l, "got_hex")
                .is_some_and(|g| g.starts_with(&format!("00 07 01 03 02 {code_hex}"))),
            "{l}"
        );
        assert!(json_field(l, "rtt_ms").is_some(), "{l}");
        assert_eq!(json_field(l, "checksum"), Some("CRC-16/MODBUS ok"), "{l}");
    }
    let result = lines[10];
    assert!(result.contains("\"passed\":true"), "{result}");
    assert!(result.contains("\"expects_held\":5"), "{result}");
    assert!(result.contains("\"rtt_ms\":{\"p50\""), "{result}");
}

#[test]
fn a_device_with_a_bad_crc_fails_with_the_evidence() {
    let Some((py, _, port)) = device(&["--bad-crc"]) else {
        return;
    };
    let dir = TempDir::new("conv-bad-crc");
    let script = write(
        &dir,
        "read.toml",
        "frame = \"len:2be\"\ntimeout_ms = 800\n\n[[step]]\nsend_hex = \"01 03 00 02 00 01\"\n\
         checksum = \"crc16-modbus\"\n\n[[step]]\nexpect_checksum = \"crc16-modbus\"\n\
         checksum_from = 2\n\n[[step]]\nsend_hex = \"01 03 00 03 00 01\"\nchecksum = \"crc16-modbus\"\n",
    );
    let target = format!("127.0.0.1:{port}");
    for (lang, words) in [
        (
            "en",
            [
                "FAILED: no matching message within 800 ms",
                "CRC-16/MODBUS wrong: expected",
                "passed over 1 message",
                "0 expects held",
            ],
        ),
        (
            "zh",
            [
                "失败：800 毫秒内没有收到匹配的消息",
                "CRC-16/MODBUS 错误：应为",
                "跳过了 1 条",
                "第 2 步停止",
            ],
        ),
    ] {
        let (exit, out, err) = run_here(&["--lang", lang, "run", &script, "--target", &target]);
        assert_eq!(exit, 1, "{out}\n{err}");
        for w in words {
            if w == "0 expects held" {
                assert!(out.contains("1 of 1 expects failed"), "{out}");
                continue;
            }
            assert!(out.contains(w), "{lang}: {w:?} in\n{out}");
        }
        // The step after the failed expect did not run.
        assert!(!out.contains("01 03 00 03"), "{out}");
        // The evidence: what was expected, and the reply in hex.
        assert!(out.contains("[00 07 01 03 02 03 EA"), "{out}");
    }
    drop(py);
}

#[test]
fn record_then_replay_against_a_fresh_device() {
    let Some((py, _, port)) = device(&["--seed", "1"]) else {
        return;
    };
    let dir = TempDir::new("conv-record");
    let recording = dir.join("recorded.toml");
    let recording = recording.to_str().unwrap();
    let (exit, out, err) = run_here(&[
        "tcp-client",
        &format!("127.0.0.1:{port}"),
        "--send-hex",
        "01 03 00 02 00 03",
        "--checksum",
        "crc16-modbus",
        "--frame",
        "len:2be",
        "--wait",
        "0.8",
        "--record",
        recording,
    ]);
    drop(py);
    assert_eq!(exit, 0, "{out}\n{err}");
    let text = std::fs::read_to_string(recording).unwrap();
    assert!(text.contains("frame = \"len:2be\""), "{text}");
    assert!(text.contains("send_hex = \"01 03 00 02 00 03"), "{text}");
    // 3 registers: 1002, 1003, 1004 — whatever splits the device sent them in.
    assert!(
        text.contains("expect_hex = \"00 0B 01 03 06 03 EA 03 EB 03 EC"),
        "{text}"
    );

    // A fresh device (another seed: only register 0 differs) answers the same.
    let Some((fresh, _, port)) = device(&["--seed", "99"]) else {
        return;
    };
    let (exit, out, err) = run_here(&["run", recording, "--target", &format!("127.0.0.1:{port}")]);
    drop(fresh);
    assert_eq!(exit, 0, "{out}\n{err}");
    assert!(out.contains("all 1 expects held"), "{out}");

    // A device whose CRCs are wrong does not pass the recording.
    let Some((bad, _, port)) = device(&["--bad-crc"]) else {
        return;
    };
    let (exit, out, _) = run_here(&["run", recording, "--target", &format!("127.0.0.1:{port}")]);
    drop(bad);
    assert_eq!(exit, 1, "{out}");
}

#[test]
fn a_bad_script_exits_2_with_its_line() {
    let dir = TempDir::new("conv-bad-script");
    let cases = [
        (
            "[[step]]\nsend = \"a\"\n\n[[step]]\nexpect_regex = \"(unclosed\"\n",
            "line 4",
        ),
        ("[[step]]\nsend = \"{who}\"\n", "unknown variable {who}"),
        ("[[step]]\nsend = \"a\"\nexpect = \"b\"\n", "exactly one of"),
        ("[[step]]\nsend_payload = \"hello\"\n", "--payloads"),
    ];
    for (i, (text, words)) in cases.iter().enumerate() {
        let script = write(&dir, &format!("bad{i}.toml"), text);
        let (exit, out, err) = run_here(&["run", &script, "--target", "127.0.0.1:9"]);
        assert_eq!(exit, 2, "{text}: {out}{err}");
        assert!(err.contains(words), "{text}: {err}");
    }
    let missing = dir.join("nope.toml");
    let (exit, _, err) = run_here(&["run", missing.to_str().unwrap(), "--target", "127.0.0.1:9"]);
    assert_eq!(exit, 2, "{err}");
}

/// A peer that reads the request and closes without answering: the expect fails at once
/// (not after its timeout), saying the connection closed.
#[test]
fn a_peer_that_closes_fails_the_waiting_expect_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = spawn_peer(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
    });
    let dir = TempDir::new("conv-closed");
    let script = write(
        &dir,
        "s.toml",
        "timeout_ms = 60000\n[[step]]\nsend = \"HELLO\"\n[[step]]\nexpect = \"OK\"\n",
    );
    let started = std::time::Instant::now();
    let (exit, out, err) = run_here(&["run", &script, "--target", &format!("127.0.0.1:{port}")]);
    peer.join();
    assert_eq!(exit, 1, "{out}{err}");
    assert!(
        out.contains("the connection closed before a matching message"),
        "{out}"
    );
    assert!(started.elapsed() < LIMIT, "waited for the timeout");
}

/// UDP: each send is a datagram, each datagram back a message; a capture goes into the next
/// send; a counter counts the rounds.
#[test]
fn a_udp_conversation() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    sock.set_read_timeout(Some(LIMIT)).unwrap();
    let peer = spawn_peer(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 1500];
        for _ in 0..4 {
            let (n, from) = sock.recv_from(&mut buf).unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            // A datagram that does not match first, then the answer.
            sock.send_to(b"noise", from).unwrap();
            let answer = match text.strip_prefix("ping ") {
                Some(n) => format!("pong {n} token=T{n}"),
                None => format!("ack {text}"),
            };
            sock.send_to(answer.as_bytes(), from).unwrap();
            got.push(text);
        }
        got
    });
    let dir = TempDir::new("conv-udp");
    let script = write(
        &dir,
        "u.toml",
        "timeout_ms = 5000\n[[step]]\nrepeat = 3\n  [[step.step]]\n  send = \"ping {counter}\"\n\
         \x20 [[step.step]]\n  expect_regex = 'pong \\d+ token=(?P<tok>\\w+)'\n\
         [[step]]\nsend = \"use {tok}\"\n[[step]]\nexpect = \"ack use T3\"\n",
    );
    let (exit, out, err) = run_here(&[
        "run",
        &script,
        "--target",
        &format!("127.0.0.1:{port}"),
        "--udp",
    ]);
    let got = peer.join();
    assert_eq!(exit, 0, "{out}{err}");
    assert_eq!(got, ["ping 1", "ping 2", "ping 3", "use T3"]);
    assert!(out.contains("all 4 expects held"), "{out}");
    assert!(out.contains("passed over 1 message"), "{out}");
}

/// The script in the README reads as written (and the payload file there too).
#[test]
fn the_readmes_script_and_payload_file_read() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block_after = |heading: &str| -> String {
        let from = readme.find(heading).unwrap_or_else(|| panic!("{heading}"));
        let start = readme[from..].find("```toml\n").unwrap() + from + 8;
        let end = readme[start..].find("```").unwrap() + start;
        readme[start..end].to_owned()
    };
    let script = block_after("### Scripted conversations");
    let s = socket_workbench::proto::script::Script::parse(&script, None)
        .unwrap_or_else(|e| panic!("{e}\n{script}"));
    assert_eq!(s.expects(), 2);
    let sheet = block_after("**Named payloads from a file**");
    socket_workbench::proto::library::Library::parse(&sheet).unwrap_or_else(|e| panic!("{e}"));
}

/// A library file carries its conversations too: `run NAME --payloads FILE` runs the script
/// saved under NAME, whose sends are the library's payloads.
#[test]
fn a_script_saved_in_the_library_runs_by_name() {
    let Some((py, _, port)) = device(&["--seed", "3"]) else {
        return;
    };
    let dir = TempDir::new("conv-library");
    let lib = write(
        &dir,
        "lab.toml",
        r#"version = 1

[[group]]
name = "Modbus"

[[group.payload]]
name = "read 3"
hex = "01 03 00 02 00 03"
checksum = "crc16-modbus"

[[script]]
name = "read and check"
note = "registers 2 to 4 hold 1002, 1003, 1004"
text = '''
frame = "len:2be"
[[step]]
send_payload = "Modbus/read 3"
[[step]]
expect_hex = "00 0B 01 03 06 03 EA 03 EB 03 EC 49 9C"
'''
"#,
    );
    let target = format!("127.0.0.1:{port}");
    let (exit, out, err) = run_here(&[
        "run",
        "read and check",
        "--payloads",
        &lib,
        "--target",
        &target,
    ]);
    drop(py);
    assert_eq!(exit, 0, "{out}\n{err}");
    assert!(out.contains("all 1 expects held"), "{out}");
    // A script that does not read is said when the library is read.
    let bad = write(
        &dir,
        "bad.toml",
        "version = 1\n[[script]]\nname = \"x\"\ntext = '''\n[[step]]\nexpect_regex = \"(\"\n'''\n",
    );
    let (exit, _, err) = run_here(&["run", "x", "--payloads", &bad, "--target", &target]);
    assert_eq!(exit, 2);
    assert!(err.contains("script 'x'"), "{err}");
}
