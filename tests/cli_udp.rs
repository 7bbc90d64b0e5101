//! The built binary's `udp` command against std sockets (and Python, where installed) on
//! loopback.
//!
//! The command runs as a child process whose stdout is read line by line on a separate thread
//! and forwarded into a channel, so every wait has a bound; a guard kills the child (and joins
//! the reader threads) however the test ends. Only loopback is used: 127.0.0.1, the loopback
//! broadcast address 127.255.255.255, and a multicast group joined on 127.0.0.1.
#![cfg_attr(not(any(target_os = "linux", windows)), allow(dead_code))]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::LIMIT;
use common::cli::Run;
use common::peer::spawn_peer;
use common::std_peer::{assert_nothing, recv_one, std_udp};

/// "你好" in GBK.
const NI_HAO_GBK: [u8; 4] = [0xC4, 0xE3, 0xBA, 0xC3];

/// The first stdout line must be `bound to 127.0.0.1:<port>` (or another address with
/// `ip`); returns the address.
fn bound(wb: &mut Run, ip: Ipv4Addr) -> SocketAddr {
    let first = wb.line("anything", |_| true);
    let addr = first
        .strip_prefix("bound to ")
        .unwrap_or_else(|| panic!("first line: {first:?}"));
    let addr: SocketAddr = addr
        .parse()
        .unwrap_or_else(|e| panic!("first line {first:?}: {e}"));
    assert_eq!(addr.ip(), IpAddr::V4(ip), "{first}");
    assert_ne!(addr.port(), 0, "the real port, not 0: {first}");
    addr
}

/// Runs the binary to its end (bounded); returns exit code, stdout lines and stderr.
fn run(args: &[&str]) -> (Option<i32>, Vec<String>, String) {
    Run::binary(args).finish()
}

/// A port where no UDP socket is bound (bound, then closed).
fn dead_udp_port() -> u16 {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    s.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn echo_mode_against_a_std_sender() {
    let mut wb = Run::binary(&[
        "udp",
        "127.0.0.1:0",
        "--echo",
        "--wait",
        "5",
        "--encoding",
        "gbk",
    ]);
    let addr = bound(&mut wb, Ipv4Addr::LOCALHOST);
    let sender = std_udp((Ipv4Addr::LOCALHOST, 0));
    let me = sender.local_addr().unwrap();

    sender.send_to(b"hello", addr).unwrap();
    assert_eq!(recv_one(&sender), (b"hello".to_vec(), addr));
    sender.send_to(&NI_HAO_GBK, addr).unwrap();
    assert_eq!(recv_one(&sender), (NI_HAO_GBK.to_vec(), addr), "unchanged");
    assert_nothing(&sender, "one echo per datagram");

    wb.line("hello", |l| l == format!("from {me} 5 bytes: hello"));
    wb.line("你好", |l| l == format!("from {me} 4 bytes: 你好"));
    let (code, lines, err) = wb.finish();
    assert_eq!(code, Some(0), "stderr: {err}");
    assert!(err.trim().is_empty(), "stderr: {err}");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("from ")).count(),
        2,
        "{lines:?}"
    );
}

#[test]
fn send_mode_keeps_order_and_boundaries() {
    let peer_socket = std_udp((Ipv4Addr::LOCALHOST, 0));
    let peer_addr = peer_socket.local_addr().unwrap();
    let peer = spawn_peer(move || {
        let mut got = Vec::new();
        for _ in 0..3 {
            let (data, from) = recv_one(&peer_socket);
            peer_socket.send_to(&data, from).unwrap();
            got.push((data, from));
        }
        assert_nothing(&peer_socket, "three datagrams, no more");
        got
    });
    let to = peer_addr.to_string();
    let mut wb = Run::binary(&[
        "udp",
        "127.0.0.1:0",
        "--to",
        &to,
        "--send",
        "a",
        "--send-hex",
        "62",
        "--send",
        "c",
        "--wait",
        "1",
    ]);
    let addr = bound(&mut wb, Ipv4Addr::LOCALHOST);
    let got = peer.join();
    assert_eq!(
        got,
        vec![
            (b"a".to_vec(), addr),
            (b"b".to_vec(), addr),
            (b"c".to_vec(), addr)
        ],
        "three datagrams, in the order given, from the bound socket"
    );
    let (code, lines, err) = wb.finish();
    assert_eq!(code, Some(0), "stderr: {err}");
    let echoes: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("from "))
        .map(String::as_str)
        .collect();
    assert_eq!(
        echoes,
        ["a", "b", "c"]
            .iter()
            .map(|x| format!("from {peer_addr} 1 bytes: {x}"))
            .collect::<Vec<_>>(),
        "{lines:?}"
    );
    assert!(err.trim().is_empty(), "stderr: {err}");
}

