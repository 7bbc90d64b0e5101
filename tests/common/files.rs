//! Helpers of the file-transfer tests (`file_transfer.rs`, `hostile_files.rs`): temp
//! folders, the file server and download engines with their event logs, raw peers, a cutting
//! proxy, and the lesson's Python scripts.
#![allow(dead_code, unused_imports)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use flume::Receiver;
use socket_workbench::net::download::{
    DownloadConfig, DownloadEvent, DownloadHandle, DownloadMsg, free_name, list_remote, part_path,
    spawn_download,
};
use socket_workbench::net::file_server::{
    Asked, FileServerConfig, FileServerEvent, FileServerHandle, FileServerMsg, NotServed,
    file_digest, list_files, open_confined, spawn_file_server,
};
use socket_workbench::net::{NetError, NetErrorKind, Waker};
use socket_workbench::proto::TextEncoding;
use socket_workbench::proto::download::{NameEncoding, Refusal, Reply, get_request};

pub use super::LIMIT;

pub const MB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Temp folders and file contents
// ---------------------------------------------------------------------------------------------

/// A fresh folder under the system temp dir, named after the process and the test, removed
/// (with everything in it, symlinks not followed) when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("swb-ft-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the temp folder");
        Self(path)
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.0.join(rel)
    }

    /// A sub-folder, created.
    pub fn dir(&self, rel: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(&p).expect("create a sub-folder");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reproducible noise (xorshift64): no two seeds give the same file.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent");
    }
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

pub fn read_file(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Compares without dumping megabytes into the panic message.
#[track_caller]
pub fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let first_diff = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: {} bytes, want {} bytes; first difference at {first_diff:?}",
            got.len(),
            want.len()
        );
    }
}

#[track_caller]
pub fn assert_file_is(path: &Path, want: &[u8]) {
    assert_same_bytes(&read_file(path), want, &path.display().to_string());
}

#[track_caller]
pub fn assert_absent(path: &Path) {
    assert!(
        std::fs::symlink_metadata(path).is_err(),
        "{} should not exist",
        path.display()
    );
}

