//! The protocol bench on the command line: checksums appended to what `tcp-client` and `udp`
//! send, and what they receive framed into messages and checked, against loopback peers
//! that split and merge their messages the way TCP lets them.

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

mod common;
use common::LIMIT;
use common::cli::run_here;
use common::peer::spawn_peer;

/// A peer that accepts one client, reads `expect` bytes from it, then writes `chunks` with a
/// pause between them (so each is its own recv() on the other side), then closes.
fn peer(expect: usize, chunks: Vec<Vec<u8>>) -> (u16, common::peer::Peer<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = spawn_peer(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let mut got = vec![0u8; expect];
        s.read_exact(&mut got).unwrap();
        for chunk in chunks {
            s.write_all(&chunk).unwrap();
            s.flush().unwrap();
            std::thread::sleep(Duration::from_millis(60));
        }
        got
    });
    (port, peer)
}

fn lines(out: &str) -> Vec<&str> {
    out.lines().collect()
}

/// Three messages in one recv() and one message over two come out as four lines.
#[test]
fn lines_are_put_back_together() {
    let (port, server) = peer(
        1,
        vec![
            b"one\ntwo\nthr".to_vec(),
            b"ee\nfour".to_vec(),
            b"\n".to_vec(),
        ],
    );
    let (code, out, err) = run_here(&[
        "tcp-client",
        &format!("127.0.0.1:{port}"),
        "--send",
        "?",
        "--frame",
        "line",
        "--wait",
        "0.5",
    ]);
    assert_eq!(code, 0, "{err}");
    server.join();
    assert_eq!(lines(&out), ["one", "two", "three", "four"], "{out}");
}

/// A CRC-16/MODBUS goes after what is sent, low byte first, as Modbus RTU sends it.
#[test]
fn the_crc_goes_out_low_byte_first() {
    use socket_workbench::proto::checksum::Checksum;
    let request = [1u8, 3, 0, 0, 0, 10];
    let (port, server) = peer(8, vec![]);
    let (code, _, err) = run_here(&[
        "tcp-client",
        &format!("127.0.0.1:{port}"),
        "--send-hex",
        "01 03 00 00 00 0A",
        "--checksum",
        "crc16-modbus",
        "--wait",
        "0.5",
    ]);
    assert_eq!(code, 0, "{err}");
    let crc = Checksum::Crc16Modbus.compute(&request) as u16;
    let sent = server.join();
    assert_eq!(sent, [&request[..], &crc.to_le_bytes()].concat());
    // The frame every Modbus manual shows.
    assert_eq!(sent[6..], [0xC5, 0xCD]);
}

/// Length-prefixed replies split at odd places come back whole, checked: a right CRC-32 is
/// said to be right, a wrong one wrong with both values; what the close cut off is marked.
#[test]
fn length_prefixed_replies_are_checked() {
    use socket_workbench::proto::checksum::{Checksum, ChecksumSpec};
    let spec = ChecksumSpec::new(Checksum::Crc32);
    // As Modbus RTU does it: the checksum covers the whole message before it, the length
    // prefix included; the length counts what follows it.
    let frame = |body: &[u8]| {
        let mut f = ((body.len() + 4) as u16).to_be_bytes().to_vec();
        f.extend(body);
        spec.append(&f)
    };
    let good = frame(b"hello");
    let mut bad = frame(b"world");
    let last = bad.len() - 1;
    bad[last] ^= 0xFF;
    let stream = [good.clone(), bad.clone(), vec![0, 9, b'x']].concat();
    // Cut at 3, then 7, then the rest: every message crosses a recv() boundary.
    let chunks = vec![
        stream[..3].to_vec(),
        stream[3..10].to_vec(),
        stream[10..].to_vec(),
    ];
    // What the client sends: "?" and its CRC-32.
    let (port, server) = peer(5, chunks);
    let (code, out, err) = run_here(&[
        "tcp-client",
        &format!("127.0.0.1:{port}"),
        "--send",
        "?",
        "--frame",
        "len:2be",
        "--checksum",
        "crc32",
        "--hex",
        "--wait",
        "0.5",
    ]);
    assert_eq!(code, 0, "{err}");
    server.join();
    let l = lines(&out);
    assert_eq!(l.len(), 3, "{out}");
    assert!(l[0].ends_with("[CRC-32 ok]"), "{out}");
    assert!(l[1].contains("[CRC-32 wrong: expected "), "{out}");
    assert!(l[2].contains("[incomplete]"), "{out}");
    // The check is said in Chinese too.
    let (port, server) = peer(5, vec![good]);
    let (_, out, _) = run_here(&[
        "tcp-client",
        &format!("127.0.0.1:{port}"),
        "--send",
        "?",
        "--frame",
        "len:2be",
        "--checksum",
        "crc32",
        "--wait",
        "0.5",
        "--lang",
        "zh",
    ]);
    server.join();
    assert!(out.contains("[CRC-32 正确]"), "{out}");
}

