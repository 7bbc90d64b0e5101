//! This process's threads and descriptors, read from /proc (Linux): the tests that check an
//! engine gives back everything it took count them before and after.

#![cfg(target_os = "linux")]

use std::collections::HashSet;
use std::time::Instant;

use super::LIMIT;

/// The kernel keeps 15 bytes of a thread name.
pub fn comm(name: &str) -> String {
    name.chars().take(15).collect()
}

/// Threads of this process whose name is one of `names` (cut as the kernel cuts them).
pub fn threads_named(names: &[String]) -> usize {
    let names: HashSet<String> = names.iter().map(|n| comm(n)).collect();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .filter(|c| names.contains(c.trim_end_matches('\n')))
        .count()
}

/// Which end of a socket a port is matched against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum End {
    Local,
    Remote,
}

/// Which socket tables to read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// Inodes of this process's network namespace's sockets whose `end` port is `port`.
pub fn socket_inodes(proto: Proto, end: End, port: u16) -> HashSet<u64> {
    let tables = match proto {
        Proto::Tcp => ["/proc/self/net/tcp", "/proc/self/net/tcp6"],
        Proto::Udp => ["/proc/self/net/udp", "/proc/self/net/udp6"],
    };
    let column = match end {
        End::Local => 1,
        End::Remote => 2,
    };
    let mut inodes = HashSet::new();
    for table in tables {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 {
                continue;
            }
            let p = fields[column]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if p == Some(port)
                && let Ok(inode) = fields[9].parse::<u64>()
                && inode != 0
            {
                inodes.insert(inode);
            }
        }
    }
    inodes
}

/// Our descriptors that refer to a socket whose `end` port is `port`.
pub fn socket_fds(proto: Proto, end: End, port: u16) -> usize {
    let inodes = socket_inodes(proto, end, port);
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter_map(|target| {
                    let t = target.to_string_lossy().into_owned();
                    t.strip_prefix("socket:[")?
                        .strip_suffix(']')?
                        .parse::<u64>()
                        .ok()
                })
                .filter(|inode| inodes.contains(inode))
                .count()
        })
        .unwrap_or(0)
}

/// Polls (short sleeps, bounded by [`LIMIT`]) until `f` returns `want`; panics with what it
/// saw last.
pub fn settle(what: &str, want: usize, f: impl Fn() -> usize) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let got = f();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {got}, expected {want} (after {LIMIT:?})"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