/// Names, kinds, sizes and modification times of everything under `dir` (symlinks not
/// followed), to check that nothing was created or changed.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (String, u64, Option<SystemTime>)> {
    fn walk(
        base: &Path,
        dir: &Path,
        out: &mut BTreeMap<PathBuf, (String, u64, Option<SystemTime>)>,
    ) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).expect("symlink_metadata");
            let kind = if meta.is_symlink() {
                format!("link -> {:?}", std::fs::read_link(&path).ok())
            } else if meta.is_dir() {
                "dir".to_owned()
            } else if meta.is_file() {
                "file".to_owned()
            } else {
                "other".to_owned()
            };
            let rel = path.strip_prefix(base).expect("under base").to_path_buf();
            let is_dir = meta.is_dir();
            out.insert(rel, (kind, meta.len(), meta.modified().ok()));
            if is_dir {
                walk(base, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// The file server engine
// ---------------------------------------------------------------------------------------------

/// A running file server and every event it has reported so far.
pub struct Server {
    pub handle: Option<FileServerHandle>,
    pub rx: Receiver<FileServerMsg>,
    pub addr: SocketAddr,
    pub root: PathBuf,
    pub log: Vec<FileServerEvent>,
}

impl Server {
    pub fn start(config: FileServerConfig) -> Self {
        let (tx, rx) = flume::unbounded();
        let handle = spawn_file_server(config, tx, Waker::noop()).expect("spawn_file_server");
        let mut server = Self {
            handle: Some(handle),
            rx,
            addr: loopback(),
            root: PathBuf::new(),
            log: Vec::new(),
        };
        match server.event("Listening", |e| {
            matches!(e, FileServerEvent::Listening { .. })
        }) {
            FileServerEvent::Listening { local, root } => {
                assert_eq!(local.ip(), loopback().ip());
                assert_ne!(local.port(), 0, "the real port, not 0");
                server.addr = local;
                server.root = root;
            }
            _ => unreachable!(),
        }
        server
    }

    pub fn serve(dir: &Path) -> Self {
        Self::start(FileServerConfig::new(dir, loopback()))
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn listing(&self) -> String {
        self.log.iter().map(|e| format!("  {e:?}\n")).collect()
    }

    /// The first event (already seen or still to come, waiting at most [`LIMIT`]) matching
    /// `pred`.
    pub fn event(
        &mut self,
        what: &str,
        mut pred: impl FnMut(&FileServerEvent) -> bool,
    ) -> FileServerEvent {
        if let Some(e) = self.log.iter().find(|e| pred(e)) {
            return e.clone();
        }
        self.recv_until(what, pred)
    }

    /// The next new event matching `pred` (waiting at most [`LIMIT`]).
    pub fn recv_until(
        &mut self,
        what: &str,
        mut pred: impl FnMut(&FileServerEvent) -> bool,
    ) -> FileServerEvent {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(msg) => {
                    let hit = pred(&msg.event);
                    self.log.push(msg.event);
                    if hit {
                        return self.log.last().unwrap().clone();
                    }
                }
                Err(err) => panic!(
                    "server: waiting for {what}: {err:?}; events seen:\n{}",
                    self.listing()
                ),
            }
        }
    }

    /// Waits until `n` events in all match `pred`.
    pub fn wait_count(&mut self, what: &str, n: usize, pred: impl Fn(&FileServerEvent) -> bool) {
        let mut have = self.log.iter().filter(|e| pred(e)).count();
        if have < n {
            self.recv_until(what, |e| {
                if pred(e) {
                    have += 1;
                }
                have >= n
            });
        }
    }

    /// Takes whatever has arrived, without waiting.
    pub fn drain(&mut self) {
        while let Ok(msg) = self.rx.try_recv() {
            self.log.push(msg.event);
        }
    }

    /// Index in the log of the first event matching `pred` (waiting for it if need be).
    pub fn index_of(
        &mut self,
        what: &str,
        mut pred: impl FnMut(&FileServerEvent) -> bool,
    ) -> usize {
        self.event(what, &mut pred);
        self.log.iter().position(pred).unwrap()
    }

    /// The connection id of the client whose local address is `peer`.
    pub fn id_of(&mut self, peer: SocketAddr) -> u64 {
        match self.event(
            &format!("Connected from {peer}"),
            |e| matches!(e, FileServerEvent::Connected { peer: p, .. } if *p == peer),
        ) {
            FileServerEvent::Connected { id, .. } => id,
            _ => unreachable!(),
        }
    }

    /// How connection `id` ended: `Served`, `Listed`, `NotServed` or `Failed`.
    pub fn outcome(&mut self, id: u64) -> FileServerEvent {
        self.event(&format!("the outcome of #{id}"), |e| match e {
            FileServerEvent::Served { id: i, .. }
            | FileServerEvent::Listed { id: i, .. }
            | FileServerEvent::NotServed { id: i, .. }
            | FileServerEvent::Failed { id: i, .. } => *i == id,
            _ => false,
        })
    }

    pub fn asked(&mut self, id: u64) -> Asked {
        match self.event(
            &format!("Requested #{id}"),
            |e| matches!(e, FileServerEvent::Requested { id: i, .. } if *i == id),
        ) {
            FileServerEvent::Requested { asked, .. } => asked,
            _ => unreachable!(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The download engine
// ---------------------------------------------------------------------------------------------

/// A download under way; cancelled if dropped before it ends (a failing test never leaves
/// one running).
pub struct Pending {
    pub handle: Option<DownloadHandle>,
    pub rx: Receiver<DownloadMsg>,
    pub events: Vec<DownloadEvent>,
}

impl Pending {
    pub fn start(config: DownloadConfig) -> Self {
        let (tx, rx) = flume::unbounded();
        let handle = spawn_download(config, tx, Waker::noop()).expect("spawn_download");
        Self {
            handle: Some(handle),
            rx,
            events: Vec::new(),
        }
    }

    pub fn listing(&self) -> String {
        self.events.iter().map(|e| format!("  {e:?}\n")).collect()
    }

    /// Waits (bounded) for an event matching `pred`.
    pub fn wait(
        &mut self,
        what: &str,
        mut pred: impl FnMut(&DownloadEvent) -> bool,
    ) -> DownloadEvent {
        if let Some(e) = self.events.iter().find(|e| pred(e)) {
            return e.clone();
        }
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(msg) => {
                    let hit = pred(&msg.event);
                    self.events.push(msg.event);
                    if hit {
                        return self.events.last().unwrap().clone();
                    }
                }
                Err(err) => panic!(
                    "download: waiting for {what}: {err:?}; events seen:\n{}",
                    self.listing()
                ),
            }
        }
    }

    /// Waits for `Done` or `Failed`, joins the thread, returns every event.
    pub fn finish(mut self) -> Vec<DownloadEvent> {
        self.wait("Done or Failed", |e| {
            matches!(e, DownloadEvent::Done { .. } | DownloadEvent::Failed { .. })
        });
        if let Some(handle) = self.handle.take() {
            handle.join();
        }
        // Nothing may follow the final event.
        assert!(
            matches!(self.rx.try_recv(), Err(flume::TryRecvError::Disconnected)),
            "events after the end: {:?}",
            self.rx.try_recv()
        );
        std::mem::take(&mut self.events)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop();
        }
    }
}

pub fn download(config: DownloadConfig) -> Vec<DownloadEvent> {
    Pending::start(config).finish()
}

pub fn config(port: u16, name: &str, dest: &Path, verified: bool) -> DownloadConfig {
    let mut c = DownloadConfig::new("127.0.0.1", port, name, dest.to_path_buf());
    c.verified = verified;
    c
}

/// The `Done` of a finished download: (path, bytes, verified).
#[track_caller]
pub fn done(events: &[DownloadEvent]) -> (PathBuf, u64, bool) {
    match events.last() {
        Some(DownloadEvent::Done {
            path,
            bytes,
            verified,
            ..
        }) => (path.clone(), *bytes, *verified),
        _ => panic!("the download did not succeed; events:\n{events:#?}"),
    }
}

/// The `Failed` of a finished download: (error, kept).
#[track_caller]
pub fn failed(events: &[DownloadEvent]) -> (NetError, Option<PathBuf>) {
    match events.last() {
        Some(DownloadEvent::Failed { error, kept }) => (error.clone(), kept.clone()),
        _ => panic!("the download should have failed; events:\n{events:#?}"),
    }
}

pub fn header(events: &[DownloadEvent]) -> Option<(u64, String, u64)> {
    events.iter().find_map(|e| match e {
        DownloadEvent::Header {
            size,
            digest,
            offset,
        } => Some((*size, digest.clone(), *offset)),
        _ => None,
    })
}

pub fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

// ---------------------------------------------------------------------------------------------
// Raw peers
// ---------------------------------------------------------------------------------------------

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, LIMIT).expect("connect");
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

/// Reads until the server closes. A timeout is a failure; a reset ends the reading.
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the server neither closed nor sent within {LIMIT:?}")
            }
            Err(_) => return out,
        }
    }
}

