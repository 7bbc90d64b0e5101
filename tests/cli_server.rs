//! The built binary's `tcp-server` command against std clients on loopback.
//!
//! The server runs as a child process whose stdout is read line by line on a separate thread
//! and forwarded into a channel, so every wait has a bound; a guard kills the child (and joins
//! the reader threads) however the test ends. Signals are sent with the system's `kill`.
//!
//! Most tests end the server with a signal and check that it exits cleanly: Unix only (on
//! Windows Ctrl+C is a console event a test cannot send to a child). Their helpers are unused
//! there.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flume::{Receiver, RecvTimeoutError};

/// The bound on every wait: generous, so a slow machine never fails a test.
const LIMIT: Duration = Duration::from_secs(10);

/// "你好" in GBK.
const NI_HAO_GBK: [u8; 4] = [0xC4, 0xE3, 0xBA, 0xC3];

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable, "{text} is not GBK");
    bytes.into_owned()
}

/// A running `socket-workbench` child with its stdout as a channel of lines.
struct Server {
    child: Child,
    pid: u32,
    lines: Receiver<String>,
    /// Every stdout line read so far, in order.
    seen: Vec<String>,
    stdout_reader: Option<JoinHandle<()>>,
    stderr_reader: Option<JoinHandle<()>>,
    stderr_rx: mpsc::Receiver<String>,
    status: Option<ExitStatus>,
}

impl Server {
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_socket-workbench"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run socket-workbench");
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = flume::unbounded();
        let stdout_reader = std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line = line.trim_end_matches(['\n', '\r']).to_owned();
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let (err_tx, stderr_rx) = mpsc::channel();
        let stderr_reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            let mut stderr = stderr;
            let _ = stderr.read_to_end(&mut text);
            let _ = err_tx.send(String::from_utf8_lossy(&text).into_owned());
        });
        Self {
            child,
            pid,
            lines,
            seen: Vec::new(),
            stdout_reader: Some(stdout_reader),
            stderr_reader: Some(stderr_reader),
            stderr_rx,
            status: None,
        }
    }

    fn listing(&self) -> String {
        self.seen.iter().map(|l| format!("  {l}\n")).collect()
    }

    /// The next stdout line matching `pred`, waiting at most [`LIMIT`] in all.
    fn line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(err) => {
                    let why = match err {
                        RecvTimeoutError::Timeout => format!("nothing within {LIMIT:?}"),
                        RecvTimeoutError::Disconnected => "stdout closed".to_owned(),
                    };
                    panic!(
                        "waiting for a line with {what}: {why}; lines seen:\n{}",
                        self.listing()
                    );
                }
            }
        }
    }

    /// The first stdout line must be `listening on 127.0.0.1:<port>`; returns the address.
    fn listening(&mut self) -> SocketAddr {
        let first = self.line("anything", |_| true);
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

    /// Sends a signal by name (INT, TERM) with the system's `kill`.
    #[cfg(unix)]
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {}: {status}", self.pid);
    }

    /// Waits (bounded: polling with short sleeps) for the child to exit.
    fn exit_status(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.status = Some(status);
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {LIMIT:?}; stdout:\n{}",
                self.listing()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything the child wrote to stderr (after it has exited).
    fn stderr(&mut self) -> String {
        self.exit_status();
        self.stderr_rx
            .recv_timeout(LIMIT)
            .expect("stderr closes when the child exits")
    }

    /// The rest of stdout after the child has exited.
    fn rest_of_stdout(&mut self) -> Vec<String> {
        self.exit_status();
        let mut rest = Vec::new();
        loop {
            match self.lines.recv_timeout(LIMIT) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    rest.push(line);
                }
                Err(RecvTimeoutError::Disconnected) => return rest,
                Err(RecvTimeoutError::Timeout) => panic!("stdout still open after exit"),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.status.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        // The pipes close with the child, so the readers end.
        for reader in [self.stdout_reader.take(), self.stderr_reader.take()]
            .into_iter()
            .flatten()
        {
            let _ = reader.join();
        }
    }
}