/// Linux (IP_RECVERR) and Windows (WSAECONNRESET) report "port unreachable" to unconnected
/// sockets; macOS and the BSDs do not.
#[cfg(any(target_os = "linux", windows))]
#[cfg_attr(
    wine,
    ignore = "Wine 8 reports no ICMP error to UDP sockets (no WSAECONNRESET): see scripts/wine/probe.c"
)]
#[test]
fn closed_port_exits_non_zero() {
    let port = dead_udp_port();
    let to = format!("127.0.0.1:{port}");
    let (code, lines, err) = run(&[
        "udp",
        "127.0.0.1:0",
        "--to",
        &to,
        "--send",
        "x",
        "--wait",
        "1",
        "--trace",
    ]);
    assert_eq!(code, Some(1), "stdout: {lines:?}\nstderr: {err}");
    assert!(err.contains("Nobody is listening"), "stderr: {err}");
    assert!(lines[0].starts_with("bound to 127.0.0.1:"), "{lines:?}");
    // The trace: the datagram went out, the answer came back on a later recvfrom().
    let trace: Vec<&str> = err.lines().filter(|l| l.starts_with("[trace] ")).collect();
    let sendto = trace
        .iter()
        .position(|l| l.contains(&format!("sendto(1 bytes, {to}) → 1 bytes")))
        .unwrap_or_else(|| panic!("no successful sendto() in the trace: {err}"));
    let recvfrom = trace
        .iter()
        .position(|l| l.contains("recvfrom(") && l.contains("failed: Nobody is listening"))
        .unwrap_or_else(|| panic!("no failed recvfrom() in the trace: {err}"));
    assert!(sendto < recvfrom, "{err}");
    assert!(trace.last().is_some_and(|l| l.contains("close()")), "{err}");
    for call in ["connect(", "listen(", "accept("] {
        assert!(!err.contains(call), "UDP makes no {call}): {err}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let (code, lines, err) = run(&["udp", "127.0.0.1:0", "--send", "x", "--wait", "1"]);
    assert_eq!(code, Some(2), "stderr: {err}");
    assert!(err.contains("--send needs --to"), "stderr: {err}");
    assert!(lines.is_empty(), "nothing bound: {lines:?}");

    let (code, lines, err) = run(&["udp", "nonsense"]);
    assert_eq!(code, Some(2), "stderr: {err}");
    assert!(err.starts_with("socket-workbench: "), "stderr: {err}");
    assert!(lines.is_empty(), "{lines:?}");

    let (code, _, err) = run(&[
        "udp",
        "127.0.0.1:0",
        "--to",
        "127.0.0.1:9",
        "--send-hex",
        "zz",
    ]);
    assert_eq!(code, Some(2), "stderr: {err}");
}

#[test]
fn broadcast_needs_the_flag() {
    // Bound to 0.0.0.0 to receive broadcasts; this socket only receives.
    let receiver = std_udp((Ipv4Addr::UNSPECIFIED, 0));
    let port = receiver.local_addr().unwrap().port();
    let to = format!("127.255.255.255:{port}");

    let (code, lines, err) = run(&[
        "udp",
        "127.0.0.1:0",
        "--to",
        &to,
        "--send",
        "no",
        "--wait",
        "0.5",
    ]);
    assert_eq!(code, Some(1), "stdout: {lines:?}\nstderr: {err}");
    assert!(err.contains("Broadcast is not enabled"), "stderr: {err}");
    assert_nothing(&receiver, "a broadcast without --broadcast");

    let mut wb = Run::binary(&[
        "udp",
        "127.0.0.1:0",
        "--to",
        &to,
        "--send",
        "yes",
        "--broadcast",
        "--wait",
        "0.5",
    ]);
    let addr = bound(&mut wb, Ipv4Addr::LOCALHOST);
    assert_eq!(recv_one(&receiver), (b"yes".to_vec(), addr));
    let (code, _, err) = wb.finish();
    assert_eq!(code, Some(0), "stderr: {err}");
    assert!(err.trim().is_empty(), "stderr: {err}");
}

/// `--join` on the loopback interface: a std sender whose IP_MULTICAST_IF is 127.0.0.1 (TTL 0)
/// reaches the command. The join is made after `bound to` is printed, so the sender repeats
/// its datagram until one is reported.
#[test]
fn join_receives_multicast_on_loopback() {
    let group = Ipv4Addr::new(239, 255, 77, 2);
    let mut wb = Run::binary(&[
        "udp",
        "0.0.0.0:0",
        "--join",
        &group.to_string(),
        "--iface",
        "127.0.0.1",
        "--wait",
        "10",
    ]);
    let addr = bound(&mut wb, Ipv4Addr::UNSPECIFIED);
    let sender = std_udp((Ipv4Addr::LOCALHOST, 0));
    let sref = socket2::SockRef::from(&sender);
    sref.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    sref.set_multicast_ttl_v4(0).unwrap();
    sref.set_multicast_loop_v4(true).unwrap();
    let me = sender.local_addr().unwrap();
    let target = SocketAddr::from((group, addr.port()));
    let deadline = Instant::now() + LIMIT;
    let want = format!("from {me} 5 bytes: group");
    loop {
        sender.send_to(b"group", target).unwrap();
        if wb
            .line_within("the group datagram", Duration::from_millis(200), |l| {
                l == want
            })
            .is_ok()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no multicast datagram reported; lines:\n{}",
            wb.listing()
        );
    }
    // Stop it early: it has shown what it should.
    drop(wb);
}

/// A plain Python script (sendto/recvfrom, nothing else) gets its datagram back from
/// `udp --echo`. Skipped where python3 is not installed.
#[test]
fn python_interop() {
    let has_python = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_python {
        eprintln!("python_interop: skipped, python3 is not installed");
        return;
    }
    let mut wb = Run::binary(&["udp", "127.0.0.1:0", "--echo", "--wait", "10"]);
    let addr = bound(&mut wb, Ipv4Addr::LOCALHOST);
    const SCRIPT: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(8)
s.sendto("数据报 from python".encode("utf-8"), ("127.0.0.1", int(sys.argv[1])))
data, addr = s.recvfrom(65535)
print(s.getsockname()[1], addr[0], addr[1], data.decode("utf-8"))
"#;
    let mut py = Command::new("python3");
    py.arg("-c").arg(SCRIPT).arg(addr.port().to_string());
    let (code, lines, err) = Run::child(&mut py).finish();
    assert_eq!(code, Some(0), "python: {lines:?}\n{err}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let mut parts = lines[0].splitn(4, ' ');
    let py_port: u16 = parts.next().unwrap().parse().unwrap();
    assert_eq!(parts.next(), Some("127.0.0.1"));
    assert_eq!(parts.next(), Some(addr.port().to_string().as_str()));
    assert_eq!(parts.next(), Some("数据报 from python"), "echoed unchanged");
    let n = "数据报 from python".len();
    wb.line("the python datagram", |l| {
        l == format!("from 127.0.0.1:{py_port} {n} bytes: 数据报 from python")
    });
}