/// Sends `request` on a fresh connection, half-closes, reads the whole answer. Returns the
/// client's local address (to find its id in the server's events) and the answer.
pub fn raw_request(addr: SocketAddr, request: &[u8]) -> (SocketAddr, Vec<u8>) {
    let mut s = connect(addr);
    let local = s.local_addr().unwrap();
    if !request.is_empty() {
        s.write_all(request).expect("send the request");
    }
    // Like a student's client that sends nothing and closes its side.
    if request.is_empty() {
        let _ = s.shutdown(Shutdown::Write);
    }
    (local, read_to_close(&mut s))
}

/// Connects with a 64 KiB receive buffer set before the handshake, so a peer that stops
/// reading holds back at most that much plus the server's send buffer: a large enough file
/// then cannot be sent whole before the proxy cuts it.
pub fn connect_small_window(addr: SocketAddr) -> TcpStream {
    use socket2::{Domain, Protocol, Socket, Type};
    let s =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).expect("socket");
    s.set_recv_buffer_size(64 * 1024).expect("SO_RCVBUF");
    s.connect_timeout(&addr.into(), LIMIT).expect("connect");
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

/// Accepts one client within [`LIMIT`].
pub fn accept_within(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + LIMIT;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(LIMIT)).unwrap();
                s.set_write_timeout(Some(LIMIT)).unwrap();
                return s;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no client within {LIMIT:?}");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// How the cutting proxy ends both connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// An orderly close (FIN): the client sees a normal end of stream.
    Fin,
    /// SO_LINGER 0 then close: the client sees a reset.
    Reset,
}

