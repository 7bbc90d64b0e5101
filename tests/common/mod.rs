//! What the integration tests share, included by each as `mod common;`: lesson-style
//! loopback peers written with plain std sockets the way a student would write them (here),
//! peer threads and temporary files (`peer`), this process's threads and descriptors
//! (`proc`), running the command line (`cli`), file-server fixtures (`files`) and the
//! kittest harness of the real app (`ui`).

#![allow(dead_code, unused_imports)]

pub mod cli;
pub mod events;
pub mod files;
pub mod peer;
#[cfg(target_os = "linux")]
pub mod proc;
pub mod std_peer;
pub mod ui;

/// The one time limit of a test's waits: long enough for a loaded CI machine, short enough
/// that a hang fails the test instead of the run.
pub const LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// GBK bytes of "你好".
pub const NI_HAO_GBK: [u8; 4] = [0xC4, 0xE3, 0xBA, 0xC3];

pub fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable, "{text} is not GBK");
    bytes.into_owned()
}

/// What a lesson server saw from its one client.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub received: Vec<u8>,
    pub chunks: usize,
}

/// The lesson's server: accepts one client, answers each recv(1024) with GBK "收到：" plus
/// what came, until the client closes. Reports every chunk on `chunks`.
pub struct LessonServer {
    pub addr: SocketAddr,
    pub chunks: flume::Receiver<Vec<u8>>,
    join: Option<JoinHandle<Seen>>,
}

impl LessonServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = flume::unbounded();
        let join = std::thread::spawn(move || {
            let mut seen = Seen::default();
            let Ok((mut conn, _)) = listener.accept() else {
                return seen;
            };
            conn.set_read_timeout(Some(Duration::from_secs(20))).ok();
            let mut buf = [0u8; 1024];
            loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        seen.received.extend_from_slice(&buf[..n]);
                        seen.chunks += 1;
                        let mut reply = gbk("收到：");
                        reply.extend_from_slice(&buf[..n]);
                        if conn.write_all(&reply).is_err() {
                            break;
                        }
                        let _ = tx.send(buf[..n].to_vec());
                    }
                }
            }
            seen
        });
        Self {
            addr,
            chunks: rx,
            join: Some(join),
        }
    }

    /// Waits for the client to go away and returns what was received.
    pub fn finish(mut self) -> Seen {
        self.join
            .take()
            .map(|j| j.join().expect("server thread"))
            .unwrap_or_default()
    }
}

/// A port with nothing listening on it (bound then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Connects to `addr` and reads everything until EOF (bounded by a read timeout).
pub fn read_all_from(addr: SocketAddr) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}