/// A pause ends a message: two bursts, each over several recv()s, are two lines.
#[test]
fn a_pause_ends_a_message() {
    let (port, server) = peer(1, vec![b"ab".to_vec(), b"cd".to_vec()]);
    // The peer pauses 60 ms between its writes; a 20 ms gap cuts there.
    let (code, out, err) = run_here(&[
        "tcp-client",
        &format!("127.0.0.1:{port}"),
        "--send",
        "?",
        "--frame",
        "gap:20",
        "--wait",
        "0.5",
    ]);
    assert_eq!(code, 0, "{err}");
    server.join();
    assert_eq!(lines(&out), ["ab", "cd"], "{out}");
}

/// UDP: a datagram carrying two lines is two messages; the checksum goes after each datagram
/// sent.
#[test]
fn udp_frames_and_checksums() {
    let device = UdpSocket::bind("127.0.0.1:0").unwrap();
    device.set_read_timeout(Some(LIMIT)).unwrap();
    let to = device.local_addr().unwrap();
    let replier = spawn_peer(move || {
        let mut buf = [0u8; 64];
        let (n, from) = device.recv_from(&mut buf).unwrap();
        device.send_to(b"a\nb\n", from).unwrap();
        buf[..n].to_vec()
    });
    let (code, out, err) = run_here(&[
        "udp",
        "127.0.0.1:0",
        "--to",
        &to.to_string(),
        "--send",
        "hi",
        "--checksum",
        "xor",
        "--frame",
        "line",
        "--wait",
        "0.5",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(replier.join(), [b'h', b'i', b'h' ^ b'i']);
    let from = format!("from {to}: ");
    let framed: Vec<&str> = out.lines().filter(|l| l.starts_with(&from)).collect();
    assert_eq!(framed.len(), 2, "{out}");
    assert!(framed[0].starts_with(&format!("{from}a")), "{out}");
    assert!(framed[1].starts_with(&format!("{from}b")), "{out}");
}

/// Bad words are refused before anything is sent, with exit code 2.
#[test]
fn bad_words_exit_2() {
    for args in [
        &["tcp-client", "127.0.0.1:9", "--checksum", "crc64"][..],
        &["tcp-client", "127.0.0.1:9", "--frame", "len:3"],
        &["udp", "127.0.0.1:0", "--frame", "fixed:0"],
    ] {
        let (code, _, err) = run_here(args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}

/// A teacher's payload file: `--send-name` sends its payloads by name, in order with
/// `--send`, with their checksum, line ending and counter (counting per payload).
#[test]
fn named_payloads_from_a_library_file() {
    use common::peer::{TempFile, temp_path};
    let file = TempFile(temp_path("library.toml"));
    std::fs::write(
        &file.0,
        r#"
version = 1

[[group]]
name = "Modbus"

[[group.payload]]
name = "read"
hex = "01 03 00 00 00 0A"
checksum = "crc16-modbus"

[[group.payload]]
name = "count"
text = "n={counter:2}"
eol = "lf"
counter = { start = 5, step = 10, width = 0, hex = false }
"#,
    )
    .unwrap();
    let want: Vec<u8> = [
        &[0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD][..],
        b"n=05\n",
        b"mid",
        b"n=15\n",
    ]
    .concat();
    let (port, server) = peer(want.len(), vec![]);
    let path = file.0.display().to_string();
    let (code, _, err) = run_here(&[
        "tcp-client",
        &format!("127.0.0.1:{port}"),
        "--payloads",
        &path,
        "--send-name",
        "Modbus/read",
        "--send-name",
        "count",
        "--send",
        "mid",
        "--send-name",
        "count",
        "--wait",
        "0.5",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(server.join(), want);

    // --checksum goes after typed payloads only: a library payload carries its own.
    let want: Vec<u8> = [
        &[0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD][..],
        b"mid",
        &[b'm' ^ b'i' ^ b'd'],
    ]
    .concat();
    let (port, server) = peer(want.len(), vec![]);
    let (code, _, err) = run_here(&[
        "tcp-client",
        &format!("127.0.0.1:{port}"),
        "--payloads",
        &path,
        "--send-name",
        "Modbus/read",
        "--send",
        "mid",
        "--checksum",
        "xor",
        "--wait",
        "0.5",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(server.join(), want);

    // A name the file lacks, and a file with a mistake: said, nothing sent, exit 2.
    let (code, _, err) = run_here(&[
        "tcp-client",
        "127.0.0.1:9",
        "--payloads",
        &path,
        "--send-name",
        "nope",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no payload named 'nope'"), "{err}");
    std::fs::write(&file.0, "version = 1\n[[group]]\nname = 3\n").unwrap();
    let (code, _, err) = run_here(&[
        "udp",
        "127.0.0.1:0",
        "--to",
        "127.0.0.1:9",
        "--payloads",
        &path,
        "--send-name",
        "x",
        "--lang",
        "zh",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("载荷文件") && err.contains("line 3"), "{err}");
}