/// A one-connection proxy between a download client and `server`: forwards the client's
/// request, then exactly `cut_after` bytes of the server's answer, then drops both
/// connections. The thread returns how many bytes it forwarded to the client.
pub struct Proxy {
    pub addr: SocketAddr,
    pub join: Option<JoinHandle<u64>>,
}

impl Proxy {
    pub fn start(server: SocketAddr, cut_after: u64, how: Cut) -> Self {
        let listener = TcpListener::bind(loopback()).expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let join = std::thread::spawn(move || {
            let mut client = accept_within(&listener);
            let mut buf = vec![0u8; 64 * 1024];
            // The request: one chunk (a name, or one verified line), as the server reads it.
            let n = client.read(&mut buf).expect("the client's request");
            let mut upstream = connect_small_window(server);
            upstream.write_all(&buf[..n]).expect("forward the request");
            let mut forwarded = 0u64;
            while forwarded < cut_after {
                let n = match upstream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => panic!("proxy: reading from the server: {e}"),
                };
                let take = (n as u64).min(cut_after - forwarded) as usize;
                if client.write_all(&buf[..take]).is_err() {
                    break;
                }
                forwarded += take as u64;
            }
            match how {
                Cut::Fin => {
                    let _ = client.shutdown(Shutdown::Both);
                }
                Cut::Reset => {
                    socket2::SockRef::from(&client)
                        .set_linger(Some(Duration::ZERO))
                        .expect("SO_LINGER 0");
                }
            }
            drop(client);
            // Unread data on the server side: the close resets it, the server's send fails.
            drop(upstream);
            forwarded
        });
        Self {
            addr,
            join: Some(join),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Bytes forwarded to the client before the cut.
    pub fn forwarded(mut self) -> u64 {
        self.join
            .take()
            .unwrap()
            .join()
            .expect("the proxy thread panicked")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Reached only when a test fails first; the thread ends on its own timeouts.
        let _ = self.join.take();
    }
}

// ---------------------------------------------------------------------------------------------
// The lesson's Python scripts
// ---------------------------------------------------------------------------------------------

pub fn python3() -> Option<&'static str> {
    let ok = Command::new("python3")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some("python3")
}

pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// A Python child with its stdout as a channel of lines; killed when dropped.
pub struct Py {
    pub child: Child,
    pub lines: Receiver<String>,
    pub seen: Vec<String>,
    pub reader: Option<JoinHandle<()>>,
    pub stderr: Option<JoinHandle<String>>,
}

impl Py {
    pub fn spawn(python: &str, script_name: &str, args: &[&str]) -> Self {
        let mut child = Command::new(python)
            .arg(script(script_name))
            .args(args)
            .env("PYTHONIOENCODING", "utf-8")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run python3");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, lines) = flume::unbounded();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            reader: Some(reader),
            stderr: Some(stderr),
        }
    }

    pub fn line(&mut self) -> String {
        match self.lines.recv_timeout(LIMIT) {
            Ok(line) => {
                self.seen.push(line.clone());
                line
            }
            Err(err) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = self
                    .stderr
                    .take()
                    .map(|j| j.join().unwrap_or_default())
                    .unwrap_or_default();
                panic!(
                    "python: no line within {LIMIT:?} ({err:?}); stdout so far {:?}; stderr:\n{stderr}",
                    self.seen
                )
            }
        }
    }

    /// The first line of a lesson server: `listening on 127.0.0.1:PORT`.
    pub fn listening_port(&mut self) -> u16 {
        let first = self.line();
        let addr: SocketAddr = first
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("first line: {first:?}"));
        assert_eq!(addr.ip(), loopback().ip(), "{first}");
        assert_ne!(addr.port(), 0, "{first}");
        addr.port()
    }

    /// Waits (bounded) for the child to exit; returns its status, stdout lines and stderr.
    pub fn finish(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "python did not exit within {LIMIT:?}; stdout {:?}",
                    self.seen
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let mut lines = std::mem::take(&mut self.seen);
        lines.extend(self.lines.drain());
        let stderr = self
            .stderr
            .take()
            .map(|j| j.join().unwrap_or_default())
            .unwrap_or_default();
        (status, lines, stderr)
    }
}

impl Drop for Py {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        if let Some(r) = self.stderr.take() {
            let _ = r.join();
        }
    }
}