/// A loopback client with read/write timeouts.
fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, LIMIT).expect("connect to the server");
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    stream.read_exact(&mut buf).expect("client read_exact");
    buf
}

fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).expect("client read_to_end");
    all
}

/// `client #N 127.0.0.1:P connected` for this stream; returns N.
fn connected_line(server: &mut Server, stream: &TcpStream) -> u64 {
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
    let mut server = Server::spawn(&["tcp-server", "127.0.0.1:0", "--echo"]);
    let addr = server.listening();

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
    let status = server.exit_status();
    assert_eq!(status.code(), Some(0), "{status}");
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

/// Stops the server with a Unix signal: on Windows Ctrl+C is a console event, which a test
/// cannot send to a child process without sharing its console.
#[cfg(unix)]
#[test]
fn fixed_reply_in_gbk() {
    let shou_dao = gbk("收到");
    assert_eq!(shou_dao, [0xCA, 0xD5, 0xB5, 0xBD]);
    let mut server = Server::spawn(&[
        "tcp-server",
        "127.0.0.1:0",
        "--reply",
        "收到",
        "--encoding",
        "gbk",
    ]);
    let addr = server.listening();

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

    server.signal("INT");
    assert_eq!(server.exit_status().code(), Some(0));
}

/// Stops the server with a Unix signal: on Windows Ctrl+C is a console event, which a test
/// cannot send to a child process without sharing its console.
#[cfg(unix)]
#[test]
fn sigterm_exits_cleanly_and_closes_clients() {
    let mut server = Server::spawn(&["tcp-server", "127.0.0.1:0"]);
    let addr = server.listening();
    let mut c = connect(addr);
    connected_line(&mut server, &c);
    c.write_all(b"x").unwrap();
    server.line("received 1 bytes", |l| l.ends_with("received 1 bytes: x"));

    server.signal("TERM");
    let status = server.exit_status();
    assert_eq!(status.code(), Some(0), "{status}");
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

#[test]
fn port_in_use_and_bad_address() {
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    let addr = taken.local_addr().unwrap().to_string();
    let mut server = Server::spawn(&["tcp-server", &addr]);
    let status = server.exit_status();
    assert_eq!(status.code(), Some(1), "{status}");
    let err = server.stderr();
    assert!(err.contains("already in use"), "stderr: {err}");
    let out = server.rest_of_stdout();
    assert!(
        !out.iter().any(|l| l.starts_with("listening")),
        "stdout: {out:?}"
    );
    drop(taken);

    let mut server = Server::spawn(&["tcp-server", "nonsense"]);
    let status = server.exit_status();
    assert_eq!(status.code(), Some(2), "{status}");
    let err = server.stderr();
    assert!(err.starts_with("socket-workbench: "), "stderr: {err}");
    assert!(server.rest_of_stdout().is_empty());
}

/// Stops the server with a Unix signal: on Windows Ctrl+C is a console event, which a test
/// cannot send to a child process without sharing its console.
#[cfg(unix)]
#[test]
fn max_clients_refuses_the_second() {
    let mut server = Server::spawn(&["tcp-server", "127.0.0.1:0", "--max-clients", "1", "--echo"]);
    let addr = server.listening();
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

    server.signal("INT");
    assert_eq!(server.exit_status().code(), Some(0));
    assert_eq!(read_to_eof(&mut first), b"");
    let rest = server.rest_of_stdout();
    let connected = server
        .seen
        .iter()
        .filter(|l| l.ends_with(" connected"))
        .count();
    assert_eq!(connected, 1, "{rest:?}\n{}", server.listing());
}

#[test]
fn help_documents_the_server() {
    let mut help = Server::spawn(&["tcp-server", "--help"]);
    assert_eq!(help.exit_status().code(), Some(0));
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
